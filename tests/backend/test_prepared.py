"""Prepared statements (backend.db.prepared) read and write exactly what the ORM does, inside the
session's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.prepared import EntityColumns, Prepared, run_in_sequence
from backend.domain.assets.models import Meter
from backend.domain.customers.models import Account, Customer
from backend.domain.keys.models import VendingKey
from backend.domain.ledger.models import LedgerTransaction
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import TariffVersion
from backend.settings import Settings
from tests.support.world import World, build_world

_TRANSACTION_COLUMNS = ("at", "kind", "reference", "description", "reverses_id", "org_unit_id", "actor_name")
_INSERT_TRANSACTIONS = Prepared(
    insert(LedgerTransaction).values({key: bindparam(key) for key in _TRANSACTION_COLUMNS})
)
_INSERT_TRANSACTION = Prepared(
    insert(LedgerTransaction)
    .values({key: bindparam(key) for key in _TRANSACTION_COLUMNS})
    .returning(LedgerTransaction.id)
)
_COUNT = Prepared(
    select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "probe")
)


@pytest.fixture
async def world(session: AsyncSession, settings: Settings) -> World:
    return await build_world(session, settings)


def _probe(**overrides: object) -> dict[str, object]:
    return {
        "at": datetime(2026, 11, 30, 7, 15, 1, 250_000, tzinfo=UTC),
        "kind": "probe",
        "reference": "probe",
        "description": "A prepared write",
        "reverses_id": None,
        "org_unit_id": None,
        "actor_name": "Test",
        **overrides,
    }


@pytest.mark.parametrize("model", [Meter, Account, Customer, TariffVersion, VendingKey])
async def test_rows_read_by_a_prepared_statement_equal_what_the_orm_loads(
    session: AsyncSession, world: World, model: type
) -> None:
    # Dates, aware timestamps, binary key material, booleans, JSON text: every column type of the
    # tables the sale reads comes back as the ORM gives it.
    entity = EntityColumns.of(model)
    statement = Prepared(select(*entity.columns))
    async with session.begin():
        prepared = {obj.id: obj for obj in map(entity.build, await statement.rows(session))}
        loaded = (await session.execute(select(model))).scalars().all()
        assert loaded and set(prepared) == {obj.id for obj in loaded}
        for obj in loaded:
            for key in entity.keys:
                assert getattr(prepared[obj.id], key) == getattr(obj, key), (model.__name__, key)


async def test_a_prepared_insert_is_read_back_by_the_orm_and_commits_with_the_session(
    session: AsyncSession,
) -> None:
    async with session.begin():
        new_id = await _INSERT_TRANSACTION.scalar(session, _probe())
    async with session.begin():
        row = await session.get(LedgerTransaction, new_id)
        assert row is not None
        assert row.at == datetime(2026, 11, 30, 7, 15, 1, 250_000, tzinfo=UTC)
        assert row.description == "A prepared write" and row.reverses_id is None


async def test_a_prepared_statement_that_begins_the_transaction_rolls_back_with_it(
    session: AsyncSession,
) -> None:
    # On PostgreSQL SQLAlchemy begins lazily: a prepared statement that comes first must still be
    # inside the transaction, or the rollback would not undo it.
    with pytest.raises(RuntimeError, match="undo"):
        async with session.begin():
            await _INSERT_TRANSACTION.scalar(session, _probe())
            raise RuntimeError("undo")
    async with session.begin():
        assert await _COUNT.scalar(session) == 0


async def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_nothing_stays(
    session: AsyncSession, world: World
) -> None:
    station = Prepared(select(OrgUnit.code).where(OrgUnit.id == bindparam("id")))
    with pytest.raises(IntegrityError):
        async with session.begin():
            await _INSERT_TRANSACTION.scalar(session, _probe())
            await _INSERT_TRANSACTION.scalar(session, _probe(reverses_id=10**12))  # no such transaction
    async with session.begin():
        assert await _COUNT.scalar(session) == 0
        assert await station.scalar(session, {"id": world.station_id}) is not None


async def test_pending_orm_changes_are_written_before_a_prepared_statement_runs(
    session: AsyncSession, world: World
) -> None:
    names = Prepared(select(Customer.name).where(Customer.id == bindparam("id")))
    async with session.begin():
        customer = await session.get(Customer, world.customer_id)
        assert customer is not None
        customer.name = "Changed Before The Statement"
        assert await names.scalar(session, {"id": world.customer_id}) == "Changed Before The Statement"


async def test_outside_a_transaction_a_prepared_statement_begins_one_as_execute_does(
    session: AsyncSession,
) -> None:
    await _INSERT_TRANSACTION.scalar(session, _probe())
    await session.rollback()
    assert await _COUNT.scalar(session) == 0
    await _INSERT_TRANSACTION.scalar(session, _probe())
    await session.commit()
    assert await _COUNT.scalar(session) == 1
    await session.commit()


async def test_execute_many_writes_every_row_in_one_call(session: AsyncSession) -> None:
    async with session.begin():
        await _INSERT_TRANSACTIONS.execute_many(session, [_probe(reference=f"p{i}") for i in range(5)])
        await _INSERT_TRANSACTIONS.execute_many(session, [])
        assert await _COUNT.scalar(session) == 5


async def test_statements_run_in_sequence_give_each_its_rows_and_stop_at_the_first_failure(
    session: AsyncSession, world: World
) -> None:
    station = Prepared(select(OrgUnit.code).where(OrgUnit.id == bindparam("id")))
    async with session.begin():
        inserted, count, code = await run_in_sequence(
            session, [(_INSERT_TRANSACTION, _probe()), (_COUNT, {}), (station, {"id": world.station_id})]
        )
        assert len(inserted) == 1 and isinstance(inserted[0][0], int)
        assert count == [(1,)] and code[0][0] is not None
    with pytest.raises(IntegrityError):
        async with session.begin():
            await run_in_sequence(
                session,
                [
                    (_INSERT_TRANSACTION, _probe(reference="before")),
                    (_INSERT_TRANSACTION, _probe(reverses_id=10**12)),  # no such transaction
                    (_INSERT_TRANSACTION, _probe(reference="after")),
                ],
            )
    async with session.begin():
        assert await _COUNT.scalar(session) == 1  # the first transaction only
