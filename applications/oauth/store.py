"""The OAuth hot path's reads and writes, as plain SQL on public Django APIs.

Every token, introspection and userinfo request reads a token or a code by its digest with the
rows judging it needs (its user, its access token, its family's sign-in). A queryset would build
and compile its SQL on every call, about 0.6 ms of CPU for the token-with-user read, more than
running the statement; so the statements here are written once, from the models' documented
metadata (`Meta.db_table`, each concrete field's column and attname), run through
`connection.cursor()` (query logging, `assertNumQueries` and the query budgets still see them), and
their rows become instances with `Model.from_db`, the documented way a row becomes a model.

A column's value is turned into the field's Python value by `_converter`: `from_db_value` where the
field defines one (JSON), and on SQLite, which returns text and integers, the parsing Django's SQLite
backend does for dates, booleans and UUIDs. Any other field type is refused when the reader is built,
so a model change that needs a converter fails loudly (and tests/applications/oauth/test_store.py
compares every reader with the ORM's instances on both databases).

Writes stay on the ORM: django-oauth-toolkit saves its rows itself, and a code's redemption is one
`QuerySet.update()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model

from applications.models import Grant

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Application = get_application_model()

# Field types whose database value is already the Python value, on both databases.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "CharField",
        "EmailField",
        "ForeignKey",
        "IntegerField",
        "BigIntegerField",
        "OneToOneField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)
# Types PostgreSQL (psycopg 3, as Django configures it) returns as Python values; SQLite as text or 0/1.
_SQLITE_TEXT_TYPES = frozenset({"BooleanField", "DateField", "DateTimeField", "UUIDField"})


def _sqlite_datetime(value):
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)  # Django's converter parses "datetime"
    if settings.USE_TZ and parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)  # Django keeps UTC in SQLite
    return parsed


def _sqlite_uuid(value):
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(value)


def _sqlite_bool(value):
    return value if value is None else bool(value)


def _sqlite_date(value):
    return value if value is None or not isinstance(value, str) else parse_date(value)


_SQLITE_CONVERTERS = {
    "BooleanField": _sqlite_bool,
    "DateField": _sqlite_date,
    "DateTimeField": _sqlite_datetime,
    "UUIDField": _sqlite_uuid,
}


def _converter(field, connection) -> Callable[[Any], Any] | None:
    """The function giving `field`'s Python value from its column's value; None: the value as it is."""
    internal_type = field.get_internal_type()
    if hasattr(field, "from_db_value"):
        if internal_type != "JSONField":
            raise TypeError(f"store: {field.model.__name__}.{field.name} ({internal_type}) is not supported")
        return lambda value: field.from_db_value(value, None, connection)
    if internal_type in _PLAIN_TYPES:
        return None
    if internal_type in _SQLITE_TEXT_TYPES:
        return _SQLITE_CONVERTERS[internal_type] if connection.vendor == "sqlite" else None
    raise TypeError(f"store: {field.model.__name__}.{field.name} ({internal_type}) is not supported")


@dataclass(frozen=True)
class _Columns:
    """One model's columns in a SELECT (under `alias`), and how a slice of the row becomes its instance."""

    model: type[Model]
    alias: str
    select: str
    attnames: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]

    @property
    def width(self) -> int:
        return len(self.attnames)

    def instance(self, db: str, row: Sequence) -> Model:
        pairs = zip(self.converters, row, strict=True)
        values = [value if convert is None else convert(value) for convert, value in pairs]
        return self.model.from_db(db, self.attnames, values)


def _columns(model: type[Model], alias: str, connection) -> _Columns:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    return _Columns(
        model=model,
        alias=alias,
        select=", ".join(f"{alias}.{quote(field.column)}" for field in fields),
        attnames=tuple(field.attname for field in fields),
        converters=tuple(_converter(field, connection) for field in fields),
    )


def _table(model: type[Model], connection) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], name: str, connection) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _join(
    kind: str, model: type[Model], alias: str, parent: type[Model], parent_alias: str, field: str, connection
) -> str:
    """`kind JOIN model alias` on the primary key that `parent_alias.field` refers to."""
    pk = connection.ops.quote_name(model._meta.pk.column)
    reference = _column(parent, field, connection)
    return f"{kind} JOIN {_table(model, connection)} {alias} ON {alias}.{pk} = {parent_alias}.{reference} "


