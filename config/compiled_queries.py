"""SELECTs on the protocol's hot path, compiled to SQL once instead of on every request.

Django compiles a queryset to SQL every time it runs: for the access-token lookup of userinfo
(the token with its application and user, 57 columns) that is about 0.6 ms of CPU, more than
executing the statement and building the three model instances together. A `CompiledQuery` lets
Django build the statement and its row-to-model mapping the first time, then only executes it
with new parameters and builds instances exactly as a queryset would (`ModelIterable`, whose
steps `rows` repeats): same SQL, same converters (found once, with the statement), same
`select_related` population, and it runs through Django's cursor, so query logging,
`assertNumQueries` and the query budgets still see it.

A `values_list()` queryset gives tuples instead of instances. Annotations are set on the
instances as attributes, as a queryset sets them.

Parameters are strings or integers, each used as-is by the lookup; a string with a NUL byte
(which PostgreSQL refuses as a parameter) simply matches nothing (`exact`, `in` of one, …): the
compile step places a unique stand-in for each one and fails loudly if a lookup transformed it.

`CompiledInsert` does the same for the INSERT of `Model.save()` on a new row (the tokens each
exchange writes): Django builds an InsertQuery and its SQL on every save, about a third of the
CPU of saving a token row. `CompiledUpdate` does it for `QuerySet.update()` (the code's redemption,
the old refresh token's revocation), where building the filter and compiling took ~0.45 ms of the
~0.6 ms of CPU an update costs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, transaction
from django.db.models import Model, QuerySet, signals
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)

# Stand-ins for the parameters while compiling: values no real lookup uses.
_STR_STAND_IN = "\x1flatchkey-compiled-parameter-{}\x1f"
_INT_STAND_IN = -(2**62)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # the compiled parameters, stand-ins included
    slots: tuple[tuple[int, int], ...]  # (position in params, argument index)
    compiler: SQLCompiler
    model_start: int  # 0, 0, () and () for a values_list() query: its rows are tuples
    model_end: int
    init_list: tuple[str, ...]
    related_populators: tuple
    converters: tuple  # (position, (converter functions, expression)) as SQLCompiler.get_converters gives them
    annotation_positions: tuple[tuple[str, int], ...] = ()


class CompiledQuery(Generic[M]):
    """`CompiledQuery(lambda checksum: AccessToken.objects.filter(token_checksum=checksum))`, then
    `.first(checksum)`: the queryset the builder returns for these arguments, without compiling it.

    Compiled per thread and database alias (a compiler holds its thread's connection).
    """

    def __init__(self, build: Callable[..., QuerySet[M]], using: str = "default"):
        self._build = build
        self._using = using
        self._local = threading.local()

    def first(self, *args: str | int) -> M | None:
        return next(self.rows(*args, limit=1), None)

    def rows(self, *args: str | int, limit: int | None = None) -> Iterator[M] | Iterator[tuple]:
        if _matches_nothing(args):
            return iter(())
        compiled = self._compiled(args, limit)
        params = list(compiled.params)
        for position, index in compiled.slots:
            params[position] = args[index]
        connection = connections[self._using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if not fetched:
            return iter(())
        return self._instances(compiled, fetched)

    def _instances(self, compiled: _Compiled, fetched: list) -> Iterator[M] | Iterator[tuple]:
        rows = self._converted(compiled, fetched)
        if not compiled.init_list:
            return map(tuple, rows)
        return self._models(compiled, rows)

    @staticmethod
    def _converted(compiled: _Compiled, fetched: list) -> Iterator:
        """SQLCompiler.results_iter's conversion, with the converters found once at compile time."""
        if not compiled.converters:
            return iter(fetched)
        return compiled.compiler.apply_converters(fetched, dict(compiled.converters))

    def _models(self, compiled: _Compiled, rows: Iterator) -> Iterator[M]:
        model = compiled.compiler.klass_info["model"]
        for row in rows:
            instance = model.from_db(self._using, compiled.init_list, row[compiled.model_start : compiled.model_end])
            for populator in compiled.related_populators:
                populator.populate(row, instance)
            for name, position in compiled.annotation_positions:
                setattr(instance, name, row[position])
            yield instance

    def _compiled(self, args: tuple, limit: int | None) -> _Compiled:
        key = (len(args), tuple(type(a) for a in args), limit)
        cache = self._local.__dict__.setdefault("compiled", {})
        compiled = cache.get(key)
        if compiled is None:
            compiled = cache[key] = self._compile(args, limit)
        return compiled

    def _compile(self, args: tuple, limit: int | None) -> _Compiled:
        stand_ins = _stand_ins(args)
        queryset = self._build(*stand_ins)
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise TypeError("CompiledQuery runs model querysets and values_list() (not flat, not named)")
        if queryset._known_related_objects:
            raise TypeError("CompiledQuery runs querysets of a model's manager, not of a related manager")
        query = queryset.query
        if queryset._fields and list(queryset._fields) != [*query.extra_select, *query.values_select]:
            raise TypeError("CompiledQuery runs values_list() of plain fields only")
        if limit is not None:
            queryset = queryset[:limit]
        compiler = queryset.query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()  # also fills compiler.select and klass_info
        slots = _slots(params, stand_ins)
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise TypeError("CompiledQuery does not run queries selecting composite primary keys")
        converters = tuple(compiler.get_converters(fields).items())
        klass_info: dict[str, Any] | None = compiler.klass_info
        if klass_info is None or queryset._iterable_class is not ModelIterable:  # values_list()
            return _Compiled(sql, tuple(params), tuple(slots), compiler, 0, 0, (), (), converters)
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            model_start=start,
            model_end=end,
            init_list=tuple(column[0].target.attname for column in compiler.select[start:end]),
            related_populators=tuple(get_related_populators(klass_info, compiler.select, self._using)),
            converters=converters,
            annotation_positions=tuple(compiler.annotation_col_map.items()),
        )


