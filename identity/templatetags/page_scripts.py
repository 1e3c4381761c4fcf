"""`{% script_nonce %}`: the page runs the scripts WebAuthn needs (passkeys), each carrying this nonce.

End-user pages allow no script at all (config.security); a page that prints this tag allows, in its
Content-Security-Policy, exactly the <script> elements that carry its nonce.
"""

from __future__ import annotations

from django import template

from config.security import allow_scripts

register = template.Library()


@register.simple_tag(takes_context=True)
def script_nonce(context) -> str:
    return allow_scripts(context["request"])
