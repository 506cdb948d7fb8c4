"""Assets services on SQLite and PostgreSQL: scope, lifecycle, one meter per supply point, imports."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.demo import org_and_users
from backend.domain.actor import SYSTEM, Actor
from backend.domain.assets import service
from backend.domain.assets.models import Meter, MeterMovement
from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.settings import Settings
from tests.support.assets import actor_at, bad_check_digit, csv_file, db_session, drn, supply_point, unit

STS = {"sgc": 600999, "ti": 1, "krn": 1, "kt": 2, "ea": "07", "dkga": "04", "base_date": 2014}


@pytest.fixture
async def world(settings: Settings) -> dict[str, Any]:
    """Demo org and users, a warehouse and a crew in each station, a supply point in each station."""
    async with db_session(settings) as session:
        await org_and_users.seed(session, settings)
        out: dict[str, Any] = {}
        for station in ("DPL-CEN-01", "DPL-CEN-02"):
            where = await unit(session, station)
            out[f"wh-{station}"] = (
                await service.create_location(
                    session,
                    SYSTEM,
                    code=f"WH-{station}",
                    name="Store",
                    kind="warehouse",
                    org_unit_id=where.id,
                )
            ).id
            out[f"crew-{station}"] = (
                await service.create_location(
                    session, SYSTEM, code=f"CR-{station}", name="Crew", kind="crew", org_unit_id=where.id
                )
            ).id
            out[f"sp-{station}"] = await supply_point(session, f"SP-{station}", station)
        out["engineer"] = await actor_at(session, "DPL", "engineer", name="eng")
        out["station1"] = await actor_at(session, "DPL-CEN-01", "engineer", name="st1")
    return out


async def _new_meter(session: Any, actor: Actor, location_id: int, n: int, **extra: Any) -> int:
    view = await service.create_meter(
        session,
        actor,
        meter_no=drn(n),
        kind="sts_keypad",
        manufacturer="Hexing",
        model="HXE110",
        location_id=location_id,
        **{**STS, **extra},
    )
    return view.meter.id


async def test_register_meter_with_movement_and_audit(settings: Settings, world: dict[str, Any]) -> None:
    async with db_session(settings) as session:
        view = await service.create_meter(
            session,
            world["engineer"],
            meter_no=drn(42),
            kind="sts_keypad",
            manufacturer="Hexing",
            model="HXE110",
            location_id=world["wh-DPL-CEN-01"],
            **STS,
        )
        assert view.meter.iin == "600727" and view.meter.ken == 255 and view.meter.status == "in_stock"
        moves = (await session.execute(select(MeterMovement))).scalars().all()
        assert [(m.from_status, m.to_status, m.to_location_id) for m in moves] == [
            (None, "in_stock", world["wh-DPL-CEN-01"])
        ]
        event = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "meter.create"))
        ).scalar_one()
        assert drn(42) in event.detail and "600999" in event.detail
        await session.rollback()
        with pytest.raises(Conflict, match="already registered"):
            await _new_meter(session, world["engineer"], world["wh-DPL-CEN-01"], 42)
        with pytest.raises(InvalidInput, match="wrong check digit: expected"):
            await service.create_meter(
                session,
                world["engineer"],
                meter_no=bad_check_digit(drn(43)),
                kind="postpaid",
                manufacturer="X",
                model="Y",
                location_id=world["wh-DPL-CEN-01"],
            )
        with pytest.raises(InvalidInput, match="open warehouse"):
            await _new_meter(session, world["engineer"], world["crew-DPL-CEN-01"], 44)
        count = (await session.execute(select(func.count()).select_from(Meter))).scalar_one()
        assert count == 1


async def test_scope_hides_other_stations(settings: Settings, world: dict[str, Any]) -> None:
    async with db_session(settings) as session:
        mine = await _new_meter(session, world["engineer"], world["wh-DPL-CEN-01"], 1)
        other = await _new_meter(session, world["engineer"], world["wh-DPL-CEN-02"], 2)
        station = world["station1"]
        views, total = await service.list_meters(session, station)
        assert total == 1 and [v.meter.id for v in views] == [mine]
        with pytest.raises(NotFound, match=f"Meter {other} does not exist"):
            await service.get_meter(session, station, other)
        with pytest.raises(NotFound):
            await service.move_meter(
                session, station, other, to_status="issued", location_id=world["crew-DPL-CEN-02"]
            )
        with pytest.raises(NotFound, match="Stock location"):
            await _new_meter(session, station, world["wh-DPL-CEN-02"], 3)
        locations, count = await service.list_locations(session, station)
        assert count == 2 and {loc.code for loc, _ in locations} == {"WH-DPL-CEN-01", "CR-DPL-CEN-01"}
        _, everything = await service.list_meters(session, world["engineer"])
        assert everything == 2


async def test_full_lifecycle_and_history(settings: Settings, world: dict[str, Any]) -> None:
    actor = world["engineer"]
    async with db_session(settings) as session:
        meter_id = await _new_meter(session, actor, world["wh-DPL-CEN-01"], 7)
        with pytest.raises(InvalidInput, match="cannot become installed"):
            await service.move_meter(
                session, actor, meter_id, to_status="installed", supply_point_id=world["sp-DPL-CEN-01"]
            )
        await service.move_meter(
            session, actor, meter_id, to_status="issued", location_id=world["crew-DPL-CEN-01"]
        )
        view = await service.move_meter(
            session,
            actor,
            meter_id,
            to_status="installed",
            supply_point_code="sp-dpl-cen-01",
            note="new house",
        )
        assert view.meter.status == "installed" and view.meter.location_id is None
        assert view.supply_point is not None and view.supply_point.code == "SP-DPL-CEN-01"
        assert view.meter.installed_at is not None
        with pytest.raises(InvalidInput, match="Say where the removed meter goes"):
            await service.move_meter(session, actor, meter_id, to_status="removed")
        await service.move_meter(
            session, actor, meter_id, to_status="removed", location_id=world["crew-DPL-CEN-01"]
        )
        await service.move_meter(session, actor, meter_id, to_status="faulty")
        with pytest.raises(InvalidInput, match="cannot become in stock; it can become scrapped"):
            await service.move_meter(
                session, actor, meter_id, to_status="in_stock", location_id=world["wh-DPL-CEN-01"]
            )
        view = await service.move_meter(session, actor, meter_id, to_status="scrapped", note="burnt")
        assert view.meter.status == "scrapped" and view.meter.location_id is None
        history, total = await service.meter_history(session, actor, meter_id)
        assert total == 6
        assert [h.movement.to_status for h in history] == [
            "scrapped",
            "faulty",
            "removed",
            "installed",
            "issued",
            "in_stock",
        ]
        installed = history[3]
        assert installed.supply_point is not None and installed.movement.note == "new house"
        assert history[2].supply_point is not None  # removal names the supply point it left
        actions = (
            await session.execute(
                select(AuditEvent.action).where(AuditEvent.entity_type == "meter").order_by(AuditEvent.seq)
            )
        ).scalars()
        assert list(actions) == [
            "meter.create",
            "meter.issued",
            "meter.installed",
            "meter.removed",
            "meter.faulty",
            "meter.scrapped",
        ]


async def test_one_installed_meter_per_supply_point(settings: Settings, world: dict[str, Any]) -> None:
    actor = world["engineer"]
    async with db_session(settings) as session:
        first = await _new_meter(session, actor, world["wh-DPL-CEN-01"], 11)
        second = await _new_meter(session, actor, world["wh-DPL-CEN-01"], 12)
        for meter_id in (first, second):
            await service.move_meter(
                session, actor, meter_id, to_status="issued", location_id=world["crew-DPL-CEN-01"]
            )
        await service.move_meter(
            session, actor, first, to_status="installed", supply_point_id=world["sp-DPL-CEN-01"]
        )
        with pytest.raises(Conflict) as err:
            await service.move_meter(
                session, actor, second, to_status="installed", supply_point_id=world["sp-DPL-CEN-01"]
            )
        assert (
            err.value.detail
            == f"Supply point SP-DPL-CEN-01 already has meter {drn(11)} installed; remove it first."
        )
        three = await supply_point(session, "SP-3PH", "DPL-CEN-01", phases=3)
        with pytest.raises(InvalidInput, match="3-phase but meter"):
            await service.move_meter(session, actor, second, to_status="installed", supply_point_id=three)
        await service.move_meter(
            session, actor, first, to_status="removed", location_id=world["wh-DPL-CEN-01"]
        )
        view = await service.move_meter(
            session, actor, second, to_status="installed", supply_point_id=world["sp-DPL-CEN-01"]
        )
        assert view.meter.status == "installed"


async def test_concurrent_installs_at_one_supply_point(settings: Settings, world: dict[str, Any]) -> None:
    actor = world["engineer"]
    async with db_session(settings) as session:
        ids = [await _new_meter(session, actor, world["wh-DPL-CEN-01"], 20 + i) for i in range(4)]
        for meter_id in ids:
            await service.move_meter(
                session, actor, meter_id, to_status="issued", location_id=world["crew-DPL-CEN-01"]
            )

    async def install(meter_id: int) -> str:
        async with db_session(settings) as session:
            try:
                await service.move_meter(
                    session, actor, meter_id, to_status="installed", supply_point_id=world["sp-DPL-CEN-01"]
                )
                return "ok"
            except Conflict as exc:
                return exc.detail

    results = await asyncio.gather(*(install(i) for i in ids))
    assert results.count("ok") == 1, results
    assert all("installed" in r for r in results if r != "ok")
    async with db_session(settings) as session:
        installed = (
            await session.execute(
                select(func.count()).where(
                    Meter.status == "installed", Meter.supply_point_id == world["sp-DPL-CEN-01"]
                )
            )
        ).scalar_one()
        assert installed == 1


async def test_update_refuses_key_data(settings: Settings, world: dict[str, Any]) -> None:
    actor = world["engineer"]
    async with db_session(settings) as session:
        meter_id = await _new_meter(session, actor, world["wh-DPL-CEN-01"], 30)
        with pytest.raises(
            InvalidInput, match=r"SGC cannot be changed by editing the meter.*meter key change"
        ):
            await service.update_meter(session, actor, meter_id, {"sgc": 123456, "model": "Z"})
        with pytest.raises(InvalidInput, match="EA cannot be changed"):
            await service.update_meter(session, actor, meter_id, {"ea": "11"})
        view = await service.update_meter(session, actor, meter_id, {"model": "HXE120", "serial_no": "S-1"})
        assert view.meter.model == "HXE120" and view.meter.serial_no == "S-1" and view.meter.sgc == 600999
        event = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "meter.update"))
        ).scalar_one()
        assert '"before":{"model":"HXE110","serial_no":null}' in event.detail.replace(" ", "")


async def test_import_5000_lines_all_at_once(settings: Settings, world: dict[str, Any]) -> None:
    numbers = [drn(100_000 + i, "07") for i in range(5000)]
    async with db_session(settings) as session:
        started = time.perf_counter()
        count, location = await service.import_meters(
            session, world["engineer"], csv_file(numbers), location_code="wh-dpl-cen-01", source="big.csv"
        )
        elapsed = time.perf_counter() - started
        assert count == 5000 and location.code == "WH-DPL-CEN-01"
        assert elapsed < 30, f"import took {elapsed:.1f}s"
        meters = (await session.execute(select(func.count()).select_from(Meter))).scalar_one()
        moves = (
            await session.execute(select(func.count()).where(MeterMovement.to_status == "in_stock"))
        ).scalar_one()
        audits = (
            (await session.execute(select(AuditEvent.detail).where(AuditEvent.action == "meter.import")))
            .scalars()
            .all()
        )
        assert meters == 5000 and moves == 5000 and len(audits) == 1 and '"count":5000' in audits[0]


async def test_import_is_all_or_nothing(settings: Settings, world: dict[str, Any]) -> None:
    actor = world["engineer"]
    async with db_session(settings) as session:
        existing = await _new_meter(session, actor, world["wh-DPL-CEN-01"], 500)
        assert existing
        numbers = [drn(600 + i) for i in range(50)]
        numbers[10] = bad_check_digit(numbers[10])
        numbers[20] = drn(500)  # already registered
        numbers[30] = numbers[29]  # duplicate within the file
        with pytest.raises(service.ImportRejected) as err:
            await service.import_meters(session, actor, csv_file(numbers), location_id=world["wh-DPL-CEN-01"])
        errors = err.value.extra["errors"]
        assert [(e["line"], e["column"]) for e in errors] == [
            (12, "meter_no"),
            (22, "meter_no"),
            (32, "meter_no"),
        ]
        assert "already registered" in errors[1]["message"] and "also on line 31" in errors[2]["message"]
        assert "Nothing was imported: the file has 3 problem(s)" in err.value.detail
        count = (await session.execute(select(func.count()).select_from(Meter))).scalar_one()
        assert count == 1
        await session.rollback()
        with pytest.raises(InvalidInput, match="not one"):
            await service.import_meters(
                session, actor, csv_file([drn(900)]), location_id=world["crew-DPL-CEN-01"]
            )
