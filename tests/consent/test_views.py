"""The end user's authorised-apps page (/account/apps) and its revoke button, through the Django test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.models import Scope
from consent.models import Consent
from consent.services import consent_grant
from tests.applications.factories import ScopeFactory, make_application, not_before_entries
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

MY_APPS = "/account/apps"
CALLBACK = "https://rp.example.com/callback"


def revoke_url(consent: Consent) -> str:
    return reverse("consent:revoke", args=[consent.pk])


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def scopes(db):
    """Transactional tests elsewhere flush the data-migration scopes; these tests bring their own."""
    catalogue = [("openid", "Sign you in"), ("email", "See your email address"), ("offline_access", "Stay signed in")]
    for name, description in catalogue:
        Scope.objects.update_or_create(name=name, defaults={"description": description, "resource": None})


def grant(user, *, scopes=("openid",), **app_fields) -> Consent:
    application = make_application(type="web", **app_fields)[0]
    return consent_grant(user=user, application=application, scopes=scopes)


# -- the list --


def test_my_apps_url_name_is_account_apps():
    assert reverse("consent:my-apps") == MY_APPS


def test_my_apps_lists_own_consents_with_scope_descriptions_and_dates(signed_in, user, scopes):
    stream = ScopeFactory(name="stream:live", description="Watch live streams")
    consent = grant(user, scopes=["openid", "email", stream.name], name="Streaming", description="Live sport, all day.")
    Consent.objects.filter(pk=consent.pk).update(
        granted_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        updated_at=datetime(2024, 6, 2, 17, 45, tzinfo=UTC),
    )
    grant(UserFactory(), name="Someone Else's App")

    response = signed_in.get(MY_APPS)

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="authorized-app"') == 1
    assert page.count('data-testid="authorized-app-revoke"') == 1
    assert "Streaming" in page and "Live sport, all day." in page
    assert "Someone Else&#x27;s App" not in page and "Someone Else's App" not in page
    for description in ("Sign you in", "See your email address", "Watch live streams"):
        assert description in page
    assert 'datetime="2024-03-01T09:30:00+00:00"' in page
    assert 'datetime="2024-06-02T17:45:00+00:00"' in page
    assert "1 March 2024" in page and "2 June 2024" in page


def test_my_apps_scope_missing_from_catalogue_is_shown_by_name(signed_in, user, scopes):
    grant(user, scopes=["openid", "legacy:read"])

    page = signed_in.get(MY_APPS).content.decode()

    assert "Sign you in" in page
    assert "legacy:read" in page


def test_my_apps_shows_logo_when_branded_and_initial_otherwise(signed_in, user, scopes):
    grant(user, name="Branded", branding={"logo_url": "https://cdn.example.com/logo.png"})
    grant(user, name="plain")

    page = signed_in.get(MY_APPS).content.decode()

    assert 'src="https://cdn.example.com/logo.png" alt="Branded logo"' in page
    assert '<span class="brand-initial" aria-hidden="true">P</span>' in page


def test_my_apps_without_consents_shows_empty_state(signed_in):
    response = signed_in.get(MY_APPS)

    assert response.status_code == 200
    assert "You have not authorised any applications." in response.content.decode()
    assert 'data-testid="authorized-app"' not in response.content.decode()


def test_my_apps_revoke_button_is_a_plain_post_form_with_csrf(signed_in, user, scopes):
    consent = grant(user)

    page = signed_in.get(MY_APPS).content.decode()

    form = re.search(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrfmiddlewaretoken"', page)
    assert form is not None and form.group(1) == revoke_url(consent)
    assert re.search(r'<button type="submit"[^>]*data-testid="authorized-app-revoke"', page)


def test_my_apps_cannot_be_framed_and_runs_no_script(signed_in, user, scopes):
    grant(user)

    response = signed_in.get(MY_APPS)

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'none'" in response["Content-Security-Policy"]
    assert "<script" not in response.content.decode()


def test_my_apps_anonymous_is_sent_to_sign_in(client):
    response = client.get(MY_APPS)

    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/apps"


def test_my_apps_inactive_user_is_treated_as_signed_out(client, user):
    client.force_login(user)
    user.is_active = False
    user.save()

    response = client.get(MY_APPS)

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_my_apps_post_is_not_allowed(signed_in):
    assert signed_in.post(MY_APPS).status_code == 405


# -- revoking --


def test_revoke_deletes_consent_and_redirects_back_with_message(signed_in, user, scopes):
    consent = grant(user, name="Streaming")
    kept = grant(user, name="Kept")

    response = signed_in.post(revoke_url(consent), follow=True)

    assert response.redirect_chain == [(MY_APPS, 302)]
    page = response.content.decode()
    assert "Streaming can no longer access your account." in page
    assert page.count('data-testid="authorized-app"') == 1
    assert "Kept" in page
    assert list(Consent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_revoke_revokes_that_apps_tokens_so_an_earlier_refresh_token_is_invalid_grant(signed_in, user, scopes):
    """A real code flow through /oauth/authorize and /oauth/token, then the page's revoke button."""
    allowed = list(Scope.objects.filter(name__in=["openid", "offline_access"]))
    application, secret = make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed)
    consent_grant(user=user, application=application, scopes=["openid", "offline_access"])
    response = signed_in.get(
        "/oauth/authorize",
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid offline_access",
        },
    )
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    credentials = {"client_id": application.client_id, "client_secret": secret}
    tokens = signed_in.post(
        "/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **credentials}
    ).json()
    assert "refresh_token" in tokens

    signed_in.post(revoke_url(Consent.objects.get(user=user, application=application)))

    refreshed = signed_in.post(
        "/oauth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **credentials}
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    userinfo = Client().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401
    assert not get_access_token_model().objects.filter(user=user, application=application).exists()
    assert not get_refresh_token_model().objects.filter(revoked__isnull=True).exists()


def test_revoke_ends_the_users_jwt_access_tokens_at_that_app(signed_in, user, scopes):
    consent = grant(user)

    assert signed_in.post(revoke_url(consent)).status_code == 302

    assert not_before_entries() == {(str(user.public_id), consent.application.client_id, "consent_revoked")}


def test_revoke_of_another_users_consent_is_404_and_changes_nothing(signed_in, scopes):
    theirs = grant(UserFactory())

    response = signed_in.post(revoke_url(theirs))

    assert response.status_code == 404
    assert Consent.objects.filter(pk=theirs.pk).exists()


def test_revoke_of_unknown_consent_is_404(signed_in):
    assert signed_in.post(reverse("consent:revoke", args=[987654])).status_code == 404


def test_revoke_of_non_numeric_id_is_404(signed_in):
    assert signed_in.post(f"{MY_APPS}/not-a-number/revoke").status_code == 404


def test_revoke_of_out_of_range_id_is_404(signed_in):
    assert signed_in.post(f"{MY_APPS}/{'9' * 30}/revoke").status_code == 404


def test_revoke_twice_is_404_the_second_time(signed_in, user, scopes):
    consent = grant(user)
    signed_in.post(revoke_url(consent))

    assert signed_in.post(revoke_url(consent)).status_code == 404


def test_revoke_get_is_405_and_changes_nothing(signed_in, user, scopes):
    consent = grant(user)

    response = signed_in.get(revoke_url(consent))

    assert response.status_code == 405
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_revoke_anonymous_is_sent_to_sign_in_and_changes_nothing(client, user, scopes):
    consent = grant(user)

    response = client.post(revoke_url(consent))

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_revoke_without_csrf_token_is_403_and_changes_nothing(user, scopes):
    consent = grant(user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(revoke_url(consent))

    assert response.status_code == 403
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_revoke_with_the_pages_csrf_token_succeeds(user, scopes):
    consent = grant(user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    token = csrf_token_of(browser.get(MY_APPS).content.decode())

    response = browser.post(revoke_url(consent), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert not Consent.objects.exists()


# -- query budgets --


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(MY_APPS)
    assert response.status_code == 200
    return len(captured)


def test_my_apps_query_count_is_the_same_for_one_and_five_consents(
    signed_in, user, scopes, django_assert_max_num_queries
):
    grant(user, scopes=["openid", "email"], branding={"logo_url": "https://cdn.example.com/1.png"})
    with django_assert_max_num_queries(4):
        one = count_queries(signed_in)
    for n in range(4):
        grant(user, scopes=["openid", f"extra{n}:read"], **({"branding": {"primary_color": "#112233"}} if n else {}))
    assert Consent.objects.filter(user=user).count() == 5

    with django_assert_max_num_queries(4):
        five = count_queries(signed_in)

    assert five == one


def test_revoke_query_budget(signed_in, user, scopes, django_assert_max_num_queries):
    consent = grant(user)
    later = timezone.now() + timedelta(hours=1)
    access = get_access_token_model().objects.create(
        user=user, application=consent.application, token="budget-access", expires=later, scope="openid"
    )
    get_refresh_token_model().objects.create(
        user=user, application=consent.application, token="budget-refresh", access_token=access
    )

    # 2 of them record the revocation in the audit log (the consent read once, the event written);
    # +3 for the outbox: consent.revoked, the (user, application) pairs that held tokens, tokens.revoked;
    # +1 for the not-before entry that revokes the pair's JWT access tokens.
    with django_assert_max_num_queries(19):
        response = signed_in.post(revoke_url(consent))

    assert response.status_code == 302
