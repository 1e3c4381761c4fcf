"""Signing keys: one live key per algorithm generated on demand, rotation and retention per algorithm,
the memo, encryption at rest, the `manage.py keys` command, the E006 check and the read-only admin."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from jwcrypto import jwk, jwt

from applications import checks as latchkey_checks
from applications import policies
from applications.models import SigningKey
from applications.oauth import keys, memo, well_known

pytestmark = pytest.mark.django_db

JWKS_URL = reverse("oauth:jwks")
DISCOVERY_URL = reverse("oauth:discovery")


@pytest.fixture(autouse=True)
def cold_memo():
    """The memo is per process: start and end every test without one."""
    keys.clear_cache()
    well_known.clear()
    yield
    keys.clear_cache()
    well_known.clear()


def published_kids(algorithm: str | None = None) -> list[str]:
    published = json.loads(keys.current().jwks_json)["keys"]
    return [k["kid"] for k in published if algorithm in (None, k["alg"])]


def active(algorithm: str) -> SigningKey:
    return SigningKey.objects.get(algorithm=algorithm, retired_at__isnull=True)


def one_key_each() -> dict[str, SigningKey]:
    """A deployment whose every algorithm has its key, so no build has to generate one."""
    return {algorithm: keys.generate_key(algorithm) for algorithm in keys.ALGORITHMS}


def age(key: SigningKey, **delta) -> None:
    """Pretend `key` was created that long ago."""
    SigningKey.objects.filter(pk=key.pk).update(created=timezone.now() - timedelta(**delta))
    keys.clear_cache()


def signed_by_current(claims: dict | None = None, algorithm: str = "RS256") -> str:
    signer = keys.current().signer(algorithm)
    token = jwt.JWT(header=signer.header, claims=claims or {"sub": "x", "exp": int(time.time()) + 60})
    token.make_signed_token(signer.jwk)
    return token.serialize()


# --- generation and algorithms ---------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["RS256", "ES256"])
def test_first_use_without_keys_generates_one_active_key_per_algorithm(settings, setting):
    settings.LATCHKEY_SIGNING_ALGORITHM = setting
    assert not SigningKey.objects.exists()

    keyset = keys.current()

    rsa, ec = active("RS256"), active("ES256")
    assert SigningKey.objects.count() == 2
    assert (keyset.signer("RS256").key, keyset.signer("ES256").key) == (rsa, ec)
    jwks = {k["alg"]: k for k in json.loads(keyset.jwks_json)["keys"]}
    assert (jwks["RS256"]["kid"], jwks["RS256"]["kty"], jwks["RS256"]["use"]) == (rsa.kid, "RSA", "sig")
    assert (jwks["ES256"]["kid"], jwks["ES256"]["kty"], jwks["ES256"]["crv"]) == (ec.kid, "EC", "P-256")
    for published in jwks.values():
        assert not {"d", "p", "q"} & set(published)  # public parts only


def test_upgrade_from_an_rs256_only_deployment_adds_an_es256_key_and_keeps_signing_with_the_old_one(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key("RS256")
    age(old, days=90)

    keyset = keys.current()

    assert keyset.signer("RS256").key == old
    new = active("ES256")
    assert keyset.signer("ES256").key == new, "an algorithm's only key signs at once"
    assert set(published_kids()) == {old.kid, new.kid}
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 2


def test_build_that_finds_every_algorithm_keyed_generates_nothing(django_assert_num_queries):
    one_key_each()
    with django_assert_num_queries(1):
        keys.current()
    assert SigningKey.objects.count() == 2


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_token_signed_by_current_key_verifies_with_key_for_kid(algorithm):
    keys.generate_key(algorithm)
    token = signed_by_current(algorithm=algorithm)

    public = keys.key_for_kid(keys.current().signer(algorithm).key.kid)

    assert json.loads(jwt.JWT(jwt=token, key=public).claims)["sub"] == "x"
    assert not public.has_private


def test_generate_key_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="HS256"):
        keys.generate_key("HS256")
    assert not SigningKey.objects.exists()


# --- rotation, propagation and retention -------------------------------------------------------------


def test_rotating_every_algorithm_retires_each_active_key_and_adds_one_new_key_each():
    old = one_key_each()

    new = keys.signing_key_rotate()

    assert [key.algorithm for key in new] == list(keys.ALGORITHMS)
    for algorithm in keys.ALGORITHMS:
        old[algorithm].refresh_from_db()
        assert old[algorithm].retired_at is not None and old[algorithm].published_until > timezone.now()
        assert active(algorithm) in new
    assert set(published_kids()) == {k.kid for k in [*old.values(), *new]}
    keyset = keys.current()  # LATCHKEY_KEY_CACHE_SECONDS=0 in tests: no propagation delay
    assert [keyset.signer(algorithm).key for algorithm in keys.ALGORITHMS] == new


@pytest.mark.parametrize(("rotated", "untouched"), [("RS256", "ES256"), ("ES256", "RS256")])
def test_rotating_one_algorithm_leaves_the_others_signer_untouched(rotated, untouched):
    old = one_key_each()
    before = keys.current().signer(untouched)

    (new,) = keys.signing_key_rotate(algorithm=rotated)

    assert new.algorithm == rotated
    keyset = keys.current()
    assert keyset.signer(rotated).key == new
    assert keyset.signer(untouched).key == before.key == active(untouched)
    old[rotated].refresh_from_db()
    assert old[rotated].retired_at is not None
    assert set(published_kids()) == {old[rotated].kid, new.kid, old[untouched].kid}


def test_rotating_an_unknown_algorithm_is_refused_and_retires_nothing():
    one_key_each()
    with pytest.raises(ValueError, match="HS256"):
        keys.signing_key_rotate(algorithm="HS256")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 2


def test_rotation_records_one_audit_event_per_new_key():
    from identity.models import AuditEvent

    one_key_each()

    new = keys.signing_key_rotate()

    events = AuditEvent.objects.filter(action="signing_key.rotated").order_by("pk")
    assert [(e.target_id, e.changes["algorithm"]["new"], e.changes["retired_keys"]["new"]) for e in events] == [
        (str(key.pk), key.algorithm, 1) for key in new
    ]


def test_new_key_signs_only_after_every_process_and_cached_jwks_lists_it(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key("RS256")
    age(old, days=30)

    (new,) = keys.signing_key_rotate(algorithm="RS256")

    keyset = keys.current()
    assert keyset.signer("RS256").key == old, "the old key keeps signing while the new one propagates"
    assert set(published_kids("RS256")) == {old.kid, new.kid}
    age(new, seconds=119)
    assert keys.current().signer("RS256").key == old
    age(new, seconds=121)  # 2 × LATCHKEY_KEY_CACHE_SECONDS: processes (c) + relying parties' JWKS caches (c)
    assert keys.current().signer("RS256").key == new


def test_retired_key_stays_published_until_tokens_signed_during_propagation_expire(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = keys.generate_key("RS256")

    keys.signing_key_rotate()

    old.refresh_from_db()
    kept = (old.published_until - old.retired_at).total_seconds()
    longest = max(policies.ID_TOKEN_TTL_MAX, policies.ACCESS_TOKEN_TTL_MAX)
    # the old key may sign until 3c after retirement (2c propagation + c stale memo elsewhere)
    assert kept >= longest + 3 * 60


def test_retired_key_leaves_jwks_after_published_until_but_still_verifies_logout_hints():
    old = keys.generate_key("RS256")
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
    first = keys.generate_key("RS256")
    (second,) = keys.signing_key_rotate(algorithm="RS256")
    (third,) = keys.signing_key_rotate(algorithm="RS256")

    assert set(published_kids("RS256")) == {first.kid, second.kid, third.kid}
    assert active("RS256") == third


# --- the memo -------------------------------------------------------------------------------------------


def test_jwks_and_discovery_served_with_zero_queries_when_memo_is_warm(client, settings, django_assert_num_queries):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    one_key_each()
    client.get(JWKS_URL)
    client.get(DISCOVERY_URL)

    with django_assert_num_queries(0):
        jwks = client.get(JWKS_URL)
        discovery = client.get(DISCOVERY_URL)

    assert jwks.status_code == discovery.status_code == 200
    assert jwks["Cache-Control"] == "public, max-age=3600"
    assert {k["kid"] for k in jwks.json()["keys"]} == set(SigningKey.objects.values_list("kid", flat=True))
    assert discovery.json()["jwks_uri"].endswith(JWKS_URL)


def test_jwks_cold_query_budget(client, django_assert_max_num_queries):
    one_key_each()
    with django_assert_max_num_queries(1):
        assert client.get(JWKS_URL).status_code == 200


def test_memo_key_generated_inside_a_transaction_is_not_kept_before_commit(settings):
    """A key made in a request's transaction could roll back; the memo must not outlive it."""
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.generate_key("RS256")  # an upgrade: the ES256 key is generated by the build
    keys.current()  # the test's transaction never commits
    assert "keys" not in keys._memo


