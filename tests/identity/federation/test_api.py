"""/api/applications/{id}/providers: CRUD, its 400/401/403/404/409 answers, and no secret ever in a response."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from identity.federation.models import Provider
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.federation.factories import APPLE_KEY, SECRET, make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    return make_application()[0]


def url(app, provider=None) -> str:
    base = f"/api/applications/{app.pk}/providers"
    return base if provider is None else f"{base}/{provider if isinstance(provider, (int, str)) else provider.pk}"


def test_create_github_provider_returns_it_without_the_secret(writer, app):
    response = writer.post(url(app), {"type": "github", "client_id": "Iv1.abc", "client_secret": SECRET})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "github" and body["client_id"] == "Iv1.abc" and body["enabled"] is True
    assert body["client_secret_set"] is True and "client_secret" not in body
    assert SECRET not in response.content.decode()
    assert response["Location"].endswith(url(app, body["id"]))
    assert response["ETag"]
    assert Provider.objects.get().client_secret() == SECRET


def test_create_apple_and_oidc_providers(writer, app):
    apple = writer.post(
        url(app),
        {"type": "apple", "client_id": "com.example", "team_id": "T1", "key_id": "K1", "private_key": APPLE_KEY},
    )
    assert apple.status_code == 201, apple.json()
    assert apple.json()["private_key_set"] is True and "apple-test-key" not in apple.content.decode()
    oidc = writer.post(
        url(app),
        {
            "type": "oidc",
            "client_id": "lk",
            "client_secret": SECRET,
            "issuer": "https://sso.example.com/",
            "display_name": "Example SSO",
            "claim_mapping": {"email": "upn"},
        },
    )
    assert oidc.status_code == 201, oidc.json()
    assert oidc.json()["issuer"] == "https://sso.example.com"
    assert oidc.json()["discovery_url"] == "https://sso.example.com/.well-known/openid-configuration"
    assert oidc.json()["claim_mapping"] == {"email": "upn"}


def test_list_and_read(reader, app):
    github = make_provider(app, type="github")
    make_provider(app, type="google")
    make_provider(make_application()[0], type="discord")  # another application's
    listed = reader.get(url(app))
    assert listed.status_code == 200
    assert [p["type"] for p in listed.json()["results"]] == ["github", "google"]
    assert SECRET not in listed.content.decode()
    read = reader.get(url(app, github))
    assert read.status_code == 200 and read.json()["id"] == github.pk and read["ETag"]


def test_a_second_provider_of_a_type_is_409_with_fields(writer, app):
    make_provider(app, type="github")
    response = writer.post(url(app), {"type": "github", "client_id": "x", "client_secret": "y"})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "type" in response.json()["fields"]


def test_a_second_oidc_provider_with_another_issuer_is_fine_the_same_issuer_409(writer, app):
    make_provider(app, type="oidc", issuer="https://one.example.com")
    body = {"type": "oidc", "client_id": "x", "client_secret": "y", "issuer": "https://two.example.com"}
    assert writer.post(url(app), body).status_code == 201
    again = writer.post(url(app), body)
    assert again.status_code == 409 and "issuer" in again.json()["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "myspace", "client_id": "x", "client_secret": "y"}, "type"),
        ({"type": "github", "client_secret": "y"}, "client_id"),
        ({"type": "github", "client_id": "x"}, "client_secret"),
        ({"type": "apple", "client_id": "x", "team_id": "T"}, "private_key"),
        ({"type": "oidc", "client_id": "x", "client_secret": "y", "issuer": "http://sso.example.com"}, "issuer"),
        ({"type": "oidc", "client_id": "x", "client_secret": "y", "issuer": "https://169.254.169.254"}, "issuer"),
        ({"type": "github", "clientId": "x", "client_secret": "y"}, "clientId"),
        ({"type": "google", "client_id": "x", "client_secret": "y", "issuer": "https://a.example.com"}, "issuer"),
    ],
)
def test_bad_input_is_400_naming_the_field(writer, app, body, field):
    response = writer.post(url(app), body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]
    assert not Provider.objects.exists()


def test_patch_changes_fields_and_keeps_the_secret(writer, app):
    provider = make_provider(app, type="github")
    etag = writer.get(url(app, provider))["ETag"]
    response = writer.patch(url(app, provider), {"client_id": "new-id", "enabled": False}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert response.json()["client_id"] == "new-id" and response.json()["enabled"] is False
    provider.refresh_from_db()
    assert provider.client_secret() == SECRET
    stale = writer.patch(url(app, provider), {"client_id": "other"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


def test_put_replaces_and_may_rotate_the_secret(writer, app):
    provider = make_provider(app, type="oidc", claim_mapping={"email": "upn"})
    response = writer.put(
        url(app, provider),
        {"type": "oidc", "client_id": "lk2", "issuer": "https://idp.example.com", "client_secret": "new-secret"},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["claim_mapping"] == {} and response.json()["display_name"] == ""
    provider.refresh_from_db()
    assert provider.client_secret() == "new-secret"
    assert "new-secret" not in response.content.decode()


def test_put_may_not_change_the_type(writer, app):
    provider = make_provider(app, type="github")
    response = writer.put(url(app, provider), {"type": "discord", "client_id": "x"})
    assert response.status_code == 400 and "type" in response.json()["fields"]


def test_delete(writer, app):
    provider = make_provider(app)
    assert writer.delete(url(app, provider)).status_code == 204
    assert not Provider.objects.exists()
    assert AuditEvent.objects.filter(action="provider.deleted").exists()


def test_delete_of_a_provider_the_app_lists_in_auth_methods_is_409_and_keeps_it(writer, app):
    """Removing it would leave auth_methods naming nothing, or (if it was the only entry) empty, which
    means every method: the operator changes auth_methods first."""
    provider = make_provider(app)
    type(app).objects.filter(pk=app.pk).update(auth_methods=[str(provider.pk)])

    response = writer.delete(url(app, provider))

    assert response.status_code == 409
    assert "auth_methods" in response.json()["detail"]
    assert Provider.objects.filter(pk=provider.pk).exists()


def test_unknown_application_or_provider_is_404(writer, app):
    other_app_provider = make_provider(make_application()[0])
    for path in (
        "/api/applications/999999/providers",
        "/api/applications/abc/providers",
        url(app, 999999),
        url(app, "x"),
        url(app, other_app_provider),
    ):
        response = writer.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    assert writer.post("/api/applications/999999/providers", {"type": "github"}).status_code == 404


def test_no_token_is_401_and_a_reader_may_not_write(reader, app):
    assert APIClient().get(url(app)).status_code == 401
    response = reader.post(url(app), {"type": "github", "client_id": "x", "client_secret": "y"})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_audit_records_name_the_actor_and_hide_the_secret(writer, app):
    writer.post(url(app), {"type": "github", "client_id": "x", "client_secret": SECRET})
    event = AuditEvent.objects.get(action="provider.created")
    assert event.actor_id == writer.application.client_id
    assert SECRET not in repr(event.changes)
    audit = writer.get("/api/audit")
    assert SECRET not in audit.content.decode()


def test_the_operations_are_documented(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/applications/{application_pk}/providers"]) >= {"get", "post"}
    assert set(paths["/api/applications/{application_pk}/providers/{id}"]) >= {"get", "put", "patch", "delete"}
    post = paths["/api/applications/{application_pk}/providers"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(post["responses"])
    read = schema["components"]["schemas"]["Provider"]["properties"]
    assert "client_secret" not in read and "client_secret_set" in read


def test_no_secret_reaches_the_logs(writer, app, caplog):
    caplog.set_level("DEBUG")
    created = writer.post(url(app), {"type": "github", "client_id": "x", "client_secret": SECRET})
    writer.patch(url(app, created.json()["id"]), {"client_secret": SECRET + "-2"})
    writer.post(url(app), {"type": "github", "client_id": "x", "client_secret": SECRET + "-3"})  # a 409
    writer.post(url(app), {"type": "bogus", "client_secret": SECRET + "-4"})  # a 400
    assert caplog.records
    assert SECRET not in caplog.text
