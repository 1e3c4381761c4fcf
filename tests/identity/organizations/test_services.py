"""Organisation services: audit and event rows with each write, invitations, JIT membership."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from applications.events.models import Event
from identity.models import AuditEvent
from identity.organizations import selectors, services
from identity.organizations.models import Invitation, Membership, Organization
from tests.identity.factories import UserFactory
from tests.identity.organizations.factories import (
    MembershipFactory,
    OrganizationFactory,
    admin_role,
    member_role,
    verified_user,
)

pytestmark = pytest.mark.django_db


def events(type: str) -> list[dict]:
    return [event.payload for event in Event.objects.filter(type=type).order_by("pk")]


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def test_organization_create_is_audited_with_an_event_of_ids_only(admin_user):
    role = member_role()
    org = services.organization_create(
        actor=admin_user,
        fields={"name": "Acme", "slug": "acme", "jit_email_domains": ["ACME.com"], "jit_roles": [role]},
    )
    assert org.jit_email_domains == ["acme.com"] and list(org.jit_roles.all()) == [role]
    record = AuditEvent.objects.get(action="organization.created")
    assert record.actor_label == admin_user.email and record.target_label == "acme"
    assert record.changes["jit_roles"] == {"old": None, "new": ["member"]}
    assert events("organization.created") == [{"organization_id": str(org.public_id)}]


def test_organization_create_duplicate_slug_is_a_unique_error():
    OrganizationFactory(slug="acme")
    with pytest.raises(ValidationError) as caught:
        services.organization_create(actor=None, fields={"name": "Other", "slug": "acme"})
    assert caught.value.error_dict["slug"][0].code == "unique"
    assert Organization.objects.count() == 1


def test_organization_update_names_changed_fields_and_nothing_when_unchanged():
    org = OrganizationFactory(slug="acme")
    services.organization_update(actor=None, organization=org, fields={"description": "Widgets", "slug": "acme"})
    assert events("organization.updated") == [{"organization_id": str(org.public_id), "fields": ["description"]}]
    services.organization_update(actor=None, organization=org, fields={"description": "Widgets"})
    assert len(events("organization.updated")) == 1


def test_organization_delete_takes_memberships_and_invitations_along():
    membership = MembershipFactory()
    org = membership.organization
    services.invitation_create(actor=None, organization=org, email="new@example.com")
    services.organization_delete(actor=None, organization=org)
    assert not Membership.objects.exists() and not Invitation.objects.exists()
    assert events("organization.deleted") == [{"organization_id": str(org.public_id)}]


def test_organization_role_lifecycle_and_holders_told_when_deleted():
    role = services.organization_role_create(actor=None, name="billing", scopes=["organization:read"])
    services.organization_role_update(actor=None, role=role, scopes=["organization:read", "organization:write"])
    membership = MembershipFactory(roles=[role])
    services.organization_role_delete(actor=None, role=role)
    assert list(membership.roles.all()) == []
    assert actions() == ["organization_role.created", "organization_role.updated", "organization_role.deleted"]
    assert events("organization.member_roles_changed") == [
        {"organization_id": str(membership.organization.public_id), "user_id": str(membership.user.public_id)}
    ]


def test_organization_role_bad_scope_is_refused_by_field():
    with pytest.raises(ValidationError) as caught:
        services.organization_role_create(actor=None, name="billing", scopes=["profile"])
    assert "scopes" in caught.value.message_dict


def test_membership_add_roles_set_remove_each_audited_with_events():
    org, user = OrganizationFactory(), UserFactory()
    ids = {"organization_id": str(org.public_id), "user_id": str(user.public_id)}
    membership = services.membership_add(actor=None, organization=org, user=user, roles=[member_role()])
    services.membership_roles_set(actor=None, membership=membership, roles=[admin_role(), member_role()])
    services.membership_roles_set(actor=None, membership=membership, roles=[member_role(), admin_role()])  # same
    assert selectors.organization_scopes_granted(selectors.membership_for(user, org)) == {
        "organization:read",
        "organization:write",
    }
    services.membership_remove(actor=None, membership=membership)
    assert selectors.membership_for(user, org) is None
    assert events("organization.member_added") == [{**ids, "via": "admin"}]
    assert events("organization.member_roles_changed") == [ids]
    assert events("organization.member_removed") == [ids]
    assert actions() == [
        "organization.member_added",
        "organization.member_roles_changed",
        "organization.member_removed",
    ]


def test_membership_add_twice_is_a_unique_error():
    membership = MembershipFactory()
    with pytest.raises(ValidationError) as caught:
        services.membership_add(actor=None, organization=membership.organization, user=membership.user)
    assert caught.value.error_dict["user_id"][0].code == "unique"


def test_selectors_organizations_of_and_scopes_without_membership():
    user = UserFactory()
    b, a = OrganizationFactory(name="B"), OrganizationFactory(name="A")
    MembershipFactory(organization=b, user=user)
    MembershipFactory(organization=a, user=user)
    OrganizationFactory(name="C")
    assert list(selectors.organizations_of(user)) == [a, b]
    assert selectors.organization_scopes_granted(None) == set()


# invitations


def invite(org=None, email="ada@example.com", roles=()):
    return services.invitation_create(actor=None, organization=org or OrganizationFactory(), email=email, roles=roles)


def test_invitation_create_stores_only_a_hash_and_emails_the_link_after_commit(django_capture_on_commit_callbacks):
    org = OrganizationFactory(name="Acme")
    with django_capture_on_commit_callbacks(execute=True):
        invitation, link = invite(org, email="Ada@Example.com")
    token = link.rsplit("/", 1)[1]
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert invitation.email == "ada@example.com"
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"] and "Acme" in message.subject and link in message.body
    assert events("organization.invitation_created") == [
        {"organization_id": str(org.public_id), "invitation_id": invitation.pk}
    ]


def test_invitation_ttl_comes_from_settings(settings):
    settings.LATCHKEY_ORGANIZATION_INVITATION_TTL_DAYS = 2
    invitation, _ = invite()
    assert invitation.expires_at - timezone.now() < timedelta(days=2, minutes=1)


def test_invitation_second_pending_one_for_an_address_is_a_unique_error():
    invitation, _ = invite()
    with pytest.raises(ValidationError) as caught:
        invite(invitation.organization)
    assert caught.value.error_dict["email"][0].code == "unique"


def test_invitation_bad_email_is_a_field_error():
    with pytest.raises(ValidationError) as caught:
        invite(email="not-an-address")
    assert "email" in caught.value.message_dict


def test_invitation_accept_by_the_verified_address_makes_a_member_once():
    role = member_role()
    invitation, link = invite(roles=[role])
    user = verified_user("ada@example.com")
    token = link.rsplit("/", 1)[1]
    membership = services.invitation_accept(user=user, token=token)
    assert membership.user == user and list(membership.roles.all()) == [role]
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.status == "accepted"
    assert events("organization.member_added")[0]["via"] == "invitation"
    assert events("organization.invitation_accepted") == [
        {
            "organization_id": str(invitation.organization.public_id),
            "invitation_id": invitation.pk,
            "user_id": str(user.public_id),
        }
    ]
    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(user=user, token=token)
    assert caught.value.code == "accepted"


def test_invitation_accept_adds_its_roles_to_an_existing_membership():
    invitation, link = invite(roles=[admin_role()])
    user = verified_user("ada@example.com")
    MembershipFactory(organization=invitation.organization, user=user, roles=[member_role()])
    membership = services.invitation_accept(user=user, token=link.rsplit("/", 1)[1])
    assert selectors.role_names(membership.roles.all()) == ["admin", "member"]


@pytest.mark.parametrize(
    ("make_user", "code"),
    [
        (lambda: UserFactory(email="ada@example.com", email_verified=True), "email_mismatch"),  # no verified row
        (lambda: verified_user("bob@example.com"), "email_mismatch"),
    ],
)
def test_invitation_accept_without_the_verified_invited_address_is_refused(make_user, code):
    _, link = invite()
    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(user=make_user(), token=link.rsplit("/", 1)[1])
    assert caught.value.code == code
    assert "ada@example.com" not in " ".join(caught.value.messages)
    assert not Membership.objects.exists()


def test_invitation_accept_expired_revoked_or_unknown_is_refused():
    user = verified_user("ada@example.com")
    expired, expired_link = invite()
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_link = invite(email="ada@example.com")
    services.invitation_revoke(actor=None, invitation=revoked)
    for token, code in [
        (expired_link.rsplit("/", 1)[1], "expired"),
        (revoked_link.rsplit("/", 1)[1], "revoked"),
        ("no-such-token", "invalid"),
    ]:
        with pytest.raises(ValidationError) as caught:
            services.invitation_accept(user=user, token=token)
        assert caught.value.code == code
    assert not Membership.objects.exists()


def test_invitation_revoke_twice_is_harmless_and_an_accepted_one_cannot_be():
    invitation, link = invite()
    services.invitation_revoke(actor=None, invitation=invitation)
    services.invitation_revoke(actor=None, invitation=invitation)
    assert actions().count("organization.invitation_revoked") == 1
    accepted, link = invite(email="bob@example.com")
    services.invitation_accept(user=verified_user("bob@example.com"), token=link.rsplit("/", 1)[1])
    with pytest.raises(ValidationError) as caught:
        services.invitation_revoke(actor=None, invitation=accepted)
    assert caught.value.code == "accepted"


# just-in-time membership


def test_jit_join_by_verified_domain_with_the_jit_roles_and_idempotent():
    role = member_role()
    acme = services.organization_create(
        actor=None, fields={"name": "Acme", "slug": "acme", "jit_email_domains": ["acme.com"], "jit_roles": [role]}
    )
    OrganizationFactory(jit_email_domains=["other.com"])
    user = verified_user("ada@acme.com")
    (membership,) = services.organization_jit_join(user=user)
    assert membership.organization == acme and list(membership.roles.all()) == [role]
    assert services.organization_jit_join(user=user) == []
    assert events("organization.member_added")[0]["via"] == "jit"
    assert AuditEvent.objects.get(action="organization.member_added").actor_type == "system"


def test_jit_join_ignores_unverified_addresses():
    OrganizationFactory(jit_email_domains=["acme.com"])
    user = UserFactory(email="ada@acme.com")
    assert services.organization_jit_join(user=user) == []


def test_jit_join_when_allauth_confirms_an_address():
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_confirmed

    acme = OrganizationFactory(jit_email_domains=["acme.com"])
    user = UserFactory(email="ada@acme.com")
    address = EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    assert selectors.membership_for(user, acme) is not None
