"""The oauthlib server django-oauth-toolkit runs (OIDC_SERVER_CLASS), without the grants we never offer."""

from __future__ import annotations

from oauthlib.openid import Server


class LatchkeyServer(Server):
    """oauthlib's OpenID Connect server minus the password grant (RFC 9700 §2.4).

    Without it a password-grant request is `unsupported_grant_type`, not an attempt to
    authenticate a user at the token endpoint.
    """

    def __init__(self, request_validator, *args, **kwargs) -> None:
        super().__init__(request_validator, *args, **kwargs)
        # oauthlib 3.3 keeps the token endpoint's grants in this mapping (TokenEndpoint.grant_types).
        self._grant_types.pop("password", None)