def _lock_clause(connection, alias: str) -> str:
    """Row locks, refused at once when taken (NOWAIT). SQLite has none: its writer lock serialises."""
    return f" FOR UPDATE OF {alias} NOWAIT" if connection.vendor == "postgresql" else ""


def _fetch(db: str, sql: str, params: Sequence) -> list[tuple]:
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- statements, built once per database alias and vendor --------------------------------------------


@dataclass(frozen=True)
class _Statement:
    sql: str
    parts: tuple[_Columns, ...]
    extra: tuple[Callable[[Any], Any] | None, ...] = ()  # converters of trailing scalar columns


def _user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()


@cache
def _access_token_with_client_and_user(db: str) -> _Statement:
    connection, user_model = connections[db], _user_model()
    token = _columns(AccessToken, "t", connection)
    application = _columns(Application, "a", connection)
    user = _columns(user_model, "u", connection)
    sql = (
        f"SELECT {token.select}, {application.select}, {user.select} FROM {_table(AccessToken, connection)} t "
        + _join("INNER", Application, "a", AccessToken, "t", "application", connection)
        + _join("LEFT OUTER", user_model, "u", AccessToken, "t", "user", connection)
        + f"WHERE t.{_column(AccessToken, 'token_checksum', connection)} = %s"
    )
    return _Statement(sql, (token, application, user))


@cache
def _application_by_client_id(db: str) -> _Statement:
    connection = connections[db]
    application = _columns(Application, "a", connection)
    sql = (
        f"SELECT {application.select} FROM {_table(Application, connection)} a "
        f"WHERE a.{_column(Application, 'client_id', connection)} = %s"
    )
    return _Statement(sql, (application,))


def _family_subquery(field: str, connection) -> str:
    return (
        f"(SELECT g.{_column(Grant, field, connection)} FROM {_table(Grant, connection)} g "
        f"WHERE g.{_column(Grant, 'token_family', connection)} = r.{_column(RefreshToken, 'token_family', connection)} "
        "LIMIT 1)"
    )


def _refresh_token_from(connection) -> tuple[tuple[_Columns, ...], str]:
    """The refresh token (r) with its access token (t, if any) and its user (u): columns and FROM clause."""
    user_model = _user_model()
    parts = (
        _columns(RefreshToken, "r", connection),
        _columns(AccessToken, "t", connection),
        _columns(user_model, "u", connection),
    )
    from_clause = (
        f"FROM {_table(RefreshToken, connection)} r "
        + _join("LEFT OUTER", AccessToken, "t", RefreshToken, "r", "access_token", connection)
        + _join("INNER", user_model, "u", RefreshToken, "r", "user", connection)
    )
    return parts, from_clause


@cache
def _refresh_tokens(db: str, lock: bool) -> _Statement:
    """Every row with the checksum, the one to judge first: the unrevoked one, else the latest revoked
    (django-oauth-toolkit 3.4.1's order), with its access token, its user and its family's sign-in."""
    connection = connections[db]
    parts, from_clause = _refresh_token_from(connection)
    sql = (
        f"SELECT {', '.join(part.select for part in parts)}, "
        f"{_family_subquery('auth_time', connection)}, {_family_subquery('amr', connection)}, "
        f"{_family_subquery('organization_id', connection)} {from_clause}"
        f"WHERE r.{_column(RefreshToken, 'token_checksum', connection)} = %s "
        f"ORDER BY r.{_column(RefreshToken, 'revoked', connection)} DESC NULLS FIRST"
        + (_lock_clause(connection, "r") if lock else "")
    )
    extra = (
        _converter(Grant._meta.get_field("auth_time"), connection),
        _converter(Grant._meta.get_field("amr"), connection),
        _converter(Grant._meta.get_field("organization_id"), connection),
    )
    return _Statement(sql, parts, extra)


@cache
def _live_refresh_token_of_client(db: str) -> _Statement:
    connection = connections[db]
    parts, from_clause = _refresh_token_from(connection)
    sql = (
        f"SELECT {', '.join(part.select for part in parts)} {from_clause}"
        f"WHERE r.{_column(RefreshToken, 'token_checksum', connection)} = %s "
        f"AND r.{_column(RefreshToken, 'application', connection)} = %s "
        f"AND r.{_column(RefreshToken, 'revoked', connection)} IS NULL"
    )
    return _Statement(sql, parts)


