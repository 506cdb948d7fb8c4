"""The write batch (backend.db.batch): its writes land exactly as separate statements would, in the
session's transaction, on SQLite and PostgreSQL (where they are one statement)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, Text, bindparam, func, select
from sqlalchemy.exc import CompileError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.db.batch import Bind, Columns, WriteBatch, next_id_columns
from backend.db.prepared import Prepared
from backend.db.sql_functions import ROW_VERSION, row_version, sha256_hex, zero_padded
from backend.domain.customers.models import Account
from backend.domain.ledger.models import LedgerEntry, LedgerTransaction
from backend.domain.vending.models import ReceiptCounter
from backend.settings import Settings
from tests.support.world import World, build_world

AT = datetime(2026, 11, 30, 5, 20, 0, 125_000, tzinfo=UTC)


@pytest.fixture
async def world(session: AsyncSession, settings: Settings) -> World:
    return await build_world(session, settings)


def _transaction(transaction_id: int, reference: str = "batch") -> dict[str, object]:
    return {
        "id": transaction_id,
        "at": AT,
        "kind": "adjustment",
        "reference": reference,
        "description": "A batched posting",
        "reverses_id": None,
        "org_unit_id": None,
        "actor_name": "Test",
    }


def _entry(transaction_id: int, account: str, amount: int, customer: int | None) -> dict[str, object]:
    return {
        "transaction_id": transaction_id,
        "account": account,
        "amount_minor": amount,
        "currency": "KES",
        "customer_account_id": customer,
        "memo": None,
    }


async def _next_ids(session: AsyncSession) -> tuple[int, int]:
    first, second = await Prepared(select(*next_id_columns(LedgerTransaction, LedgerTransaction))).one(
        session
    )
    return int(first), int(second)


async def test_a_batch_writes_rows_and_updates_and_returns_what_the_update_returned(
    session: AsyncSession, world: World
) -> None:
    async with session.begin():
        transaction_id, _ = await _next_ids(session)
        batch = WriteBatch()
        batch.insert(LedgerTransaction, [_transaction(transaction_id)])
        batch.insert(
            LedgerEntry,
            [
                _entry(transaction_id, "cash_clearing", 2_500, None),
                _entry(transaction_id, "customer_credit", -2_500, world.account_id),
            ],
        )
        part = batch.update(
            Account,
            where={"id": world.account_id},
            add={"credit_minor": 2_500, "debt_minor": 0},
            returning=("credit_minor", "debt_minor"),
        )
        results = await batch.flush(session)
    assert results == {part: (2_500, 0)}
    async with session.begin():
        written = await session.get(LedgerTransaction, transaction_id)
        assert written is not None and written.at == AT and written.reference == "batch"
        amounts = (
            await session.scalars(
                select(LedgerEntry.amount_minor)
                .where(LedgerEntry.transaction_id == transaction_id)
                .order_by(LedgerEntry.amount_minor)
            )
        ).all()
        assert amounts == [-2_500, 2_500]
        account = await session.get(Account, world.account_id)
        assert account is not None and account.credit_minor == 2_500


async def test_an_update_that_finds_no_row_gives_none(session: AsyncSession, world: World) -> None:
    async with session.begin():
        transaction_id, _ = await _next_ids(session)
        batch = WriteBatch()
        batch.insert(LedgerTransaction, [_transaction(transaction_id)])
        part = batch.update(
            Account,
            where={"id": world.account_id + 1000},
            add={"credit_minor": 1},
            returning=("credit_minor",),
        )
        assert await batch.flush(session) == {part: None}


async def test_a_failing_part_writes_nothing_of_the_batch(session: AsyncSession, world: World) -> None:
    # The credit CHECK refuses a balance below zero: the posting before it must not stay.
    with pytest.raises(IntegrityError):
        async with session.begin():
            transaction_id, _ = await _next_ids(session)
            batch = WriteBatch()
            batch.insert(LedgerTransaction, [_transaction(transaction_id, "refused")])
            batch.update(Account, where={"id": world.account_id}, add={"credit_minor": -1})
            await batch.flush(session)
    async with session.begin():
        count = await session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.reference == "refused")
        )
        assert count == 0


async def test_allocated_ids_are_new_and_distinct(session: AsyncSession, world: World) -> None:
    async with session.begin():
        first, second = await _next_ids(session)
        batch = WriteBatch()
        batch.insert(LedgerTransaction, [_transaction(first)])
        await batch.flush(session)
        third, _ = await _next_ids(session)
    existing = set((await session.scalars(select(LedgerTransaction.id))).all())
    assert first in existing
    assert third not in existing and third > first
    # PostgreSQL's sequence hands out a new id per call; SQLite's "largest plus one" gives the same id
    # twice until a row takes it (one write transaction at a time holds the database there).
    assert second != first if session.get_bind().dialect.name == "postgresql" else second == first


def _counted(counter: Columns, bind: Bind) -> ColumnElement[object]:
    return bind("start", Text()) + zero_padded(counter.last, 6)


def _add_counted_transaction(batch: WriteBatch, transaction_id: int, source: int, start: str) -> None:
    """A ledger transaction whose reference is ``start`` and the zero-padded ``last`` of the counter
    (or UPDATE) part ``source``."""
    row = {key: value for key, value in _transaction(transaction_id).items() if key != "reference"}
    batch.insert(
        LedgerTransaction,
        [row],
        source=source,
        computed={"reference": _counted},
        computed_params={"start": start},
    )


def _doubled_credit(account: Columns, bind: Bind) -> ColumnElement[object]:
    return account.credit_minor * 2 + bind("extra", BigInteger())


async def test_a_counter_starts_at_one_and_a_sourced_row_takes_its_value(
    session: AsyncSession, world: World
) -> None:
    for expected in (1, 2):
        async with session.begin():
            transaction_id, _ = await _next_ids(session)
            batch = WriteBatch()
            counter = batch.increment(ReceiptCounter, key={"key": "TEST:20261130"}, column="last")
            _add_counted_transaction(batch, transaction_id, counter, "TEST-20261130-")
            assert await batch.flush(session) == {counter: (expected,)}
    async with session.begin():
        references = (
            await session.scalars(select(LedgerTransaction.reference).order_by(LedgerTransaction.id))
        ).all()
    assert references[-2:] == ["TEST-20261130-000001", "TEST-20261130-000002"]


async def test_an_update_computes_from_the_row_it_changes_and_a_row_sourced_from_a_missing_row_is_not_written(
    session: AsyncSession, world: World
) -> None:
    async with session.begin():
        batch = WriteBatch()
        batch.update(Account, where={"id": world.account_id}, add={"credit_minor": 300})
        await batch.flush(session)
    async with session.begin():
        transaction_id, _ = await _next_ids(session)
        batch = WriteBatch()
        changed = batch.update(
            Account,
            where={"id": world.account_id},
            computed={"credit_minor": _doubled_credit},
            computed_params={"extra": 5},
            returning=("credit_minor",),
        )
        missing = batch.update(
            ReceiptCounter, where={"key": "no such counter"}, add={"last": 1}, returning=("last",)
        )
        _add_counted_transaction(batch, transaction_id, missing, "never-")
        assert await batch.flush(session) == {changed: (605,), missing: None}
        assert await session.get(LedgerTransaction, transaction_id) is None


async def test_two_changes_of_a_row_are_one_update(session: AsyncSession, world: World) -> None:
    # PostgreSQL applies only one of two UPDATEs of a row in one statement, without an error: the
    # batch merges them, and each change's returned columns come back under both parts.
    async with session.begin():
        batch = WriteBatch()
        first = batch.update(
            Account, where={"id": world.account_id}, add={"credit_minor": 40}, returning=("credit_minor",)
        )
        batch.insert(LedgerTransaction, [_transaction((await _next_ids(session))[0], "between")])
        second = batch.update(
            Account,
            where={"id": world.account_id},
            values={"fbe_eligible": True},
            add={"debt_minor": 7},
            returning=("debt_minor",),
        )
        assert second == first
        assert await batch.flush(session) == {first: (40, 7)}
    async with session.begin():
        account = await session.get(Account, world.account_id)
        assert account is not None
        assert (account.credit_minor, account.debt_minor, account.fbe_eligible) == (40, 7, True)


def test_two_changes_of_a_row_may_not_set_one_column_twice() -> None:
    batch = WriteBatch()
    batch.update(Account, where={"id": 1}, add={"credit_minor": 1})
    with pytest.raises(AssertionError, match="set the same column"):
        batch.update(Account, where={"id": 1}, values={"credit_minor": 5})


def test_a_counter_changes_its_row_once() -> None:
    batch = WriteBatch()
    batch.increment(ReceiptCounter, key={"key": "K"}, column="last")
    with pytest.raises(AssertionError, match="changed once"):
        batch.update(ReceiptCounter, where={"key": "K"}, add={"last": 1})


async def _conditional_batch(
    session: AsyncSession, world: World, credit_seen: int
) -> tuple[WriteBatch, int, int, int]:
    """A posting, a counter and a counted row, written only if the account still holds ``credit_seen``."""
    transaction_id, _ = await _next_ids(session)
    batch = WriteBatch()
    held = batch.require(
        Account, where={"id": world.account_id}, equal={"credit_minor": credit_seen, "close_reason": None}
    )
    balance = batch.update(
        Account, where={"id": world.account_id}, add={"credit_minor": 10}, returning=("credit_minor",)
    )
    counter = batch.increment(ReceiptCounter, key={"key": "COND"}, column="last")
    _add_counted_transaction(batch, transaction_id, counter, "COND-")
    return batch, held, balance, transaction_id


async def test_a_batch_whose_condition_holds_writes(session: AsyncSession, world: World) -> None:
    async with session.begin():
        batch, held, balance, transaction_id = await _conditional_batch(session, world, 0)
        results = await batch.flush(session)
    assert results[held] == (world.account_id,) and results[balance] == (10,)
    async with session.begin():
        assert await session.get(LedgerTransaction, transaction_id) is not None


async def test_a_batch_whose_condition_fails_writes_nothing(session: AsyncSession, world: World) -> None:
    async with session.begin():
        batch, held, balance, transaction_id = await _conditional_batch(session, world, 99)
        results = await batch.flush(session)
    assert results[held] is None and results[balance] is None
    async with session.begin():
        assert await session.get(LedgerTransaction, transaction_id) is None
        account = await session.get(Account, world.account_id)
        assert account is not None and account.credit_minor == 0
        counter = await session.get(ReceiptCounter, "COND")
        assert counter is None


async def _account_version(session: AsyncSession, account_id: int) -> int:
    query = select(row_version(Account)).where(Account.id == bindparam("id"))
    return int(await Prepared(query).scalar(session, {"id": account_id}))


def _credit_if_unchanged(world: World, version: int) -> tuple[WriteBatch, int, int]:
    batch = WriteBatch()
    held = batch.require(Account, where={"id": world.account_id}, equal={ROW_VERSION: version})
    part = batch.update(
        Account, where={"id": world.account_id}, add={"credit_minor": 1}, returning=("credit_minor",)
    )
    return batch, held, part


async def test_a_row_version_holds_until_the_row_is_updated(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    if settings.is_sqlite:
        with pytest.raises(CompileError, match="PostgreSQL"):
            async with session.begin():
                await _account_version(session, world.account_id)
        return
    async with session.begin():
        version = await _account_version(session, world.account_id)
        assert version == await _account_version(session, world.account_id)
    async with session.begin():
        batch, held, part = _credit_if_unchanged(world, version)
        assert await batch.flush(session) == {held: (world.account_id,), part: (1,)}
    async with session.begin():
        assert await _account_version(session, world.account_id) != version
        batch, held, part = _credit_if_unchanged(world, version)  # the version read before the update
        assert await batch.flush(session) == {held: None, part: None}
        account = await session.get(Account, world.account_id)
        assert account is not None and account.credit_minor == 1


async def test_a_batch_outside_the_transaction_commits_on_its_own(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite's session connection is always in its BEGIN IMMEDIATE")
    transaction = await session.begin()
    batch = WriteBatch()
    part = batch.update(
        Account, where={"id": world.account_id}, add={"credit_minor": 3}, returning=("credit_minor",)
    )
    assert await batch.flush(session, in_transaction=False) == {part: (3,)}
    await transaction.rollback()
    async with session.begin():
        account = await session.get(Account, world.account_id, populate_existing=True)
        assert account is not None and account.credit_minor == 3


def test_conditions_come_before_writes() -> None:
    batch = WriteBatch()
    batch.update(Account, where={"id": 1}, add={"credit_minor": 1})
    with pytest.raises(AssertionError, match="before writes"):
        batch.require(Account, where={"id": 1}, equal={"credit_minor": 1})


@pytest.mark.parametrize("text", ["", "abc", 'Ñandú \u2013 電気 "quoted" \\ back|slash'])
async def test_sha256_in_the_database_is_pythons(session: AsyncSession, text: str) -> None:
    async with session.begin():
        found = await Prepared(select(sha256_hex(bindparam("text", type_=Text())))).scalar(
            session, {"text": text}
        )
    assert found == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("number", [0, 7, 123456, 1234567])
async def test_zero_padding_in_the_database_is_pythons(session: AsyncSession, number: int) -> None:
    async with session.begin():
        found = await Prepared(select(zero_padded(bindparam("n", type_=BigInteger()), 6))).scalar(
            session, {"n": number}
        )
    assert found == f"{number:06d}"
