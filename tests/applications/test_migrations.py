"""Data migrations whose effect is not visible through the models alone."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from applications.models import Application
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db


def test_0007_resets_an_algorithm_outside_the_choices_to_the_deployment_default():
    migration = importlib.import_module("applications.migrations.0007_application_id_token_algorithm")
    kept = {algorithm: make_application(type="web", algorithm=algorithm)[0] for algorithm in ("", "RS256", "ES256")}
    hs256, _ = make_application(type="web")
    Application.objects.filter(pk=hs256.pk).update(algorithm="HS256")  # django-oauth-toolkit's own choice

    migration.reset_unsupported(apps, None)

    assert Application.objects.get(pk=hs256.pk).algorithm == ""
    assert {a: Application.objects.get(pk=app.pk).algorithm for a, app in kept.items()} == {
        "": "",
        "RS256": "RS256",
        "ES256": "ES256",
    }
