"""Writes to applications and the scopes catalogue. The admin, the commands and the API call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from applications import policies, selectors
from applications import secrets as client_secrets
from applications.events.services import event_record
from applications.models import ApiResource, Application, PreviousClientSecret, Scope
from applications.oauth import cors, memo
from applications.oauth.revocations import not_before_record, not_before_record_pairs
from branding.models import Branding
from identity import audit
from identity.models import Role

# application_update's `branding` when the caller leaves the brand as it is.
UNCHANGED = object()


def _name_conflict() -> ValidationError:
    return ValidationError({"name": ["An application with this name already exists."]})


def _uri_item_errors(application: Application) -> dict[str, list[str]]:
    """A URI given in a list must be one URI: whitespace inside an item would silently split it in storage."""
    errors: dict[str, list[str]] = {}
    for field in ("redirect_uris", "post_logout_redirect_uris", "allowed_origins"):
        value = getattr(application, field)
        if isinstance(value, str) or value is None:
            continue
        bad = [item for item in value if not isinstance(item, str) or any(ch.isspace() for ch in item.strip())]
        if bad:
            errors[field] = [f"{item!r} contains whitespace; give one URI per list item." for item in bad]
    return errors


def _branding_prepare(application: Application, values: dict | None) -> tuple[Branding | None, dict[str, list[str]]]:
    """The application's Branding row with `values` applied and cleaned (not saved), and its errors by field."""
    if values is None:
        return None, {}
    brand = Branding.objects.filter(application_id=application.pk).first() if application.pk else None
    brand = brand or Branding(application=application)
    for field in ("logo_url", "primary_color", "secondary_color"):
        setattr(brand, field, values.get(field) or "")
    try:
        brand.full_clean(exclude=["application"])
    except ValidationError as exc:
        return brand, {f"branding.{k}": v for k, v in exc.message_dict.items()}
    return brand, {}


def _save(application: Application) -> None:
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError as exc:
        # Two writers raced past the name check; the case-insensitive constraint caught it.
        if Application.objects.filter(name__iexact=application.name).exclude(pk=application.pk).exists():
            raise _name_conflict() from exc
        raise


def _normalise_columns(application: Application) -> None:
    """The stored form of what callers give: a trimmed name, space-separated URI lists, and a blank
    ID token algorithm for null (API, config files: the deployment default)."""
    application.name = (application.name or "").strip()
    application.redirect_uris = policies.join_uris(application.redirect_uris)
    application.post_logout_redirect_uris = policies.join_uris(application.post_logout_redirect_uris)
    application.allowed_origins = policies.join_uris(application.allowed_origins)
    application.algorithm = application.algorithm or ""


def application_create(
    *,
    actor,
    application: Application,
    allowed_scopes: Iterable[Scope] = (),
    required_roles: Iterable = (),
    m2m_roles: Iterable = (),
    branding: dict | None = None,
) -> str | None:
    """Validate and save a new application with its choices; return its secret, shown once.

    Public types (spa, native) have no secret and get None. Nothing is saved on any error.
    """
    allowed_scopes, required_roles, m2m_roles = list(allowed_scopes), list(required_roles), list(m2m_roles)
    errors: dict[str, list[str]] = _uri_item_errors(application)
    _normalise_columns(application)
    if application.owner_id is None:
        # The creator is responsible; a machine client's registrations belong to whoever owns that client.
        application.owner = actor.owner if isinstance(actor, Application) else actor
    try:
        application.full_clean(exclude=Application.DERIVED_FIELDS)
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            errors.setdefault(field, []).extend(problems)
    if problem := policies.client_id_error(application.client_id):  # one given from outside (config import)
        errors.setdefault("client_id", []).append(problem)
    for field, problems in policies.application_relation_errors(
        app_type=application.type,
        allowed_scopes=allowed_scopes,
        required_roles=required_roles,
        m2m_roles=m2m_roles,
        auth_methods=application.auth_methods,
    ).items():
        errors.setdefault(field, []).extend(problems)
    brand, brand_errors = _branding_prepare(application, branding or None)
    errors.update(brand_errors)
    policies.raise_errors(errors)

    with transaction.atomic():
        plaintext = client_secrets.issue_client_secret(application)
        _save(application)
        application.allowed_scopes.set(allowed_scopes)
        application.required_roles.set(required_roles)
        application.m2m_roles.set(m2m_roles)
        if brand is not None:
            brand.application = application
            brand.save()
        audit.record(
            actor=actor,
            action="application.created",
            target=application,
            after=selectors.application_state(application),
        )
        cors.origins_invalidate()
        memo.invalidate()
    return plaintext


