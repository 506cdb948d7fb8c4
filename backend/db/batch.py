"""Writes whose values are all known, sent together: one statement on PostgreSQL.

A sale ends with about ten writes (the ledger transaction and its entries, the customer's balance,
the meter's last TID, the sale and its tokens, the audit event and the chain head). None of them
needs the result of another once the ids are allocated up front (:func:`next_id_columns`), so on
PostgreSQL they go out as one statement of data-modifying CTEs: one round trip instead of ten.
PostgreSQL runs every part of such a statement exactly once, in one snapshot, and checks foreign keys
and constraints at its end; a failing part fails the whole statement (and the transaction), as the
separate statements would.

SQLite cannot put an INSERT or UPDATE in a CTE, so there each part is its own statement, in the order
added, all run in one hand-over to the database thread (:func:`~backend.db.prepared.run_in_sequence`).
Both go through :class:`~backend.db.prepared.Prepared` (compiled once per shape, SQLAlchemy's
type processing, the session's driver connection).

Parts:

- INSERTs of one or more rows (:meth:`WriteBatch.insert`);
- single-row UPDATEs by equality on the given columns, with ``values`` set, ``add`` added to the
  current value and ``computed`` columns set to SQL expressions of the row's current values
  (:meth:`WriteBatch.update`);
- counters (:meth:`WriteBatch.increment`): the row of a key moved up by one, created at 1;
- a one-row INSERT some of whose columns are computed from the row another part updated or counted
  (``source``): the receipt number from the receipt counter, the audit event's link from the chain
  head. The shared row is then locked only from this statement to the commit, instead of from a read
  before the statement.

UPDATEs and counters may return columns (:meth:`WriteBatch.flush` gives each its row, or None when
the UPDATE found no row). Computed expressions are module-level functions or :class:`Copied`
values (the statement is compiled once per shape, and they are part of the shape).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import CTE, FromClause

from backend.db.prepared import Prepared, run_in_sequence
from backend.db.sql_functions import next_id

_Shape = tuple[Any, ...]
Bind = Callable[..., BindParameter[Any]]
Columns = ReadOnlyColumnCollection[str, ColumnElement[Any]]
# A computed column: (columns of the row it reads, a maker of the part's own bound values) -> SQL.
Computed = Callable[[Columns, Bind], ColumnElement[Any]]


@dataclass(frozen=True, slots=True)
class Copied:
    """A computed column that takes the value of the read row's column ``name`` (a shape part like the
    module-level functions: equal names, equal shapes)."""

    name: str

    def __call__(self, columns: Columns, bind: Bind) -> ColumnElement[Any]:
        return columns[self.name]


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True, slots=True)
class _Part:
    shape: _Shape
    params: dict[str, Any]  # bound values, named with the part's prefix ``p<index>_``

    @property
    def returning(self) -> tuple[str, ...]:
        return _returned(self.shape)


def _binder(prefix: str) -> Bind:
    def bind(name: str, type_: Any = None) -> BindParameter[Any]:
        return bindparam(f"{prefix}x_{name}", type_=type_)

    return bind


def _row_source(shape: _Shape, prefix: str) -> FromClause:
    """SQLite: the row a counter or UPDATE part changed, read again after it (the statements run in
    order, in one transaction), under the sourced part's own parameters ``<prefix>src_<column>``."""
    table, where, returning = shape[1], _where_keys(shape), _returned(shape)
    query = select(*(table.c[key] for key in returning))
    for key in where:
        query = query.where(table.c[key] == bindparam(f"{prefix}src_{key}", type_=table.c[key].type))
    return query.subquery("src")


def _where_keys(shape: _Shape) -> tuple[str, ...]:
    return tuple(shape[2])


def _returned(shape: _Shape) -> tuple[str, ...]:
    if shape[0] == "increment":
        return (shape[3],)
    if shape[0] == "update":
        return tuple(shape[6])
    return ()


def _insert_statement(shape: _Shape, prefix: str, source: FromClause | None) -> Any:
    _, table, keys, count, _, computed = shape
    if source is None:
        rows = [
            {key: bindparam(f"{prefix}{i}_{key}", type_=table.c[key].type) for key in keys}
            for i in range(count)
        ]
        return insert(table).values(rows)
    bind = _binder(prefix)
    values = [bindparam(f"{prefix}0_{key}", type_=table.c[key].type) for key in keys]
    values += [make(source.c, bind) for _, make in computed]
    columns = [*keys, *(name for name, _ in computed)]
    return insert(table).from_select(columns, select(*values).select_from(source))


