"""Writes to users and roles. The admin, the commands and the API call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from applications.events.services import event_record
from applications.models import Application
from applications.oauth import memo
from applications.oauth.revocations import not_before_record
from applications.services import users_tokens_revoke
from applications.usage import counters as usage_counters
from identity import audit, invitations, selectors
from identity.constants import REGISTRATION_INVITE
from identity.models import Role, RoleAssignment, User, normalize_email


def _validate_user(user: User, password: str | None) -> None:
    """The user's fields and, when one is being set, the password, reported together by field."""
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if password is not None:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)


def user_create(*, actor, email: str, password: str | None, roles: Iterable[Role] = (), **profile) -> User:
    """Create a user; the password must pass the configured validators. None: no password sign-in, or,
    with LATCHKEY_REGISTRATION=invite, an emailed link to choose one."""
    user = User(email=normalize_email(email), **profile)
    _validate_user(user, password)
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        for role in roles:
            RoleAssignment.objects.create(user=user, role=role)
        audit.record(
            actor=actor,
            action="user.created",
            target=user,
            after=selectors.user_state(user),
            extra={"password": audit.SECRET_CHANGED} if password is not None else None,
        )
        user_created_event(user=user)
        if password is None and settings.LATCHKEY_REGISTRATION == REGISTRATION_INVITE:
            user_invite(actor=actor, user=user)
    return user


def _user_id(user: User) -> str:
    """How events name a user: the `sub` every application knows them by, never the database id."""
    return str(user.public_id)


def user_created_event(*, user: User) -> None:
    """The `user.created` outbox row, in the caller's transaction (user_create, and the admin's add form)."""
    event_record(type="user.created", payload={"user_id": _user_id(user)})


def user_updated_event(*, user: User, fields) -> None:
    """`user.updated` naming the fields that changed (audit diff keys, `roles`, `password`), never their
    values; nothing when none did."""
    fields = sorted(set(fields))
    if not fields:
        return
    event_record(type="user.updated", payload={"user_id": _user_id(user), "fields": fields})


def user_deactivated_event(*, user: User) -> None:
    event_record(type="user.deactivated", payload={"user_id": _user_id(user)})


def user_deleted_event(*, user: User) -> None:
    event_record(type="user.deleted", payload={"user_id": _user_id(user)})


def user_registered(*, user: User, application: Application | None = None) -> None:
    """A person created their own account (allauth's signup saved it): recorded with them as the actor.

    `application`: the one whose authorization request the sign-up happened in, when known.
    """
    payload = {"user_id": _user_id(user)}
    if application is not None:
        payload["client_id"] = application.client_id
    with transaction.atomic():
        audit.record(actor=user, action="user.registered", target=user, after=selectors.user_state(user))
        event_record(type="user.registered", payload=payload)


def user_signed_in(*, user: User, application: Application, sign_in: dict | None) -> None:
    """The user signed in to `application`: a code was issued to it, or a device code approved for it.

    `sign_in` is the session's method (identity.auth_time.session_sign_in_method). Recorded per
    application (the target), for the webhooks and usage work; never a token, code or secret. Callers
    run it inside the transaction that writes the code or the device approval, so the grant, its audit
    row and its event commit together (no savepoint of its own: the authorize path stays short). The
    usage count waits for that commit, so a sign-in rolled back is not counted.
    """
    sign_in = sign_in or {}
    payload = {"client_id": application.client_id, "method": sign_in.get("method") or "password"}
    if sign_in.get("provider_id") is not None:
        payload["provider_id"] = sign_in["provider_id"]
    audit.record(actor=user, action="user.signed_in", target=application, target_type="application", after=payload)
    event_record(type="user.signed_in", application=application, payload={"user_id": _user_id(user), **payload})
    application_id, user_id = application.pk, user.pk
    # In process, no query (applications.usage); robust: the sign-in has committed, a failed count must not undo
    # the answer to it.
    transaction.on_commit(lambda: usage_counters.count_sign_in(application_id, user_id), robust=True)


def user_password_set(*, actor, user: User, password: str) -> None:
    """A new password from the reset link, an invitation or the account page (validated by the form)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(actor=actor, action="user.password_changed", target=user, extra={"password": audit.SECRET_CHANGED})
        user_updated_event(user=user, fields=["password"])


def user_email_verify(*, actor, user: User) -> None:
    """The person followed the link sent to their address: the `email_verified` claim becomes true."""
    if user.email_verified:
        return
    with transaction.atomic():
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        audit.record(
            actor=actor,
            action="user.email_verified",
            target=user,
            extra={"email_verified": {"old": False, "new": True}},
        )
        user_updated_event(user=user, fields=["email_verified"])


def user_invite(*, actor, user: User) -> None:
    """Email the user a single-use link to choose a password (identity.invitations), after commit."""
    with transaction.atomic():
        audit.record(actor=actor, action="user.invited", target=user)
        transaction.on_commit(lambda: invitations.invitation_send(user))


def role_create(*, actor, name: str, description: str = "", scopes: Iterable = ()) -> Role:
    role = Role(name=name.strip(), description=description)
    role.full_clean()
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        role.save()
        role.scopes.set(list(scopes))
        audit.record(
            actor=actor,
            action="role.created",
            target=role,
            after=selectors.role_state(role),
        )
    return role


def role_assign(*, actor, user: User, role: Role) -> RoleAssignment:
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role)
        if created:
            audit.record(
                actor=actor,
                action="user.role_assigned",
                target=user,
                extra={"role": {"old": None, "new": role.name}},
            )
            user_updated_event(user=user, fields=["roles"])
    return assignment


def role_unassign(*, actor, user: User, role: Role) -> None:
    """Take the role away; the user's tokens for every application that requires it are revoked at once."""
    with transaction.atomic():
        deleted, _ = RoleAssignment.objects.filter(user=user, role=role).delete()
        if deleted:
            audit.record(
                actor=actor,
                action="user.role_unassigned",
                target=user,
                extra={"role": {"old": role.name, "new": None}},
            )
            user_updated_event(user=user, fields=["roles"])
            user_lost_access_revoke(user=user, roles=[role])


