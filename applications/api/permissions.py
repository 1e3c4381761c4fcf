"""Who may call the management API (/api/): the management scopes of an m2m client, or staff.

Named in REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]; the scopes are defined with the other
application rules (applications.policies).
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from applications.policies import MANAGEMENT_READ, MANAGEMENT_WRITE
from identity.mfa.policies import staff_session_allowed


class ManagementScopePermission(BasePermission):
    """Reads need management:read (or write); writes need management:write. Staff sessions pass."""

    message = "This token lacks the management scope this request needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            # Staff, with the second factor the admin console asks for (identity.mfa.policies).
            return staff_session_allowed(request)
        if not hasattr(token, "scope") or token.application is None or token.application.type != "m2m":
            return False
        needed = [MANAGEMENT_READ, MANAGEMENT_WRITE] if request.method in SAFE_METHODS else [MANAGEMENT_WRITE]
        return any(token.is_valid([scope]) for scope in needed)
