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
  before the statement;
- conditions (:meth:`WriteBatch.require`): the batch writes only if a row still holds the values it
  was read with, so that a write computed from an earlier read without locks changes nothing when
  another transaction changed that row meanwhile. On PostgreSQL the row is locked by the statement,
  and a row changed by a transaction that commits while the statement waits for it is compared as
  that transaction left it (READ COMMITTED re-checks a locked row's newest version).

Two changes of one row are one UPDATE (:meth:`WriteBatch.update` merges them: PostgreSQL would apply
only one of two UPDATEs of a row in one statement). UPDATEs, counters and conditions may return
columns (:meth:`WriteBatch.flush` gives each its row, or None when the row was not found or did not
hold the values). Computed expressions are module-level functions or :class:`Copied`
values (the statement is compiled once per shape, and they are part of the shape).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, literal_column, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import CTE, FromClause

from backend.db.prepared import Executor, Prepared, dialect_of, run_in_sequence
from backend.db.sql_functions import ROW_VERSION, next_id, row_version

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
class _Change:
    """What an UPDATE part does to its row, kept so that a second change of the row merges into it."""

    where: Mapping[str, Any]
    values: Mapping[str, Any]
    add: Mapping[str, Any]
    computed: Mapping[str, Computed]
    computed_params: Mapping[str, Any]
    returning: tuple[str, ...]

    def merged(self, other: _Change, table: Table) -> _Change:
        assert not {*self.values, *self.add, *self.computed} & {*other.values, *other.add, *other.computed}, (
            f"two changes of one {table.name} row set the same column"
        )
        return _Change(
            self.where,
            {**self.values, **other.values},
            {**self.add, **other.add},
            {**self.computed, **other.computed},
            {**self.computed_params, **other.computed_params},
            (*self.returning, *(key for key in other.returning if key not in self.returning)),
        )


@dataclass(frozen=True, slots=True)
class _Part:
    shape: _Shape
    params: dict[str, Any]  # bound values, named with the part's prefix ``p<index>_``
    change: _Change | None = None  # an UPDATE's

    @property
    def returning(self) -> tuple[str, ...]:
        return _returned(self.shape)


@functools.lru_cache(maxsize=1024)
def _row_names(prefix: str, keys: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The parameter names of ``count`` inserted rows of ``keys``, row by row (as the batch's sales
    insert the same few shapes over and over, named once)."""
    return tuple(f"{prefix}{i}_{key}" for i in range(count) for key in keys)


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
    if shape[0] == "require":
        return tuple(shape[2])
    return ()


def _insert_statement(
    shape: _Shape, prefix: str, source: FromClause | None, condition: ColumnElement[bool] | None
) -> Any:
    _, table, keys, count, _, computed = shape
    names = _row_names(prefix, keys, count)
    if source is None:
        width = len(keys)
        rows = [
            [bindparam(names[i * width + j], type_=table.c[key].type) for j, key in enumerate(keys)]
            for i in range(count)
        ]
        if condition is None:
            return insert(table).values([dict(zip(keys, row, strict=True)) for row in rows])
        selects = [select(*row).where(condition) for row in rows]
        return insert(table).from_select(keys, selects[0] if count == 1 else union_all(*selects))
    bind = _binder(prefix)
    values = [bindparam(name, type_=table.c[key].type) for name, key in zip(names, keys, strict=True)]
    values += [make(source.c, bind) for _, make in computed]
    columns = [*keys, *(name for name, _ in computed)]
    query = select(*values).select_from(source)
    return insert(table).from_select(columns, query if condition is None else query.where(condition))


def _update_statement(shape: _Shape, prefix: str, condition: ColumnElement[bool] | None) -> Any:
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
    if condition is not None:
        statement = statement.where(condition)
    if returning:
        statement = statement.returning(*(table.c[key] for key in returning))
    return statement


def _increment_statement(
    shape: _Shape, prefix: str, dialect: str, condition: ColumnElement[bool] | None
) -> Any:
    _, table, keys, column = shape
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = [bindparam(f"{prefix}where_{key}", type_=table.c[key].type) for key in keys]
    if condition is None:
        statement = make_insert(table).values({**dict(zip(keys, row, strict=True)), column: 1})
    else:
        first = select(*row, literal_column("1")).where(condition)
        statement = make_insert(table).from_select([*keys, column], first)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys], set_={column: table.c[column] + 1}
    )
    return statement.returning(table.c[column])


def _require_statement(shape: _Shape, prefix: str) -> Any:
    """The row by its ``where`` keys, if its ``equal`` columns still hold the bound values (null
    equals null); locked for update (no-op on SQLite, whose write transaction excludes others)."""
    _, table, where, equal = shape
    query = select(*(table.c[key] for key in where))
    for key in where:
        query = query.where(table.c[key] == bindparam(f"{prefix}where_{key}", type_=table.c[key].type))
    for key in equal:
        held: ColumnElement[Any] = row_version(table) if key == ROW_VERSION else table.c[key]
        value = bindparam(f"{prefix}equal_{key}", type_=held.type)
        query = query.where(held.is_not_distinct_from(value))
    return query.with_for_update()


def _statement(
    shape: _Shape,
    prefix: str,
    dialect: str,
    ctes: Sequence[CTE] | None = None,
    condition: ColumnElement[bool] | None = None,
) -> Any:
    """The part's statement: alone (``ctes`` None: SQLite), or inside the combined statement after
    the parts whose CTEs are ``ctes`` (PostgreSQL), where a sourced INSERT reads its source's CTE and
    every write happens only on ``condition`` (the batch's conditions held)."""
    if shape[0] == "insert":
        source: FromClause | None = None
        if shape[4] is not None:
            index, source_shape = shape[4]
            source = _row_source(source_shape, prefix) if ctes is None else ctes[index]
        return _insert_statement(shape, prefix, source, condition)
    if shape[0] == "update":
        return _update_statement(shape, prefix, condition)
    if shape[0] == "require":
        return _require_statement(shape, prefix)
    return _increment_statement(shape, prefix, dialect, condition)


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
    column as a scalar subquery of its part (null when its UPDATE found no row). Conditions are
    materialized CTEs (evaluated once, first: every write reads them) locking their rows."""
    prepared = _COMBINED.get(shapes)
    if prepared is None:
        ctes: list[CTE] = []
        held: list[ColumnElement[bool]] = []
        for i, shape in enumerate(shapes):
            if shape[0] == "require":
                cte = _statement(shape, f"p{i}_", "postgresql").cte(f"w{i}").prefix_with("MATERIALIZED")
                held.append(select(literal_column("1")).select_from(cte).exists())
            else:
                condition = and_(*held) if held else None
                cte = _statement(shape, f"p{i}_", "postgresql", ctes, condition).cte(f"w{i}")
            ctes.append(cte)
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
    # The rows UPDATEs and counters change, with the UPDATE's part (None: a counter's). PostgreSQL
    # changes a row only once in one statement: a second UPDATE of a row is merged into the first.
    _changed: dict[tuple[str, tuple[tuple[str, Any], ...]], int | None] = field(default_factory=dict)

    def _changes(self, table: Table, where: Mapping[str, Any], part: int | None) -> int | None:
        """Record that ``part`` changes the row; the UPDATE part already changing it, if any."""
        row = (table.name, tuple(sorted(where.items())))
        if row in self._changed:
            earlier = self._changed[row]
            assert earlier is not None and part is not None, (
                f"a counter's row is changed once in a batch: {table.name} {dict(where)}"
            )
            return earlier
        self._changed[row] = part
        return None

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
        params = dict(
            zip(_row_names(prefix, keys, len(rows)), [row[key] for row in rows for key in keys], strict=True)
        )
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
        index, the key of its returned columns in :meth:`flush`'s result. A second change of a row
        the batch already updates is merged into that part (they must set different columns), and
        its index is returned."""
        table, index = _table(model), len(self._parts)
        change = _Change(
            where, values or {}, add or {}, computed or {}, computed_params or {}, tuple(returning)
        )
        earlier = self._changes(table, where, index)
        if earlier is not None:  # the row's second change: one UPDATE doing both
            earlier_change = self._parts[earlier].change
            assert earlier_change is not None
            change, index = earlier_change.merged(change, table), earlier
        shape = (
            "update",
            table,
            tuple(change.where),
            tuple(change.values),
            tuple(change.add),
            tuple(change.computed.items()),
            change.returning,
        )
        prefix = f"p{index}_"
        params = {f"{prefix}where_{k}": v for k, v in change.where.items()}
        params.update({f"{prefix}set_{k}": v for k, v in change.values.items()})
        params.update({f"{prefix}add_{k}": v for k, v in change.add.items()})
        params.update({f"{prefix}x_{k}": v for k, v in change.computed_params.items()})
        part = _Part(shape, params, change)
        if earlier is not None:
            self._parts[earlier] = part
        else:
            self._parts.append(part)
        return index

    def increment(self, model: type[Any], *, key: Mapping[str, Any], column: str) -> int:
        """Move ``column`` of the row with ``key`` up by one (the row is created at 1 when there is
        none). Returns the part's index; :meth:`flush` gives its row, ``(new value,)``."""
        self._changes(_table(model), key, None)
        shape = ("increment", _table(model), tuple(key), column)
        params = {f"{self._prefix}where_{k}": v for k, v in key.items()}
        return self._add(shape, params)

    def require(self, model: type[Any], *, where: Mapping[str, Any], equal: Mapping[str, Any]) -> int:
        """Write nothing of this batch unless the row of ``model`` matching ``where`` still holds
        ``equal`` (null equals null; the key :data:`~backend.db.sql_functions.ROW_VERSION` is the row's
        version, PostgreSQL only). Conditions come before the batch's writes. Returns the part's
        index: :meth:`flush` gives the row's ``where`` values, or None when the condition failed
        (then nothing was written and every other part's row is None too)."""
        assert all(part.shape[0] == "require" for part in self._parts), "conditions come before writes"
        shape = ("require", _table(model), tuple(where), tuple(equal))
        prefix = self._prefix
        params = {f"{prefix}where_{k}": v for k, v in where.items()}
        params.update({f"{prefix}equal_{k}": v for k, v in equal.items()})
        return self._add(shape, params)

    async def flush(
        self, executor: Executor, *, in_transaction: bool = True
    ) -> dict[int, tuple[Any, ...] | None]:
        """Send the writes in the session's transaction; empty the batch. Returns, for each part that
        returns columns, its row (None when the row was not found).

        ``in_transaction=False`` (PostgreSQL), or a
        :class:`~backend.db.prepared.PooledConnection`: when the session's connection has not begun
        its transaction, the batch is one statement committed on its own (see
        :meth:`~backend.db.prepared.Prepared.rows`)."""
        parts, self._parts = self._parts, []
        if not parts:
            return {}
        dialect = dialect_of(executor).name
        if dialect == "postgresql" and (len(parts) > 1 or not in_transaction):
            return await _flush_combined(executor, parts, in_transaction=in_transaction)
        statements = [(_one(dialect, part.shape, i), part.params) for i, part in enumerate(parts)]
        # The conditions first (they come first in the batch); the writes only when they all held.
        conditions = sum(1 for part in parts if part.shape[0] == "require")
        rows = await run_in_sequence(executor, statements[:conditions]) if conditions else []
        if all(rows):
            rows += await run_in_sequence(executor, statements[conditions:])
        else:
            rows += [[] for _ in statements[conditions:]]
        return {
            i: (found[0] if found else None)
            for i, (part, found) in enumerate(zip(parts, rows, strict=True))
            if part.returning
        }


async def _flush_combined(
    executor: Executor, parts: list[_Part], *, in_transaction: bool
) -> dict[int, tuple[Any, ...] | None]:
    prepared = _combined(tuple(part.shape for part in parts))
    params: dict[str, Any] = {}
    for part in parts:
        params.update(part.params)
    row = await prepared.one(executor, params, in_transaction=in_transaction)
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
