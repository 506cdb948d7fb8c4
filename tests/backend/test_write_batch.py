"""The write batch (backend.db.batch): its writes land exactly as separate statements would, in the
session's transaction, on SQLite and PostgreSQL (where they are one statement)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.batch import WriteBatch, next_id_columns
from backend.db.prepared import Prepared
from backend.domain.customers.models import Account
from backend.domain.ledger.models import LedgerEntry, LedgerTransaction
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
    dialect = session.get_bind().dialect.name
    first, second = await Prepared(
        select(*next_id_columns(dialect, LedgerTransaction, LedgerTransaction))
    ).one(session)
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
