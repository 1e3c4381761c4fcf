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

The application's `auth_methods` name its providers by database id, which means nothing in another
database: the document names each by a reference instead, its type (`github`: one per type per app)
or `oidc:<issuer>` for a generic OIDC provider (one per issuer). Import turns references back into
this database's ids once the application's providers are in place, and still takes the ids files
written before carried, when they are this application's providers.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from applications.policies import AUTH_METHOD_NAMES, AUTH_METHODS, PROVIDER_ID_PATTERN
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


OIDC_REFERENCE_PREFIX = "oidc:"


def provider_reference(provider: Provider) -> str:
    """How the document names a provider in `auth_methods`: its type, or `oidc:<issuer>`."""
    if provider.type == Provider.Type.OIDC:
        return f"{OIDC_REFERENCE_PREFIX}{provider.issuer}"
    return provider.type


def auth_methods_config(application, methods: list[str]) -> list[str]:
    """`methods` with each provider id of the application as its reference (all() uses an export's prefetch)."""
    if not any(PROVIDER_ID_PATTERN.fullmatch(m) for m in methods):
        return methods
    references = {str(p.pk): provider_reference(p) for p in application.providers.all()}
    return [references.get(m, m) for m in methods]


def auth_methods_resolve(application, methods: Any, *, partial: bool = False) -> Any:
    """The document's `auth_methods` as stored: each reference (or legacy id) as the id of one of the
    application's providers as they are now. An unknown one is an error naming it, or with `partial`
    (while this import may still create it) left out. Anything not a list of strings is returned as is,
    for the application's own rules to refuse."""
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        return methods
    providers = list(selectors.providers_of(application)) if application.pk is not None else []
    ids = {_reference_key(provider_reference(p)): str(p.pk) for p in providers}
    ids |= {str(p.pk): str(p.pk) for p in providers}  # a file written before references
    resolved, unknown = [], []
    for method in methods:
        if method in AUTH_METHOD_NAMES:
            resolved.append(method)
        elif (found := ids.get(_reference_key(method))) is not None:
            resolved.append(found)
        else:
            unknown.append(method)
    if unknown and not partial:
        kinds = ", ".join(t for t in Provider.Type.values if t != Provider.Type.OIDC)
        raise ValidationError(
            {
                "auth_methods": [
                    f"Not a sign-in provider of this application: {', '.join(repr(m) for m in unknown)}. "
                    f"Give {AUTH_METHODS[0]!r}, the type of a provider it lists ({kinds}) or "
                    f"{OIDC_REFERENCE_PREFIX}<issuer> of an OpenID Connect provider it lists."
                ]
            }
        )
    return resolved


def _reference_key(reference: str) -> str:
    """`oidc:<issuer>` compared as issuers are (no trailing slash)."""
    if reference.startswith(OIDC_REFERENCE_PREFIX):
        return OIDC_REFERENCE_PREFIX + policies.normalize_issuer(reference.removeprefix(OIDC_REFERENCE_PREFIX))
    return reference


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
