"""What every management API path does with input it cannot use: the API's JSON errors, never a page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/roles/not-a-number"),
        ("delete", "/api/resources/0.5"),
        ("post", "/api/users/%F0%9F%92%A5/deactivate"),
        ("get", "/api/audit/abc"),
        ("get", "/api/no-such-collection"),
    ],
)
def test_paths_that_match_nothing_are_json_404(writer, method, path):
    response = getattr(writer, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "not_found", "detail": "Not found.", "fields": {}}


@pytest.mark.parametrize("page", ["0", "-3", "999", "two"])
@pytest.mark.parametrize("collection", ["applications", "roles", "users", "resources", "consents", "audit"])
def test_a_page_that_does_not_exist_is_400_naming_page(writer, collection, page):
    response = writer.get(f"/api/{collection}", {"page": page})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["page"]


def test_every_list_documents_400(writer):
    schema = writer.get("/api/schema", {"format": "json"}).json()
    lists = [op for item in schema["paths"].values() for op in item.values() if op["operationId"].endswith("_list")]
    # 7, the webhooks of an application and of the deployment, 4 of organisations, and the members of a token's
    assert len(lists) == 14
    assert all("400" in op["responses"] for op in lists)
