"""/api/resources: API resources and their scopes through the management API."""

from __future__ import annotations

import pytest

from applications.models import ApiResource, Scope
from tests.applications.factories import ApiResourceFactory, ScopeFactory, make_application
from tests.identity.factories import RoleFactory

pytestmark = pytest.mark.django_db


def test_create_resource_with_scopes_returns_201_and_scopes(writer):
    response = writer.post(
        "/api/resources",
        {
            "identifier": "https://api.example.com",
            "name": "Streaming API",
            "scopes": [{"name": "stream:live", "description": "Watch live streams"}, {"name": "stream:vod"}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["identifier"] == "https://api.example.com"
    assert body["scopes"] == [
        {"name": "stream:live", "description": "Watch live streams"},
        {"name": "stream:vod", "description": "stream:vod"},
    ]
    assert Scope.objects.get(name="stream:live").resource_id == body["id"]


def test_create_resource_invalid_identifier_and_scope_is_400_with_fields(writer):
    response = writer.post("/api/resources", {"identifier": "not a uri", "name": "", "scopes": [{"name": "has space"}]})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert {"identifier", "name", "scopes"} <= set(body["fields"])
    assert not ApiResource.objects.filter(name="").exists()


def test_create_resource_duplicate_identifier_is_409(writer):
    ApiResourceFactory(identifier="https://api.example.com")
    response = writer.post("/api/resources", {"identifier": "https://api.example.com", "name": "Again"})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


def test_create_resource_with_existing_scope_name_is_409(writer):
    ScopeFactory(name="stream:live")
    response = writer.post(
        "/api/resources", {"identifier": "https://new.example.com", "name": "New", "scopes": [{"name": "stream:live"}]}
    )
    assert response.status_code == 409
    assert not ApiResource.objects.filter(identifier="https://new.example.com").exists()


def test_create_resource_duplicate_scope_in_request_is_400(writer):
    response = writer.post(
        "/api/resources",
        {"identifier": "https://new.example.com", "name": "New", "scopes": [{"name": "a:b"}, {"name": "a:b"}]},
    )
    assert response.status_code == 400
    assert "scopes" in response.json()["fields"]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {"identifier": 12, "name": ["x"]},
        {"identifier": "https://x.example.com", "name": "X", "scopes": "a:b"},
        {"identifier": "https://x.example.com", "name": "X", "scopes": [{"description": "no name"}]},
        {"identifier": "https://x.example.com/" + "a" * 100_000, "name": "X" * 100_000},
        {"identifier": "https://x.example.com", "name": "nul\x00"},
    ],
)
def test_create_resource_malformed_body_is_400_never_500(writer, payload):
    response = writer.post("/api/resources", payload)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


def test_list_resources_paginated_with_total_and_scopes_in_constant_queries(reader, django_assert_num_queries):
    for n in range(3):
        ScopeFactory(resource=ApiResourceFactory(name=f"API {n}"))
    total = ApiResource.objects.count()  # the migration's management API resource is one of them
    reader.get("/api/resources")  # the process now keeps the scope catalogue (applications.oauth.memo)
    counts = []
    for page_size in (1, 20):
        with django_assert_num_queries(4) as captured:  # token, count, page, scopes
            response = reader.get(f"/api/resources?page_size={page_size}")
        counts.append(len(captured.captured_queries))
        assert response.status_code == 200
        assert response.json()["count"] == total
        assert len(response.json()["results"]) == min(page_size, total)
    assert counts[0] == counts[1]


def test_retrieve_resource_and_unknown_ids_are_404(reader):
    resource = ScopeFactory(name="things:read").resource
    assert reader.get(f"/api/resources/{resource.pk}").json()["scopes"][0]["name"] == "things:read"
    for bad in ("999999", "abc", "9" * 40, "-1"):
        response = reader.get(f"/api/resources/{bad}")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "Not found.", "fields": {}}


def test_patch_renames_but_identifier_cannot_change(writer):
    resource = ApiResourceFactory(name="Old", identifier="https://api.example.com")
    response = writer.patch(f"/api/resources/{resource.pk}", {"name": "New name"})
    assert response.status_code == 200
    assert response.json()["name"] == "New name"
    response = writer.patch(f"/api/resources/{resource.pk}", {"identifier": "https://other.example.com"})
    assert response.status_code == 400
    assert "identifier" in response.json()["fields"]
    resource.refresh_from_db()
    assert resource.identifier == "https://api.example.com"


def test_put_is_405(writer):
    resource = ApiResourceFactory()
    response = writer.put(f"/api/resources/{resource.pk}", {"name": "x", "identifier": resource.identifier})
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_add_and_remove_scope(writer):
    resource = ApiResourceFactory()
    response = writer.post(f"/api/resources/{resource.pk}/scopes", {"name": "docs/read", "description": "Read docs"})
    assert response.status_code == 201
    assert [s["name"] for s in response.json()["scopes"]] == ["docs/read"]
    response = writer.delete(f"/api/resources/{resource.pk}/scopes/docs/read")
    assert response.status_code == 204
    assert not Scope.objects.filter(name="docs/read").exists()


