"""Configuration as code: applications, API resources with their scopes, and roles as one document.

`config export` renders it, `config import` applies it, and `app show --json` prints one
application of it, all from the functions here. The document never holds a secret (not even a
hash), an id, a timestamp or a user: it describes configuration that carries across environments.
Applications are keyed by `client_id` (kept on import, so clients keep working), API resources by
`identifier`, roles by `name`; each list is sorted by its key, so two exports diff cleanly. An
application's sign-in providers are listed under it (identity.federation.config_io has their rules),
and so are its webhooks; deployment-wide webhooks are the `webhooks` section, written only when there
are some (applications.events.config_io has their rules: never a secret; a created one prints its new
signing secret once). Organisation roles (by `name`) and organisations (by `slug`) are the
`organization_roles` and `organizations` sections, written only when there are some
(identity.organizations.config_io: never their members or invitations).

Import parses entries with the management API's serializers and writes only through the services
(`actor=None`), so nothing is validated twice. Rules:
- an object absent from the file is left alone, and so is a field absent from an entry (a new
  object takes the defaults); a scope missing from a resource's list is kept;
- a listed field replaces the value (an application's `allowed_scopes` are exactly the file's);
- the whole import is one transaction: any error and nothing changes; `dry_run` runs the very
  same writes and rolls them back;
- an object whose representation would not change is not written at all, so importing the same
  file twice changes nothing the second time.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from applications import policies, selectors, services
from applications.api.resources_serializers import ApiResourceCreateSerializer, token_settings
from applications.api.serializers import ApplicationWriteSerializer
from applications.events import config_io as events_config
from applications.models import ApiResource, Application
from applications.schema import BRANDING_FIELDS, api_field_of, application_values, columns_from, config_fields
from config.cli import validation_error_line
from identity import services as identity_services
from identity.api.serializers import RoleWriteSerializer
from identity.federation import config_io as federation_config
from identity.models import Role
from identity.organizations import config_io as organizations_config
from identity.organizations.api.serializers import OrganizationRoleWriteSerializer, OrganizationWriteSerializer

FORMAT_VERSION = 1
SECTIONS = ("api_resources", "roles", "organization_roles", "organizations", "applications", "webhooks")
FORMATS = ("yaml", "json")


class ConfigError(Exception):
    """The document cannot be read at all (not YAML/JSON, wrong shape); one line."""


# --- representation ----------------------------------------------------------------------------


def application_config(application: Application) -> dict:
    """One application as the document holds it: the field list's `config` fields (no id, owner, usage, dates),
    and its sign-in providers when it has any (identity.federation.config_io: never their secrets)."""
    entry = application_values(application, config_fields())
    if "auth_methods" in entry:  # provider ids mean nothing in another database: references instead
        entry["auth_methods"] = federation_config.auth_methods_config(application, entry["auth_methods"])
    if providers := federation_config.providers_config(application):
        entry["providers"] = providers
    if webhooks := events_config.webhooks_config(application):
        entry["webhooks"] = webhooks
    return entry


def api_resource_config(resource: ApiResource) -> dict:
    scopes = sorted(resource.scopes.all(), key=lambda s: s.name)
    return {
        "identifier": resource.identifier,
        "name": resource.name,
        **selectors.api_resource_token_settings(resource),
        "scopes": [{"name": s.name, "description": s.description} for s in scopes],
    }


def role_config(role: Role) -> dict:
    return {"name": role.name, "description": role.description, "scopes": sorted(s.name for s in role.scopes.all())}


def _resources():
    return ApiResource.objects.select_related("introspecting_client").prefetch_related("scopes")


def _roles():
    return Role.objects.prefetch_related("scopes")


def _applications():
    return selectors.applications_for_listing().prefetch_related("providers", "webhooks")


def config_export() -> dict:
    """The whole configuration, sections in dependency order (scopes, then roles, then applications).

    Sorted here, not by the database, whose collation differs between SQLite and PostgreSQL.
    """
    document = {
        "version": FORMAT_VERSION,
        "api_resources": sorted((api_resource_config(r) for r in _resources()), key=lambda r: r["identifier"]),
        "roles": sorted((role_config(r) for r in _roles()), key=lambda r: r["name"]),
        "applications": sorted((application_config(a) for a in _applications()), key=lambda a: a["client_id"]),
    }
    if webhooks := events_config.deployment_webhooks_config():
        document["webhooks"] = webhooks
    if organization_roles := organizations_config.organization_roles_config():
        document["organization_roles"] = organization_roles
    if organizations := organizations_config.organizations_config():
        document["organizations"] = organizations
    return document


def config_render(document: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # A wide line keeps long URIs on one line, so a change shows as one changed line.
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


def config_parse(text: str) -> dict:
    """A document from YAML or JSON (JSON when it starts with `{`); ConfigError when unreadable."""
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc}") from exc
    else:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError("not valid YAML: " + " ".join(str(exc).split())) from exc
    if not isinstance(document, dict):
        raise ConfigError(
            "expected a mapping with version, api_resources, roles, organization_roles, organizations and applications."
        )
    unknown = sorted(str(key) for key in document if key not in ("version", *SECTIONS))
    if unknown:
        raise ConfigError(f"unknown top-level key(s): {', '.join(unknown)}.")
    if document.get("version") != FORMAT_VERSION:
        raise ConfigError(f"expected version: {FORMAT_VERSION} (a file written by `manage.py config export`).")
    for section in SECTIONS:
        entries = document.get(section) or []
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise ConfigError(f"{section} must be a list of mappings.")
        document[section] = entries
    return document


# --- import ------------------------------------------------------------------------------------


@dataclass
class Change:
    kind: str  # "api resource", "role" or "application"
    key: str
    name: str = ""
    action: str = "unchanged"  # "create", "update" or "unchanged"
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, old, new) of an update
    secret: str | None = None  # a created confidential application's client secret, shown once
    confidential: bool = False
    # (url, signing secret) of each webhook created, shown once; a dry run only counts them.
    webhook_secrets: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportResult:
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


class _Rollback(Exception):
    pass


class _Unchanged(Exception):
    def __init__(self, change: Change) -> None:
        self.change = change


MISSING = "(none)"


def _diff(old: dict, new: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted field, old, new) for every difference; nested mappings are compared key by key."""
    changes = []
    for key in list(dict.fromkeys([*old, *new])):
        before, after = old.get(key, MISSING), new.get(key, MISSING)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            changes += _diff(before, after, f"{prefix}{key}.")
        else:
            changes.append((f"{prefix}{key}", before, after))
    return changes