def _update_statement(shape: _Shape, prefix: str) -> Any:
    _, table, where, values, add, computed, returning = shape

    def bound(name: str, key: str) -> Any:
        return bindparam(f"{prefix}{name}_{key}", type_=table.c[key].type)

    changes: dict[str, Any] = {key: bound("set", key) for key in values}
    changes.update({key: table.c[key] + bound("add", key) for key in add})
    bind = _binder(prefix)
    changes.update({key: make(table.c, bind) for key, make in computed})
    statement = update(table).values(changes)
    for key in where:
        statement = statement.where(table.c[key] == bound("where", key))
    if returning:
        statement = statement.returning(*(table.c[key] for key in returning))
    return statement


def _increment_statement(shape: _Shape, prefix: str, dialect: str) -> Any:
    _, table, keys, column = shape
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = {key: bindparam(f"{prefix}where_{key}", type_=table.c[key].type) for key in keys}
    statement = make_insert(table).values({**row, column: 1})
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys], set_={column: table.c[column] + 1}
    )
    return statement.returning(table.c[column])


def _statement(shape: _Shape, prefix: str, dialect: str, ctes: Sequence[CTE] | None = None) -> Any:
    """The part's statement: alone (``ctes`` None: SQLite), or inside the combined statement after
    the parts whose CTEs are ``ctes`` (PostgreSQL), where a sourced INSERT reads its source's CTE."""
    if shape[0] == "insert":
        source: FromClause | None = None
        if shape[4] is not None:
            index, source_shape = shape[4]
            source = _row_source(source_shape, prefix) if ctes is None else ctes[index]
        return _insert_statement(shape, prefix, source)
    if shape[0] == "update":
        return _update_statement(shape, prefix)
    return _increment_statement(shape, prefix, dialect)


# Compiled once per shape. A part's parameters are named ``p<index>_…`` after its place in the
# batch, the same alone (SQLite) as in the combined statement (PostgreSQL).
_ONE: dict[tuple[str, _Shape, int], Prepared] = {}
_COMBINED: dict[tuple[_Shape, ...], Prepared] = {}


def _one(dialect: str, shape: _Shape, index: int) -> Prepared:
    prepared = _ONE.get((dialect, shape, index))
    if prepared is None:
        prepared = _ONE[(dialect, shape, index)] = Prepared(_statement(shape, f"p{index}_", dialect))
    return prepared


def _combined(shapes: tuple[_Shape, ...]) -> Prepared:
    """PostgreSQL: every part as a data-modifying CTE; the statement's one row holds each returned
    column as a scalar subquery of its part (null when its UPDATE found no row)."""
    prepared = _COMBINED.get(shapes)
    if prepared is None:
        ctes: list[CTE] = []
        for i, shape in enumerate(shapes):
            ctes.append(_statement(shape, f"p{i}_", "postgresql", ctes).cte(f"w{i}"))
        returned = [
            select(cte.c[key]).scalar_subquery()
            for shape, cte in zip(shapes, ctes, strict=True)
            for key in _returned(shape)
        ]
        query = select(*returned) if returned else select(literal_column("1"))
        prepared = _COMBINED[shapes] = Prepared(query.add_cte(*ctes))
    return prepared


