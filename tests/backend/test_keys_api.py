"""Vending keys and meter key changes over the API: roles, scope, validation, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, NotFound
from backend.domain.keys import service
from backend.domain.keys.rules import KeyChangeRequest
from backend.settings import Settings
from tests.support.assets import actor_at
from tests.support.auth import login
from tests.support.keys import MeterSpec, db_session, make_meter, org_unit_id

Client = AsyncTestClient[Any]


async def _meter(settings: Settings, n: int, unit: str = "DPL-CEN-01", **spec: Any) -> int:
    async with db_session(settings) as session:
        meter = await make_meter(session, await org_unit_id(session, unit), MeterSpec(n, **spec))
        return meter.id


async def test_vending_keys_list_without_material_and_roles(demo_client: Client) -> None:
    for user in ("admin", "engineer", "auditor"):
        await login(demo_client, user)
        response = await demo_client.get("/api/v1/vending-keys", params={"sgc": 123456})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == 2 and [k["krn"] for k in body["items"]] == [1, 2]
        assert set(body["items"][0]) == {
            "id",
            "sgc",
            "krn",
            "kt",
            "dkga",
            "base_date",
            "label",
            "expires_at",
            "status",
            "master_key_id",
            "created_at",
        }
    for user in ("cashier", "supervisor", "clerk", "agent"):
        await login(demo_client, user)
        assert (await demo_client.get("/api/v1/vending-keys")).status_code == 403


async def test_retire_is_for_admins_and_audited(demo_client: Client, settings: Settings) -> None:
    headers = await login(demo_client, "admin")
    key = (await demo_client.get("/api/v1/vending-keys", params={"sgc": 600999})).json()["items"][0]
    engineer = await login(demo_client, "engineer")
    refused = await demo_client.post(f"/api/v1/vending-keys/{key['id']}/retire", headers=engineer)
    assert refused.status_code == 403
    headers = await login(demo_client, "admin")
    done = await demo_client.post(f"/api/v1/vending-keys/{key['id']}/retire", headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "retired"
    again = await demo_client.post(f"/api/v1/vending-keys/{key['id']}/retire", headers=headers)
    assert again.status_code == 409
    missing = await demo_client.post("/api/v1/vending-keys/999999/retire", headers=headers)
    assert missing.status_code == 404
    retired = await demo_client.get("/api/v1/vending-keys", params={"status": "retired"})
    assert retired.json()["total"] == 1
    async with db_session(settings) as session:
        event = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "vending_key.retire"))
        ).scalar_one()
    assert '"after":{"status":"retired"}' in event.detail.replace(" ", "")


async def test_schedule_list_and_cancel_a_key_change(demo_client: Client, settings: Settings) -> None:
    meter_id = await _meter(settings, 90001)
    path = f"/api/v1/meters/{meter_id}/key-changes"
    for user in ("cashier", "auditor", "supervisor"):
        headers = await login(demo_client, user)
        refused = await demo_client.post(path, json={"krn": 2, "reason": "x"}, headers=headers)
        assert refused.status_code == 403
    headers = await login(demo_client, "engineer")
    nothing = await demo_client.post(path, json={"krn": 1, "reason": "no-op"}, headers=headers)
    assert nothing.status_code == 422 and "Nothing changes" in nothing.json()["detail"]
    no_key = await demo_client.post(path, json={"krn": 3, "reason": "x"}, headers=headers)
    assert (
        no_key.status_code == 422
        and "No vending key is loaded for SGC 123456 KRN 3" in no_key.json()["detail"]
    )
    wrong_base = await demo_client.post(path, json={"krn": 2, "reason": "x"}, headers=headers)
    assert wrong_base.status_code == 422 and "base date 2014" in wrong_base.json()["detail"]
    bad = await demo_client.post(path, json={"krn": 12, "reason": "x"}, headers=headers)
    assert bad.status_code == 400
    missing = await demo_client.post(
        "/api/v1/meters/999999/key-changes",
        json={"krn": 2, "base_date": 2014, "reason": "x"},
        headers=headers,
    )
    assert missing.status_code == 404

    created = await demo_client.post(
        path, json={"krn": 2, "base_date": 2014, "reason": "2014 TID rollover"}, headers=headers
    )
    assert created.status_code == 201, created.text
    change = created.json()
    assert change["status"] == "pending" and change["rollover"] is True
    assert change["old"] == {"sgc": 123456, "ti": 1, "krn": 1, "kt": 2, "base_date": 1993, "ken": 255}
    assert change["new"] == {"sgc": 123456, "ti": 1, "krn": 2, "kt": 2, "base_date": 2014, "ken": 255}
    assert change["created_by"] == "engineer"
    twice = await demo_client.post(path, json={"ti": 5, "reason": "another"}, headers=headers)
    assert twice.status_code == 409 and "already has a pending key change" in twice.json()["detail"]

    await login(demo_client, "auditor")
    history = (await demo_client.get(path)).json()
    assert history["total"] == 1 and history["items"][0]["id"] == change["id"]
    pending = (
        await demo_client.get(
            "/api/v1/key-changes", params={"status": "pending", "sgc": 123456, "base_date": 2014}
        )
    ).json()
    # the demo's key change campaign has pending changes on SGC 123456 too: look for this meter's
    mine = [item for item in pending["items"] if item["meter_no"] == MeterSpec(90001).drn]
    assert len(mine) == 1 and pending["total"] >= 1
    assert (await demo_client.get("/api/v1/key-changes", params={"krn": 7})).json()["total"] == 0
    await login(demo_client, "cashier")
    assert (await demo_client.get("/api/v1/key-changes")).status_code == 403

    headers = await login(demo_client, "engineer")
    cancelled = await demo_client.post(f"/api/v1/key-changes/{change['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await demo_client.post(f"/api/v1/key-changes/{change['id']}/cancel", headers=headers)
    assert again.status_code == 409
    still_pending = (await demo_client.get("/api/v1/key-changes", params={"status": "pending"})).json()[
        "items"
    ]
    assert all(item["id"] != change["id"] for item in still_pending)
    # after cancelling, a new change may be scheduled
    renewed = await demo_client.post(path, json={"ti": 5, "reason": "tariff index move"}, headers=headers)
    assert renewed.status_code == 201 and renewed.json()["rollover"] is False
    async with db_session(settings) as session:
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.entity_type == "meter_key_change")
                    .order_by(AuditEvent.seq)
                )
            )
            .scalars()
            .all()
        )
    # after the demo campaign's 12 schedules come this test's: schedule, cancel, schedule again
    assert actions[-3:] == ["key_change.schedule", "key_change.cancel", "key_change.schedule"]


async def test_meters_outside_the_actors_scope_are_not_found(demo_client: Client, settings: Settings) -> None:
    meter_id = await _meter(settings, 90002, unit="DPL-CEN-02")
    async with db_session(settings) as session:
        station_one = await actor_at(session, "DPL-CEN-01", "engineer")
        with pytest.raises(NotFound):
            await service.schedule_key_change(
                session, station_one, meter_id, KeyChangeRequest(krn=2, base_date=2014), reason="x"
            )
        rows, _total = await service.list_key_changes(session, station_one)
        assert all(change.meter_id != meter_id for change, _meter_no in rows)
        region = await actor_at(session, "DPL-CEN", "engineer")
        change = await service.schedule_key_change(
            session, region, meter_id, KeyChangeRequest(krn=2, base_date=2014), reason="x"
        )
        with pytest.raises(NotFound):
            await service.cancel_key_change(session, station_one, change.id)


async def test_concurrent_schedules_leave_one_pending_change(demo_client: Client, settings: Settings) -> None:
    meter_id = await _meter(settings, 90003)

    async def attempt(ti: int) -> str:
        async with db_session(settings) as session:
            actor = await actor_at(session, "DPL", "engineer")
            try:
                await service.schedule_key_change(
                    session, actor, meter_id, KeyChangeRequest(ti=ti), reason=f"ti {ti}"
                )
            except Conflict:
                return "conflict"
            return "ok"

    results = await asyncio.gather(*(attempt(ti) for ti in (2, 3, 4, 5)))
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    async with db_session(settings) as session:
        _rows, total = await service.list_key_changes(
            session, await actor_at(session, "DPL", "auditor"), meter_id=meter_id, status="pending"
        )
    assert total == 1
