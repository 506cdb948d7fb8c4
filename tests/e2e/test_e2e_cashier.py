"""The cashier's screen in a real browser: shift, lookup, quote, vend (with a lost response and the
automatic retry under the same reference), receipt with tokens a real meter model accepts, reprint,
and the end-of-shift cash-up with its Z-report.

The vendable meter and the cashier are made in the e2e server's own database (tests/support/world.py),
so the test does not depend on the demo customers.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.db.engine import create_engine, create_sessionmaker
from backend.settings import load_settings
from tests.e2e.test_e2e_staff import login
from tests.support.cashup import PASSWORD, staff_user
from tests.support.world import World, build_world, virtual_meter

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/cashier-receipt.png"
TOKEN_GROUPED = re.compile(r"^\d{4} \d{4} \d{4} \d{4} \d{4}$")


async def _make_counter(env: dict[str, str]) -> tuple[World, str]:
    settings = load_settings(env)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            world = await build_world(session, settings, debt_minor=20_000)
            username = f"till-{uuid.uuid4().hex[:8]}"
            await staff_user(
                session, settings, username=username, org_unit_id=world.station_id, full_name="Tabitha Till"
            )
        return world, username
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def counter(server: str, server_env: dict[str, str]) -> tuple[World, str]:
    # Own thread and event loop: Playwright's sync API keeps its loop on the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _make_counter(server_env)).result(timeout=120)


def _sell(page: Any, world: World, amount: str, tender: str = "cash", reference: str | None = None) -> None:
    page.get_by_test_id("meter-number").fill(world.meter_no)
    page.get_by_test_id("lookup-meter").click()
    expect(page.get_by_test_id("customer-name")).to_contain_text("Wanjiku Test")
    page.get_by_test_id("amount").fill(amount)
    page.get_by_test_id(f"tender-{tender}").check()
    if reference is not None:
        page.get_by_test_id("tender-reference").fill(reference)
    page.get_by_test_id("quote").click()
    expect(page.get_by_test_id("quote-view")).to_be_visible()
    page.get_by_test_id("vend").click()
    expect(page.get_by_test_id("receipt")).to_be_visible()


def _tokens(scope: Any) -> list[str]:
    return [t.inner_text().strip() for t in scope.get_by_test_id("token").locator(".digits").all()]


def test_cashier_sells_reprints_and_cashes_up(page: Any, counter: tuple[World, str]) -> None:
    world, username = counter
    page.goto("/staff/login")
    login(page, username, PASSWORD)
    expect(page.get_by_test_id("nav-vending")).to_be_visible()
    page.get_by_test_id("nav-vending").click()
    expect(page.get_by_test_id("page-vending")).to_be_visible()

    # Open the shift with a float of 1 000.00
    page.get_by_test_id("opening-float").fill("1000")
    page.get_by_test_id("open-shift").click()
    expect(page.get_by_test_id("shift-open")).to_contain_text("Shift open")

    # Look up and quote: the customer's debt shows, and the quote breaks the amount down.
    page.get_by_test_id("meter-number").fill(world.meter_no)
    page.get_by_test_id("lookup-meter").click()
    expect(page.get_by_test_id("customer-name")).to_contain_text("Wanjiku Test")
    expect(page.get_by_test_id("customer-debt")).to_contain_text("200.00")
    page.get_by_test_id("amount").fill("1000")
    page.get_by_test_id("quote").click()
    quote = page.get_by_test_id("quote-view")
    expect(quote).to_be_visible()
    kinds = [row.get_attribute("data-kind") for row in quote.get_by_test_id("quote-line").all()]
    assert {"debt", "fixed", "energy"} <= set(kinds), kinds
    expect(page.get_by_test_id("debt-remaining")).to_be_visible()
    expect(page.get_by_test_id("quote-kwh")).to_contain_text("kWh")

    # The first answer is lost on the way back (the sale happened): the screen asks again with the
    # same reference and gets the same sale, never a second one.
    seen: list[str] = []

    def lose_first_answer(route: Any) -> None:
        seen.append(route.request.url)
        if len(seen) == 1:
            route.fetch()  # reaches the server: the sale is made
            route.abort()  # ... but the answer never reaches the browser
        else:
            route.continue_()

    page.route("**/api/v1/purchases/*", lose_first_answer)
    page.get_by_test_id("vend").click()
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_be_visible()
    page.unroute("**/api/v1/purchases/*")
    assert len(seen) == 2 and seen[0] == seen[1], seen

    number = page.get_by_test_id("receipt-number").inner_text().strip()
    assert re.fullmatch(r"W\d+-ST-\d{8}-\d{6}", number), number
    expect(page.get_by_test_id("receipt-meter")).to_have_text(world.meter_no)
    expect(page.get_by_test_id("receipt-customer")).to_contain_text("Wanjiku Test")
    expect(page.get_by_test_id("receipt-utility")).to_contain_text("World utility")
    expect(page.get_by_test_id("receipt-time")).to_contain_text("GMT+3")  # Africa/Nairobi
    first_tokens = _tokens(receipt)
    assert first_tokens and all(TOKEN_GROUPED.fullmatch(t) for t in first_tokens), first_tokens
    meter = virtual_meter(world)
    for grouped in first_tokens:
        accepted = meter.enter(grouped.replace(" ", ""))
        assert accepted.changes, grouped
    assert sum(meter.credit.values()) > 0
    receipt.screenshot(path=SCREENSHOT)

    # Printing shows the receipt alone: navigation and buttons are not on paper.
    page.emulate_media(media="print")
    expect(page.get_by_test_id("app-header")).to_be_hidden()
    expect(page.get_by_test_id("print-receipt")).to_be_hidden()
    expect(receipt).to_be_visible()
    page.emulate_media(media="screen")

    # A second sale, by card with the terminal's reference.
    page.get_by_test_id("new-sale").click()
    _sell(page, world, "500", "card", "CARD-4471")
    second = _tokens(page.get_by_test_id("receipt"))
    for grouped in second:
        meter.enter(grouped.replace(" ", ""))

    # Reprint the first receipt by its number: the same token.
    page.get_by_test_id("tab-reprint").click()
    page.get_by_test_id("reprint-number").fill(number)
    page.get_by_test_id("reprint").click()
    reprinted = page.get_by_test_id("reprint-view")
    expect(reprinted.get_by_test_id("receipt-number")).to_have_text(number)
    assert _tokens(reprinted) == first_tokens

    # Cash-up: two sales (not three), cash 1 000 + float 1 000 expected; 10.00 short declared.
    page.get_by_test_id("tab-cash-up").click()
    expect(page.get_by_test_id("totals-sales")).to_have_text("2")
    expect(page.locator('[data-testid="tender-row"][data-method="cash"]')).to_contain_text("1,000.00")
    expect(page.locator('[data-testid="tender-row"][data-method="card"]')).to_contain_text("500.00")
    expect(page.get_by_test_id("expected-cash")).to_contain_text("2,000.00")
    page.get_by_test_id("declared-cash-input").fill("1990")
    page.get_by_test_id("close-shift").click()
    z = page.get_by_test_id("zreport")
    expect(z).to_be_visible()
    expect(page.get_by_test_id("z-number")).to_have_text(re.compile(r"^Z-W\d+-ST-\d{8}-\d{4}$"))
    expect(z.get_by_test_id("totals-sales")).to_have_text("2")
    expect(z.get_by_test_id("totals-tendered")).to_contain_text("1,500.00")
    expect(z.get_by_test_id("declared-cash")).to_contain_text("1,990.00")
    expect(z.get_by_test_id("over-short")).to_contain_text("10.00")
    expect(z).to_contain_text("Short")
    expect(page.get_by_test_id("print-zreport")).to_be_visible()

    # With the shift closed, the screen asks to open a shift again.
    page.get_by_test_id("tab-sell").click()
    expect(page.get_by_test_id("open-shift")).to_be_visible()

    # A reprint outside any shift still names the utility (from its profile) and who sold.
    page.get_by_test_id("tab-reprint").click()
    page.get_by_test_id("reprint-number").fill(number)
    page.get_by_test_id("reprint").click()
    again = page.get_by_test_id("reprint-view")
    expect(again.get_by_test_id("receipt-utility")).to_contain_text("World utility")
    expect(again.get_by_test_id("receipt-sold-by")).not_to_have_text("—")
    expect(again).to_contain_text("Paid by")
