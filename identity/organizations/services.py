"""Writes of organisations, organisation roles, memberships and invitations.

Each is keyword-only, takes the `actor` (a user, an m2m application through its token, or None for
Latchkey itself, as identity.audit records it) and writes its audit row and its event row in the
transaction of the change. Emails go out after commit. Events carry ids only: the organisation's
and the user's public ids, the invitation's id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from applications.events.services import event_record
from applications.services import organization_access_revoke
from identity import audit
from identity.models import User, normalize_email
from identity.organizations import invitations, policies, selectors, sign_in
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole

ORGANIZATION_FIELDS = (
    "name",
    "slug",
    "description",
    "logo_url",
    "primary_color",
    "secondary_color",
    "jit_email_domains",
    "sign_in_issuer",
    "sign_in_domains",
)


def _organization_id(organization: Organization) -> str:
    return str(organization.public_id)


def _organization_audit(*, actor, action: str, organization: Organization, label: str | None = None, **change):
    """An audit row about `organization`, named by its API id and, unless told otherwise, its slug."""
    return audit.record(
        actor=actor,
        action=action,
        target=organization,
        target_id=str(organization.public_id),
        target_label=label or organization.slug,
        **change,
    )


def _member_event(type: str, membership: Membership, **payload) -> None:
    event_record(
        type=type,
        payload={
            "organization_id": _organization_id(membership.organization),
            "user_id": str(membership.user.public_id),
            **payload,
        },
    )


def _membership_label(membership: Membership) -> str:
    return f"{membership.organization.slug}: {membership.user.email}"


# --- organisations --------------------------------------------------------------------------------


def _apply(organization: Organization, fields: dict[str, Any]) -> list[OrganizationRole] | None:
    """Set the columns in `fields` on `organization` (unsaved); returns its `jit_roles` when given."""
    unknown = set(fields) - set(ORGANIZATION_FIELDS) - {"jit_roles"}
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    for name in ORGANIZATION_FIELDS:
        if name in fields:
            value = fields[name]
            if name in ("jit_email_domains", "sign_in_domains"):
                value = list(value or [])
            elif isinstance(value, str):
                value = value.strip()
            setattr(organization, name, value if value is not None else "")
    organization.full_clean()
    if taken := sign_in.routed_domains_taken(organization):
        raise ValidationError(
            {"sign_in_domains": [f"Already sent to another organisation's sign-in: {', '.join(taken)}."]}
        )
    return list(fields["jit_roles"]) if "jit_roles" in fields else None


def organization_create(*, actor, fields: dict[str, Any]) -> Organization:
    """Create an organisation from API-named `fields` (jit_roles: OrganizationRole objects)."""
    organization = Organization()
    jit_roles = _apply(organization, fields)
    with transaction.atomic():
        organization.save()
        if jit_roles:
            organization.jit_roles.set(jit_roles)
        _organization_audit(
            actor=actor,
            action="organization.created",
            organization=organization,
            after=selectors.organization_state(organization),
        )
        event_record(type="organization.created", payload={"organization_id": _organization_id(organization)})
    return organization


def organization_update(*, actor, organization: Organization, fields: dict[str, Any]) -> Organization:
    stored = Organization.objects.filter(pk=organization.pk).first()
    before = selectors.organization_state(stored) if stored else None
    jit_roles = _apply(organization, fields)
    with transaction.atomic():
        organization.save()
        if jit_roles is not None:
            organization.jit_roles.set(jit_roles)
        record = _organization_audit(
            actor=actor,
            action="organization.updated",
            organization=organization,
            before=before,
            after=selectors.organization_state(organization),
            only_if_changed=True,
        )
        if record is not None:
            event_record(
                type="organization.updated",
                payload={"organization_id": _organization_id(organization), "fields": sorted(record.changes)},
            )
    return organization


def organization_delete(*, actor, organization: Organization) -> None:
    """Delete the organisation with its memberships and invitations (its members' accounts stay)."""
    with transaction.atomic():
        _organization_audit(
            actor=actor,
            action="organization.deleted",
            organization=organization,
            before=selectors.organization_state(organization),
        )
        event_record(type="organization.deleted", payload={"organization_id": _organization_id(organization)})
        members = [membership.user for membership in organization.memberships.select_related("user")]
        organization.delete()
        for user in members:
            sign_in.member_tokens_revoke(user=user, organization=organization, reason="organization_deleted")


# --- organisation roles ---------------------------------------------------------------------------


def organization_role_create(
    *, actor, name: str, description: str = "", scopes: Iterable[str] = ()
) -> OrganizationRole:
    role = OrganizationRole(name=(name or "").strip(), description=description or "", scopes=list(scopes))
    role.full_clean()
    with transaction.atomic():
        role.save()
        audit.record(
            actor=actor,
            action="organization_role.created",
            target=role,
            target_label=role.name,
            after=selectors.organization_role_state(role),
        )
    return role


def organization_role_update(
    *,
    actor,
    role: OrganizationRole,
    name: str | None = None,
    description: str | None = None,
    scopes: Iterable[str] | None = None,
) -> OrganizationRole:
    """Change a role; every member holding it now has its new scopes (nothing is copied to memberships)."""
    stored = OrganizationRole.objects.filter(pk=role.pk).first()
    before = selectors.organization_role_state(stored) if stored else None
    if name is not None:
        role.name = name.strip()
    if description is not None:
        role.description = description
    if scopes is not None:
        role.scopes = list(scopes)
    role.full_clean()
    with transaction.atomic():
        role.save()
        audit.record(
            actor=actor,
            action="organization_role.updated",
            target=role,
            target_label=role.name,
            before=before,
            after=selectors.organization_role_state(role),
            only_if_changed=True,
        )
    return role


def organization_role_delete(*, actor, role: OrganizationRole) -> None:
    """Delete a role: the members holding it lose it (one member_roles_changed event each)."""
    with transaction.atomic():
        holders = list(Membership.objects.filter(roles=role).select_related("organization", "user"))
        audit.record(
            actor=actor,
            action="organization_role.deleted",
            target=role,
            target_label=role.name,
            before=selectors.organization_role_state(role),
        )
        for membership in holders:
            _member_event("organization.member_roles_changed", membership)
        role.delete()


# --- memberships ----------------------------------------------------------------------------------


def membership_add(
    *, actor, organization: Organization, user: User, roles: Iterable[OrganizationRole] = (), via: str = "admin"
) -> Membership:
    """Make `user` a member with `roles`; refused (unique, so the API answers 409) when they already are one."""
    roles = list(roles)
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError({"user_id": [ValidationError("This user is already a member.", code="unique")]})
    with transaction.atomic():
        membership = Membership.objects.create(organization=organization, user=user)
        membership.roles.set(roles)
        _organization_audit(
            actor=actor,
            action="organization.member_added",
            organization=organization,
            extra={
                "member": {"old": None, "new": user.email},
                "roles": {"old": None, "new": selectors.role_names(roles)},
            },
        )
        _member_event("organization.member_added", membership, via=via)
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    """End a membership, and at once every token the person holds as a member of this organisation."""
    organization, user = membership.organization, membership.user
    with transaction.atomic():
        _organization_audit(
            actor=actor,
            action="organization.member_removed",
            organization=organization,
            extra={
                "member": {"old": user.email, "new": None},
                "roles": {"old": selectors.role_names(membership.roles.all()), "new": None},
            },
        )
        _member_event("organization.member_removed", membership)
        membership.delete()
        sign_in.member_tokens_revoke(user=user, organization=organization, reason="organization_member_removed")


def membership_roles_set(*, actor, membership: Membership, roles: Iterable[OrganizationRole]) -> Membership:
    """Replace the member's roles; nothing is recorded when they are the same."""
    roles = list(roles)
    before = selectors.role_names(membership.roles.all())
    after = selectors.role_names(roles)
    if before == after:
        return membership
    with transaction.atomic():
        membership.roles.set(roles)
        _organization_audit(
            actor=actor,
            action="organization.member_roles_changed",
            organization=membership.organization,
            label=_membership_label(membership),
            extra={"roles": {"old": before, "new": after}},
        )
        _member_event("organization.member_roles_changed", membership)
        if set(before) - set(after):  # a role taken away: an application's organisation rule may refuse them now
            organization_access_revoke(user=membership.user)
    return membership


def organization_jit_join(*, user: User) -> list[Membership]:
    """Memberships, with each organisation's JIT roles, in every organisation listing the domain of one of
    `user`'s verified addresses (allauth's EmailAddress). Idempotent: an existing membership is left as it is.
    Recorded as Latchkey's doing (actor: system)."""
    from allauth.account.models import EmailAddress

    addresses = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    domains = {email.rsplit("@", 1)[-1].lower() for email in addresses if "@" in email}
    if not domains:
        return []
    member_of = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    # JSON containment is not portable to SQLite: the organisations with JIT domains are few, filtered here.
    candidates = Organization.objects.exclude(jit_email_domains=[]).exclude(pk__in=member_of)
    joined = []
    for organization in candidates.prefetch_related("jit_roles"):
        if domains & set(organization.jit_email_domains):
            # A membership made meanwhile (two sign-ins at once) is refused by membership_add or by the
            # unique constraint: it exists, which is what was wanted.
            try:
                with transaction.atomic():
                    joined.append(
                        membership_add(
                            actor=None,
                            organization=organization,
                            user=user,
                            roles=organization.jit_roles.all(),
                            via="jit",
                        )
                    )
            except (IntegrityError, ValidationError):
                continue
    return joined


# --- invitations ----------------------------------------------------------------------------------


def invitation_create(
    *, actor, organization: Organization, email: str, roles: Iterable[OrganizationRole] = ()
) -> tuple[Invitation, str]:
    """Invite `email` to `organization` with `roles`; returns the invitation and its link, which exists only
    here and in the email sent after commit. A second pending invitation of one address is refused."""
    roles = list(roles)
    token = invitations.token_generate()
    invitation = Invitation(
        organization=organization,
        email=normalize_email(email),
        token_hash=invitations.token_hash(token),
        invited_by=actor if isinstance(actor, User) else None,
    )
    invitation.full_clean(exclude=["token_hash"])
    if Invitation.objects.pending().filter(organization=organization, email=invitation.email).exists():
        raise ValidationError(
            {"email": [ValidationError("This address already has a pending invitation.", code="unique")]}
        )
    link = invitations.invitation_link(token)
    with transaction.atomic():
        invitation.save()
        invitation.roles.set(roles)
        _organization_audit(
            actor=actor,
            action="organization.invitation_created",
            organization=organization,
            after={"invitation_id": invitation.pk, "email": invitation.email, "roles": selectors.role_names(roles)},
        )
        event_record(
            type="organization.invitation_created",
            payload={"organization_id": _organization_id(organization), "invitation_id": invitation.pk},
        )
        transaction.on_commit(
            lambda: invitations.invitation_email_send(
                email=invitation.email,
                organization_name=organization.name,
                link=link,
                expires_at=invitation.expires_at,
            )
        )
    return invitation, link


def invitation_revoke(*, actor, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation (its link stops working); revoking one twice changes nothing, and an
    accepted one cannot be revoked (code `accepted`: remove the member instead)."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise ValidationError("This invitation was accepted; remove the member instead.", code="accepted")
        if invitation.revoked_at is not None:
            return invitation
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _organization_audit(
            actor=actor,
            action="organization.invitation_revoked",
            organization=invitation.organization,
            before={"invitation_id": invitation.pk, "email": invitation.email},
        )
    return invitation


def invitation_accept(*, user: User, token: str) -> Membership:
    """Accept the invitation of `token` as `user`: once, before it expires or is revoked, and only when one
    of the user's *verified* addresses is the invited one. Its roles are added to an existing membership.
    A refusal is a ValidationError whose code is a policies.REFUSALS key (its message never names the
    invited address)."""
    found = selectors.invitation_by_token(token)
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("organization").filter(pk=found.pk).first()
            if found is not None
            else None
        )
        if code := policies.invitation_refusal(invitation, user):
            raise ValidationError(policies.REFUSALS[code], code=code)
        organization = invitation.organization
        roles = list(invitation.roles.all())
        membership = Membership.objects.filter(organization=organization, user=user).first()
        if membership is None:
            membership = membership_add(actor=user, organization=organization, user=user, roles=roles, via="invitation")
        elif missing := [role for role in roles if role not in membership.roles.all()]:
            membership_roles_set(actor=user, membership=membership, roles=[*membership.roles.all(), *missing])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        _organization_audit(
            actor=user,
            action="organization.invitation_accepted",
            organization=organization,
            after={"invitation_id": invitation.pk},
        )
        event_record(
            type="organization.invitation_accepted",
            payload={
                "organization_id": _organization_id(organization),
                "invitation_id": invitation.pk,
                "user_id": str(user.public_id),
            },
        )
    return membership
