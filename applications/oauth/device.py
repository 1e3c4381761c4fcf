"""RFC 8628 device authorization grant: validator rules and the user's /device page."""

from __future__ import annotations


class DeviceGrantRules:
    """Validator overrides for the device code grant, mixed into LatchkeyValidator."""
