"""The cashier's shift over HTTP: open, sell inside it, cash-up, Z-report, who may see what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.auth import service as auth
from backend.settings import Settings
from tests.support.cashup import PASSWORD, staff_user
from tests.support.world import World, build_world, virtual_meter

Client = AsyncTestClient[Any]


@pytest.fixture
async def counter(settings: Settings) -> AsyncIterator[tuple[Client, World, str]]:
    """A vendable world with a cashier (cora), a supervisor over it (sam), an auditor (aud), a clerk
    (cleo), a supervisor of another utility (otto), and a bank's API key."""
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        world = await build_world(session, settings)
        other = await build_world(session, settings)
        await staff_user(
            session, settings, username="cora", org_unit_id=world.station_id, full_name="Cora Till"
        )
        for name, role, unit in (
            ("sam", "supervisor", world.org_unit_id),
            ("aud", "auditor", world.org_unit_id),
            ("cleo", "billing_clerk", world.org_unit_id),
            ("otto", "supervisor", other.org_unit_id),
        ):
            await staff_user(session, settings, username=name, org_unit_id=unit, roles=frozenset({role}))
        _, key = await auth.create_api_client(
            session, SYSTEM, name="Bank", role="api_client", org_unit_id=None, rate_limit_per_minute=100
        )
    await engine.dispose()
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client, world, key


async def _login(client: Client, username: str) -> dict[str, str]:
    client.cookies.clear()
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def _sale(world: World, amount: int, method: str = "cash", ref: str | None = None) -> dict[str, object]:
    return {
        "meter_number": world.meter_no,
        "amount": amount,
        "currency": "KES",
        "payment_method": method,
        "payment_reference": ref,
    }


async def test_cashier_sells_only_inside_a_shift_and_cashes_up(counter: tuple[Client, World, str]) -> None:
    client, world, _ = counter
    headers = await _login(client, "cora")
    refused = await client.post("/api/v1/purchases/till-0001", json=_sale(world, 100_000), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "no_open_shift"
    assert "Open your shift before selling" in refused.json()["detail"]
    # not remembered: the same reference goes through once the shift is open
    assert (await client.get("/api/v1/purchases/till-0001")).status_code == 404
    assert (await client.get("/api/v1/shifts/current")).status_code == 404

    opened = await client.post("/api/v1/shifts", json={"opening_float": 200_000}, headers=headers)
    assert opened.status_code == 201, opened.text
    shift = opened.json()
    assert shift["status"] == "open" and shift["expected_cash"] == 200_000 and shift["sales_count"] == 0
    assert shift["operator_name"] == "cora" and shift["timezone"] == "Africa/Nairobi"
    assert shift["station_name"] == "Station" and shift["utility_name"].startswith("World utility")
    twice = await client.post("/api/v1/shifts", json={"opening_float": 0}, headers=headers)
    assert twice.status_code == 409 and "already have an open shift" in twice.json()["detail"]

    first = await client.post("/api/v1/purchases/till-0001", json=_sale(world, 100_000), headers=headers)
    assert first.status_code == 201, first.text
    sold = first.json()
    virtual_meter(world).enter(sold["tokens"][0]["token"])
    card = await client.post(
        "/api/v1/purchases/till-0002", json=_sale(world, 60_000, "card", "CARD-7781"), headers=headers
    )
    assert card.status_code == 201, card.text
    mobile = await client.post(
        "/api/v1/purchases/till-0003", json=_sale(world, 40_000, "mobile_money", "QK12MM"), headers=headers
    )
    assert mobile.status_code == 201, mobile.text

    live = (await client.get("/api/v1/shifts/current")).json()
    assert live["sales_count"] == 3 and live["tendered_total"] == 200_000
    assert {t["payment_method"]: (t["count"], t["amount"]) for t in live["tenders"]} == {
        "cash": (1, 100_000),
        "card": (1, 60_000),
        "mobile_money": (1, 40_000),
    }
    assert live["energy_wh"] == sold["energy_wh"] + card.json()["energy_wh"] + mobile.json()["energy_wh"]
    assert live["expected_cash"] == 300_000 and live["declared_cash"] is None and live["over_short"] is None

    bad = await client.post("/api/v1/shifts/current/close", json={"declared_cash": -5}, headers=headers)
    assert bad.status_code == 400
    closed = await client.post(
        "/api/v1/shifts/current/close", json={"declared_cash": 301_000}, headers=headers
    )
    assert closed.status_code == 200, closed.text
    z = closed.json()
    assert z["status"] == "closed" and z["z_report_number"].startswith("Z-") and z["over_short"] == 1_000
    assert z["sales_count"] == 3 and z["expected_cash"] == 300_000 and z["declared_cash"] == 301_000
    again = await client.get(f"/api/v1/shifts/{z['id']}")
    assert again.status_code == 200 and again.json() == z

    # After the cash-up: a new sale is refused, a retry of a sale made in the shift still answers.
    after = await client.post("/api/v1/purchases/till-0004", json=_sale(world, 100_000), headers=headers)
    assert after.status_code == 422 and after.json()["code"] == "no_open_shift"
    retry = await client.post("/api/v1/purchases/till-0001", json=_sale(world, 100_000), headers=headers)
    assert retry.status_code == 200 and retry.json()["tokens"] == sold["tokens"]
    nothing = await client.post("/api/v1/shifts/current/close", json={"declared_cash": 0}, headers=headers)
    assert nothing.status_code == 404 and "no open shift" in nothing.json()["detail"]


async def test_api_clients_sell_without_a_shift(counter: tuple[Client, World, str]) -> None:
    client, world, key = counter
    response = await client.post(
        "/api/v1/purchases/BANK-1",
        json=_sale(world, 100_000, "bank", "FT1"),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text


async def test_who_may_see_shifts(counter: tuple[Client, World, str]) -> None:
    client, _, _ = counter
    headers = await _login(client, "cora")
    await client.post("/api/v1/shifts", json={"opening_float": 0}, headers=headers)
    z = (await client.post("/api/v1/shifts/current/close", json={"declared_cash": 0}, headers=headers)).json()
    assert (await client.get("/api/v1/shifts")).status_code == 403  # cashiers see their own only

    for reader in ("sam", "aud"):
        await _login(client, reader)
        listed = await client.get("/api/v1/shifts", params={"status": "closed"})
        assert listed.status_code == 200, listed.text
        assert (
            listed.json()["total"] == 1
            and listed.json()["items"][0]["z_report_number"] == z["z_report_number"]
        )
        assert (await client.get(f"/api/v1/shifts/{z['id']}")).status_code == 200
    assert (await client.get("/api/v1/shifts", params={"status": "open"})).json()["total"] == 0

    auditor = await _login(client, "aud")
    assert (await client.post("/api/v1/shifts", json={}, headers=auditor)).status_code == 403
    clerk = await _login(client, "cleo")
    assert (await client.post("/api/v1/shifts", json={}, headers=clerk)).status_code == 403
    assert (await client.get(f"/api/v1/shifts/{z['id']}")).status_code == 403

    await _login(client, "otto")  # a supervisor of another utility: out of scope is 404
    assert (await client.get(f"/api/v1/shifts/{z['id']}")).status_code == 404
    assert (await client.get("/api/v1/shifts")).json() == {"items": [], "total": 0}
