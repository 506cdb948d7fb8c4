"""Engineering tokens: every function accepted by a virtual meter, second-person approval, TIDs,
no ledger postings, key change first, key change tokens on demand (idempotent)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import sts
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.keys import service as keys
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.ledger.models import LedgerTransaction
from backend.domain.vending import engineering
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.support.engineering import approve, ask, digits, engine, load_new_key, staff
from tests.support.world import build_world, virtual_meter


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    db = create_engine(settings)
    yield create_sessionmaker(db)
    await db.dispose()


async def test_immediate_functions_are_accepted_by_the_meter(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    eng = staff(world, "engineer")
    meter = virtual_meter(world)
    meter.tamper = True
    meter.mfr_code = 4  # the world meters are made by manufacturer 04

    power = await ask(maker, settings, eng, world.meter_id, "max_power_limit", value=5000)
    tamper = await ask(maker, settings, eng, world.meter_id, "clear_tamper")
    unbalance = await ask(maker, settings, eng, world.meter_id, "max_phase_unbalance", value=2000)
    test = await ask(maker, settings, eng, world.meter_id, "test", value=1, mfr_code=4)
    for row in (power, tamper, unbalance, test):
        assert row.status == "issued" and len(digits(row)) == 1

    meter.enter(digits(power)[0])
    assert meter.max_power_limit == 5000
    meter.enter(digits(tamper)[0])
    assert meter.tamper is False
    meter.enter(digits(unbalance)[0])
    assert meter.max_phase_power_unbalance == 2000
    meter.enter(digits(test)[0])
    assert meter.last_test is not None and meter.last_test.control == 1

    tids = [engineering.tokens_of(r)[0]["tid"] for r in (power, tamper, unbalance)]
    assert tids == sorted(tids) and len(set(tids)) == 3
    async with maker() as session, session.begin():
        from backend.domain.assets.models import Meter

        stored = await session.get(Meter, world.meter_id)
        assert stored is not None and stored.last_tid == tids[-1]


async def test_clear_credit_needs_a_second_person(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    async with maker() as session:
        sale = await vending.purchase(
            session,
            settings,
            engine(session, settings),
            world.cashier,
            client_ref="S1",
            request=vending.PurchaseRequest(
                meter_number=world.meter_no, amount_minor=100_000, currency="KES", payment_method="cash"
            ),
        )
    meter = virtual_meter(world)
    for t in sale.tokens:
        meter.enter(t.token)
    assert meter.credit[0] > 0
    requester = staff(world, "engineer")
    row = await ask(maker, settings, requester, world.meter_id, "clear_credit", reason="meter swap")
    assert row.status == "pending_approval" and digits(row) == []

    with pytest.raises(PermissionDenied, match="cannot approve it yourself"):
        await approve(maker, settings, requester, row.id)
    with pytest.raises(PermissionDenied):
        await approve(maker, settings, staff(world, "cashier"), row.id)
    outsider = staff(None, "engineer")
    other = await build_world_in(maker, settings)
    with pytest.raises(NotFound):
        await approve(maker, settings, staff(other, "engineer"), row.id)

    done = await approve(maker, settings, staff(world, "supervisor", "sup1"), row.id)
    assert done.status == "issued" and done.decided_by == "sup1"
    meter.enter(digits(done)[0])
    assert all(v == 0 for v in meter.credit.values())
    with pytest.raises(Conflict):
        await approve(maker, settings, outsider, row.id)

    async with maker() as session, session.begin():
        actions = list(
            (
                await session.execute(
                    select(AuditEvent.action).where(
                        AuditEvent.entity_type == "engineering_token", AuditEvent.entity_id == str(row.id)
                    )
                )
            ).scalars()
        )
    assert actions.count("engineering_token.request") == 1
    assert actions.count("engineering_token.approve") == 1
    assert actions.count("engineering_token.issue") == 1


async def build_world_in(maker: async_sessionmaker[AsyncSession], settings: Settings):  # type: ignore[no-untyped-def]
    async with maker() as session:
        return await build_world(session, settings)


async def test_free_issue_and_credit_transfer_post_nothing_to_the_ledger(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    async with maker() as session:
        old = await build_world(session, settings)
    async with maker() as session, session.begin():
        ledger_before = (
            await session.execute(select(func.count()).select_from(LedgerTransaction))
        ).scalar_one()
    everywhere = staff(None, "engineer")
    free = await ask(
        maker, settings, everywhere, world.meter_id, "free_issue", units_wh=5_000, reason="goodwill"
    )
    transfer = await ask(
        maker,
        settings,
        everywhere,
        world.meter_id,
        "credit_transfer",
        units_wh=12_300,
        from_meter_id=old.meter_id,
        reason="meter replaced; old display showed 12.3 kWh",
    )
    assert free.status == transfer.status == "pending_approval"
    approver = staff(None, "admin")
    free = await approve(maker, settings, approver, free.id)
    transfer = await approve(maker, settings, approver, transfer.id)
    meter = virtual_meter(world)
    meter.enter(digits(free)[0])
    assert meter.credit[0] == 50
    meter.enter(digits(transfer)[0])
    assert meter.credit[0] == 50 + 123
    assert transfer.from_meter_id == old.meter_id and transfer.units_wh == 12_300
    with pytest.raises(sts.AuthenticationError):
        virtual_meter(old).enter(digits(transfer)[0])
    async with maker() as session, session.begin():
        ledger_after = (
            await session.execute(select(func.count()).select_from(LedgerTransaction))
        ).scalar_one()
    assert ledger_after == ledger_before

    with pytest.raises(InvalidInput, match="tenths of a kWh"):
        await ask(maker, settings, everywhere, world.meter_id, "free_issue", units_wh=150)
    with pytest.raises(InvalidInput, match="replaced meter"):
        await ask(maker, settings, everywhere, world.meter_id, "credit_transfer", units_wh=100)
    with pytest.raises(NotFound):
        await ask(maker, settings, staff(old, "engineer"), world.meter_id, "clear_tamper")


async def test_pending_key_change_goes_out_first(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    await load_new_key(maker, settings, world, krn=2, base_date=world.base_date)
    eng = staff(world, "engineer")
    async with maker() as session:
        await keys.schedule_key_change(
            session, eng, world.meter_id, KeyChangeRequest(krn=2), reason="KRN roll"
        )
    row = await ask(maker, settings, eng, world.meter_id, "max_power_limit", value=3000)
    kinds = [t["kind"] for t in engineering.tokens_of(row)]
    assert kinds == ["key_change", "key_change", "management"]
    meter = virtual_meter(world)
    for t in digits(row):
        meter.enter(t)
    assert meter.krn == 2 and meter.max_power_limit == 3000


async def test_key_change_on_demand_is_idempotent(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    await load_new_key(maker, settings, world, krn=2, base_date=world.base_date)
    cashier = world.cashier
    async with maker() as session:
        with pytest.raises(NotFound, match="Nothing pending"):
            await engineering.key_change_on_demand(
                session, engine(session, settings), cashier, "KC-1", world.meter_no
            )
    async with maker() as session:
        await keys.schedule_key_change(
            session, SYSTEM, world.meter_id, KeyChangeRequest(krn=2), reason="roll"
        )
    async with maker() as session:
        first = await engineering.key_change_on_demand(
            session, engine(session, settings), cashier, "KC-1", world.meter_no
        )
    async with maker() as session:
        again = await engineering.key_change_on_demand(
            session, engine(session, settings), cashier, "KC-1", world.meter_no
        )
    assert not first.replayed and again.replayed
    assert digits(first.row) == digits(again.row) and len(digits(first.row)) == 2
    async with maker() as session, session.begin():
        assert await keys.pending_change(session, world.meter_id) is None
    meter = virtual_meter(world)
    for t in digits(first.row):
        meter.enter(t)
    assert meter.krn == 2
    async with maker() as session:
        with pytest.raises(NotFound, match="Nothing pending"):
            await engineering.key_change_on_demand(
                session, engine(session, settings), cashier, "KC-2", world.meter_no
            )
    async with maker() as session:
        other = await build_world(session, settings)
    async with maker() as session:
        with pytest.raises(Conflict):
            await engineering.key_change_on_demand(
                session, engine(session, settings), cashier, "KC-1", other.meter_no
            )
    # the next purchase uses the new key
    async with maker() as session:
        sale = await vending.purchase(
            session,
            settings,
            engine(session, settings),
            cashier,
            client_ref="AFTER",
            request=vending.PurchaseRequest(
                meter_number=world.meter_no, amount_minor=100_000, currency="KES", payment_method="cash"
            ),
        )
    assert [t.kind for t in sale.tokens] == ["credit"]
    meter.enter(sale.tokens[0].token)
