"""What `manage.py cleartokens` deletes, and how: rows nothing can use any more, in short batches.

django-oauth-toolkit's `clear_expired()` knows one global refresh lifetime, never deletes device
grants, and knows nothing of our redeemed codes. Here a row goes only when no request can use it
or learn anything from it:

- Refresh tokens past their application's `refresh_token_ttl` (revoked or not): the validator
  refuses them, and a replay of one can only get `invalid_grant` anyway.
- Every refresh token of a revoked family (no member left that could refresh): a replay of one
  of them would revoke nothing more.
- Revoked refresh tokens of a live family are KEPT until they would have expired: presenting
  one is how a stolen token is recognised, and the whole family is then revoked.
- Unrevoked refresh tokens without an access token (an access token deleted out of band):
  django-oauth-toolkit refuses them, so they only take space.
- Access tokens past `expires`, unless a live refresh token points at one: the toolkit refreshes
  against that row, so deleting it would break a refresh that must work.
- ID tokens past `expires`, unless a kept access token points at one (deleting the ID token
  would delete that access token with it). Logout reads `id_token_hint` from its signature, not
  from these rows, so an expired hint still works.
- Authorization codes past `expires`, redeemed or not: a redeemed code stays until then so a
  second redemption is refused and revokes what the first one issued (RFC 6749 §4.1.2).
- Device codes past `expires`: a later poll gets `invalid_grant` instead of `expired_token`,
  both final for the device (RFC 8628 §3.5).
- Rotated-out client secrets past their grace period: they no longer authenticate anyone, and
  their hashes need not be kept.
- Not-before entries (applications.oauth.revocations) past their expiry, the longest access-token
  lifetime after the revocation: every JWT access token they could refuse has expired.
- Daily usage (applications.usage) of days older than LATCHKEY_USAGE_RETENTION_DAYS: counts and
  the record of who was active that day, kept only as long as the operator chose.

Consents are not touched: a user's consents are deleted with the user (CASCADE), and those of a
deactivated user are kept, since deactivation can be undone and consent lasts until revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_device_grant_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications import policies
from applications.models import PreviousClientSecret, TokenRevocation
from applications.usage.models import ActiveUser, UsageCount

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    model: type[models.Model]
    condition: Callable[[datetime], Q]


def _live_refresh_tokens(now: datetime) -> models.QuerySet:
    """Refresh tokens that can still refresh: not revoked, bound to an access token, within their lifetime."""
    return (
        get_refresh_token_model()
        .objects.filter(revoked__isnull=True, access_token__isnull=False)
        .exclude(policies.refresh_token_expired_q(now))
    )


def _refresh_past_lifetime(now: datetime) -> Q:
    return policies.refresh_token_expired_q(now)


def _refresh_in_dead_family(now: datetime) -> Q:
    """Members of a family with no member left that could refresh, other than those past their lifetime."""
    live_member = _live_refresh_tokens(now).filter(token_family=OuterRef("token_family"))
    return Q(token_family__isnull=False) & ~Q(Exists(live_member)) & ~_refresh_past_lifetime(now)


def _refresh_unusable(now: datetime) -> Q:
    orphan = Q(revoked__isnull=True, access_token__isnull=True)
    revoked_without_family = Q(revoked__isnull=False, token_family__isnull=True)  # no replay left to detect
    return (orphan | revoked_without_family) & ~_refresh_past_lifetime(now) & ~_refresh_in_dead_family(now)


def _access_token_dead(now: datetime) -> Q:
    needed_by_refresh = _live_refresh_tokens(now).filter(access_token=OuterRef("pk"))
    return Q(expires__lt=now) & ~Q(Exists(needed_by_refresh))


def _id_token_dead(now: datetime) -> Q:
    kept_access_token = (
        get_access_token_model().objects.filter(id_token=OuterRef("pk")).exclude(_access_token_dead(now))
    )
    return Q(expires__lt=now) & ~Q(Exists(kept_access_token))


def _expired(now: datetime) -> Q:
    return Q(expires__lt=now)


def _usage_past_retention(now: datetime) -> Q:
    """Days before the last LATCHKEY_USAGE_RETENTION_DAYS (UTC) days, today included."""
    return Q(day__lte=now.astimezone(UTC).date() - timedelta(days=settings.LATCHKEY_USAGE_RETENTION_DAYS))


def kinds() -> list[Kind]:
    """In deletion order: refresh tokens before the access tokens they hold, access before ID tokens."""
    return [
        Kind("refresh_tokens_expired", "refresh tokens past their lifetime", get_refresh_token_model(),
             _refresh_past_lifetime),
        Kind("refresh_families_revoked", "refresh tokens of revoked families", get_refresh_token_model(),
             _refresh_in_dead_family),
        Kind("refresh_tokens_unusable", "refresh tokens that can no longer refresh", get_refresh_token_model(),
             _refresh_unusable),
        Kind("access_tokens_expired", "access tokens past expiry", get_access_token_model(), _access_token_dead),
        Kind("id_tokens_expired", "ID tokens past expiry", get_id_token_model(), _id_token_dead),
        Kind("authorization_codes_expired", "authorization codes past expiry", get_grant_model(), _expired),
        Kind("device_codes_expired", "device codes past expiry", get_device_grant_model(), _expired),
        Kind("previous_client_secrets_expired", "rotated-out client secrets past their grace period",
             PreviousClientSecret, lambda now: Q(expires_at__lte=now)),
        Kind("not_before_entries_expired", "not-before entries past the longest access-token lifetime",
             TokenRevocation, lambda now: Q(expires_at__lte=now)),
        Kind("usage_counts_expired", "daily usage counts past retention", UsageCount, _usage_past_retention),
        Kind("active_users_expired", "daily active users past retention", ActiveUser, _usage_past_retention),
    ]  # fmt: skip


def _delete_in_batches(kind: Kind, now: datetime, batch_size: int) -> int:
    """DELETE by primary key, `batch_size` rows per transaction, so no table is locked for long.

    The condition is applied again in each DELETE: a row that stopped qualifying since it was
    selected (it never should) is left alone. Walking the keys upwards always ends.
    """
    condition = kind.condition(now)
    deleted, last_pk = 0, 0
    while True:
        pks = list(
            kind.model.objects.filter(condition, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not pks:
            return deleted
        last_pk = pks[-1]
        with transaction.atomic():
            _, per_model = kind.model.objects.filter(condition, pk__in=pks).delete()
        deleted += per_model.get(kind.model._meta.label, 0)


def expired_tokens_clear(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, now: datetime | None = None
) -> list[tuple[Kind, int]]:
    """Delete (or with `dry_run` only count) every dead row; returns the count per kind, in order."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    results = []
    for kind in kinds():
        if dry_run:
            count = kind.model.objects.filter(kind.condition(now)).count()
        else:
            count = _delete_in_batches(kind, now, batch_size)
        results.append((kind, count))
    return results
