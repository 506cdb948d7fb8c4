"""The vendor API as a bank's integration sees it (bearer key, caller references, outcomes)."""

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
from tests.support.world import World, build_world, virtual_meter

Client = AsyncTestClient[Any]


@pytest.fixture
async def bank(settings: Settings) -> AsyncIterator[tuple[Client, World, dict[str, str]]]:
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        world = await build_world(session, settings, debt_minor=5_000)
        _, key = await auth.create_api_client(
            session, SYSTEM, name="First Bank", role="api_client", org_unit_id=None, rate_limit_per_minute=100
        )
        _, slow_key = await auth.create_api_client(
            session, SYSTEM, name="Slow ATM", role="api_client", org_unit_id=None, rate_limit_per_minute=2
        )
    await engine.dispose()
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client, world, {"Authorization": f"Bearer {key}", "X-Slow": f"Bearer {slow_key}"}


def _body(world: World, amount: int = 50_000) -> dict[str, object]:
    return {
        "meter_number": world.meter_no,
        "amount": amount,
        "currency": "KES",
        "payment_method": "bank",
        "payment_reference": "FT26333XYZ",
    }


async def test_purchase_retry_and_conflict(bank: tuple[Client, World, dict[str, str]]) -> None:
    client, world, keys = bank
    auth_header = {"Authorization": keys["Authorization"]}
    first = await client.post("/api/v1/purchases/BANK-0001", json=_body(world), headers=auth_header)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "success" and body["receipt_number"].startswith("API-")
    assert body["debt_recovered"] == 5_000 and body["debt_remaining"] == 0
    [token] = body["tokens"]
    assert len(token["token"]) == 20 and token["display"].count(" ") == 4
    assert {line["kind"] for line in body["lines"]} >= {"debt", "fixed", "energy"}
    virtual_meter(world).enter(token["token"])

    again = await client.post("/api/v1/purchases/BANK-0001", json=_body(world), headers=auth_header)
    assert again.status_code == 200 and again.json()["tokens"] == body["tokens"] and again.json()["replayed"]
    asked = await client.post("/api/v1/purchases/BANK-0001/retry", headers=auth_header)
    assert asked.status_code == 200 and asked.json()["receipt_number"] == body["receipt_number"]
    clash = await client.post("/api/v1/purchases/BANK-0001", json=_body(world, 60_000), headers=auth_header)
    assert clash.status_code == 409 and "different request" in clash.json()["detail"]
    unknown = await client.get("/api/v1/purchases/BANK-9999", headers=auth_header)
    assert unknown.status_code == 404 and "safe to submit it again" in unknown.json()["detail"]


async def test_a_refused_purchase_says_failed_and_why(bank: tuple[Client, World, dict[str, str]]) -> None:
    client, world, keys = bank
    auth_header = {"Authorization": keys["Authorization"]}
    refused = await client.post("/api/v1/purchases/BANK-small", json=_body(world, 100), headers=auth_header)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["outcome"] == "failed" and problem["code"] == "amount_refused"
    assert "smallest purchase" in problem["detail"]
    status = await client.get("/api/v1/purchases/BANK-small", headers=auth_header)
    assert status.status_code == 422 and status.json()["code"] == "amount_refused"


async def test_lookup_and_trial_issue_nothing(bank: tuple[Client, World, dict[str, str]]) -> None:
    client, world, keys = bank
    auth_header = {"Authorization": keys["Authorization"]}
    found = await client.post(
        "/api/v1/meter-lookups/L1", json={"meter_number": world.meter_no}, headers=auth_header
    )
    assert found.status_code == 200
    info = found.json()
    assert info["can_vend"] and info["customer_name"].startswith("Wanjiku") and info["debt"] == 5_000
    assert info["minimum_amount"] == 5000
    nobody = await client.post(
        "/api/v1/meter-lookups/L2", json={"meter_number": "04000000005"}, headers=auth_header
    )
    assert nobody.json()["can_vend"] is False and "No meter numbered" in nobody.json()["reason"]
    trial = await client.post("/api/v1/purchases/T1/trial", json=_body(world), headers=auth_header)
    assert trial.status_code == 200 and trial.json()["energy_wh"] > 0
    assert (await client.get("/api/v1/purchases/T1", headers=auth_header)).status_code == 404