def test_unknown_kid_rebuilds_the_memo_at_most_every_few_seconds(settings, django_assert_num_queries):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    one_key_each()
    keys.current()
    with django_assert_num_queries(0):
        assert keys.key_for_kid("unknown") is None
        assert keys.key_for_kid("") is None
        assert keys.key_for_kid(None) is None

    # Another process generated a key after this memo was built.
    other = keys.generate_key("RS256")
    keys._memo["keys"] = replace(keys._memo["keys"], built_at=time.monotonic() - keys.MISS_REFRESH_SECONDS - 1)
    with django_assert_num_queries(1):
        assert keys.key_for_kid(other.kid) is not None


def test_concurrent_cold_requests_build_the_memo_once(monkeypatch, settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    one_key_each()
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


def test_jwks_and_discovery_keep_serving_their_last_good_copy_while_the_database_is_down(client, caplog):
    one_key_each()
    jwks, discovery = client.get(JWKS_URL).content, client.get(DISCOVERY_URL).content  # memoised
    refused = OperationalError("connection to server failed: Connection refused")

    memo.clear()  # discovery must read the scope catalogue again
    with mock.patch.object(connection, "cursor", side_effect=refused), caplog.at_level(logging.WARNING):
        stale_jwks, stale_discovery = client.get(JWKS_URL), client.get(DISCOVERY_URL)  # both due a rebuild

    assert (stale_jwks.status_code, stale_jwks.content) == (200, jwks)
    assert (stale_discovery.status_code, stale_discovery.content) == (200, discovery)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == [
        "signing keys not reloaded (OperationalError): serving the last good copy",
        "discovery not rebuilt (OperationalError): serving the last good copy",
    ]


def test_keys_without_a_last_good_copy_raise_the_database_error():
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("refused")):
        with pytest.raises(OperationalError):
            keys.current()