def _matches_nothing(args: tuple) -> bool:
    """PostgreSQL refuses NUL in a parameter (so no stored text holds one): such a filter matches nothing."""
    return any(isinstance(arg, str) and "\x00" in arg for arg in args)


def _stand_ins(args: tuple) -> list[str | int]:
    """One unique stand-in per parameter, of its type, for compiling."""
    stand_ins: list[str | int] = []
    for index, value in enumerate(args):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"Compiled statements take str or int parameters, not {type(value).__name__}")
        stand_ins.append(_STR_STAND_IN.format(index) if isinstance(value, str) else _INT_STAND_IN - index)
    return stand_ins


def _slots(params, stand_ins: list) -> tuple[tuple[int, int], ...]:
    """(position in params, argument index) of each stand-in; every argument must be there untransformed."""
    slots = []
    for position, param in enumerate(params):
        for index, stand_in in enumerate(stand_ins):
            if type(param) is type(stand_in) and param == stand_in:
                slots.append((position, index))
    if sorted({index for _, index in slots}) != list(range(len(stand_ins))):
        raise ValueError(f"Compiled statement: a lookup transformed or dropped a parameter: {params!r}")
    return tuple(slots)


@dataclass(frozen=True)
class _CompiledUpdate:
    sql: str
    set_fields: tuple  # (field, keyword) of each value sent as a parameter, in the statement's order
    where_params: tuple  # stand-ins included
    slots: tuple[tuple[int, int], ...]  # (position in where_params, argument index)


class CompiledUpdate:
    """`CompiledUpdate(lambda pk: RefreshToken.objects.filter(pk=pk))`, then `.update(pk, revoked=now)`: the
    queryset's `update(revoked=now)` (the number of rows), without compiling it on every call.

    The filter's arguments work as in CompiledQuery. The values are prepared as `QuerySet.update()`
    prepares them (a model instance for a relation, `get_db_prep_save`); the statement is compiled once
    per set of keywords and of which values are None (Django writes those as NULL in the SQL).
    Expressions (F(), functions) and updates that need joins or parents' tables are refused.
    """

    def __init__(self, build: Callable[..., QuerySet], using: str = "default"):
        self._build = build
        self._using = using
        self._cache: dict[tuple, _CompiledUpdate] = {}

    def update(self, *args: str | int, **values: Any) -> int:
        if _matches_nothing(args):
            return 0
        if any(hasattr(value, "resolve_expression") for value in values.values()):
            raise TypeError("CompiledUpdate: expressions need QuerySet.update()")
        key = (tuple(type(a) for a in args), tuple((name, value is None) for name, value in values.items()))
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = self._cache[key] = self._compile(args, values)
        connection = connections[self._using]
        params = [_prepared(field, values[name], connection) for field, name in compiled.set_fields]
        where = list(compiled.where_params)
        for position, index in compiled.slots:
            where[position] = args[index]
        with transaction.mark_for_rollback_on_error(using=self._using), connection.cursor() as cursor:
            cursor.execute(compiled.sql, (*params, *where))
            return cursor.rowcount

    def _compile(self, args: tuple, values: dict) -> _CompiledUpdate:
        stand_ins = _stand_ins(args)
        queryset = self._build(*stand_ins)
        query = queryset.query
        if query.is_sliced or query.combinator or query.order_by or queryset._known_related_objects:
            raise TypeError("CompiledUpdate runs filter() querysets of a model's manager only")
        query = query.chain(UpdateQuery)
        query.add_update_values(values)
        query.clear_select_clause()
        query.get_initial_alias()
        if query.related_updates or query.count_active_tables() != 1:
            raise TypeError("CompiledUpdate does not run updates that join tables or write parents' fields")
        connection = connections[self._using]
        set_fields = []
        for (field, _, _), name in zip(query.values, values, strict=True):
            if values[name] is not None:
                if _prepared(field, values[name], connection) is None:
                    raise TypeError(f"CompiledUpdate: {name}'s value is written as NULL; pass None")
                set_fields.append((field, name))
        sql, params = query.get_compiler(using=self._using).as_sql()
        where_params = tuple(params[len(set_fields) :])
        return _CompiledUpdate(sql, tuple(set_fields), where_params, _slots(where_params, stand_ins))


