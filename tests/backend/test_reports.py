"""The sales dashboard adds up what was really sold, in the utility's days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.reports import service as reports
from backend.domain.reports.rules import local_day_bounds, local_month_bounds
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.support.world import build_world


def test_local_days_follow_the_utility_zone() -> None:
    from zoneinfo import ZoneInfo

    start, end = local_day_bounds(date(2026, 11, 29), ZoneInfo("Africa/Nairobi"))
    assert start == datetime(2026, 11, 28, 21, 0, tzinfo=UTC) and end - start == timedelta(hours=24)
    m_start, m_end = local_month_bounds(date(2026, 12, 31), ZoneInfo("Africa/Nairobi"))
    assert m_start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC) and m_end == datetime(
        2026, 12, 31, 21, 0, tzinfo=UTC
    )


async def test_dashboard_totals_match_the_sales(settings: Settings) -> None:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    async with maker() as session:
        world = await build_world(session, settings)
    now = datetime.now(UTC)
    sold = []
    for i, (amount, method) in enumerate([(30_000, "cash"), (40_000, "card"), (25_000, "cash")]):
        async with maker() as session:
            outcome = await vending.purchase(
                session,
                settings,
                SoftwareTokenEngine.for_session(session, keystore_for(settings)),
                world.cashier,
                client_ref=f"d{i}",
                request=vending.PurchaseRequest(
                    meter_number=world.meter_no,
                    amount_minor=amount,
                    currency="KES",
                    payment_method=method,
                    channel="station",
                ),
                now=now,
            )
            sold.append(outcome.vend)
    async with maker() as session:
        board = await reports.dashboard(
            session, SYSTEM, zone=settings.zone, currency="KES", today=now.astimezone(settings.zone).date()
        )
    await engine.dispose()
    assert board.today.sales == 3 and board.today.amount_minor == 95_000
    assert board.today.energy_wh == sum(v.energy_wh for v in sold)
    assert board.month.debt_recovered_minor == sum(v.debt_recovered_minor for v in sold)
    payments = {g.key: g.totals.amount_minor for g in board.by_payment}
    assert payments == {"cash": 55_000, "card": 40_000}
    assert [g.key for g in board.by_channel] == ["station"]
    assert sum(p.totals.sales for p in board.daily) == 3


@pytest.mark.parametrize("role", ["cashier", "billing_clerk"])
async def test_dashboard_is_for_supervisors(demo_client: object, role: str) -> None:
    from tests.support.auth import DEMO_USER_FOR_ROLE, login

    await login(demo_client, DEMO_USER_FOR_ROLE[role])  # type: ignore[arg-type]
    response = await demo_client.get("/api/v1/reports/sales-dashboard")  # type: ignore[attr-defined]
    assert response.status_code == 403
