"""The engineering HTTP API: roles, second-person approval, key change on demand, diagnosis, history."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.assets.models import Meter
from backend.domain.auth import service as auth
from backend.domain.keys import service as keys
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.org.models import OrgUnit
from backend.settings import Settings
from tests.support.auth import login
from tests.support.engineering import load_new_key
from tests.support.world import World, build_world, virtual_meter

Client = AsyncTestClient[Any]


async def _demo_world(settings: Settings) -> tuple[World, str]:
    """A vendable world whose meter sits in the demo region DPL-CEN; plus an API client key."""
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    async with maker() as session:
        world = await build_world(session, settings)
    async with maker() as session, session.begin():
        region = (await session.execute(select(OrgUnit.id).where(OrgUnit.code == "DPL-CEN"))).scalar_one()
        await session.execute(update(Meter).where(Meter.id == world.meter_id).values(org_unit_id=region))
    await load_new_key(maker, settings, world, krn=2, base_date=world.base_date)
    async with maker() as session:
        _, key = await auth.create_api_client(
            session, SYSTEM, name="Bank", role="api_client", org_unit_id=None, rate_limit_per_minute=100
        )
    await engine.dispose()
    return world, key


async def _schedule(settings: Settings, world: World) -> None:
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        await keys.schedule_key_change(
            session, SYSTEM, world.meter_id, KeyChangeRequest(krn=2), reason="roll"
        )
    await engine.dispose()


async def test_engineering_api_roles_and_approval(demo_client: Client, settings: Settings) -> None:
    world, _ = await _demo_world(settings)
    url = f"/api/v1/meters/{world.meter_id}/engineering-tokens"
    cashier = await login(demo_client, "cashier")
    refused = await demo_client.post(url, json={"function": "clear_tamper", "reason": "x"}, headers=cashier)
    assert refused.status_code == 403

    eng = await login(demo_client, "engineer")
    made = await demo_client.post(
        url, json={"function": "max_power_limit", "value": 4000, "reason": "upgrade"}, headers=eng
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "issued" and body["tokens"][0]["display"].count(" ") == 4
    meter = virtual_meter(world)
    meter.enter(body["tokens"][0]["token"])
    assert meter.max_power_limit == 4000

    asked = await demo_client.post(
        url, json={"function": "clear_credit", "reason": "meter swap"}, headers=eng
    )
    assert asked.status_code == 201 and asked.json()["status"] == "pending_approval"
    request_id = asked.json()["id"]
    pending = await demo_client.get("/api/v1/engineering-tokens", params={"status": "pending_approval"})
    assert [i["id"] for i in pending.json()["items"]] == [request_id]
    own = await demo_client.post(f"/api/v1/engineering-tokens/{request_id}/approve", headers=eng)
    assert own.status_code == 403 and "cannot approve it yourself" in own.json()["detail"]

    auditor = await login(demo_client, "auditor")
    assert (
        await demo_client.post(f"/api/v1/engineering-tokens/{request_id}/approve", headers=auditor)
    ).status_code == 403
    history_as_auditor = await demo_client.get(f"/api/v1/meters/{world.meter_id}/tokens")
    assert history_as_auditor.status_code == 200 and history_as_auditor.json()["total"] == 1

    sup = await login(demo_client, "supervisor")
    approved = await demo_client.post(f"/api/v1/engineering-tokens/{request_id}/approve", headers=sup)
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"] and approved.json()["tokens"][0]["kind"] == "management"
    meter.enter(approved.json()["tokens"][0]["token"])

    listed = await demo_client.get(url)
    assert listed.json()["total"] == 2
    diagnosed = await demo_client.post(
        f"/api/v1/meters/{world.meter_id}/token-diagnosis",
        json={"token": body["tokens"][0]["token"]},
        headers=sup,
    )
    assert diagnosed.status_code == 200 and diagnosed.json()["verdict"] == "used"

    clerk = await login(demo_client, "clerk")
    assert (
        await demo_client.post(
            f"/api/v1/meters/{world.meter_id}/token-diagnosis", json={"token": "1"}, headers=clerk
        )
    ).status_code == 403
    assert (
        await demo_client.post(
            "/api/v1/key-change-campaigns",
            json={"name": "x", "filter": {"sgc": 1}, "new": {"krn": 2}},
            headers=clerk,
        )
    ).status_code == 403


async def test_key_change_on_demand_over_http(demo_client: Client, settings: Settings) -> None:
    world, key = await _demo_world(settings)
    bank = {"Authorization": f"Bearer {key}"}
    nothing = await demo_client.post(
        "/api/v1/key-changes/KC-1", json={"meter_number": world.meter_no}, headers=bank
    )
    assert nothing.status_code == 404 and "Nothing pending" in nothing.json()["detail"]
    await _schedule(settings, world)
    first = await demo_client.post(
        "/api/v1/key-changes/KC-1", json={"meter_number": world.meter_no}, headers=bank
    )
    assert first.status_code == 201, first.text
    again = await demo_client.post(
        "/api/v1/key-changes/KC-1", json={"meter_number": world.meter_no}, headers=bank
    )
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert [t["token"] for t in again.json()["tokens"]] == [t["token"] for t in first.json()["tokens"]]
    meter = virtual_meter(world)
    for t in first.json()["tokens"]:
        meter.enter(t["token"])
    assert meter.krn == 2
    auditor = await login(demo_client, "auditor")
    assert (
        await demo_client.post(
            "/api/v1/key-changes/KC-9", json={"meter_number": world.meter_no}, headers=auditor
        )
    ).status_code == 403


async def test_campaign_over_http(demo_client: Client, settings: Settings) -> None:
    world, _ = await _demo_world(settings)
    eng = await login(demo_client, "engineer")
    created = await demo_client.post(
        "/api/v1/key-change-campaigns",
        json={"name": "KRN 2", "filter": {"sgc": world.sgc}, "new": {"krn": 2}},
        headers=eng,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["meters_total"] == 1 and body["pending"] == 1 and body["status"] == "running"
    got = await demo_client.get(f"/api/v1/key-change-campaigns/{body['id']}")
    assert got.json()["pending"] == 1
    listed = await demo_client.get("/api/v1/key-change-campaigns")
    assert any(c["id"] == body["id"] for c in listed.json()["items"])
    cancelled = await demo_client.post(f"/api/v1/key-change-campaigns/{body['id']}/cancel", headers=eng)
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] == 1
