"""Who must show a second factor: staff in the admin console and on the management API.

Applications that require one say so in their auth_methods (applications.policies.second_factor_required;
the authorization decision steps the sign-in up).
"""

from __future__ import annotations

from django.conf import settings

from identity.auth_time import session_sign_in_method
from identity.mfa.factors import second_factor_shown


def staff_second_factor_required() -> bool:
    return settings.LATCHKEY_ADMIN_SECOND_FACTOR == "required"


def staff_session_allowed(request) -> bool:
    """A staff member's session may use the admin console and the management API: active staff, with a
    second factor shown in this session unless LATCHKEY_ADMIN_SECOND_FACTOR=optional."""
    user = request.user
    if not (user is not None and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return not staff_second_factor_required() or second_factor_shown(session_sign_in_method(request))