def application_update(
    *,
    actor,
    application: Application,
    allowed_scopes: Iterable[Scope] | None = None,
    required_roles: Iterable | None = None,
    m2m_roles: Iterable | None = None,
    branding: dict | None | object = UNCHANGED,
) -> Application:
    """Validate and save changes to an application's columns and, when given, its choices and branding.

    `branding` is a dict of logo_url/primary_color/secondary_color (replacing the whole brand), None to
    remove it, or UNCHANGED. The type is fixed at creation: it decides whether the app has a secret at all.
    """
    stored = Application.objects.filter(pk=application.pk).first()
    stored_type = stored.type if stored else None
    errors: dict[str, list[str]] = _uri_item_errors(application)
    if stored_type and stored_type != application.type:
        errors["type"] = ["The type of an application cannot change; register a new application instead."]
    _normalise_columns(application)
    try:
        application.full_clean(exclude=Application.DERIVED_FIELDS)
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            errors.setdefault(field, []).extend(problems)
    current = {
        "allowed_scopes": list(application.allowed_scopes.all()) if allowed_scopes is None else list(allowed_scopes),
        "required_roles": list(application.required_roles.all()) if required_roles is None else list(required_roles),
        "m2m_roles": list(application.m2m_roles.all()) if m2m_roles is None else list(m2m_roles),
    }
    for field, problems in policies.application_relation_errors(
        app_type=application.type,
        **current,
        auth_methods=application.auth_methods,
        provider_ids=selectors.provider_ids_of(application, application.auth_methods),
    ).items():
        errors.setdefault(field, []).extend(problems)
    brand = None
    if branding is not UNCHANGED:
        brand, brand_errors = _branding_prepare(application, branding)
        errors.update(brand_errors)
    policies.raise_errors(errors)
    before = selectors.application_state(stored) if stored else None
    # A role added to the access rule takes the application away from users without it, at once.
    rule_tightened = (
        required_roles is not None
        and stored is not None
        and not {role.pk for role in current["required_roles"]}
        <= set(stored.required_roles.values_list("pk", flat=True))
    )
    # So does an organisation rule set or changed (organisations or roles it admits may be fewer).
    organization_rule_changed = (
        stored is not None
        and application.organization_access is not None
        and application.organization_access != stored.organization_access
    )
    with transaction.atomic():
        _save(application)
        if allowed_scopes is not None:
            application.allowed_scopes.set(current["allowed_scopes"])
        if required_roles is not None:
            application.required_roles.set(current["required_roles"])
        if rule_tightened or organization_rule_changed:
            _tokens_of_refused_users_revoke(application, reason="access_removed")
        if m2m_roles is not None:
            application.m2m_roles.set(current["m2m_roles"])
        if brand is not None:
            brand.save()
        elif branding is None:
            Branding.objects.filter(application_id=application.pk).delete()
        record = audit.record(
            actor=actor,
            action="application.updated",
            target=application,
            before=before,
            after=selectors.application_state(application),
            only_if_changed=True,
        )
        if record is not None:
            application_updated_event(application=application, fields=record.changes)
        cors.origins_invalidate()
        memo.invalidate()
    return application


def application_deactivate(*, actor, application: Application) -> Application:
    """Inactive: authorize shows an error page, token requests fail, its tokens stop working.

    Its rows stay (reactivating brings them back), but its JWT access tokens end for good: a
    not-before entry for the application, which they cannot outlive.
    """
    if application.is_active:
        with transaction.atomic():
            application.is_active = False
            application.save(update_fields=["is_active", "updated"])
            not_before_record(client_id=application.client_id, reason="application_deactivated")
            audit.record(
                actor=actor,
                action="application.deactivated",
                target=application,
                before={"is_active": True},
                after={"is_active": False},
            )
            application_updated_event(application=application, fields=["is_active"])
        cors.origins_invalidate()
        memo.invalidate()
    return application


def application_updated_event(*, application: Application, fields) -> None:
    """`application.updated` naming what changed (the audit diff's keys), never the values; nothing if nothing did."""
    if fields := sorted(set(fields)):
        event_record(
            type="application.updated",
            application=application,
            payload={"client_id": application.client_id, "fields": fields},
        )


