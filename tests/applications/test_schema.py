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
