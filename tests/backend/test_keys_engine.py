"""The software token engine against virtual meters built independently with the same keys."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import sts
from backend.domain.actor import SYSTEM
from backend.domain.keys import service
from backend.domain.keys.engine import (
    DecoderKeyCache,
    SoftwareTokenEngine,
    TokenEngineError,
    VendingKeyUnavailable,
    database_lookup,
    vending_key_read,
)
from backend.domain.keys.rules import KeyChangeRequest, MeterKeyData, next_tid, tid_at
from backend.settings import Settings
from tests.support.keys import (
    MeterSpec,
    db_session,
    decoder_key,
    import_key,
    keystore,
    make_meter,
    org_unit_id,
    virtual_meter,
)

NOW = datetime(2024, 6, 1, 8, 30, tzinfo=UTC)  # base date 1993 still has TIDs left


def data_for(spec: MeterSpec) -> MeterKeyData:
    return MeterKeyData(
        iin="600727",
        drn=spec.drn,
        sgc=spec.sgc,
        ti=spec.ti,
        krn=spec.krn,
        kt=spec.kt,
        ea=spec.ea,
        dkga=spec.dkga,
        base_date=spec.base_date,
        ken=spec.ken,
    )


async def test_credit_and_management_tokens_are_accepted_by_the_meter(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        _, material = await import_key(session, store, sgc=123456, krn=1)
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        meter = data_for(MeterSpec(1))
        vm = virtual_meter(meter, material)
        tid = tid_at(NOW, 1993)
        token = await engine.credit(meter, 256, tid)
        assert len(token.digits) == 20 and token.tid == tid and token.kind == "credit"
        accepted = vm.enter(token.digits)
        assert vm.credit[0] == 256 and accepted.token.tid == tid  # type: ignore[union-attr]
        with pytest.raises(sts.TokenUsedError):
            vm.enter(token.digits)
        limit = await engine.management(meter, sts.ManagementFunction.SET_MAX_POWER_LIMIT, 1000, tid + 1)
        vm.enter(limit.digits)
        assert vm.max_power_limit is not None and vm.max_power_limit >= 1000
        test = await engine.test(control=1, mfr=0)
        assert vm.enter(test.digits).changes == {"test_control": 1}
        explained = await engine.decode(meter, token.digits)
        assert explained.crc_ok and explained.fields["tid"] == tid


async def test_dkga04_keys_with_ea07_and_ea11(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        _, material = await import_key(session, store, sgc=600999, krn=1, dkga="04", base_date=2014)
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        for n, ea in ((2, "07"), (3, "11")):
            meter = data_for(MeterSpec(n, sgc=600999, dkga="04", ea=ea, base_date=2014))
            vm = virtual_meter(meter, material)
            assert len(decoder_key(meter, material)) == (16 if ea == "11" else 8)
            token = await engine.credit(meter, 125, tid_at(NOW, 2014))
            vm.enter(token.digits)
            assert vm.credit[0] == 125


async def test_key_change_with_rollover_moves_the_meter_to_the_new_key(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        _, old_material = await import_key(session, store, sgc=123456, krn=1, base_date=1993)
        _, new_material = await import_key(session, store, sgc=123456, krn=2, base_date=2014)
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        old = data_for(MeterSpec(4))
        new = replace(old, krn=2, base_date=2014)
        old_tid = tid_at(NOW, 1993)  # ~17.5 million minutes: near the end of the 1993 TID range
        vm = virtual_meter(old, old_material, manufacture_tid=old_tid - 100)
        vm.enter((await engine.credit(old, 10, old_tid)).digits)

        tokens = await engine.key_change(old, new, rollover=True)
        assert [t.kind for t in tokens] == ["key_change", "key_change"]
        for t in tokens:
            vm.enter(t.digits)
        assert vm.krn == 2 and int(vm.base_date) == 2014 and set(vm.tid_memory) == {0}
        assert vm.decoder_key == decoder_key(new, new_material)

        new_tid = tid_at(NOW, 2014)
        assert new_tid < old_tid  # the rollover is what lets the small new TIDs in
        vm.enter((await engine.credit(new, 50, new_tid)).digits)
        assert vm.credit[0] == 60
        stale = await engine.credit(old, 50, old_tid + 1)
        with pytest.raises(sts.AuthenticationError):
            vm.enter(stale.digits)
        assert vm.credit[0] == 60


async def test_missing_retired_and_expired_keys_are_clear_errors(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        row, _ = await import_key(session, store, sgc=123456, krn=1)
        row_id = row.id
        meter = data_for(MeterSpec(5))
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        with pytest.raises(VendingKeyUnavailable, match="No vending key is loaded for SGC 123456 KRN 3 KT 2"):
            await engine.credit(replace(meter, krn=3), 10, 1)
        with pytest.raises(TokenEngineError, match="DKGA04"):
            await engine.credit(replace(meter, dkga="04"), 10, 1)
        late = SoftwareTokenEngine(
            store,
            engine._lookup,
            cache=DecoderKeyCache(),
            clock=lambda: NOW + timedelta(days=1),
        )
        from backend.domain.keys.models import VendingKey

        await session.rollback()  # the engine reads inside the caller's transaction
        async with session.begin():
            stored = await session.get(VendingKey, row_id)
            assert stored is not None
            stored.expires_at = NOW
        with pytest.raises(VendingKeyUnavailable, match="expired on 2024-06-01"):
            await late.credit(meter, 10, 1)
        await session.rollback()
        await service.retire_vending_key(session, SYSTEM, row_id)
        with pytest.raises(VendingKeyUnavailable, match="retired"):
            await engine.credit(meter, 10, 1)
        # moving away from a retired key still works: the key change is encrypted under it
        await session.rollback()
        _, _new = await import_key(session, store, sgc=123456, krn=2)
        assert len(await engine.key_change(meter, replace(meter, krn=2), rollover=False)) == 2


async def test_decoder_keys_are_cached_and_bounded(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        await import_key(session, store, sgc=123456, krn=1)
        cache = DecoderKeyCache(maxsize=2)
        engine = SoftwareTokenEngine.for_session(session, store, cache=cache)
        meters = [data_for(MeterSpec(n)) for n in (10, 11, 12)]
        first = await engine.credit(meters[0], 10, 100)
        assert len(cache) == 1
        assert (await engine.credit(meters[0], 10, 100)).digits == first.digits
        for m in meters[1:]:
            await engine.credit(m, 10, 100)
        assert len(cache) == 2 and "SecretBytes" not in repr(cache)


async def test_pending_change_becomes_tokens_then_updates_the_meter(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        _, old_material = await import_key(session, store, sgc=123456, krn=1, base_date=1993)
        await import_key(session, store, sgc=123456, krn=2, base_date=2014)
        unit = await org_unit_id(session)
        row = await make_meter(session, unit, MeterSpec(20))
        async with session.begin():
            row.last_tid = tid_at(NOW, 1993)
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        vm = virtual_meter(service.meter_key_data(row), old_material)

        async with session.begin():
            assert await service.tokens_for_pending_change(session, engine, row) is None
        change = await service.schedule_key_change(
            session, SYSTEM, row.id, KeyChangeRequest(krn=2, base_date=2014), reason="2014 TID rollover"
        )
        assert change.rollover and change.status == "pending"
        async with session.begin():
            tokens = await service.tokens_for_pending_change(session, engine, row)
            assert tokens is not None
            for t in tokens:
                vm.enter(t.digits)
            await service.mark_issued(session, change, SYSTEM)
        await session.refresh(row)
        assert row.krn == 2 and row.base_date == 2014 and row.last_tid is None
        assert change.status == "issued" and change.issued_at is not None
        tid = next_tid(row.last_tid, tid_at(NOW, 2014))
        token = await engine.credit(service.meter_key_data(row), 75, tid)
        vm.enter(token.digits)
        assert vm.credit[0] == 75
        assert await service.tokens_for_pending_change(session, engine, row) is None


async def test_a_key_the_caller_read_is_used_only_inside_its_block(settings: Settings) -> None:
    # The sale reads the meter's vending key with its context and hands it to the engine's look-up;
    # what it handed over must not outlive the sale (a key retired since must be seen), nor reach
    # another task.
    store = keystore(settings)
    async with db_session(settings) as session:
        await import_key(session, store, sgc=123456, krn=1)
        find = database_lookup(session)
        async with session.begin():
            with vending_key_read(123456, 1, 2, None):
                assert await find(123456, 1, 2) is None
                # A task in a fresh context (not started from inside the block) reads the key itself.
                elsewhere = await asyncio.create_task(find(123456, 1, 2), context=contextvars.Context())
                assert elsewhere is not None and elsewhere.status == "active"
            found = await find(123456, 1, 2)
            assert found is not None and found.binding.sgc == 123456 and found.status == "active"
