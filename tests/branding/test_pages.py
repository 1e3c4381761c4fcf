"""The end-user pages: branded for the app of the request in progress, locked down by their headers.

Each page is fetched with the Django test client and read as a browser would: the brand it shows,
the colours in its one <style> block, its Content-Security-Policy and X-Frame-Options, its forms.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_device_grant_model

from applications import policies
from applications.models import Application, Scope
from branding.page_policy import form_action_sources
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.federation.factories import make_provider

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
CALLBACK = "https://web.example.com/callback"
SIGNED_OUT = "https://web.example.com/signed-out"
LOGO = "https://cdn.example.com/streamline.png"


# --- helpers ------------------------------------------------------------------------------------
def web_app(*, name: str = "Streamline", branding: dict | None = None, **fields) -> Application:
    scopes = list(Scope.objects.filter(name__in=["openid", "profile"]))
    return make_application(
        type="web",
        name=name,
        redirect_uris=CALLBACK,
        post_logout_redirect_uris=SIGNED_OUT,
        allowed_scopes=scopes,
        branding=branding,
        **fields,
    )[0]


def branded_app(**fields) -> Application:
    return web_app(branding={"logo_url": LOGO, "primary_color": "#0F766E", "secondary_color": "#7C3AED"}, **fields)


def authorize_query(application: Application, **extra) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": "s1",
        **extra,
    }


def authorize_path(application: Application, **extra) -> str:
    return "/oauth/authorize?" + urlencode(authorize_query(application, **extra))


def csp(response) -> dict[str, list[str]]:
    directives = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        directives[name] = values
    return directives


def assert_locked_down(response) -> None:
    """Strict CSP whose nonce is the one on the page's only <style>; no script (but the passkey scripts, each
    carrying that nonce, which the policy then names), no style attribute, no framing."""
    html = response.content.decode()
    policy = csp(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "https:"]
    assert policy["form-action"][0] == "'self'"
    (style_source,) = policy["style-src"]
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9_-]{20,})'", style_source).group(1)
    assert re.findall(r"<style nonce=\"([^\"]*)\">", html) == [nonce]
    assert html.count("<style") == 1
    runs = [attrs for attrs in re.findall(r"<script([^>]*)>", html) if 'type="application/json"' not in attrs]
    if runs:
        assert policy["script-src"] == [f"'nonce-{nonce}'"]
        assert all(f'nonce="{nonce}"' in attrs and " src=" in attrs for attrs in runs)
    else:
        assert policy["script-src"] == ["'none'"]
    assert " style=" not in html
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def assert_branded(response, *, name: str, primary: str, logo: str | None = None) -> None:
    html = response.content.decode()
    assert f"--brand-primary: {primary};" in html
    assert f'data-testid="brand-name">{name}</p>' in html
    if logo:
        assert f'data-testid="brand-logo" src="{logo}" alt="{name} logo"' in html
        assert 'data-testid="brand-initial"' not in html
    else:
        assert re.search(rf'data-testid="brand-initial" aria-hidden="true">{name[0].upper()}</span>', html)
        assert 'data-testid="brand-logo"' not in html


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com", name="Ada Lovelace")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


# --- the default brand ------------------------------------------------------------------------------
def test_login_without_app_shows_default_brand_and_is_locked_down(client, settings):
    settings.LATCHKEY_BRAND_NAME = "Acme ID"
    settings.LATCHKEY_BRAND_PRIMARY_COLOR = "#BE123C"

    response = client.get("/login")

    assert response.status_code == 200
    assert_branded(response, name="Acme ID", primary="#BE123C")
    assert_locked_down(response)
    assert csp(response)["form-action"] == ["'self'"]
    assert '<html lang="en">' in response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.content.decode()


def test_page_nonce_differs_per_request(client):
    first, second = client.get("/login"), client.get("/login")
    assert csp(first)["style-src"] != csp(second)["style-src"]


def test_default_logo_setting_shown_on_pages_without_app(client, settings):
    settings.LATCHKEY_BRAND_LOGO_URL = "https://cdn.example.com/acme.svg"
    settings.LATCHKEY_BRAND_NAME = "Acme ID"
    assert 'src="https://cdn.example.com/acme.svg" alt="Acme ID logo"' in client.get("/login").content.decode()


# --- sign-in -------------------------------------------------------------------------------------------
def test_login_for_authorization_shows_app_logo_colours_and_allows_its_redirect_origin(client):
    application = branded_app()

    response = client.get("/login", {"next": authorize_path(application)})

    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert "--brand-secondary: #7C3AED;" in response.content.decode()
    assert_locked_down(response)
    # Chromium checks form-action on the redirects after the POST: /login -> /oauth/authorize -> the app.
    assert csp(response)["form-action"] == ["'self'", "https://web.example.com"]


def test_login_for_app_without_logo_shows_its_initial(client):
    application = web_app(name="plain app", branding={"primary_color": "#1E3A8A"})
    response = client.get("/login", {"next": authorize_path(application)})
    assert_branded(response, name="plain app", primary="#1E3A8A")


def test_login_form_fields_are_labelled_and_keep_their_hooks(client):
    html = client.get("/login").content.decode()
    assert 'data-testid="login-form"' in html
    assert 'data-testid="login-submit"' in html
    assert '<label for="id_username">Email</label>' in html and 'id="id_username"' in html
    assert '<label for="id_password">Password</label>' in html and 'id="id_password"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_wrong_password_error_is_tied_to_the_inputs(client, user):
    html = client.post("/login", {"username": user.email, "password": "wrong"}).content.decode()
    assert 'role="alert" id="login-error"' in html
    assert html.count('aria-describedby="login-error"') == 2


# --- auth methods -------------------------------------------------------------------------------------
def no_password_app(**fields) -> Application:
    application = web_app(name="Social only", **fields)
    # Registration refuses an unknown method; one stored before the catalogue changed leaves the app none.
    Application.objects.filter(pk=application.pk).update(auth_methods=["retired-provider"])
    return Application.objects.get(pk=application.pk)


def test_sign_in_methods_are_the_apps_own_in_catalogue_order():
    assert policies.sign_in_methods(None) == list(policies.AUTH_METHODS)
    assert policies.sign_in_methods(Application(auth_methods=["password"])) == ["password"]
    assert policies.sign_in_methods(Application(auth_methods=[])) == ["password"]  # empty: every enabled method
    assert policies.sign_in_methods(Application(auth_methods=["retired-provider"])) == []
    assert policies.sign_in_methods(Application(auth_methods="password")) == []
    assert policies.password_sign_in_allowed(None)
    assert policies.password_sign_in_allowed(Application(auth_methods=[]))
    assert not policies.password_sign_in_allowed(Application(auth_methods=["12"]))


def test_sign_in_methods_empty_means_password_and_every_enabled_provider():
    application = web_app()
    github = make_provider(application, type="github")
    google = make_provider(application, type="google")
    make_provider(application, type="discord", enabled=False)

    assert application.auth_methods == []
    assert policies.sign_in_methods(application) == ["password", str(github.pk), str(google.pk)]

    Application.objects.filter(pk=application.pk).update(auth_methods=[str(google.pk)])
    application.refresh_from_db()
    assert policies.sign_in_methods(application) == [str(google.pk)]
    assert not policies.password_sign_in_allowed(application)


def test_login_for_app_without_password_says_so_and_shows_no_form(client):
    application = no_password_app()

    response = client.get("/login", {"next": authorize_path(application)})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="login-form"' not in html
    assert 'type="password"' not in html
    assert 'data-testid="login-unavailable"' in html
    assert "Social only has no sign-in method set up, so you cannot sign in to it here." in html


def test_login_post_for_app_without_password_refuses_and_signs_no_one_in(client, user):
    application = no_password_app()

    response = client.post(
        "/login", {"username": user.email, "password": PASSWORD, "next": authorize_path(application)}
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert 'data-testid="login-refused"' in response.content.decode()
    assert "Social only does not accept sign-in with a password." in response.content.decode()


def test_passkey_sign_in_for_app_without_password_refuses_like_the_password(client, user):
    application = no_password_app()

    response = client.post("/account/2fa/webauthn/login/", {"credential": "{}", "next": authorize_path(application)})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert 'data-testid="login-refused"' in response.content.decode()
    assert 'data-testid="passkey-login"' not in response.content.decode()


def test_passkey_sign_in_with_an_unknown_passkey_says_so_on_the_sign_in_page(client):
    application = web_app(name="Password app")

    response = client.post("/account/2fa/webauthn/login/", {"credential": "{}", "next": authorize_path(application)})

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert 'data-testid="passkey-error"' in response.content.decode()
    assert 'data-testid="brand-name">Password app</p>' in response.content.decode()


def test_login_post_stray_client_id_cannot_lend_password_to_app_without_it(client, user):
    application = no_password_app()
    with_password = web_app(name="Password app")

    response = client.post(
        "/login",
        {
            "username": user.email,
            "password": PASSWORD,
            "next": authorize_path(application),
            "client_id": with_password.client_id,
        },
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_post_for_app_with_password_signs_in_and_continues_the_authorization(client, user):
    application = web_app()
    next_url = authorize_path(application)

    response = client.post("/login", {"username": user.email, "password": PASSWORD, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == next_url
    assert client.session["_auth_user_id"] == str(user.pk)


# --- no open redirect through `next` ------------------------------------------------------------------
@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com", "//evil.example.com", "/\\evil.example.com", "https:evil.example.com", "javascript:x"],
)
def test_login_next_to_another_site_lands_on_a_local_page(client, user, next_url):
    page = client.get("/login", {"next": next_url})
    assert 'name="next" value=""' in page.content.decode()

    response = client.post("/login", {"username": user.email, "password": PASSWORD, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/account/apps"


def test_login_next_to_local_path_is_followed(client, user):
    response = client.post("/login", {"username": user.email, "password": PASSWORD, "next": "/device?user_code=X"})
    assert response["Location"] == "/device?user_code=X"


# --- consent --------------------------------------------------------------------------------------------
def test_consent_page_shows_app_user_scopes_and_switch_account(signed_in):
    application = branded_app(description="Live streaming for your team.")
    path = authorize_path(application)

    response = signed_in.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert_locked_down(response)
    assert csp(response)["form-action"] == ["'self'", "https://web.example.com"]
    assert "Live streaming for your team." in html
    assert 'data-testid="consent-user">Ada Lovelace (ada@example.com)</strong>' in html
    assert 'data-testid="consent-scopes"' in html
    assert html.count('data-testid="consent-new-scope"') == 2
    for scope in Scope.objects.filter(name__in=["openid", "profile"]):
        assert f"<li>{scope.description} <small>({scope.name})</small>" in html
    assert '<button type="submit" name="allow" value="Authorize" class="primary" data-testid="consent-approve">' in html
    assert '<button type="submit" name="deny" value="Deny" class="secondary" data-testid="consent-deny">' in html
    # "Not you?" signs out, then comes back to this very request (no JavaScript involved).
    switch = html.split('action="/logout"')[1].split("</form>")[0]
    assert f'name="next" value="{path.replace("&", "&amp;")}"' in switch
    assert 'data-testid="consent-switch-account"' in switch


def test_switch_account_signs_out_and_returns_to_the_authorization_request(signed_in):
    path = authorize_path(web_app())

    response = signed_in.post("/logout", {"next": path})

    assert response.status_code == 302
    assert response["Location"] == path
    assert "_auth_user_id" not in signed_in.session
    assert signed_in.get(path)["Location"].startswith("/login?next=")


def test_switch_account_never_sends_the_user_to_another_site(signed_in):
    response = signed_in.post("/logout", {"next": "https://evil.example.com/"})
    assert response.status_code == 200
    assert "_auth_user_id" not in signed_in.session


def test_consent_allow_redirects_to_the_app_with_a_code(signed_in):
    application = branded_app()
    page = signed_in.get(authorize_path(application)).content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items() if k != "next"}

    response = signed_in.post("/oauth/authorize/consent", {**fields, "allow": "Authorize"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{CALLBACK}?code=")


# --- no access, errors --------------------------------------------------------------------------------
def test_no_access_page_names_app_offers_switch_account_and_is_branded(signed_in):
    application = branded_app(required_roles=[RoleFactory(name="staff:admin")])
    path = authorize_path(application)

    response = signed_in.get(path)

    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="access-denied">You don\'t have access to Streamline</h1>' in html
    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert_locked_down(response)
    assert f'name="next" value="{path.replace("&", "&amp;")}"' in html
    assert 'data-testid="access-denied-switch-account"' in html


def test_error_page_for_unknown_client_has_default_brand(client):
    response = client.get("/oauth/authorize", {"response_type": "code", "client_id": "nope"})
    assert response.status_code == 400
    assert 'data-testid="oauth-error"' in response.content.decode()
    assert_branded(response, name="Latchkey", primary="#1D4ED8")
    assert_locked_down(response)


def test_error_page_for_known_client_with_bad_redirect_uri_is_branded_for_it(client):
    application = branded_app()
    response = client.get("/oauth/authorize", authorize_query(application, redirect_uri="https://evil.example.com/"))
    assert response.status_code == 400
    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert_locked_down(response)


# --- device -----------------------------------------------------------------------------------------------
def pending_device(application: Application, user_code: str = "BCDFGHJK"):
    return get_device_grant_model().objects.create(
        client_id=application.client_id,
        device_code="d" * 40,
        user_code=user_code,
        scope="openid profile",
        expires=timezone.now() + timedelta(minutes=10),
    )


def test_device_pages_are_branded_for_the_device_grants_app(signed_in):
    tv = make_application(type="native", name="Telly", branding={"primary_color": "#9D174D"})[0]
    pending_device(tv)

    code_page = signed_in.get("/device", {"user_code": "BCDF-GHJK"})
    confirm = signed_in.post("/device", {"user_code": "BCDF-GHJK"})
    done = signed_in.post("/device/confirm", {"user_code": "BCDFGHJK", "action": "approve"})

    for response in (code_page, confirm, done):
        assert response.status_code == 200
        assert_branded(response, name="Telly", primary="#9D174D")
        assert_locked_down(response)
    assert 'data-testid="device-approve"' in confirm.content.decode()
    assert 'data-testid="device-result">Device connected' in done.content.decode()


def test_device_code_page_without_code_has_default_brand(signed_in):
    response = signed_in.get("/device")
    assert_branded(response, name="Latchkey", primary="#1D4ED8")
    assert 'data-testid="device-code-input"' in response.content.decode()
    assert '<label for="user_code">Code</label>' in response.content.decode()


# --- sign-out ----------------------------------------------------------------------------------------------
def test_logout_confirmation_is_branded_and_allows_the_post_logout_redirect(signed_in):
    application = branded_app()

    response = signed_in.get(
        "/oauth/logout", {"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT}
    )

    assert response.status_code == 200
    assert 'data-testid="logout-confirm"' in response.content.decode()
    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert_locked_down(response)
    assert "https://web.example.com" in csp(response)["form-action"]


def test_logged_out_page_after_rp_logout_is_branded(signed_in):
    application = branded_app()

    response = signed_in.post("/oauth/logout", {"client_id": application.client_id, "allow": "1"})

    assert response.status_code == 200
    assert "You are signed out" in response.content.decode()
    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)
    assert_locked_down(response)


def test_logout_error_page_has_default_brand(client):
    response = client.get("/oauth/logout", {"client_id": "nope"})
    assert response.status_code == 400
    assert 'data-testid="oauth-error"' in response.content.decode()
    assert_branded(response, name="Latchkey", primary="#1D4ED8")
    assert_locked_down(response)


# --- where the headers apply ---------------------------------------------------------------------------------
def test_admin_login_is_the_sign_in_page_under_its_policy(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert_locked_down(response)


def test_admin_and_json_endpoints_get_no_page_policy(admin_client):
    client = admin_client
    assert "Content-Security-Policy" not in client.get("/admin/")  # the admin ships its own scripts
    assert "Content-Security-Policy" not in client.get("/.well-known/openid-configuration")
    assert "Content-Security-Policy" not in client.post("/oauth/token", {"grant_type": "password"})


def test_redirects_carry_no_page_policy(client):
    assert "Content-Security-Policy" not in client.get(authorize_path(web_app()))


def test_debug_allows_loopback_logos(client, settings):
    settings.DEBUG = True
    assert csp(client.get("/login"))["img-src"] == ["'self'", "https:", "http://localhost:*", "http://127.0.0.1:*"]


@pytest.mark.parametrize(
    ("fields", "sources"),
    [
        (
            {
                "type": "web",
                "redirect_uris": "https://a.example.com/cb https://a.example.com/other http://localhost:8080/cb",
            },
            ["https://a.example.com", "http://localhost:8080"],
        ),
        (
            {
                "type": "web",
                "redirect_uris": "https://a.example.com:8443/cb",
                "post_logout_redirect_uris": "https://b.example.com/",
            },
            ["https://a.example.com:8443", "https://b.example.com"],
        ),
        (
            {"type": "native", "redirect_uris": "com.example.app:/cb http://127.0.0.1/cb http://[::1]/cb"},
            ["com.example.app:", "http://127.0.0.1:*", "http:"],
        ),
        ({"type": "m2m"}, []),
    ],
)
def test_form_action_sources_are_the_apps_redirect_origins(fields, sources):
    application = make_application(**fields)[0]
    assert form_action_sources(application) == sources
    assert form_action_sources(None) == []


# --- query budgets ------------------------------------------------------------------------------------------
def test_login_page_query_budget_branding_costs_one_query(client, django_assert_max_num_queries):
    application = branded_app()
    with CaptureQueriesContext(connection) as plain:
        client.get("/login")

    # The application with its branding joined, and its enabled sign-in providers (buttons and form-action).
    with django_assert_max_num_queries(len(plain) + 2):
        response = client.get("/login", {"next": authorize_path(application)})

    assert_branded(response, name="Streamline", primary="#0F766E", logo=LOGO)


def test_consent_page_query_budget(signed_in, django_assert_max_num_queries):
    application = branded_app()
    with django_assert_max_num_queries(8):  # the view's own; branding is joined to the application it loads
        response = signed_in.get(authorize_path(application))
    assert 'data-testid="consent-approve"' in response.content.decode()


def test_no_access_page_query_budget(signed_in, django_assert_max_num_queries):
    application = branded_app(required_roles=[RoleFactory(name="staff:admin")])
    with django_assert_max_num_queries(7):  # the view's own; the brand comes with the application it loaded
        response = signed_in.get(authorize_path(application))
    assert response.status_code == 403


def test_logout_confirmation_query_budget(signed_in, django_assert_max_num_queries):
    application = branded_app()
    with django_assert_max_num_queries(4):  # application, session, user, and its branding row
        response = signed_in.get("/oauth/logout", {"client_id": application.client_id})
    assert response.status_code == 200
