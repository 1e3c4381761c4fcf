from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from config.admin_helpers import ReadOnlyAdminMixin, ServiceDeleteMixin
from identity import audit, selectors, services
from identity.admin_audit import AuditedAdminMixin
from identity.constants import REGISTRATION_INVITE
from identity.mfa import selectors as mfa_selectors
from identity.mfa import services as mfa_services
from identity.models import AuditEvent, Role, RoleAssignment, User
from identity.user_sessions import selectors as session_selectors
from identity.user_sessions import services as session_services


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ["role"]
    readonly_fields = ["assigned_at"]


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    audit_target_type = "user"
    audit_state = staticmethod(selectors.user_state)

    def audit_extra(self, request, obj, form, change) -> dict | None:
        return {"password": audit.SECRET_CHANGED} if not change and obj.has_usable_password() else None

    def user_change_password(self, request, id, form_url=""):
        """Django's own password view: recorded (that it changed, never what to) in the same transaction."""
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, id)
                audit.record(
                    actor=request.user,
                    action="user.password_changed",
                    target=user,
                    extra={"password": audit.SECRET_CHANGED},
                )
                services.user_updated_event(user=user, fields=["password"])
        return response

    def audit_recorded(self, request, obj, change, record) -> None:
        """The form's save as events (outbox rows in the form's transaction), from what the record shows changed."""
        if not change:
            services.user_created_event(user=obj)
        elif record is not None:
            services.user_updated_event(user=obj, fields=record.changes)
            if record.changes.get("is_active") == {"old": True, "new": False}:
                services.user_deactivated_event(user=obj)

    def delete_model(self, request, obj) -> None:
        services.user_delete(actor=request.user, user=obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for user in queryset:
                services.user_delete(actor=request.user, user=user)

    def save_related(self, request, form, formsets, change):
        # The form writes the user and their role assignments itself: what it took away stops at once.
        user = form.instance
        held = set(user.roles.all()) if change else set()
        super().save_related(request, form, formsets, change)
        if not change and not user.has_usable_password() and settings.LATCHKEY_REGISTRATION == REGISTRATION_INVITE:
            services.user_invite(actor=request.user, user=user)
        if change:
            removed = held - set(user.roles.all())
            if removed or ("is_active" in form.changed_data and not user.is_active):
                services.user_lost_access_revoke(user=user, roles=removed)

    @admin.action(description="Email a link to choose a password")
    def invite(self, request, queryset) -> None:
        users = list(queryset.filter(is_active=True))
        for user in users:
            services.user_invite(actor=request.user, user=user)
        self.message_user(request, f"Sent {len(users)} link(s) to choose a password.", messages.SUCCESS)

    @admin.action(description="Reset second factors (remove authenticator apps, passkeys, recovery codes)")
    def second_factors_reset(self, request, queryset) -> None:
        reset = [user for user in queryset if mfa_services.second_factors_reset(actor=request.user, user=user)]
        self.message_user(
            request,
            f"Removed the second factors of {len(reset)} user(s); each was sent a notice.",
            messages.SUCCESS,
        )

    @admin.action(description="Sign out everywhere (end every session, revoke every token)")
    def sign_out_everywhere(self, request, queryset) -> None:
        ended = sum(session_services.sessions_end_all(actor=request.user, user=user) for user in queryset)
        self.message_user(
            request,
            f"Signed {queryset.count()} user(s) out everywhere: {ended} session(s) ended, their tokens revoked.",
            messages.SUCCESS,
        )

    @admin.display(description="Second factors")
    def second_factors(self, user) -> str:
        """What the user has set up (reset them with the "Reset second factors" action)."""
        factors = mfa_selectors.second_factors_of(user) if user.pk else {}
        parts = ["authenticator app"] if factors.get("totp") else []
        if factors.get("passkeys"):
            parts.append(f"{factors['passkeys']} passkey(s)")
        if factors.get("recovery_codes") is not None:
            parts.append(f"{factors['recovery_codes']} unused recovery code(s)")
        return ", ".join(parts) or "None: signs in with a password alone."

    @admin.display(description="Signed in")
    def signed_in_sessions(self, user) -> str:
        """Where the user is signed in now (end them with the "Sign out everywhere" action)."""
        sessions = session_selectors.sessions_of(user) if user.pk else []
        if not sessions:
            return "No session."
        return format_html_join(
            mark_safe("<br>"),
            "{} from {}, since {} UTC{}",
            (
                (
                    s.device,
                    s.address,
                    s.signed_in_at.strftime("%Y-%m-%d %H:%M"),
                    f" ({', '.join(s.applications)})" if s.applications else "",
                )
                for s in sessions
            ),
        )

    actions = ["invite", "second_factors_reset", "sign_out_everywhere"]
    add_form = UserCreationForm
    form = UserEditForm
    list_display = ["email", "name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser", "roles"]
    search_fields = ["email", "name", "given_name", "family_name", "public_id"]
    ordering = ["email"]
    readonly_fields = ["public_id", "last_login", "date_joined", "second_factors", "signed_in_sessions"]
    inlines = [RoleAssignmentInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        (
            "Profile",
            {
                "fields": [
                    "name",
                    "given_name",
                    "family_name",
                    "picture",
                    "phone_number",
                    "email_verified",
                    "phone_number_verified",
                ]
            },
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Account protection", {"fields": ["second_factors", "signed_in_sessions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]}),
    ]


class RoleAdminForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["name", "description", "scopes"]
        widgets = {"scopes": forms.CheckboxSelectMultiple}


@admin.register(Role)
class RoleAdmin(ServiceDeleteMixin, AuditedAdminMixin, admin.ModelAdmin):
    audit_target_type = "role"
    audit_state = staticmethod(selectors.role_state)

    def delete_service(self, *, actor, obj) -> None:
        services.role_delete(actor=actor, role=obj)

    form = RoleAdminForm
    list_display = ["name", "description", "created"]
    search_fields = ["name", "description"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone: the log is written by the writes it records, never by hand."""

    list_display = ["occurred_at", "actor_label", "actor_type", "action", "target_type", "target_label"]
    list_filter = ["actor_type", "target_type", "action"]
    search_fields = ["actor_label", "actor_id", "target_label", "target_id", "action"]
    date_hierarchy = "occurred_at"
    fields = [
        "occurred_at",
        "actor_type",
        "actor_id",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "changes",
    ]
    readonly_fields = fields
