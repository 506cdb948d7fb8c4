"""Token diagnosis: typing error, wrong meter, old, used, key change not entered, valid; history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import sts
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import Actor
from backend.domain.keys import service as keys
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.vending import diagnosis
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.support.engineering import ask, digits, engine, load_new_key, staff
from tests.support.world import World, build_world, virtual_meter

ZONE = ZoneInfo("Africa/Nairobi")


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    db = create_engine(settings)
    yield create_sessionmaker(db)
    await db.dispose()


async def _world(maker: async_sessionmaker[AsyncSession], settings: Settings) -> World:
    async with maker() as session:
        return await build_world(session, settings)


async def _buy(
    maker: async_sessionmaker[AsyncSession], settings: Settings, world: World, ref: str
) -> list[str]:
    async with maker() as session:
        out = await vending.purchase(
            session,
            settings,
            engine(session, settings),
            world.cashier,
            client_ref=ref,
            request=vending.PurchaseRequest(
                meter_number=world.meter_no, amount_minor=100_000, currency="KES", payment_method="cash"
            ),
        )
    return [t.token for t in out.tokens]


async def _diagnose(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor, meter_id: int, token: str
) -> diagnosis.Diagnosis:
    async with maker() as session:
        return await diagnosis.diagnose(session, engine(session, settings), actor, meter_id, token, ZONE)


async def test_valid_used_and_typing_error(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world = await _world(maker, settings)
    cashier = staff(world, "cashier")
    [first] = await _buy(maker, settings, world, "D-1")
    fine = await _diagnose(
        maker, settings, cashier, world.meter_id, " ".join(first[i : i + 4] for i in range(0, 20, 4))
    )
    assert fine.verdict == "valid" and fine.token_class == 0 and fine.units_wh and fine.units_wh > 0
    assert fine.tid_time is not None and fine.issued is not None
    [second] = await _buy(maker, settings, world, "D-2")
    used = await _diagnose(maker, settings, cashier, world.meter_id, first)
    assert used.verdict == "used" and used.newer_tokens == 1
    meter = virtual_meter(world)
    meter.enter(first)
    with pytest.raises(sts.TokenUsedError):
        meter.enter(first)

    typo = second[:6] + str((int(second[6]) + 3) % 10) + second[7:]
    slip = await _diagnose(maker, settings, cashier, world.meter_id, typo)
    assert slip.verdict == "typing_error" and slip.digit_position == 7 and slip.expected_token == second
    assert "digit 7" in slip.explanation
    swapped_at = next(i for i in range(19) if second[i] != second[i + 1])
    swap = second[:swapped_at] + second[swapped_at + 1] + second[swapped_at] + second[swapped_at + 2 :]
    swapped = await _diagnose(maker, settings, cashier, world.meter_id, swap)
    assert swapped.verdict == "typing_error" and swapped.expected_token == second

    short = await _diagnose(maker, settings, cashier, world.meter_id, second[:19])
    assert short.verdict == "typing_error" and "19" in short.explanation
    letters = await _diagnose(maker, settings, cashier, world.meter_id, second[:19] + "O")
    assert letters.verdict == "typing_error" and "'O'" in letters.explanation
    huge = await _diagnose(maker, settings, cashier, world.meter_id, "9" * 20)
    assert huge.verdict == "typing_error" and "larger" in huge.explanation


async def test_old_token(maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    world = await _world(maker, settings)
    [credit] = await _buy(maker, settings, world, "O-1")
    eng = staff(world, "engineer")
    meter = virtual_meter(world)
    for _ in range(20):
        row = await ask(maker, settings, eng, world.meter_id, "clear_tamper")
        meter.enter(digits(row)[0])
    old = await _diagnose(maker, settings, staff(world, "auditor"), world.meter_id, credit)
    assert old.verdict == "old" and old.newer_tokens == 20
    with pytest.raises(sts.TokenOldError):
        meter.enter(credit)


async def test_wrong_meter(maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    mine = await _world(maker, settings)
    theirs = await _world(maker, settings)
    [their_token] = await _buy(maker, settings, theirs, "W-1")
    wrong = await _diagnose(maker, settings, staff(None, "supervisor"), mine.meter_id, their_token)
    assert wrong.verdict == "wrong_meter" and wrong.other_meter_no == theirs.meter_no
    with pytest.raises(sts.AuthenticationError):
        virtual_meter(mine).enter(their_token)
    stranger = await _diagnose(
        maker, settings, staff(None, "supervisor"), mine.meter_id, "12345678901234567890"
    )
    assert stranger.verdict == "wrong_meter" and stranger.other_meter_no is None
    with pytest.raises(Exception, match="does not exist"):
        await _diagnose(maker, settings, staff(theirs, "cashier"), mine.meter_id, their_token)


async def test_key_change_not_entered(maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    world = await _world(maker, settings)
    await load_new_key(maker, settings, world, krn=2, base_date=world.base_date)
    [before] = await _buy(maker, settings, world, "K-0")
    async with maker() as session:
        await keys.schedule_key_change(
            session, staff(world, "engineer"), world.meter_id, KeyChangeRequest(krn=2), reason="roll"
        )
    kc1, kc2, credit = await _buy(maker, settings, world, "K-1")
    cashier = staff(world, "cashier")
    result = await _diagnose(maker, settings, cashier, world.meter_id, credit)
    assert result.verdict == "key_change_not_entered"
    assert result.key_change_tokens == [kc1, kc2]
    meter = virtual_meter(world)
    with pytest.raises(sts.AuthenticationError):
        meter.enter(credit)
    meter.enter(kc1)
    meter.enter(kc2)
    meter.enter(credit)
    previous = await _diagnose(maker, settings, cashier, world.meter_id, before)
    assert previous.verdict == "previous_key"

    async with maker() as session:
        items, total = await diagnosis.token_history(session, cashier, world.meter_id, limit=2)
    assert total == 4 and [i.token for i in items] == [credit, kc2]


@given(st.text(alphabet="0123456789", min_size=20, max_size=20))
def test_typing_variants_are_one_slip_away(digits_: str) -> None:
    variants = diagnosis.typing_variants(digits_)
    assert digits_ not in variants
    for candidate, (position, _) in variants.items():
        diffs = [i for i in range(20) if candidate[i] != digits_[i]]
        assert 1 <= len(diffs) <= 2 and diffs[0] == position - 1
        if len(diffs) == 2:
            assert diffs[1] == diffs[0] + 1 and candidate[diffs[0]] == digits_[diffs[1]]
