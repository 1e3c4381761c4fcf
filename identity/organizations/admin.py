"""Organisations, organisation roles and invitations in the admin. Every write goes through
identity.organizations.services (rules, audit, events): the forms only parse. An invitation's link is
shown once, on the page after it is created; its token is never shown (only its hash is stored).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse

from config.admin_helpers import ServiceDeleteMixin, action_through_service, secret_once_response
from identity.organizations import services
from identity.organizations.constants import GRANTABLE_SCOPES
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole

LINK_TEMPLATE = "admin/organizations/invitation/link_once.html"


def _adopt(obj, saved) -> None:
    """The admin goes on with its own `obj` (redirects, messages): give it the row the service saved."""
    obj.pk = saved.pk
    obj.refresh_from_db()


# --- organisations --------------------------------------------------------------------------------


class OrganizationAdminForm(forms.ModelForm):
    jit_email_domains = forms.CharField(
        label="JIT email domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line (e.g. example.com): people with a verified address there join automatically.",
    )

    sign_in_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line: addresses at these domains are sent to the organisation's sign-in provider.",
    )

    class Meta:
        model = Organization
        fields = [
            "name",
            "slug",
            "description",
            "logo_url",
            "primary_color",
            "secondary_color",
            "jit_email_domains",
            "jit_roles",
            "sign_in_issuer",
            "sign_in_domains",
        ]
        widgets = {"jit_roles": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["jit_email_domains"] = "\n".join(self.instance.jit_email_domains or [])
            self.initial["sign_in_domains"] = "\n".join(self.instance.sign_in_domains or [])

    def clean_jit_email_domains(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["jit_email_domains"].split() if line.strip()]

    def clean_sign_in_domains(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["sign_in_domains"].split() if line.strip()]

    def organization_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    actor = None  # the admin user (MembershipInline.get_formset)

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if form.instance.pk and "user" in form.changed_data:
                form.add_error("user", "A membership's user cannot change: remove it and add the other user.")

    def save(self, commit: bool = True) -> list[Membership]:
        """Each change through the services, never the ModelForm's own save."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.deleted_forms:
            if form.instance.pk:
                services.membership_remove(actor=self.actor, membership=Membership.objects.get(pk=form.instance.pk))
                self.deleted_objects.append(form.instance)
        for form in self.forms:
            if form in self.deleted_forms or not form.has_changed() or not form.cleaned_data:
                continue
            roles = list(form.cleaned_data.get("roles") or [])
            if form.instance.pk:
                membership = Membership.objects.get(pk=form.instance.pk)
                services.membership_roles_set(actor=self.actor, membership=membership, roles=roles)
                self.changed_objects.append((membership, form.changed_data))
            else:
                membership = services.membership_add(
                    actor=self.actor, organization=self.instance, user=form.cleaned_data["user"], roles=roles
                )
                self.new_objects.append(membership)
        return self.new_objects + [membership for membership, _ in self.changed_objects]


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    fields = ["user", "roles", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members (removing one does not yet revoke organisation-bound tokens: there are none yet)"

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("widgets", {})["roles"] = forms.CheckboxSelectMultiple
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"actor": request.user})


@admin.register(Organization)
class OrganizationAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    form = OrganizationAdminForm
    inlines = [MembershipInline]
    list_display = ["name", "slug", "public_id", "created_at"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["public_id", "created_at"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change) -> None:
        fields = form.organization_fields()
        if change:
            # The form has set its values on `obj`; the service starts from the stored row so its
            # audit record sees the change.
            stored = Organization.objects.get(pk=obj.pk)
            services.organization_update(actor=request.user, organization=stored, fields=fields)
            _adopt(obj, stored)
        else:
            _adopt(obj, services.organization_create(actor=request.user, fields=fields))

    def save_related(self, request, form, formsets, change) -> None:
        # jit_roles were saved by the service (no form.save_m2m()); members through their formset.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_service(self, *, actor, obj) -> None:
        services.organization_delete(actor=actor, organization=obj)


# --- organisation roles ---------------------------------------------------------------------------


class OrganizationRoleAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in GRANTABLE_SCOPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The organisation scopes members holding this role may be granted.",
    )

    class Meta:
        model = OrganizationRole
        fields = ["name", "description", "scopes"]


@admin.register(OrganizationRole)
class OrganizationRoleAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    form = OrganizationRoleAdminForm
    list_display = ["name", "description", "scopes", "created_at"]
    search_fields = ["name", "description"]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            stored = OrganizationRole.objects.get(pk=obj.pk)
            services.organization_role_update(
                actor=request.user,
                role=stored,
                name=data["name"],
                description=data["description"],
                scopes=data["scopes"],
            )
            _adopt(obj, stored)
        else:
            role = services.organization_role_create(
                actor=request.user, name=data["name"], description=data["description"], scopes=data["scopes"]
            )
            _adopt(obj, role)

    def save_related(self, request, form, formsets, change) -> None:
        pass  # no relations of its own

    def delete_service(self, *, actor, obj) -> None:
        services.organization_role_delete(actor=actor, role=obj)


# --- invitations ----------------------------------------------------------------------------------


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["organization", "email", "roles"]
        widgets = {"roles": forms.CheckboxSelectMultiple}


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Created here through the service (the link is shown once, and emailed); otherwise read-only.
    Revoke with the action; an accepted one stays as the record of who joined."""

    list_display = ["email", "organization", "status", "created_at", "expires_at", "accepted_by"]
    list_filter = ["organization"]
    search_fields = ["email", "organization__name", "organization__slug"]
    list_select_related = ["organization", "accepted_by"]
    actions = ["revoke"]
    readonly_fields = [
        "organization",
        "email",
        "roles",
        "status",
        "created_at",
        "expires_at",
        "invited_by",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else InvitationAddForm.Meta.fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, obj: Invitation) -> str:
        return Invitation.Status(obj.status).label

    def save_model(self, request, obj, form, change) -> None:
        invitation, request.latchkey_invitation_link = services.invitation_create(
            actor=request.user,
            organization=form.cleaned_data["organization"],
            email=form.cleaned_data["email"],
            roles=form.cleaned_data["roles"],
        )
        _adopt(obj, invitation)

    def save_related(self, request, form, formsets, change) -> None:
        pass  # the service set the roles

    def response_add(self, request, obj, post_url_continue=None):
        link = getattr(request, "latchkey_invitation_link", None)
        if link:
            return self.link_page(request, obj, link)
        return super().response_add(request, obj, post_url_continue)

    def link_page(self, request, invitation: Invitation, link: str) -> TemplateResponse:
        return secret_once_response(
            self,
            request,
            template=LINK_TEMPLATE,
            title="Invitation created",
            secrets=[{"invitation": invitation, "link": link}],
        )

    @admin.action(description="Revoke selected invitations (their links stop working)")
    def revoke(self, request, queryset) -> None:
        action_through_service(
            self,
            request,
            queryset,
            lambda invitation: services.invitation_revoke(actor=request.user, invitation=invitation),
            done="Revoked {count} invitation(s).",
            refused="Not revoked",
        )
