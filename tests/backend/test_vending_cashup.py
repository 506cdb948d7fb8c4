"""Cashier shifts and the end-of-shift cash-up (service level, both databases)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.ledger.models import LedgerEntry
from backend.domain.vending import cashup, followups
from backend.domain.vending import service as vending
from backend.domain.vending.models import Shift, Vend, VendRequest
from backend.domain.vending.rules import (
    PAYMENT_ACCOUNTS,
    Z_CODE_MAX,
    expected_cash,
    over_short,
    z_report_number,
    z_report_prefix,
)
from backend.settings import Settings
from tests.support.cashup import staff_user
from tests.support.world import World, build_world, virtual_meter

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[Maker]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def till(maker: Maker, settings: Settings) -> tuple[World, Actor, Actor, Actor]:
    """A vendable world with two real cashiers and a supervisor at its station."""
    async with maker() as session:
        world = await build_world(session, settings, debt_minor=20_000)
        anna = await staff_user(session, settings, username="anna", org_unit_id=world.station_id)
        ben = await staff_user(session, settings, username="ben", org_unit_id=world.station_id)
        sup = await staff_user(
            session,
            settings,
            username="sue",
            org_unit_id=world.org_unit_id,
            roles=frozenset({"supervisor"}),
        )
    return world, anna, ben, sup


async def _sell(
    maker: Maker,
    settings: Settings,
    world: World,
    actor: Actor,
    ref: str,
    amount: int,
    method: str = "cash",
    at: datetime | None = None,
    shift_rule: bool = False,
) -> vending.VendOutcome:
    async with maker() as session:
        engine = SoftwareTokenEngine.for_session(session, keystore_for(settings))
        return await vending.purchase(
            session,
            settings,
            engine,
            actor,
            client_ref=ref,
            request=vending.PurchaseRequest(
                meter_number=world.meter_no,
                amount_minor=amount,
                currency="KES",
                payment_method=method,
                payment_reference=None if method == "cash" else f"{method.upper()}-{ref}",
                channel="station",
            ),
            now=at,
            shift_rule=shift_rule,
        )


async def test_shift_totals_are_the_sales_made_in_the_shift_by_tender_type(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    world, anna, ben, _ = till
    t0 = utcnow() - timedelta(hours=3)
    # Before the shift opens, by another cashier, and a refused sale: none of them count.
    before = await _sell(maker, settings, world, anna, "pre-1", 70_000, at=t0 - timedelta(minutes=10))
    assert before.vend.status == "success"
    async with maker() as session:
        opened = await cashup.open_shift(session, settings, anna, opening_float_minor=500_000, now=t0)
    assert opened.shift.status == "open" and opened.expected_cash_minor == 500_000

    sales = [
        ("s1", 100_000, "cash"),
        ("s2", 60_000, "cash"),
        ("s3", 80_000, "card"),
        ("s4", 50_000, "mobile_money"),
    ]
    outcomes = []
    for i, (ref, amount, method) in enumerate(sales, start=1):
        out = await _sell(maker, settings, world, anna, ref, amount, method, at=t0 + timedelta(minutes=i))
        assert out.vend.status == "success"
        outcomes.append(out)
    refused = await _sell(maker, settings, world, anna, "tiny", 100, at=t0 + timedelta(minutes=6))
    assert refused.vend.status == "failed"
    other = await _sell(maker, settings, world, ben, "ben-1", 90_000, at=t0 + timedelta(minutes=7))
    assert other.vend.status == "success"
    meter = virtual_meter(world)
    for out in outcomes:
        for token in out.tokens:
            meter.enter(token.token)

    async with maker() as session:
        live = await cashup.current_shift(session, anna)
    assert live.totals.sales_count == 4
    assert live.totals.by_tender() == {"cash": 160_000, "card": 80_000, "mobile_money": 50_000}
    assert [t.payment_method for t in live.totals.tenders] == ["cash", "card", "mobile_money"]
    assert live.totals.tendered_minor == 290_000
    assert live.totals.energy_wh == sum(o.vend.energy_wh for o in outcomes) > 0
    assert live.totals.debt_recovered_minor == sum(o.vend.debt_recovered_minor for o in outcomes) > 0
    assert live.expected_cash_minor == 660_000
    assert live.station_code is not None and live.station_code.endswith("-ST")
    assert live.station_name == "Station"
    assert live.utility_name is not None and live.utility_name.startswith("World utility")

    async with maker() as session:
        closed = await cashup.close_shift(session, settings, anna, declared_cash_minor=655_000)
    shift = closed.shift
    assert shift.status == "closed" and shift.closed_at is not None
    assert closed.totals == live.totals
    assert shift.expected_cash_minor == 660_000 and shift.declared_cash_minor == 655_000
    assert closed.over_short_minor == -5_000
    assert shift.z_report_no is not None
    assert re.fullmatch(r"Z-[A-Z0-9-]+-\d{8}-0001", shift.z_report_no), shift.z_report_no

    # Stored: the Z-report reads back the same, even after new sales by the same cashier.
    await _sell(maker, settings, world, anna, "late", 70_000)
    async with maker() as session:
        again = await cashup.get_shift(session, anna, shift.id)
    assert again.totals == closed.totals and again.over_short_minor == -5_000
    assert again.shift.z_report_no == shift.z_report_no

    async with maker() as session, session.begin():
        event = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "shift.close", AuditEvent.entity_id == str(shift.id)
                )
            )
        ).scalar_one()
        detail = json.loads(event.detail)
    assert detail["after"]["z_report_no"] == shift.z_report_no
    assert detail["after"]["over_short_minor"] == -5_000 and detail["before"] == {"status": "open"}
    assert detail["tenders"] == {"cash": 160_000, "card": 80_000, "mobile_money": 50_000}


async def _refund_of(session: AsyncSession, ref: str) -> int:
    """The money a credit note gave back: minus its entries on the payment accounts."""
    async with session.begin():
        request = (
            await session.execute(select(VendRequest).where(VendRequest.client_ref == f"rev-{ref}"))
        ).scalar_one()
        total = (
            await session.execute(
                select(func.sum(LedgerEntry.amount_minor)).where(
                    LedgerEntry.transaction_id == request.ledger_transaction_id,
                    LedgerEntry.account.in_([a.value for a in PAYMENT_ACCOUNTS]),
                )
            )
        ).scalar_one()
    return -int(total)


async def test_credit_notes_approved_during_the_shift_come_off_its_takings(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    """A refund leaves the drawer when the supervisor approves it, even for a sale of an earlier shift;
    a request still waiting, a rejected one and another cashier's refund do not count."""
    world, anna, ben, sup = till
    t0 = utcnow() - timedelta(hours=2)
    earlier = await _sell(maker, settings, world, anna, "old-1", 40_000, at=t0 - timedelta(hours=1))
    async with maker() as session:
        await cashup.open_shift(session, settings, anna, opening_float_minor=100_000, now=t0)
    cash = await _sell(maker, settings, world, anna, "c1", 100_000, at=t0 + timedelta(minutes=1))
    card = await _sell(maker, settings, world, anna, "k1", 70_000, "card", at=t0 + timedelta(minutes=2))
    waiting = await _sell(maker, settings, world, anna, "c2", 30_000, at=t0 + timedelta(minutes=3))
    rejected = await _sell(maker, settings, world, anna, "c3", 20_000, at=t0 + timedelta(minutes=4))
    bens = await _sell(maker, settings, world, ben, "b1", 50_000, at=t0 + timedelta(minutes=5))
    for out in (earlier, cash, card, waiting, rejected, bens):
        assert out.vend.status == "success"

    decisions = {"old-1": True, "c1": True, "k1": True, "c3": False, "b1": True}
    for ref, who in (("old-1", anna), ("c1", anna), ("k1", anna), ("c2", anna), ("c3", anna), ("b1", ben)):
        async with maker() as session:
            follow = await followups.request_reversal(session, who, ref, f"rev-{ref}", "customer paid twice")
        request_id = follow.request.id
        if ref in decisions:
            async with maker() as session:
                await followups.decide_credit_note(session, sup, request_id, approve=decisions[ref])

    async with maker() as session:
        live = await cashup.current_shift(session, anna)
        refunded = {ref: await _refund_of(session, ref) for ref in ("old-1", "c1", "k1")}
    # Each refund is the tender, less at most the remainder kept as credit (when since spent).
    for ref, out in (("old-1", earlier), ("c1", cash), ("k1", card)):
        assert out.vend.tender_minor - out.vend.change_minor <= refunded[ref] <= out.vend.tender_minor
    assert live.totals.tendered_minor == 220_000
    assert [(r.payment_method, r.count, r.amount_minor) for r in live.totals.refunds] == [
        ("cash", 2, refunded["old-1"] + refunded["c1"]),
        ("card", 1, refunded["k1"]),
    ]
    assert live.totals.refunded_minor == sum(refunded.values())
    cash_net = 150_000 - refunded["old-1"] - refunded["c1"]
    assert live.totals.by_tender() == {"cash": cash_net, "card": 70_000 - refunded["k1"]}
    assert live.expected_cash_minor == 100_000 + cash_net

    async with maker() as session:
        closed = await cashup.close_shift(
            session, settings, anna, declared_cash_minor=live.expected_cash_minor
        )
    assert closed.over_short_minor == 0 and closed.totals.refunds == live.totals.refunds
    async with maker() as session:
        again = await cashup.get_shift(session, anna, closed.shift.id)
    assert again.totals == closed.totals


