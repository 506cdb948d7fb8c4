"""PostgreSQL pool: a connection that sat idle is checked before use and replaced when it is dead."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_engine
from tests.conftest import make_settings

pytestmark = pytest.mark.postgres


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(postgres_template: str, pid: int) -> None:
    connection = await asyncpg.connect(postgres_template.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    postgres_template: str, tmp_path: Path
) -> None:
    engine = create_engine(make_settings(postgres_template, tmp_path, pg_ping_after_idle_seconds=0))
    try:
        first = await _backend_pid(engine)
        await _kill(postgres_template, first)  # e.g. the database server restarted overnight
        second = await _backend_pid(engine)
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(postgres_template: str, tmp_path: Path) -> None:
    # Below the idle threshold nothing is checked: a dead connection fails the one request that gets
    # it, and SQLAlchemy then discards the pool, so the next request gets a fresh connection.
    engine = create_engine(make_settings(postgres_template, tmp_path, pg_ping_after_idle_seconds=3600))
    try:
        first = await _backend_pid(engine)
        await _kill(postgres_template, first)
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()
