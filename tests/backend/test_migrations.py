"""An empty database migrates to head on both backends, and the models match the migrations; data
migrations fill what they add."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import alembic_config, current_revision, head_revision, upgrade
from backend.db.registry import metadata
from backend.domain.customers.models import Account
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.conftest import make_settings
from tests.support import postgres
from tests.support.world import build_world


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


async def _sell_then_migrate_again(settings: Settings) -> None:
    """Sales at head; back to 0006 (no kept totals) and up again: 0007 fills them from the sales."""
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    try:
        async with maker() as session:
            world = await build_world(session, settings, debt_minor=20_000)
        for ref in ("a", "b"):
            async with maker() as session:
                engine_ = SoftwareTokenEngine.for_session(session, keystore_for(settings))
                request = vending.PurchaseRequest(
                    meter_number=world.meter_no, amount_minor=50_000, currency="KES", payment_method="cash"
                )
                await vending.purchase(
                    session, settings, engine_, world.cashier, client_ref=ref, request=request
                )
        async with maker() as session, session.begin():
            before = await session.get(Account, world.account_id)
            assert before is not None and before.sales_month is not None
            kept = (
                before.sales_month,
                before.month_energy_wh,
                before.month_fixed_minor,
                before.month_debt_recovered_minor,
            )
            assert kept[1] > 0 and kept[2] > 0 and kept[3] > 0
        await asyncio.to_thread(command.downgrade, alembic_config(settings), "0006")
        await asyncio.to_thread(upgrade, settings)
        async with maker() as session, session.begin():
            after = await session.get(Account, world.account_id)
            assert after is not None
            assert (
                after.sales_month,
                after.month_energy_wh,
                after.month_fixed_minor,
                after.month_debt_recovered_minor,
            ) == kept
    finally:
        await engine.dispose()


def test_sqlite_migration_0007_keeps_the_months_sales_on_the_account(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'sold.db'}", tmp_path)
    upgrade(settings)
    asyncio.run(_sell_then_migrate_again(settings))


@pytest.mark.postgres
def test_postgres_migration_0007_keeps_the_months_sales_on_the_account(
    postgres_server: str, tmp_path: Path
) -> None:
    url = asyncio.run(postgres.create_database(postgres_server, "gridvend_migrate_sold"))
    try:
        settings = make_settings(url, tmp_path)
        upgrade(settings)
        asyncio.run(_sell_then_migrate_again(settings))
    finally:
        asyncio.run(postgres.drop_database(postgres_server, url))
