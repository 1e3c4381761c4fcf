"""Sign-in providers in the admin: an inline on the application (applications.admin), saved through
identity.federation.services. Secrets are write-only here too: the form never renders one back;
left blank, the stored secret stays.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin

from identity.federation import policies, services
from identity.federation.models import Provider

KEEP_HELP = "Set; leave blank to keep it. Never shown again."


class ProviderAdminForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Not set. Required while enabled (except Apple).",
    )
    private_key = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text="Apple only: the .p8 key (PEM). Not set.",
    )

    class Meta:
        model = Provider
        fields = ["type", "client_id", "team_id", "key_id", "issuer", "display_name", "claim_mapping", "enabled"]
        help_texts = {
            "issuer": "Generic OpenID Connect only: https issuer URL; discovery at issuer + " + policies.DISCOVERY_PATH,
            "claim_mapping": 'Generic OpenID Connect only, e.g. {"email": "upn"}; defaults: the standard claims.',
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            if self.instance.client_secret_set:
                self.fields["client_secret"].help_text = KEEP_HELP
            if self.instance.private_key_set:
                self.fields["private_key"].help_text = "Apple: " + KEEP_HELP
            self.fields["type"].disabled = True
        self.fields["claim_mapping"].required = False

    def provider_fields(self) -> dict:
        """The service's `fields`: every column of the form; a secret only when one was typed."""
        fields = {name: self.cleaned_data.get(name) for name in services.WRITABLE if name in self.cleaned_data}
        fields["claim_mapping"] = fields.get("claim_mapping") or {}
        for secret in services.SECRETS:
            if self.cleaned_data.get(secret):
                fields[secret] = self.cleaned_data[secret]
        return fields

    def clean(self) -> dict:
        data = super().clean()
        if self.errors or self.cleaned_data.get("DELETE"):
            return data
        probe = copy.copy(self.instance)
        services.apply_fields(probe, self.provider_fields())
        previous = Provider.objects.get(pk=self.instance.pk).type if self.instance.pk else None
        for field, problems in policies.provider_errors(probe, previous_type=previous).items():
            self.add_error(field if field in self.fields else None, problems)
        return data

    def validate_unique(self) -> None:
        """provider_errors checked uniqueness above, with the API's words."""

    def validate_constraints(self, exclude=None) -> None:
        """Likewise (the constraints are the database's backstop)."""


class ProviderInlineFormSet(forms.BaseInlineFormSet):
    actor = None  # the admin user (ProviderInline.get_formset)

    def clean(self) -> None:
        """A deleted row's errors are skipped by Django's formset: the removal rule is checked here."""
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and (problem := policies.provider_removal_error(form.instance)):
                raise forms.ValidationError(problem)

    def save(self, commit: bool = True) -> list[Provider]:
        """Each change through the services (rules and audit), never the ModelForm's own save."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.deleted_forms:
            if form.instance.pk:
                services.provider_delete(actor=self.actor, provider=Provider.objects.get(pk=form.instance.pk))
                self.deleted_objects.append(form.instance)
        for form in self.forms:
            if form in self.deleted_forms or not form.has_changed():
                continue
            if form.instance.pk:
                provider = Provider.objects.get(pk=form.instance.pk)
                services.provider_update(actor=self.actor, provider=provider, fields=form.provider_fields())
                self.changed_objects.append((provider, form.changed_data))
            else:
                provider = services.provider_create(
                    actor=self.actor, application=self.instance, fields=form.provider_fields()
                )
                self.new_objects.append(provider)
        return self.new_objects + [provider for provider, _ in self.changed_objects]


class ProviderInline(admin.StackedInline):
    model = Provider
    form = ProviderAdminForm
    formset = ProviderInlineFormSet
    extra = 0
    verbose_name = "sign-in provider"
    verbose_name_plural = "sign-in providers (other identity providers people may sign in with)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"actor": request.user})
