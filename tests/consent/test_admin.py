"""The admin console for consents, driven through real admin URLs: list, search, revoke, and the delete paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from consent.models import Consent
from consent.services import consent_grant
from tests.applications.factories import make_application
from tests.conftest import staff_sign_in
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:consent_consent_changelist")
ACTION = "revoke_consents"
AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()


def change_url(consent: Consent) -> str:
    return reverse("admin:consent_consent_change", args=[consent.pk])


def delete_url(consent: Consent) -> str:
    return reverse("admin:consent_consent_delete", args=[consent.pk])


def grant(user, application, scopes=("openid", "email")) -> Consent:
    return consent_grant(user=user, application=application, scopes=scopes)


def issue_tokens(user, application) -> tuple:
    access = AccessToken.objects.create(
        user=user,
        application=application,
        token=f"access-{user.pk}-{application.pk}",
        expires=timezone.now() + timedelta(hours=1),
        scope="openid",
    )
    refresh = RefreshToken.objects.create(
        user=user, application=application, token=f"refresh-{user.pk}-{application.pk}", access_token=access
    )
    return access, refresh


def live_tokens(user, application) -> tuple[int, int]:
    return (
        AccessToken.objects.filter(user=user, application=application).count(),
        RefreshToken.objects.filter(user=user, application=application, revoked__isnull=True).count(),
    )


@pytest.fixture
def ada():
    return UserFactory(email="ada@example.com")


@pytest.fixture
def bob():
    return UserFactory(email="bob@example.com")


@pytest.fixture
def streaming():
    return make_application(type="web", name="Streaming")[0]


@pytest.fixture
def billing():
    return make_application(type="web", name="Billing")[0]


@pytest.fixture
def view_only_client(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_consent"))
    staff_sign_in(client, staff)
    return client


# -- list and search --


def test_changelist_lists_user_application_scopes_and_dates(admin_client, ada, streaming):
    grant(ada, streaming)

    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "ada@example.com" in page and "Streaming" in page
    assert "email openid" in page
    for column in ("column-granted_at", "column-updated_at", "column-scope_list"):
        assert column in page


@pytest.mark.parametrize("query", ["ada@example", "Stream", "client_id"])
def test_changelist_search_by_email_app_name_or_client_id_finds_only_matches(
    admin_client, ada, bob, streaming, billing, query
):
    grant(ada, streaming)
    grant(bob, billing)
    if query == "client_id":
        query = streaming.client_id

    response = admin_client.get(CHANGELIST_URL, {"q": query})

    assert [c.application for c in response.context["cl"].result_list] == [streaming]


def test_changelist_filter_by_application(admin_client, ada, bob, streaming, billing):
    grant(ada, streaming)
    grant(bob, billing)

    response = admin_client.get(CHANGELIST_URL, {"application__id__exact": billing.pk})

    assert [c.user for c in response.context["cl"].result_list] == [bob]


def test_changelist_query_count_is_the_same_for_one_and_five_consents(admin_client, ada, streaming):
    grant(ada, streaming)
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(CHANGELIST_URL).status_code == 200
    for _ in range(4):
        grant(UserFactory(), make_application(type="web")[0])

    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(CHANGELIST_URL).status_code == 200

    # list_select_related: users and applications come with the consents, not one query per row.
    assert len(five) == len(one)


def test_changelist_query_budget(admin_client, ada, streaming, django_assert_max_num_queries):
    grant(ada, streaming)

    with django_assert_max_num_queries(6):
        assert admin_client.get(CHANGELIST_URL).status_code == 200


# -- read only --


def test_consents_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:consent_consent_add")).status_code == 403


def test_consent_change_page_is_read_only(admin_client, ada, streaming):
    consent = grant(ada, streaming)

    page = admin_client.get(change_url(consent))
    posted = admin_client.post(change_url(consent), {"scopes": '["everything"]'})

    assert page.status_code == 200
    assert 'name="scopes"' not in page.content.decode()
    assert posted.status_code == 403
    consent.refresh_from_db()
    assert consent.scopes == ["email", "openid"]


# -- revoking --


def test_revoke_action_deletes_consents_and_revokes_their_tokens_only(admin_client, ada, bob, streaming, billing):
    revoked = grant(ada, streaming)
    kept_same_user = grant(ada, billing)
    kept_same_app = grant(bob, streaming)
    for user, application in [(ada, streaming), (ada, billing), (bob, streaming)]:
        issue_tokens(user, application)

    response = admin_client.post(CHANGELIST_URL, {"action": ACTION, "_selected_action": [revoked.pk]}, follow=True)

    assert response.status_code == 200
    assert "Revoked 1 consent(s) and the tokens they allowed." in response.content.decode()
    assert set(Consent.objects.values_list("pk", flat=True)) == {kept_same_user.pk, kept_same_app.pk}
    assert live_tokens(ada, streaming) == (0, 0)
    assert live_tokens(ada, billing) == (1, 1)
    assert live_tokens(bob, streaming) == (1, 1)
    entry = LogEntry.objects.get()
    assert entry.action_flag == DELETION and entry.object_id == str(revoked.pk)


def test_revoke_action_on_several_consents(admin_client, ada, bob, streaming):
    consents = [grant(ada, streaming), grant(bob, streaming)]
    issue_tokens(ada, streaming)
    issue_tokens(bob, streaming)

    admin_client.post(CHANGELIST_URL, {"action": ACTION, "_selected_action": [c.pk for c in consents]})

    assert not Consent.objects.exists()
    assert live_tokens(ada, streaming) == live_tokens(bob, streaming) == (0, 0)


def test_delete_page_goes_through_consent_revoke_so_tokens_die(admin_client, ada, streaming):
    consent = grant(ada, streaming)
    issue_tokens(ada, streaming)

    response = admin_client.post(delete_url(consent), {"post": "yes"})

    assert response.status_code == 302
    assert not Consent.objects.exists()
    assert live_tokens(ada, streaming) == (0, 0)


def test_delete_selected_goes_through_consent_revoke_so_tokens_die(admin_client, ada, bob, streaming):
    consents = [grant(ada, streaming), grant(bob, streaming)]
    issue_tokens(ada, streaming)
    issue_tokens(bob, streaming)

    response = admin_client.post(
        CHANGELIST_URL,
        {"action": "delete_selected", "_selected_action": [c.pk for c in consents], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Consent.objects.exists()
    assert live_tokens(ada, streaming) == live_tokens(bob, streaming) == (0, 0)


def test_revoke_action_query_budget(admin_client, ada, streaming, django_assert_max_num_queries):
    consent = grant(ada, streaming)
    issue_tokens(ada, streaming)

    # +2 since the audit log: the consent is read once to record it, then deleted, then the record is written.
    # +3 for the outbox: consent.revoked, the (user, application) pairs that held tokens, tokens.revoked.
    with django_assert_max_num_queries(25):
        response = admin_client.post(CHANGELIST_URL, {"action": ACTION, "_selected_action": [consent.pk]})

    assert response.status_code == 302


# -- view-only staff --


def test_view_only_staff_sees_the_list_but_is_not_offered_revoke(view_only_client, ada, streaming):
    grant(ada, streaming)

    response = view_only_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert "ada@example.com" in response.content.decode()
    assert ACTION not in response.content.decode()
    assert "delete_selected" not in response.content.decode()


def test_view_only_staff_cannot_revoke_or_delete(view_only_client, ada, streaming):
    consent = grant(ada, streaming)
    issue_tokens(ada, streaming)

    view_only_client.post(CHANGELIST_URL, {"action": ACTION, "_selected_action": [consent.pk]})
    deleted = view_only_client.post(delete_url(consent), {"post": "yes"})

    assert deleted.status_code == 403
    assert Consent.objects.filter(pk=consent.pk).exists()
    assert live_tokens(ada, streaming) == (1, 1)