def test_add_scope_duplicate_name_is_409_and_bad_name_400(writer):
    resource = ApiResourceFactory()
    ScopeFactory(name="taken:scope")
    assert writer.post(f"/api/resources/{resource.pk}/scopes", {"name": "taken:scope"}).status_code == 409
    response = writer.post(f"/api/resources/{resource.pk}/scopes", {"name": "bad name"})
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


def test_remove_scope_of_another_resource_or_standard_scope_is_404(writer):
    resource = ApiResourceFactory()
    ScopeFactory(name="elsewhere:read")
    assert writer.delete(f"/api/resources/{resource.pk}/scopes/elsewhere:read").status_code == 404
    assert writer.delete(f"/api/resources/{resource.pk}/scopes/openid").status_code == 404
    assert Scope.objects.filter(name="openid").exists()


def test_remove_scope_used_by_application_or_role_is_409(writer):
    scope = ScopeFactory(name="events:read")
    make_application(type="m2m", name="Events", allowed_scopes=[scope])
    response = writer.delete(f"/api/resources/{scope.resource_id}/scopes/events:read")
    assert response.status_code == 409
    assert "Events" in response.json()["detail"]
    other = ScopeFactory(name="events:write", resource=scope.resource)
    RoleFactory(name="events:writer").scopes.set([other])
    response = writer.delete(f"/api/resources/{scope.resource_id}/scopes/events:write")
    assert response.status_code == 409
    assert "events:writer" in response.json()["detail"]
    assert Scope.objects.filter(name__in=["events:read", "events:write"]).count() == 2


def test_delete_resource_used_by_application_is_409_else_204(writer):
    scope = ScopeFactory()
    application, _ = make_application(type="m2m", allowed_scopes=[scope])
    response = writer.delete(f"/api/resources/{scope.resource_id}")
    assert response.status_code == 409
    assert list(application.allowed_scopes.all()) == [scope]
    unused = ScopeFactory().resource
    assert writer.delete(f"/api/resources/{unused.pk}").status_code == 204
    assert not ApiResource.objects.filter(pk=unused.pk).exists()
    assert writer.get(f"/api/resources/{unused.pk}").status_code == 404


def test_delete_management_resource_is_refused(writer):
    resource = Scope.objects.get(name="management:read").resource
    assert writer.delete(f"/api/resources/{resource.pk}").status_code == 409
    assert writer.delete(f"/api/resources/{resource.pk}/scopes/management:read").status_code == 409


def test_read_token_cannot_write_but_can_read(reader):
    assert reader.get("/api/resources").status_code == 200
    response = reader.post("/api/resources", {"identifier": "https://x.example.com", "name": "X"})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert not ApiResource.objects.filter(identifier="https://x.example.com").exists()


def test_nul_byte_in_scope_name_path_is_404(writer):
    resource = ApiResourceFactory()
    assert writer.delete(f"/api/resources/{resource.pk}/scopes/a%00b").status_code == 404


def test_create_jwt_resource_with_token_settings_returns_them(writer):
    api_client, _ = make_application(type="m2m", allowed_scopes=[ScopeFactory(name="x:read")])
    response = writer.post(
        "/api/resources",
        {
            "identifier": "https://api.myapp.com",
            "name": "My API",
            "access_token_format": "jwt",
            "access_token_ttl": 300,
            "signing_alg": "RS256",
            "introspecting_client": api_client.client_id,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["access_token_format"], body["access_token_ttl"], body["signing_alg"]) == ("jwt", 300, "RS256")
    assert body["introspecting_client"] == api_client.client_id


def test_create_resource_with_bad_token_settings_is_400_on_each_field(writer):
    spa, _ = make_application(
        type="spa", redirect_uris="https://spa.example.com/cb", allowed_origins="https://spa.example.com"
    )
    response = writer.post(
        "/api/resources",
        {
            "identifier": "https://api.myapp.com",
            "name": "My API",
            "access_token_format": "paseto",
            "access_token_ttl": 5,
            "signing_alg": "HS256",
            "introspecting_client": spa.client_id,
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"access_token_format", "access_token_ttl", "signing_alg", "introspecting_client"} <= set(fields)
    assert not ApiResource.objects.filter(identifier="https://api.myapp.com").exists()


def test_patch_token_settings_changes_them_and_unknown_client_is_400(writer):
    resource = ApiResourceFactory(identifier="https://api.myapp.com")
    response = writer.patch(f"/api/resources/{resource.pk}", {"access_token_format": "jwt", "access_token_ttl": None})
    assert response.status_code == 200, response.json()
    assert response.json()["access_token_format"] == "jwt"
    response = writer.patch(f"/api/resources/{resource.pk}", {"introspecting_client": "nobody"})
    assert response.status_code == 400
    assert "introspecting_client" in response.json()["fields"]
