"""The double-entry ledger: balanced, immutable postings that keep customer balances in step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.customers.models import Account
from backend.domain.ledger import service as ledger
from backend.domain.ledger.rules import (
    LedgerAccount as L,
)
from backend.domain.ledger.rules import (
    Line,
    UnbalancedPosting,
    check_balanced,
    credit,
    debit,
    reversal_of,
    subledger_deltas,
)
from tests.support.rows import make_account

amounts = st.integers(min_value=0, max_value=10**9)


@given(st.lists(amounts, min_size=1, max_size=8))
def test_a_posting_split_over_many_credits_balances(parts: list[int]) -> None:
    lines = [debit(L.CASH, sum(parts), "KES")] + [credit(L.ENERGY_REVENUE, p, "KES") for p in parts]
    if sum(parts) == 0:
        with pytest.raises(UnbalancedPosting):
            check_balanced(lines)
        return
    kept = check_balanced(lines)
    assert sum(line.amount_minor for line in kept) == 0
    assert sum(line.amount_minor for line in reversal_of(kept)) == 0
    assert all(a.amount_minor == -b.amount_minor for a, b in zip(kept, reversal_of(kept), strict=True))


@given(amounts.filter(lambda a: a > 0), st.integers(min_value=1, max_value=1000))
def test_an_unbalanced_posting_is_refused(amount: int, off_by: int) -> None:
    with pytest.raises(UnbalancedPosting, match="do not balance"):
        check_balanced([debit(L.CASH, amount + off_by, "KES"), credit(L.ENERGY_REVENUE, amount, "KES")])


def test_currencies_balance_separately() -> None:
    with pytest.raises(UnbalancedPosting):
        check_balanced([debit(L.CASH, 100, "KES"), credit(L.ENERGY_REVENUE, 100, "UGX")])


def test_customer_subledger_entries_must_name_the_account() -> None:
    with pytest.raises(UnbalancedPosting, match="customer account"):
        check_balanced([debit(L.CASH, 5, "KES"), credit(L.CUSTOMER_CREDIT, 5, "KES")])


def test_subledger_deltas_follow_the_sign_convention() -> None:
    lines = [
        debit(L.CASH, 1000, "KES"),
        credit(L.DEBT_RECEIVABLE, 250, "KES", customer_account_id=7),
        credit(L.CUSTOMER_CREDIT, 30, "KES", customer_account_id=7),
        credit(L.ENERGY_REVENUE, 720, "KES"),
    ]
    assert subledger_deltas(lines) == {7: (30, -250)}


async def test_posting_moves_customer_balances_in_the_same_transaction(session: AsyncSession) -> None:
    rows = await make_account(session)
    async with session.begin():
        await ledger.post(
            session,
            SYSTEM,
            kind="opening",
            reference="open:1",
            description="arrears taken over",
            lines=[
                debit(L.DEBT_RECEIVABLE, 500, "KES", customer_account_id=rows.account_id),
                credit(L.OPENING_BALANCES, 500, "KES"),
            ],
        )
        await ledger.post(
            session,
            SYSTEM,
            kind="vend",
            reference="vend:1",
            description="purchase",
            lines=[
                debit(L.CASH, 1000, "KES"),
                credit(L.DEBT_RECEIVABLE, 250, "KES", customer_account_id=rows.account_id),
                credit(L.ENERGY_REVENUE, 700, "KES"),
                credit(L.CUSTOMER_CREDIT, 50, "KES", customer_account_id=rows.account_id),
            ],
        )
    async with session.begin():
        account = await session.get(Account, rows.account_id, populate_existing=True)
        assert account is not None and (account.credit_minor, account.debt_minor) == (50, 250)
        balance = await ledger.trial_balance(session)
        assert sum(balance.values()) == 0
        assert balance[("cash", "KES")] == 1000
        assert await ledger.unbalanced_transactions(session) == []
        assert await ledger.subledger_mismatches(session) == []


async def test_credit_cannot_be_spent_twice(session: AsyncSession) -> None:
    rows = await make_account(session)
    async with session.begin():
        await ledger.post(
            session,
            SYSTEM,
            kind="credit",
            reference="c",
            description="remainder",
            lines=[
                debit(L.CASH, 40, "KES"),
                credit(L.CUSTOMER_CREDIT, 40, "KES", customer_account_id=rows.account_id),
            ],
        )
    spend = [
        debit(L.CUSTOMER_CREDIT, 40, "KES", customer_account_id=rows.account_id),
        credit(L.ENERGY_REVENUE, 40, "KES"),
    ]
    async with session.begin():
        await ledger.post(
            session, SYSTEM, kind="vend", reference="v1", description="uses credit", lines=spend
        )
    with pytest.raises(IntegrityError):
        async with session.begin():
            await ledger.post(session, SYSTEM, kind="vend", reference="v2", description="again", lines=spend)
    async with session.begin():
        assert await ledger.subledger_mismatches(session) == []
        account = await session.get(Account, rows.account_id, populate_existing=True)
        assert account is not None and account.credit_minor == 0


async def test_a_correction_is_a_new_posting_and_entries_cannot_change(session: AsyncSession) -> None:
    rows = await make_account(session)
    async with session.begin():
        original = await ledger.post(
            session,
            SYSTEM,
            kind="vend",
            reference="v",
            description="sale",
            lines=[
                debit(L.CASH, 300, "KES"),
                credit(L.CUSTOMER_CREDIT, 300, "KES", customer_account_id=rows.account_id),
            ],
        )
    async with session.begin():
        correction = await ledger.post(
            session,
            SYSTEM,
            kind="credit_note",
            reference="cn",
            description="approved correction",
            lines=reversal_of(await ledger.lines_of(session, original.id)),
            reverses_id=original.id,
        )
    assert correction.reverses_id == original.id
    async with session.begin():
        assert sum((await ledger.trial_balance(session)).values()) == 0
        account = await session.get(Account, rows.account_id, populate_existing=True)
        assert account is not None and account.credit_minor == 0
    for statement in ("UPDATE ledger_entries SET amount_minor = 1", "DELETE FROM ledger_transactions"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin():
                await session.execute(text(statement))


def test_lines_are_plain_values() -> None:
    line = Line(L.CASH, 5, "KES")
    assert line == Line(L.CASH, 5, "KES")
