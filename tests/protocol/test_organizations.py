"""Organisations in sign-ins (issue 19): the current organisation chosen by parameter or on the picker, carried
by the ID token, userinfo, introspection and refreshes, organisation scopes narrowed by the member's roles,
and a removed member's tokens ended at once."""

from __future__ import annotations

import re

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from identity.organizations import services as organization_services
from identity.organizations.models import Membership
from identity.organizations.sign_in import NOT_A_MEMBER
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.organizations.factories import MembershipFactory, OrganizationFactory, admin_role, member_role
from tests.protocol.conftest import Browser, query_of

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "https://rp.example.com/callback"
SCOPE = "openid offline_access organization organization:read organization:write"


@pytest.fixture
def organization_scopes(transactional_db):
    for name in ("organization", "organization:read", "organization:write"):
        Scope.objects.get_or_create(name=name, defaults={"description": f"The {name} scope", "resource": None})


@pytest.fixture
def app(organization_scopes):
    allowed = list(Scope.objects.filter(name__in=SCOPE.split()))
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True)


@pytest.fixture
def two_organizations(user):
    """Ada is an admin of Acme and a plain member of Globex."""
    acme = OrganizationFactory(name="Acme", slug="acme", primary_color="#AA0000")
    globex = OrganizationFactory(name="Globex", slug="globex")
    MembershipFactory(organization=acme, user=user, roles=[admin_role()])
    MembershipFactory(organization=globex, user=user, roles=[member_role()])
    return acme, globex


def client_for(application, secret) -> OAuth2Session:
    return OAuth2Session(application.client_id, secret, scope=SCOPE, redirect_uri=CALLBACK)


