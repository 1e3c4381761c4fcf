"""CORS per application: browser origins listed in an active app's cors_origins."""

from __future__ import annotations


class CorsRules:
    """Validator overrides for CORS, mixed into LatchkeyValidator."""
