"""The exactly-once prepaid sale: split, tokens a real meter accepts, ledger, idempotency, concurrency."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import sts
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.types import utcnow
from backend.domain.actor import SYSTEM
from backend.domain.audit import service as audit
from backend.domain.audit.models import AuditEvent, AuditHead
from backend.domain.customers.models import Account
from backend.domain.errors import Conflict
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.ledger import service as ledger
from backend.domain.ledger.rules import LedgerAccount, credit, debit
from backend.domain.org.models import OrgUnit
from backend.domain.vending import service as vending
from backend.domain.vending.models import Vend, VendToken
from backend.domain.vending.sale_gate import Busy
from backend.settings import Settings
from tests.support.month_totals import Totals, kept_and_summed
from tests.support.world import World, build_world, virtual_meter


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


def _request(world: World, amount: int = 100_000, **kw: object) -> vending.PurchaseRequest:
    return vending.PurchaseRequest(
        meter_number=world.meter_no,
        amount_minor=amount,
        currency="KES",
        payment_method="cash",
        channel="station",
        **kw,
    )  # type: ignore[arg-type]


async def _buy(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    ref: str,
    request: vending.PurchaseRequest | None = None,
    now: datetime | None = None,
) -> vending.VendOutcome:
    async with maker() as session:
        engine = SoftwareTokenEngine.for_session(session, keystore_for(settings))
        return await vending.purchase(
            session,
            settings,
            engine,
            world.cashier,
            client_ref=ref,
            request=request or _request(world),
            now=now,
        )


async def _check_books(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session, session.begin():
        assert sum((await ledger.trial_balance(session)).values()) == 0
        assert await ledger.unbalanced_transactions(session) == []
        assert await ledger.subledger_mismatches(session) == []


async def test_a_purchase_splits_the_tender_and_the_meter_accepts_the_token(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings, debt_minor=10_000)
    outcome = await _buy(maker, settings, world, "sale-1")
    vend = outcome.vend
    assert vend.status == "success" and vend.receipt_no
    async with maker() as session:
        station = await session.get(OrgUnit, world.station_id)
        stored = await session.get(Vend, vend.id)
    assert station is not None and vend.receipt_no.startswith(f"{station.code}-")  # the cashier's station
    # The database wrote the receipt number from the counter; the sale returned the same one.
    assert stored is not None and stored.receipt_no == vend.receipt_no
    assert vend.receipt_no.endswith("-000001")
    # 25% of 1000.00 = 250.00 goes to debt, but only 100.00 is owed
    assert vend.debt_recovered_minor == 10_000
    assert vend.fixed_minor == 17_400  # 150.00 + 16% VAT (the levy applies to energy only)
    assert vend.energy_wh % 100 == 0 and vend.energy_wh > 0
    assert (
        vend.debt_recovered_minor
        + vend.fixed_minor
        + vend.energy_minor
        + vend.tax_minor
        - (vend.fixed_minor - 15_000)
        + vend.change_minor
    ) == vend.tender_minor + vend.credit_used_minor
    [token] = outcome.tokens
    assert token.kind == "credit" and len(token.token) == 20
    meter = virtual_meter(world)
    accepted = meter.enter(token.token)
    assert accepted.token.amount * 100 == vend.energy_wh  # type: ignore[attr-defined]
    with pytest.raises(sts.TokenUsedError):
        meter.enter(token.token)
    async with maker() as session, session.begin():
        account = await session.get(Account, world.account_id)
        assert account is not None and account.debt_minor == 0 and account.credit_minor == vend.change_minor
    await _check_books(maker)


async def test_the_same_reference_returns_the_same_tokens(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    first = await _buy(maker, settings, world, "same")
    again = await _buy(maker, settings, world, "same")
    assert again.replayed and again.vend.id == first.vend.id
    assert [t.token for t in again.tokens] == [t.token for t in first.tokens]
    with pytest.raises(Conflict, match="different request"):
        await _buy(maker, settings, world, "same", _request(world, amount=50_000))
    async with maker() as session, session.begin():
        assert (await session.execute(select(func.count()).select_from(Vend))).scalar_one() == 1


async def test_a_sale_leaves_its_session_to_reference_counting_not_the_garbage_collector(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """A session in a reference cycle lives on until the cyclic collector runs; the sale's memos on
    the session (its driver connection, the vending key it read) used to make one, and the collector
    then ran about every eight sales."""
    async with maker() as session:
        world = await build_world(session, settings)
    gc.collect()
    gc.disable()
    try:
        async with maker() as session:
            engine = SoftwareTokenEngine.for_session(session, keystore_for(settings))
            outcome = await vending.purchase(
                session, settings, engine, world.cashier, client_ref="freed", request=_request(world)
            )
            held = weakref.ref(session.sync_session)
        del session, engine
        assert outcome.vend.status == "success"
        assert held() is None
    finally:
        gc.enable()


async def test_tids_strictly_increase_within_one_minute(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    tokens = []
    for i in range(4):
        outcome = await _buy(maker, settings, world, f"quick-{i}", _request(world, amount=30_000))
        assert outcome.vend.status == "success"
        tokens.extend(outcome.tokens)
    tids = [t.tid for t in tokens]
    assert len(tids) == 4
    assert tids == sorted(tids) and len(set(tids)) == len(tids)
    meter = virtual_meter(world)
    for t in tokens:
        meter.enter(t.token)  # every one of them is fresh to the meter


async def test_a_refusal_is_remembered_under_its_reference(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    small = await _buy(maker, settings, world, "tiny", _request(world, amount=100))
    assert small.vend.status == "failed" and small.vend.failure_code == "amount_refused"
    assert "smallest purchase" in (small.vend.failure_detail or "")
    again = await _buy(maker, settings, world, "tiny", _request(world, amount=100))
    assert again.replayed and again.vend.id == small.vend.id
    async with maker() as session, session.begin():
        assert (await session.execute(select(func.count()).select_from(VendToken))).scalar_one() == 0
    await _check_books(maker)


async def test_a_closed_account_cannot_buy(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
        async with session.begin():
            account = await session.get(Account, world.account_id)
            assert account is not None
            account.status = "suspended"
    outcome = await _buy(maker, settings, world, "blocked")
    assert outcome.vend.status == "failed" and outcome.vend.failure_code == "account_not_active"


async def test_fifty_concurrent_identical_requests_make_one_sale(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    outcomes = await asyncio.gather(*(_buy(maker, settings, world, "burst") for _ in range(50)))
    ids = {o.vend.id for o in outcomes}
    assert len(ids) == 1
    tokens = {tuple(t.token for t in o.tokens) for o in outcomes}
    assert len(tokens) == 1
    async with maker() as session, session.begin():
        assert (await session.execute(select(func.count()).select_from(Vend))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(VendToken))).scalar_one() == 1
    await _check_books(maker)


async def test_concurrent_different_sales_on_one_meter_get_distinct_tids(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    outcomes = await asyncio.gather(
        *(_buy(maker, settings, world, f"parallel-{i}", _request(world, amount=30_000)) for i in range(10))
    )
    tids = [t.tid for o in outcomes for t in o.tokens]
    assert len(tids) == 10 and len(set(tids)) == 10
    meter = virtual_meter(world)
    for tid_token in sorted((t for o in outcomes for t in o.tokens), key=lambda t: t.tid or 0):
        meter.enter(tid_token.token)
    # The month's fixed charge is collected once, whichever sale came first, and the account keeps
    # the month's totals of all ten.
    assert sum(o.vend.fixed_minor > 0 for o in outcomes) == 1
    _, kept, summed = await _kept_and_summed(maker, world)
    assert kept == summed and kept[0] == sum(o.vend.energy_wh for o in outcomes)
    await _check_books(maker)


async def test_the_remainder_is_spent_on_the_next_purchase(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    flat = {"energy": {"kind": "flat", "rate": "23.00"}, "min_purchase_minor": 100}
    async with maker() as session:
        world = await build_world(session, settings, structure=flat)
    first = await _buy(maker, settings, world, "r1", _request(world, amount=1_000))
    # 10.00 buys 0.4 kWh (9.20); 0.80 stays as credit
    assert (first.vend.energy_wh, first.vend.change_minor) == (400, 80)
    second = await _buy(maker, settings, world, "r2", _request(world, amount=1_000))
    assert second.vend.credit_used_minor == 80
    assert (second.vend.energy_wh, second.vend.change_minor) == (400, 160)
    await _check_books(maker)


async def test_free_basic_electricity_comes_once_a_month(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings, fbe_eligible=True)
    first = await _buy(maker, settings, world, "f1")
    assert first.vend.fbe_wh == 10_000 and [t.kind for t in first.tokens] == ["credit", "free_basic"]
    second = await _buy(maker, settings, world, "f2")
    assert second.vend.fbe_wh == 0 and [t.kind for t in second.tokens] == ["credit"]
    assert second.vend.fixed_minor == 0  # the fixed charge was collected by the first purchase this month
    meter = virtual_meter(world)
    for t in [*first.tokens, *second.tokens]:
        meter.enter(t.token)
    assert meter.credit[0] * 100 == first.vend.energy_wh + first.vend.fbe_wh + second.vend.energy_wh


async def test_unknown_meter_is_a_clear_refusal(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    other = replace(_request(world), meter_number="04000000005")
    outcome = await _buy(maker, settings, world, "nobody", other)
    assert outcome.vend.status == "failed" and outcome.vend.failure_code == "unknown_meter"


async def test_a_pending_key_change_goes_out_before_the_credit_token(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """The TID rollover move: base date 1993 → 2014 with a new KRN; the meter takes the set, then credit."""
    import secrets

    from backend.domain.actor import SYSTEM
    from backend.domain.assets.models import Meter
    from backend.domain.keys import service as keys
    from backend.domain.keys.rules import KeyChangeRequest, SecretBytes

    async with maker() as session:
        world = await build_world(session, settings, base_date=1993)
        new_key = secrets.token_bytes(8)
        await keys.import_vending_key(
            session,
            keys.keystore_for(settings),
            SYSTEM,
            sgc=world.sgc,
            krn=2,
            kt=2,
            dkga="02",
            base_date=2014,
            material=SecretBytes(new_key),
        )
        await keys.schedule_key_change(
            session, SYSTEM, world.meter_id, KeyChangeRequest(krn=2, base_date=2014), reason="TID rollover"
        )
    meter = virtual_meter(world)
    old_token = (await _buy(maker, settings, world, "before-move", _request(world, amount=30_000))).tokens
    kinds = [t.kind for t in old_token]
    assert kinds == ["key_change", "key_change", "credit"]
    for token in old_token:
        meter.enter(token.token)
    assert meter.krn == 2 and int(meter.base_date) == 2014
    after = await _buy(maker, settings, world, "after-move", _request(world, amount=30_000))
    assert [t.kind for t in after.tokens] == ["credit"]
    meter.enter(after.tokens[0].token)
    async with maker() as session, session.begin():
        row = await session.get(Meter, world.meter_id)
        assert row is not None and (row.krn, row.base_date) == (2, 2014)


async def test_a_1993_meter_after_the_rollover_date_needs_its_key_change(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings, base_date=1993)
    outcome = await _buy(maker, settings, world, "too-late", _request(world, amount=30_000))
    assert outcome.vend.status == "failed" and outcome.vend.failure_code == "tid_rollover_needed"
    assert "TID rollover key change" in (outcome.vend.failure_detail or "")
    await _check_books(maker)


async def test_a_sale_before_the_audit_chain_has_a_head_starts_it(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # The migrations create the chain head; should it be missing (here: truncated, on PostgreSQL),
    # the sale's statement moves no head and writes no event. The sale must then create the head,
    # write its event, keep its receipt number, and leave a chain that verifies.
    async with maker() as session:
        world = await build_world(session, settings)
        if session.get_bind().dialect.name == "postgresql":
            async with session.begin():  # as on a new database (TRUNCATE is not a row change)
                await session.execute(text("TRUNCATE audit_events, audit_head"))
        async with session.begin():
            before = (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    first = await _buy(maker, settings, world, "first-ever")
    second = await _buy(maker, settings, world, "second")
    assert first.vend.status == second.vend.status == "success"
    assert first.vend.receipt_no and second.vend.receipt_no
    assert int(second.vend.receipt_no.rsplit("-", 1)[1]) == int(first.vend.receipt_no.rsplit("-", 1)[1]) + 1
    async with maker() as session, session.begin():
        checked, problems = await audit.verify(session)
        assert checked == before + 2 and problems == []
        head = await session.get(AuditHead, 1)
        assert head is not None and head.seq == before + 2
    await _check_books(maker)


async def _world_pair(maker: async_sessionmaker[AsyncSession], settings: Settings) -> tuple[World, World]:
    async with maker() as session:
        return await build_world(session, settings), await build_world(session, settings)


async def _hold_meter(maker: async_sessionmaker[AsyncSession], world: World) -> AsyncIterator[None]:
    """Hold the meter's row locked (as a long transaction elsewhere would) until resumed."""
    async with maker() as session, session.begin():
        await session.execute(text("SELECT id FROM meters WHERE id = :id FOR UPDATE"), {"id": world.meter_id})
        yield


