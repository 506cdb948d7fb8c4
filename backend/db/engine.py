"""Database engines: SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction: the
documented SQLAlchemy recipe. Without it two concurrent read-modify-write transactions both read the
old value and one update is silently lost. PostgreSQL uses asyncpg with a bounded pool; services
lock rows with ``SELECT ... FOR UPDATE`` or use atomic ``UPDATE ... RETURNING``.

A pooled PostgreSQL connection that sat idle longer than ``pg_ping_after_idle_seconds`` is pinged
before use and replaced when the server no longer answers (a restart, a dropped network path).
SQLAlchemy's ``pool_pre_ping`` would ping on every checkout, and its asyncpg ping is three round
trips (BEGIN, a statement, ROLLBACK): on a busy server that was about a tenth of a sale's CPU, for
connections that had been in use a millisecond before. A connection that breaks while busy fails its
request either way, and SQLAlchemy then invalidates the rest of the pool.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from backend.db.sql_functions import register_sqlite_functions
from backend.settings import Settings


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        path = _sqlite_path(settings.database_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite lets one writer in at a time anyway, and waiting in the pool's queue
        # is first come, first served, where waiting on the file lock is a busy-wait with back-off
        # sleeps (32 concurrent cashiers saw p99 latencies of seconds that way).
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
            pool_size=1,
            max_overflow=0,
            pool_timeout=settings.pg_pool_timeout_seconds,
        )
        busy_timeout = settings.sqlite_busy_timeout_ms

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from the driver so that BEGIN IMMEDIATE below is ours.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            register_sqlite_functions(dbapi_connection)

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.pg_pool_size,
        max_overflow=settings.pg_max_overflow,
        pool_timeout=settings.pg_pool_timeout_seconds,
    )
    _ping_when_idle(engine, settings.pg_ping_after_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, after_seconds: float) -> None:
    """Check a connection before use when it sat in the pool longer than ``after_seconds``."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool discards this connection and checks out another (SQLAlchemy's documented
            # pessimistic disconnect handling).
            raise exc.DisconnectionError("The pooled connection no longer answers.") from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
