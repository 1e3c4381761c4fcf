"""The type and URI rules, as tables of what is accepted and what is rejected (and why)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from applications import policies
from applications.models import Application, Scope
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory

ACCEPTED_REDIRECT_URIS = [
    ("web", "https://app.example.com/callback"),
    ("web", "https://app.example.com/callback?tenant=a"),
    ("web", "https://app.example.com:8443/cb"),
    ("web", "http://localhost:3000/callback"),
    ("web", "http://127.0.0.1/callback"),
    ("web", "http://[::1]:8080/callback"),
    ("spa", "https://spa.example.com/"),
    ("spa", "http://localhost:5173/callback"),
    ("native", "com.example.app:/callback"),
    ("native", "myapp://cb"),
    ("native", "http://127.0.0.1/callback"),
    ("native", "http://127.0.0.1:51234/callback"),
    ("native", "https://app.example.com/native-callback"),
]

REJECTED_REDIRECT_URIS = [
    ("web", "https://app.example.com/callback#frag", "fragment"),
    ("web", "https://app.example.com/callback#", "fragment"),
    ("web", "https://*.example.com/callback", "wildcard"),
    ("web", "https://app.example.com/*", "wildcard"),
    ("web", "http://app.example.com/callback", "only allowed for loopback"),
    ("web", "http://192.168.1.10/callback", "only allowed for loopback"),
    ("web", "myapp://cb", "only for native"),
    ("spa", "com.example.app:/callback", "only for native"),
    ("web", "/relative/callback", "absolute"),
    ("web", "app.example.com/callback", "absolute"),
    ("web", "https://user:pw@app.example.com/cb", "credentials"),
    ("web", "https:///callback", "no host"),
    ("web", "https://app.example.com:99999/cb", "not a valid URI"),
    ("native", "javascript:alert(1)", "cannot be a redirect URI"),
    ("native", "data:text/html,hi", "cannot be a redirect URI"),
    ("native", "file:///etc/passwd", "cannot be a redirect URI"),
    ("native", "myapp:", "nothing after the scheme"),
    ("native", "http://evil.example.com/cb", "only allowed for loopback"),
]


@pytest.mark.parametrize(("app_type", "uri"), ACCEPTED_REDIRECT_URIS)
def test_redirect_uri_accepted(app_type, uri):
    assert policies.redirect_uri_error(uri, app_type) is None


@pytest.mark.parametrize(("app_type", "uri", "reason"), REJECTED_REDIRECT_URIS)
def test_redirect_uri_rejected_with_reason(app_type, uri, reason):
    problem = policies.redirect_uri_error(uri, app_type)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("https://spa.example.com", True),
        ("https://spa.example.com:8443", True),
        ("http://localhost:5173", True),
        ("http://spa.example.com", False),
        ("https://spa.example.com/", False),
        ("https://spa.example.com/app", False),
        ("https://*.example.com", False),
        ("spa.example.com", False),
        ("com.example.app://x", False),
    ],
)
def test_cors_origin_rules(origin, ok):
    assert (policies.cors_origin_error(origin) is None) is ok


def errors_of(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        make_application(**kwargs)
    return caught.value.message_dict


# --- per type: configurations accepted -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_type", "fields"),
    [
        ("web", {"redirect_uris": "https://web.example.com/cb", "pkce_required": True}),
        (
            "web",
            {
                "redirect_uris": "https://web.example.com/cb http://localhost:3000/cb",
                "post_logout_redirect_uris": "https://web.example.com/",
            },
        ),
        ("spa", {"redirect_uris": "https://spa.example.com/cb", "allowed_origins": "https://spa.example.com"}),
        ("native", {"redirect_uris": "com.example.app:/cb http://127.0.0.1/cb"}),
        ("m2m", {}),
    ],
)
def test_application_type_accepts_valid_configuration(app_type, fields):
    application, secret = make_application(type=app_type, **fields)
    assert application.pk
    assert (secret is not None) is (app_type in ("web", "m2m"))
    assert application.client_type == ("confidential" if app_type in ("web", "m2m") else "public")


# --- per type: configurations rejected, with the field named ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_type", "fields", "field", "fragment"),
    [
        ("web", {"redirect_uris": ""}, "redirect_uris", "at least one redirect URI"),
        ("spa", {"redirect_uris": ""}, "redirect_uris", "at least one redirect URI"),
        ("native", {"redirect_uris": ""}, "redirect_uris", "at least one redirect URI"),
        ("spa", {"allowed_origins": ""}, "allowed_origins", "list its origins"),
        ("spa", {"allowed_origins": "https://spa.example.com/path"}, "allowed_origins", "remove the path"),
        ("m2m", {"redirect_uris": "https://m2m.example.com/cb"}, "redirect_uris", "has no redirect URIs"),
        (
            "m2m",
            {"post_logout_redirect_uris": "https://m2m.example.com/"},
            "post_logout_redirect_uris",
            "no sign-out redirect URIs",
        ),
        ("m2m", {"allowed_origins": "https://m2m.example.com"}, "allowed_origins", "remove the CORS origins"),
        ("m2m", {"pkce_required": True}, "pkce_required", "does not apply"),
        (
            "web",
            {"redirect_uris": "https://a.example.com/cb https://a.example.com/cb"},
            "redirect_uris",
            "listed twice",
        ),
        ("web", {"post_logout_redirect_uris": "http://example.com/"}, "post_logout_redirect_uris", "loopback"),
        ("web", {"access_token_ttl": 10}, "access_token_ttl", "from 60 to 86400"),
        ("web", {"access_token_ttl": 86401}, "access_token_ttl", "from 60 to 86400"),
        ("web", {"id_token_ttl": 0}, "id_token_ttl", "from 60 to 86400"),
        ("web", {"refresh_token_ttl": 31536001}, "refresh_token_ttl", "31536000"),
        ("web", {"auth_methods": ["carrier-pigeon"]}, "auth_methods", "Unknown sign-in method"),
        ("web", {"auth_methods": ["password", "password"]}, "auth_methods", "listed twice"),
        ("web", {"auth_methods": ["0"]}, "auth_methods", "Unknown sign-in method"),
        ("m2m", {"auth_methods": ["password"]}, "auth_methods", "leave its sign-in methods empty"),
        ("web", {"name": "   "}, "name", "needs a name"),
        (
            "web",
            {"algorithm": "HS256"},
            "algorithm",
            "'HS256' is not an ID token signing algorithm Latchkey offers",
        ),
        ("spa", {"algorithm": "none"}, "algorithm", "leave it blank for the deployment's LATCHKEY_SIGNING_ALGORITHM"),
        ("native", {"algorithm": "es256"}, "algorithm", "choose RS256 or ES256"),
        ("web", {"algorithm": "RS256-and-more"}, "algorithm", "choose RS256 or ES256"),
        ("m2m", {"algorithm": "ES256"}, "algorithm", "gets no ID tokens"),
    ],
)
def test_application_type_rejects_invalid_configuration(app_type, fields, field, fragment):
    errors = errors_of(type=app_type, **fields)
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]


@pytest.mark.django_db
def test_application_unknown_type_is_named():
    from applications import services
    from applications.models import Application

    with pytest.raises(ValidationError) as caught:
        services.application_create(actor=None, application=Application(name="X", type="desktop"))
    assert "type" in caught.value.message_dict


@pytest.mark.django_db
def test_application_name_unique_case_insensitively():
    make_application(type="web", name="Billing Portal")
    errors = errors_of(type="web", name="billing PORTAL")
    assert errors["name"] == ["An application with this name already exists."]


@pytest.mark.django_db
def test_m2m_roles_only_for_m2m_and_user_scopes_not_for_m2m():
    role = RoleFactory(name="billing:service")
    errors = errors_of(type="web", m2m_roles=[role])
    assert "Only machine-to-machine apps hold roles." in errors["m2m_roles"]
    errors = errors_of(type="m2m", allowed_scopes=[Scope.objects.get(name="openid")], required_roles=[role])
    assert "openid" in errors["allowed_scopes"][0]
    assert "required_roles" in errors


@pytest.mark.django_db
def test_id_token_algorithm_error_is_reported_once():
    assert len(errors_of(type="web", algorithm="HS256")["algorithm"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("app_type", ["web", "spa", "native"])
@pytest.mark.parametrize("algorithm", ["", "RS256", "ES256"])
def test_id_token_algorithm_accepted_for_apps_with_users(app_type, algorithm):
    application, _ = make_application(type=app_type, algorithm=algorithm)
    application.refresh_from_db()
    assert application.algorithm == algorithm


@pytest.mark.parametrize(
    ("chosen", "setting", "expected"),
    [("", "RS256", "RS256"), ("", "ES256", "ES256"), ("ES256", "RS256", "ES256"), ("RS256", "ES256", "RS256")],
)
def test_id_token_algorithm_is_the_apps_choice_else_the_deployment_default(settings, chosen, setting, expected):
    from applications.models import Application

    settings.LATCHKEY_SIGNING_ALGORITHM = setting
    assert policies.id_token_algorithm(Application(type="web", algorithm=chosen)) == expected


@pytest.mark.django_db
def test_every_problem_reported_at_once():
    errors = errors_of(type="spa", redirect_uris="http://evil.example.com/cb", allowed_origins="", access_token_ttl=1)
    assert set(errors) >= {"redirect_uris", "allowed_origins", "access_token_ttl"}


@pytest.mark.django_db
def test_nothing_saved_when_rejected():
    from applications.models import Application

    errors_of(type="spa", allowed_origins="")
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("app_type", "pkce_flag", "required"),
    [("web", False, False), ("web", True, True), ("spa", False, True), ("native", False, True), ("m2m", False, False)],
)
def test_pkce_required_per_type(app_type, pkce_flag, required):
    from applications.models import Application

    assert policies.pkce_required(Application(type=app_type, pkce_required=pkce_flag)) is required


@pytest.mark.parametrize(
    ("app_type", "grant", "allowed"),
    [
        ("web", policies.GRANT_AUTHORIZATION_CODE, True),
        ("web", policies.GRANT_CLIENT_CREDENTIALS, False),
        ("spa", policies.GRANT_AUTHORIZATION_CODE, True),
        ("spa", policies.GRANT_DEVICE_CODE, False),
        ("native", policies.GRANT_DEVICE_CODE, True),
        ("m2m", policies.GRANT_CLIENT_CREDENTIALS, True),
        ("m2m", policies.GRANT_AUTHORIZATION_CODE, False),
        ("web", "password", False),
        ("web", "implicit", False),
    ],
)
def test_grants_per_type(app_type, grant, allowed):
    from applications.models import Application

    assert Application(type=app_type).allows_grant_type(grant) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_type", "registered", "asked", "allowed"),
    [
        ("web", "https://rp.example.com/cb", "https://rp.example.com/cb", True),
        ("web", "https://rp.example.com/cb", "https://rp.example.com/cb/", False),
        ("web", "https://rp.example.com/cb", "HTTPS://rp.example.com/cb", False),
        ("web", "https://rp.example.com/cb", "https://rp.example.com:443/cb", False),
        ("web", "https://rp.example.com/cb?a=1", "https://rp.example.com/cb?a=1&b=2", False),
        ("web", "http://127.0.0.1:3000/cb", "http://127.0.0.1:4000/cb", False),
        ("native", "http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", True),
        ("native", "http://[::1]/cb", "http://[::1]:6000/cb", True),
        ("native", "http://127.0.0.1/cb", "http://127.0.0.1:51234/other", False),
        ("native", "http://127.0.0.1/cb", "http://localhost:51234/cb", False),
        ("native", "http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", False),
        ("native", "http://127.0.0.1/cb", "http://evil@127.0.0.1:5000/cb", False),
        ("native", "com.example.app:/cb", "com.example.app:/cb", True),
        ("native", "com.example.app:/cb", "com.example.app:/cb2", False),
    ],
)
def test_redirect_uri_matching_is_exact_except_native_loopback_port(app_type, registered, asked, allowed):
    application, _ = make_application(type=app_type, redirect_uris=registered)
    assert application.redirect_uri_allowed(asked) is allowed


@pytest.mark.django_db
def test_refresh_token_expiry_one_rule_for_validator_introspection_and_cleanup():
    """`refresh_token_expires_at` and the cleanup filter agree on each side of every app's boundary."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_refresh_token_model

    from tests.applications.factories import RefreshTokenFactory

    now = timezone.now()
    short, _ = make_application(type="web", refresh_token_ttl=300)
    long, _ = make_application(type="web", refresh_token_ttl=3600)
    tokens = [
        RefreshTokenFactory(application=app, created=now - timedelta(seconds=app.refresh_token_ttl + offset))
        for app in (short, long)
        for offset in (-1, 0, 1)
    ]
    assert policies.refresh_token_expires_at(short, now) == now + timedelta(seconds=300)
    expired_by_rule = {t.pk for t in tokens if policies.refresh_token_expires_at(t.application, t.created) <= now}
    expired_by_filter = set(
        get_refresh_token_model().objects.filter(policies.refresh_token_expired_q(now)).values_list("pk", flat=True)
    )
    assert expired_by_rule == expired_by_filter
    assert len(expired_by_rule) == 4  # at and past the boundary, for each app


