"""/healthz (the process answers) and /readyz (it can serve: database, signing keys, cache).

Load balancers and orchestrators poll these every few seconds, so both are cheap: /healthz touches
nothing, /readyz runs one query that proves the database answers and that this server can decrypt
the stored signing keys, plus one cache round trip (the shared cache holds the CORS origin set).
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


def _cache() -> dict:
    probe = uuid.uuid4().hex
    try:
        cache.set(_CACHE_PROBE_KEY, probe, timeout=10)
        answered = cache.get(_CACHE_PROBE_KEY)
    except Exception as error:  # each backend raises its own errors (redis.ConnectionError, OSError…)
        log.warning("readiness: cache unreachable: %s", type(error).__name__)
        return _fail(f"cache error ({type(error).__name__})")
    # Another process may have written its own probe in between: any answer proves a round trip.
    return OK if answered is not None else _fail("cache did not keep a value")


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    database, signing_key = _database_and_signing_key()
    checks = {"database": database, "signing_key": signing_key, "cache": _cache()}
    ready = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if ready else "fail", "checks": checks}, status=200 if ready else 503)