def _webhooks_by_url(rep: dict) -> dict:
    """An application entry with its webhooks keyed by URL, so a diff names the webhook and field that changed."""
    if "webhooks" not in rep:
        return rep
    return {**rep, "webhooks": {w["url"]: {k: v for k, v in w.items() if k != "url"} for w in rep["webhooks"]}}


def _scopes_by_name(rep: dict) -> dict:
    return {**rep, "scopes": {s["name"]: s["description"] for s in rep["scopes"]}}


def _drf_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {dotted field: [messages]}."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            for field_name, messages in _drf_errors(value, f"{name}." if name else prefix).items():
                errors.setdefault(field_name or name or "__all__", []).extend(messages)
        return errors
    if isinstance(detail, list) and detail and all(isinstance(item, dict) for item in detail):
        errors = {}
        for index, item in enumerate(detail):
            for field_name, messages in _drf_errors(item, f"{prefix}{index}.").items():
                errors.setdefault(field_name, []).extend(messages)
        return errors
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip("."): [str(m) for m in messages if m]}


def _parse(serializer_class, entry: dict, *, partial: bool) -> dict:
    serializer = serializer_class(data=entry, partial=partial)
    if not serializer.is_valid():
        raise ValidationError(_drf_errors(serializer.errors))
    return dict(serializer.validated_data)


def _api_named(exc: ValidationError) -> ValidationError:
    """A service's errors under the document's field names (cors_origins, access_control.required_roles)."""
    if not hasattr(exc, "error_dict"):
        return exc
    names = {**api_field_of(), "__all__": "__all__"}
    return ValidationError({names.get(f, f): problems for f, problems in exc.message_dict.items()})


