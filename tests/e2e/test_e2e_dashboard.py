"""Sales dashboard and credit-note approvals in a real browser, on sales really made in the server's database.

The sales are made through the vending service (real tariff, real STS tokens) by the demo cashier
(station DPL-CEN-01) and the demo supervisor (region DPL-CEN), so they fall inside the supervisor's
org scope; the dashboard must show the supervisor exactly what was there before plus these sales.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.types import utcnow
from backend.domain.auth import service as auth
from backend.domain.auth.models import User
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.org.models import OrgUnit
from backend.domain.reports import service as reports
from backend.domain.vending import service as vending
from backend.settings import load_settings
from tests.e2e.test_e2e_staff import DEMO_PASSWORD, login
from tests.support.world import build_world

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/dashboard.png"

# (who sells, amount in minor units, payment method)
SALES = [
    ("cashier", 30_000, "cash"),
    ("cashier", 40_000, "card"),
    ("cashier", 25_000, "mobile_money"),
    ("supervisor", 20_000, "cash"),
]


@dataclass(frozen=True)
class Sold:
    day: date
    currency: str
    before: reports.Totals  # the supervisor's dashboard for `day` before these sales
    today: reports.Totals  # what these sales add up to
    refs: list[tuple[str, str, str]]  # (seller, client reference, receipt number)


async def _make_sales(env: dict[str, str]) -> Sold:
    settings = load_settings(env)
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    try:
        actors = {}
        async with maker() as session, session.begin():
            for username in ("cashier", "supervisor"):
                user = (await session.execute(select(User).where(User.username == username))).scalar_one()
                unit = await session.get(OrgUnit, user.org_unit_id)
                actors[username] = auth.actor_for(user, frozenset({username}), unit)
        now = utcnow()
        day = now.astimezone(settings.zone).date()
        async with maker() as session:
            world = await build_world(session, settings, debt_minor=60_000)
        async with maker() as session:
            before = await reports.dashboard(
                session, actors["supervisor"], zone=settings.zone, currency=settings.currency, today=day
            )
        refs, vends = [], []
        for seller, amount, method in SALES:
            ref = f"e2e-dash-{uuid.uuid4().hex[:10]}"
            async with maker() as session:
                outcome = await vending.purchase(
                    session,
                    settings,
                    SoftwareTokenEngine.for_session(session, keystore_for(settings)),
                    actors[seller],
                    client_ref=ref,
                    request=vending.PurchaseRequest(
                        meter_number=world.meter_no,
                        amount_minor=amount,
                        currency=settings.currency,
                        payment_method=method,
                        channel="station",
                    ),
                    now=now,
                )
            assert outcome.vend.status == "success" and outcome.tokens, outcome.vend.status
            vends.append(outcome.vend)
            refs.append((seller, ref, str(outcome.vend.receipt_no)))
        today = reports.Totals(
            sales=len(vends),
            amount_minor=sum(v.tender_minor for v in vends),
            energy_wh=sum(v.energy_wh for v in vends),
            energy_revenue_minor=sum(v.energy_minor for v in vends),
            tax_minor=sum(v.tax_minor for v in vends),
            fixed_minor=sum(v.fixed_minor for v in vends),
            debt_recovered_minor=sum(v.debt_recovered_minor for v in vends),
        )
        return Sold(day, settings.currency, before.today, today, refs)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def sold(server: str, server_env: dict[str, str]) -> Sold:
    # Own thread and event loop: Playwright's sync API keeps its loop on the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _make_sales(server_env)).result(timeout=120)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _tenths_kwh(wh: int) -> str:
    return str(int((Decimal(wh) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _expect_kpi(page: Any, testid: str, value: int, shown_digits: str, prefix: str = "") -> None:
    card = page.get_by_test_id(testid)
    expect(card).to_have_attribute("data-value", str(value))
    text = card.locator("dd").inner_text()
    assert _digits(text) == shown_digits, (testid, text)
    if prefix:
        assert text.startswith(prefix), (testid, text)


def test_supervisor_dashboard_shows_the_sales_made(page: Any, sold: Sold) -> None:
    assert sold.today.sales == 4 and sold.today.amount_minor == 115_000  # what was sold
    assert sold.today.debt_recovered_minor > 0  # the world's customer owed arrears
    expected = {
        "sales": sold.before.sales + sold.today.sales,
        "amount": sold.before.amount_minor + sold.today.amount_minor,
        "energy": sold.before.energy_wh + sold.today.energy_wh,
        "debt": sold.before.debt_recovered_minor + sold.today.debt_recovered_minor,
    }

    page.goto(f"/staff/?day={sold.day.isoformat()}")
    login(page, "supervisor")
    expect(page).to_have_url(re.compile(rf"/staff/\?day={sold.day.isoformat()}$"))
    board = page.get_by_test_id("sales-dashboard")
    expect(board).to_be_visible()
    expect(page.get_by_test_id("sales-day")).to_have_value(sold.day.isoformat())

    _expect_kpi(page, "kpi-today-sales", expected["sales"], str(expected["sales"]))
    cur = f"{sold.currency} "
    _expect_kpi(page, "kpi-today-amount", expected["amount"], str(expected["amount"]), cur)
    _expect_kpi(page, "kpi-today-energy", expected["energy"], _tenths_kwh(expected["energy"]))
    assert page.get_by_test_id("kpi-today-energy").locator("dd").inner_text().endswith("kWh")
    _expect_kpi(page, "kpi-today-debt", expected["debt"], str(expected["debt"]), cur)
    # The month includes today.
    month_amount = int(page.get_by_test_id("kpi-month-amount").get_attribute("data-value"))
    assert month_amount >= expected["amount"]

    # Charts are drawn with accessible names; the operators table lists both sellers.
    for chart in ("chart-daily", "chart-channel", "chart-payment", "chart-station"):
        svg = page.get_by_test_id(chart).locator("svg")
        expect(svg).to_have_attribute("role", "img")
        assert (svg.locator("title").first.text_content() or "").strip()
    daily_bars = page.get_by_test_id("chart-daily").locator("rect.bar")
    expect(daily_bars).to_have_count(sold.day.day)  # one bar per day of the month so far
    expect(page.get_by_test_id("chart-daily").locator("rect.bar.selected")).to_have_count(1)
    operators = page.get_by_test_id("operator-table")
    expect(operators.locator('[data-key="cashier"]')).to_have_count(1)
    expect(operators.locator('[data-key="supervisor"]')).to_have_count(1)

    page.screenshot(path=SCREENSHOT, full_page=True)

    # Reports area → the same sales view for a chosen day (the 1st: its month so far is one day).
    first = sold.day.replace(day=1).isoformat()
    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_test_id("page-reports")).to_be_visible()
    page.get_by_test_id("report-day").fill(first)
    page.get_by_test_id("open-sales").click()
    expect(page).to_have_url(re.compile(rf"/staff/\?day={first}$"))
    expect(page.get_by_test_id("sales-day")).to_have_value(first)
    expect(page.get_by_test_id("chart-daily").locator("rect.bar")).to_have_count(1)


def test_cashier_keeps_the_welcome_dashboard(page: Any) -> None:
    page.goto("/staff/")
    login(page, "cashier")
    expect(page.get_by_test_id("page-dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="Your areas")).to_be_visible()
    expect(page.get_by_test_id("sales-dashboard")).to_have_count(0)
    expect(page.get_by_test_id("nav-credit_notes")).to_have_count(0)


def _api_login(base: str, username: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=base, timeout=20.0)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


def _ask_reversal(client: httpx.Client, headers: dict[str, str], ref: str, reason: str) -> int:
    response = client.post(
        f"/api/v1/purchases/{ref}/reversals/rev-{uuid.uuid4().hex[:8]}",
        json={"reason": reason},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending_approval"
    return int(response.json()["request_id"])


def test_supervisor_decides_credit_notes(page: Any, server: str, sold: Sold) -> None:
    (_, ref_a, receipt_a), (_, ref_b, receipt_b) = sold.refs[0], sold.refs[1]
    (_, ref_own, receipt_own) = sold.refs[3]
    cashier, cashier_headers = _api_login(server, "cashier")
    supervisor, supervisor_headers = _api_login(server, "supervisor")
    admin, admin_headers = _api_login(server, "admin")
    try:
        _ask_reversal(cashier, cashier_headers, ref_a, "customer paid twice")
        request_b = _ask_reversal(cashier, cashier_headers, ref_b, "wrong meter number")
        _ask_reversal(supervisor, supervisor_headers, ref_own, "test sale")

        page.goto("/staff/")
        login(page, "supervisor")
        page.get_by_test_id("nav-credit_notes").click()
        expect(page).to_have_url(re.compile(r"/staff/reports/credit-notes$"))
        table = page.get_by_test_id("credit-notes-table")
        row_a = table.locator(f'[data-testid="credit-note-row"][data-receipt="{receipt_a}"]')
        row_b = table.locator(f'[data-testid="credit-note-row"][data-receipt="{receipt_b}"]')
        row_own = table.locator(f'[data-testid="credit-note-row"][data-receipt="{receipt_own}"]')
        expect(row_a).to_contain_text("customer paid twice")
        expect(row_a.get_by_test_id("credit-note-status")).to_have_text("pending approval")
        assert _digits(row_a.locator("td.num").inner_text()) == str(SALES[0][1])

        # Approve the cashier's request: the status changes and the server no longer lists it.
        row_a.get_by_test_id("credit-note-approve").click()
        expect(row_a.get_by_test_id("credit-note-status")).to_have_text(
            re.compile(r"approved\s+by supervisor")
        )
        expect(row_a.get_by_test_id("credit-note-approve")).to_have_count(0)
        pending = supervisor.get("/api/v1/credit-notes", params={"limit": 200}).json()["items"]
        assert receipt_a not in {item["receipt_number"] for item in pending}

        # The supervisor's own request: the server refuses (403) and the page says why.
        row_own.get_by_test_id("credit-note-approve").click()
        expect(page.get_by_test_id("credit-note-error")).to_contain_text("second person must decide")
        expect(row_own.get_by_test_id("credit-note-status")).to_have_text("pending approval")

        # Decided elsewhere meanwhile: the server answers 409 and the page shows its message.
        approved = admin.post(f"/api/v1/credit-notes/{request_b}/approve", headers=admin_headers)
        assert approved.status_code == 200, approved.text
        row_b.get_by_test_id("credit-note-reject").click()
        expect(page.get_by_test_id("credit-note-error")).to_contain_text(f"{request_b} is already approved")
    finally:
        for client in (cashier, supervisor, admin):
            client.close()
