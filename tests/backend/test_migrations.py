"""An empty database migrates to head on both backends, and the models match the migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.db.engine import create_engine
from backend.db.migrate import current_revision, head_revision, upgrade
from backend.db.registry import metadata
from tests.conftest import make_settings
from tests.support import postgres


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _check(url: str, tmp: Path) -> tuple[str | None, list[Any]]:
    settings = make_settings(url, tmp)
    engine = create_engine(settings)
    try:
        revision = await current_revision(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        return revision, diff
    finally:
        await engine.dispose()


def test_sqlite_empty_to_head_without_drift(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    upgrade(make_settings(url, tmp_path))
    revision, diff = asyncio.run(_check(url, tmp_path))
    assert revision == head_revision()
    assert diff == [], f"models and migrations differ: {diff}"


@pytest.mark.postgres
def test_postgres_empty_to_head_without_drift(postgres_server: str, tmp_path: Path) -> None:
    url = asyncio.run(postgres.create_database(postgres_server, "gridvend_migrate"))
    try:
        upgrade(make_settings(url, tmp_path))
        revision, diff = asyncio.run(_check(url, tmp_path))
        assert revision == head_revision()
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        asyncio.run(postgres.drop_database(postgres_server, url))
