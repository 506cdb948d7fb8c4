"""Network services on SQLite and PostgreSQL: tree rules, org scope, supply points, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.network import service
from backend.domain.network.models import NetworkNode
from backend.settings import Settings
from tests.support.customers import actor_at, sessions, unit_id
from tests.support.demo_cache import seed_demo


async def test_demo_network_has_the_promised_shape(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        admin = await actor_at(session, "DPL")
        nodes, total = await service.list_nodes(session, admin, limit=200)
        kinds = [n.kind for n in nodes]
        assert total == 11 and kinds.count("substation") == 2 and kinds.count("feeder") == 3
        points, count = await service.list_supply_points(session, admin, limit=200)
        assert count == 40 and all(p.transformer_id for p in points)
        roots = await service.tree(session, admin)
        assert sorted(r.node.code for r in roots) == ["SS-KRB", "SS-NBW"]
        assert sum(tx.supply_points for r in roots for f in r.children for tx in f.children) == 40


async def test_kind_rules_and_paths(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        engineer = await actor_at(session, "DPL", "engineer")
        station = await unit_id(session, "DPL-CEN-01")
        sub = await service.create_node(
            session,
            engineer,
            kind="substation",
            code="ss-t1",
            name="Test",
            parent_id=None,
            org_unit_id=station,
        )
        feeder = await service.create_node(
            session, engineer, kind="feeder", code="FD-T1", name="F", parent_id=sub.id, org_unit_id=station
        )
        assert sub.code == "SS-T1" and feeder.path == f"/{sub.id}/{feeder.id}/"
        with pytest.raises(InvalidInput, match="A transformer goes under a feeder, not under a substation"):
            await service.create_node(
                session,
                engineer,
                kind="transformer",
                code="TX-T1",
                name="T",
                parent_id=sub.id,
                org_unit_id=station,
            )
        with pytest.raises(Conflict, match="already exists"):
            await service.create_node(
                session,
                engineer,
                kind="substation",
                code="SS-T1",
                name="Dup",
                parent_id=None,
                org_unit_id=station,
            )
        with pytest.raises(InvalidInput, match="not to the utility"):
            await service.create_node(
                session,
                engineer,
                kind="substation",
                code="SS-T2",
                name="U",
                parent_id=None,
                org_unit_id=await unit_id(session, "DPL"),
            )


async def test_scope_hides_other_stations(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        st1 = await actor_at(session, "DPL-CEN-01", "cashier")
        st2 = await actor_at(session, "DPL-CEN-02", "engineer")
        region = await actor_at(session, "DPL-CEN", "supervisor")
        _, in_st1 = await service.list_supply_points(session, st1, limit=200)
        _, in_st2 = await service.list_supply_points(session, st2, limit=200)
        _, in_region = await service.list_supply_points(session, region, limit=200)
        assert in_st1 + in_st2 == in_region == 40 and in_st1 > 0 and in_st2 > 0
        foreign = (await service.list_supply_points(session, st1, limit=1))[0][0]
        session.expunge(foreign)
        await session.rollback()
        with pytest.raises(NotFound):
            await service.get_supply_point(session, st2, foreign.id)
        await session.rollback()
        with pytest.raises(NotFound):
            await service.update_supply_point(session, st2, foreign.id, address="Elsewhere 1")
        # station 02 sees only its own feeder's branch; the substation above sits in the region
        roots = await service.tree(session, st2)
        assert [r.node.kind for r in roots] == ["feeder"]


async def test_supply_point_validation_update_and_audit(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        engineer = await actor_at(session, "DPL", "engineer")
        tx_id, tx_unit = (
            await session.execute(
                select(NetworkNode.id, NetworkNode.org_unit_id).where(NetworkNode.code == "TX-0101")
            )
        ).one()
        feeder_id = (
            await session.execute(select(NetworkNode.id).where(NetworkNode.code == "FD-NBW-01"))
        ).scalar_one()
        await session.rollback()
        with pytest.raises(InvalidInput, match="Latitude must be between -90 and 90"):
            await service.create_supply_point(
                session,
                engineer,
                code="SP-X",
                transformer_id=tx_id,
                address="A",
                latitude=Decimal(91),
                longitude=Decimal(36),
            )
        with pytest.raises(InvalidInput, match="supply points hang under a transformer"):
            await service.create_supply_point(
                session, engineer, code="SP-X", transformer_id=feeder_id, address="A"
            )
        point = await service.create_supply_point(
            session, engineer, code="sp-x", transformer_id=tx_id, address=" House 1, Muhoho Ave ", phases=3
        )
        assert point.org_unit_id == tx_unit and point.address == "House 1, Muhoho Ave"
        point_id = point.id
        await service.update_supply_point(
            session, engineer, point_id, latitude=Decimal("-1.3"), longitude=Decimal("36.8")
        )
        with pytest.raises(InvalidInput, match="both latitude and longitude"):
            await service.update_supply_point(session, engineer, point_id, longitude=None)
        await service.deactivate_supply_point(session, engineer, point_id, reason="demolished")
        events = (
            (
                await session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.entity_type == "supply_point", AuditEvent.entity_id == str(point_id))
                    .order_by(AuditEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        assert [e.action for e in events] == [
            "supply_point.create",
            "supply_point.update",
            "supply_point.deactivate",
        ]
        assert '"latitude":"-1.3"' in events[1].detail and '"before":{"latitude":null' in events[1].detail
        # a transformer still feeding supply points cannot be deactivated
        await session.rollback()
        session.expunge_all()
        with pytest.raises(Conflict, match="still feeds"):
            await service.update_node(session, engineer, tx_id, active=False)
