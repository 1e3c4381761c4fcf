"""Signing keys: generation on demand, rotation and retention, the memo, encryption at rest,
the `manage.py keys` command, the E006 check and the read-only admin."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from jwcrypto import jwk, jwt

from applications import policies
from applications.models import SigningKey
from applications.oauth import keys, views
from config import checks as latchkey_checks

pytestmark = pytest.mark.django_db

JWKS_URL = reverse("oauth:jwks")
DISCOVERY_URL = reverse("oauth:discovery")


@pytest.fixture(autouse=True)
def cold_memo():
    """The memo is per process: start and end every test without one."""
    keys.clear_cache()
    views._discovery_memo.clear()
    yield
    keys.clear_cache()
    views._discovery_memo.clear()


def published_kids() -> list[str]:
    return [k["kid"] for k in json.loads(keys.current().jwks_json)["keys"]]


def age(key: SigningKey, **delta) -> None:
    """Pretend `key` was created that long ago."""
    SigningKey.objects.filter(pk=key.pk).update(created=timezone.now() - timedelta(**delta))
    keys.clear_cache()


def signed_by_current(claims: dict | None = None) -> str:
    keyset = keys.current()
    token = jwt.JWT(
        header={"alg": keyset.signing.algorithm, "kid": keyset.signing.kid},
        claims=claims or {"sub": "x", "exp": int(time.time()) + 60},
    )
    token.make_signed_token(keyset.signing_jwk)
    return token.serialize()


# --- generation and algorithms ---------------------------------------------------------------------


def test_first_use_without_keys_generates_an_rs256_key():
    assert not SigningKey.objects.exists()

    keyset = keys.current()

    key = SigningKey.objects.get()
    assert keyset.signing == key
    assert key.algorithm == "RS256" and key.retired_at is None
    jwks = json.loads(keyset.jwks_json)["keys"]
    assert [(k["kid"], k["kty"], k["alg"], k["use"]) for k in jwks] == [(key.kid, "RSA", "RS256", "sig")]
    assert "d" not in jwks[0] and "p" not in jwks[0]  # public parts only


def test_first_use_with_es256_setting_generates_a_p256_key(settings):
    settings.LATCHKEY_SIGNING_ALGORITHM = "ES256"

    keyset = keys.current()

    assert keyset.signing.algorithm == "ES256"
    (published,) = json.loads(keyset.jwks_json)["keys"]
    assert (published["kty"], published["crv"], published["alg"]) == ("EC", "P-256", "ES256")
    assert "d" not in published


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_token_signed_by_current_key_verifies_with_key_for_kid(algorithm):
    keys.generate_key(algorithm)
    token = signed_by_current()

    public = keys.key_for_kid(keys.current().signing.kid)

    assert json.loads(jwt.JWT(jwt=token, key=public).claims)["sub"] == "x"
    assert not public.has_private


def test_generate_key_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="HS256"):
        keys.generate_key("HS256")
    assert not SigningKey.objects.exists()


# --- rotation, propagation and retention -------------------------------------------------------------


def test_rotation_publishes_old_and_new_keys_and_the_new_one_signs():
    old = keys.generate_key()

    new = keys.signing_key_rotate()

    old.refresh_from_db()
    assert old.retired_at is not None and old.published_until > timezone.now()
    assert set(published_kids()) == {old.kid, new.kid}
    assert keys.current().signing == new  # LATCHKEY_KEY_CACHE_SECONDS=0 in tests: no propagation delay


def test_rotation_uses_configured_algorithm_unless_told(settings):
    keys.generate_key("RS256")
    settings.LATCHKEY_SIGNING_ALGORITHM = "ES256"
    assert keys.signing_key_rotate().algorithm == "ES256"
    assert keys.signing_key_rotate(algorithm="RS256").algorithm == "RS256"


def test_new_key_signs_only_after_every_process_and_cached_jwks_lists_it(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key()
    age(old, days=30)

    new = keys.signing_key_rotate()

    keyset = keys.current()
    assert keyset.signing == old, "the old key keeps signing while the new one propagates"
    assert set(published_kids()) == {old.kid, new.kid}
    age(new, seconds=119)
    assert keys.current().signing == old
    age(new, seconds=121)  # 2 × LATCHKEY_KEY_CACHE_SECONDS: processes (c) + relying parties' JWKS caches (c)
    assert keys.current().signing == new


def test_retired_key_stays_published_until_tokens_signed_during_propagation_expire(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key()

    keys.signing_key_rotate()

    old.refresh_from_db()
    kept = (old.published_until - old.retired_at).total_seconds()
    longest = max(policies.ID_TOKEN_TTL_MAX, policies.ACCESS_TOKEN_TTL_MAX)
    # the old key may sign until 3c after retirement (2c propagation + c stale memo elsewhere)
    assert kept >= longest + 3 * 60


def test_retired_key_leaves_jwks_after_published_until_but_still_verifies_logout_hints():
    old = keys.generate_key()
    hint = signed_by_current({"sub": "x", "exp": int(time.time()) - 3600})
    keys.signing_key_rotate()
    SigningKey.objects.filter(pk=old.pk).update(published_until=timezone.now() - timedelta(seconds=1))
    keys.clear_cache()

    assert old.kid not in published_kids()
    assert keys.key_for_kid(old.kid) is not None
    verified = jwt.JWT(jwt=hint, key=keys.key_for_kid(old.kid), check_claims={})
    assert json.loads(verified.claims)["sub"] == "x"

    gone = timezone.now() - keys.hint_retention() - timedelta(seconds=1)
    SigningKey.objects.filter(pk=old.pk).update(published_until=gone)
    keys.clear_cache()
    assert keys.key_for_kid(old.kid) is None


def test_two_rotations_in_a_row_keep_every_unexpired_key_published():
    first = keys.generate_key()
    second = keys.signing_key_rotate()
    third = keys.signing_key_rotate(algorithm="ES256")

    assert set(published_kids()) == {first.kid, second.kid, third.kid}
    assert SigningKey.objects.filter(retired_at__isnull=True).get() == third


# --- the memo -------------------------------------------------------------------------------------------


def test_jwks_and_discovery_served_with_zero_queries_when_memo_is_warm(client, settings, django_assert_num_queries):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.generate_key()
    client.get(JWKS_URL)
    client.get(DISCOVERY_URL)

    with django_assert_num_queries(0):
        jwks = client.get(JWKS_URL)
        discovery = client.get(DISCOVERY_URL)

    assert jwks.status_code == discovery.status_code == 200
    assert jwks["Cache-Control"] == "public, max-age=3600"
    assert [k["kid"] for k in jwks.json()["keys"]] == [SigningKey.objects.get().kid]
    assert discovery.json()["jwks_uri"].endswith(JWKS_URL)


def test_jwks_cold_query_budget(client, django_assert_max_num_queries):
    keys.generate_key()
    with django_assert_max_num_queries(1):
        assert client.get(JWKS_URL).status_code == 200


def test_memo_key_generated_inside_a_transaction_is_not_kept_before_commit(settings):
    """A first key made in a request's transaction could roll back; the memo must not outlive it."""
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.current()  # the test's transaction never commits
    assert "keys" not in keys._memo