# --- encryption at rest ------------------------------------------------------------------------------


def test_private_key_is_encrypted_at_rest():
    for key in one_key_each().values():
        stored = SigningKey.objects.values_list("private_key_pem", flat=True).get(pk=key.pk)
        assert "PRIVATE KEY" not in stored
        assert keys.current().signer(key.algorithm).jwk.has_private


def test_plaintext_key_from_before_encryption_still_signs():
    pem = jwk.JWK.generate(kty="RSA", size=2048)
    SigningKey.objects.create(
        kid=pem.thumbprint(), algorithm="RS256", private_key_pem=pem.export_to_pem(True, None).decode()
    )
    assert keys.current().signer("RS256").key.kid == pem.thumbprint()
    assert keys.key_for_kid(pem.thumbprint()) is not None


def test_setting_key_encryption_key_later_keeps_secret_key_encrypted_rows_readable(settings):
    old = one_key_each()
    settings.LATCHKEY_KEY_ENCRYPTION_KEY = "a-dedicated-key-encryption-key-0123456789"
    new = keys.signing_key_rotate()
    keys.clear_cache()

    assert set(keys.current().by_kid) == {k.kid for k in [*old.values(), *new]}

    # The dedicated key now decrypts the new rows; SECRET_KEY no longer does.
    settings.SECRET_KEY = "a-different-secret-key-0123456789abcdefghijklmnop"
    keys.clear_cache()
    assert [keys.current().signer(key.algorithm).key for key in new] == new


def test_rotated_secret_key_in_fallbacks_still_decrypts(settings):
    key = keys.generate_key("RS256")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    keys.clear_cache()
    assert keys.current().signer("RS256").key == key


def test_undecryptable_keys_fail_clearly_until_rotation(settings, caplog):
    old = one_key_each()
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    keys.clear_cache()

    with pytest.raises(ImproperlyConfigured, match=r"No RS256 or ES256 signing key can be decrypted.*keys rotate"):
        keys.current()
    assert old["RS256"].kid in caplog.text and "cannot be decrypted" in caplog.text

    new = keys.signing_key_rotate()
    assert [keys.current().signer(key.algorithm).key for key in new] == new
    assert set(published_kids()) == {key.kid for key in new}


def test_one_algorithm_without_a_decryptable_key_is_named(settings):
    keys.generate_key("RS256")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    keys.generate_key("ES256")  # encrypted with the new SECRET_KEY, which is then lost
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = settings.SECRET_KEY_FALLBACKS[0], []
    keys.clear_cache()

    with pytest.raises(ImproperlyConfigured, match="No ES256 signing key can be decrypted"):
        keys.current()

    keys.signing_key_rotate(algorithm="ES256")
    assert keys.current().signer("ES256").key == active("ES256")


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
    assert run("list") == "No signing keys yet; one per algorithm is generated when first needed.\n"
    assert json.loads(run("list", "--json")) == []
    assert not SigningKey.objects.exists()


