"""The audit log is append-only and hash-chained; `gridvend audit verify` finds tampering."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.settings import Settings
from tests.support.auth import login

GRIDVEND = str(Path(sys.executable).parent / "gridvend")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDVEND_DATABASE_URL": settings.database_url}
    return subprocess.run([GRIDVEND, *args], env=env, capture_output=True, text=True, timeout=60)


async def _sql(settings: Settings, *statements: str) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _drop_guard(settings: Settings) -> list[str]:
    """What an intruder with database access would do first."""
    if settings.is_sqlite:
        return ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]
    return ["DROP TRIGGER audit_events_append_only ON audit_events"]


@pytest.fixture(autouse=True)
async def _restore_guard(settings: Settings) -> Any:
    """PostgreSQL tests share one database: put the trigger back after a test removed it."""
    yield
    if not settings.is_sqlite:
        await _sql(
            settings,
            "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION gridvend_refuse_change()",
        )


async def test_login_is_audited_in_the_chain(demo_client: AsyncTestClient[Any], settings: Settings) -> None:
    await login(demo_client, "auditor")
    events = (await demo_client.get("/api/v1/audit-events", params={"limit": 1})).json()["items"]
    assert events[0]["action"] == "auth.login" and events[0]["actor"] == "auditor"
    verdict = (await demo_client.get("/api/v1/audit-events/verify")).json()
    assert verdict["ok"] is True and verdict["rows_checked"] > 10


async def test_the_database_refuses_updates_and_deletes(
    demo_client: AsyncTestClient[Any], settings: Settings
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(settings, "UPDATE audit_events SET action = 'x' WHERE seq = 1")
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(settings, "DELETE FROM audit_events WHERE seq = 1")


async def test_verify_detects_a_changed_row(demo_client: AsyncTestClient[Any], settings: Settings) -> None:
    ok = await asyncio.to_thread(_cli, settings, "audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout
    await _sql(
        settings,
        *_drop_guard(settings),
        'UPDATE audit_events SET detail = \'{"role":"admin"}\' WHERE seq = 3',
    )
    broken = await asyncio.to_thread(_cli, settings, "audit", "verify")
    assert broken.returncode == 1
    assert "row 3: content was changed" in broken.stdout


async def test_verify_detects_deleted_rows(demo_client: AsyncTestClient[Any], settings: Settings) -> None:
    await _sql(settings, *_drop_guard(settings), "DELETE FROM audit_events WHERE seq = 4")
    broken = await asyncio.to_thread(_cli, settings, "audit", "verify")
    assert broken.returncode == 1 and "missing (deleted)" in broken.stdout


async def test_verify_detects_a_cut_off_tail(demo_client: AsyncTestClient[Any], settings: Settings) -> None:
    await _sql(
        settings,
        *_drop_guard(settings),
        "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)",
    )
    broken = await asyncio.to_thread(_cli, settings, "audit", "verify")
    assert broken.returncode == 1 and "head says" in broken.stdout


async def test_audit_rolls_back_with_the_action(settings: Settings) -> None:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    actor = Actor(kind="system", id=None, name="t", org_path="/")
    async with maker() as session:
        async with session.begin():
            await audit.record(session, actor, "kept")
        with pytest.raises(RuntimeError):
            async with session.begin():
                await audit.record(session, actor, "rolled-back")
                raise RuntimeError("the action failed")
        async with session.begin():
            await audit.record(session, actor, "after")
        checked, problems = await audit.verify(session)
    await engine.dispose()
    assert checked == 2 and problems == []


async def test_concurrent_writers_keep_one_unbroken_chain(settings: Settings) -> None:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    actor = Actor(kind="system", id=None, name="t", org_path="/")

    async def write(i: int) -> None:
        async with maker() as session, session.begin():
            await audit.record(session, actor, "concurrent", detail={"i": i})

    await asyncio.gather(*(write(i) for i in range(20)))
    async with maker() as session:
        checked, problems = await audit.verify(session)
    await engine.dispose()
    assert checked == 20 and problems == []
