"""The one hand-written statement of usage: add a flush's counts to the daily rows.

`INSERT … ON CONFLICT … DO UPDATE SET count = count + excluded.count` adds in the database, so two
processes flushing the same (application, day, metric) both count, and no row is read or locked
beforehand. The same text runs on SQLite (3.24+) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import connection

from applications.usage.models import UsageCount

_TABLE = UsageCount._meta.db_table
_ROW = "(%s, %s, %s, %s)"
# 4 parameters a row: well under SQLite's oldest limit of 999 per statement. A flush is one statement
# unless more than this many (application, day, metric) triples were counted since the last one.
ROWS_PER_STATEMENT = 200


def counts_add(rows: Sequence[tuple[int, date, str, int]]) -> None:
    """Add each (application_id, day, metric, n) to its row, creating it at n; the triples are distinct."""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(_upsert(len(chunk)), [value for row in chunk for value in row])


def _upsert(rows: int) -> str:
    # Only the table name (the model's) and placeholders are formatted in; every value is a parameter.
    return (
        f"INSERT INTO {_TABLE} (application_id, day, metric, count) VALUES {', '.join([_ROW] * rows)} "  # noqa: S608
        f"ON CONFLICT (application_id, day, metric) DO UPDATE SET count = {_TABLE}.count + excluded.count"
    )