@pytest.mark.postgres
@pytest.mark.parametrize("in_flight", [1, 2])
async def test_sales_beyond_the_limit_wait_their_turn(
    maker: async_sessionmaker[AsyncSession], settings: Settings, in_flight: int
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has one connection: its sales are one at a time whatever the limit")
    settings = msgspec.structs.replace(settings, sales_in_flight=in_flight)
    stuck_world, free_world = await _world_pair(maker, settings)
    holder = _hold_meter(maker, stuck_world)
    await anext(holder)
    stuck = asyncio.create_task(_buy(maker, settings, stuck_world, "stuck"))
    await asyncio.sleep(0.3)  # the first sale is in, waiting for the meter's row
    free = asyncio.create_task(_buy(maker, settings, free_world, "free"))
    done, _ = await asyncio.wait([free], timeout=3)
    assert not stuck.done()
    if in_flight == 1:
        assert not done, "a second sale got in while the only place was taken"
    else:
        assert done and free.result().vend.status == "success"
    with pytest.raises(StopAsyncIteration):
        await anext(holder)
    assert (await stuck).vend.status == (await free).vend.status == "success"
    await _check_books(maker)


@pytest.mark.postgres
async def test_a_sale_that_cannot_get_in_is_refused_as_busy_and_nothing_is_stored(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has one connection: its sales are one at a time whatever the limit")
    settings = msgspec.structs.replace(settings, sales_in_flight=1, pg_pool_timeout_seconds=1)
    stuck_world, other_world = await _world_pair(maker, settings)
    holder = _hold_meter(maker, stuck_world)
    await anext(holder)
    stuck = asyncio.create_task(_buy(maker, settings, stuck_world, "stuck"))
    await asyncio.sleep(0.3)
    with pytest.raises(Busy) as refused:
        await _buy(maker, settings, other_world, "turned-away")
    assert refused.value.status == 503 and "same reference" in refused.value.detail
    with pytest.raises(StopAsyncIteration):
        await anext(holder)
    assert (await stuck).vend.status == "success"
    async with maker() as session, session.begin():
        refs = (await session.scalars(select(Vend.client_ref))).all()
    assert refs == ["stuck"]
    again = await _buy(maker, settings, other_world, "turned-away")  # the same reference, later
    assert again.vend.status == "success" and not again.replayed


async def _kept_and_summed(
    maker: async_sessionmaker[AsyncSession], world: World
) -> tuple[str | None, Totals, Totals]:
    async with maker() as session, session.begin():
        account = await session.get(Account, world.account_id)
        assert account is not None
        return await kept_and_summed(session, account)


async def test_the_account_keeps_its_latest_months_sales(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings, debt_minor=50_000, fbe_eligible=True)
    today = utcnow()
    earlier = today.replace(day=1) - timedelta(days=10)  # last month
    later = today.replace(day=28) + timedelta(days=10)  # next month
    months = {
        moment: moment.astimezone(settings.zone).strftime("%Y-%m") for moment in (today, earlier, later)
    }

    first = await _buy(maker, settings, world, "m1", now=today)
    assert first.vend.fixed_minor > 0 and first.vend.fbe_wh > 0 and first.vend.debt_recovered_minor > 0
    month, kept, summed = await _kept_and_summed(maker, world)
    assert month == months[today] and kept == summed
    second = await _buy(maker, settings, world, "m2", now=today)
    assert second.vend.fixed_minor == 0 and second.vend.fbe_wh == 0
    month, kept, summed = await _kept_and_summed(maker, world)
    assert (
        month == months[today] and kept == summed and kept[0] == first.vend.energy_wh + second.vend.energy_wh
    )

    # A sale dated back to last month is split on last month's sales (none yet: the fixed charge is due)
    # and leaves the kept month alone.
    back = await _buy(maker, settings, world, "m3", now=earlier)
    assert back.vend.status == "success" and back.vend.fixed_minor > 0 and back.vend.fbe_wh > 0
    again_back = await _buy(maker, settings, world, "m4", now=earlier)
    assert again_back.vend.fixed_minor == 0 and again_back.vend.fbe_wh == 0
    month, kept, summed = await _kept_and_summed(maker, world)
    assert month == months[today] and kept == summed

    # The first sale of a new month starts its totals again.
    ahead = await _buy(maker, settings, world, "m5", now=later)
    assert ahead.vend.fixed_minor > 0 and ahead.vend.fbe_wh > 0
    month, kept, summed = await _kept_and_summed(maker, world)
    assert month == months[later] and kept == summed
    assert kept == (
        ahead.vend.energy_wh,
        ahead.vend.fixed_minor,
        ahead.vend.fbe_wh,
        ahead.vend.debt_recovered_minor,
    )
    await _check_books(maker)


async def _until_a_statement_waits_for_a_lock(maker: async_sessionmaker[AsyncSession]) -> None:
    for _ in range(200):
        async with maker() as session, session.begin():
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no statement came to wait for the row")


@pytest.mark.postgres
async def test_a_sale_whose_account_changes_before_its_write_is_made_on_the_changed_account(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """On PostgreSQL a sale first reads without locks and writes only if the meter and account rows
    are still as it read them. Here another transaction credits the account after the sale's read and
    commits while the sale's write waits for the row: the sale must use the credit, once."""
    if settings.is_sqlite:
        pytest.skip("The sale without locks is PostgreSQL's: SQLite's writers exclude each other")
    async with maker() as session:
        world = await build_world(session, settings)
    async with maker() as other, other.begin():
        await ledger.post(
            other,
            SYSTEM,
            kind="adjustment",
            reference="credit-meanwhile",
            description="A goodwill credit, posted while a sale is in flight",
            lines=[
                debit(LedgerAccount.OPENING_BALANCES, 5_000, "KES"),
                credit(LedgerAccount.CUSTOMER_CREDIT, 5_000, "KES", customer_account_id=world.account_id),
            ],
        )
        sale = asyncio.create_task(_buy(maker, settings, world, "in-flight"))
        await _until_a_statement_waits_for_a_lock(maker)
        assert not sale.done()
    outcome = await sale
    assert outcome.vend.status == "success" and outcome.vend.credit_used_minor == 5_000
    async with maker() as session, session.begin():
        account = await session.get(Account, world.account_id)
        assert account is not None and account.credit_minor == outcome.vend.change_minor
    _, kept, summed = await _kept_and_summed(maker, world)
    assert kept == summed
    await _check_books(maker)


@pytest.mark.postgres
async def test_a_sale_that_postgresql_rolls_back_in_a_deadlock_is_refused_as_busy(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """The sale's write locks the meter, then waits for the account, which another transaction holds
    and which then asks for the meter: PostgreSQL breaks the deadlock by rolling back the first waiter,
    the sale. The caller is told nothing was sold, and the same reference sells when sent again."""
    if settings.is_sqlite:
        pytest.skip("SQLite's writers take the database's lock at BEGIN: they cannot deadlock")
    async with maker() as session:
        world = await build_world(session, settings)
    async with maker() as other, other.begin():
        await other.execute(
            text("UPDATE accounts SET updated_at = now() WHERE id = :id"), {"id": world.account_id}
        )
        sale = asyncio.create_task(_buy(maker, settings, world, "deadlocked"))
        await _until_a_statement_waits_for_a_lock(maker)
        locking = asyncio.create_task(
            other.execute(text("SELECT id FROM meters WHERE id = :id FOR UPDATE"), {"id": world.meter_id})
        )
        with pytest.raises(Busy) as refused:
            await sale
        await locking
    assert refused.value.status == 503 and "nothing was sold" in refused.value.detail
    async with maker() as session, session.begin():
        assert (await session.scalars(select(Vend.client_ref))).all() == []
    again = await _buy(maker, settings, world, "deadlocked")
    assert again.vend.status == "success" and not again.replayed
    await _check_books(maker)


@pytest.mark.postgres
async def test_the_sale_without_locks_gives_its_pooled_connection_back(
    maker: async_sessionmaker[AsyncSession], settings: Settings, recwarn: pytest.WarningsRecorder
) -> None:
    """The way without locks runs on a connection of its own from the pool, with no session. After a
    sale, a replay, a refusal and a sale whose rows changed (each of the last three falls back to the
    locked way), every connection was given back to the pool (not dropped by the garbage collector,
    which SQLAlchemy warns of), and none is left inside a transaction."""
    if settings.is_sqlite:
        pytest.skip("The sale without locks is PostgreSQL's: SQLite's writers exclude each other")
    async with maker() as session:
        world = await build_world(session, settings)
    pool = maker.kw["bind"].pool
    sold = await _buy(maker, settings, world, "pooled")
    replayed = await _buy(maker, settings, world, "pooled")
    refused = await _buy(maker, settings, world, "too-little", _request(world, amount=1))
    assert sold.vend.status == "success" and replayed.replayed and replayed.vend.id == sold.vend.id
    assert refused.vend.status == "failed"
    async with maker() as other, other.begin():
        await other.execute(
            text("UPDATE accounts SET updated_at = now() WHERE id = :id"), {"id": world.account_id}
        )
        changed = asyncio.create_task(_buy(maker, settings, world, "changed"))
        await _until_a_statement_waits_for_a_lock(maker)
    assert (await changed).vend.status == "success"
    assert pool.checkedout() == 0
    assert not [w for w in recwarn if "non-checked-in" in str(w.message)]
    async with maker() as session, session.begin():
        in_transaction = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"
            )
        )
    assert in_transaction == 0
    await _check_books(maker)
