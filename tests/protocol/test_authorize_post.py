"""Authorization requests sent by POST (OIDC Core §3.1.2.1), and the consent form's own endpoint."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from consent.models import Consent
from consent.services import consent_grant
from tests.applications.factories import make_application
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"


def web_app(**fields):
    allowed = list(Scope.objects.filter(name__in=["openid", "profile"]))
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, **fields)


def request_params(application, secret, **extra) -> dict[str, str]:
    """The parameters of an authorization request, as Authlib builds them."""
    client = OAuth2Session(application.client_id, secret, scope="openid profile", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url("https://idp.invalid/oauth/authorize", **extra)
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def post_tampered_consent_form(server, browser, page, **changes: str):
    """Submit the consent form found on `page`, its hidden fields changed as a user could."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    return browser.session.post(
        server.url("/oauth/authorize/consent"),
        data={**fields, **changes},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )


def post_authorize(server, browser, data: dict):
    return browser.session.post(server.url("/oauth/authorize"), data=data, allow_redirects=False, timeout=10)


def test_post_authorize_of_a_consented_user_redirects_with_a_code(server, browser, user):
    application, secret = web_app()
    consent_grant(user=user, application=application, scopes=["openid", "profile"])
    browser.sign_in(user.email)
    params = request_params(application, secret)

    response = post_authorize(server, browser, params)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{CALLBACK}?code=")
    assert (query_of(response)["state"], query_of(response)["iss"]) == (params["state"], server.base)
    token = OAuth2Session(application.client_id, secret, redirect_uri=CALLBACK).fetch_token(
        server.url("/oauth/token"), authorization_response=response.headers["Location"]
    )
    assert "id_token" in token


def test_post_authorize_with_allow_and_no_csrf_token_records_nothing_and_shows_the_consent_page(server, browser, user):
    application, secret = web_app()
    browser.sign_in(user.email)

    response = post_authorize(server, browser, {**request_params(application, secret), "allow": "Authorize"})

    assert response.status_code == 200
    assert 'data-testid="consent-approve"' in response.text
    assert "Location" not in response.headers
    assert not Consent.objects.exists()
    action = re.search(
        r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrfmiddlewaretoken"', response.text
    )
    assert action.group(1) == "/oauth/authorize/consent"


def test_post_authorize_prompt_none_without_consent_is_consent_required(server, browser, user):
    application, secret = web_app()
    browser.sign_in(user.email)

    response = post_authorize(server, browser, {**request_params(application, secret, prompt="none"), "allow": "1"})

    assert query_of(response)["error"] == "consent_required"
    assert not Consent.objects.exists()


def test_post_authorize_needing_sign_in_keeps_its_parameters_across_the_sign_in(server, browser, user):
    application, secret = web_app(trusted=True)
    params = request_params(application, secret, prompt="login")

    response = post_authorize(server, browser, params)

    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    next_url = query_of(response)["next"]
    assert next_url.startswith("/oauth/authorize?")
    kept = {k: v[0] for k, v in parse_qs(urlsplit(next_url).query).items()}
    assert kept == {k: v for k, v in params.items() if k != "prompt"}  # the sign-in satisfies prompt=login
    signed_in = browser.sign_in(user.email, next_url=next_url)
    back = browser.get(server.url(signed_in.headers["Location"]))
    assert back.headers["Location"].startswith(f"{CALLBACK}?code=")
    assert query_of(back)["state"] == params["state"]


def test_post_authorize_bad_client_is_an_error_page(server, browser, user):
    browser.sign_in(user.email)
    response = post_authorize(
        server, browser, {"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK, "scope": "openid"}
    )
    assert response.status_code in (400, 401)
    assert "Location" not in response.headers


def test_consent_form_without_csrf_token_is_forbidden_and_records_nothing(server, browser, user):
    application, secret = web_app()
    browser.sign_in(user.email)
    page = browser.get(server.url("/oauth/authorize"), params=request_params(application, secret))
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.pop("csrfmiddlewaretoken")

    response = browser.session.post(
        server.url("/oauth/authorize/consent"), data={**fields, "allow": "1"}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 403
    assert not Consent.objects.exists()


def test_consent_form_allow_records_consent_and_redirects_with_a_code(server, browser, user):
    application, secret = web_app()
    browser.sign_in(user.email)
    page = browser.get(server.url("/oauth/authorize"), params=request_params(application, secret))

    response = browser.consent(page)

    assert response.headers["Location"].startswith(f"{CALLBACK}?code=")
    assert Consent.objects.get(user=user, application=application).scopes == ["openid", "profile"]


def test_consent_form_get_is_not_allowed(server, browser, user):
    browser.sign_in(user.email)
    assert browser.get(server.url("/oauth/authorize/consent")).status_code == 405


def test_consent_form_allow_after_the_role_was_removed_is_access_denied_and_records_nothing(server, browser, user):
    from tests.identity.factories import RoleFactory

    role = RoleFactory(name="streaming:subscriber")
    user.roles.add(role)
    application, secret = web_app(required_roles=[role])
    browser.sign_in(user.email)
    page = browser.get(server.url("/oauth/authorize"), params=request_params(application, secret))
    assert 'data-testid="consent-approve"' in page.text
    user.roles.remove(role)

    response = browser.consent(page)

    assert query_of(response)["error"] == "access_denied"
    assert not Consent.objects.exists()


def test_consent_form_posted_when_signed_out_goes_to_sign_in_and_back_to_the_request(client, user):
    """The Django test client (no CSRF enforcement): a session that ended between the page and Allow."""
    application, secret = web_app()
    params = request_params(application, secret)
    form = {**params, "scope": "openid profile", "resource": "https://a.example.com https://b.example.com"}

    response = client.post("/oauth/authorize/consent", {**form, "allow": "Authorize"})

    assert response.status_code == 302
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert urlsplit(response["Location"]).path == "/login"
    kept = parse_qs(urlsplit(next_url).query)
    assert urlsplit(next_url).path == "/oauth/authorize"
    assert kept["client_id"] == [application.client_id] and kept["state"] == [params["state"]]
    assert kept["resource"] == ["https://a.example.com", "https://b.example.com"]
    assert "allow" not in kept
    assert not Consent.objects.exists()


def test_consent_form_with_a_forged_resource_is_invalid_target_and_records_nothing(server, browser, user):
    """The form's hidden fields are the client's input again: the resource rule applies at Allow too."""
    application, secret = web_app()
    browser.sign_in(user.email)
    page = browser.get(server.url("/oauth/authorize"), params=request_params(application, secret))

    response = post_tampered_consent_form(server, browser, page, resource="https://unregistered.example.com", allow="1")

    assert response.headers["Location"].startswith(f"{CALLBACK}?")
    assert query_of(response)["error"] == "invalid_target"
    assert "code" not in query_of(response)
    assert not Consent.objects.exists()


@pytest.mark.parametrize("decision", ["allow", "deny"])
def test_consent_form_with_a_forged_redirect_uri_is_an_error_page_never_a_redirect(server, browser, user, decision):
    application, secret = web_app()
    browser.sign_in(user.email)
    page = browser.get(server.url("/oauth/authorize"), params=request_params(application, secret))

    response = post_tampered_consent_form(
        server, browser, page, **{"redirect_uri": "https://evil.example.com/cb", decision: "1"}
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert not Consent.objects.exists()