@dataclass
class WriteBatch:
    """Writes collected in order and sent by :meth:`flush` (see the module docstring)."""

    _parts: list[_Part] = field(default_factory=list)
    # The rows UPDATEs and counters change: PostgreSQL changes a row only once in one statement.
    _changed: set[tuple[str, tuple[tuple[str, Any], ...]]] = field(default_factory=set)

    def _changes(self, table: Table, where: Mapping[str, Any]) -> None:
        row = (table.name, tuple(sorted(where.items())))
        assert row not in self._changed, f"a batch changes a row once: {table.name} {dict(where)} again"
        self._changed.add(row)

    def _add(self, shape: _Shape, params: dict[str, Any]) -> int:
        self._parts.append(_Part(shape, params))
        return len(self._parts) - 1

    @property
    def _prefix(self) -> str:
        return f"p{len(self._parts)}_"

    def insert(
        self,
        model: type[Any],
        rows: Sequence[Mapping[str, Any]],
        *,
        source: int | None = None,
        computed: Mapping[str, Computed] | None = None,
        computed_params: Mapping[str, Any] | None = None,
    ) -> None:
        """INSERT ``rows`` (all with the same columns, named as in the table) into ``model``'s table.

        With ``source`` (the index of an earlier counter or returning UPDATE part) and ``computed``:
        one row whose ``computed`` columns are SQL expressions of the columns that part returns (none
        is written when that part found no row); their bound values come from ``computed_params``."""
        if not rows:
            return
        keys, prefix = tuple(rows[0]), self._prefix
        params = {f"{prefix}{i}_{key}": row[key] for i, row in enumerate(rows) for key in keys}
        source_shape = None
        if source is not None:
            assert len(rows) == 1 and computed, "a sourced INSERT writes one row with computed columns"
            origin = self._parts[source]
            assert origin.returning, "the source part must return the columns the INSERT reads"
            source_shape = (source, origin.shape)
            where = _where_keys(origin.shape)
            params.update({f"{prefix}src_{key}": origin.params[f"p{source}_where_{key}"] for key in where})
            params.update({f"{prefix}x_{k}": v for k, v in (computed_params or {}).items()})
        shape = ("insert", _table(model), keys, len(rows), source_shape, tuple((computed or {}).items()))
        self._add(shape, params)

    def update(
        self,
        model: type[Any],
        *,
        where: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        add: Mapping[str, Any] | None = None,
        computed: Mapping[str, Computed] | None = None,
        computed_params: Mapping[str, Any] | None = None,
        returning: Sequence[str] = (),
    ) -> int:
        """UPDATE the row of ``model`` matching ``where``: set ``values``, add ``add`` to the current
        ones, set ``computed`` columns to SQL expressions of the current row (their bound values,
        made with the ``bind`` they are given, come from ``computed_params``). Returns the part's
        index, the key of its returned columns in :meth:`flush`'s result."""
        values, add = values or {}, add or {}
        self._changes(_table(model), where)
        shape = (
            "update",
            _table(model),
            tuple(where),
            tuple(values),
            tuple(add),
            tuple((computed or {}).items()),
            tuple(returning),
        )
        prefix = self._prefix
        params = {f"{prefix}where_{k}": v for k, v in where.items()}
        params.update({f"{prefix}set_{k}": v for k, v in values.items()})
        params.update({f"{prefix}add_{k}": v for k, v in add.items()})
        params.update({f"{prefix}x_{k}": v for k, v in (computed_params or {}).items()})
        return self._add(shape, params)

    def increment(self, model: type[Any], *, key: Mapping[str, Any], column: str) -> int:
        """Move ``column`` of the row with ``key`` up by one (the row is created at 1 when there is
        none). Returns the part's index; :meth:`flush` gives its row, ``(new value,)``."""
        self._changes(_table(model), key)
        shape = ("increment", _table(model), tuple(key), column)
        params = {f"{self._prefix}where_{k}": v for k, v in key.items()}
        return self._add(shape, params)

    async def flush(self, session: AsyncSession) -> dict[int, tuple[Any, ...] | None]:
        """Send the writes in the session's transaction; empty the batch. Returns, for each part that
        returns columns, its row (None when the row was not found)."""
        parts, self._parts = self._parts, []
        if not parts:
            return {}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql" and len(parts) > 1:
            return await _flush_combined(session, parts)
        rows = await run_in_sequence(
            session, [(_one(dialect, part.shape, i), part.params) for i, part in enumerate(parts)]
        )
        return {
            i: (found[0] if found else None)
            for i, (part, found) in enumerate(zip(parts, rows, strict=True))
            if part.returning
        }


async def _flush_combined(session: AsyncSession, parts: list[_Part]) -> dict[int, tuple[Any, ...] | None]:
    prepared = _combined(tuple(part.shape for part in parts))
    params: dict[str, Any] = {}
    for part in parts:
        params.update(part.params)
    row = await prepared.one(session, params)
    results: dict[int, tuple[Any, ...] | None] = {}
    offset = 0
    for i, part in enumerate(parts):
        if part.returning:
            width = len(part.returning)
            values = tuple(row[offset : offset + width])
            results[i] = None if all(value is None for value in values) else values
            offset += width
    return results


def next_id_columns(*models: type[Any]) -> list[ColumnElement[Any]]:
    """SELECT-list expressions that allocate the next id of each model's table, to write rows whose id
    is known before they are written (one per call of the statement; see
    :class:`backend.db.sql_functions.next_id`)."""
    return [next_id(_table(model)) for model in models]
