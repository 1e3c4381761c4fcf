"""An organisation's own sign-in (issue 19, item 6): its members sign in to an application as the organisation
through its OpenID Connect provider, and the sign-in page sends addresses at its domains straight there."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.exceptions import ValidationError

from applications.oauth.authorization import ORGANIZATION_PROVIDER_MISSING, Decision, Outcome, decide
from identity.organizations import services
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.federation.factories import make_provider
from tests.identity.federation.test_sign_in_with_provider import IDP, install, oidc_routes
from tests.identity.organizations.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def acme():
    return OrganizationFactory(slug="acme", sign_in_issuer=IDP, sign_in_domains=["acme.example"])


def ask(user, application, sign_in, prompt=""):
    return decide(
        user=user,
        session_auth_time=NOW,
        sign_in=sign_in,
        application=application,
        scopes=["openid", "organization"],
        prompt=prompt.split(),
        max_age=None,
        hint_subject=None,
        now=NOW,
    )


def test_member_of_an_organization_with_its_own_sign_in_must_use_its_provider(acme):
    user = MembershipFactory(organization=acme).user
    application, _ = make_application(type="web", trusted=True)
    provider = make_provider(application, type="oidc", issuer=IDP)
    other_sso = make_provider(application, type="oidc", issuer="https://sso.other.example")

    assert ask(user, application, {"method": "password"}).outcome is Outcome.SIGN_IN
    silent = ask(user, application, {"method": "password"}, prompt="none")
    assert (silent.outcome, silent.error) == (Outcome.ERROR, "login_required")
    assert ask(user, application, {"method": "provider", "provider_id": other_sso.pk}).outcome is Outcome.SIGN_IN
    issued = ask(user, application, {"method": "provider", "provider_id": provider.pk})
    assert (issued.outcome, issued.organization) == (Outcome.ISSUE, acme)


def test_application_without_the_organizations_provider_refuses_its_members(acme):
    user = MembershipFactory(organization=acme).user
    application, _ = make_application(type="web", trusted=True)

    assert ask(user, application, {"method": "password"}) == Decision(
        Outcome.ERROR, "access_denied", ORGANIZATION_PROVIDER_MISSING
    )


def test_organization_without_its_own_sign_in_accepts_any_method():
    user = MembershipFactory(organization=OrganizationFactory(slug="plain")).user
    application, _ = make_application(type="web", trusted=True)
    assert ask(user, application, {"method": "password"}).outcome is Outcome.ISSUE


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"sign_in_domains": ["acme.example"]},
            "sign_in_domains",
            "Set the sign-in issuer these addresses are sent to.",
        ),
        ({"sign_in_issuer": IDP, "sign_in_domains": ["not a domain"]}, "sign_in_domains", "Not an email domain"),
        ({"sign_in_issuer": "http://idp.example.com"}, "sign_in_issuer", "Give the provider's https issuer URL."),
    ],
)
def test_sign_in_fields_are_checked(fields, field, message):
    with pytest.raises(ValidationError) as caught:
        services.organization_create(actor=None, fields={"name": "Bad", "slug": "bad", **fields})
    assert message in caught.value.message_dict[field][0]


def test_a_domain_is_routed_to_one_organization_only(acme):
    with pytest.raises(ValidationError) as caught:
        services.organization_create(
            actor=None,
            fields={"name": "Copy", "slug": "copy", "sign_in_issuer": IDP, "sign_in_domains": ["ACME.example"]},
        )
    assert caught.value.message_dict["sign_in_domains"] == [
        "Already sent to another organisation's sign-in: acme.example."
    ]


def authorize_path(application, **extra) -> str:
    query = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": application.redirect_uri_list[0],
        "scope": "openid organization",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(query)


@pytest.mark.parametrize("email", ["jane@acme.example", "nobody-by-this-name@acme.example"])
def test_sign_in_page_sends_an_address_at_a_routed_domain_to_the_organizations_provider(
    client, monkeypatch, acme, email
):
    install(monkeypatch, oidc_routes())
    application, _ = make_application(type="web")
    make_provider(application, type="oidc", issuer=IDP)
    UserFactory(email="jane@acme.example")

    response = client.post("/login", {"username": email, "password": "whatever", "next": authorize_path(application)})

    # Known account or not, the same answer: to the provider (the password is never checked).
    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc == urlsplit(IDP).netloc
    assert "_auth_user_id" not in client.session


def test_sign_in_page_for_other_domains_or_an_app_without_the_provider_signs_in_by_password(client, acme):
    application, _ = make_application(type="web")
    UserFactory(email="ada@elsewhere.example")

    response = client.post(
        "/login", {"username": "ada@elsewhere.example", "password": "wrong", "next": authorize_path(application)}
    )
    assert response.status_code == 200  # the page again, with its error: a password sign-in

    routed = client.post(
        "/login", {"username": "jane@acme.example", "password": "wrong", "next": authorize_path(application)}
    )
    assert routed.status_code == 200  # this application offers no provider for Acme: nothing to route to


def test_sign_in_page_for_an_authorization_naming_the_organization_goes_to_its_provider(client, monkeypatch, acme):
    install(monkeypatch, oidc_routes())
    application, _ = make_application(type="web")
    make_provider(application, type="oidc", issuer=IDP)

    response = client.get("/login", {"next": authorize_path(application, organization="acme")})

    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc == urlsplit(IDP).netloc
