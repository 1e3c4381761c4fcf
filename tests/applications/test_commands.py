"""Operator commands: `app create | list | show | rotate-secret`, `resource create | list` and `seed_demo`.

Each test runs the command the way an operator would (through call_command) and checks what the
operator sees: the printed text or JSON, and on bad input a one-line CommandError naming the field,
with nothing written to the database.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from applications import policies
from applications.models import ApiResource, Application, PreviousClientSecret, Scope
from applications.secrets import verify_client_secret
from branding.models import Branding
from identity.models import Role, RoleAssignment, User
from tests.applications.factories import ApiResourceFactory, ScopeFactory, m2m_default_scope, make_application
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.federation.factories import make_provider

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


BUILT_IN_RESOURCE = "urn:latchkey:management-api"  # Latchkey's own management API, from a data migration


def run(*args: str) -> str:
    """Run a management command; return what it printed on stdout."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def command_error(*args: str) -> str:
    """Run a command that must fail; return its one-line message."""
    with pytest.raises(CommandError) as exc_info:
        run(*args)
    message = str(exc_info.value)
    assert message, "an empty error tells the operator nothing"
    assert "\n" not in message, f"error is not one line: {message!r}"
    return message


def db_counts() -> dict[str, int]:
    return {
        "applications": Application.objects.count(),
        "branding": Branding.objects.count(),
        "allowed_scopes": Application.allowed_scopes.through.objects.count(),
        "required_roles": Application.required_roles.through.objects.count(),
        "m2m_roles": Application.m2m_roles.through.objects.count(),
        "previous_secrets": PreviousClientSecret.objects.count(),
        "resources": ApiResource.objects.count(),
        "scopes": Scope.objects.count(),
        "roles": Role.objects.count(),
        "users": User.objects.count(),
        "role_assignments": RoleAssignment.objects.count(),
    }


@pytest.fixture
def m2m_scope() -> Scope:
    return m2m_default_scope()


@contextmanager
def nothing_written():
    before = db_counts()
    yield
    assert db_counts() == before


def create_app(*args: str) -> dict:
    return run_json("app", "create", *args)


WEB = ("--type", "web", "--redirect-uri", "https://web.example.com/callback")
SPA = (
    "--type",
    "spa",
    "--redirect-uri",
    "https://spa.example.com/callback",
    "--cors-origin",
    "https://spa.example.com",
)
NATIVE = ("--type", "native", "--redirect-uri", "com.example.app:/callback")
M2M = ("--type", "m2m", "--scope", "default:call")  # the scope of the `m2m_scope` fixture
ARGS_BY_TYPE = {"web": WEB, "spa": SPA, "native": NATIVE, "m2m": M2M}


