"""Hot-path statements run straight on the driver connection of the session's transaction.

SQLAlchemy's execution layer costs about 0.2 to 0.3 ms of CPU per statement (cache key, execution
context, result wrapping, a greenlet hop and, for ORM writes, the unit of work): for a one-row
statement that is more than the database's own work. A sale runs about fifteen such statements, so
this layer was most of its cost.

:class:`Prepared` keeps SQLAlchemy's compiler and its type processing and skips the rest:

- the Core statement is compiled once per dialect by SQLAlchemy's own compiler;
- parameters and results go through the dialect's own bind and result processors, so values are
  exactly what the ORM writes and reads (aware UTC timestamps, dates, JSON, booleans);
- it runs on the asyncpg or aiosqlite connection that the session's transaction already holds, so it
  commits or rolls back with everything else in that transaction;
- pending ORM changes are flushed first, so a statement never overtakes the unit of work;
- driver errors come out as SQLAlchemy's (``IntegrityError`` for a unique or CHECK violation), as
  callers expect.

Use it for statements that run on every sale; everything else stays with the ORM.

A statement can also run on a :class:`PooledConnection` (:func:`pooled_connection`): a connection
checked out of the engine's pool with no session around it, on which every statement commits on its
own. PostgreSQL's sale without locks is two such statements; a session would add its begin, its
connection checkout, its commit and its close, each through a greenlet, about 0.15 ms per sale,
more than either statement costs the process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import exc, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from backend.db.transaction_memo import keep_for_transaction, transaction_memo

_T = TypeVar("_T")
_Processor = Callable[[Any], Any] | None

_DRIVER_KEY = "gridvend.prepared.driver"


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names, in the driver's positional order
    fixed: Mapping[str, Any]  # values bound in the statement itself (literals, insert defaults)
    binds: tuple[_Processor, ...]
    results: tuple[_Processor, ...]


def _column_types(statement: ClauseElement) -> list[Any]:
    exported = getattr(statement, "exported_columns", None)
    return [] if exported is None else [column.type for column in exported]


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    results = tuple(
        column_type.dialect_impl(dialect).result_processor(dialect, None)
        for column_type in _column_types(statement)
    )
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    return _Compiled(compiled.string, names, fixed, binds, results)


@dataclass(frozen=True, slots=True)
class PooledConnection:
    """A driver connection checked out of the pool by :func:`pooled_connection`, outside any session:
    every statement run on it commits on its own."""

    driver: Any
    dialect: Dialect


# Where a statement runs: in a session's transaction, or on a pooled connection of its own.
Executor = AsyncSession | PooledConnection


@asynccontextmanager
async def pooled_connection(engine: AsyncEngine) -> AsyncIterator[PooledConnection]:
    """A connection of ``engine``'s pool for the block, with no session and no transaction (see the
    module docstring); it goes back to the pool at the end of the block, as a session's would (the
    pool's checkout and checkin events run, and the checkin's reset)."""
    raw = await engine.raw_connection()
    try:
        yield PooledConnection(raw.driver_connection, engine.dialect)
    finally:
        await greenlet_spawn(raw.close)


def dialect_of(executor: Executor) -> Dialect:
    return executor.dialect if isinstance(executor, PooledConnection) else executor.get_bind().dialect


async def _driver(executor: Executor, *, in_transaction: bool = True) -> tuple[Any, Dialect]:
    """The driver connection of the session's transaction (begun if need be, as ``execute`` does), or
    the pooled connection's.

    ``in_transaction=False`` (PostgreSQL): a connection whose transaction has not begun is used as it
    is, so that a statement on it commits on its own."""
    if isinstance(executor, PooledConnection):
        return executor.driver, executor.dialect
    session = executor
    if session.new or session.dirty or session.deleted:
        await session.flush()
    cached = transaction_memo(session, _DRIVER_KEY)
    if cached is None:
        connection = await session.connection()  # the session's transaction, as execute() would
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        if connection.dialect.name == "sqlite" and not driver.in_transaction:
            raise RuntimeError("The SQLite connection is not inside the session's BEGIN IMMEDIATE.")
        cached = (driver, connection.dialect, connection)
        keep_for_transaction(session, _DRIVER_KEY, cached)
    driver, dialect, connection = cached
    if in_transaction and dialect.name == "postgresql" and not driver.is_in_transaction():
        await _begin_on_postgresql(connection)
    return driver, dialect


async def _begin_on_postgresql(connection: Any) -> None:
    """Begin the transaction SQLAlchemy's asyncpg adapter holds for this session.

    The adapter begins lazily, on the first statement it runs itself, so a session whose first
    statement is a :class:`Prepared` one has no transaction yet. The adapter's own
    ``_start_transaction`` sends the BEGIN (one round trip, with the session's isolation level) and
    records it, so that commit and rollback go to the same transaction; without it (another
    SQLAlchemy release) a statement through SQLAlchemy begins it, at the cost of one more round trip.
    """
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    start = getattr(adapted, "_start_transaction", None)
    if start is None or getattr(adapted, "_transaction", True) is not None:
        await connection.exec_driver_sql("SELECT 1")
        return
    async with adapted._execute_mutex:
        await start()


_ERRORS = (sqlite3.Error, asyncpg.PostgresError)


def _translated(error: Exception, sql: str) -> exc.DBAPIError:
    if isinstance(error, sqlite3.IntegrityError | asyncpg.IntegrityConstraintViolationError):
        return exc.IntegrityError(sql, None, error)
    if isinstance(error, sqlite3.OperationalError):
        return exc.OperationalError(sql, None, error)
    return exc.DBAPIError(sql, None, error)


class Prepared:
    """A Core statement compiled once per dialect and run on the driver connection of a session's
    transaction or of a :class:`PooledConnection`."""

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return compiled

    @staticmethod
    def _args(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
        args = []
        for name, process in zip(compiled.names, compiled.binds, strict=True):
            if name in params:
                value = params[name]
            elif name in compiled.fixed:
                value = compiled.fixed[name]
            else:
                raise KeyError(f"No value for the statement's parameter {name!r}")
            args.append(value if process is None or value is None else process(value))
        return args

    @staticmethod
    def _row(compiled: _Compiled, raw: Iterable[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, compiled.results, strict=True)
        )

    async def rows(
        self, executor: Executor, params: Mapping[str, Any] | None = None, *, in_transaction: bool = True
    ) -> list[tuple[Any, ...]]:
        """All result rows (``RETURNING`` rows for a write; empty for a write without one).

        ``in_transaction=False``, on PostgreSQL: if the session's connection has not begun its
        transaction yet, the statement runs without one and commits on its own (on SQLite the
        session's connection is always in its BEGIN IMMEDIATE). On a :class:`PooledConnection` a
        statement always commits on its own."""
        driver, dialect = await _driver(executor, in_transaction=in_transaction)
        compiled = self._compiled(dialect)
        args = self._args(compiled, params or {})
        try:
            if dialect.name == "postgresql":
                raw = await driver.fetch(compiled.sql, *args)
            else:
                raw = await driver.execute_fetchall(compiled.sql, args)
        except _ERRORS as error:
            raise _translated(error, compiled.sql) from error
        if not compiled.results:
            return [tuple(row) for row in raw]
        return [self._row(compiled, row) for row in raw]

    async def first(
        self, executor: Executor, params: Mapping[str, Any] | None = None, *, in_transaction: bool = True
    ) -> tuple[Any, ...] | None:
        rows = await self.rows(executor, params, in_transaction=in_transaction)
        return rows[0] if rows else None

    async def one(
        self, executor: Executor, params: Mapping[str, Any] | None = None, *, in_transaction: bool = True
    ) -> tuple[Any, ...]:
        rows = await self.rows(executor, params, in_transaction=in_transaction)
        if len(rows) != 1:
            raise exc.NoResultFound("Expected one row") if not rows else exc.MultipleResultsFound()
        return rows[0]

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> Any:
        row = await self.first(session, params)
        return None if row is None else row[0]

    async def execute_many(self, session: AsyncSession, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a write once per parameter set, in one driver call (no result rows)."""
        if not params:
            return
        driver, dialect = await _driver(session)
        compiled = self._compiled(dialect)
        batch = [self._args(compiled, one) for one in params]
        try:
            await driver.executemany(compiled.sql, batch)
        except _ERRORS as error:
            raise _translated(error, compiled.sql) from error


async def run_in_sequence(
    executor: Executor, statements: Sequence[tuple[Prepared, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Run statements one after the other in the session's transaction; each one's result rows.

    On SQLite they run in one hand-over to aiosqlite's worker thread instead of one each (each
    hand-over costs about as much CPU as a PostgreSQL round trip). That uses aiosqlite's internal
    ``_execute`` (a function queued to its thread); without it, and on PostgreSQL, they are sent one by
    one. The first failing statement stops the rest and raises as :meth:`Prepared.rows` would.
    """
    driver, dialect = await _driver(executor)
    queue = getattr(driver, "_execute", None) if dialect.name == "sqlite" else None
    if queue is None:
        return [await prepared.rows(executor, params) for prepared, params in statements]
    bound = []
    for prepared, params in statements:
        compiled = prepared._compiled(dialect)
        bound.append((compiled, prepared._args(compiled, params)))

    def run_all() -> list[list[Any]]:
        connection = driver._conn  # the sqlite3 connection, used only on its own thread
        out = []
        for compiled, args in bound:
            try:
                out.append(connection.execute(compiled.sql, args).fetchall())
            except sqlite3.Error as error:
                raise _translated(error, compiled.sql) from error
        return out

    raw = await queue(run_all)
    return [
        [Prepared._row(compiled, row) if compiled.results else tuple(row) for row in rows]
        for (compiled, _), rows in zip(bound, raw, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class EntityColumns:
    """The mapped columns of an ORM class, to select them in a :class:`Prepared` statement and turn the
    row back into an instance. The instance is detached (never added to a session): read it, do not
    change it expecting a write."""

    mapper: Mapper[Any]
    keys: tuple[str, ...]
    columns: tuple[ColumnElement[Any], ...]
    primary_key: tuple[str, ...]

    @classmethod
    def of(cls, model: type[Any]) -> EntityColumns:
        mapper: Mapper[Any] = inspect(model)
        attrs = list(mapper.column_attrs)
        primary_key = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        return cls(mapper, tuple(a.key for a in attrs), tuple(a.columns[0] for a in attrs), primary_key)

    def build(self, values: Sequence[Any]) -> Any:
        """An instance from the slice of a row that holds these columns (None when its key is null, as
        for the missing side of an outer join)."""
        data = dict(zip(self.keys, values, strict=True))
        if all(data[key] is None for key in self.primary_key):
            return None
        return _instance(self.mapper, data)


def _instance(mapper: Mapper[Any], values: Mapping[str, Any]) -> Any:
    # As the ORM's own loader does: a new instance whose attribute values go straight into its
    # dict (the constructor's attribute events cost ~20 times as much).
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def detached(model: type[_T], values: Mapping[str, Any]) -> _T:
    """A detached instance holding ``values`` (e.g. a row just written with :class:`Prepared`)."""
    instance: _T = _instance(inspect(model), values)
    return instance
