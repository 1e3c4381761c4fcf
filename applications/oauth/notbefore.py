"""Shim until branch i18-notbefore (applications.oauth.revocations) is merged; delete it then.

Revocations that reach JWT access tokens are that branch's; until it lands, nothing is revoked this way.
"""

from __future__ import annotations

try:
    from applications.oauth.revocations import token_revoked
except ImportError:  # pragma: no cover - removed at merge

    def token_revoked(*, subject: str | None, client_id: str, issued_at) -> bool:  # noqa: ARG001
        return False


__all__ = ["token_revoked"]
