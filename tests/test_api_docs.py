"""The management API's description: public, OpenAPI 3, valid, self-hosted docs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from applications.models import Scope
from tests.applications.factories import make_application


@pytest.mark.django_db
def test_schema_is_public_openapi_3(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert response.json()["info"]["title"] == "Latchkey management API"


@pytest.mark.django_db
def test_docs_page_serves_swagger_ui_from_this_server_not_a_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.django_db
def test_management_scopes_exist_and_only_m2m_apps_may_hold_them():
    management = list(Scope.objects.filter(name__in=["management:read", "management:write"]))
    assert len(management) == 2
    make_application(type="m2m", allowed_scopes=management)
    with pytest.raises(ValidationError) as caught:
        make_application(type="web", allowed_scopes=management)
    assert "management scopes are only for machine-to-machine apps" in caught.value.message_dict["allowed_scopes"][0]


@pytest.mark.django_db
def test_every_operation_documents_401_and_403_with_the_error_shape(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "ApiError" in schema["components"]["schemas"]
    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert len(operations) > 20
    for operation in operations:
        assert {"401", "403"} <= set(operation["responses"]), operation["operationId"]