def test_unknown_kid_rebuilds_the_memo_at_most_every_few_seconds(settings, django_assert_num_queries):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.generate_key()
    keys.current()
    with django_assert_num_queries(0):
        assert keys.key_for_kid("unknown") is None
        assert keys.key_for_kid("") is None
        assert keys.key_for_kid(None) is None

    # Another process generated a key after this memo was built.
    other = keys.generate_key()
    keys._memo["keys"] = replace(keys._memo["keys"], built_at=time.monotonic() - keys.MISS_REFRESH_SECONDS - 1)
    with django_assert_num_queries(1):
        assert keys.key_for_kid(other.kid) is not None


def test_concurrent_cold_requests_build_the_memo_once(monkeypatch, settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.generate_key()
    built, _ = keys._build()
    builds, keysets = [], []

    def slow_build():
        # Stands in for the database read (the threads' own connections cannot see this test's rows).
        builds.append(1)
        time.sleep(0.05)
        return replace(built, built_at=time.monotonic()), False

    monkeypatch.setattr(keys, "_build", slow_build)
    threads = [threading.Thread(target=lambda: keysets.append(keys.current())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(builds) == 1
    assert len(keysets) == 8 and len({id(k) for k in keysets}) == 1


# --- encryption at rest ------------------------------------------------------------------------------


def test_private_key_is_encrypted_at_rest():
    key = keys.generate_key()
    stored = SigningKey.objects.values_list("private_key_pem", flat=True).get(pk=key.pk)
    assert "PRIVATE KEY" not in stored
    assert keys.current().signing_jwk.has_private


def test_plaintext_key_from_before_encryption_still_signs():
    pem = jwk.JWK.generate(kty="RSA", size=2048)
    SigningKey.objects.create(
        kid=pem.thumbprint(), algorithm="RS256", private_key_pem=pem.export_to_pem(True, None).decode()
    )
    assert keys.current().signing.kid == pem.thumbprint()
    assert keys.key_for_kid(pem.thumbprint()) is not None


def test_setting_key_encryption_key_later_keeps_secret_key_encrypted_rows_readable(settings):
    old = keys.generate_key()
    settings.LATCHKEY_KEY_ENCRYPTION_KEY = "a-dedicated-key-encryption-key-0123456789"
    new = keys.signing_key_rotate()
    keys.clear_cache()

    assert set(keys.current().by_kid) == {old.kid, new.kid}

    # The dedicated key now decrypts the new row; SECRET_KEY no longer does.
    settings.SECRET_KEY = "a-different-secret-key-0123456789abcdefghijklmnop"
    keys.clear_cache()
    assert keys.current().signing == new


def test_rotated_secret_key_in_fallbacks_still_decrypts(settings):
    key = keys.generate_key()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    keys.clear_cache()
    assert keys.current().signing == key


def test_undecryptable_keys_fail_clearly_until_rotation(settings, caplog):
    old = keys.generate_key()
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    keys.clear_cache()

    with pytest.raises(ImproperlyConfigured, match="keys rotate"):
        keys.current()
    assert old.kid in caplog.text and "cannot be decrypted" in caplog.text

    new = keys.signing_key_rotate()
    assert keys.current().signing == new
    assert published_kids() == [new.kid]


# --- the E006 check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("algorithm", "expected"), [("RS256", []), ("ES256", []), ("RS265", ["latchkey.E006"])])
def test_signing_algorithm_check(settings, algorithm, expected):
    settings.LATCHKEY_SIGNING_ALGORITHM = algorithm
    assert [m.id for m in latchkey_checks.check_signing_algorithm(None)] == expected


# --- manage.py keys ------------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("keys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as exc_info:
        run(*args)
    message = str(exc_info.value)
    assert message and "\n" not in message
    return message


def test_keys_list_without_keys_says_so_and_creates_none():
    assert run("list") == "No signing keys yet; the first is generated when it is needed.\n"
    assert json.loads(run("list", "--json")) == []
    assert not SigningKey.objects.exists()


def test_keys_rotate_prints_new_key_and_retired_ones(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key()

    out = run("rotate", "--algorithm", "ES256")

    new = SigningKey.objects.get(retired_at__isnull=True)
    assert new.algorithm == "ES256"
    old.refresh_from_db()
    lines = out.splitlines()
    assert lines[0] == f"New ES256 signing key {new.kid}"
    assert lines[1].startswith("It is published now and signs from ")
    assert lines[2] == f"Retired {old.kid}: stays in the JWKS until {old.published_until:%Y-%m-%d %H:%M:%S} UTC."


def test_keys_rotate_json(settings):
    settings.LATCHKEY_SIGNING_ALGORITHM = "ES256"
    old = keys.generate_key("RS256")

    data = json.loads(run("rotate", "--json"))

    new = SigningKey.objects.get(retired_at__isnull=True)
    old.refresh_from_db()
    assert data["kid"] == new.kid
    assert data["algorithm"] == "ES256"
    assert data["state"] == "signing"
    assert [(r["kid"], r["state"], r["published_until"]) for r in data["retired"]] == [
        (old.kid, "retired-published", old.published_until.isoformat())
    ]


def test_keys_list_shows_states_and_never_the_private_key(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    gone = keys.generate_key()
    age(gone, days=40)
    previous = keys.signing_key_rotate()
    SigningKey.objects.filter(pk=gone.pk).update(published_until=timezone.now() - timedelta(days=1))
    age(previous, days=20)
    newest = keys.signing_key_rotate()
    previous.refresh_from_db()

    text = run("list")
    data = json.loads(run("list", "--json"))

    assert [(d["kid"], d["state"]) for d in data] == [
        (newest.kid, "published"),
        (previous.kid, "signing"),
        (gone.kid, "retired"),
    ]
    assert set(data[0]) == {"kid", "algorithm", "created", "state", "signs_from", "retired_at", "published_until"}
    assert data[0]["signs_from"] is not None
    lines = text.splitlines()
    assert lines[0].startswith(f"{newest.kid}  RS256  created ") and "published (signs from " in lines[0]
    until = f"{previous.published_until:%Y-%m-%d %H:%M:%S} UTC"
    assert lines[1].endswith(f"signing until its successor is ready (retired, published until {until})")
    assert lines[2].endswith("  retired")
    for stored in SigningKey.objects.values_list("private_key_pem", flat=True):
        assert stored not in text and stored not in json.dumps(data)
    assert "PRIVATE" not in text


def test_keys_list_retired_but_published_state():
    old = keys.generate_key()
    keys.signing_key_rotate()
    old.refresh_from_db()
    line = [line for line in run("list").splitlines() if line.startswith(old.kid)][0]
    assert line.endswith(f"retired, published until {old.published_until:%Y-%m-%d %H:%M:%S} UTC")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("rotate", "--algorithm", "HS256"), "invalid choice: 'HS256'"),
        (("rotate", "--bogus"), "unrecognized arguments: --bogus"),
        (("shuffle",), "invalid choice: 'shuffle'"),
        ((), "the following arguments are required: VERB"),
    ],
)
def test_keys_bad_arguments_fail_in_one_line_and_change_nothing(args, fragment):
    assert fragment in command_error(*args)
    assert not SigningKey.objects.exists()


# --- admin -------------------------------------------------------------------------------------------


def test_admin_lists_signing_keys_read_only_without_private_key(admin_client):
    key = keys.generate_key()
    stored = SigningKey.objects.values_list("private_key_pem", flat=True).get()

    changelist = admin_client.get(reverse("admin:applications_signingkey_changelist"))
    change = admin_client.get(reverse("admin:applications_signingkey_change", args=[key.pk]))

    assert changelist.status_code == change.status_code == 200
    assert key.kid in changelist.content.decode()
    for page in (changelist, change):
        assert stored not in page.content.decode()
        assert "private" not in page.content.decode().lower()
    assert 'name="_save"' not in change.content.decode()
    assert admin_client.get(reverse("admin:applications_signingkey_add")).status_code == 403
    assert admin_client.post(reverse("admin:applications_signingkey_delete", args=[key.pk])).status_code == 403
    assert SigningKey.objects.filter(pk=key.pk).exists()
