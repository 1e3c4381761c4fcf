"""Sign-in providers in `config export/import` (applications.config_io): an application entry's
`providers` list.

Export writes each provider's configuration, never a secret (not whether one is set either: the
document carries what moves between environments). Import, when an entry lists `providers`, makes
the application's providers exactly that list, matched by type (generic OIDC: type and issuer):
- a listed provider that exists is updated with the fields given (its secrets are kept);
- a new one is created; an entry may carry `client_secret` / `private_key` (write-only, e.g. from a
  secrets manager), and without them it is only created with `enabled: false` (a clear error
  otherwise), to be given its secret later through the API, the admin or `manage.py app`;
- a provider not listed is removed. An entry without `providers` leaves them alone.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from identity.federation import policies, selectors, services
from identity.federation.api.serializers import ProviderWriteSerializer
from identity.federation.models import Provider


def provider_config(provider: Provider) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": provider.type, "client_id": provider.client_id}
    if provider.type == Provider.Type.APPLE:
        entry |= {"team_id": provider.team_id, "key_id": provider.key_id}
    if provider.type == Provider.Type.OIDC:
        entry |= {"issuer": provider.issuer, "display_name": provider.display_name}
        if provider.claim_mapping:
            entry["claim_mapping"] = dict(provider.claim_mapping)
    entry["enabled"] = provider.enabled
    return entry


def providers_config(application) -> list[dict[str, Any]]:
    """Sorted here, so an export that prefetched `providers` makes no query per application."""
    providers = sorted(application.providers.all(), key=lambda p: (p.type, p.issuer, p.pk))
    return [provider_config(p) for p in providers]


def _key(provider_type: str, issuer: str | None) -> tuple[str, str]:
    return (provider_type, policies.normalize_issuer(issuer or "") if provider_type == Provider.Type.OIDC else "")


def providers_import(application, entries: Any) -> None:
    """Make `application`'s providers the listed ones (module docstring). Errors name `providers.<i>.<field>`."""
    if not isinstance(entries, list):
        raise ValidationError({"providers": ["Give a list of providers."]})
    existing = {_key(p.type, p.issuer): p for p in selectors.providers_of(application)}
    parsed, errors = [], {}
    for index, entry in enumerate(entries):
        serializer = ProviderWriteSerializer(data=entry, partial=False)
        try:
            serializer.is_valid(raise_exception=True)
        except serializers.ValidationError:
            for field, problems in serializer.errors.items():
                errors[f"providers.{index}.{field}"] = [str(p) for p in problems]
            continue
        data = dict(serializer.validated_data)
        key = _key(data["type"], data.get("issuer"))
        if key in (k for k, _ in parsed):
            errors[f"providers.{index}"] = [f"A second {data['type']} provider{' with this issuer' if key[1] else ''}."]
            continue
        parsed.append((key, data))
    if errors:
        raise ValidationError(errors)
    for key, provider in existing.items():
        if key not in dict(parsed):
            services.provider_delete(actor=None, provider=provider)
    for index, (key, data) in enumerate(parsed):
        provider = existing.get(key)
        try:
            if provider is not None:
                services.provider_update(actor=None, provider=provider, fields=data)
                continue
            has_secret = data.get("private_key" if data["type"] == Provider.Type.APPLE else "client_secret")
            if data.get("enabled", True) and not has_secret:
                field = "private_key" if data["type"] == Provider.Type.APPLE else "client_secret"
                raise ValidationError(
                    {
                        field: [
                            f"The file carries no secret for this new {data['type']} provider: add `enabled: false` "
                            "to import it switched off, then set its secret with the API, the admin or "
                            "`manage.py app provider-add`."
                        ]
                    }
                )
            services.provider_create(actor=None, application=application, fields=data)
        except ValidationError as exc:
            raise ValidationError(
                {f"providers.{index}.{field}": problems for field, problems in exc.message_dict.items()}
            ) from exc