async def test_one_open_shift_per_user_and_a_clear_conflict(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    _, anna, ben, _ = till
    async with maker() as session:
        await cashup.open_shift(session, settings, anna, opening_float_minor=0)
    async with maker() as session:
        with pytest.raises(Conflict, match="already have an open shift"):
            await cashup.open_shift(session, settings, anna, opening_float_minor=10)
    async with maker() as session:  # another cashier is not affected
        await cashup.open_shift(session, settings, ben, opening_float_minor=10)
    async with maker() as session:
        with pytest.raises(InvalidInput, match="opening float"):
            await cashup.open_shift(session, settings, anna, opening_float_minor=-1)
    async with maker() as session:
        await cashup.close_shift(session, settings, anna, declared_cash_minor=0)
    async with maker() as session:  # after the cash-up, a new shift may open
        reopened = await cashup.open_shift(session, settings, anna, opening_float_minor=0)
    assert reopened.shift.status == "open"
    async with maker() as session, session.begin():
        counts = dict(
            (await session.execute(select(Shift.status, func.count()).group_by(Shift.status))).all()
        )
    assert counts == {"open": 2, "closed": 1}


async def test_concurrent_opens_give_one_shift(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    _, anna, _, _ = till

    async def attempt() -> str:
        async with maker() as session:
            try:
                await cashup.open_shift(session, settings, anna, opening_float_minor=1_000)
            except Conflict as exc:
                assert "already have an open shift" in exc.detail
                return "conflict"
            return "opened"

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(results) == ["conflict", "conflict", "conflict", "opened"]
    async with maker() as session, session.begin():
        open_count = (
            await session.execute(
                select(func.count())
                .select_from(Shift)
                .where(Shift.user_id == anna.id, Shift.status == "open")
            )
        ).scalar_one()
    assert open_count == 1


async def test_z_report_numbers_are_unique_per_station_and_day(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    _, anna, ben, _ = till
    numbers = []
    for actor in (anna, ben, anna):
        async with maker() as session:
            await cashup.open_shift(session, settings, actor, opening_float_minor=0)
        async with maker() as session:
            numbers.append((await cashup.close_shift(session, settings, actor, declared_cash_minor=0)).shift)
    z = [s.z_report_no for s in numbers]
    assert len(set(z)) == 3
    assert [n[-4:] for n in z if n] == ["0001", "0002", "0003"]
    day = numbers[0].closed_at.astimezone(settings.zone).strftime("%Y%m%d") if numbers[0].closed_at else ""
    assert all(n is not None and f"-{day}-" in n for n in z)


async def test_closing_without_a_shift_and_who_may_read_a_z_report(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    _, anna, ben, sue = till
    async with maker() as session:
        with pytest.raises(NotFound, match="no open shift"):
            await cashup.close_shift(session, settings, anna, declared_cash_minor=0)
    async with maker() as session:
        with pytest.raises(NotFound, match="no open shift"):
            await cashup.current_shift(session, anna)
    async with maker() as session:
        await cashup.open_shift(session, settings, anna, opening_float_minor=0)
    async with maker() as session:
        shift = (await cashup.close_shift(session, settings, anna, declared_cash_minor=1_000)).shift
    assert shift.z_report_no is not None
    async with maker() as session:
        assert (await cashup.get_shift(session, anna, shift.id)).over_short_minor == 1_000
    async with maker() as session:
        assert (await cashup.get_shift(session, sue, shift.id)).shift.id == shift.id
    async with maker() as session:  # another cashier may not read it
        with pytest.raises(NotFound):
            await cashup.get_shift(session, ben, shift.id)
    async with maker() as session:  # a supervisor elsewhere may not either
        elsewhere = await build_world(session, settings)
        outsider = await staff_user(
            session,
            settings,
            username="otto",
            org_unit_id=elsewhere.org_unit_id,
            roles=frozenset({"supervisor"}),
        )
    async with maker() as session:
        with pytest.raises(NotFound):
            await cashup.get_shift(session, outsider, shift.id)
    async with maker() as session:
        mine, total = await cashup.list_shifts(session, sue, status=None, user_id=None, limit=10, offset=0)
    assert total == 1 and mine[0].shift.z_report_no == shift.z_report_no
    async with maker() as session:
        theirs, total = await cashup.list_shifts(
            session, outsider, status=None, user_id=None, limit=10, offset=0
        )
    assert total == 0 and theirs == []
    async with maker() as session:  # an API client has no shift
        with pytest.raises(PermissionDenied):
            await cashup.current_shift(session, Actor(kind="api_client", id=1, name="bank", realm="api"))


async def test_a_cashier_without_an_open_shift_is_refused_and_nothing_is_stored(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    world, anna, _, sue = till
    with pytest.raises(vending.VendRefused, match="Open your shift before selling") as refused:
        await _sell(maker, settings, world, anna, "ref-1", 100_000, shift_rule=True)
    assert refused.value.code == "no_open_shift"
    async with maker() as session, session.begin():
        assert (await session.execute(select(func.count()).select_from(Vend))).scalar_one() == 0
    # Supervisors and API clients do not sell in shifts.
    assert (
        await _sell(maker, settings, world, sue, "sue-1", 100_000, shift_rule=True)
    ).vend.status == "success"
    bank = Actor(kind="api_client", id=1, name="bank")
    assert (
        await _sell(maker, settings, world, bank, "bank-1", 100_000, shift_rule=True)
    ).vend.status == "success"
    async with maker() as session:
        await cashup.open_shift(session, settings, anna, opening_float_minor=0)
    sold = await _sell(maker, settings, world, anna, "ref-1", 100_000, shift_rule=True)
    assert sold.vend.status == "success" and not sold.replayed
    async with maker() as session:
        await cashup.close_shift(session, settings, anna, declared_cash_minor=100_000)
    # After the cash-up a new sale is refused; the sale made in the shift still answers its retry.
    with pytest.raises(vending.VendRefused, match="Open your shift"):
        await _sell(maker, settings, world, anna, "ref-2", 100_000, shift_rule=True)
    again = await _sell(maker, settings, world, anna, "ref-1", 100_000, shift_rule=True)
    assert again.replayed and [t.token for t in again.tokens] == [t.token for t in sold.tokens]


async def test_closing_a_shift_waits_for_a_sale_in_flight(
    maker: Maker, settings: Settings, till: tuple[World, Actor, Actor, Actor]
) -> None:
    # A sale checks the open shift inside its own transaction, with a share lock; the cash-up locks the
    # shift for update, so it adds up the sales only once the sale in flight has committed (or it
    # would miss it in the Z-report).
    _, anna, _, _ = till
    async with maker() as session:
        await cashup.open_shift(session, settings, anna, opening_float_minor=0)
    async with maker() as selling, selling.begin():
        await vending._require_open_shift(selling, anna)  # the sale's check, its transaction still open

        async def close() -> None:
            async with maker() as session:
                await cashup.close_shift(session, settings, anna, declared_cash_minor=0)

        closing = asyncio.create_task(close())
        await asyncio.sleep(0.5)
        assert not closing.done()  # waiting for the sale's transaction
    await asyncio.wait_for(closing, timeout=20)
    async with maker() as session, session.begin():
        shift = (await session.execute(select(Shift).where(Shift.user_id == anna.id))).scalar_one()
        assert shift.status == "closed"


@given(
    code=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=32),
    seq=st.integers(min_value=1, max_value=9999),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 365 * 5),
)
def test_z_report_number_fits_and_keeps_the_sequence(code: str, seq: int, minutes: int) -> None:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    zone = ZoneInfo("Africa/Nairobi")
    number = z_report_number(code, moment, zone, seq)
    assert len(number) <= 40
    assert number.startswith(f"Z-{z_report_prefix(code)}-")
    assert number.endswith(f"-{moment.astimezone(zone):%Y%m%d}-{seq:04d}")
    assert len(z_report_prefix(code)) <= Z_CODE_MAX
    if seq < 9999:
        assert z_report_number(code, moment, zone, seq + 1) != number


@given(
    opening=st.integers(min_value=0, max_value=10**10),
    tenders=st.dictionaries(
        st.sampled_from(["cash", "card", "mobile_money", "bank"]), st.integers(min_value=0, max_value=10**10)
    ),
    declared=st.integers(min_value=0, max_value=10**11),
)
def test_expected_cash_counts_only_cash_and_over_short_balances(
    opening: int, tenders: dict[str, int], declared: int
) -> None:
    expected = expected_cash(opening, tenders)
    assert expected == opening + tenders.get("cash", 0)
    diff = over_short(expected, declared)
    assert expected + diff == declared
    assert (diff > 0) == (declared > expected)