def application_delete(*, actor, application: Application) -> None:
    """Delete the application; its grants and tokens go with it in the same transaction."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="application.deleted",
            target=application,
            before=selectors.application_state(application),
        )
        # Recorded before the delete: the event's application becomes NULL (SET_NULL), the payload keeps the id.
        event_record(type="application.deleted", application=application, payload={"client_id": application.client_id})
        not_before_record(client_id=application.client_id, reason="application_deleted")
        application.delete()
        cors.origins_invalidate()
        memo.invalidate()


def application_rotate_secret(*, actor, application: Application, grace_period_seconds: int = 0) -> str:
    """Issue a new client secret, returned once. With a grace period the old one works until it ends."""
    if not application.is_confidential:
        raise ValidationError({"type": [f"A {application.get_type_display().lower()} has no client secret."]})
    if problem := policies.grace_period_error(grace_period_seconds):
        raise ValidationError({"grace_period_seconds": [problem]})
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        previous_hash = locked.client_secret
        plaintext = client_secrets.rotate_client_secret(locked, grace_period_seconds=grace_period_seconds)
        previous_expires_at = (
            PreviousClientSecret.objects.filter(application=locked, secret_hash=previous_hash)
            .values_list("expires_at", flat=True)
            .first()
            if grace_period_seconds > 0 and previous_hash
            else None
        )
        audit.record(
            actor=actor,
            action="application.secret_rotated",
            target=locked,
            extra={
                "client_secret": audit.SECRET_CHANGED,
                "grace_period_seconds": {"old": None, "new": grace_period_seconds},
            },
        )
        event_record(
            type="application.secret_rotated",
            application=locked,
            payload={
                "client_id": locked.client_id,
                "previous_secret_expires_at": previous_expires_at.isoformat() if previous_expires_at else None,
            },
        )
    application.refresh_from_db(fields=["client_secret", "hash_client_secret", "client_secret_last_used_at", "updated"])
    return plaintext


def _apply_token_settings(resource: ApiResource, token_settings: dict | None, errors: dict[str, list[str]]) -> None:
    """Set the resource's access-token fields (selectors.RESOURCE_TOKEN_FIELDS) given by the API, the
    command or a config file; `introspecting_client` is given as a client_id (or None)."""
    for field, value in (token_settings or {}).items():
        if field not in selectors.RESOURCE_TOKEN_FIELDS:
            raise ValueError(f"not an API resource token setting: {field}")
        if field == "introspecting_client":
            client = Application.objects.filter(client_id=value).first() if value else None
            if value and client is None:
                errors["introspecting_client"] = [f"No application has the client_id {value!r}."]
                continue
            resource.introspecting_client = client
        else:
            setattr(resource, field, value)


def api_resource_create(
    *, actor, identifier: str, name: str, scopes: dict[str, str], token_settings: dict | None = None
) -> ApiResource:
    """Create an API resource with its scopes ({name: description}) in one transaction."""
    resource = ApiResource(identifier=identifier.strip(), name=name.strip())
    errors: dict[str, list[str]] = {}
    _apply_token_settings(resource, token_settings, errors)
    try:
        resource.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    new_scopes = [Scope(name=n.strip(), description=(d or n).strip(), resource=resource) for n, d in scopes.items()]
    scope_problems: list[str] = []
    for scope in new_scopes:
        try:
            scope.full_clean(exclude=["resource"])
        except ValidationError as exc:
            scope_problems += [f"{scope.name}: {m}" for msgs in exc.message_dict.values() for m in msgs]
    if scope_problems:
        errors["scopes"] = scope_problems
    policies.raise_errors(errors)
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        resource.save()
        for scope in new_scopes:
            scope.resource = resource
        Scope.objects.bulk_create(new_scopes)
        audit.record(
            actor=actor,
            action="api_resource.created",
            target=resource,
            after={
                "identifier": resource.identifier,
                "name": resource.name,
                **selectors.api_resource_token_settings(resource),
                "scopes": sorted(s.name for s in new_scopes),
            },
        )
    return resource


def user_tokens_revoke(*, user, application: Application, reason: str) -> None:
    """Revoke `application`'s tokens for `user`, and no other application's (logout, consent revoked).

    Refresh tokens are marked revoked rather than deleted, so a later replay is still recognised
    by the reuse protection; access and ID tokens are deleted, as django-oauth-toolkit's revoke() does.
    """
    users_tokens_revoke(users=[user], applications=[application], reason=reason)


def users_tokens_revoke(*, users, applications, reason: str) -> None:
    """Revoke every token each of `users` holds for each of `applications` (lists or querysets; None:
    every application), in three statements: the bulk form of user_tokens_revoke, for access taken
    away from many.

    One `tokens.revoked` event (with `reason`) per user and application that held a live token, found
    by one more query before the writes; none when there was nothing to revoke. A JWT access token has
    no row, so a not-before entry goes in for every user and application asked (or for the user at any
    application), whatever the rows held: one INSERT, and one SELECT of client_ids for a queryset.
    """
    from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

    users = list(users)
    if applications is None:
        client_ids = [""]
        of_applications = {}
    else:
        if isinstance(applications, models.QuerySet):
            client_ids = sorted(set(applications.values_list("client_id", flat=True)))
        else:
            client_ids = [application.client_id for application in applications]
        of_applications = {"application__in": applications}
    pair = ("user__public_id", "application_id", "application__client_id")
    refresh_tokens = get_refresh_token_model().objects.filter(user__in=users, revoked__isnull=True, **of_applications)
    access_tokens = get_access_token_model().objects.filter(user__in=users, **of_applications)
    id_tokens = get_id_token_model().objects.filter(user__in=users, **of_applications)
    with transaction.atomic():
        held = (
            refresh_tokens.values_list(*pair)
            .union(access_tokens.values_list(*pair), id_tokens.values_list(*pair))
            .order_by("application_id", "user__public_id")
        )
        affected = list(held)
        refresh_tokens.update(revoked=timezone.now(), access_token=None)
        access_tokens.delete()
        id_tokens.delete()
        not_before_record_pairs(
            pairs=[(str(user.public_id), client_id) for user in users for client_id in client_ids], reason=reason
        )
        for user_id, application_id, client_id in affected:
            # The row read above names the application; an instance with its pk is all the FK needs.
            tokens_revoked_event(
                user_id=str(user_id), application=Application(pk=application_id, client_id=client_id), reason=reason
            )


def _family_revoke(family) -> bool:
    """Revoke a refresh-token family and its access tokens (django-oauth-toolkit's revoke_family);
    True when it still held a live refresh token (a second replay finds none)."""
    from oauth2_provider.models import get_refresh_token_model

    RefreshToken = get_refresh_token_model()  # noqa: N806 (a model class)
    live = RefreshToken.objects.filter(token_family=family, revoked__isnull=True).exists()
    RefreshToken.revoke_family(family)
    return live


def tokens_revoked(*, user, application: Application, reason: str) -> None:
    """What follows revoking a live token of `user` at `application`: a not-before entry (JWT access
    tokens have no row to revoke) and one `tokens.revoked`, in the caller's transaction."""
    not_before_record(subject=str(user.public_id), client_id=application.client_id, reason=reason)
    tokens_revoked_event(user_id=str(user.public_id), application=application, reason=reason)


def refresh_family_revoke(*, family, user, application: Application, reason: str) -> None:
    """Revoke a refresh-token family and its access tokens; `tokens_revoked` when it was still live."""
    with transaction.atomic():
        if _family_revoke(family) and user is not None:
            tokens_revoked(user=user, application=application, reason=reason)


def code_tokens_revoke(*, grant, application: Application, reason: str) -> None:
    """What a replayed authorization code issued: its refresh-token family and its access token.

    `tokens_revoked` when anything was still live; when the code left no row to tell (a JWT access
    token without a refresh token), the not-before entry alone, since that JWT may still be out there.
    """
    from oauth2_provider.models import get_access_token_model

    with transaction.atomic():
        live = bool(grant.token_family) and _family_revoke(grant.token_family)
        if grant.access_token_id:
            deleted, _ = get_access_token_model().objects.filter(pk=grant.access_token_id).delete()
            live = live or bool(deleted)
        if live:
            tokens_revoked(user=grant.user, application=application, reason=reason)
        elif not (grant.token_family or grant.access_token_id):
            not_before_record(subject=str(grant.user.public_id), client_id=application.client_id, reason=reason)


def tokens_revoked_event(*, user_id: str, application: Application, reason: str) -> None:
    event_record(
        type="tokens.revoked",
        application=application,
        payload={"user_id": user_id, "client_id": application.client_id, "reason": reason},
    )


def organization_access_revoke(*, user, reason: str = "access_removed") -> None:
    """After `user` left an organisation or lost an organisation role: revoke their tokens at every application
    whose organisation rule no longer admits them (applications without such a rule are untouched)."""
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    refresh = get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).values("application_id")
    access = get_access_token_model().objects.filter(user=user).values("application_id")
    ruled = Application.objects.filter(
        models.Q(pk__in=refresh) | models.Q(pk__in=access), organization_access__isnull=False
    ).prefetch_related("required_roles")
    refused = [application for application in ruled if not policies.access_allowed(user, application)]
    if refused:
        users_tokens_revoke(users=[user], applications=refused, reason=reason)