@cache
def _grant_with_user(db: str, lock: bool) -> _Statement:
    connection, user_model = connections[db], _user_model()
    grant, user = _columns(Grant, "g", connection), _columns(user_model, "u", connection)
    sql = (
        f"SELECT {grant.select}, {user.select} FROM {_table(Grant, connection)} g "
        + _join("INNER", user_model, "u", Grant, "g", "user", connection)
        + f"WHERE g.{_column(Grant, 'code', connection)} = %s"
        + (_lock_clause(connection, "g") if lock else "")
    )
    return _Statement(sql, (grant, user))


def _split(db: str, statement: _Statement, row: Sequence) -> tuple[list[Model | None], list]:
    """The row's instances (None for a LEFT JOIN that found nothing) and its trailing scalars."""
    instances: list[Model | None] = []
    start = 0
    for part in statement.parts:
        values = row[start : start + part.width]
        instances.append(None if values[0] is None else part.instance(db, values))  # [0]: the primary key
        start += part.width
    pairs = zip(statement.extra, row[start:], strict=True)
    scalars = [value if convert is None else convert(value) for convert, value in pairs]
    return instances, scalars


# --- reads --------------------------------------------------------------------------------------------


def _read(
    model: type[Model], statement_for: Callable[[str], _Statement], params: list, *, db: str | None = None
) -> list[tuple[list, list]]:
    """Each row of the statement (built once per database) as (instances, trailing scalars).

    PostgreSQL refuses NUL in a parameter, so no stored text holds one: such a lookup finds nothing.
    """
    if any(isinstance(param, str) and "\x00" in param for param in params):
        return []
    db = db or router.db_for_read(model)
    statement = statement_for(db)
    return [_split(db, statement, row) for row in _fetch(db, statement.sql, params)]


def _read_locked(model: type[Model], statement_for: Callable[[str, bool], _Statement], params: list, lock: bool):
    """_read, with FOR UPDATE NOWAIT on the database the rows are written to when `lock`."""
    db = router.db_for_write(model) if lock else router.db_for_read(model)
    return _read(model, lambda alias: statement_for(alias, lock), params, db=db)


def access_token_by_checksum(checksum: str) -> Any | None:
    """The access token with this digest, with its application and its user (None for client credentials)."""
    for (token, application, user), _ in _read(AccessToken, _access_token_with_client_and_user, [checksum]):
        token.application = application
        token.user = user
        return token
    return None


def application_by_client_id(client_id: str) -> Any | None:
    for (application,), _ in _read(Application, _application_by_client_id, [client_id]):
        return application
    return None


def refresh_tokens_by_checksum(checksum: str, *, lock: bool = False) -> list:
    """Every refresh token row with this digest, the one to judge first; `lock`: FOR UPDATE NOWAIT (all of them).

    Each has its access token and user set, and `family_auth_time` / `family_amr` /
    `family_organization_id`: the sign-in of the code its family started from.
    """
    tokens = []
    rows = _read_locked(RefreshToken, _refresh_tokens, [checksum], lock)
    for (refresh, access, user), (auth_time, amr, organization_id) in rows:
        refresh.access_token = access
        refresh.user = user
        refresh.family_auth_time = auth_time
        refresh.family_amr = amr
        refresh.family_organization_id = organization_id
        tokens.append(refresh)
    return tokens


def live_refresh_token_of_client(checksum: str, application_id: int) -> Any | None:
    """The client's unrevoked refresh token with this digest, with its access token and user."""
    for (refresh, access, user), _ in _read(RefreshToken, _live_refresh_token_of_client, [checksum, application_id]):
        refresh.access_token = access
        refresh.user = user
        return refresh
    return None


def grant_by_code(code: str, *, lock: bool = False) -> Grant | None:
    """The authorization code's grant with its user; `lock`: FOR UPDATE NOWAIT."""
    for (grant, user), _ in _read_locked(Grant, _grant_with_user, [code], lock):
        grant.user = user
        return grant
    return None
