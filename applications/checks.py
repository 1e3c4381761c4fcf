"""System checks of the applications' settings (registered by ApplicationsConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from applications.oauth.keys import ALGORITHMS


@checks.register()
def check_signing_algorithm(app_configs, **kwargs) -> list[checks.CheckMessage]:
    algorithm = getattr(settings, "LATCHKEY_SIGNING_ALGORITHM", "RS256")
    if algorithm not in ALGORITHMS:
        return [
            checks.Error(
                f"LATCHKEY_SIGNING_ALGORITHM={algorithm!r} is not a supported signing algorithm.",
                hint=f"Use one of {', '.join(ALGORITHMS)}: it signs the ID tokens of applications that choose none.",
                id="latchkey.E006",
            )
        ]
    return []
