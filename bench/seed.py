"""Seeds one benchmark database: `python -m bench.seed latchkey|vanilla OUT_DIR N`.

Run with DJANGO_SETTINGS_MODULE and DATABASE_URL of the server under test. Latchkey's clients,
user, API resource and signing key are created through its services; vanilla DOT's through its
own models (DOT has no service layer). Both get the same things: an m2m (client-credentials)
client, a confidential web client (authorization code + refresh), a user, one access token
for userinfo/introspection, N single-use authorization codes (with a PKCE S256 challenge,
which DOT's default PKCE_REQUIRED demands) and N refresh tokens, written one per line to
OUT_DIR/codes.txt and OUT_DIR/refresh_tokens.txt. Everything else goes to OUT_DIR/seed.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import django

REDIRECT_URI = "https://rp.bench.example/callback"
CODE_VERIFIER = "bench-" + "v" * 60  # one verifier for every code: the server hashes it per request all the same
CODE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()


def seed_latchkey() -> dict:
    from applications import services
    from applications.models import Application, Scope
    from applications.oauth import keys
    from identity import services as identity_services

    resource = services.api_resource_create(
        actor=None, identifier="https://api.bench.example", name="Bench API", scopes={"bench:read": "Read"}
    )
    m2m = Application(name="Bench M2M", type="m2m")
    m2m_secret = services.application_create(
        actor=None, application=m2m, allowed_scopes=list(Scope.objects.filter(resource=resource))
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
    return {
        "m2m": {"client_id": m2m.client_id, "client_secret": m2m_secret, "scope": "bench:read"},
        "web": {"client_id": web.client_id, "client_secret": web_secret, "redirect_uri": REDIRECT_URI},
        "user": user,
        "web_app": web,
        "code_scope": "openid profile offline_access",
        "token_scope": "openid profile email",
        "grant_extra": {"auth_time": None},
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
    return {
        "m2m": {"client_id": m2m.client_id, "client_secret": m2m_secret, "scope": "read"},
        "web": {"client_id": web.client_id, "client_secret": web_secret, "redirect_uri": REDIRECT_URI},
        "user": user,
        "web_app": web,
        "code_scope": "openid read",
        "token_scope": "openid read",
        "grant_extra": {},
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


def main() -> None:
    flavour, out, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    django.setup()
    from django.db import transaction

    with transaction.atomic():
        seeded = seed_latchkey() if flavour == "latchkey" else seed_vanilla()
        mint(seeded, n, out)


if __name__ == "__main__":
    main()
