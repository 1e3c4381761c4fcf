"""/healthz (the process answers) and /readyz (it can serve: database and signing keys; the cache reported).

Load balancers and orchestrators poll these every few seconds, so both are cheap: /healthz touches
nothing, /readyz runs one query that proves the database answers and that this server can decrypt
the stored signing keys, plus one cache round trip. Readiness fails only for what the server cannot
work without: the cache is an optimisation (config.cache), so an unreachable one is reported as
"degraded" and the answer stays 200, or a Redis blip would take every app server out of service.
Neither is cached, and neither writes.

No key at all is ready too: the first request that needs keys generates the key of an algorithm
that has none (applications.oauth.keys), under the running server's secret, so a fresh database
and an upgraded deployment are ready at once.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from applications.oauth import keys

log = logging.getLogger(__name__)

OK = {"status": "ok"}
_CACHE_PROBE_KEY = "latchkey:readyz"


def _fail(reason: str) -> dict:
    return {"status": "fail", "reason": reason}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse(OK)


def _database_and_signing_key() -> tuple[dict, dict]:
    try:
        problem = keys.signing_problem()
    except DatabaseError as error:
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        return _fail(f"database error ({type(error).__name__})"), _fail("not checked: no database")
    if problem:
        return OK, _fail(problem)
    return OK, OK


def _degraded(reason: str) -> dict:
    return {"status": "degraded", "reason": reason}


def _cache() -> dict:
    probe = uuid.uuid4().hex
    try:  # each call bounded by CACHE_CONNECT_TIMEOUT / CACHE_SOCKET_TIMEOUT
        cache.set(_CACHE_PROBE_KEY, probe, timeout=10)
        answered = cache.get(_CACHE_PROBE_KEY)
    except Exception as error:  # each backend raises its own errors (redis.ConnectionError, OSError…)
        log.warning("readiness: cache unreachable: %s", type(error).__name__)
        return _degraded(f"cache error ({type(error).__name__})")
    # Another process may have written its own probe in between: any answer proves a round trip.
    return OK if answered is not None else _degraded("cache did not keep a value")


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    database, signing_key = _database_and_signing_key()
    checks = {"database": database, "signing_key": signing_key, "cache": _cache()}
    ready = all(check["status"] != "fail" for check in checks.values())
    return JsonResponse({"status": "ok" if ready else "fail", "checks": checks}, status=200 if ready else 503)
