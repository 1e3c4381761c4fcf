"""Test settings: only what makes the suite faster; behaviour stays production's."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "latchkey-test-only-secret-key-0123456789abcdef")

from config.settings.base import *  # noqa: E402,F403

# The slow PBKDF2 hash for user passwords only slows tests; the client-secret hasher stays.
PASSWORD_HASHERS = [  # noqa: F405
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "applications.secrets.ClientSecretHasher",
]
OAUTH2_PROVIDER["ALWAYS_RELOAD_OAUTHLIB_CORE"] = True  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LATCHKEY_KEY_CACHE_SECONDS = 0
# Production keeps scopes per process (a shared cache tells every process of a change); the
# suite is one process with a local cache, so "on" runs that same path.
LATCHKEY_PROCESS_MEMO = "on"
LATCHKEY_USAGE_FLUSH_SECONDS = 0  # no flushing thread: tests call applications.usage.counters.flush()

# One connection per request, as before persistent connections: live_server threads idling on a client's
# keep-alive socket would otherwise hold PostgreSQL connections and block dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# On SQLite, a file instead of Django's shared in-memory database: live_server's request threads
# then open their own connections instead of borrowing the test thread's.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}  # noqa: F405

# Tests never run collectstatic: WhiteNoise finds files in the apps, and templates use unhashed names.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The suite signs in hundreds of times a minute from 127.0.0.1 into one process-wide cache: allauth's
# per-IP throttles would refuse it. tests/identity/test_sign_in.py turns them back on to test them.
ACCOUNT_RATE_LIMITS = False