async def test_bad_input_is_a_clear_4xx(bank: tuple[Client, World, dict[str, str]]) -> None:
    client, world, keys = bank
    auth_header = {"Authorization": keys["Authorization"]}
    wrong_currency = await client.post(
        "/api/v1/purchases/X1", json={**_body(world), "currency": "USD"}, headers=auth_header
    )
    assert wrong_currency.status_code == 422 and "sells in KES" in wrong_currency.json()["detail"]
    negative = await client.post(
        "/api/v1/purchases/X2", json={**_body(world), "amount": -5}, headers=auth_header
    )
    assert negative.status_code == 400 and "amount" in negative.json()["detail"]
    bad_ref = await client.post("/api/v1/purchases/has%20space", json=_body(world), headers=auth_header)
    assert bad_ref.status_code == 400


async def test_each_client_has_its_own_rate_limit(bank: tuple[Client, World, dict[str, str]]) -> None:
    client, world, keys = bank
    slow = {"Authorization": keys["X-Slow"]}
    for i in range(2):
        ok = await client.post(
            f"/api/v1/meter-lookups/S{i}", json={"meter_number": world.meter_no}, headers=slow
        )
        assert ok.status_code == 200
    limited = await client.post(
        "/api/v1/meter-lookups/S3", json={"meter_number": world.meter_no}, headers=slow
    )
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    other = await client.post(
        "/api/v1/meter-lookups/S4",
        json={"meter_number": world.meter_no},
        headers={"Authorization": keys["Authorization"]},
    )
    assert other.status_code == 200


async def test_confirm_reprint_and_reversal_become_a_supervisors_credit_note(
    bank: tuple[Client, World, dict[str, str]], settings: Settings
) -> None:
    from backend.domain.auth.policy import policy_from_settings
    from backend.domain.ledger import service as ledger
    from tests.support.auth import login

    client, world, keys = bank
    auth_header = {"Authorization": keys["Authorization"]}
    sale = (await client.post("/api/v1/purchases/B-77", json=_body(world), headers=auth_header)).json()
    confirmed = await client.post("/api/v1/purchases/B-77/confirmations/C-1", headers=auth_header)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"]
    assert (
        await client.post("/api/v1/purchases/B-77/confirmations/C-1", headers=auth_header)
    ).status_code == 200
    reprinted = await client.post(
        "/api/v1/reprints/R-1", json={"purchase_reference": "B-77"}, headers=auth_header
    )
    assert reprinted.status_code == 200 and reprinted.json()["tokens"] == sale["tokens"]
    neither = await client.post("/api/v1/reprints/R-2", json={}, headers=auth_header)
    assert neither.status_code == 422 and "reference or its receipt number" in neither.json()["detail"]

    reversal = await client.post(
        "/api/v1/purchases/B-77/reversals/V-1", json={"reason": "customer disputes"}, headers=auth_header
    )
    assert reversal.status_code == 202
    assert (
        reversal.json()["status"] == "pending_approval"
        and "cannot be taken back" in reversal.json()["detail"]
    )
    twice = await client.post("/api/v1/purchases/B-77/reversals/V-2", json={}, headers=auth_header)
    assert twice.status_code == 409
    request_id = reversal.json()["request_id"]
    assert (
        await client.post(f"/api/v1/credit-notes/{request_id}/approve", headers=auth_header)
    ).status_code == 403

    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        await auth.create_user(
            session,
            policy_from_settings(settings),
            SYSTEM,
            username="sup1",
            full_name="Sam Supervisor",
            password="a-long-password",
            roles={"supervisor"},
            org_unit_id=world.org_unit_id,
        )
    await engine.dispose()
    headers = await login(client, "sup1", "a-long-password")
    pending = (await client.get("/api/v1/credit-notes")).json()
    assert [item["id"] for item in pending["items"]] == [request_id]
    approved = await client.post(f"/api/v1/credit-notes/{request_id}/approve", headers=headers)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = await client.post(f"/api/v1/credit-notes/{request_id}/approve", headers=headers)
    assert again.status_code == 409
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session, session.begin():
        balance = await ledger.trial_balance(session)
        assert sum(balance.values()) == 0
        assert balance.get(("energy_revenue", "KES"), 0) == 0  # the sale's revenue was corrected
        assert await ledger.subledger_mismatches(session) == []
    await engine.dispose()
    # the token stays issued: it is still what a reprint shows
    assert (
        await client.post("/api/v1/reprints/R-3", json={"purchase_reference": "B-77"}, headers=auth_header)
    ).json()["tokens"] == sale["tokens"]
