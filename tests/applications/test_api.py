"""/api/applications: the management API for OAuth clients, driven with real client-credentials tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from rest_framework.test import APIClient

from applications.models import Application, PreviousClientSecret, Scope
from branding.models import Branding
from tests.applications.factories import ScopeFactory, make_application, not_before_entries
from tests.conftest import staff_sign_in
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.federation.factories import make_provider

URL = "/api/applications"
READ, WRITE = "management:read", "management:write"


def detail(application) -> str:
    return f"{URL}/{application.pk}"


@pytest.fixture
def writer(management_api):
    return management_api(WRITE)


@pytest.fixture
def reader(management_api):
    return management_api(READ)


def web_body(**extra) -> dict:
    return {"name": "Billing Portal", "type": "web", "redirect_uris": ["https://billing.example.com/cb"], **extra}


# -- create --------------------------------------------------------------------------------------


def test_create_web_returns_201_with_secret_once_and_stores_only_its_hash(writer):
    ScopeFactory(name="invoices:read")
    response = writer.post(URL, web_body(allowed_scopes=["openid", "invoices:read"], description="Pays"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["client_secret"]
    assert len(secret) >= 40
    application = Application.objects.get(pk=body["id"])
    assert application.client_secret != secret
    assert body["allowed_scopes"] == ["invoices:read", "openid"]
    assert body["redirect_uris"] == ["https://billing.example.com/cb"]
    assert body["type"] == "web" and body["client_id"] == application.client_id
    assert response["Location"].endswith(f"{URL}/{application.pk}")
    assert response["ETag"]
    again = writer.get(detail(application))
    assert "client_secret" not in again.json()
    assert secret not in again.content.decode()


def test_create_renders_every_documented_field(writer):
    response = writer.post(URL, web_body(), format="json")
    assert set(response.json()) == {
        "id", "name", "description", "type", "client_id", "client_secret", "redirect_uris",
        "post_logout_redirect_uris", "allowed_scopes", "cors_origins", "access_token_ttl", "refresh_token_ttl",
        "id_token_ttl", "id_token_signed_response_alg", "refresh_token_rotation", "pkce_required", "branding",
        "auth_methods", "access_control", "trusted", "owner", "is_active", "m2m_roles", "client_secret_last_used_at",
        "created", "updated", "organization_access",
    }  # fmt: skip
    body = response.json()
    assert body["access_token_ttl"] == 3600 and body["refresh_token_rotation"] is True
    assert body["id_token_signed_response_alg"] is None  # the deployment's LATCHKEY_SIGNING_ALGORITHM
    assert body["branding"] is None and body["access_control"] == {"required_roles": []}
    assert body["organization_access"] is None


def test_create_spa_has_no_secret(writer):
    response = writer.post(
        URL,
        {"name": "Shop", "type": "spa", "redirect_uris": ["https://shop.example.com/cb"],
         "cors_origins": ["https://shop.example.com"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["client_secret"] is None
    assert response.json()["cors_origins"] == ["https://shop.example.com"]


def test_create_m2m_with_roles(writer):
    role = RoleFactory(name="billing:bot")
    role.scopes.add(ScopeFactory(name="invoices:read"))  # its scopes are the app's
    response = writer.post(URL, {"name": "Batch", "type": "m2m", "m2m_roles": [role.name]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["m2m_roles"] == ["billing:bot"]


@pytest.mark.parametrize("extra", [{}, {"allowed_scopes": []}, {"m2m_roles": ["billing:bot"]}])
def test_create_m2m_without_any_scope_is_400_on_allowed_scopes(writer, extra):
    RoleFactory(name="billing:bot")  # a role without scopes gives the app none
    response = writer.post(URL, {"name": "Batch", "type": "m2m", **extra}, format="json")
    assert response.status_code == 400, response.json()
    assert "needs at least one scope" in response.json()["fields"]["allowed_scopes"][0]
    assert not Application.objects.filter(name="Batch").exists()


def test_create_with_branding_and_access_control(writer):
    RoleFactory(name="staff:finance")
    response = writer.post(
        URL,
        web_body(
            branding={"logo_url": "https://billing.example.com/logo.png", "primary_color": "#1a73e8"},
            access_control={"required_roles": ["staff:finance"]},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["branding"] == {
        "logo_url": "https://billing.example.com/logo.png",
        "primary_color": "#1A73E8",
        "secondary_color": "",
    }
    assert response.json()["access_control"] == {"required_roles": ["staff:finance"]}


def test_create_owner_is_the_token_applications_owner(management_api):
    api = management_api(WRITE)
    owner = UserFactory(email="ops@example.com")
    Application.objects.filter(pk=api.application.pk).update(owner=owner)
    response = api.post(URL, web_body(), format="json")
    assert response.json()["owner"] == "ops@example.com"


def test_create_by_staff_session_with_csrf_owner_is_staff(db):
    staff = UserFactory(is_staff=True, email="admin@example.com")
    api = APIClient(enforce_csrf_checks=True)
    staff_sign_in(api, staff)
    refused = api.post(URL, web_body(), format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    token = api.get("/login").cookies.get("csrftoken")  # the sign-in form sets the CSRF cookie
    assert token is not None
    response = api.post(URL, web_body(), format="json", HTTP_X_CSRFTOKEN=token.value)
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == "admin@example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "web"}, "name"),
        ({"name": "X"}, "type"),
        (web_body(type="tv"), "type"),
        (web_body(redirect_uris=["http://billing.example.com/cb"]), "redirect_uris"),
        (web_body(redirect_uris=["https://a.example.com/cb https://b.example.com/cb"]), "redirect_uris"),
        (web_body(redirect_uris="https://a.example.com/cb"), "redirect_uris"),
        (web_body(redirect_uris=[{"uri": 1}]), "redirect_uris"),
        (web_body(redirect_uris=[]), "redirect_uris"),
        (web_body(post_logout_redirect_uris=["https://a.example.com/x y"]), "post_logout_redirect_uris"),
        (web_body(cors_origins=["https://a.example.com/path"]), "cors_origins"),
        (web_body(allowed_scopes=["nope:nothing"]), "allowed_scopes"),
        (web_body(allowed_scopes=[WRITE]), "allowed_scopes"),
        (web_body(access_token_ttl=10), "access_token_ttl"),
        (web_body(access_token_ttl=10**30), "access_token_ttl"),
        (web_body(access_token_ttl="soon"), "access_token_ttl"),
        (web_body(refresh_token_ttl=-1), "refresh_token_ttl"),
        (web_body(id_token_ttl=None), "id_token_ttl"),
        (web_body(trusted="maybe"), "trusted"),
        (web_body(auth_methods=["carrier-pigeon"]), "auth_methods"),
        (web_body(branding={"primary_color": "blue"}), "branding.primary_color"),
        (web_body(branding={"logo_url": "http://evil.example.com/x.png"}), "branding.logo_url"),
        (web_body(branding={"colour": "#000000"}), "branding"),
        (web_body(branding="red"), "branding"),
        (web_body(access_control={"required_roles": ["ghost"]}), "access_control.required_roles"),
        (web_body(access_control=["x"]), "access_control"),
        (web_body(m2m_roles=["ghost"]), "m2m_roles"),
        (web_body(client_secret="mine"), "client_secret"),
        (web_body(frobnicate=True), "frobnicate"),
        (web_body(name="n" * 5000), "name"),
        (web_body(name="nul\x00"), "name"),
        ({"name": "M", "type": "m2m", "redirect_uris": ["https://x.example.com/cb"]}, "redirect_uris"),
        ({"name": "M", "type": "m2m", "allowed_scopes": ["openid"]}, "allowed_scopes"),
    ],
)
def test_create_invalid_is_400_naming_the_field_and_creates_nothing(writer, body, field):
    before = Application.objects.count()
    response = writer.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"], response.json()
    assert Application.objects.count() == before


@pytest.mark.parametrize("payload", ["[]", '"x"', "null", "42", "{", '{"name": '])
def test_create_non_object_json_is_400(writer, payload):
    response = writer.post(URL, payload, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail", "fields"}


def test_create_m2m_role_on_web_app_is_400(writer):
    RoleFactory(name="bots")
    response = writer.post(URL, web_body(m2m_roles=["bots"]), format="json")
    assert response.status_code == 400
    assert "m2m_roles" in response.json()["fields"]


@pytest.mark.parametrize("name", ["Billing Portal", "billing portal", "  BILLING PORTAL "])
def test_create_duplicate_name_in_any_case_is_409(writer, name):
    make_application(name="Billing Portal")
    response = writer.post(URL, web_body(name=name), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "An application with this name already exists.",
        "fields": {"name": ["An application with this name already exists."]},
    }


def test_create_duplicate_name_with_other_errors_is_400_with_all(writer):
    make_application(name="Billing Portal")
    response = writer.post(URL, web_body(redirect_uris=["http://x.example.com/cb"]), format="json")
    assert response.status_code == 400
    assert {"name", "redirect_uris"} <= set(response.json()["fields"])


# -- list ----------------------------------------------------------------------------------------


def test_list_is_paginated_with_total(reader):
    for i in range(3):
        make_application(name=f"App {i}")
    response = reader.get(URL, {"page_size": 2})
    body = response.json()
    assert response.status_code == 200
    # The reader's own m2m application is listed too.
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"]


def test_list_filters_by_type_active_and_search(reader):
    make_application(name="Alpha Web")
    make_application(name="Beta Web", is_active=False)
    make_application(name="Alpha Shop", type="spa")
    names = lambda **q: [a["name"] for a in reader.get(URL, q).json()["results"]]  # noqa: E731
    assert names(type="web") == ["Alpha Web", "Beta Web"]
    assert names(type="web", is_active="false") == ["Beta Web"]
    assert names(is_active="true", search="alpha") == ["Alpha Shop", "Alpha Web"]
    assert names(search="ALPHA SH") == ["Alpha Shop"]


def test_list_orders_by_name_or_created(reader):
    for name in ("Charlie", "Alpha", "Bravo"):
        make_application(name=name)
    names = lambda ordering: [  # noqa: E731
        a["name"] for a in reader.get(URL, {"ordering": ordering, "type": "web"}).json()["results"]
    ]
    assert names("name") == ["Alpha", "Bravo", "Charlie"]
    assert names("-name") == ["Charlie", "Bravo", "Alpha"]
    assert names("created") == ["Charlie", "Alpha", "Bravo"]
    assert names("-created") == ["Bravo", "Alpha", "Charlie"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"type": "tv"}, "type"), ({"is_active": "perhaps"}, "is_active"), ({"ordering": "client_secret"}, "ordering")],
)
def test_list_bad_filter_is_400(reader, query, field):
    response = reader.get(URL, query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_list_page_out_of_range_is_400_naming_page(reader):
    # A documented 400 with the field, as for any other bad query parameter (it was an undocumented 404).
    for page in (99, "x"):
        response = reader.get(URL, {"page": page})
        assert response.status_code == 400
        assert list(response.json()["fields"]) == ["page"]


@pytest.mark.parametrize("page_size", [1, 20])
def test_list_runs_a_constant_number_of_queries(reader, django_assert_num_queries, page_size):
    role = RoleFactory(name="gate")
    for i in range(20):
        make_application(
            name=f"App {i}",
            allowed_scopes=Scope.objects.filter(name__in=["openid", "email"]),
            required_roles=[role],
            branding={"primary_color": "#112233"},
        )
    # token, scopes catalogue (the scope check), count, page, one each for scopes, required roles, m2m roles
    with django_assert_num_queries(7):
        response = reader.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


# -- read, replace, update -----------------------------------------------------------------------


def test_retrieve_has_etag_and_no_secret(reader):
    application, _ = make_application(name="Readable")
    response = reader.get(detail(application))
    assert response.status_code == 200
    assert response.json()["name"] == "Readable"
    assert response["ETag"].startswith('"')
    assert "client_secret" not in response.json()


@pytest.mark.parametrize("pk", ["999999", "abc", "99999999999999999999999", "-1", "1.5"])
def test_retrieve_unknown_is_404_with_error_shape(reader, pk):
    response = reader.get(f"{URL}/{pk}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_patch_changes_only_given_fields(writer):
    application, _ = make_application(name="Patchable", description="Before", trusted=True)
    response = writer.patch(detail(application), {"description": "After"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["description"] == "After"
    assert response.json()["trusted"] is True
    assert response.json()["redirect_uris"] == ["https://web.example.com/callback"]


def test_patch_auth_methods_takes_password_and_this_apps_provider_ids_only(writer):
    application, _ = make_application(name="Federated")
    own = make_provider(application, type="github")
    other_app, _ = make_application(name="Elsewhere")
    foreign = make_provider(other_app, type="google")

    chosen = writer.patch(detail(application), {"auth_methods": [str(own.pk)]}, format="json")
    assert chosen.status_code == 200, chosen.json()
    assert chosen.json()["auth_methods"] == [str(own.pk)]

    refused = writer.patch(detail(application), {"auth_methods": ["password", str(foreign.pk)]}, format="json")
    assert refused.status_code == 400
    assert "Not a sign-in provider of this application" in str(refused.json()["fields"]["auth_methods"])
    doubled = writer.patch(detail(application), {"auth_methods": [str(own.pk), str(own.pk)]}, format="json")
    assert doubled.status_code == 400 and "auth_methods" in doubled.json()["fields"]
    assert Application.objects.get(pk=application.pk).auth_methods == [str(own.pk)]

    cleared = writer.patch(detail(application), {"auth_methods": []}, format="json")
    assert cleared.status_code == 200 and cleared.json()["auth_methods"] == []


def test_put_replaces_and_resets_missing_fields_to_defaults(writer):
    application, _ = make_application(
        name="Replaceable", description="Old", trusted=True, branding={"primary_color": "#000000"}
    )
    response = writer.put(
        detail(application), {"name": "Replaced", "type": "web", "redirect_uris": ["https://new.example.com/cb"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["description"], body["trusted"], body["branding"]) == ("Replaced", "", False, None)
    assert not Branding.objects.filter(application=application).exists()


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_create_with_id_token_signing_algorithm_stores_and_renders_it(writer, algorithm):
    response = writer.post(URL, web_body(id_token_signed_response_alg=algorithm), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["id_token_signed_response_alg"] == algorithm
    assert Application.objects.get(pk=response.json()["id"]).algorithm == algorithm
    assert writer.get(detail(Application(pk=response.json()["id"]))).json()["id_token_signed_response_alg"] == algorithm


def test_patch_sets_and_clears_the_id_token_signing_algorithm(writer):
    application, _ = make_application(name="Signer")

    chosen = writer.patch(detail(application), {"id_token_signed_response_alg": "ES256"}, format="json")
    assert chosen.status_code == 200, chosen.json()
    assert chosen.json()["id_token_signed_response_alg"] == "ES256"
    untouched = writer.patch(detail(application), {"description": "other"}, format="json")
    assert untouched.json()["id_token_signed_response_alg"] == "ES256"
    cleared = writer.patch(detail(application), {"id_token_signed_response_alg": None}, format="json")

    assert cleared.status_code == 200, cleared.json()
    assert cleared.json()["id_token_signed_response_alg"] is None
    application.refresh_from_db()
    assert application.algorithm == ""


def test_put_without_the_id_token_signing_algorithm_resets_it_to_the_deployment_default(writer):
    application, _ = make_application(name="Signer", algorithm="ES256")

    response = writer.put(detail(application), web_body(name="Signer"), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["id_token_signed_response_alg"] is None


@pytest.mark.parametrize("value", ["HS256", "none", "es256", "", 256, ["ES256"]])
def test_bad_id_token_signing_algorithm_is_400_on_that_field_and_changes_nothing(writer, value):
    application, _ = make_application(name="Signer", algorithm="RS256")

    created = writer.post(URL, web_body(id_token_signed_response_alg=value), format="json")
    patched = writer.patch(detail(application), {"id_token_signed_response_alg": value}, format="json")

    if value == "":  # blank, like null, is the deployment default
        assert (created.status_code, patched.status_code) == (201, 200)
        return
    for response in (created, patched):
        assert response.status_code == 400, response.json()
        assert response.json()["error"] == "invalid"
        assert list(response.json()["fields"]) == ["id_token_signed_response_alg"]
    application.refresh_from_db()
    assert application.algorithm == "RS256"
    assert not Application.objects.filter(name="Billing Portal").exists()


def test_hs256_error_names_the_algorithms_on_offer(writer):
    response = writer.post(URL, web_body(id_token_signed_response_alg="HS256"), format="json")

    assert response.json()["fields"]["id_token_signed_response_alg"] == [
        "'HS256' is not an ID token signing algorithm Latchkey offers; choose RS256 or ES256, "
        "or leave it blank for the deployment's LATCHKEY_SIGNING_ALGORITHM."
    ]


def test_m2m_app_with_an_id_token_signing_algorithm_is_400(writer):
    response = writer.post(URL, {"name": "M", "type": "m2m", "id_token_signed_response_alg": "ES256"}, format="json")

    assert response.status_code == 400
    assert "gets no ID tokens" in response.json()["fields"]["id_token_signed_response_alg"][0]


def test_put_without_required_fields_is_400(writer):
    application, _ = make_application()
    response = writer.put(detail(application), {"description": "only"}, format="json")
    assert response.status_code == 400
    assert {"name", "type"} <= set(response.json()["fields"])


def test_patch_type_change_is_400_on_type(writer):
    application, _ = make_application(type="web")
    response = writer.patch(
        detail(application), {"type": "spa", "cors_origins": ["https://x.example.com"]}, format="json"
    )
    assert response.status_code == 400
    assert "type" in response.json()["fields"]
    application.refresh_from_db()
    assert application.type == "web"


def test_patch_relations_and_branding(writer):
    RoleFactory(name="gate:a")
    application, _ = make_application(allowed_scopes=Scope.objects.filter(name="openid"))
    response = writer.patch(
        detail(application),
        {"allowed_scopes": ["email"], "access_control": {"required_roles": ["gate:a"]},
         "branding": {"secondary_color": "#abcdef"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["allowed_scopes"] == ["email"]
    assert body["access_control"] == {"required_roles": ["gate:a"]}
    assert body["branding"]["secondary_color"] == "#ABCDEF"
    removed = writer.patch(detail(application), {"branding": None}, format="json")
    assert removed.json()["branding"] is None


def test_patch_invalid_branding_changes_nothing(writer):
    application, _ = make_application(description="Before")
    response = writer.patch(
        detail(application), {"description": "After", "branding": {"primary_color": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert "branding.primary_color" in response.json()["fields"]
    application.refresh_from_db()
    assert application.description == "Before"
    assert not Branding.objects.filter(application=application).exists()


def test_patch_cors_origin_error_is_keyed_cors_origins(writer):
    application, _ = make_application(type="spa")
    response = writer.patch(detail(application), {"cors_origins": []}, format="json")
    assert response.status_code == 400
    assert "cors_origins" in response.json()["fields"]


def test_patch_to_taken_name_is_409(writer):
    make_application(name="Taken")
    application, _ = make_application(name="Mine")
    response = writer.patch(detail(application), {"name": "TAKEN"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "An application with this name already exists.",
        "fields": {"name": ["An application with this name already exists."]},
    }
    assert Application.objects.get(pk=application.pk).name == "Mine"


def test_patch_with_matching_if_match_succeeds_and_returns_new_etag(writer):
    application, _ = make_application()
    etag = writer.get(detail(application))["ETag"]
    response = writer.patch(detail(application), {"description": "v2"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_patch_with_stale_if_match_is_412_and_changes_nothing(writer):
    application, _ = make_application(description="v1")
    stale = writer.get(detail(application))["ETag"]
    assert writer.patch(detail(application), {"description": "v2"}, format="json").status_code == 200
    response = writer.patch(detail(application), {"description": "v3"}, format="json", HTTP_IF_MATCH=stale)
    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"
    application.refresh_from_db()
    assert application.description == "v2"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_with_stale_if_match_is_412(writer, method):
    application, _ = make_application()
    response = getattr(writer, method)(detail(application), web_body(), format="json", HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412
    assert Application.objects.filter(pk=application.pk).exists()


def test_patch_if_match_star_matches(writer):
    application, _ = make_application()
    assert writer.patch(detail(application), {"trusted": True}, format="json", HTTP_IF_MATCH="*").status_code == 200


# -- delete --------------------------------------------------------------------------------------


def test_delete_is_204_and_revokes_all_its_tokens(writer):
    application, _ = make_application()
    user = UserFactory()
    access = AccessToken.objects.create(
        user=user, application=application, token="at-x", expires=timezone.now() + timedelta(hours=1), scope="openid"
    )
    RefreshToken.objects.create(user=user, application=application, token="rt-x", access_token=access)
    etag = writer.get(detail(application))["ETag"]
    response = writer.delete(detail(application), HTTP_IF_MATCH=etag)
    assert response.status_code == 204
    assert not Application.objects.filter(pk=application.pk).exists()
    assert not AccessToken.objects.filter(token="at-x").exists()
    assert not RefreshToken.objects.filter(token="rt-x").exists()
    assert writer.get(detail(application)).status_code == 404


def test_delete_ends_every_jwt_access_token_of_the_application(writer):
    application, _ = make_application()
    etag = writer.get(detail(application))["ETag"]

    assert writer.delete(detail(application), HTTP_IF_MATCH=etag).status_code == 204

    assert not_before_entries() == {("", application.client_id, "application_deleted")}


def test_tightening_the_access_rule_ends_every_jwt_access_token_of_the_application(writer):
    # Rows say which users hold opaque tokens; a JWT has none, so every JWT of the app ends (those
    # still admitted refresh), and each refused holder of a row gets an entry of their own.
    role = RoleFactory(name="staff:finance")
    application, _ = make_application()
    refused = UserFactory()
    RefreshToken.objects.create(user=refused, application=application, token="rt-refused")

    response = writer.patch(detail(application), {"access_control": {"required_roles": [role.name]}}, format="json")

    assert response.status_code == 200, response.json()
    assert not_before_entries() == {
        ("", application.client_id, "access_removed"),
        (str(refused.public_id), application.client_id, "access_removed"),
    }


def test_loosening_the_access_rule_writes_no_not_before_entry(writer):
    role = RoleFactory(name="staff:finance")
    application, _ = make_application(required_roles=[role])

    response = writer.patch(detail(application), {"access_control": {"required_roles": []}}, format="json")

    assert response.status_code == 200, response.json()
    assert not_before_entries() == set()


# -- regenerate-secret ---------------------------------------------------------------------------


def test_regenerate_secret_returns_new_secret_once_old_stops(writer):
    application, old = make_application()
    response = writer.post(f"{detail(application)}/regenerate-secret", format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["client_secret"] and body["client_secret"] != old
    assert body["previous_secret_expires_at"] is None
    assert not PreviousClientSecret.objects.filter(application=application).exists()


def test_regenerate_secret_leaves_tokens_alone(writer):
    # Rotating a secret changes how the client authenticates, not who holds tokens (README).
    application, _ = make_application()

    assert writer.post(f"{detail(application)}/regenerate-secret", format="json").status_code == 200

    assert not_before_entries() == set()


def test_regenerate_secret_with_grace_period(writer):
    application, _ = make_application(type="m2m")
    response = writer.post(f"{detail(application)}/regenerate-secret", {"grace_period_seconds": 3600}, format="json")
    assert response.status_code == 200
    previous = PreviousClientSecret.objects.get(application=application)
    assert response.json()["previous_secret_expires_at"] == previous.expires_at.isoformat()


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, "soon", True, None, 10**40])
def test_regenerate_secret_bad_grace_period_is_400(writer, grace):
    application, _ = make_application()
    response = writer.post(f"{detail(application)}/regenerate-secret", {"grace_period_seconds": grace}, format="json")
    assert response.status_code == 400
    assert "grace_period_seconds" in response.json()["fields"]


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_regenerate_secret_of_public_app_is_400(writer, app_type):
    application, _ = make_application(type=app_type)
    response = writer.post(f"{detail(application)}/regenerate-secret", format="json")
    assert response.status_code == 400
    assert "type" in response.json()["fields"]


def test_regenerate_secret_unknown_app_is_404(writer):
    assert writer.post(f"{URL}/424242/regenerate-secret", format="json").status_code == 404


# -- authentication and authorisation ------------------------------------------------------------


def test_no_token_is_401_with_www_authenticate(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "not_authenticated"


def test_bad_token_is_401(db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api.get(URL)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_revoked_token_is_401(reader):
    AccessToken.objects.filter(application=reader.application).delete()
    response = reader.get(URL)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_expired_token_is_401(reader):
    AccessToken.objects.filter(application=reader.application).update(expires=timezone.now() - timedelta(seconds=1))
    assert reader.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", URL, web_body()),
        ("patch", "{detail}", {"description": "x"}),
        ("put", "{detail}", web_body()),
        ("delete", "{detail}", None),
        ("post", "{detail}/regenerate-secret", {}),
    ],
)
def test_read_token_cannot_write_403(reader, method, path, body):
    application, _ = make_application()
    response = getattr(reader, method)(path.format(detail=detail(application)), body, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_write_token_can_read(writer):
    assert writer.get(URL).status_code == 200


def test_token_without_management_scope_is_403(management_api):
    ScopeFactory(name="events:read")
    assert management_api("events:read").get(URL).status_code == 403


def test_non_m2m_apps_token_is_403(db):
    application, _ = make_application(type="web")
    token = AccessToken.objects.create(
        user=UserFactory(), application=application, token="web-at", scope=READ,
        expires=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert api.get(URL).status_code == 403


def test_non_staff_session_is_403(client, db):
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 403


def test_staff_session_can_read(admin_client):
    assert admin_client.get(URL).status_code == 200


def test_unsupported_method_is_405(writer):
    application, _ = make_application()
    assert writer.delete(URL).status_code == 405
    response = writer.get(f"{detail(application)}/regenerate-secret")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    "query",
    [{"search": "a\x00b"}, {"search": "x" * 10000}, {"type": "\x00"}, {"page_size": "-3"}, {"page_size": "10**9"}],
)
def test_list_odd_query_values_never_500(reader, query):
    assert reader.get(URL, query).status_code in (200, 400)


@pytest.mark.parametrize(
    "body",
    [
        web_body(access_token_ttl=3600.5),
        web_body(allowed_scopes=["a\x00b"]),
        web_body(allowed_scopes="openid"),
        web_body(redirect_uris=["https://x.example.com/" + "a" * 10000]),
        web_body(branding={"logo_url": "https://x.example.com/" + "a" * 1000}),
        web_body(description="d" * 100000),
        web_body(auth_methods=[None]),
        {"name": ["list"], "type": ["web"]},
    ],
)
def test_create_odd_values_are_4xx_never_500(writer, body):
    response = writer.post(URL, body, format="json")
    assert response.status_code in (201, 400), response.content


# -- access by organisation ----------------------------------------------------------------------


def test_organization_access_is_set_read_back_and_cleared(writer):
    from tests.identity.organizations.factories import OrganizationFactory, admin_role

    OrganizationFactory(slug="acme")
    admin_role()
    rule = {"organizations": ["acme"], "roles": ["admin"]}
    created = writer.post(URL, web_body(organization_access=rule), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["organization_access"] == rule

    cleared = writer.patch(f"{URL}/{created.json()['id']}", {"organization_access": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["organization_access"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (web_body(organization_access={"organizations": ["nowhere"]}), "No organisation with the slug nowhere."),
        (web_body(organization_access={"roles": ["emperor"]}), "No organisation role named emperor."),
        (
            {"name": "Robot", "type": "m2m", "organization_access": {}},
            "Access by organisation applies to users; a machine-to-machine app has none.",
        ),
    ],
)
def test_organization_access_naming_what_does_not_exist_is_400(writer, body, message):
    response = writer.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["organization_access"] == [message]


def test_organization_access_with_an_unknown_key_is_400(writer):
    response = writer.post(URL, web_body(organization_access={"teams": ["a"]}), format="json")
    assert response.status_code == 400
    assert "teams" in str(response.json()["fields"])
