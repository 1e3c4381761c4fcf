"""The ceilings `make bench` measures beside the two servers: what this core serves at all.

A Django project with nothing in it: no apps, no middleware, no database, one view returning a
constant JSON document. Whatever a Django endpoint does, it cannot serve more than this view on
the same core; `bench.ceiling.wsgi.bare` (the server calling a function) is the ceiling under that.
The bench serves both under gunicorn and under granian.
"""

from __future__ import annotations

import os

from django.http import JsonResponse
from django.urls import path

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
ROOT_URLCONF = "bench.ceiling.settings"
USE_TZ = True

DOCUMENT = {"issuer": "http://127.0.0.1", "keys": []}


def constant_document(request):
    return JsonResponse(DOCUMENT)


urlpatterns = [path("", constant_document)]