def user_lost_access_revoke(*, user: User, roles: Iterable[Role] = ()) -> None:
    """Revoke at once `user`'s tokens for the applications they may no longer use: every one once
    the user is inactive, else those requiring one of `roles` (just taken from them).

    role_unassign and user_deactivate call it, and so does the admin's user form, which writes the
    user and their role assignments itself. A refresh would be refused anyway (the access rule is
    checked at every issuance); this also stops the access tokens already out.
    """
    if user.is_active:
        role_ids = [role.pk for role in roles]
        if not role_ids:
            return
        applications = Application.objects.filter(required_roles__in=role_ids)
        reason = "access_removed"
    else:
        applications = None  # every application: one not-before entry for the user at any of them
        reason = "user_deactivated"
    users_tokens_revoke(users=[user], applications=applications, reason=reason)


def role_update(
    *, actor, role: Role, name: str | None = None, description: str | None = None, scopes: Iterable | None = None
) -> Role:
    """Change a role's columns and, when given, its scopes (which bound its m2m applications' tokens)."""
    stored = Role.objects.filter(pk=role.pk).first()
    before = selectors.role_state(stored) if stored else None
    if name is not None:
        role.name = name.strip()
    if description is not None:
        role.description = description
    role.full_clean()
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        role.save()
        if scopes is not None:
            role.scopes.set(list(scopes))
        audit.record(
            actor=actor,
            action="role.updated",
            target=role,
            before=before,
            after=selectors.role_state(role),
            only_if_changed=True,
        )
    return role


def role_delete(*, actor, role: Role) -> None:
    """Delete a role and its assignments; refused (code `in_use`) while applications use it.

    Deleting a role that gates an application would silently open that application to every user.
    """
    with transaction.atomic():
        memo.invalidate()  # scopes kept per process (applications.oauth.memo)
        apps = sorted(
            {a.name for a in role.gated_applications.all()} | {a.name for a in role.machine_applications.all()}
        )
        if apps:
            message = f"Used by applications {', '.join(apps)}; remove it from them first."
            raise ValidationError({"name": [ValidationError(message, code="in_use")]})
        audit.record(
            actor=actor,
            action="role.deleted",
            target=role,
            before=selectors.role_state(role),
        )
        for holder in User.objects.filter(roles=role).only("public_id"):  # they lose it with the role
            user_updated_event(user=holder, fields=["roles"])
        role.delete()


USER_PROFILE_FIELDS = ("email", "name", "given_name", "family_name", "picture", "phone_number")


def user_update(*, actor, user: User, password: str | None = None, **changes) -> User:
    """Change profile fields and, when given, the password. A changed email or phone is no longer verified."""
    unknown = set(changes) - set(USER_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"user_update() got unexpected fields {sorted(unknown)}")
    stored = User.objects.filter(pk=user.pk).first()
    before = selectors.user_state(stored) if stored else None
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        if changes["email"] != user.email:
            user.email_verified = False
    if "phone_number" in changes and changes["phone_number"] != user.phone_number:
        user.phone_number_verified = False
    for field, value in changes.items():
        setattr(user, field, value)
    _validate_user(user, password)
    with transaction.atomic():
        if password is not None:
            user.set_password(password)
        user.save()
        record = audit.record(
            actor=actor,
            action="user.updated",
            target=user,
            before=before,
            after=selectors.user_state(user),
            extra={"password": audit.SECRET_CHANGED} if password is not None else None,
            only_if_changed=True,
        )
        if record is not None:
            user_updated_event(user=user, fields=record.changes)
    return user


def user_deactivate(*, actor, user: User) -> User:
    """Stop the user signing in and revoke every token any application holds for them, at once.

    Sessions end too: Django's ModelBackend no longer loads an inactive user.
    """
    with transaction.atomic():
        was_active = user.is_active
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            action="user.deactivated",
            target=user,
            before={"is_active": was_active},
            after={"is_active": False},
        )
        if was_active:
            user_deactivated_event(user=user)
        user_lost_access_revoke(user=user)
    return user


def user_delete(*, actor, user: User) -> None:
    """Delete the user; their tokens, grants and consents go with them (cascade) in the same transaction.

    `user.deleted` carries only the public id, which is all a receiver may keep of someone deleted.
    """
    with transaction.atomic():
        audit.record(actor=actor, action="user.deleted", target=user, before=selectors.user_state(user))
        user_deleted_event(user=user)
        # Their JWT access tokens have no row to cascade to.
        not_before_record(subject=str(user.public_id), reason="user_deleted")
        user.delete()
