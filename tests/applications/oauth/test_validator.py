"""LatchkeyValidator.validate_refresh_token on its own, outside the token view's lock.

The token endpoint judges a refresh token on the row its lock read (tests/protocol/test_refresh.py);
a call without that lock reads the same row itself and applies the same rules.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from oauthlib.common import Request

from applications import policies
from applications.oauth.validator import LatchkeyValidator
from tests.applications.factories import GrantFactory, RefreshTokenFactory, make_application

pytestmark = pytest.mark.django_db
RefreshToken = get_refresh_token_model()


def _validate(raw: str, client) -> tuple[bool, Request]:
    request = Request("https://idp.example.com/oauth/token")
    return LatchkeyValidator().validate_refresh_token(raw, client, request), request


def test_a_live_token_of_this_client_is_valid_with_its_user_client_and_sign_in_time():
    token = RefreshTokenFactory(raw="live-refresh-token")
    signed_in = timezone.now() - timedelta(hours=2)
    GrantFactory(application=token.application, user=token.user, token_family=token.token_family, auth_time=signed_in)

    valid, request = _validate("live-refresh-token", token.application)

    assert valid
    assert request.user == token.user
    assert request.refresh_token == "live-refresh-token"
    assert request.latchkey_auth_time == signed_in
    with CaptureQueriesContext(connection) as queries:  # read with the token, not lazily
        assert request.refresh_token_instance.application == token.application
        assert request.refresh_token_instance.access_token.pk == token.access_token_id
    assert len(queries) == 0


def test_another_clients_token_is_invalid_and_its_family_untouched():
    token = RefreshTokenFactory(raw="someone-elses-token", revoked=timezone.now())
    sibling = RefreshTokenFactory(application=token.application, user=token.user, token_family=token.token_family)
    other, _ = make_application(type="web")

    valid, _ = _validate("someone-elses-token", other)

    assert not valid
    sibling.refresh_from_db()
    assert sibling.revoked is None


def test_a_revoked_token_presented_again_after_the_race_window_revokes_its_family():
    rotated = timezone.now() - timedelta(seconds=policies.LOST_RACE_SECONDS + 1)
    token = RefreshTokenFactory(raw="rotated-token", revoked=rotated)
    newest = RefreshTokenFactory(application=token.application, user=token.user, token_family=token.token_family)

    valid, _ = _validate("rotated-token", token.application)

    assert not valid
    newest.refresh_from_db()
    assert newest.revoked is not None


def test_a_token_rotated_moments_ago_is_a_lost_race_that_revokes_nothing():
    rotated = timezone.now() - timedelta(seconds=policies.LOST_RACE_SECONDS - 2)
    token = RefreshTokenFactory(raw="rotated-token", revoked=rotated)
    newest = RefreshTokenFactory(application=token.application, user=token.user, token_family=token.token_family)

    valid, _ = _validate("rotated-token", token.application)

    assert not valid
    newest.refresh_from_db()
    assert newest.revoked is None


@pytest.mark.parametrize("problem", ["unknown", "expired for the application", "orphaned", "user deactivated"])
def test_a_token_that_cannot_be_refreshed_is_invalid(problem):
    token = RefreshTokenFactory(raw="a-refresh-token")
    application = token.application
    if problem == "expired for the application":
        application.refresh_token_ttl = 3600
        application.save()
        RefreshToken.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(hours=2))
    elif problem == "orphaned":
        token.access_token.delete()
    elif problem == "user deactivated":
        token.user.is_active = False
        token.user.save()

    valid, _ = _validate("no-such-token" if problem == "unknown" else "a-refresh-token", application)

    assert not valid
