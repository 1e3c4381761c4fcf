"""config.middleware.LazyMessageMiddleware: messages work as before; unused storage is never built."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.messages import get_messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from config.middleware import LazyMessageMiddleware


def _request(cookies: dict | None = None):
    request = RequestFactory().get("/somewhere")
    request.COOKIES.update(cookies or {})
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def test_a_request_that_uses_no_messages_never_builds_the_storage():
    request = _request()
    response = LazyMessageMiddleware(lambda r: HttpResponse("ok"))(request)
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_added_on_one_request_is_shown_on_the_next():
    def add(request):
        messages.success(request, "Saved.")
        return HttpResponse("added")

    first = _request()
    response = LazyMessageMiddleware(add)(first)
    assert "messages" in response.cookies  # stored for the next request (cookie storage first)

    shown = []

    def show(request):
        shown.extend(str(m) for m in get_messages(request))
        return HttpResponse("shown")

    second = _request({"messages": response.cookies["messages"].value})
    after = LazyMessageMiddleware(show)(second)
    assert shown == ["Saved."]
    assert after.cookies["messages"].value == ""  # shown once, then cleared
