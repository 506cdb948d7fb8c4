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

Parts are INSERTs of one or more rows and single-row UPDATEs (by equality on the given columns, with
``values`` set and ``add`` added to the current value). An UPDATE may return columns; on PostgreSQL
the statement's one row then holds every returning part's columns, so an UPDATE that finds no row
makes :meth:`WriteBatch.flush` give None for every returning part (the caller treats that as missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert, Update

from backend.db.prepared import Prepared, run_in_sequence

_Shape = tuple[Any, ...]


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True, slots=True)
class _Part:
    shape: _Shape
    params: dict[str, Any]  # bound values, named with the part's prefix ``p<index>_``
    returning: bool


def _insert_statement(table: Table, keys: tuple[str, ...], count: int, prefix: str) -> Insert:
    rows = [
        {key: bindparam(f"{prefix}{i}_{key}", type_=table.c[key].type) for key in keys} for i in range(count)
    ]
    return insert(table).values(rows)


def _update_statement(
    table: Table,
    where: tuple[str, ...],
    values: tuple[str, ...],
    add: tuple[str, ...],
    returning: tuple[str, ...],
    prefix: str,
) -> Update:
    def bound(name: str, key: str) -> Any:
        return bindparam(f"{prefix}{name}_{key}", type_=table.c[key].type)

    changes: dict[str, Any] = {key: bound("set", key) for key in values}
    changes.update({key: table.c[key] + bound("add", key) for key in add})
    statement = update(table).values(changes)
    for key in where:
        statement = statement.where(table.c[key] == bound("where", key))
    if returning:
        statement = statement.returning(*(table.c[key] for key in returning))
    return statement


def _statement(shape: _Shape, prefix: str) -> Insert | Update:
    if shape[0] == "insert":
        _, table, keys, count = shape
        return _insert_statement(table, keys, count, prefix)
    _, table, where, values, add, returning = shape
    return _update_statement(table, where, values, add, returning, prefix)


# Compiled once per shape. A part's parameters are named ``p<index>_…`` after its place in the
# batch, the same alone (SQLite) as in the combined statement (PostgreSQL).
_ONE: dict[tuple[_Shape, int], Prepared] = {}
_COMBINED: dict[tuple[_Shape, ...], Prepared] = {}


def _one(shape: _Shape, index: int) -> Prepared:
    prepared = _ONE.get((shape, index))
    if prepared is None:
        prepared = _ONE[(shape, index)] = Prepared(_statement(shape, f"p{index}_"))
    return prepared


def _combined(shapes: tuple[_Shape, ...]) -> Prepared:
    prepared = _COMBINED.get(shapes)
    if prepared is None:
        ctes = [_statement(shape, f"p{i}_").cte(f"w{i}") for i, shape in enumerate(shapes)]
        returned = [
            cte.c[key]
            for shape, cte in zip(shapes, ctes, strict=True)
            if shape[0] == "update"
            for key in shape[5]
        ]
        query = select(*returned) if returned else select(literal_column("1"))
        prepared = _COMBINED[shapes] = Prepared(query.add_cte(*ctes))
    return prepared


@dataclass
class WriteBatch:
    """Writes collected in order and sent by :meth:`flush` (see the module docstring)."""

    _parts: list[_Part] = field(default_factory=list)

    def insert(self, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT ``rows`` (all with the same columns, named as in the table) into ``model``'s table."""
        if not rows:
            return
        keys = tuple(rows[0])
        prefix = f"p{len(self._parts)}_"
        params = {f"{prefix}{i}_{key}": row[key] for i, row in enumerate(rows) for key in keys}
        self._parts.append(_Part(("insert", _table(model), keys, len(rows)), params, returning=False))

    def update(
        self,
        model: type[Any],
        *,
        where: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        add: Mapping[str, Any] | None = None,
        returning: Sequence[str] = (),
    ) -> int:
        """UPDATE the row of ``model`` matching ``where``: set ``values``, add ``add`` to the current
        ones. Returns the part's index, the key of its returned columns in :meth:`flush`'s result."""
        values, add = values or {}, add or {}
        shape = ("update", _table(model), tuple(where), tuple(values), tuple(add), tuple(returning))
        prefix = f"p{len(self._parts)}_"
        params = {f"{prefix}where_{k}": v for k, v in where.items()}
        params.update({f"{prefix}set_{k}": v for k, v in values.items()})
        params.update({f"{prefix}add_{k}": v for k, v in add.items()})
        self._parts.append(_Part(shape, params, returning=bool(returning)))
        return len(self._parts) - 1

    async def flush(self, session: AsyncSession) -> dict[int, tuple[Any, ...] | None]:
        """Send the writes in the session's transaction; empty the batch. Returns, for each part that
        returns columns, its row (None when the row was not found)."""
        parts, self._parts = self._parts, []
        if not parts:
            return {}
        if session.get_bind().dialect.name == "postgresql" and len(parts) > 1:
            return await _flush_combined(session, parts)
        rows = await run_in_sequence(
            session, [(_one(part.shape, i), part.params) for i, part in enumerate(parts)]
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
    row = await prepared.first(session, params)
    results: dict[int, tuple[Any, ...] | None] = {}
    offset = 0
    for i, part in enumerate(parts):
        if part.returning:
            width = len(part.shape[5])
            results[i] = None if row is None else row[offset : offset + width]
            offset += width
    return results


def next_id_columns(dialect: str, *models: type[Any]) -> list[ColumnElement[Any]]:
    """SELECT-list expressions that allocate the next id of each model's table, to write rows whose id
    is known before they are written (one per call of the statement).

    PostgreSQL: ``nextval`` of the id column's sequence (never handed out twice). SQLite: one more than
    the largest id, which is what SQLite itself assigns; it is safe there because a write transaction
    holds the database's write lock from its BEGIN IMMEDIATE, so no other writer can take the same id.
    """
    columns: list[ColumnElement[Any]] = []
    for model in models:
        table = _table(model)
        id_column = table.autoincrement_column
        assert id_column is not None, f"{table.name} has no generated id"
        if dialect == "postgresql":
            sequence = func.pg_get_serial_sequence(table.name, id_column.name)
            columns.append(func.nextval(sequence))
        else:
            columns.append(select(func.coalesce(func.max(id_column), 0) + 1).scalar_subquery())
    return columns
