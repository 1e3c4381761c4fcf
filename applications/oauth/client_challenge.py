"""The challenge of a failed client authentication at the token, introspection, revocation and device endpoints.

oauthlib 3 answers every 401 with `WWW-Authenticate: Bearer error=...`, the scheme of a protected
resource. A client authenticates here with HTTP Basic or with body parameters: RFC 6749 §5.2 asks
the header to name "the authentication scheme used by the client" (Basic), and lets a 401 to a
client that used the body name the scheme the server supports (Basic again). Never Bearer.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

CLIENT_CHALLENGE = 'Basic realm="oauth", charset="UTF-8"'


class ClientChallengeMixin:
    """Mixed into a view whose 401s are client-authentication failures.

    Its `dispatch` stays CSRF-exempt like django-oauth-toolkit's (as_view reads the attribute from
    the class's dispatch): clients call these endpoints with credentials, never with a cookie.
    """

    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 401:
            response["WWW-Authenticate"] = CLIENT_CHALLENGE
        return response