@pytest.mark.django_db
def test_resource_error_allows_only_registered_resources_whose_scopes_the_client_may_use():
    from tests.applications.factories import ApiResourceFactory, ScopeFactory

    events = ScopeFactory(name="events:read", resource=ApiResourceFactory(identifier="https://events.example.com"))
    writes = ScopeFactory(name="writes:do", resource=ApiResourceFactory(identifier="https://writes.example.com"))
    ScopeFactory(name="billing:read", resource=ApiResourceFactory(identifier="https://billing.example.com"))
    role = RoleFactory(name="writer")
    role.scopes.set([writes])
    web, _ = make_application(type="web", allowed_scopes=[events])
    m2m, _ = make_application(type="m2m", allowed_scopes=[events], m2m_roles=[role])

    assert policies.resource_error(web, []) is None
    assert policies.resource_error(web, ["https://events.example.com"]) is None
    assert policies.resource_error(m2m, ["https://events.example.com", "https://writes.example.com"]) is None
    for refused in ("https://writes.example.com", "https://billing.example.com", "https://unknown.example.com"):
        assert refused in policies.resource_error(web, ["https://events.example.com", refused])


@pytest.mark.parametrize(
    ("scopes", "required"),
    [(["openid"], True), (["openid", "profile"], True), (["offline_access"], False), ([], False)],
)
def test_redirect_uri_required_for_openid_requests_only(scopes, required):
    assert policies.redirect_uri_required(scopes) is required


@pytest.mark.parametrize(
    ("resource_ttl", "expected"), [(None, 600), (120, 120), (7200, 600)], ids=["none", "shorter", "longer"]
)
def test_token_lifetime_access_is_capped_by_the_resources_ttl(resource_ttl, expected):
    application = Application(type="m2m", access_token_ttl=600)
    assert policies.token_lifetime(application, "access", resource_ttl=resource_ttl) == expected
    assert policies.token_lifetime(application, "refresh", resource_ttl=60) == application.refresh_token_ttl
