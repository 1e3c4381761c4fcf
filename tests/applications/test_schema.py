"""Lookups on the protocol's hot path have indexes: without one a table scan grows with the data."""

from __future__ import annotations

import pytest
from django.db import connection

from applications.models import Grant

pytestmark = pytest.mark.django_db


def _indexed_columns(table: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]


def test_a_codes_refresh_family_is_indexed():
    # Every refresh reads the family's auth_time from its code (and cleartokens keeps such codes
    # while the family lives): with 60,000 codes the unindexed read took 15 ms per refresh.
    assert ["token_family"] in _indexed_columns(Grant._meta.db_table)


def test_the_lookups_of_every_protocol_request_are_indexed():
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    from applications.models import Application

    def leading(model) -> list[str]:
        return [columns[0] for columns in _indexed_columns(model._meta.db_table) if columns]

    assert "client_id" in leading(Application)  # client authentication
    assert "token_checksum" in leading(get_access_token_model())  # bearer and introspection
    assert "token_checksum" in leading(get_refresh_token_model())  # refresh and its row lock
    assert "code" in leading(Grant)  # code exchange and its row lock


def test_only_refresh_tokens_refer_to_access_tokens_with_a_constraint():
    # Rotation deletes the old access token with one DELETE after its refresh token let go of it
    # (applications.oauth.validator): a new relation to access tokens must be handled there too.
    from oauth2_provider.models import get_access_token_model

    relations = {
        (f.related_model._meta.label, f.field.name, f.on_delete.__name__, f.field.db_constraint)
        for f in get_access_token_model()._meta.get_fields(include_hidden=True)
        if f.is_relation and f.auto_created and not f.concrete
    }
    assert relations == {
        ("oauth2_provider.RefreshToken", "access_token", "SET_NULL", True),
        ("applications.Grant", "access_token", "DO_NOTHING", False),
    }
