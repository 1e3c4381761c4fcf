"""Reads of applications and the scopes catalogue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from applications import policies, schema
from applications.models import ApiResource, Application, Scope
from identity.selectors import roles_by_name


def applications_for_listing() -> QuerySet[Application]:
    return (
        Application.objects.select_related("owner", "branding")
        .prefetch_related("allowed_scopes", "required_roles", "m2m_roles")
        .order_by("name")
    )


def application_as_dict(application: Application) -> dict:
    """The public description of an application (never its secret or secret hash): every field of
    the one field list (applications.schema), as the API, `app list` and `app show` print it."""
    return schema.application_values(application)


def application_state(application: Application) -> dict[str, Any]:
    """The audit snapshot of an application, re-read so it is what is stored: its audited fields."""
    return schema.application_values(applications_for_listing().get(pk=application.pk), schema.audited_fields())


# An API resource's access-token settings, as the API, `resource`, config files and audit rows show them.
RESOURCE_TOKEN_FIELDS = ("access_token_format", "access_token_ttl", "signing_alg", "introspecting_client")


def api_resource_token_settings(resource: ApiResource) -> dict[str, Any]:
    """The settings of RESOURCE_TOKEN_FIELDS; the introspecting client by its client_id (never its secret)."""
    return {
        "access_token_format": resource.access_token_format,
        "access_token_ttl": resource.access_token_ttl,
        "signing_alg": resource.signing_alg,
        "introspecting_client": resource.introspecting_client.client_id if resource.introspecting_client else None,
    }


def api_resource_state(resource: ApiResource) -> dict[str, Any]:
    """The audit snapshot of an API resource."""
    return {
        "identifier": resource.identifier,
        "name": resource.name,
        **api_resource_token_settings(resource),
        "scopes": _names(resource.scopes),
    }


def scope_state(scope: Scope) -> dict[str, Any]:
    """The audit snapshot of a scope."""
    return {
        "name": scope.name,
        "description": scope.description,
        "resource": scope.resource.identifier if scope.resource_id else None,
    }


def _names(related) -> list[str]:
    return sorted(item.name for item in related.all())


def scopes_by_name(names: Iterable[str], *, field: str = "allowed_scopes") -> list[Scope]:
    """The catalogue entries for `names`; unknown names are a field error, not a silent drop."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    found = {s.name: s for s in Scope.objects.filter(name__in=wanted)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ValidationError(
            {field: [f"Unknown scope(s): {', '.join(missing)}. Define them on an API resource first."]}
        )
    return [found[n] for n in wanted]


def available_scope_names(application: Application) -> set[str]:
    """Scopes the application may be granted: its allowed scopes, plus its roles' scopes for m2m."""
    allowed = Scope.objects.filter(applications=application.pk).order_by().values_list("name", flat=True)
    if application.type == Application.Type.M2M:
        roles = Scope.objects.filter(roles__machine_applications=application.pk).order_by()
        roles = roles.values_list("name", flat=True)
        return set(allowed.union(roles))
    return set(allowed)


@dataclass(frozen=True)
class ScopeTerms:
    """A scope a client may be granted, with what its API resource (none: a standard scope) says of tokens."""

    name: str
    resource: str | None  # the resource's identifier: the token audience
    access_token_format: str | None
    access_token_ttl: int | None
    signing_alg: str | None


def usable_scope_terms(application: Application) -> list[ScopeTerms]:
    """The scopes `application` may be granted (available_scope_names), each with its resource's token
    settings: what a token request with RFC 8707 resources decides from (policies.resource_error,
    the scopes backend, applications.oauth.access_tokens)."""
    names = available_scope_names(application)
    rows = (
        Scope.objects.filter(name__in=names)
        .order_by()
        .values_list(
            "name",
            "resource__identifier",
            "resource__access_token_format",
            "resource__access_token_ttl",
            "resource__signing_alg",
        )
    )
    return [ScopeTerms(*row) for row in rows]


def application_relations(
    data: dict, *, required_roles_field: str = "access_control.required_roles"
) -> dict[str, list]:
    """The rows for the names an application's entry gives (API request or config file, same shape):
    `allowed_scopes`, `access_control.required_roles`, `m2m_roles`; only those present, and every
    unknown name reported at once under its field (`app create` calls the roles' field by its flag)."""
    lookups: dict[str, Callable[[], list]] = {}
    if "allowed_scopes" in data:
        lookups["allowed_scopes"] = lambda: scopes_by_name(data["allowed_scopes"])
    if "required_roles" in data.get("access_control", {}):
        required = data["access_control"]["required_roles"]
        lookups["required_roles"] = lambda: roles_by_name(required, field=required_roles_field)
    if "m2m_roles" in data:
        lookups["m2m_roles"] = lambda: roles_by_name(data["m2m_roles"], field="m2m_roles")
    relations, errors = {}, {}
    for key, lookup in lookups.items():
        try:
            relations[key] = lookup()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return relations


def provider_ids_of(application: Application | None, auth_methods: object) -> list[int]:
    """The pks of the application's sign-in providers, read only when `auth_methods` names a provider."""
    if application is None or application.pk is None or not isinstance(auth_methods, list):
        return []
    if not any(isinstance(m, str) and policies.PROVIDER_ID_PATTERN.fullmatch(m) for m in auth_methods):
        return []
    return list(application.providers.values_list("pk", flat=True))
