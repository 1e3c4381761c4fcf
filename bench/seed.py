"""Seeds one benchmark database: `python -m bench.seed latchkey|vanilla OUT_DIR N [STORED]`.

Run with DJANGO_SETTINGS_MODULE and DATABASE_URL of the server under test. Latchkey's clients,
user, API resource and signing key are created through its services; vanilla DOT's through its
own models (DOT has no service layer). Both get the same things: an m2m (client-credentials)
client, a confidential web client (authorization code + refresh), a user, one access token
for userinfo/introspection, N single-use authorization codes (with a PKCE S256 challenge,
which DOT's default PKCE_REQUIRED demands) and N refresh tokens, written one per line to
OUT_DIR/codes.txt and OUT_DIR/refresh_tokens.txt. Everything else goes to OUT_DIR/seed.json.

Latchkey also gets a second API resource whose access tokens are JWTs (RFC 9068), which the m2m
client may use: client credentials with `resource=` it is the bench's JWT line (vanilla DOT has none).

STORED (default 0): that many more access tokens, each with its refresh token and the (redeemed)
code it came from, written by PostgreSQL in one INSERT ... SELECT per table (`store_tokens`), so
that the measured endpoints run against tables of a realistic size: spread over several users and
clients, distinct checksums, a tenth of the access tokens expired, a twentieth of the refresh
tokens revoked (rotated). None of their values is ever sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import django

REDIRECT_URI = "https://rp.bench.example/callback"
CODE_VERIFIER = "bench-" + "v" * 60  # one verifier for every code: the server hashes it per request all the same
CODE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
JWT_RESOURCE = "https://jwt-api.bench.example"
STORED_USERS = 100  # the stored tokens' owners
STORED_CLIENTS = 3  # and clients, beside the bench's web client


def seed_latchkey() -> dict:
    from applications import services
    from applications.models import Application, Scope
    from applications.oauth import keys
    from identity import services as identity_services

    resource = services.api_resource_create(
        actor=None, identifier="https://api.bench.example", name="Bench API", scopes={"bench:read": "Read"}
    )
    jwt_resource = services.api_resource_create(
        actor=None,
        identifier=JWT_RESOURCE,
        name="Bench JWT API",
        scopes={"bench:jwt": "Read, with JWT access tokens"},
        token_settings={"access_token_format": "jwt"},
    )
    m2m = Application(name="Bench M2M", type="m2m")
    m2m_secret = services.application_create(
        actor=None, application=m2m, allowed_scopes=list(Scope.objects.filter(resource__in=[resource, jwt_resource]))
    )
    # The ID token algorithm the web client allows (bench/run.py: BENCH_ID_TOKEN_ALGORITHM).
    algorithm = os.environ.get("BENCH_ID_TOKEN_ALGORITHM", "ES256")
    web = Application(name="Bench Web", type="web", redirect_uris=REDIRECT_URI, algorithm=algorithm)
    web_secret = services.application_create(
        actor=None,
        application=web,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "profile", "email", "offline_access"])),
    )
    user = identity_services.user_create(
        actor=None, email="bench@example.com", password=None, given_name="Bench", family_name="User"
    )
    keys.current()  # the first signing keys, one per algorithm

    def other_client(i: int) -> Application:
        app = Application(name=f"Bench Stored {i}", type="web", redirect_uris=REDIRECT_URI)
        services.application_create(actor=None, application=app, allowed_scopes=web.allowed_scopes.all())
        return app

    return {
        "m2m": {
            "client_id": m2m.client_id,
            "client_secret": m2m_secret,
            "scope": "bench:read",
            "jwt_scope": "bench:jwt",
            "jwt_resource": JWT_RESOURCE,
        },
        "web": {"client_id": web.client_id, "client_secret": web_secret, "redirect_uri": REDIRECT_URI},
        "user": user,
        "web_app": web,
        "code_scope": "openid profile offline_access",
        "token_scope": "openid profile email",
        "grant_extra": {"auth_time": None},
        "other_client": other_client,
    }


def seed_vanilla() -> dict:
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    m2m_secret, web_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # DOT hashes client_secret on save with its default CLIENT_SECRET_HASHER (Django's PBKDF2).
    m2m = Application.objects.create(
        name="Bench M2M",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=m2m_secret,
    )
    web = Application.objects.create(
        name="Bench Web",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=web_secret,
        redirect_uris=REDIRECT_URI,
        algorithm=Application.RS256_ALGORITHM,
    )
    user = get_user_model().objects.create_user("bench", "bench@example.com", None)

    def other_client(i: int):
        return Application.objects.create(
            name=f"Bench Stored {i}",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            client_secret=secrets.token_urlsafe(32),
            redirect_uris=REDIRECT_URI,
            algorithm=Application.RS256_ALGORITHM,
        )

    return {
        "m2m": {"client_id": m2m.client_id, "client_secret": m2m_secret, "scope": "read"},
        "web": {"client_id": web.client_id, "client_secret": web_secret, "redirect_uri": REDIRECT_URI},
        "user": user,
        "web_app": web,
        "code_scope": "openid read",
        "token_scope": "openid read",
        "grant_extra": {},
        "other_client": other_client,
    }


def mint(seeded: dict, n: int, out: Path) -> None:
    """N codes and N refresh tokens straight into the tables, in bulk; one access token for userinfo."""
    from django.utils import timezone
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_refresh_token_model,
        set_token_value,
    )

    AccessToken, Grant, RefreshToken = get_access_token_model(), get_grant_model(), get_refresh_token_model()
    user, web = seeded["user"], seeded["web_app"]
    # Longer than a real code's 60 s so the codes outlive seeding and the other endpoints' runs.
    expires = timezone.now() + timedelta(hours=2)

    codes = [secrets.token_urlsafe(30) for _ in range(n)]
    Grant.objects.bulk_create(
        [
            Grant(
                user=user,
                application=web,
                code=code,
                expires=expires,
                redirect_uri=REDIRECT_URI,
                scope=seeded["code_scope"],
                code_challenge=CODE_CHALLENGE,
                code_challenge_method="S256",
                **seeded["grant_extra"],
            )
            for code in codes
        ],
        batch_size=2000,
    )

    def access_token(scope: str) -> tuple[AccessToken, str]:
        raw = secrets.token_urlsafe(30)
        token = AccessToken(user=user, application=web, scope=scope, expires=expires)
        set_token_value(token, raw)
        return token, raw

    userinfo_token, userinfo_raw = access_token(seeded["token_scope"])
    userinfo_token.save()

    pairs = [access_token(seeded["code_scope"]) for _ in range(n)]
    access_tokens = AccessToken.objects.bulk_create([token for token, _ in pairs], batch_size=2000)
    refresh_raw = [secrets.token_urlsafe(30) for _ in range(n)]
    refresh_tokens = []
    for raw, at in zip(refresh_raw, access_tokens, strict=True):
        rt = RefreshToken(user=user, application=web, access_token=at, token_family=uuid.uuid4())
        set_token_value(rt, raw)
        refresh_tokens.append(rt)
    RefreshToken.objects.bulk_create(refresh_tokens, batch_size=2000)

    (out / "codes.txt").write_text("\n".join(codes) + "\n")
    (out / "refresh_tokens.txt").write_text("\n".join(refresh_raw) + "\n")
    (out / "seed.json").write_text(
        json.dumps(
            {
                "m2m": seeded["m2m"],
                "web": seeded["web"],
                "access_token": userinfo_raw,
                "code_verifier": CODE_VERIFIER,
                "n": n,
            }
        )
    )


def insert_select(model, values: dict[str, str], source: str, params: dict) -> int:
    """INSERT INTO `model`'s table SELECT `values` FROM `source`: one statement, the rows made by PostgreSQL.

    `values` maps a field's attname to an SQL expression (named parameters `%(name)s`, from `params`);
    auto_now fields get now(); every other field is NULL where nullable, else its default (Django's
    defaults live in Python, not in the schema), else '' where blank text is allowed. Returns the
    number of rows written. Table and columns come from the model, quoted; no value is spliced in.
    """
    from django.db import connection

    columns, expressions, params = [], [], dict(params)
    for field in model._meta.concrete_fields:
        if field.primary_key and field.attname not in values:
            continue
        if field.attname in values:
            expression = values[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expression = "now()"
        elif field.null:
            continue
        elif field.has_default():
            params[f"default_{field.column}"] = field.get_db_prep_save(field.get_default(), connection)
            expression = f"%(default_{field.column})s"
        elif field.blank and field.empty_strings_allowed:
            expression = "''"  # what a form or model instance leaves in a blank text field
        else:
            raise ValueError(f"{model.__name__}.{field.attname} needs a value")
        columns.append(connection.ops.quote_name(field.column))
        expressions.append(expression)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def store_tokens(seeded: dict, count: int) -> None:
    """`count` access tokens, their refresh tokens and the codes they came from, in bulk (see the docstring).

    Row g (1..count): owned by one of STORED_USERS users and issued to one of STORED_CLIENTS + 1 web
    clients; its values are `stored-<kind>-<salt>-<g>` (the salt: a new one per seed), of which only
    the SHA-256 checksum is kept, as the server keeps them (or the value too where the project stores
    tokens in clear: vanilla DOT's default). Created over the last day; one access token in ten has
    expired, the rest expire within the hour; one refresh token in twenty was rotated (revoked, its
    access token gone, as a rotation leaves it).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_refresh_token_model,
        set_token_value,
    )

    AccessToken, Grant, RefreshToken = get_access_token_model(), get_grant_model(), get_refresh_token_model()
    User = get_user_model()
    users = [User(**{User.USERNAME_FIELD: f"stored{i}@bench.example"}) for i in range(STORED_USERS)]
    for user in users:
        user.set_unusable_password()
    users = User.objects.bulk_create(users)
    clients = [seeded["web_app"]] + [seeded["other_client"](i) for i in range(STORED_CLIENTS)]
    # Stored as the project stores a token it issues: the checksum only, or the value in clear too.
    probe = AccessToken()
    set_token_value(probe, "probe")
    value = "{raw}" if probe.token == "probe" else "''"
    salt = secrets.token_hex(8)
    params = {
        "users": [u.pk for u in users],
        "clients": [c.pk for c in clients],
        "n_users": len(users),
        "n_clients": len(clients),
        "redirect_uri": REDIRECT_URI,
        "scope": seeded["code_scope"],
    }
    rows = "generate_series(1, %(count)s::bigint) AS g"
    user = "(%(users)s::bigint[])[1 + mod(g, %(n_users)s)]"
    client = "(%(clients)s::bigint[])[1 + mod(g, %(n_clients)s)]"
    created = "now() - make_interval(secs => mod(g * 7919, 86400))"

    def raw(kind: str) -> str:
        return f"'stored-{kind}-{salt}-' || g"

    def checksum(kind: str) -> str:
        return f"encode(sha256(convert_to({raw(kind)}, 'UTF8')), 'hex')"

    family = f"md5('family-{salt}-' || g)::uuid"
    grant_fields = {f.attname for f in Grant._meta.concrete_fields}
    grant = {
        "user_id": user,
        "application_id": client,
        "code": raw("code"),
        "expires": f"{created} + interval '60 seconds'",
        "redirect_uri": "%(redirect_uri)s",
        "scope": "%(scope)s",
        "created": created,
        "updated": created,
    }
    # Latchkey keeps a redeemed code as long as its refresh family lives (applications.models.Grant).
    grant |= {k: v for k, v in {"redeemed_at": created, "token_family": family}.items() if k in grant_fields}
    before = AccessToken.objects.order_by("-id").values_list("id", flat=True).first() or 0
    insert_select(Grant, grant, rows, {**params, "count": count})
    insert_select(
        AccessToken,
        {
            "user_id": user,
            "application_id": client,
            "token": value.format(raw=raw("at")),
            "token_checksum": checksum("at"),
            "expires": "now() + make_interval(secs => mod(g * 7919, 4000) - 400)",
            "scope": "%(scope)s",
            "created": created,
            "updated": created,
        },
        rows,
        {**params, "count": count},
    )
    # The access tokens just written are the ones above `before` (this transaction alone writes now).
    at_table = connection.ops.quote_name(AccessToken._meta.db_table)
    rotated = "mod(g, 20) = 0"
    insert_select(
        RefreshToken,
        {
            "user_id": "a.user_id",
            "application_id": "a.application_id",
            "access_token_id": f"CASE WHEN {rotated} THEN NULL ELSE a.id END",
            "token": value.format(raw=raw("rt")),
            "token_checksum": checksum("rt"),
            "token_family": family,
            "revoked": f"CASE WHEN {rotated} THEN now() ELSE NULL END",
            "created": "a.created",
            "updated": "a.created",
        },
        # g counts them in the order they were written (their ids need not be contiguous: a sequence
        # keeps the values a rolled-back transaction took).
        f"(SELECT id, user_id, application_id, created, row_number() OVER (ORDER BY id) AS g FROM {at_table} "  # noqa: S608
        "WHERE id > %(before)s) AS a",
        {"before": before},
    )
    with connection.cursor() as cursor:
        for model in (Grant, AccessToken, RefreshToken):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def main() -> None:
    flavour, out, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    stored = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    django.setup()
    from django.db import transaction

    with transaction.atomic():
        seeded = seed_latchkey() if flavour == "latchkey" else seed_vanilla()
        if stored:
            from django.db import connection

            started = time.monotonic()
            with connection.cursor() as cursor:
                # A million rows take longer than the server's per-statement bound (config/settings/base.py).
                cursor.execute("SET LOCAL statement_timeout = 0")
            store_tokens(seeded, stored)
            print(f"{flavour}: {stored} stored tokens in {time.monotonic() - started:.1f} s", file=sys.stderr)
        mint(seeded, n, out)


if __name__ == "__main__":
    main()