# ---------------------------------------------------------------------------------------------
# app create: output and secrets
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("m2m_scope")
@pytest.mark.parametrize("app_type", ["web", "m2m"])
def test_app_create_confidential_type_json_prints_working_secret(app_type):
    data = create_app("--name", "Portal", *ARGS_BY_TYPE[app_type])

    application = Application.objects.get()
    assert data["id"] == application.pk
    assert data["client_id"] == application.client_id
    assert data["type"] == app_type
    assert data["name"] == "Portal"
    secret = data["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 43
    assert application.client_secret != secret
    assert secret not in application.client_secret
    assert application.hash_client_secret is True
    assert verify_client_secret(application, secret)
    assert not verify_client_secret(application, secret + "x")


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_app_create_public_type_json_prints_null_secret(app_type):
    data = create_app("--name", "Public", *ARGS_BY_TYPE[app_type])

    application = Application.objects.get()
    assert data["id"] == application.pk
    assert data["client_id"] == application.client_id
    assert data["type"] == app_type
    assert "client_secret" in data
    assert data["client_secret"] is None
    assert application.client_secret == ""
    assert not verify_client_secret(application, "")


def test_app_create_json_never_prints_secret_hash():
    data = create_app("--name", "Portal", *WEB)

    stored = Application.objects.get().client_secret
    assert stored not in json.dumps(data)
    assert "hash_client_secret" not in data


@pytest.mark.usefixtures("m2m_scope")
@pytest.mark.parametrize(
    ("app_type", "client_type", "grant"),
    [
        ("web", "confidential", "authorization-code"),
        ("spa", "public", "authorization-code"),
        ("native", "public", "authorization-code"),
        ("m2m", "confidential", "client-credentials"),
    ],
)
def test_app_create_each_type_derives_oauth_client_fields(app_type, client_type, grant):
    create_app("--name", "App", *ARGS_BY_TYPE[app_type])

    application = Application.objects.get()
    assert application.type == app_type
    assert application.client_type == client_type
    assert application.authorization_grant_type == grant


def test_app_create_confidential_text_output_shows_secret_once():
    out = run("app", "create", "--name", "Portal", *WEB)

    application = Application.objects.get()
    lines = out.splitlines()
    assert lines[0] == f"Created web application 'Portal' (id {application.pk})"
    assert f"client_id:     {application.client_id}" in lines
    secret_line = next(line for line in lines if line.startswith("client_secret: "))
    secret = secret_line.removeprefix("client_secret: ")
    assert verify_client_secret(application, secret)
    assert "Store the secret now: it is not shown again." in lines


def test_app_create_public_text_output_says_no_secret():
    out = run("app", "create", "--name", "Browser", *SPA)

    application = Application.objects.get()
    assert f"Created spa application 'Browser' (id {application.pk})" in out
    assert f"client_id:     {application.client_id}" in out
    assert "client_secret: none (public client)" in out
    assert "Store the secret" not in out


def test_app_create_without_options_uses_documented_defaults():
    data = create_app("--name", "Defaults", *WEB)

    application = Application.objects.get()
    assert application.access_token_ttl == policies.DEFAULT_ACCESS_TOKEN_TTL
    assert application.refresh_token_ttl == policies.DEFAULT_REFRESH_TOKEN_TTL
    assert application.id_token_ttl == policies.DEFAULT_ID_TOKEN_TTL
    assert application.algorithm == "" and data["id_token_signed_response_alg"] is None
    assert application.refresh_token_rotation is True
    assert application.is_active is True
    assert application.trusted is False
    assert application.pkce_required is False
    assert application.owner is None
    assert application.auth_methods == []  # every method the app has enabled
    assert data["branding"] is None
    assert data["owner"] is None
    assert data["allowed_scopes"] == []
    assert data["access_control"] == {"required_roles": []}
    assert not Branding.objects.exists()


def test_app_create_name_is_trimmed():
    data = create_app("--name", "  Spaced Out  ", *WEB)

    assert data["name"] == "Spaced Out"
    assert Application.objects.get().name == "Spaced Out"


# ---------------------------------------------------------------------------------------------
# app create: every flag lands on the model
# ---------------------------------------------------------------------------------------------


def test_app_create_repeated_redirect_and_post_logout_uris_land_on_model():
    data = create_app(
        "--name",
        "Portal",
        "--type",
        "web",
        "--redirect-uri",
        "https://web.example.com/callback",
        "--redirect-uri",
        "http://127.0.0.1:5000/callback",
        "--post-logout-uri",
        "https://web.example.com/",
        "--post-logout-uri",
        "https://web.example.com/bye",
    )

    application = Application.objects.get()
    assert application.redirect_uri_list == ["https://web.example.com/callback", "http://127.0.0.1:5000/callback"]
    assert application.post_logout_redirect_uri_list == ["https://web.example.com/", "https://web.example.com/bye"]
    assert data["redirect_uris"] == application.redirect_uri_list
    assert data["post_logout_redirect_uris"] == application.post_logout_redirect_uri_list


def test_app_create_repeated_scopes_land_on_model():
    ScopeFactory(name="stream:live")
    data = create_app("--name", "Portal", *WEB, "--scope", "openid", "--scope", "profile", "--scope", "stream:live")

    application = Application.objects.get()
    assert sorted(application.allowed_scopes.values_list("name", flat=True)) == ["openid", "profile", "stream:live"]
    assert data["allowed_scopes"] == ["openid", "profile", "stream:live"]


def test_app_create_repeated_cors_origins_land_on_model():
    data = create_app(
        "--name",
        "Browser",
        "--type",
        "spa",
        "--redirect-uri",
        "https://spa.example.com/callback",
        "--cors-origin",
        "https://spa.example.com",
        "--cors-origin",
        "http://localhost:5173",
    )

    application = Application.objects.get()
    assert application.cors_origin_list == ["https://spa.example.com", "http://localhost:5173"]
    assert data["cors_origins"] == application.cors_origin_list


def test_app_create_repeated_required_roles_land_on_model():
    RoleFactory(name="streaming:subscriber")
    RoleFactory(name="staff:beta")
    data = create_app(
        "--name", "Portal", *WEB, "--required-role", "streaming:subscriber", "--required-role", "staff:beta"
    )

    application = Application.objects.get()
    assert sorted(application.required_roles.values_list("name", flat=True)) == ["staff:beta", "streaming:subscriber"]
    assert data["access_control"] == {"required_roles": ["staff:beta", "streaming:subscriber"]}


@pytest.mark.usefixtures("m2m_scope")
def test_app_create_repeated_m2m_roles_land_on_model():
    RoleFactory(name="events:sync")
    RoleFactory(name="billing:reader")
    data = create_app("--name", "Sync", *M2M, "--m2m-role", "events:sync", "--m2m-role", "billing:reader")

    application = Application.objects.get()
    assert sorted(application.m2m_roles.values_list("name", flat=True)) == ["billing:reader", "events:sync"]
    assert data["m2m_roles"] == ["billing:reader", "events:sync"]


def test_app_create_auth_method_lands_on_model():
    data = create_app("--name", "Portal", *WEB, "--auth-method", "password", "--auth-method", "mfa")

    assert Application.objects.get().auth_methods == ["password", "mfa"]
    assert data["auth_methods"] == ["password", "mfa"]


def test_app_create_auth_method_given_twice_is_rejected():
    with nothing_written():
        message = command_error(
            "app", "create", "--name", "Portal", *WEB, "--auth-method", "password", "--auth-method", "password"
        )
    assert message.startswith("auth_methods: ")
    assert "listed twice" in message


def test_app_create_unknown_auth_method_is_an_argument_error():
    with nothing_written():
        message = command_error("app", "create", "--name", "Portal", *WEB, "--auth-method", "magic-link")
    assert message.startswith("auth_methods: ")
    assert "magic-link" in message


def test_app_create_auth_method_naming_another_apps_provider_is_rejected():
    other, _ = make_application(type="web", name="Other")
    provider = make_provider(other, type="github")
    with nothing_written():
        message = command_error("app", "create", "--name", "Portal", *WEB, "--auth-method", str(provider.pk))
    assert message.startswith("auth_methods: ")
    assert f"Not a sign-in provider of this application: {provider.pk}" in message


def test_app_create_boolean_and_ttl_flags_land_on_model():
    owner = UserFactory(email="owner@example.com")
    data = create_app(
        "--name",
        "Portal",
        *WEB,
        "--description",
        "The account portal.",
        "--trusted",
        "--pkce-required",
        "--access-token-ttl",
        "600",
        "--refresh-token-ttl",
        "86400",
        "--id-token-ttl",
        "300",
        "--no-refresh-token-rotation",
        "--inactive",
        "--owner",
        "OWNER@Example.com",
    )

    application = Application.objects.get()
    assert application.description == "The account portal."
    assert application.trusted is True
    assert application.pkce_required is True
    assert application.access_token_ttl == 600
    assert application.refresh_token_ttl == 86400
    assert application.id_token_ttl == 300
    assert application.refresh_token_rotation is False
    assert application.is_active is False
    assert application.owner == owner
    assert data["description"] == "The account portal."
    assert data["trusted"] is True
    assert data["pkce_required"] is True
    assert (data["access_token_ttl"], data["refresh_token_ttl"], data["id_token_ttl"]) == (600, 86400, 300)
    assert data["refresh_token_rotation"] is False
    assert data["is_active"] is False
    assert data["owner"] == "owner@example.com"


def test_app_create_with_an_id_token_signing_algorithm_shows_it_in_create_and_show():
    data = create_app("--name", "Fast", *WEB, "--id-token-signed-response-alg", "ES256")

    application = Application.objects.get()
    assert application.algorithm == "ES256"
    assert data["id_token_signed_response_alg"] == "ES256"
    assert run_json("app", "show", application.client_id)["id_token_signed_response_alg"] == "ES256"
    assert "id_token_signed_response_alg: ES256" in run("app", "show", application.client_id).splitlines()


def test_app_create_branding_flags_land_on_branding():
    data = create_app(
        "--name",
        "Portal",
        *WEB,
        "--logo-url",
        "https://cdn.example.com/logo.png",
        "--primary-color",
        "#6d28d9",
        "--secondary-color",
        "#F59E0B",
    )

    branding = Branding.objects.get(application__name="Portal")
    assert branding.logo_url == "https://cdn.example.com/logo.png"
    assert branding.primary_color == "#6D28D9"
    assert branding.secondary_color == "#F59E0B"
    assert data["branding"] == {
        "logo_url": "https://cdn.example.com/logo.png",
        "primary_color": "#6D28D9",
        "secondary_color": "#F59E0B",
    }


def test_app_create_only_one_branding_flag_creates_branding_with_blanks():
    data = create_app("--name", "Portal", *WEB, "--primary-color", "#1A73E8")

    assert data["branding"] == {"logo_url": "", "primary_color": "#1A73E8", "secondary_color": ""}


# ---------------------------------------------------------------------------------------------
# app create: rejected input is one line naming the field, and writes nothing
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("m2m_scope")
@pytest.mark.parametrize(
    ("args", "field", "fragment"),
    [
        (
            ("--type", "web", "--redirect-uri", "http://web.example.com/callback"),
            "redirect_uris",
            "only allowed for loopback",
        ),
        (("--type", "web"), "redirect_uris", "needs at least one redirect URI"),
        (
            ("--type", "web", "--redirect-uri", "https://web.example.com/cb#frag"),
            "redirect_uris",
            "fragment",
        ),
        (
            ("--type", "web", "--redirect-uri", "https://web.example.com/*"),
            "redirect_uris",
            "wildcard",
        ),
        (
            ("--type", "web", "--redirect-uri", "com.example.app:/callback"),
            "redirect_uris",
            "custom schemes are only for native apps",
        ),
        (
            ("--type", "native", "--redirect-uri", "javascript:alert(1)"),
            "redirect_uris",
            "cannot be a redirect URI",
        ),
        (
            (*WEB, "--redirect-uri", "https://web.example.com/callback"),
            "redirect_uris",
            "listed twice",
        ),
        (
            (*WEB, "--post-logout-uri", "http://web.example.com/"),
            "post_logout_redirect_uris",
            "only allowed for loopback",
        ),
        (
            ("--type", "spa", "--redirect-uri", "https://spa.example.com/callback"),
            "allowed_origins",
            "list its origins",
        ),
        (
            (*SPA, "--cors-origin", "https://spa.example.com/path"),
            "allowed_origins",
            "remove the path",
        ),
        (
            ("--type", "m2m", "--redirect-uri", "https://m2m.example.com/callback"),
            "redirect_uris",
            "has no redirect URIs",
        ),
        (
            ("--type", "m2m", "--cors-origin", "https://m2m.example.com"),
            "allowed_origins",
            "remove the CORS origins",
        ),
        (("--type", "m2m", "--pkce-required"), "pkce_required", "PKCE does not apply"),
        (("--type", "m2m", "--scope", "openid"), "allowed_scopes", "user scopes mean nothing"),
        ((*WEB, "--access-token-ttl", "59"), "access_token_ttl", "from 60 to 86400"),
        ((*WEB, "--refresh-token-ttl", "31536001"), "refresh_token_ttl", "from 300 to 31536000"),
        ((*WEB, "--id-token-ttl", "86401"), "id_token_ttl", "from 60 to 86400"),
        ((*WEB, "--id-token-signed-response-alg", "HS256"), "algorithm", "choose RS256 or ES256"),
        ((*M2M, "--id-token-signed-response-alg", "ES256"), "algorithm", "gets no ID tokens"),
        ((*WEB, "--scope", "nope:read"), "allowed_scopes", "Unknown scope(s): nope:read"),
        ((*WEB, "--required-role", "ghost:role"), "required_roles", "Unknown role(s): ghost:role"),
        ((*M2M, "--m2m-role", "ghost:role"), "m2m_roles", "Unknown role(s): ghost:role"),
        ((*WEB, "--owner", "nobody@example.com"), "owner", "No user with email 'nobody@example.com'"),
        ((*WEB, "--primary-color", "purple"), "branding.primary_color", "#RRGGBB"),
        ((*WEB, "--secondary-color", "#12345"), "branding.secondary_color", "#RRGGBB"),
        ((*WEB, "--logo-url", "http://cdn.example.com/logo.png"), "branding.logo_url", "must use https"),
    ],
)
def test_app_create_bad_input_raises_one_line_error_naming_field(args, field, fragment):
    with nothing_written():
        message = command_error("app", "create", "--name", "Bad App", *args)
    assert message.startswith(f"{field}: "), message
    assert fragment in message


def test_app_create_m2m_without_any_scope_is_rejected():
    RoleFactory(name="events:sync")  # a role without scopes gives the app none either
    with nothing_written():
        message = command_error("app", "create", "--name", "Sync", "--type", "m2m", "--m2m-role", "events:sync")
    assert message.startswith("allowed_scopes: "), message
    assert "needs at least one scope" in message


@pytest.mark.usefixtures("m2m_scope")
def test_app_create_required_role_on_m2m_is_rejected():
    RoleFactory(name="streaming:subscriber")
    with nothing_written():
        message = command_error("app", "create", "--name", "Sync", *M2M, "--required-role", "streaming:subscriber")
    assert message.startswith("required_roles: ")
    assert "machine-to-machine" in message


def test_app_create_m2m_role_on_web_is_rejected():
    RoleFactory(name="events:sync")
    with nothing_written():
        message = command_error("app", "create", "--name", "Portal", *WEB, "--m2m-role", "events:sync")
    assert message == "m2m_roles: Only machine-to-machine apps hold roles."


def test_app_create_duplicate_name_in_different_case_is_rejected():
    make_application(type="web", name="Customer Portal")
    with nothing_written():
        message = command_error("app", "create", "--name", "customer PORTAL", *WEB)
    assert message == "name: An application with this name already exists."


def test_app_create_blank_name_is_rejected():
    with nothing_written():
        message = command_error("app", "create", "--name", "   ", *WEB)
    assert message == "name: An application needs a name."


def test_app_create_several_problems_are_reported_on_one_line():
    with nothing_written():
        message = command_error(
            "app", "create", "--name", "Bad", *WEB, "--scope", "nope:read", "--required-role", "ghost:role"
        )
    assert "allowed_scopes: Unknown scope(s): nope:read" in message
    assert "required_roles: Unknown role(s): ghost:role" in message
    assert "; " in message


def test_app_create_several_field_problems_with_branding_write_no_branding():
    with nothing_written():
        message = command_error(
            "app",
            "create",
            "--name",
            "Bad",
            "--type",
            "web",
            "--redirect-uri",
            "http://web.example.com/cb",
            "--primary-color",
            "#zzzzzz",
        )
    assert "redirect_uris: " in message
    assert "branding.primary_color: " in message


def test_app_create_bad_type_choice_is_an_argument_error():
    with nothing_written():
        message = command_error("app", "create", "--name", "Desk", "--type", "desktop")
    assert "--type" in message
    assert "invalid choice: 'desktop'" in message


def test_app_create_missing_required_name_is_an_argument_error():
    with nothing_written():
        message = command_error("app", "create", "--type", "web")
    assert "--name" in message


def test_app_create_non_numeric_ttl_is_an_argument_error():
    with nothing_written():
        message = command_error("app", "create", "--name", "Portal", *WEB, "--access-token-ttl", "an hour")
    assert "--access-token-ttl" in message


def test_app_without_verb_is_an_argument_error():
    message = command_error("app")
    assert "VERB" in message


# ---------------------------------------------------------------------------------------------
# app list / show
# ---------------------------------------------------------------------------------------------


def test_app_list_json_lists_every_app_by_name_without_secrets():
    web, web_secret = make_application(type="web", name="Bravo Portal")
    spa, _ = make_application(type="spa", name="Alpha Browser")
    m2m, m2m_secret = make_application(type="m2m", name="Charlie Sync")

    data = run_json("app", "list")

    assert [item["name"] for item in data] == ["Alpha Browser", "Bravo Portal", "Charlie Sync"]
    assert [item["client_id"] for item in data] == [spa.client_id, web.client_id, m2m.client_id]
    assert [item["type"] for item in data] == ["spa", "web", "m2m"]
    assert all("client_secret" not in item for item in data)
    dumped = json.dumps(data)
    assert web_secret not in dumped and m2m_secret not in dumped
    assert Application.objects.get(pk=web.pk).client_secret not in dumped


def test_app_list_type_filter_keeps_only_that_type():
    make_application(type="web", name="Portal")
    native, _ = make_application(type="native", name="TV")
    make_application(type="m2m", name="Sync")

    data = run_json("app", "list", "--type", "native")

    assert [(item["client_id"], item["type"]) for item in data] == [(native.client_id, "native")]


def test_app_list_type_filter_with_no_match_prints_empty_list():
    make_application(type="web", name="Portal")

    assert run_json("app", "list", "--type", "m2m") == []


def test_app_list_bad_type_choice_is_an_argument_error():
    message = command_error("app", "list", "--type", "desktop")
    assert "invalid choice: 'desktop'" in message


def test_app_list_text_shows_client_id_type_state_and_name():
    web, _ = make_application(type="web", name="Portal")
    m2m, _ = make_application(type="m2m", name="Sync", is_active=False)

    lines = run("app", "list").splitlines()

    assert lines == [
        f"{web.client_id}  web     active    Portal",
        f"{m2m.client_id}  m2m     inactive  Sync",
    ]


def test_app_list_text_with_no_apps_says_so():
    assert run("app", "list").splitlines() == ["No applications."]


def test_app_list_json_with_no_apps_is_empty_list():
    assert run_json("app", "list") == []


def test_app_show_json_describes_the_app():
    owner = UserFactory(email="owner@example.com")
    role = RoleFactory(name="streaming:subscriber")
    openid = Scope.objects.get(name="openid")
    application, secret = make_application(
        type="spa",
        name="Browser",
        description="Watch in the browser.",
        allowed_scopes=[openid],
        required_roles=[role],
        owner=owner,
        branding={"primary_color": "#6D28D9"},
    )

    data = run_json("app", "show", application.client_id)

    assert data["client_id"] == application.client_id
    assert data["name"] == "Browser"
    assert data["description"] == "Watch in the browser."
    assert data["type"] == "spa"
    assert data["redirect_uris"] == ["https://spa.example.com/callback"]
    assert data["cors_origins"] == ["https://spa.example.com"]
    assert data["allowed_scopes"] == ["openid"]
    assert data["access_control"] == {"required_roles": ["streaming:subscriber"]}
    assert data["branding"] == {"logo_url": "", "primary_color": "#6D28D9", "secondary_color": ""}
    assert data["is_active"] is True
    # The entry `config export` writes: configuration only, nothing tied to this database or its users.
    assert not {"id", "owner", "created", "client_secret_last_used_at", "client_secret"} & set(data)


def test_app_show_text_still_shows_owner_and_secret_use():
    owner = UserFactory(email="owner@example.com")
    application, _ = make_application(type="web", name="Portal", owner=owner)

    lines = run("app", "show", application.client_id).splitlines()

    assert "owner: owner@example.com" in lines
    assert "client_secret_last_used_at: None" in lines
    assert any(line.startswith("created: ") for line in lines)


def test_app_show_json_of_confidential_app_does_not_leak_the_secret_or_hash():
    application, secret = make_application(type="web", name="Portal")

    out = run("app", "show", application.client_id, "--json")

    assert secret not in out
    assert Application.objects.get(pk=application.pk).client_secret not in out


def test_app_show_text_prints_one_field_per_line():
    application, _ = make_application(type="web", name="Portal")

    lines = run("app", "show", application.client_id).splitlines()

    assert f"client_id: {application.client_id}" in lines
    assert "name: Portal" in lines
    assert "type: web" in lines
    assert "redirect_uris: ['https://web.example.com/callback']" in lines
    assert "is_active: True" in lines


def test_app_show_unknown_client_id_raises_command_error():
    make_application(type="web", name="Portal")

    message = command_error("app", "show", "no-such-client")

    assert message == "No application with client_id 'no-such-client'."


def test_app_show_without_client_id_is_an_argument_error():
    message = command_error("app", "show")
    assert "CLIENT_ID" in message


# ---------------------------------------------------------------------------------------------
# app rotate-secret
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_type", ["web", "m2m"])
def test_app_rotate_secret_without_grace_replaces_secret_at_once(app_type):
    application, old_secret = make_application(type=app_type, name="Confidential")

    data = run_json("app", "rotate-secret", application.client_id)

    application.refresh_from_db()
    assert data["client_id"] == application.client_id
    assert data["previous_secret_expires_at"] is None
    new_secret = data["client_secret"]
    assert new_secret != old_secret
    assert application.client_secret != new_secret
    assert verify_client_secret(application, new_secret)
    assert not verify_client_secret(application, old_secret)
    assert not application.previous_secrets.exists()


def test_app_rotate_secret_with_grace_period_keeps_old_secret_working():
    application, old_secret = make_application(type="web", name="Portal")
    before = timezone.now()

    data = run_json("app", "rotate-secret", application.client_id, "--grace-period", "3600")

    application.refresh_from_db()
    new_secret = data["client_secret"]
    assert new_secret != old_secret
    assert verify_client_secret(application, new_secret)
    assert verify_client_secret(application, old_secret)
    expires_at = datetime.fromisoformat(data["previous_secret_expires_at"])
    assert before + timedelta(seconds=3600) <= expires_at <= timezone.now() + timedelta(seconds=3600)
    assert application.previous_secrets.get().expires_at == expires_at


def test_app_rotate_secret_without_grace_ends_an_earlier_grace_period():
    application, first = make_application(type="web", name="Portal")
    second = run_json("app", "rotate-secret", application.client_id, "--grace-period", "3600")["client_secret"]

    third = run_json("app", "rotate-secret", application.client_id)["client_secret"]

    application.refresh_from_db()
    assert verify_client_secret(application, third)
    assert not verify_client_secret(application, second)
    assert not verify_client_secret(application, first)
    assert not application.previous_secrets.exists()


def test_app_rotate_secret_text_output_with_grace_period_says_until_when():
    application, _ = make_application(type="web", name="Portal")

    out = run("app", "rotate-secret", application.client_id, "--grace-period", "3600")

    application.refresh_from_db()
    lines = out.splitlines()
    assert lines[0] == f"client_id:     {application.client_id}"
    secret = lines[1].removeprefix("client_secret: ")
    assert verify_client_secret(application, secret)
    expires_at = application.previous_secrets.get().expires_at
    assert lines[2] == f"The previous secret keeps working until {expires_at:%Y-%m-%d %H:%M:%S} UTC."


def test_app_rotate_secret_text_output_without_grace_says_old_secret_stopped():
    application, _ = make_application(type="m2m", name="Sync")

    out = run("app", "rotate-secret", application.client_id)

    assert out.splitlines()[-1] == "The previous secret no longer works."


@pytest.mark.parametrize("grace", ["999999", "604801", "-1"])
def test_app_rotate_secret_out_of_range_grace_period_is_rejected(grace):
    application, old_secret = make_application(type="web", name="Portal")
    stored = application.client_secret

    with nothing_written():
        message = command_error("app", "rotate-secret", application.client_id, "--grace-period", grace)

    assert message == "--grace-period: Give a grace period from 0 to 604800 seconds (7 days)."
    application.refresh_from_db()
    assert application.client_secret == stored
    assert verify_client_secret(application, old_secret)


def test_app_rotate_secret_maximum_grace_period_is_accepted():
    application, old_secret = make_application(type="web", name="Portal")

    data = run_json("app", "rotate-secret", application.client_id, "--grace-period", "604800")

    application.refresh_from_db()
    assert verify_client_secret(application, old_secret)
    assert data["previous_secret_expires_at"] is not None


@pytest.mark.parametrize(("app_type", "label"), [("spa", "single-page application"), ("native", "native")])
def test_app_rotate_secret_public_app_is_rejected(app_type, label):
    application, _ = make_application(type=app_type, name="Public")

    with nothing_written():
        message = command_error("app", "rotate-secret", application.client_id)

    assert message.startswith("type: ")
    assert label in message
    assert "has no client secret" in message
    application.refresh_from_db()
    assert application.client_secret == ""


def test_app_rotate_secret_unknown_client_id_raises_command_error():
    with nothing_written():
        message = command_error("app", "rotate-secret", "no-such-client")
    assert message == "No application with client_id 'no-such-client'."


# ---------------------------------------------------------------------------------------------
# resource create / list
# ---------------------------------------------------------------------------------------------


def test_resource_create_json_creates_resource_and_scopes_with_descriptions():
    data = run_json(
        "resource",
        "create",
        "--identifier",
        "https://api.example.com",
        "--name",
        "X",
        "--scope",
        "a:read=Read A",
        "--scope",
        "a:write",
    )

    resource = ApiResource.objects.get(identifier="https://api.example.com")
    assert resource.name == "X"
    assert {s.name: s.description for s in resource.scopes.all()} == {"a:read": "Read A", "a:write": "a:write"}
    assert data == {
        "id": resource.pk,
        "identifier": "https://api.example.com",
        "name": "X",
        "access_token_format": "opaque",
        "access_token_ttl": None,
        "signing_alg": "ES256",
        "introspecting_client": None,
        "scopes": [{"name": "a:read", "description": "Read A"}, {"name": "a:write", "description": "a:write"}],
    }


def test_resource_create_scopes_can_then_be_given_to_an_app():
    run("resource", "create", "--identifier", "https://api.example.com", "--name", "X", "--scope", "a:read")

    data = create_app("--name", "Sync", "--type", "m2m", "--scope", "a:read")

    assert data["allowed_scopes"] == ["a:read"]


def test_resource_create_trims_identifier_name_and_scope_parts():
    data = run_json(
        "resource",
        "create",
        "--identifier",
        "  https://api.example.com  ",
        "--name",
        "  X  ",
        "--scope",
        " a:read = Read A ",
    )

    assert data["identifier"] == "https://api.example.com"
    assert data["name"] == "X"
    assert data["scopes"] == [{"name": "a:read", "description": "Read A"}]


def test_resource_create_without_scopes_text_says_none():
    out = run("resource", "create", "--identifier", "https://api.example.com", "--name", "X")

    assert out.splitlines() == ["Created API resource 'X' (https://api.example.com) with scopes: none"]
    assert ApiResource.objects.exclude(identifier=BUILT_IN_RESOURCE).get().scopes.count() == 0


def test_resource_create_text_lists_scopes():
    out = run(
        "resource",
        "create",
        "--identifier",
        "https://api.example.com",
        "--name",
        "X",
        "--scope",
        "a:read=Read A",
        "--scope",
        "a:write",
    )

    assert out.splitlines() == ["Created API resource 'X' (https://api.example.com) with scopes: a:read, a:write"]


def test_resource_create_duplicate_scope_in_one_call_is_rejected():
    with nothing_written():
        message = command_error(
            "resource",
            "create",
            "--identifier",
            "https://api.example.com",
            "--name",
            "X",
            "--scope",
            "a:read=Read A",
            "--scope",
            "a:read=Read A again",
        )
    assert message == "scopes: a:read is given twice."


@pytest.mark.parametrize(
    ("identifier", "fragment"),
    [
        ("https://api.example.com#v1", "fragment"),
        ("api.example.com", "not an absolute URI"),
        ("https://", "has no host"),
        ("", "empty"),
    ],
)
def test_resource_create_bad_identifier_is_rejected(identifier, fragment):
    with nothing_written():
        message = command_error("resource", "create", "--identifier", identifier, "--name", "X", "--scope", "a:read")
    assert message.startswith("identifier: "), message
    assert fragment in message


def test_resource_create_scope_name_with_space_is_rejected():
    with nothing_written():
        message = command_error(
            "resource", "create", "--identifier", "https://api.example.com", "--name", "X", "--scope", "a read=Read A"
        )
    assert message.startswith("scopes: a read: ")
    assert "no spaces" in message


def test_resource_create_scope_name_already_in_catalogue_is_rejected():
    with nothing_written():
        message = command_error(
            "resource", "create", "--identifier", "https://api.example.com", "--name", "X", "--scope", "openid"
        )
    assert message.startswith("scopes: openid: ")
    assert "already exists" in message


def test_resource_create_duplicate_identifier_is_rejected():
    ApiResourceFactory(identifier="https://api.example.com", name="Existing")

    with nothing_written():
        message = command_error("resource", "create", "--identifier", "https://api.example.com", "--name", "X")

    assert message.startswith("identifier: ")
    assert "already exists" in message


def test_resource_create_several_problems_are_reported_on_one_line():
    with nothing_written():
        message = command_error(
            "resource",
            "create",
            "--identifier",
            "https://api.example.com#frag",
            "--name",
            "X",
            "--scope",
            "bad scope",
        )
    assert "identifier: " in message
    assert "scopes: bad scope: " in message


def test_resource_create_missing_identifier_is_an_argument_error():
    with nothing_written():
        message = command_error("resource", "create", "--name", "X")
    assert "--identifier" in message


def test_resource_list_json_shows_resources_with_their_scopes():
    run("resource", "create", "--identifier", "https://b.example.com", "--name", "Bravo", "--scope", "b:read=Read B")
    run("resource", "create", "--identifier", "https://a.example.com", "--name", "Alpha")

    data = [r for r in run_json("resource", "list") if r["identifier"] != BUILT_IN_RESOURCE]

    assert [(r["name"], r["identifier"]) for r in data] == [
        ("Alpha", "https://a.example.com"),
        ("Bravo", "https://b.example.com"),
    ]
    assert data[0]["scopes"] == []
    assert data[1]["scopes"] == [{"name": "b:read", "description": "Read B"}]


def test_resource_list_text_shows_identifier_name_and_scopes():
    run(
        "resource",
        "create",
        "--identifier",
        "https://api.example.com",
        "--name",
        "X",
        "--scope",
        "a:read",
        "--scope",
        "a:write",
    )

    assert run("resource", "list").splitlines() == [
        "urn:latchkey:management-api  Latchkey Management API: management:read, management:write",
        "https://api.example.com  X: a:read, a:write",
    ]


def test_resource_list_fresh_install_shows_only_the_built_in_management_api():
    assert [r["identifier"] for r in run_json("resource", "list")] == [BUILT_IN_RESOURCE]


# ---------------------------------------------------------------------------------------------
# seed_demo
# ---------------------------------------------------------------------------------------------

DEMO_APP_TYPES = {
    "Demo Web Portal": "web",
    "Demo Streaming SPA": "spa",
    "Demo TV App": "native",
    "Demo Events Service": "m2m",
    "Demo Management Client": "m2m",
}


def secret_lines(out: str) -> dict[str, tuple[str, str]]:
    """{app name: (client_id, client_secret)} from seed_demo's output."""
    found = {}
    for line in out.splitlines():
        if "client_secret" in line:
            name, _, rest = line.strip().partition(": client_id ")
            client_id, _, rest = rest.partition("  client_secret ")
            found[name] = (client_id, rest.removesuffix("  (shown once)"))
    return found


def test_seed_demo_in_debug_creates_users_roles_resource_and_one_app_of_each_type(settings):
    settings.DEBUG = True

    run("seed_demo")

    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("latchkey-demo-admin")
    assert list(admin.roles.values_list("name", flat=True)) == ["latchkey:admin"]
    alice = User.objects.get(email="alice@example.com")
    assert not alice.is_staff and not alice.is_superuser
    assert alice.email_verified
    assert alice.check_password("latchkey-demo-alice")
    assert list(alice.roles.values_list("name", flat=True)) == ["streaming:subscriber"]
    resource = ApiResource.objects.get(identifier="https://api.example.com/streaming")
    assert sorted(resource.scopes.values_list("name", flat=True)) == ["events:read", "stream:live"]
    assert dict(Application.objects.values_list("name", "type")) == DEMO_APP_TYPES
    assert sorted(Application.objects.values_list("type", flat=True)) == ["m2m", "m2m", "native", "spa", "web"]
    assert all(app.owner == admin for app in Application.objects.all())
    spa = Application.objects.get(type="spa")
    assert list(spa.required_roles.values_list("name", flat=True)) == ["streaming:subscriber"]
    assert spa.branding.primary_color == "#6D28D9"


def test_seed_demo_prints_credentials_and_secrets_of_the_two_confidential_apps(settings):
    settings.DEBUG = True
    settings.LATCHKEY_ISSUER = "https://id.example.com"

    out = run("seed_demo")

    assert "Demo data is ready." in out
    assert "Admin console: https://id.example.com/admin/" in out
    assert "admin@example.com / latchkey-demo-admin" in out
    assert "alice@example.com / latchkey-demo-alice" in out
    secrets = secret_lines(out)
    assert set(secrets) == {"Demo Web Portal", "Demo Events Service", "Demo Management Client"}
    for name, (client_id, secret) in secrets.items():
        application = Application.objects.get(name=name)
        assert application.client_id == client_id
        assert application.client_secret != secret
        assert verify_client_secret(application, secret)


def test_seed_demo_run_twice_is_idempotent_and_prints_no_secrets_again(settings):
    settings.DEBUG = True
    first = run("seed_demo")
    counts = db_counts()
    stored = dict(Application.objects.values_list("name", "client_secret"))

    second = run("seed_demo")

    assert db_counts() == counts
    assert counts["applications"] == 5
    assert counts["users"] == 2
    assert dict(Application.objects.values_list("name", "client_secret")) == stored
    assert len(secret_lines(first)) == 3
    assert secret_lines(second) == {}
    assert "client_secret" not in second
    assert "Demo data is ready." in second


def test_seed_demo_without_debug_and_without_admin_password_refuses(settings):
    settings.DEBUG = False

    with nothing_written():
        message = command_error("seed_demo")

    assert "--admin-password" in message
    assert "DJANGO_DEBUG" in message


def test_seed_demo_without_debug_with_admin_password_uses_it_and_does_not_print_it(settings):
    settings.DEBUG = False

    out = run("seed_demo", "--admin-password", "a-long-private-passphrase")

    admin = User.objects.get(email="admin@example.com")
    assert admin.check_password("a-long-private-passphrase")
    assert not admin.check_password("latchkey-demo-admin")
    assert "a-long-private-passphrase" not in out
    assert "admin@example.com / (the password you gave)" in out
    assert Application.objects.count() == 5


def test_seed_demo_without_debug_with_empty_admin_password_refuses(settings):
    settings.DEBUG = False

    with nothing_written():
        message = command_error("seed_demo", "--admin-password", "")

    assert "--admin-password" in message


def test_seed_demo_second_run_with_new_admin_password_does_not_misreport_it(settings):
    settings.DEBUG = True
    run("seed_demo")  # admin created with the published demo password

    out = run("seed_demo", "--admin-password", "a-long-private-passphrase")

    admin = User.objects.get(email="admin@example.com")
    # Either the password the operator gave is now the admin's, or the summary must not say it is.
    assert admin.check_password("a-long-private-passphrase") or "(the password you gave)" not in out


def test_seed_demo_demo_scope_already_defined_elsewhere_is_a_one_line_command_error(settings):
    settings.DEBUG = True
    run(
        "resource", "create", "--identifier", "https://events.example.com", "--name", "Events", "--scope", "events:read"
    )

    with nothing_written():
        message = command_error("seed_demo")

    assert "events:read" in message


def test_app_create_uri_flag_with_whitespace_is_rejected_not_split():
    with nothing_written():
        message = command_error(
            "app",
            "create",
            "--name",
            "Spaced",
            "--type",
            "web",
            "--redirect-uri",
            "https://a.example.com/cb https://b.example.com/cb",
        )
    assert message.startswith("redirect_uris:")
    assert "whitespace" in message


def test_resource_update_sets_jwt_format_and_lifetime_cap():
    run_json("resource", "create", "--identifier", "https://api.myapp.com", "--name", "My API", "--scope", "my:read")

    data = run_json(
        "resource", "update", "--identifier", "https://api.myapp.com",
        "--access-token-format", "jwt", "--access-token-ttl", "120", "--signing-alg", "RS256",
    )  # fmt: skip

    assert (data["access_token_format"], data["access_token_ttl"], data["signing_alg"]) == ("jwt", 120, "RS256")
    resource = ApiResource.objects.get(identifier="https://api.myapp.com")
    assert resource.access_token_format == "jwt"
