"""ETag / If-Match across the management API: a stale write is refused with 412 and changes nothing."""

from __future__ import annotations

import pytest

from applications.models import ApiResource, Application
from identity.models import Role, User
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def role() -> tuple[str, dict, callable]:
    obj = RoleFactory(name="team:etag", description="before")
    return f"/api/roles/{obj.pk}", {"description": "after"}, lambda: Role.objects.get(pk=obj.pk).description


def user() -> tuple[str, dict, callable]:
    obj = UserFactory(name="Before")
    return f"/api/users/{obj.pk}", {"name": "After"}, lambda: User.objects.get(pk=obj.pk).name


def resource() -> tuple[str, dict, callable]:
    obj = ApiResource.objects.create(identifier="https://api.example.com/etag", name="Before")
    return f"/api/resources/{obj.pk}", {"name": "After"}, lambda: ApiResource.objects.get(pk=obj.pk).name


def application() -> tuple[str, dict, callable]:
    obj, _ = make_application(type="web", description="Before")
    return (
        f"/api/applications/{obj.pk}",
        {"description": "After"},
        lambda: Application.objects.get(pk=obj.pk).description,
    )


KINDS = pytest.mark.parametrize(
    "make", [role, user, resource, application], ids=["role", "user", "resource", "application"]
)


@KINDS
def test_read_gives_an_etag_and_a_write_with_it_succeeds(writer, make):
    url, change, _ = make()
    etag = writer.get(url)["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    response = writer.patch(url, change, HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert writer.get(url)["ETag"] == response["ETag"]


@KINDS
def test_stale_if_match_is_412_and_changes_nothing(writer, make):
    url, change, current = make()
    stale = writer.get(url)["ETag"]
    writer.patch(url, change)  # someone else's write
    before = current()

    response = writer.patch(url, {k: "lost update" for k in change}, HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"
    assert current() == before


@KINDS
def test_star_and_lists_of_tags_match(writer, make):
    url, change, _ = make()
    etag = writer.get(url)["ETag"]
    assert writer.patch(url, change, HTTP_IF_MATCH="*").status_code == 200
    etag = writer.get(url)["ETag"]
    assert writer.patch(url, change, HTTP_IF_MATCH=f'"other", {etag}').status_code == 200


@pytest.mark.parametrize("make", [role, resource, application], ids=["role", "resource", "application"])
def test_stale_delete_is_412_and_deletes_nothing(writer, make):
    url, change, current = make()
    stale = writer.get(url)["ETag"]
    writer.patch(url, change)

    assert writer.delete(url, HTTP_IF_MATCH=stale).status_code == 412
    assert current() == next(iter(change.values()))


def test_stale_user_deactivation_is_412(writer):
    url, change, _ = user()
    stale = writer.get(url)["ETag"]
    writer.patch(url, change)

    assert writer.post(f"{url}/deactivate", HTTP_IF_MATCH=stale).status_code == 412
    assert User.objects.get(pk=url.rsplit("/", 1)[1]).is_active


def test_stale_regenerate_secret_is_412_and_keeps_the_secret(writer):
    application, _ = make_application(type="web")
    url = f"/api/applications/{application.pk}"
    stale = writer.get(url)["ETag"]
    writer.patch(url, {"description": "changed elsewhere"})
    stored = Application.objects.get(pk=application.pk).client_secret

    response = writer.post(f"{url}/regenerate-secret", {}, HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert "client_secret" not in response.json()
    assert Application.objects.get(pk=application.pk).client_secret == stored
    fresh = writer.get(url)["ETag"]
    assert writer.post(f"{url}/regenerate-secret", {}, HTTP_IF_MATCH=fresh).status_code == 200


def test_application_etag_follows_what_a_client_reads_not_only_the_row(writer):
    """The ETag hashes the representation, as for every resource: the owner's new email is a new version."""
    owner = UserFactory(email="before@example.com")
    app, _ = make_application(type="web", owner=owner)
    url = f"/api/applications/{app.pk}"
    stale = writer.get(url)["ETag"]
    User.objects.filter(pk=owner.pk).update(email="after@example.com")

    fresh = writer.get(url)
    assert fresh.json()["owner"] == "after@example.com"
    assert fresh["ETag"] != stale
    assert writer.patch(url, {"description": "x"}, HTTP_IF_MATCH=stale).status_code == 412
    assert writer.patch(url, {"description": "x"}, HTTP_IF_MATCH=fresh["ETag"]).status_code == 200


def test_application_write_response_etag_is_the_one_a_read_gives(writer):
    created = writer.post(
        "/api/applications",
        {"name": "Portal", "type": "web", "redirect_uris": ["https://portal.example.com/cb"]},
        format="json",
    )
    url = f"/api/applications/{created.json()['id']}"
    assert created["ETag"] == writer.get(url)["ETag"]
    rotated = writer.post(f"{url}/regenerate-secret", {}, HTTP_IF_MATCH=created["ETag"])
    assert rotated.status_code == 200
    assert rotated["ETag"] == writer.get(url)["ETag"]
