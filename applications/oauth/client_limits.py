"""Failed client authentications at the token, introspection and revocation endpoints (issue 20): counted per
client_id and per address (config.ratelimit); over either limit the answer is 429 with Retry-After instead of
401, in the endpoint's JSON error shape. A successful authentication reads and writes no counter, so it pays
no extra round trip; a client secret is a long random value (applications.secrets), so guessing it is not
what the limit is for: it sheds a flood of bad credentials and tells a misconfigured client to stop.
"""

from __future__ import annotations

from django.conf import settings
from oauthlib.oauth2.rfc6749 import errors

from config.ratelimit import Limit, client_ip_of, count


class TooManyFailedAuthentications(errors.OAuth2Error):
    error = "invalid_client"
    status_code = 429

    def __init__(self, retry_after: int, request=None) -> None:
        super().__init__(
            description=f"Too many failed client authentications: try again in {retry_after} seconds.",
            request=request,
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after), "Cache-Control": "no-store"}


def _limits() -> tuple[Limit, Limit]:
    window = settings.LATCHKEY_CLIENT_AUTH_FAILURE_WINDOW_SECONDS
    return (
        Limit("client-auth-client", settings.LATCHKEY_CLIENT_AUTH_FAILURES_PER_CLIENT, window),
        Limit("client-auth-ip", settings.LATCHKEY_CLIENT_AUTH_FAILURES_PER_IP, window),
    )


def authentication_failed(request, client_id: str | None) -> None:
    """Count a failed client authentication; raise TooManyFailedAuthentications once a limit is passed."""
    per_client, per_ip = _limits()
    waits = [count(per_ip, client_ip_of(request.headers or {}))]
    if client_id:
        waits.append(count(per_client, client_id))
    if over := [wait for wait in waits if wait is not None]:
        raise TooManyFailedAuthentications(max(over), request=request)
