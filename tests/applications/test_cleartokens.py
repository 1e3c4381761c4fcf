"""`manage.py cleartokens`: what goes (dead rows, by each application's own lifetimes) and what stays."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_device_grant_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications import policies
from applications.management.commands.cleartokens import Command as CleartokensCommand
from applications.models import PreviousClientSecret, Scope, TokenRevocation
from applications.oauth.revocations import not_before_record
from consent.models import Consent
from tests.applications.factories import (
    AccessTokenFactory,
    DeviceGrantFactory,
    GrantFactory,
    IDTokenFactory,
    RefreshTokenFactory,
    make_application,
)
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()
Grant = get_grant_model()
DeviceGrant = get_device_grant_model()


def cleartokens(*args: str) -> str:
    """Run our command object itself: what `cleartokens` resolves to is tested on its own."""
    out = StringIO()
    call_command(CleartokensCommand(), *args, stdout=out)
    return out.getvalue()


def cleartokens_json(*args: str) -> dict:
    return json.loads(cleartokens(*args, "--json"))


def ago(**delta) -> timezone.datetime:
    return timezone.now() - timedelta(**delta)


def ids(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def web_app(**fields):
    return make_application(type="web", **fields)[0]


# ---------------------------------------------------------------------------------------------
# refresh tokens: per-application lifetimes
# ---------------------------------------------------------------------------------------------


def test_cleartokens_refresh_token_expires_by_its_own_apps_lifetime():
    short = web_app(name="Short", refresh_token_ttl=600)
    long = web_app(name="Long", refresh_token_ttl=86400)
    expired = RefreshTokenFactory(application=short, created=ago(hours=1))
    live = RefreshTokenFactory(application=long, created=ago(hours=1))

    result = cleartokens_json()

    assert ids(RefreshToken) == {live.pk}
    assert result["deleted"]["refresh_tokens_expired"] == 1
    assert not RefreshToken.objects.filter(pk=expired.pk).exists()


def test_cleartokens_refresh_token_just_inside_its_lifetime_stays():
    application = web_app(refresh_token_ttl=3600)
    inside = RefreshTokenFactory(application=application, created=ago(seconds=3500))
    outside = RefreshTokenFactory(application=application, created=ago(seconds=3700))

    cleartokens()

    assert ids(RefreshToken) == {inside.pk}
    assert not RefreshToken.objects.filter(pk=outside.pk).exists()


def test_cleartokens_expired_access_token_of_a_live_refresh_token_stays():
    """The toolkit refreshes against the access-token row: deleting it would orphan the refresh token."""
    application = web_app(refresh_token_ttl=86400)
    access = AccessTokenFactory(application=application, expires=ago(hours=2))
    refresh = RefreshTokenFactory(application=application, access_token=access, user=access.user)

    cleartokens()

    assert RefreshToken.objects.get(pk=refresh.pk).access_token_id == access.pk


def test_cleartokens_expired_refresh_token_takes_its_expired_access_token_with_it():
    application = web_app(refresh_token_ttl=600)
    access = AccessTokenFactory(application=application, expires=ago(hours=2))
    RefreshTokenFactory(application=application, access_token=access, user=access.user, created=ago(hours=3))

    result = cleartokens_json()

    assert ids(RefreshToken) == set() and ids(AccessToken) == set()
    assert result["deleted"]["refresh_tokens_expired"] == 1
    assert result["deleted"]["access_tokens_expired"] == 1


def test_cleartokens_expired_refresh_token_leaves_its_still_valid_access_token():
    application = web_app(refresh_token_ttl=300, access_token_ttl=3600)
    access = AccessTokenFactory(application=application, expires=timezone.now() + timedelta(minutes=50))
    RefreshTokenFactory(application=application, access_token=access, user=access.user, created=ago(minutes=10))

    cleartokens()

    assert ids(RefreshToken) == set()
    assert ids(AccessToken) == {access.pk}


# ---------------------------------------------------------------------------------------------
# refresh tokens: families and reuse detection
# ---------------------------------------------------------------------------------------------


def test_cleartokens_revoked_family_goes_whole():
    application = web_app(refresh_token_ttl=86400)
    first = RefreshTokenFactory(application=application, created=ago(minutes=30))
    second = RefreshTokenFactory(
        application=application, user=first.user, token_family=first.token_family, created=ago(minutes=20)
    )
    RefreshToken.revoke_family(first.token_family)  # a replay was detected
    other = RefreshTokenFactory(application=application)

    result = cleartokens_json()

    assert ids(RefreshToken) == {other.pk}
    assert result["deleted"]["refresh_families_revoked"] == 2
    assert not RefreshToken.objects.filter(pk__in=[first.pk, second.pk]).exists()


def test_cleartokens_rotated_token_of_a_live_family_stays_for_replay_detection():
    application = web_app(refresh_token_ttl=86400)
    old = RefreshTokenFactory(application=application, created=ago(hours=2), access_token=None, revoked=ago(hours=1))
    newest = RefreshTokenFactory(application=application, user=old.user, token_family=old.token_family)

    cleartokens()

    assert ids(RefreshToken) == {old.pk, newest.pk}


def test_cleartokens_rotated_token_past_its_lifetime_goes_while_the_family_lives():
    application = web_app(refresh_token_ttl=3600)
    old = RefreshTokenFactory(application=application, created=ago(hours=2), access_token=None, revoked=ago(hours=1))
    newest = RefreshTokenFactory(application=application, user=old.user, token_family=old.token_family)

    cleartokens()

    assert ids(RefreshToken) == {newest.pk}


def test_cleartokens_family_whose_only_unrevoked_member_expired_is_dead():
    application = web_app(refresh_token_ttl=3600)
    rotated = RefreshTokenFactory(
        application=application, created=ago(minutes=30), access_token=None, revoked=ago(minutes=20)
    )
    RefreshTokenFactory(
        application=application, user=rotated.user, token_family=rotated.token_family, created=ago(hours=2)
    )

    result = cleartokens_json()

    assert ids(RefreshToken) == set()
    assert result["deleted"]["refresh_tokens_expired"] == 1
    assert result["deleted"]["refresh_families_revoked"] == 1


def test_cleartokens_unrevoked_refresh_token_without_access_token_goes():
    """An orphan (its access token deleted out of band) is refused by the toolkit: nothing can use it."""
    orphan = RefreshTokenFactory(access_token=None, token_family=None)

    result = cleartokens_json()

    assert not RefreshToken.objects.filter(pk=orphan.pk).exists()
    assert result["deleted"]["refresh_tokens_unusable"] == 1


# ---------------------------------------------------------------------------------------------
# access tokens, ID tokens, codes, device codes
# ---------------------------------------------------------------------------------------------


def test_cleartokens_access_tokens_past_expiry_go_live_ones_stay():
    application = web_app()
    expired = AccessTokenFactory(application=application, expires=ago(seconds=1))
    live = AccessTokenFactory(application=application)

    result = cleartokens_json()

    assert ids(AccessToken) == {live.pk}
    assert result["deleted"]["access_tokens_expired"] == 1
    assert not AccessToken.objects.filter(pk=expired.pk).exists()


def test_cleartokens_id_tokens_past_expiry_go_unless_a_kept_access_token_holds_them():
    application = web_app(refresh_token_ttl=86400)
    loose = IDTokenFactory(application=application, expires=ago(minutes=1))
    live = IDTokenFactory(application=application)
    held = IDTokenFactory(application=application, expires=ago(minutes=1))
    # an expired access token kept because a live refresh token points at it, holding an expired ID token
    access = AccessTokenFactory(application=application, id_token=held, expires=ago(minutes=1))
    RefreshTokenFactory(application=application, access_token=access, user=access.user)
    # an expired access token nothing needs, with its expired ID token: both go
    gone_id = IDTokenFactory(application=application, expires=ago(minutes=1))
    AccessTokenFactory(application=application, id_token=gone_id, expires=ago(minutes=1))

    result = cleartokens_json()

    assert ids(IDToken) == {live.pk, held.pk}
    assert ids(AccessToken) == {access.pk}
    assert result["deleted"]["id_tokens_expired"] == 2
    assert not IDToken.objects.filter(pk=loose.pk).exists()


def test_cleartokens_authorization_codes_go_after_expiry_redeemed_or_not():
    application = web_app()
    expired = GrantFactory(application=application, expires=ago(seconds=5))
    expired_redeemed = GrantFactory(application=application, expires=ago(seconds=5), redeemed_at=ago(seconds=50))
    pending = GrantFactory(application=application)
    # Redeemed but not expired: a second redemption must still be recognised (RFC 6749 §4.1.2).
    redeemed = GrantFactory(application=application, redeemed_at=ago(seconds=1))

    result = cleartokens_json()

    assert ids(Grant) == {pending.pk, redeemed.pk}
    assert result["deleted"]["authorization_codes_expired"] == 2
    assert not Grant.objects.filter(pk__in=[expired.pk, expired_redeemed.pk]).exists()


def test_cleartokens_device_codes_go_after_expiry_whatever_their_status():
    pending_expired = DeviceGrantFactory(expires=ago(minutes=1))
    denied_expired = DeviceGrantFactory(expires=ago(minutes=1), status="denied")
    authorized_expired = DeviceGrantFactory(expires=ago(minutes=1), status="authorized")
    pending = DeviceGrantFactory()

    result = cleartokens_json()

    assert ids(DeviceGrant) == {pending.pk}
    assert result["deleted"]["device_codes_expired"] == 3
    assert not DeviceGrant.objects.filter(pk__in=[pending_expired.pk, denied_expired.pk, authorized_expired.pk])


def test_cleartokens_rotated_out_secrets_go_after_their_grace_period():
    application = web_app()
    ended = PreviousClientSecret.objects.create(application=application, secret_hash="x", expires_at=ago(seconds=1))
    in_grace = PreviousClientSecret.objects.create(
        application=application, secret_hash="y", expires_at=timezone.now() + timedelta(hours=1)
    )

    result = cleartokens_json()

    assert ids(PreviousClientSecret) == {in_grace.pk}
    assert result["deleted"]["previous_client_secrets_expired"] == 1
    assert not PreviousClientSecret.objects.filter(pk=ended.pk).exists()


def test_cleartokens_not_before_entries_go_once_no_token_they_cover_is_alive():
    lifetime = timedelta(seconds=policies.ACCESS_TOKEN_TTL_MAX)
    not_before_record(subject="gone", client_id="app", reason="signed_out", at=ago(seconds=1) - lifetime)
    not_before_record(subject="kept", client_id="app", reason="signed_out", at=ago(seconds=-5) - lifetime)

    result = cleartokens_json()

    assert result["deleted"]["not_before_entries_expired"] == 1
    assert list(TokenRevocation.objects.values_list("subject", flat=True)) == ["kept"]


def test_cleartokens_leaves_consents_of_deactivated_users():
    application = web_app()
    user = UserFactory(is_active=False)
    consent = Consent.objects.create(user=user, application=application, scopes=["openid"])

    cleartokens()

    assert Consent.objects.filter(pk=consent.pk).exists()


# ---------------------------------------------------------------------------------------------
# batches, dry run, output
# ---------------------------------------------------------------------------------------------


def test_cleartokens_batch_size_two_deletes_five_rows_in_three_deletes():
    application = web_app()
    for _ in range(5):
        GrantFactory(application=application, expires=ago(minutes=1))
    table = Grant._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        result = cleartokens_json("--batch-size", "2")

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and table in q["sql"]]
    assert len(deletes) == 3
    assert result["deleted"]["authorization_codes_expired"] == 5
    assert Grant.objects.count() == 0


def test_cleartokens_dry_run_deletes_nothing_and_counts_what_a_real_run_deletes():
    application = web_app(refresh_token_ttl=600)
    GrantFactory(application=application, expires=ago(minutes=1))
    DeviceGrantFactory(expires=ago(minutes=1))
    IDTokenFactory(application=application, expires=ago(minutes=1))
    access = AccessTokenFactory(application=application, expires=ago(hours=1))
    RefreshTokenFactory(application=application, access_token=access, user=access.user, created=ago(hours=1))
    revoked = RefreshTokenFactory(application=application, access_token=None, revoked=ago(minutes=1))
    RefreshTokenFactory(application=application, access_token=None, revoked=ago(minutes=1))
    live = RefreshTokenFactory(application=application)
    before = {model: ids(model) for model in (AccessToken, RefreshToken, IDToken, Grant, DeviceGrant)}

    dry = cleartokens_json("--dry-run")

    assert {model: ids(model) for model in before} == before
    assert dry["dry_run"] is True
    real = cleartokens_json()
    assert real["dry_run"] is False
    assert real["deleted"] == dry["deleted"]
    assert dry["total"] == 7
    assert ids(RefreshToken) == {live.pk}
    assert not RefreshToken.objects.filter(pk=revoked.pk).exists()


def test_cleartokens_text_output_lists_every_kind_with_its_count():
    GrantFactory(expires=ago(minutes=1))

    lines = cleartokens("--dry-run").splitlines()

    assert lines[0] == "Would delete (dry run, nothing deleted):"
    counts = dict(line.strip().rsplit("  ", 1) for line in lines[1:-1])
    assert {label.strip(): int(n) for label, n in counts.items()} == {
        "refresh tokens past their lifetime": 0,
        "refresh tokens of revoked families": 0,
        "refresh tokens that can no longer refresh": 0,
        "access tokens past expiry": 0,
        "ID tokens past expiry": 0,
        "authorization codes past expiry": 1,
        "device codes past expiry": 0,
        "rotated-out client secrets past their grace period": 0,
        "not-before entries past the longest access-token lifetime": 0,
        "daily usage counts past retention": 0,
        "daily active users past retention": 0,
    }
    assert lines[-1] == "Total: 1 row."
    assert Grant.objects.count() == 1


def test_cleartokens_on_an_empty_database_deletes_nothing():
    assert cleartokens_json()["total"] == 0


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_cleartokens_bad_batch_size_is_a_one_line_error(value):
    with pytest.raises(CommandError) as exc_info:
        cleartokens("--batch-size", value)

    assert "\n" not in str(exc_info.value)
    assert "at least 1" in str(exc_info.value)


# ---------------------------------------------------------------------------------------------
# a live refresh token still refreshes afterwards
# ---------------------------------------------------------------------------------------------


def test_cleartokens_never_breaks_a_live_refresh(client):
    scopes = Scope.objects.filter(name__in=["openid", "offline_access"])
    application, secret = make_application(type="web", allowed_scopes=scopes, refresh_token_ttl=86400)
    user = UserFactory()
    # The client comes back long after its access token expired, within the refresh lifetime;
    # its family has a rotated-out token, and the app has plenty of dead rows around it.
    access = AccessTokenFactory(application=application, user=user, expires=ago(hours=5))
    live = RefreshTokenFactory(
        application=application, user=user, access_token=access, raw="the-live-refresh-token", created=ago(hours=6)
    )
    RefreshTokenFactory(
        application=application,
        user=user,
        token_family=live.token_family,
        access_token=None,
        revoked=ago(hours=6),
        created=ago(hours=7),
    )
    GrantFactory(application=application, user=user, expires=ago(hours=7), redeemed_at=ago(hours=7))
    AccessTokenFactory(application=application, user=user, expires=ago(hours=8))

    cleartokens()
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": "the-live-refresh-token"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"] != "the-live-refresh-token"
    assert body["access_token"]


# ---------------------------------------------------------------------------------------------
# the name resolves to ours, not django-oauth-toolkit's
# ---------------------------------------------------------------------------------------------


def test_cleartokens_name_runs_latchkeys_command_not_the_toolkits():
    from django.core.management import get_commands, load_command_class

    assert get_commands()["cleartokens"] == "applications"
    assert isinstance(load_command_class(get_commands()["cleartokens"], "cleartokens"), CleartokensCommand)
    # and it does what only ours does: the toolkit's never deletes device grants
    DeviceGrantFactory(expires=ago(minutes=1))
    out = StringIO()
    call_command("cleartokens", "--json", stdout=out)
    assert json.loads(out.getvalue())["deleted"]["device_codes_expired"] == 1
    assert DeviceGrant.objects.count() == 0