def _tokens_of_refused_users_revoke(application: Application, *, reason: str) -> None:
    """Revoke the tokens of every user whom `application`'s access rule (just changed) now refuses.

    Rows tell who holds tokens, but a JWT access token has none: the application's JWTs issued so
    far all end (a not-before entry for the application); users it still admits refresh.
    """
    from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

    from identity.models import User

    holders = (
        models.Q(pk__in=get_access_token_model().objects.filter(application=application).values("user_id"))
        | models.Q(
            pk__in=get_refresh_token_model()
            .objects.filter(application=application, revoked__isnull=True)
            .values("user_id")
        )
        | models.Q(pk__in=get_id_token_model().objects.filter(application=application).values("user_id"))
    )
    not_before_record(client_id=application.client_id, reason=reason)
    rule = Application.objects.prefetch_related("required_roles").get(pk=application.pk)
    refused = [
        user
        for user in User.objects.filter(holders).prefetch_related("roles")
        if not policies.access_allowed(user, rule, user_role_names={role.name for role in user.roles.all()})
    ]
    if refused:
        users_tokens_revoke(users=refused, applications=[application], reason=reason)


def scopes_removal_error(scopes) -> ValidationError | None:
    """Scopes still held by applications or roles cannot go: removing them would silently change who may do what."""
    if protected := sorted(s.name for s in scopes if s.name in policies.MANAGEMENT_SCOPES):
        message = f"{', '.join(protected)}: Latchkey's own management scopes cannot be removed."
        return ValidationError({"scopes": [ValidationError(message, code="in_use")]})
    scope_ids = [s.pk for s in scopes]
    apps = sorted(set(Application.objects.filter(allowed_scopes__in=scope_ids).values_list("name", flat=True)))
    roles = sorted(set(Role.objects.filter(scopes__in=scope_ids).values_list("name", flat=True)))
    if not apps and not roles:
        return None
    users = [f"applications {', '.join(apps)}" if apps else "", f"roles {', '.join(roles)}" if roles else ""]
    message = f"In use by {' and '.join(u for u in users if u)}; remove it from them first."
    return ValidationError({"scopes": [ValidationError(message, code="in_use")]})