def test_keys_rotate_one_algorithm_prints_its_new_key_and_retired_ones(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = one_key_each()

    out = run("rotate", "--algorithm", "ES256")

    new = active("ES256")
    assert active("RS256") == old["RS256"]
    old["ES256"].refresh_from_db()
    until = f"{old['ES256'].published_until:%Y-%m-%d %H:%M:%S} UTC"
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"New ES256 signing key {new.kid}: it is published now and signs from ")
    assert lines[1] == f"Retired ES256 key {old['ES256'].kid}: stays in the JWKS until {until}."


def test_keys_rotate_without_algorithm_rotates_every_algorithm():
    old = one_key_each()

    lines = run("rotate").splitlines()

    assert [line.split(":")[0] for line in lines] == [
        f"New RS256 signing key {active('RS256').kid}",
        f"New ES256 signing key {active('ES256').kid}",
        f"Retired RS256 key {old['RS256'].kid}",
        f"Retired ES256 key {old['ES256'].kid}",
    ]
    assert lines[0].endswith(": it signs now.")  # LATCHKEY_KEY_CACHE_SECONDS=0 in tests


def test_keys_rotate_json():
    old = one_key_each()

    data = json.loads(run("rotate", "--json", "--algorithm", "RS256"))

    new = active("RS256")
    old["RS256"].refresh_from_db()
    assert set(data) == {"new", "retired"}
    assert [(n["kid"], n["algorithm"], n["state"]) for n in data["new"]] == [(new.kid, "RS256", "signing")]
    assert [(r["kid"], r["state"], r["published_until"]) for r in data["retired"]] == [
        (old["RS256"].kid, "retired-published", old["RS256"].published_until.isoformat())
    ]


def test_keys_rotate_json_on_a_new_database_has_one_new_key_per_algorithm_and_nothing_retired():
    data = json.loads(run("rotate", "--json"))

    assert [n["algorithm"] for n in data["new"]] == list(keys.ALGORITHMS)
    assert data["retired"] == []


def test_keys_rotate_logs_nothing_that_repeats_its_output(caplog):
    with caplog.at_level(logging.DEBUG):
        out = run("rotate")

    assert out.count("New RS256 signing key") == 1
    assert [
        r.getMessage() for r in caplog.records if r.levelno <= logging.INFO and "signing key" in r.getMessage()
    ] == []


def test_keys_rotate_at_verbosity_2_also_logs_what_it_did(caplog):
    with caplog.at_level(logging.INFO):
        call_command("keys", "rotate", verbosity=2, stdout=StringIO())

    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name == "applications.oauth.keys"] == [
        "signing key rotated",
        "signing key rotated",
    ]


def test_keys_rotate_under_json_logging_prints_each_key_once(tmp_path):
    """The operator's shell: stdout is the result, stderr stays empty (no JSON log line repeating it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_", "LOG_"))}
    env.update(DJANGO_SECRET_KEY="k" * 50, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", LOG_FORMAT="json")
    root = Path(__file__).resolve().parents[3]

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "--noinput", "--verbosity", "0").returncode == 0
    result = manage("keys", "rotate")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert [line.split(" key ")[0] for line in result.stdout.splitlines()] == ["New RS256 signing", "New ES256 signing"]


def test_keys_list_shows_states_and_never_the_private_key(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    gone = keys.generate_key("RS256")
    age(gone, days=40)
    (previous,) = keys.signing_key_rotate(algorithm="RS256")
    SigningKey.objects.filter(pk=gone.pk).update(published_until=timezone.now() - timedelta(days=1))
    age(previous, days=20)
    (newest,) = keys.signing_key_rotate(algorithm="RS256")
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


def test_keys_list_marks_one_signing_key_per_algorithm(settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 60
    old = one_key_each()
    for key in old.values():
        age(key, days=10)
    (new_ec,) = keys.signing_key_rotate(algorithm="ES256")

    data = {d["kid"]: d["state"] for d in json.loads(run("list", "--json"))}

    assert data == {new_ec.kid: "published", old["ES256"].kid: "signing", old["RS256"].kid: "signing"}


def test_keys_list_retired_but_published_state():
    old = keys.generate_key("RS256")
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
    key = keys.generate_key("RS256")
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
