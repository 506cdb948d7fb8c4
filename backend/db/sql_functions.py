"""SQL expressions that read the same on SQLite and PostgreSQL but are spelled differently in each.

They let a statement compute a value from a row it is changing in the same statement (the receipt
number from the counter it moves, the audit chain's next hash from the head it moves), so that the
row is locked only for that statement and its commit (see ``backend.db.batch``).

- :class:`sha256_hex`: SHA-256 of a text's UTF-8 bytes, as 64 lower-case hex digits (Python's
  ``hashlib.sha256(text.encode()).hexdigest()``). PostgreSQL has ``sha256``; SQLite gets
  :func:`register_sqlite_functions` on every connection (``backend.db.engine``).
- :class:`zero_padded`: an integer as decimal text, zero-padded to at least ``width`` digits (Python's
  ``f"{n:0{width}d}"`` for n >= 0).
- :class:`next_id`: the next id of a table's generated id column, to write rows whose id is known
  before they are written (``nextval`` on PostgreSQL; on SQLite one more than the largest id, safe
  because every write transaction there holds the database's write lock from its BEGIN IMMEDIATE).
- :func:`constant`: a value written into the statement's text instead of bound as a parameter, for
  the fixed values of a prepared statement's conditions (see there).
- :class:`row_version`: a number that changes with every UPDATE of a row, PostgreSQL only (its
  ``xmin``, the transaction that wrote the row's current version), to write later only if the row is
  still as it was read (``backend.db.batch.WriteBatch.require`` with :data:`ROW_VERSION`). SQLite
  has no such thing, and needs none: its writers take the database's lock at BEGIN IMMEDIATE.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import BigInteger, String, Table, Text, cast, column, func, literal_column, select, table
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

_SQLITE_SHA256 = "gridvend_sha256_hex"


class sha256_hex(FunctionElement[str]):  # the SQL functions are named as SQL names them
    type = String(64)
    inherit_cache = True
    name = "sha256_hex"


@compiles(sha256_hex, "postgresql")
def _sha256_postgresql(element: sha256_hex, compiler: SQLCompiler, **kw: Any) -> str:
    (text,) = element.clauses
    return f"encode(sha256(convert_to({compiler.process(text, **kw)}, 'UTF8')), 'hex')"


@compiles(sha256_hex, "sqlite")
def _sha256_sqlite(element: sha256_hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_SHA256}({compiler.process(element.clauses, **kw)})"


def _sha256_of_text(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Give a new SQLite connection the functions the expressions above compile to."""
    dbapi_connection.create_function(_SQLITE_SHA256, 1, _sha256_of_text, deterministic=True)


class zero_padded(FunctionElement[str]):
    type = Text()
    inherit_cache = True
    name = "zero_padded"
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("width", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, number: Any, width: int) -> None:
        self.width = width
        super().__init__(number)


@compiles(zero_padded, "postgresql")
def _zero_padded_postgresql(element: zero_padded, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(cast(element.clauses.clauses[0], Text), **kw)
    return f"lpad({text}, greatest({int(element.width)}, length({text})), '0')"


@compiles(zero_padded, "sqlite")
def _zero_padded_sqlite(element: zero_padded, compiler: SQLCompiler, **kw: Any) -> str:
    number = compiler.process(element.clauses.clauses[0], **kw)
    return f"printf('%0{int(element.width)}d', {number})"


class next_id(FunctionElement[int]):
    type = BigInteger()
    inherit_cache = True
    name = "next_id"
    # The table is named, not passed as a clause: a column argument would add its table to the
    # FROM list of the statement the expression is used in.
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("table_name", InternalTraversal.dp_string),
        ("column_name", InternalTraversal.dp_string),
    ]

    def __init__(self, table: Table) -> None:
        column = table.autoincrement_column
        assert column is not None, f"{table.name} has no generated id"
        self.table_name, self.column_name = table.name, column.name
        super().__init__()


@compiles(next_id, "postgresql")
def _next_id_postgresql(element: next_id, compiler: SQLCompiler, **kw: Any) -> str:
    sequence = func.pg_get_serial_sequence(element.table_name, element.column_name)
    return compiler.process(func.nextval(sequence), **kw)


@compiles(next_id, "sqlite")
def _next_id_sqlite(element: next_id, compiler: SQLCompiler, **kw: Any) -> str:
    id_column: ColumnClause[Any] = column(element.column_name)
    largest = select(func.coalesce(func.max(id_column), 0) + 1).select_from(table(element.table_name))
    return compiler.process(largest.scalar_subquery().correlate(None), **kw)


# The name under which a row's version is compared (``WriteBatch.require(..., equal={ROW_VERSION: v})``).
ROW_VERSION = "row_version"


class row_version(FunctionElement[int]):
    """The version of the row of ``table`` that the statement reads (see the module docstring)."""

    type = BigInteger()
    inherit_cache = True
    name = "row_version"
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("table_name", InternalTraversal.dp_string),
    ]

    def __init__(self, table: Any) -> None:
        """``table``: the table, or the mapped class of it."""
        found = table if isinstance(table, Table) else getattr(table, "__table__", None)
        assert isinstance(found, Table), f"{table!r} is not a table or a class mapped to one"
        self.table_name = found.name
        super().__init__()


@compiles(row_version, "postgresql")
def _row_version_postgresql(element: row_version, compiler: SQLCompiler, **kw: Any) -> str:
    # xid has no comparison with a bound integer: read and compare it as bigint.
    return f"CAST(CAST({compiler.preparer.quote(element.table_name)}.xmin AS TEXT) AS BIGINT)"


@compiles(row_version)
def _row_version_elsewhere(element: row_version, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError("Row versions are PostgreSQL's (xmin); SQLite's writers exclude each other instead.")


def constant(value: str | int) -> ColumnElement[Any]:
    """``value`` written into the statement's text, where a plain Python value would be bound as a
    parameter.

    For the fixed values of a prepared statement's conditions (``status = 'installed'``, ``LIMIT 1``):
    PostgreSQL plans a prepared statement with its parameters' values five times, then tries a generic
    plan for any values and keeps it when it is no dearer. A generic plan cannot use a partial index
    whose predicate a parameter would have to match (the meter's ``status = 'installed'``, the open
    account's ``status <> 'closed'``) and guesses a tenth of the rows for ``LIMIT $n``; it then came
    out dearer, depending on the tables' sizes when it was tried, and PostgreSQL planned the statement
    again on every execution (about 0.5 ms of the database's CPU per sale). Written in the text, the
    generic plan uses them as the custom one does."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"constant() takes a str or an int, not {type(value).__name__}")
    if isinstance(value, int):
        return literal_column(str(value), BigInteger())
    return literal_column("'" + value.replace("'", "''") + "'", Text())
