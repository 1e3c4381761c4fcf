"""The admin console for applications and the scopes catalogue.

django-oauth-toolkit registers the Application model with this class
(OAUTH2_PROVIDER["APPLICATION_ADMIN_CLASS"]). Saving goes through applications.services,
and the plaintext client secret is rendered once, in the response to the request that made it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from applications import policies, schema, selectors, services
from applications.models import ApiResource, Application, PreviousClientSecret, Scope, SigningKey
from branding.models import Branding
from config.admin_helpers import ReadOnlyAdminMixin, ServiceDeleteMixin, secret_once_response
from identity.admin_audit import AuditedAdminMixin
from identity.federation.admin import ProviderInline

URI_LIST_HELP = "One per line; matched exactly, character for character."
SECRET_TEMPLATE = "admin/applications/application/secret_once.html"
MFA_CHOICE = "mfa (require a second factor)"


class ApplicationAdminForm(forms.ModelForm):
    auth_methods = forms.MultipleChoiceField(
        label="Sign-in methods",
        choices=[(m, m) for m in policies.AUTH_METHODS] + [(policies.AUTH_METHOD_MFA, MFA_CHOICE)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Sign-in methods this application accepts. None checked: every method it has enabled "
        "(password and its enabled sign-in providers). Save a new provider first to list it here. "
        "Check mfa to require a second factor as well (alone: every enabled method, with a second factor).",
    )

    class Meta:
        model = Application
        fields = list(schema.ADMIN_MODEL_FIELDS)  # the model fields behind the field list (applications.schema)
        labels = {"allowed_origins": "CORS origins", "post_logout_redirect_uris": "Sign-out redirect URIs"}
        help_texts = {
            "redirect_uris": URI_LIST_HELP + " https, or http on localhost/127.0.0.1 for development; "
            "native apps may use a custom scheme (com.example.app:/callback).",
            "post_logout_redirect_uris": URI_LIST_HELP + " Where users may be sent after signing out.",
            "allowed_origins": "One per line (https://app.example.com): browser origins allowed to call "
            "the token, userinfo, revocation and introspection endpoints.",
        }
        widgets = {
            "redirect_uris": forms.Textarea(attrs={"rows": 3}),
            "post_logout_redirect_uris": forms.Textarea(attrs={"rows": 2}),
            "allowed_origins": forms.Textarea(attrs={"rows": 2}),
            "allowed_scopes": forms.CheckboxSelectMultiple,
            "m2m_roles": forms.CheckboxSelectMultiple,
            "required_roles": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "auth_methods" in self.fields and self.instance.pk is not None:
            # Password and this application's own providers, by their provider_id.
            self.fields["auth_methods"].choices = (
                [(m, m) for m in policies.AUTH_METHODS]
                + [
                    (str(provider.pk), f"{provider.label} (provider {provider.pk})")
                    for provider in self.instance.providers.order_by("type", "pk")
                ]
                + [(policies.AUTH_METHOD_MFA, MFA_CHOICE)]
            )
        if "algorithm" in self.fields:
            # Name the deployment default the blank choice stands for today.
            field = self.fields["algorithm"]
            default = f"Deployment default ({policies.default_id_token_algorithm()})"
            field.choices = [("", default), *[(v, label) for v, label in field.choices if v]]

    def clean(self) -> dict:
        data = super().clean()
        app_type = data.get("type") or self.instance.type
        if app_type:
            for field, problems in policies.application_relation_errors(
                app_type=app_type,
                allowed_scopes=data.get("allowed_scopes") or (),
                required_roles=data.get("required_roles") or (),
                m2m_roles=data.get("m2m_roles") or (),
                auth_methods=data.get("auth_methods"),
                provider_ids=selectors.provider_ids_of(self.instance, data.get("auth_methods")),
            ).items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return data


class BrandingInline(admin.StackedInline):
    model = Branding
    can_delete = True
    max_num = 1
    extra = 0
    verbose_name_plural = "branding"


class PreviousClientSecretInline(admin.TabularInline):
    model = PreviousClientSecret
    fields = ["retired_at", "expires_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = True
    verbose_name = "previous client secret (still valid during its grace period)"
    verbose_name_plural = "previous client secrets"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Rotate client secret now (old secret stops working)", permissions=["change"])
def rotate_secret_now(modeladmin, request, queryset):
    return modeladmin.rotate_secrets(request, queryset, grace_period_seconds=0)


@admin.action(description="Rotate client secret with a 24-hour grace period", permissions=["change"])
def rotate_secret_with_grace(modeladmin, request, queryset):
    return modeladmin.rotate_secrets(request, queryset, grace_period_seconds=24 * 3600)


@admin.action(description="Deactivate selected applications", permissions=["change"])
def deactivate(modeladmin, request, queryset):
    for application in queryset:
        services.application_deactivate(actor=request.user, application=application)
    modeladmin.message_user(request, f"Deactivated {queryset.count()} application(s).", messages.SUCCESS)


# The admin's sections; within them a type shows only the fields its rule lists (policies.TYPE_RULES).
FIELD_GROUPS = (
    ("Redirects and origins", ("redirect_uris", "post_logout_redirect_uris", "allowed_origins")),
    ("Scopes and access", ("allowed_scopes", "m2m_roles", "required_roles", "auth_methods", "trusted")),
    (
        "Tokens",
        (
            "access_token_ttl",
            "refresh_token_ttl",
            "id_token_ttl",
            "algorithm",
            "refresh_token_rotation",
            "pkce_required",
        ),
    ),
)
TYPE_FIELD_GROUPS = frozenset(name for _, names in FIELD_GROUPS for name in names)


class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationAdminForm
    list_display = ["name", "type", "client_id", "is_active", "owner", "created"]
    list_filter = ["type", "is_active"]
    search_fields = ["name", "client_id", "description"]
    list_select_related = ["owner"]
    ordering = ["name"]
    raw_id_fields = ["owner"]
    actions = [rotate_secret_now, rotate_secret_with_grace, deactivate]

    def delete_model(self, request, obj) -> None:
        services.application_delete(actor=request.user, application=obj)

    def delete_queryset(self, request, queryset) -> None:
        for application in queryset:
            services.application_delete(actor=request.user, application=application)

    def _type_for(self, request, obj) -> str | None:
        app_type = obj.type if obj is not None else request.GET.get("type")
        return app_type if app_type in policies.ApplicationType.values else None

    def get_fieldsets(self, request, obj=None):
        app_type = self._type_for(request, obj)
        rule = policies.rule_for(app_type)
        applies = set(rule.fields)
        label = policies.ApplicationType(app_type).label

        def only(*names: str) -> list[str]:
            return [n for n in names if n in applies]

        fieldsets = [
            (label, {"fields": ["name", "description", "type"], "description": rule.description}),
        ]
        if obj is not None:
            fieldsets.append(("Credentials", {"fields": ["client_id", "secret_status", "client_secret_last_used_at"]}))
        groups = [(title, only(*names)) for title, names in FIELD_GROUPS]
        fieldsets += [(title, {"fields": fields}) for title, fields in groups if fields]
        # A field the type rules do not place yet is still edited, never silently left out of the form.
        placed = {"name", "description", "type", "owner", "is_active", *TYPE_FIELD_GROUPS}
        if others := [name for name in schema.ADMIN_MODEL_FIELDS if name not in placed]:
            fieldsets.append(("Other settings", {"fields": others}))
        fieldsets.append(("Status", {"fields": ["owner", "is_active"]}))
        if obj is not None:
            fieldsets.append(("Events", {"fields": ["webhooks_link"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["type", "client_id", "secret_status", "client_secret_last_used_at", "webhooks_link"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form_class
        chosen_type = self._type_for(request, None)

        class AddForm(form_class):
            """The type comes from the chooser (?type=), never from the posted form."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                field = self.fields["type"]
                field.disabled, field.initial, field.widget = True, chosen_type, forms.HiddenInput()

        return AddForm

    def get_inlines(self, request, obj):
        if obj is None:
            return [BrandingInline]
        # Sign-in providers once the application exists (identity.federation.admin).
        if obj.is_confidential:
            return [BrandingInline, ProviderInline, PreviousClientSecretInline]
        return [BrandingInline, ProviderInline]

    @admin.display(description="client secret")
    def secret_status(self, obj: Application) -> str:
        if not obj.is_confidential:
            return "None: this type of application is public and has no secret."
        return "Set (stored as a hash; rotate it to get a new one)."

    @admin.display(description="webhooks")
    def webhooks_link(self, obj: Application) -> str:
        url = reverse("admin:events_webhook_changelist") + f"?application__id__exact={obj.pk}"
        return format_html('<a href="{}">Webhooks ({})</a>', url, obj.webhooks.count())

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if self._type_for(request, None) is None:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Add application: choose its type",
                "types": [
                    {"value": t.value, "label": t.label, "description": policies.TYPE_RULES[t].description}
                    for t in policies.ApplicationType
                ],
            }
            return TemplateResponse(request, "admin/applications/application/choose_type.html", context)
        return super().add_view(request, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            # Only a race the form could not see gets here (another admin saved the same name
            # between validation and save); the transaction is rolled back, nothing is half-saved.
            self.message_user(request, "Not saved: " + "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        choices = {
            k: form.cleaned_data[k] for k in ("allowed_scopes", "required_roles", "m2m_roles") if k in form.cleaned_data
        }
        if change:
            services.application_update(actor=request.user, application=obj, **choices)
        else:
            request.latchkey_new_secret = services.application_create(actor=request.user, application=obj, **choices)

    def save_related(self, request, form, formsets, change):
        # The service already saved the many-to-many choices; only the inlines remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "latchkey_new_secret", None)
        if plaintext:
            return self._secret_page(request, [(obj, plaintext)], "Application created")
        return super().response_add(request, obj, post_url_continue)

    def rotate_secrets(self, request, queryset, *, grace_period_seconds: int):
        rotated, skipped = [], []
        for application in queryset:
            if not application.is_confidential:
                skipped.append(application.name)
                continue
            rotated.append(
                (
                    application,
                    services.application_rotate_secret(
                        actor=request.user,
                        application=application,
                        grace_period_seconds=grace_period_seconds,
                    ),
                )
            )
        if skipped:
            self.message_user(
                request, f"No secret to rotate (public applications): {', '.join(skipped)}.", messages.WARNING
            )
        if not rotated:
            return None
        title = "Client secret rotated" + (" (the old one works for 24 hours)" if grace_period_seconds else "")
        return self._secret_page(request, rotated, title)

    def _secret_page(self, request, pairs, title: str) -> TemplateResponse:
        secrets = [{"application": app, "client_secret": secret} for app, secret in pairs]
        return secret_once_response(self, request, template=SECRET_TEMPLATE, title=title, secrets=secrets)


class ScopeInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """Scopes ticked for deletion obey the service's rule: none still held by applications or roles."""
        super().clean()
        doomed = [form.instance for form in self.deleted_forms if form.instance.pk]
        if doomed and (error := services.scopes_removal_error(doomed)):
            raise ValidationError(error.messages)


class ScopeInline(admin.TabularInline):
    model = Scope
    formset = ScopeInlineFormSet
    extra = 1
    fields = ["name", "description"]


@admin.register(ApiResource)
class ApiResourceAdmin(ServiceDeleteMixin, AuditedAdminMixin, admin.ModelAdmin):
    audit_target_type = "api_resource"
    audit_state = staticmethod(selectors.api_resource_state)

    def delete_service(self, *, actor, obj) -> None:
        services.api_resource_delete(actor=actor, resource=obj)

    list_display = ["name", "identifier", "access_token_format", "scope_names", "created"]
    search_fields = ["name", "identifier", "scopes__name"]
    fields = ["name", "identifier", "access_token_format", "access_token_ttl", "signing_alg", "introspecting_client"]
    autocomplete_fields = ["introspecting_client"]
    inlines = [ScopeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scopes")

    @admin.display(description="scopes")
    def scope_names(self, obj: ApiResource) -> str:
        return ", ".join(s.name for s in obj.scopes.all())


@admin.register(Scope)
class ScopeAdmin(ServiceDeleteMixin, AuditedAdminMixin, admin.ModelAdmin):
    audit_target_type = "scope"
    audit_state = staticmethod(selectors.scope_state)

    def delete_service(self, *, actor, obj) -> None:
        services.api_resource_scope_remove(actor=actor, scope=obj)

    list_display = ["name", "description", "resource_display"]
    list_filter = [("resource", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    list_select_related = ["resource"]

    @admin.display(description="API resource")
    def resource_display(self, obj: Scope):
        return obj.resource.name if obj.resource else format_html("<em>{}</em>", "standard (OpenID Connect)")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: `manage.py keys rotate` adds and retires keys; the private key is never shown."""

    list_display = ["kid", "algorithm", "created", "retired_at", "published_until"]
    list_filter = ["algorithm", ("retired_at", admin.EmptyFieldListFilter)]
    search_fields = ["kid"]
    fields = list_display
    readonly_fields = list_display