def pick(browser, page: requests.Response, slug: str) -> requests.Response:
    """Press the picker's button for `slug`: the same authorization request again, by POST, with the choice."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    fields = [(k, v.replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'")) for k, v in fields]
    choice = re.search(rf'name="organization" value="([^"]+)"[^>]*data-testid="organization-choice-{slug}"', page.text)
    return browser.session.post(
        browser.server.url("/oauth/authorize"),
        data=[*fields, ("organization", choice.group(1))],
        allow_redirects=False,
        timeout=10,
    )


def tokens_in_each(server, browser, user, app, organizations) -> dict[str, dict]:
    """Sign in once, then one authorization per organisation (named by parameter): its tokens by slug."""
    application, secret = app
    client = client_for(application, secret)
    browser.sign_in(user.email)
    tokens = {}
    for organization in organizations:
        url, _ = client.create_authorization_url(server.url("/oauth/authorize"), organization=organization.slug)
        location = browser.authorize(url).headers["Location"]
        tokens[organization.slug] = client.fetch_token(server.url("/oauth/token"), authorization_response=location)
    return tokens


def introspect(server, application, secret, token: str) -> dict:
    response = requests.post(
        server.url("/oauth/introspect"), data={"token": token}, auth=(application.client_id, secret), timeout=10
    )
    return response.json()


def userinfo(server, access_token: str) -> requests.Response:
    return requests.get(server.url("/oauth/userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_person_in_two_organizations_picks_one_and_every_token_carries_it(
    server, browser, user, app, two_organizations
):
    application, secret = app
    acme, _ = two_organizations
    client = client_for(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)

    picker = browser.get(url)
    assert picker.status_code == 200
    assert 'data-testid="organization-picker"' in picker.text
    assert "Acme" in picker.text and "Globex" in picker.text
    assert "--brand-primary: #AA0000" not in picker.text  # no organisation's branding before the choice

    response = pick(browser, picker, "acme")
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])

    expected = {"id": str(acme.public_id), "slug": "acme", "name": "Acme", "roles": ["admin"]}
    claims = server.decode_id_token(tokens["id_token"], client_id=application.client_id)
    assert (claims["organization_id"], claims["organization"]) == (str(acme.public_id), expected)
    assert set(tokens["scope"].split()) == set(SCOPE.split())  # admin grants organization:write
    info = userinfo(server, tokens["access_token"]).json()
    assert (info["organization_id"], info["organization"]) == (str(acme.public_id), expected)
    assert introspect(server, application, secret, tokens["access_token"])["organization_id"] == str(acme.public_id)
    assert introspect(server, application, secret, tokens["refresh_token"])["organization_id"] == str(acme.public_id)

    refreshed = server.refresh(application, secret, tokens["refresh_token"]).json()
    assert "id_token" in refreshed, refreshed
    assert server.decode_id_token(refreshed["id_token"], client_id=application.client_id)["organization"] == expected
    assert userinfo(server, refreshed["access_token"]).json()["organization_id"] == str(acme.public_id)


def test_organization_parameter_chooses_without_the_picker_and_roles_narrow_the_scopes(
    server, browser, user, app, two_organizations
):
    application, _ = app
    _, globex = two_organizations

    tokens = tokens_in_each(server, browser, user, app, [globex])["globex"]

    # A plain member of Globex: organization:read, not organization:write.
    assert set(tokens["scope"].split()) == {"openid", "offline_access", "organization", "organization:read"}
    claims = server.decode_id_token(tokens["id_token"], client_id=application.client_id)
    assert claims["organization"]["slug"] == "globex" and claims["organization"]["roles"] == ["member"]


def test_organization_parameter_naming_another_organization_is_access_denied(server, browser, user, app):
    application, secret = app
    MembershipFactory(user=user, organization=OrganizationFactory(slug="mine"))
    OrganizationFactory(slug="theirs")
    client = client_for(application, secret)
    browser.sign_in(user.email)

    for named in ("theirs", "no-such-organization"):
        url, _ = client.create_authorization_url(server.url("/oauth/authorize"), organization=named, state="s")
        answer = query_of(browser.get(url))
        assert (answer["error"], answer["state"]) == ("access_denied", "s")
        assert answer["error_description"] == NOT_A_MEMBER


def test_prompt_none_without_a_choice_is_interaction_required(server, browser, user, app, two_organizations):
    application, secret = app
    client = client_for(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none", state="s")
    browser.sign_in(user.email)

    answer = query_of(browser.get(url))

    assert answer["error"] == "interaction_required"
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none", organization="acme")
    assert "code" in query_of(browser.get(url))


def test_removed_member_loses_tokens_at_once_and_cannot_refresh(server, browser, user, app, two_organizations):
    application, secret = app
    acme, globex = two_organizations
    tokens = tokens_in_each(server, browser, user, app, (acme, globex))

    organization_services.membership_remove(actor=None, membership=Membership.objects.get(user=user, organization=acme))

    assert userinfo(server, tokens["acme"]["access_token"]).status_code == 401
    assert introspect(server, application, secret, tokens["acme"]["access_token"]) == {"active": False}
    assert server.refresh(application, secret, tokens["acme"]["refresh_token"]).json()["error"] == "invalid_grant"
    # Globex's sign-in is another organisation's: it goes on.
    assert userinfo(server, tokens["globex"]["access_token"]).status_code == 200
    assert server.refresh(application, secret, tokens["globex"]["refresh_token"]).status_code == 200


def test_person_in_no_organization_signs_in_without_organization_claims(server, browser, user, app):
    application, secret = app
    client = client_for(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)

    location = browser.authorize(url).headers["Location"]
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)

    claims = server.decode_id_token(tokens["id_token"], client_id=application.client_id)
    assert "organization_id" not in claims and "organization" not in claims
    assert set(tokens["scope"].split()) == {"openid", "offline_access", "organization"}


def test_refresh_after_a_role_is_taken_away_narrows_the_organization_scopes(
    server, browser, user, app, two_organizations
):
    application, secret = app
    acme, _ = two_organizations
    tokens = tokens_in_each(server, browser, user, app, [acme])["acme"]
    assert "organization:write" in tokens["scope"].split()

    membership = Membership.objects.get(user=user, organization=acme)
    organization_services.membership_roles_set(actor=None, membership=membership, roles=[member_role()])
    refreshed = server.refresh(application, secret, tokens["refresh_token"]).json()

    assert set(refreshed["scope"].split()) == {"openid", "offline_access", "organization", "organization:read"}
    claims = server.decode_id_token(refreshed["id_token"], client_id=application.client_id)
    assert claims["organization"]["roles"] == ["member"]


def test_consent_after_the_picker_is_branded_for_the_organization_and_keeps_the_choice(
    server, browser, user, organization_scopes, two_organizations
):
    allowed = list(Scope.objects.filter(name__in=SCOPE.split()))
    application, secret = make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed)
    acme, _ = two_organizations
    client = client_for(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)

    consent = pick(browser, browser.get(url), "acme")

    assert consent.status_code == 200 and 'data-testid="consent-approve"' in consent.text
    assert "As a member of <strong>Acme</strong>" in consent.text
    assert "--brand-primary: #AA0000" in consent.text  # Acme's colour over the application's
    response = browser.consent(consent)
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])
    assert server.decode_id_token(tokens["id_token"], client_id=application.client_id)["organization_id"] == str(
        acme.public_id
    )


def test_consent_form_naming_an_organization_the_person_left_is_refused(
    server, browser, user, organization_scopes, two_organizations
):
    allowed = list(Scope.objects.filter(name__in=SCOPE.split()))
    application, secret = make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed)
    acme, _ = two_organizations
    client = client_for(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), state="s")
    browser.sign_in(user.email)
    consent = pick(browser, browser.get(url), "acme")

    Membership.objects.filter(user=user, organization=acme).delete()
    answer = query_of(browser.consent(consent))

    assert (answer["error"], answer["state"]) == ("access_denied", "s")


def organization_api(server, access_token: str, method: str = "GET", path: str = "/api/organization", **kwargs):
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.request(method, server.url(path), headers=headers, timeout=10, **kwargs)


def test_organization_endpoint_reads_with_read_and_changes_only_with_the_write_role(
    server, browser, user, app, two_organizations
):
    application, secret = app
    acme, globex = two_organizations
    tokens = tokens_in_each(server, browser, user, app, (acme, globex))

    # A plain member of Globex reads it and its members, and may not change it.
    read = organization_api(server, tokens["globex"]["access_token"])
    assert read.status_code == 200 and (read.json()["id"], read.json()["slug"]) == (str(globex.public_id), "globex")
    listed = organization_api(server, tokens["globex"]["access_token"], path="/api/organization/members").json()
    members = listed["results"]
    assert [(m["email"], m["roles"]) for m in members] == [(user.email, ["member"])]
    refused = organization_api(server, tokens["globex"]["access_token"], "PATCH", json={"name": "Globex Corp"})
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"

    # An admin of Acme changes Acme, and only Acme: the token reaches no other organisation.
    changed = organization_api(server, tokens["acme"]["access_token"], "PATCH", json={"description": "Rockets"})
    assert changed.status_code == 200 and changed.json()["description"] == "Rockets"
    assert organization_api(server, tokens["acme"]["access_token"]).json()["id"] == str(acme.public_id)

    # Removed from Acme: the token stops at once, and the refresh is refused.
    organization_services.membership_remove(actor=None, membership=Membership.objects.get(user=user, organization=acme))
    assert organization_api(server, tokens["acme"]["access_token"]).status_code == 401
    assert server.refresh(application, secret, tokens["acme"]["refresh_token"]).json()["error"] == "invalid_grant"


# --- access by organisation (the application's organisation rule) -------------------------------------


def ruled_app(rule: dict):
    allowed = list(Scope.objects.filter(name__in=SCOPE.split()))
    return make_application(
        type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True, organization_access=rule
    )


def test_application_for_members_of_one_organization_refuses_others_and_offers_only_it(
    server, browser, user, organization_scopes, two_organizations
):
    acme, _ = two_organizations
    application, secret = ruled_app({"organizations": ["acme"], "roles": []})
    client = client_for(application, secret)
    browser.sign_in(user.email)

    # Ada is in Acme and Globex, and only Acme counts here: no picker, Acme is the current one.
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    tokens = client.fetch_token(
        server.url("/oauth/token"), authorization_response=browser.authorize(url).headers["Location"]
    )
    assert server.decode_id_token(tokens["id_token"], client_id=application.client_id)["organization"]["slug"] == "acme"
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), organization="globex", state="s")
    assert query_of(browser.get(url))["error"] == "access_denied"

    # Someone in no admitted organisation gets the no-access page; silently, access_denied.
    outsider = UserFactory(email="eve@example.com")
    MembershipFactory(user=outsider, organization=OrganizationFactory(slug="initech"))
    other = Browser(server)
    other.sign_in(outsider.email)
    plain = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri=CALLBACK)
    url, _ = plain.create_authorization_url(server.url("/oauth/authorize"))
    page = other.get(url)
    assert page.status_code == 403 and 'data-testid="access-denied"' in page.text
    url, _ = plain.create_authorization_url(server.url("/oauth/authorize"), prompt="none")
    assert query_of(other.get(url))["error"] == "access_denied"


def test_application_requiring_an_organization_role_refuses_a_plain_member(
    server, browser, user, organization_scopes, two_organizations
):
    application, secret = ruled_app({"organizations": [], "roles": ["admin"]})
    client = client_for(application, secret)
    browser.sign_in(user.email)

    # Admin of Acme, plain member of Globex: only Acme admits Ada, so no picker.
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    location = browser.authorize(url).headers["Location"]
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)
    assert server.decode_id_token(tokens["id_token"], client_id=application.client_id)["organization"]["slug"] == "acme"

    # The admin role taken away: Ada's tokens at this application end at once, and the refresh is refused.
    membership = Membership.objects.get(user=user, organization__slug="acme")
    organization_services.membership_roles_set(actor=None, membership=membership, roles=[member_role()])
    assert userinfo(server, tokens["access_token"]).status_code == 401
    assert server.refresh(application, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_leaving_the_organization_ends_tokens_of_an_app_for_members_even_without_the_organization_scope(
    server, browser, user, organization_scopes, two_organizations
):
    application, secret = ruled_app({})  # members of any organisation
    client = OAuth2Session(application.client_id, secret, scope="openid offline_access", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    location = browser.authorize(url).headers["Location"]
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)
    acme, globex = two_organizations

    organization_services.membership_remove(actor=None, membership=Membership.objects.get(user=user, organization=acme))
    fresh = server.refresh(application, secret, tokens["refresh_token"])
    assert fresh.status_code == 200  # still in Globex
    fresh = fresh.json()
    assert userinfo(server, fresh["access_token"]).status_code == 200

    organization_services.organization_delete(actor=None, organization=globex)
    assert userinfo(server, fresh["access_token"]).status_code == 401
    assert server.refresh(application, secret, fresh["refresh_token"]).json()["error"] == "invalid_grant"
