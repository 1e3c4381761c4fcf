"""Django's own middleware, made lazy where the protocol endpoints never use what it prepares."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """Django's MessageMiddleware, but the message storage is built on first use.

    Django builds it (a cookie and a session storage) for every request; only the pages that show
    or add messages need it, never the token, userinfo, introspection, JWKS or discovery endpoints,
    where it was ~6 % of a JWKS request. Storage nobody touched has nothing to save.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = request.__dict__.get("_messages")
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
