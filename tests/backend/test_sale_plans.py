"""PostgreSQL's generic plan of the sale's context read: the one every pooled connection keeps once it
has run the statement five times, unless it comes out dearer than planning each execution anew."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.prepared import Prepared
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.support.world import build_world


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


async def _generic_plan(engine: AsyncEngine, prepared: Prepared, params: dict[str, Any]) -> dict[str, Any]:
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        compiled = prepared._compiled(connection.dialect)
        args = ", ".join(_literal(value) for value in prepared._args(compiled, params))
        await driver.execute(f"PREPARE sale_context AS {compiled.sql}")
        await driver.execute("SET plan_cache_mode = force_generic_plan")
        try:
            plan = await driver.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE sale_context({args})")
        finally:
            await driver.execute("RESET plan_cache_mode")
            await driver.execute("DEALLOCATE sale_context")
    # The engine's connections decode json already (SQLAlchemy's asyncpg dialect sets the codec).
    result: dict[str, Any] = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return result


@pytest.mark.postgres
async def test_the_generic_plan_of_the_sale_context_read_uses_the_partial_indexes(settings: Settings) -> None:
    """The meter's and the open account's rows are found through the partial unique indexes (installed
    meter per supply point, open account per supply point), and no table is scanned whole: with the
    statuses bound as parameters the generic plan could not use those indexes, came out dearer than a
    plan for the values, and PostgreSQL planned the read again on every sale (about half a
    millisecond of its CPU each)."""
    if settings.is_sqlite:
        pytest.skip("Generic plans of prepared statements are PostgreSQL's")
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            world = await build_world(session, settings)
        params = {
            "digits": world.meter_no,
            "at": datetime.now(UTC),
            "key": "api",
            "ref": "r",
            "station": None,
        }
        scans = list(_scans(await _generic_plan(engine, vending._SALE_CONTEXT_UNLOCKED, params)))
    finally:
        await engine.dispose()
    by_table = {scan["Relation Name"]: scan for scan in scans}
    assert by_table["accounts"].get("Index Name") == "uq_accounts_open_per_supply_point", scans
    assert all(scan["Node Type"] != "Seq Scan" for scan in scans), scans
