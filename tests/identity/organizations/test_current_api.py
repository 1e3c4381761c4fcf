"""/api/organization and /api/organization/members: a person's token, in the organisation it was issued in."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from applications.models import Scope
from tests.applications.factories import AccessTokenFactory, GrantFactory, make_application
from tests.identity.organizations.factories import (
    MembershipFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    admin_role,
    member_role,
)

pytestmark = pytest.mark.django_db
URL = "/api/organization"
MEMBERS_URL = "/api/organization/members"


def token_in(organization, user, scope: str = "openid organization organization:read organization:write") -> str:
    """A person's access token issued in `organization` (its code's Grant names it), as the token endpoint writes it."""
    application = make_application(type="web")[0]
    token = AccessTokenFactory(user=user, application=application, scope=scope, raw=f"token-{organization.slug}")
    GrantFactory(user=user, application=application, organization_id=organization.public_id, access_token=token)
    return f"token-{organization.slug}"


def call(method: str, url: str, token: str | None = None, **data):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return getattr(client, method)(url, data or None, format="json")


@pytest.fixture
def admin_of_acme():
    acme = OrganizationFactory(name="Acme", slug="acme")
    membership = MembershipFactory(organization=acme, roles=[admin_role()])
    return acme, membership.user


def test_without_a_token_is_401_with_the_challenge():
    response = call("get", URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="latchkey-organization"'


def test_read_costs_a_fixed_number_of_queries(admin_of_acme, django_assert_max_num_queries):
    acme, user = admin_of_acme
    token = token_in(acme, user)
    with django_assert_max_num_queries(8):
        response = call("get", URL, token)
    assert response.status_code == 200
    assert response.json()["slug"] == "acme" and response["ETag"]


def test_a_management_client_token_is_refused(admin_of_acme):
    management = list(Scope.objects.filter(name__in=["management:read", "management:write"]))
    application, secret = make_application(type="m2m", allowed_scopes=management)
    token = AccessTokenFactory(user=None, application=application, scope="management:read", raw="m2m-token")
    assert token.user is None
    assert call("get", URL, "m2m-token").status_code == 403


def test_a_token_without_an_organization_is_refused(admin_of_acme):
    _, user = admin_of_acme
    application = make_application(type="web")[0]
    AccessTokenFactory(user=user, application=application, scope="openid organization:read", raw="no-org")
    assert call("get", URL, "no-org").status_code == 403


def test_a_role_taken_away_refuses_the_token_at_once(admin_of_acme):
    acme, user = admin_of_acme
    token = token_in(acme, user)
    membership = user.organization_memberships.get()
    membership.roles.set([OrganizationRoleFactory(name="guest", scopes=[])])

    assert call("get", URL, token).status_code == 403
    membership.roles.set([member_role()])
    assert call("get", URL, token).status_code == 200
    assert call("patch", URL, token, description="x").status_code == 403


def test_write_changes_what_a_member_may_and_refuses_the_rest(admin_of_acme):
    acme, user = admin_of_acme
    token = token_in(acme, user)

    changed = call("patch", URL, token, name="Acme Rockets", primary_color="#aa0000")
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["primary_color"]) == ("Acme Rockets", "#AA0000")

    for field, value in (("slug", "evil"), ("jit_email_domains", ["gmail.com"])):
        refused = call("patch", URL, token, **{field: value})
        assert refused.status_code == 400 and field in refused.json()["fields"], field
    bad = call("patch", URL, token, secondary_color="red")
    assert bad.status_code == 400 and "secondary_color" in bad.json()["fields"]
    acme.refresh_from_db()
    assert (acme.slug, acme.jit_email_domains, acme.secondary_color) == ("acme", [], "")


def test_write_to_a_taken_name_is_409(admin_of_acme):
    acme, user = admin_of_acme
    OrganizationFactory(name="Globex")
    response = call("patch", URL, token_in(acme, user), name="Globex")
    assert response.status_code == 409 and "name" in response.json()["fields"]


def test_members_lists_the_tokens_organization_only(admin_of_acme):
    acme, user = admin_of_acme
    MembershipFactory(organization=acme, user__email="bob@example.com", roles=[member_role()])
    MembershipFactory(organization=OrganizationFactory(slug="other"), user__email="eve@example.com")

    members = call("get", MEMBERS_URL, token_in(acme, user)).json()["results"]

    assert sorted((m["email"], m["roles"]) for m in members) == [
        ("bob@example.com", ["member"]),
        (user.email, ["admin"]),
    ]


def test_members_are_paginated_like_every_list(admin_of_acme):
    acme, user = admin_of_acme
    token = token_in(acme, user)

    first = call("get", MEMBERS_URL + "?page_size=1", token).json()
    assert first["count"] == 1 and len(first["results"]) == 1
    bad = call("get", MEMBERS_URL + "?page=0", token)
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["page"]
