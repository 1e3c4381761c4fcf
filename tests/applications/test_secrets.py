"""Client secrets: generated, hashed fast, verified in constant time, rotated with or without grace."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher
from django.core.exceptions import ValidationError
from django.utils import timezone

from applications import secrets as client_secrets
from applications import services
from applications.models import Application
from identity.models import User
from tests.applications.factories import make_application


def test_generated_secret_has_at_least_256_bits():
    secret = client_secrets.generate_client_secret()
    assert len(secret) >= 43  # 32 bytes, base64url
    assert len({client_secrets.generate_client_secret() for _ in range(100)}) == 100


@pytest.mark.django_db
def test_secret_stored_only_as_fast_hash():
    application, secret = make_application(type="web")
    stored = Application.objects.get(pk=application.pk).client_secret
    assert secret not in stored
    assert identify_hasher(stored).algorithm == "latchkey_hmac_sha256"
    assert check_password(secret, stored)
    assert not check_password(secret + "x", stored)


@pytest.mark.django_db
def test_user_passwords_do_not_use_the_client_secret_hasher(settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "applications.secrets.ClientSecretHasher",
    ]
    user = User.objects.create_user("slow@example.com", "a long passphrase here")
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"


@pytest.mark.django_db
def test_secret_verification_is_under_a_millisecond():
    application, secret = make_application(type="m2m")
    stored = application.client_secret
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        assert check_password(secret, stored)
    per_check = (time.perf_counter() - started) / runs
    assert per_check < 0.001, f"{per_check * 1000:.3f} ms per verification"


def test_hasher_compares_in_constant_time(monkeypatch):
    calls = []
    real = client_secrets.constant_time_compare

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(client_secrets, "constant_time_compare", spy)
    hasher = client_secrets.ClientSecretHasher()
    encoded = hasher.encode("s3cret", hasher.salt())
    assert hasher.verify("s3cret", encoded)
    assert not hasher.verify("other", encoded)
    assert len(calls) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_public_types_have_no_secret(app_type):
    application, secret = make_application(type=app_type)
    assert secret is None
    assert Application.objects.get(pk=application.pk).client_secret == ""
    assert not client_secrets.verify_client_secret(application, "")
    with pytest.raises(ValidationError) as caught:
        services.application_rotate_secret(actor=None, application=application)
    assert "type" in caught.value.message_dict


@pytest.mark.django_db
def test_immediate_rotation_stops_old_secret():
    application, old = make_application(type="web")
    new = services.application_rotate_secret(actor=None, application=application)
    application = Application.objects.get(pk=application.pk)
    assert new != old
    assert client_secrets.verify_client_secret(application, new)
    assert not client_secrets.verify_client_secret(application, old)


@pytest.mark.django_db
def test_grace_rotation_keeps_old_secret_until_it_ends():
    application, old = make_application(type="m2m")
    new = services.application_rotate_secret(actor=None, application=application, grace_period_seconds=3600)
    application = Application.objects.get(pk=application.pk)
    assert client_secrets.verify_client_secret(application, new)
    assert client_secrets.verify_client_secret(application, old)

    application.previous_secrets.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not client_secrets.verify_client_secret(application, old)
    assert client_secrets.verify_client_secret(application, new)


@pytest.mark.django_db
def test_immediate_rotation_also_ends_earlier_grace_secrets():
    application, first = make_application(type="web")
    services.application_rotate_secret(actor=None, application=application, grace_period_seconds=3600)
    third = services.application_rotate_secret(actor=None, application=application)
    application = Application.objects.get(pk=application.pk)
    assert not client_secrets.verify_client_secret(application, first)
    assert client_secrets.verify_client_secret(application, third)
    assert not application.previous_secrets.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, True])
def test_grace_period_bounds(grace):
    application, _ = make_application(type="web")
    with pytest.raises(ValidationError) as caught:
        services.application_rotate_secret(actor=None, application=application, grace_period_seconds=grace)
    assert "grace_period_seconds" in caught.value.message_dict


@pytest.mark.django_db
def test_last_used_recorded_per_secret():
    application, old = make_application(type="web")
    assert application.client_secret_last_used_at is None
    assert client_secrets.verify_client_secret(application, old)
    used = Application.objects.get(pk=application.pk).client_secret_last_used_at
    assert used is not None

    new = services.application_rotate_secret(actor=None, application=application, grace_period_seconds=600)
    application = Application.objects.get(pk=application.pk)
    previous = application.previous_secrets.get()
    assert previous.last_used_at == used  # carried over: the admin sees when the old one was last used
    assert application.client_secret_last_used_at is None

    previous.last_used_at = None
    previous.save()
    assert client_secrets.verify_client_secret(application, old)
    assert application.previous_secrets.get().last_used_at is not None
    assert Application.objects.get(pk=application.pk).client_secret_last_used_at is None
    assert client_secrets.verify_client_secret(application, new)
    assert Application.objects.get(pk=application.pk).client_secret_last_used_at is not None


@pytest.mark.django_db
def test_last_used_written_at_most_once_a_minute(django_assert_num_queries):
    application, secret = make_application(type="web")
    assert client_secrets.verify_client_secret(application, secret)
    with django_assert_num_queries(0):
        assert client_secrets.verify_client_secret(application, secret)
