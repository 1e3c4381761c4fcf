"""Values of identity's settings, named once."""

from __future__ import annotations

# LATCHKEY_REGISTRATION: who may create an account on the sign-in page.
REGISTRATION_OPEN = "open"  # anyone
REGISTRATION_CLOSED = "closed"  # nobody: admins create users
REGISTRATION_INVITE = "invite"  # nobody; a user an admin creates without a password is emailed a set-password link
REGISTRATION_MODES = (REGISTRATION_OPEN, REGISTRATION_CLOSED, REGISTRATION_INVITE)