def _key(entry: dict, key: str, section: str, index: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{section}[{index}]: {key}: give a non-empty string; it identifies the entry.")
    return value.strip()


# resources


def _import_resource(entry: dict, identifier: str) -> Change:
    resource = ApiResource.objects.select_for_update().filter(identifier=identifier).first()
    change = Change("api resource", identifier)
    # The introspecting client may be an application of this very file: set after the applications
    # (_import_resource_client).
    entry = {k: v for k, v in entry.items() if k != "introspecting_client"}
    if resource is None:
        data = _parse(ApiResourceCreateSerializer, entry, partial=False)
        scopes = {scope["name"]: scope.get("description", "") for scope in data["scopes"]}
        services.api_resource_create(
            actor=None, identifier=identifier, name=data["name"], scopes=scopes, token_settings=token_settings(data)
        )
        change.action = "create"
        return change
    # Partial, so a missing name is left alone; each listed scope is still parsed whole (it needs a name).
    data = _parse(ApiResourceCreateSerializer, {k: v for k, v in entry.items() if k != "scopes"}, partial=True)
    if "scopes" in entry:
        whole = {"identifier": identifier, "name": resource.name, **entry}
        data["scopes"] = _parse(ApiResourceCreateSerializer, whole, partial=False)["scopes"]
    before = api_resource_config(resource)
    current = {scope["name"]: scope["description"] for scope in before["scopes"]}
    # The service's rule for a blank description (the scope's name) decides what "the same" means.
    wanted = {s["name"].strip(): (s.get("description") or s["name"]).strip() for s in data.get("scopes", [])}
    differing = sorted(name for name in wanted if name in current and wanted[name] != current[name])
    if differing:
        raise ValidationError(
            {
                "scopes": [
                    f"{name}: its description cannot be changed by import ({current[name]!r} here, "
                    f"{wanted[name]!r} in the file); change it in the admin console under Scopes."
                    for name in differing
                ]
            }
        )
    new_scopes = [name for name in wanted if name not in current]
    settings_changed = {k: v for k, v in token_settings(data).items() if before.get(k) != v}
    if data.get("name", resource.name) == resource.name and not new_scopes and not settings_changed:
        return change
    if data.get("name", resource.name) != resource.name or settings_changed:
        services.api_resource_update(
            actor=None, resource=resource, name=data.get("name", resource.name), token_settings=settings_changed
        )
    problems = []
    for name in new_scopes:
        try:
            with transaction.atomic():
                services.api_resource_scope_add(actor=None, resource=resource, name=name, description=wanted[name])
        except ValidationError as exc:
            problems.append(f"{name}: {validation_error_line(exc)}")
    if problems:
        raise ValidationError({"scopes": problems})
    after = api_resource_config(_resources().get(pk=resource.pk))
    change.action, change.fields = "update", _diff(_scopes_by_name(before), _scopes_by_name(after))
    return change


# roles


def _import_role(entry: dict, name: str) -> Change:
    role = _roles().select_for_update().filter(name=name).first()
    change = Change("role", name)
    data = _parse(RoleWriteSerializer, entry, partial=role is not None)
    scopes = selectors.scopes_by_name(data["scopes"], field="scopes") if "scopes" in data else None
    if role is None:
        identity_services.role_create(
            actor=None, name=name, description=data.get("description", ""), scopes=scopes or []
        )
        change.action = "create"
        return change
    before = role_config(role)
    wanted = copy.deepcopy(before)
    if "description" in data:
        wanted["description"] = data["description"]
    if scopes is not None:
        wanted["scopes"] = sorted({s.name for s in scopes})
    if wanted == before:
        return change
    identity_services.role_update(actor=None, role=role, description=data.get("description"), scopes=scopes)
    after = role_config(_roles().get(pk=role.pk))
    change.action, change.fields = "update", _diff(before, after)
    return change


# applications


def _wanted_application(before: dict, data: dict) -> dict:
    """What the application would look like with the entry applied, as far as that is known without writing."""
    wanted = copy.deepcopy(before)
    for key, value in data.items():
        if key in ("allowed_scopes", "m2m_roles"):
            wanted[key] = sorted(set(value))
        elif key == "access_control":
            if "required_roles" in value:
                wanted[key] = {"required_roles": sorted(set(value["required_roles"]))}
        elif key == "branding":
            wanted[key] = None if value is None else {f: value.get(f, "") for f in BRANDING_FIELDS}
        else:
            wanted[key] = value
    return wanted


def _import_application(entry: dict, client_id: str) -> Change:
    if problem := policies.client_id_error(client_id):
        raise ValidationError({"client_id": [problem]})
    application = Application.objects.select_for_update().filter(client_id=client_id).first()
    fields = {key: value for key, value in entry.items() if key not in ("client_id", "providers", "webhooks")}
    data = _parse(ApplicationWriteSerializer, fields, partial=application is not None)
    change = Change("application", client_id, name=data.get("name", application.name if application else ""))
    relations = selectors.application_relations(data)
    branding = data["branding"] if "branding" in data else services.UNCHANGED
    if branding is not services.UNCHANGED and branding is not None:
        branding = dict(branding)
    columns = columns_from({key: value for key, value in data.items() if key != "auth_methods"})
    with_providers, with_webhooks = "providers" in entry, "webhooks" in entry
    if application is None:
        application = Application(client_id=client_id, **columns)
        if "auth_methods" in data:
            # Its providers do not exist yet: the ones it lists are added once they do (below).
            application.auth_methods = federation_config.auth_methods_resolve(
                application, data["auth_methods"], partial=with_providers
            )
        try:
            change.secret = services.application_create(
                actor=None,
                application=application,
                branding=None if branding is services.UNCHANGED else branding,
                **relations,
            )
        except ValidationError as exc:
            raise _api_named(exc) from exc
        if with_providers:
            federation_config.providers_import(application, entry["providers"])
            _auth_methods_import(application, data)
        if with_webhooks:
            change.webhook_secrets = events_config.webhooks_import(application, entry["webhooks"])
        change.action, change.confidential = "create", application.is_confidential
        return change
    before = application_config(_applications().get(pk=application.pk))
    if _wanted_application(before, data) == before and not with_providers and not with_webhooks:
        return change
    if "auth_methods" in data:
        now = federation_config.auth_methods_resolve(application, data["auth_methods"], partial=with_providers)
        listed = [m for m in application.auth_methods if m not in policies.AUTH_METHOD_NAMES]
        # A provider the app lists cannot be removed; one the file no longer lists stops being listed first.
        if not with_providers or any(m not in now for m in listed):
            columns["auth_methods"] = now
    if _wanted_application(before, data) != before or columns.get("auth_methods", application.auth_methods) != (
        application.auth_methods
    ):
        for column, value in columns.items():
            setattr(application, column, value)
        try:
            services.application_update(actor=None, application=application, branding=branding, **relations)
        except ValidationError as exc:
            raise _api_named(exc) from exc
    if with_providers:
        federation_config.providers_import(application, entry["providers"])
        _auth_methods_import(application, data)
    if with_webhooks:
        change.webhook_secrets = events_config.webhooks_import(application, entry["webhooks"])
    after = application_config(_applications().get(pk=application.pk))
    change.action, change.fields = "update", _diff(_webhooks_by_url(before), _webhooks_by_url(after))
    return change


def _auth_methods_import(application: Application, data: dict) -> None:
    """The entry's `auth_methods` once the application's providers are the file's: references become ids."""
    if "auth_methods" not in data:
        return
    methods = federation_config.auth_methods_resolve(application, data["auth_methods"])
    if methods == application.auth_methods:
        return
    application.auth_methods = methods
    try:
        services.application_update(actor=None, application=application)
    except ValidationError as exc:
        raise _api_named(exc) from exc


# deployment-wide webhooks


def _import_resource_client(entry: dict, identifier: str) -> Change:
    """An API resource's `introspecting_client`, once the file's applications exist."""
    resource = (
        ApiResource.objects.select_for_update(of=("self",))
        .select_related("introspecting_client")
        .get(identifier=identifier)
    )
    change = Change("api resource", identifier, action="update")
    before = api_resource_config(resource)
    wanted = entry["introspecting_client"]
    if before["introspecting_client"] != wanted:
        services.api_resource_update(
            actor=None, resource=resource, name=resource.name, token_settings={"introspecting_client": wanted}
        )
    change.fields = _diff(before, api_resource_config(_resources().get(pk=resource.pk)))
    return change


def _import_webhook(entry: dict, url: str) -> Change:
    change = Change("webhook", url)
    before = events_config.webhook_config_of(None, url)
    change.action, secret = events_config.webhook_import(None, entry)
    if secret:
        change.webhook_secrets = [(url, secret)]
    if change.action == "update":
        change.fields = _diff(before, events_config.webhook_config_of(None, url))
    return change


# organisations


def _import_organization_role(entry: dict, name: str) -> Change:
    data = _parse(OrganizationRoleWriteSerializer, {**entry, "name": name}, partial=True)
    action, before, after = organizations_config.organization_role_import(data, name)
    return Change("organization role", name, action=action, fields=_diff(before, after) if before else [])


def _import_organization(entry: dict, slug: str) -> Change:
    data = _parse(OrganizationWriteSerializer, {**entry, "slug": slug}, partial=True)
    action, before, after = organizations_config.organization_import(data, slug)
    return Change(
        "organization", slug, name=after["name"], action=action, fields=_diff(before, after) if before else []
    )


IMPORTERS = {
    "api_resources": ("identifier", _import_resource, "api resource"),
    "roles": ("name", _import_role, "role"),
    "organization_roles": ("name", _import_organization_role, "organization role"),
    "organizations": ("slug", _import_organization, "organization"),
    "applications": ("client_id", _import_application, "application"),
    "webhooks": ("url", _import_webhook, "webhook"),
}


def _keys(document: dict) -> dict[str, list[str]]:
    """Each section's entry keys, checked for presence and uniqueness before anything is written."""
    keys: dict[str, list[str]] = {}
    for section, (key_field, _, _) in IMPORTERS.items():
        keys[section] = [_key(entry, key_field, section, i) for i, entry in enumerate(document[section])]
        seen: set[str] = set()
        for value in keys[section]:
            if value in seen:
                raise ConfigError(f"{section}: {key_field} {value!r} appears twice.")
            seen.add(value)
    return keys


def config_import(document: dict, *, dry_run: bool = False) -> ImportResult:
    """Apply a parsed document in one transaction; see the module docstring for the rules."""
    keys = _keys(document)
    result = ImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            for section, (_, importer, kind) in IMPORTERS.items():
                for entry, key in zip(document[section], keys[section], strict=True):
                    _import_one(result, importer, entry, key, kind)
            for entry, key in zip(document["api_resources"], keys["api_resources"], strict=True):
                if "introspecting_client" in entry and not any(
                    e.startswith(f"api resource {key!r}") for e in result.errors
                ):
                    _import_resource_client_into(result, entry, key)
            if result.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return result


def _import_resource_client_into(result: ImportResult, entry: dict, key: str) -> None:
    """The second pass over a resource: its change (if any) joins the one its first pass reported."""
    changes_before = len(result.changes)
    _import_one(result, _import_resource_client, entry, key, "api resource")
    if len(result.changes) == changes_before:
        return
    second = result.changes.pop()
    first = next((c for c in result.changes if c.kind == "api resource" and c.key == key), None)
    if first is None:
        result.changes.append(second)
    elif second.action == "update" and first.action != "create":
        first.action = "update"
        first.fields += second.fields


def _import_one(result: ImportResult, importer, entry: dict, key: str, kind: str) -> None:
    """One entry in its own savepoint: an error or a write that changed nothing leaves no trace."""
    try:
        with transaction.atomic():
            change = importer(entry, key)
            if change.action == "update" and not change.fields:
                raise _Unchanged(change)  # e.g. a colour given in lower case: stored the same, not rewritten
    except _Unchanged as unchanged:
        change = unchanged.change
        change.action = "unchanged"
    except ValidationError as exc:
        result.errors.append(f"{kind} {key!r}: {validation_error_line(exc)}")
        return
    result.changes.append(change)
