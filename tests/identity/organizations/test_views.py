"""/organizations/invitations/<token>: what a person sees when following an invitation link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from identity.organizations import selectors, services
from identity.organizations.models import Invitation
from tests.identity.factories import UserFactory
from tests.identity.organizations.factories import OrganizationFactory, member_role, verified_user
from tests.identity.test_registration import link_in, register

pytestmark = pytest.mark.django_db

INVITED = "ada@example.com"


@pytest.fixture
def invitation():
    org = OrganizationFactory(name="Acme Widgets")
    invitation, link = services.invitation_create(actor=None, organization=org, email=INVITED, roles=[member_role()])
    invitation.path = urlsplit(link).path
    return invitation


def test_invitation_page_signed_out_sends_to_sign_in_and_back(client, invitation):
    response = client.get(invitation.path)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={quote(invitation.path, safe='/')}"


def test_invitation_page_shows_the_organisation_and_accepts_on_post(client, invitation, django_assert_max_num_queries):
    user = verified_user(INVITED)
    client.force_login(user)
    with django_assert_max_num_queries(8):
        page = client.get(invitation.path)
    assert page.status_code == 200 and "Join Acme Widgets" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") and page["Referrer-Policy"] == "no-referrer"
    with django_assert_max_num_queries(30):
        done = client.post(invitation.path)
    assert done.status_code == 200
    assert "You are now a member of Acme Widgets" in done.content.decode()
    assert selectors.membership_for(user, invitation.organization) is not None
    again = client.post(invitation.path)
    assert again.status_code == 410 and "already been used" in again.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_invitation_page_for_another_address_says_so_without_the_invited_one(client, invitation, method):
    client.force_login(verified_user("bob@example.com"))
    response = getattr(client, method)(invitation.path)
    body = response.content.decode()
    assert response.status_code == 403
    assert "sent to another email address" in body and INVITED not in body
    assert not invitation.organization.memberships.exists()


def test_invitation_page_unverified_invited_address_is_refused(client, invitation):
    client.force_login(UserFactory(email=INVITED))
    response = client.post(invitation.path)
    assert response.status_code == 403 and "verify that address" in response.content.decode()


def test_invitation_page_expired_revoked_and_unknown_links(client, invitation):
    client.force_login(verified_user(INVITED))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(invitation.path)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(days=1))
    services.invitation_revoke(actor=None, invitation=invitation)
    revoked = client.post(invitation.path)
    assert revoked.status_code == 410 and "withdrawn" in revoked.content.decode()
    unknown = client.get("/organizations/invitations/not-a-token")
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()


def test_registering_and_following_the_verification_link_joins_by_email_domain(client, settings):
    """Just-in-time membership end to end: allauth's email_confirmed after the link's POST."""
    settings.LATCHKEY_REGISTRATION = "open"
    role = member_role()
    acme = OrganizationFactory(jit_email_domains=["acme.com"])
    acme.jit_roles.set([role])
    register(client, email="ada@acme.com")
    assert not acme.memberships.exists()
    client.post(link_in(mail.outbox[0]))
    (membership,) = acme.memberships.all()
    assert membership.user.email == "ada@acme.com" and list(membership.roles.all()) == [role]
