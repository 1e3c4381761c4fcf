"""Every setting of Latchkey, read from the environment (documented in `.env.example`).

Defaults are safe for a development machine; production sets the variables. DEBUG is off
unless asked for, and with DEBUG off a missing DJANGO_SECRET_KEY stops start-up.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS as RESERVED_LOG_ATTRS

from applications.policies import REFRESH_TOKEN_TTL_MAX, access_token_expires_in
from config.env import BASE_DIR, env
from identity.constants import REGISTRATION_MODES

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "latchkey-insecure-development-key-never-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=true on a development machine."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL clients see; the OIDC issuer.
LATCHKEY_ISSUER = env.str("LATCHKEY_ISSUER", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin console's site signs in through our sign-in page and asks staff for a second factor
    # (identity.mfa.admin_site); Django's documented way to replace the default site.
    "identity.mfa.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "identity",
    "identity.federation",
    "identity.organizations",
    # The sign-in engine: account flows, email verification, password reset, login throttling
    # (identity.adapter is our seam). socialaccount comes with the per-application providers.
    "allauth",
    "allauth.account",
    # Sign-in with other identity providers: the credentials come from identity.federation's Provider
    # rows (identity.federation.adapter.list_apps), never from allauth's SocialApp table.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.apple",
    "allauth.socialaccount.providers.discord",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.openid_connect",
    # Second factors (TOTP, recovery codes, passkeys); identity.mfa is our seam.
    "allauth.mfa",
    # Each signed-in session of a person, listed and ended on the account page (identity.user_sessions).
    "allauth.usersessions",
    # Before oauth2_provider: Django runs the first app's command of a name, and our cleartokens
    # (per-app lifetimes, device codes, redeemed codes) replaces the toolkit's.
    "applications",
    "applications.events",
    "applications.usage",
    "oauth2_provider",
    "branding",
    "consent",
    "config",
]

MIDDLEWARE = [
    # First: the request id covers every later log record, and metrics time the whole stack.
    "config.logs.RequestLogMiddleware",
    "config.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Discovery and the JWKS, answered here from prebuilt bytes: nothing below is theirs to pay for.
    "applications.oauth.well_known.WellKnownMiddleware",
    # Static files from STATIC_ROOT (collectstatic), compressed and cached forever under hashed names.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.PageSecurityMiddleware",  # CSP with a per-request nonce, no framing, on end-user pages
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.LazyMessageMiddleware",  # Django's, its storage built only when a page uses it
    "allauth.account.middleware.AccountMiddleware",  # allauth's request context and pending sign-in stages
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view's exception answered in its endpoint's shape: 503 + Retry-After when a dependency is out of
    # reach, JSON server_error on the OAuth and API endpoints (config.errors).
    "config.errors.ErrorResponseMiddleware",
    # A sign-in provider out of reach when a sign-in starts: the branded error page (identity.federation).
    "identity.federation.middleware.UpstreamErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "branding.context_processors.brand",
                "config.security.csp_nonce",
            ],
        },
    },
]

# SQLite on a development machine; PostgreSQL (psycopg 3) when DATABASE_URL is set.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections: each server thread (one request at a time) keeps its connection for this
# many seconds instead of opening one per request, and checks it before reusing it after an error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# SQLite serving concurrent requests: a transaction takes the write lock when it begins (IMMEDIATE), so
# parallel writers queue for up to SQLITE_BUSY_TIMEOUT seconds instead of failing "database is locked"
# when a reader tries to become a writer; WAL lets reads go on while one request writes.
SQLITE_BUSY_TIMEOUT = 20
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
        # Django runs each `;`-separated statement on every new connection.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }
# Every wait on PostgreSQL is bounded, so a database that accepts connections but never answers costs
# a request seconds, not a worker: connecting (libpq's connect_timeout, seconds) and each statement
# (statement_timeout; 0 turns it off, e.g. for a long `migrate`). Options in DATABASE_URL's query win.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    if "statement_timeout" not in _pg_options.get("options", ""):
        _statement_ms = round(env.float("DATABASE_STATEMENT_TIMEOUT", default=15) * 1000)
        _pg_options["options"] = f"{_pg_options.get('options', '')} -c statement_timeout={_statement_ms}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL through Django's backend subclassed to wait, for at most this many seconds, for a server
# that is starting up (57P03) when it connects, instead of failing the request (config/postgresql).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
LATCHKEY_DATABASE_STARTUP_WAIT_SECONDS = env.float("LATCHKEY_DATABASE_STARTUP_WAIT_SECONDS", default=3.0)

# Local memory per process by default; several app servers share Redis (redis://host:6379/1 selects
# Django's built-in RedisCache, which needs the `redis` package).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Rate limits (config.ratelimit) count in this cache: shared by every app server with Redis. While it is
# unreachable, "open" lets requests through uncounted, "closed" refuses what would be counted.
LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN = env.str("LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN", default="open")
if LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN not in ("open", "closed"):
    raise ImproperlyConfigured("LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN must be open or closed.")
# How many proxies stand in front of the app servers, each appending to X-Forwarded-For; 0: none, and the
# header is ignored (anyone could send it).
LATCHKEY_TRUSTED_PROXIES = env.int("LATCHKEY_TRUSTED_PROXIES", default=0)
# Failed client authentications (token, introspection, revocation) per client_id and per address, per window.
LATCHKEY_CLIENT_AUTH_FAILURES_PER_CLIENT = env.int("LATCHKEY_CLIENT_AUTH_FAILURES_PER_CLIENT", default=20)
LATCHKEY_CLIENT_AUTH_FAILURES_PER_IP = env.int("LATCHKEY_CLIENT_AUTH_FAILURES_PER_IP", default=60)
LATCHKEY_CLIENT_AUTH_FAILURE_WINDOW_SECONDS = env.int("LATCHKEY_CLIENT_AUTH_FAILURE_WINDOW_SECONDS", default=300)
# Failed password sign-ins (identity.sign_in_limits): locked per (account, address), only slowed per account.
LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP = env.int("LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP", default=5)
LATCHKEY_SIGN_IN_LOCKOUT_SECONDS = env.int("LATCHKEY_SIGN_IN_LOCKOUT_SECONDS", default=900)
LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE = env.int(
    "LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE", default=10
)
LATCHKEY_SIGN_IN_FAILURES_PER_IP = env.int("LATCHKEY_SIGN_IN_FAILURES_PER_IP", default=100)
# Wrong second-factor codes (TOTP, recovery codes) per account, per window: then refused until it ends. Only
# someone who has the password (or the session) reaches that form.
LATCHKEY_SECOND_FACTOR_FAILURES_PER_USER = env.int("LATCHKEY_SECOND_FACTOR_FAILURES_PER_USER", default=5)
LATCHKEY_SECOND_FACTOR_FAILURE_WINDOW_SECONDS = env.int("LATCHKEY_SECOND_FACTOR_FAILURE_WINDOW_SECONDS", default=300)
# User codes typed at /device that name no device (guessing): per signed-in user and per address, per window.
LATCHKEY_DEVICE_CODE_FAILURES_PER_USER = env.int("LATCHKEY_DEVICE_CODE_FAILURES_PER_USER", default=10)
LATCHKEY_DEVICE_CODE_FAILURES_PER_IP = env.int("LATCHKEY_DEVICE_CODE_FAILURES_PER_IP", default=30)
LATCHKEY_DEVICE_CODE_FAILURE_WINDOW_SECONDS = env.int("LATCHKEY_DEVICE_CODE_FAILURE_WINDOW_SECONDS", default=900)
# Redis unreachable or silent costs a cache call at most these seconds (redis-py waits forever by
# default); config.cache then serves from the database. Django's RedisCache passes OPTIONS to redis-py.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
        socket_timeout=env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
    )

AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "identity:login"
# Where signing in without a (safe, local) `next` lands: the user's authorised apps.
LOGIN_REDIRECT_URL = "/account/apps"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin and the management API's session auth
    "allauth.account.auth_backends.AuthenticationBackend",  # the sign-in page (email + password)
]

# The sign-in engine (django-allauth): email is the login, there is no username. identity.adapter
# decides who may register (LATCHKEY_REGISTRATION), brands the emails and keeps `next`.
ACCOUNT_ADAPTER = "identity.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "identity.forms.SignInForm"}
SOCIALACCOUNT_ADAPTER = "identity.federation.adapter.SocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False  # upstream access/refresh tokens are used once and never stored
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # linking by email is decided by identity.federation.claims alone
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # the provider's login URL starts a sign-in on POST (CSRF-protected)
SOCIALACCOUNT_QUERY_EMAIL = True
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
# Failed sign-ins are limited by identity.sign_in_limits (locked per account and address, only slowed per
# account): allauth's own rule locks an address out for everyone, which lets anyone lock a victim out.
# Its other limits (password reset, registration, email confirmation) stay as allauth sets them.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # a reset for an unknown address sends nothing (no mail to strangers)
ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS = False  # /login shows the form when signed in (switch account)
ACCOUNT_SESSION_REMEMBER = True  # no "remember me" box: every session lasts SESSION_COOKIE_AGE, as before
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""  # the adapter prefixes the brand of the app the email is for
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # a password change keeps this session (Django rotates its hash)
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # the link shows a button: mail scanners that fetch links confirm nothing
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if LATCHKEY_ISSUER.startswith("https:") else "http"
# A notice by email when the password or a second factor changes (allauth's security notifications).
ACCOUNT_EMAIL_NOTIFICATIONS = True

# Second factors (allauth.mfa, identity.mfa): TOTP apps, recovery codes, and passkeys, which also sign in
# alone (passwordless). TOTP secrets and recovery-code seeds are encrypted at rest (identity.mfa.adapter).
# WebAuthn's relying party is the host the page is served on: https, or http://localhost in development.
MFA_ADAPTER = "identity.mfa.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env.str("LATCHKEY_TOTP_ISSUER", default="Latchkey")
MFA_FORMS = {
    "authenticate": "identity.mfa.forms.AuthenticateForm",
    "reauthenticate": "identity.mfa.forms.ReauthenticateForm",
}
# The admin console (and staff sessions on the management API): "required" asks staff for a second factor
# in this session (enrolling one first if they have none); "optional" accepts a password alone.
LATCHKEY_ADMIN_SECOND_FACTOR = env.str("LATCHKEY_ADMIN_SECOND_FACTOR", default="required")
if LATCHKEY_ADMIN_SECOND_FACTOR not in ("required", "optional"):
    raise ImproperlyConfigured(
        f"LATCHKEY_ADMIN_SECOND_FACTOR={LATCHKEY_ADMIN_SECOND_FACTOR!r}: use required or optional."
    )

# Who may create an account on the sign-in page: open (anyone), closed (admins create users) or
# invite (closed to the public; an admin-created user is sent a link to choose a password).
LATCHKEY_REGISTRATION = env.str("LATCHKEY_REGISTRATION", default="closed")
if LATCHKEY_REGISTRATION not in REGISTRATION_MODES:
    raise ImproperlyConfigured(f"LATCHKEY_REGISTRATION={LATCHKEY_REGISTRATION!r}: use open, closed or invite.")
# optional: a person who registered is signed in at once and `email_verified` stays false until they
# follow the link; mandatory: signing in waits until the address is verified (every account).
ACCOUNT_EMAIL_VERIFICATION = env.str("LATCHKEY_EMAIL_VERIFICATION", default="optional")
if ACCOUNT_EMAIL_VERIFICATION not in ("optional", "mandatory"):
    raise ImproperlyConfigured(
        f"LATCHKEY_EMAIL_VERIFICATION={ACCOUNT_EMAIL_VERIFICATION!r}: use optional or mandatory."
    )

# Outgoing email (verification, password reset, invitations): console on a development machine,
# SMTP in production (EMAIL_URL=smtp+tls://user:password@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Latchkey <no-reply@localhost>")

# User passwords keep Django's slow hasher (first in the list). Client secrets are
# generated with 256 bits of entropy, so a slow hash buys nothing there: they use the
# fast salted HMAC-SHA256 hasher named in OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"].
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "applications.secrets.ClientSecretHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # `manage.py collectstatic` fills it; WhiteNoise serves it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Probes and Prometheus call the app servers directly over http; they get answers, not redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

OAUTH2_PROVIDER_APPLICATION_MODEL = "applications.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "applications.Grant"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"

# Seconds the signing keys, JWKS and discovery are memoised per process; a new signing key
# is published at once and signs only after twice this long, so every process (and every JWKS
# a relying party cached) lists it first.
LATCHKEY_KEY_CACHE_SECONDS = env.int("LATCHKEY_KEY_CACHE_SECONDS", default=60)
# Scopes and API resources kept in each process (applications.oauth.memo): "auto" keeps them when the
# cache (CACHE_URL) is shared by every process, which tells each process of a change within a second;
# "on" also with a per-process cache (a single process only), "off" never.
LATCHKEY_PROCESS_MEMO = env.str("LATCHKEY_PROCESS_MEMO", default="auto")
if LATCHKEY_PROCESS_MEMO not in ("auto", "on", "off"):
    raise ImproperlyConfigured("LATCHKEY_PROCESS_MEMO must be auto, on or off.")
# The ID token signing algorithm of applications that choose none (RS256 or ES256; check latchkey.E006).
# Every algorithm keeps its own live signing key, so a change takes effect at once and tokens signed
# before it still verify.
LATCHKEY_SIGNING_ALGORITHM = env.str("LATCHKEY_SIGNING_ALGORITHM", default="RS256")
# Encrypts signing keys at rest; unset, a key derived from SECRET_KEY is used.
LATCHKEY_KEY_ENCRYPTION_KEY = env.str("LATCHKEY_KEY_ENCRYPTION_KEY", default="")

# Requests to operator-supplied URLs (sign-in providers' issuers, later webhooks) go through
# config.outbound: seconds to connect and to read the whole answer, the largest answer in bytes, and
# (development and tests only) whether http, loopback and private addresses may be called.
LATCHKEY_OUTBOUND_CONNECT_TIMEOUT = env.float("LATCHKEY_OUTBOUND_CONNECT_TIMEOUT", default=3)
LATCHKEY_OUTBOUND_READ_TIMEOUT = env.float("LATCHKEY_OUTBOUND_READ_TIMEOUT", default=5)
LATCHKEY_OUTBOUND_MAX_BYTES = env.int("LATCHKEY_OUTBOUND_MAX_BYTES", default=1024 * 1024)
LATCHKEY_OUTBOUND_ALLOW_PRIVATE = env.bool("LATCHKEY_OUTBOUND_ALLOW_PRIVATE", default=False)
# A PEM file of CA certificates to verify those servers against instead of the public ones (an
# enterprise identity provider with its own CA). Unset: the public CAs (certifi).
LATCHKEY_OUTBOUND_CA_BUNDLE = env.str("LATCHKEY_OUTBOUND_CA_BUNDLE", default="")

# Webhook delivery (`manage.py events worker`, applications.events.delivery): seconds a worker holds a
# delivery it is sending before another worker may take it over (longer than one attempt can last:
# the outbound connect + read timeouts), consecutive failed attempts after which a webhook is disabled,
# seconds an idle worker sleeps between looks, and days events and their delivery logs are kept
# (`manage.py events prune`; an event with a delivery still pending is never deleted).
LATCHKEY_WEBHOOK_LEASE_SECONDS = env.int("LATCHKEY_WEBHOOK_LEASE_SECONDS", default=60)
LATCHKEY_WEBHOOK_DISABLE_AFTER = env.int("LATCHKEY_WEBHOOK_DISABLE_AFTER", default=20)
LATCHKEY_WEBHOOK_POLL_SECONDS = env.float("LATCHKEY_WEBHOOK_POLL_SECONDS", default=2.0)
LATCHKEY_EVENT_RETENTION_DAYS = env.int("LATCHKEY_EVENT_RETENTION_DAYS", default=30)

# How long an emailed invitation to join an organisation works (identity.organizations).
LATCHKEY_ORGANIZATION_INVITATION_TTL_DAYS = env.int("LATCHKEY_ORGANIZATION_INVITATION_TTL_DAYS", default=7)

# Where an end-user page's forms may lead besides 'self' (config.security asks it per page).
LATCHKEY_PAGE_FORM_ACTION_SOURCES = "branding.page_policy.request_form_action_sources"
# The brand of pages that serve no application (and the colours an application leaves blank);
# colours are #RRGGBB, the logo an https URL the browser loads (check latchkey.E007).
LATCHKEY_BRAND_NAME = env.str("LATCHKEY_BRAND_NAME", default="Latchkey")
LATCHKEY_BRAND_LOGO_URL = env.str("LATCHKEY_BRAND_LOGO_URL", default="")
LATCHKEY_BRAND_PRIMARY_COLOR = env.str("LATCHKEY_BRAND_PRIMARY_COLOR", default="#1D4ED8")
LATCHKEY_BRAND_SECONDARY_COLOR = env.str("LATCHKEY_BRAND_SECONDARY_COLOR", default="#F59E0B")

OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "applications.oauth.validator.LatchkeyValidator",
    "OIDC_SERVER_CLASS": "applications.oauth.server.LatchkeyServer",
    "SCOPES_BACKEND_CLASS": "applications.oauth.scopes.CatalogueScopes",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": LATCHKEY_ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # Off: the toolkit's strict mode refuses every http post-logout URI of a public client, even the
    # loopback ones registration allows; applications.oauth.logout matches registered URIs exactly.
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": False,
    # A valid id_token_hint for the signed-in user ends the session without asking (OIDC RP-Initiated
    # Logout §2 requires the prompt only without one); applications.oauth.logout revokes only that app's tokens.
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    # oauthlib's hook takes a callable (not an import string): each client's own access-token TTL.
    "EXTRA_SERVER_KWARGS": {"token_expires_in": access_token_expires_in},
    # RFC 8628 (applications.oauth.device): where a user types a device's code, and the poll interval.
    "OAUTH_DEVICE_VERIFICATION_URI": f"{LATCHKEY_ISSUER}/device",
    "OAUTH_DEVICE_VERIFICATION_URI_COMPLETE": f"{LATCHKEY_ISSUER}/device?user_code={{user_code}}",
    "DEVICE_FLOW_INTERVAL": 5,
    # django-oauth-toolkit's hook loads the device grant before the client is authenticated (a 500 for an
    # unknown code); DeviceGrantRules loads it afterwards and binds it to that client.
    "OAUTH_PRE_TOKEN_VALIDATION": [],
    # The longest per-app refresh lifetime; each app's own refresh_token_ttl is checked by the validator.
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_TTL_MAX,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "CLIENT_SECRET_HASHER": "latchkey_hmac_sha256",
    # 256-bit token values in one CSPRNG read (oauthlib's default makes 30 reads for 178 bits).
    # Access tokens for JWT API resources are RFC 9068 JWTs (applications.oauth.access_tokens), others random.
    "ACCESS_TOKEN_GENERATOR": "applications.oauth.access_tokens.access_token_value",
    "REFRESH_TOKEN_GENERATOR": "applications.oauth.token_values.random_token",
    "APPLICATION_ADMIN_CLASS": "applications.admin.ApplicationAdmin",
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# django-cors-headers acts only on these endpoints, for origins listed by an active application
# (applications.oauth.cors); discovery and JWKS send `Access-Control-Allow-Origin: *` themselves.
CORS_URLS_REGEX = r"^/oauth/(token|userinfo|revoke|introspect)$"
CORS_ALLOW_CREDENTIALS = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.ManagementTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["applications.api.permissions.ManagementScopePermission"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.TotalPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Latchkey management API",
    "DESCRIPTION": "Register and manage applications, API resources, roles, users, consents and webhooks "
    "(the events they receive: GET /api/events/types, and docs/events.md for payloads and signatures). "
    "Authenticate with a client-credentials access token of an m2m application holding "
    "management:read (reads) or management:write (writes).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api",
    # Choice sets that share a field name get their own component names.
    "ENUM_NAME_OVERRIDES": {
        "TypeEnum": "applications.schema.TYPE_CHOICES",
        "ProviderTypeEnum": "identity.federation.models.Provider.Type",
        # ID tokens and JWT access tokens (API resources' signing_alg) choose from the same algorithms.
        "SigningAlgorithmEnum": "applications.models.SigningAlgorithm",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.document_auth_errors",
    ],
}
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["WWW-Authenticate"]  # RFC 6750 §3: userinfo's bearer-token errors

# Bearer token that unlocks GET /metrics (Prometheus); unset, /metrics answers 404.
LATCHKEY_METRICS_TOKEN = env.str("LATCHKEY_METRICS_TOKEN", default="")

# Usage per application (applications.usage): counted in each process and added to the daily rows every
# this many seconds by a thread (0: no thread, only explicit flushes); a crash loses at most that interval.
LATCHKEY_USAGE_FLUSH_SECONDS = env.float("LATCHKEY_USAGE_FLUSH_SECONDS", default=10)
# Days of daily usage kept; `manage.py cleartokens` deletes older rows.
LATCHKEY_USAGE_RETENTION_DAYS = env.int("LATCHKEY_USAGE_RETENTION_DAYS", default=400)

# Seconds a client is told to wait (Retry-After) when a 503 says the database or cache is out of reach.
LATCHKEY_RETRY_AFTER_SECONDS = env.int("LATCHKEY_RETRY_AFTER_SECONDS", default=5)

LOG_LEVEL = env.str("LATCHKEY_LOG_LEVEL", default="INFO").upper()
# json: one JSON object per line (for log shippers); plain: readable lines for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.logs.RequestIdFilter"},
        "redact": {"()": "config.logs.RedactSecrets"},
        "expected_as_warning": {"()": "config.logs.ExpectedAsWarning"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC, microseconds
            # Django attaches the request (or the socket) to some records: never written out.
            "reserved_attrs": [*RESERVED_LOG_ATTRS, "request", "server_time"],
        },
    },
    "handlers": {
        # Every handler carries both filters: the id, then the redaction that must see everything.
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's defaults give these their own handlers (and `django.server` no propagation), which
        # would bypass the format and the redaction: everything goes through the root handler instead.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # A request naming a Host outside DJANGO_ALLOWED_HOSTS gets a 400: one WARNING line, no traceback.
        "django.security.DisallowedHost": {"filters": ["expected_as_warning"], "propagate": True},
    },
}
