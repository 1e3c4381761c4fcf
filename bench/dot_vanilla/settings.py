"""Vanilla django-oauth-toolkit for `make bench`: Django's startproject defaults plus DOT's own.

Only what the benchmark needs to differ from a fresh `django-admin startproject` + DOT install:
PostgreSQL from DATABASE_URL, the same CONN_MAX_AGE as Latchkey's run, OIDC enabled with an
RSA key (so discovery, JWKS and userinfo exist) and an `openid` scope next to DOT's default
`read`/`write`. Everything else, the client-secret hasher included, is DOT 3.4.1's default.
"""

from __future__ import annotations

import os

import environ

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]

# Django 5.2's startproject middleware, unchanged.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bench.dot_vanilla.urls"
WSGI_APPLICATION = "bench.dot_vanilla.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "0"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ["DOT_VANILLA_RSA_PRIVATE_KEY"],
    "SCOPES": {"openid": "OpenID Connect", "read": "Reading scope", "write": "Writing scope"},
}