def api_resource_update(
    *, actor, resource: ApiResource, name: str, identifier: str | None = None, token_settings: dict | None = None
) -> ApiResource:
    """Rename an API resource or change its access-token settings. Its identifier is the audience of
    tokens already issued, so it never changes."""
    errors: dict[str, list[str]] = {}
    stored = ApiResource.objects.filter(pk=resource.pk).select_related("introspecting_client").first()
    before = {"name": stored.name, **selectors.api_resource_token_settings(stored)} if stored else {}
    if identifier is not None and identifier.strip() != resource.identifier:
        errors["identifier"] = ["The identifier is the audience of issued tokens and cannot change."]
    resource.name = (name or "").strip()
    _apply_token_settings(resource, token_settings, errors)
    try:
        resource.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    policies.raise_errors(errors)
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        resource.save(update_fields=["name", *selectors.RESOURCE_TOKEN_FIELDS])
        audit.record(
            actor=actor,
            action="api_resource.updated",
            target=resource,
            before=before,
            after={"name": resource.name, **selectors.api_resource_token_settings(resource)},
            only_if_changed=True,
        )
    return resource


def api_resource_delete(*, actor, resource: ApiResource) -> None:
    """Delete a resource and its scopes, refused (code `in_use`) while applications or roles hold any of them."""
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        if error := scopes_removal_error(list(resource.scopes.all())):
            raise error
        audit.record(
            actor=actor,
            action="api_resource.deleted",
            target=resource,
            before=selectors.api_resource_state(resource),
        )
        resource.delete()


def api_resource_scope_add(*, actor, resource: ApiResource, name: str, description: str = "") -> Scope:
    name = (name or "").strip()
    scope = Scope(name=name, description=(description or name).strip(), resource=resource)
    scope.full_clean()
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        scope.save()
        audit.record(
            actor=actor,
            action="scope.created",
            target=scope,
            after=selectors.scope_state(scope),
        )
    return scope


def api_resource_scope_remove(*, actor, scope: Scope) -> None:
    """Remove a custom scope, refused (code `in_use`) while applications or roles hold it."""
    if scope.is_standard:
        raise ValidationError({"scopes": ["Standard OpenID Connect scopes cannot be removed."]})
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        if error := scopes_removal_error([scope]):
            raise error
        audit.record(
            actor=actor,
            action="scope.deleted",
            target=scope,
            before=selectors.scope_state(scope),
        )
        scope.delete()