def _prepared(field, value, connection):
    """A value as SQLUpdateCompiler prepares it: a model instance gives its key, then get_db_prep_save."""
    if hasattr(value, "prepare_database_save"):
        if not field.remote_field:
            raise TypeError(f"CompiledUpdate: a model instance for {field.name}, which is not a relation")
        value = value.prepare_database_save(field)
    prepared = field.get_db_prep_save(value, connection=connection)
    if hasattr(prepared, "as_sql") or hasattr(field, "get_placeholder"):
        raise TypeError(f"CompiledUpdate: {field.name} needs SQL of its own; use QuerySet.update()")
    return prepared


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    returning_fields: tuple
    returning_params: tuple


class CompiledInsert(Generic[M]):
    """`CompiledInsert(AccessToken).save(token)`: `token.save()` for a new row, without compiling the INSERT.

    What `Model.save()` does for a new instance of a plain model, in its order: related fields
    checked (`_prepare_related_fields_for_save`), `pre_save`, each field's `pre_save(add=True)`
    (auto_now, django-oauth-toolkit's token checksum) and `get_db_prep_save`, the INSERT with
    Django's SQL, the returned primary key set, the transaction marked for rollback on error, the
    instance's state, `post_save` (created). Models that save differently are refused when the
    CompiledInsert is made: a `save()` of their own, parents, proxies, `order_with_respect_to`, a
    primary key that is not an auto field, fields with their own placeholder. A value that is an
    expression is refused too (`Model.save()` runs those).
    """

    def __init__(self, model: type[M], using: str = "default"):
        meta = model._meta
        if model.save is not Model.save or model.save_base is not Model.save_base:
            raise TypeError(f"CompiledInsert: {model.__name__} saves differently from Model.save()")
        if meta.parents or meta.proxy or meta.order_with_respect_to or meta.pk is not meta.auto_field:
            raise TypeError(f"CompiledInsert: {model.__name__} is not a plain model with an auto primary key")
        self._fields = tuple(f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field)
        if any(getattr(f, "get_placeholder", None) for f in self._fields):
            raise TypeError(f"CompiledInsert: a field of {model.__name__} has its own SQL placeholder")
        self._model = model
        self._using = using
        self._compiled_insert: _CompiledInsert | None = None

    def save(self, instance: M) -> M:
        model = self._model
        if type(instance) is not model or not instance._state.adding or instance.pk is not None:
            raise ValueError(f"CompiledInsert({model.__name__}) saves new {model.__name__} instances only")
        instance._prepare_related_fields_for_save(operation_name="save")
        using = self._using
        connection = connections[using]
        signals.pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
        fields = self._fields
        values = []
        for field in fields:
            value = field.pre_save(instance, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"CompiledInsert: {field.name} is an expression; use Model.save()")
            values.append(field.get_db_prep_save(value, connection=connection))
        compiled = self._compiled_insert or self._compile(instance)  # from values known to be plain
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(compiled.sql, (*values, *compiled.returning_params))
            returned = connection.ops.fetch_returned_insert_columns(cursor, compiled.returning_params)
        for value, field in zip(returned, compiled.returning_fields, strict=True):
            setattr(instance, field.attname, value)
        instance._state.db = using
        instance._state.adding = False
        signals.post_save.send(
            sender=model, instance=instance, created=True, update_fields=None, raw=False, using=using
        )
        return instance

    def _compile(self, instance: M) -> _CompiledInsert:
        """Django's own SQL for this instance's INSERT: for the models accepted, it depends on the model only."""
        model, meta, fields = self._model, self._model._meta, self._fields
        if not connections[self._using].features.can_return_columns_from_insert:
            raise TypeError("CompiledInsert needs a database that returns columns from an INSERT")
        returning_fields = tuple(meta.db_returning_fields)
        query = InsertQuery(model)
        query.insert_values(list(fields), [instance], raw=True)  # raw: no pre_save, so no side effects
        compiler = query.get_compiler(using=self._using)
        compiler.returning_fields = list(returning_fields)
        ((sql, params),) = compiler.as_sql()
        returning_params = tuple(getattr(compiler, "returning_params", ()))
        if len(params) != len(fields) + len(returning_params):
            raise TypeError(f"CompiledInsert: unexpected parameters in {sql!r}")
        columns = [field.get_col(meta.db_table) for field in returning_fields]
        if compiler.get_converters(columns):
            raise TypeError(f"CompiledInsert: the returned columns of {model.__name__} need converting")
        self._compiled_insert = _CompiledInsert(sql, returning_fields, returning_params)
        return self._compiled_insert
