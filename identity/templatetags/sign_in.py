"""`{% safe_next as next %}`: the request's `next` when it stays on this host (identity.adapter.safe_next), for
the allauth pages we render, whose views do not put it in the context."""

from __future__ import annotations

from django import template

from identity.adapter import safe_next as request_safe_next

register = template.Library()


@register.simple_tag(takes_context=True)
def safe_next(context) -> str:
    return request_safe_next(context.get("request"))
