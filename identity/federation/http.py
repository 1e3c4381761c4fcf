"""allauth's HTTP requests, sent through the outbound-request guard (config.outbound).

allauth makes every request to a provider (OIDC discovery, token, userinfo, JWKS, GitHub's emails)
with `with get_adapter().get_requests_session() as sess: sess.get/post/request(...)`; our
SocialAccountAdapter.get_requests_session hands it a GuardedSession, so none of them reaches the
network any other way. The request allauth builds (params, form body, basic auth) is prepared by
`requests` itself and then sent by `outbound.fetch` (https only, no private/metadata addresses, no
redirect to another host, timeouts, a size cap); the answer comes back as a `requests.Response`.
A refusal or a failure becomes `UpstreamUnavailable`, a `requests.RequestException`, which allauth's
callback already turns into its authentication-error page (ours, branded).
"""

from __future__ import annotations

import io

import requests
from requests.structures import CaseInsensitiveDict

from config import outbound


class UpstreamUnavailable(requests.ConnectionError):
    """The guard refused the request or the provider did not answer; `reason` says which, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedSession(requests.Session):
    def request(self, method, url, params=None, data=None, headers=None, auth=None, json=None, **ignored):
        """`timeout`, `verify`, proxies and redirects are the guard's, whatever the caller asked."""
        prepared = requests.Request(
            method=method.upper(), url=url, params=params, data=data, json=json, headers=headers, auth=auth
        ).prepare()
        try:
            answer = outbound.fetch(prepared.method, prepared.url, headers=dict(prepared.headers), data=prepared.body)
        except outbound.OutboundError as exc:
            raise UpstreamUnavailable(exc.reason) from exc
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.content)
        response.url = prepared.url
        response.request = prepared
        response.reason = ""
        return response
