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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
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
        if any(isinstance(arg, str) and "\x00" in arg for arg in args):
            # PostgreSQL refuses NUL in a parameter (so no stored text holds one): nothing can match.
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
        stand_ins = []
        for index, value in enumerate(args):
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise TypeError(f"CompiledQuery parameters are str or int, not {type(value).__name__}")
            stand_ins.append(_STR_STAND_IN.format(index) if isinstance(value, str) else _INT_STAND_IN - index)
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
        slots = []
        for position, param in enumerate(params):
            for index, stand_in in enumerate(stand_ins):
                if type(param) is type(stand_in) and param == stand_in:
                    slots.append((position, index))
        used = sorted({index for _, index in slots})
        if used != list(range(len(args))):
            raise ValueError(f"CompiledQuery: a lookup transformed or dropped a parameter: {params!r}")
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
