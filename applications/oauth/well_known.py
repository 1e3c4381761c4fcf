"""The published documents: OpenID Provider / RFC 8414 metadata and the JWKS, served from prebuilt bytes.

Both are public, identical for every caller and read far more often than they change, so they are
built once and answered by WellKnownMiddleware right after Django's SecurityMiddleware: behind the
request id, the access log, metrics and host validation, but before the session, CORS, CSRF,
authentication, messages and allauth machinery and URL resolution, none of which they use. The
views (DiscoveryView, JwksView) answer the same bytes with the same headers when the middleware is
not installed, and whenever the documents cannot be built (the database out of reach with no copy
yet): then the view's error handling gives its 503.

When they are rebuilt:
- the JWKS is keys.KeySet.jwks_json, built with the key set (keys.current(): at most every
  LATCHKEY_KEY_CACHE_SECONDS, and at once in the process that rotates or generates a key);
- discovery lists the scope catalogue. With the per-process memo on (applications.oauth.memo: a
  shared cache), it is rebuilt when the catalogue the memo keeps changes, so a new or removed scope
  is listed on every server within memo.CHECK_SECONDS; without it, at most every
  LATCHKEY_KEY_CACHE_SECONDS, as the JWKS. Either way a relying party may keep it for
  LATCHKEY_KEY_CACHE_SECONDS (Cache-Control).
When the database cannot answer a rebuild, the last good copy is served (and a warning logged).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, get_script_prefix, resolve, reverse

from applications.oauth import claims as oidc_claims
from applications.oauth import keys, memo, scopes

log = logging.getLogger(__name__)


def discovery_document(scopes: list[str]) -> dict:
    issuer = settings.LATCHKEY_ISSUER
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{reverse('oauth:authorize')}",
        "token_endpoint": f"{issuer}{reverse('oauth:token')}",
        "userinfo_endpoint": f"{issuer}{reverse('oauth:userinfo')}",
        "jwks_uri": f"{issuer}{reverse('oauth:jwks')}",
        "revocation_endpoint": f"{issuer}{reverse('oauth:revoke')}",
        "introspection_endpoint": f"{issuer}{reverse('oauth:introspect')}",
        "end_session_endpoint": f"{issuer}{reverse('oauth:logout')}",
        "device_authorization_endpoint": f"{issuer}{reverse('oauth:device-authorization')}",
        "scopes_supported": sorted(scopes),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": oidc_claims.SUPPORTED_CLAIMS,
        "acr_values_supported": [oidc_claims.ACR_MFA],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


@dataclass(frozen=True)
class _Built:
    body: bytes
    source: Any  # what it was built from: the memo's catalogue object, or None (built by age)
    built_at: float  # time.monotonic()
    issuer: str


_lock = threading.Lock()
_discovery: dict[str, _Built] = {}


def clear() -> None:
    _discovery.clear()


def discovery_bytes() -> bytes:
    """The discovery document's bytes, rebuilt when the scope catalogue changes (module docstring)."""
    built = _discovery.get("doc")
    try:
        if memo.enabled():
            source: Any = scopes.catalogue()  # the memo's own object: the same one until the catalogue changes
            if built is not None and built.source is source and built.issuer == settings.LATCHKEY_ISSUER:
                return built.body
            names = list(source)
        else:
            source = None
            fresh = built is not None and time.monotonic() - built.built_at < keys.cache_seconds()
            if fresh and built.issuer == settings.LATCHKEY_ISSUER:
                return built.body
            names = list(scopes.catalogue())
    except keys.UNREACHABLE_ERRORS as error:
        if built is None:
            raise
        log.warning("discovery not rebuilt (%s): serving the last good copy", type(error).__name__)
        return built.body
    body = json.dumps(discovery_document(names), separators=(",", ":")).encode()
    with _lock:
        _discovery["doc"] = _Built(body, source, time.monotonic(), settings.LATCHKEY_ISSUER)
    return body


def jwks_bytes() -> bytes:
    return keys.current().jwks_json


def published_response(body: bytes) -> HttpResponse:
    """The response for a published document, with every header the full middleware stack would add
    after SecurityMiddleware (X-Frame-Options, Content-Length), so both paths answer the same."""
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = f"public, max-age={keys.cache_seconds()}"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Frame-Options"] = "DENY"
    response["Content-Length"] = str(len(body))
    return response


@dataclass(frozen=True)
class _Route:
    match: ResolverMatch  # set on the request, so the access log and metrics name the route as usual
    body: Callable[[], bytes]


_BODIES = {"oauth:discovery": discovery_bytes, "oauth:as-metadata": discovery_bytes, "oauth:jwks": jwks_bytes}
_routes: dict[tuple[str, str], dict[str, _Route]] = {}


def _routes_for(urlconf: str) -> dict[str, _Route]:
    """The documents by request path (script prefix included), as the URLconf names them."""
    prefix = get_script_prefix()
    routes = _routes.get((urlconf, prefix))
    if routes is None:
        routes = {}
        for name, body in _BODIES.items():
            path = reverse(name, urlconf=urlconf)
            routes[path] = _Route(resolve("/" + path.removeprefix(prefix), urlconf=urlconf), body)
        _routes[(urlconf, prefix)] = routes
    return routes


class WellKnownMiddleware:
    """Answers GET/HEAD of the published documents from memory (module docstring); passes on anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = _routes_for(settings.ROOT_URLCONF).get(request.path)
        if route is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        request.get_host()  # host validation, as CommonMiddleware does: DisallowedHost is a 400
        try:
            body = route.body()
        except keys.UNREACHABLE_ERRORS:
            return self.get_response(request)  # nothing to serve yet: the view answers with its 503
        request.resolver_match = route.match
        return published_response(body)
