"""`{% script_nonce %}`: the page runs the scripts WebAuthn needs (passkeys), each carrying this nonce;
`{% script_src %}` links them.

End-user pages allow no script at all (config.security); a page that prints this tag allows, in its
Content-Security-Policy, exactly the <script> elements that carry its nonce.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.templatetags.static import static

from config.security import allow_scripts

register = template.Library()


@register.simple_tag
def script_src(path: str) -> str:
    """The script's static URL; where collectstatic has not run (no manifest entry), its plain URL, so the
    sign-in page still answers and only the passkey button does nothing."""
    try:
        return static(path)
    except ValueError:
        return f"{settings.STATIC_URL}{path}"


@register.simple_tag(takes_context=True)
def script_nonce(context) -> str:
    return allow_scripts(context["request"])
