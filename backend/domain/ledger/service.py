"""Posting to the ledger inside the caller's transaction, keeping customer balances in step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from backend.db.batch import WriteBatch, next_id_columns
from backend.db.prepared import Executor, Prepared, detached
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.customers.models import Account
from backend.domain.errors import Conflict
from backend.domain.ledger.models import LedgerEntry, LedgerTransaction
from backend.domain.ledger.rules import Line, check_balanced, subledger_deltas

# The id of a new ledger transaction (allocated before it is written, see backend.db.batch).
_NEXT_ID = Prepared(select(*next_id_columns(LedgerTransaction)))


@dataclass(frozen=True, slots=True)
class Posting:
    """One balanced posting as rows to write: the transaction (without its id), its entries (without
    the transaction's id) and the customer balance changes (account id, credit change, debt change)."""

    transaction: dict[str, Any]
    entries: list[dict[str, Any]]
    balance_moves: list[tuple[int, int, int]]


def posting(
    actor: Actor,
    *,
    kind: str,
    reference: str,
    description: str,
    lines: Sequence[Line],
    org_unit_id: int | None = None,
    reverses_id: int | None = None,
) -> Posting:
    """The rows of a balanced posting (UnbalancedPosting unless the lines balance)."""
    kept = check_balanced(lines)
    transaction = {
        "at": utcnow(),
        "kind": kind,
        "reference": reference,
        "description": description[:300],
        "reverses_id": reverses_id,
        "org_unit_id": org_unit_id,
        "actor_name": actor.name,
    }
    entries = [
        {
            "account": line.account.value,
            "amount_minor": line.amount_minor,
            "currency": line.currency,
            "customer_account_id": line.customer_account_id,
            "memo": line.memo,
        }
        for line in kept
    ]
    moves = [
        (account_id, credit_delta, debt_delta)
        for account_id, (credit_delta, debt_delta) in sorted(subledger_deltas(kept).items())
        if credit_delta != 0 or debt_delta != 0
    ]
    return Posting(transaction, entries, moves)


async def next_transaction_id(session: AsyncSession) -> int:
    """Allocate the id of a ledger transaction the caller is about to write in this transaction."""
    return int(await _NEXT_ID.scalar(session))


def add_posting(batch: WriteBatch, posted: Posting, transaction_id: int) -> list[int]:
    """Add the writes of ``posted`` under its allocated id to ``batch``: the transaction, its entries
    and one atomic balance UPDATE per customer account. Returns the batch parts of those updates, for
    :func:`check_applied` once the batch is flushed."""
    batch.insert(LedgerTransaction, [{"id": transaction_id, **posted.transaction}])
    batch.insert(LedgerEntry, [{"transaction_id": transaction_id, **entry} for entry in posted.entries])
    return [
        batch.update(
            Account,
            where={"id": account_id},
            add={"credit_minor": credit_delta, "debt_minor": debt_delta},
            returning=("credit_minor", "debt_minor"),
        )
        for account_id, credit_delta, debt_delta in posted.balance_moves
    ]


def check_applied(
    executor: Executor,
    posted: Posting,
    transaction_id: int,
    parts: Sequence[int],
    results: Mapping[int, tuple[Any, ...] | None],
) -> LedgerTransaction:
    """After the batch of :func:`add_posting` is flushed: Conflict when a customer account was not
    found, else keep accounts a session has loaded in step; returns the transaction as written
    (detached)."""
    for (account_id, _, _), part in zip(posted.balance_moves, parts, strict=True):
        balances = results.get(part)
        if balances is None:
            raise Conflict(f"Customer account {account_id} does not exist.")
        if isinstance(executor, AsyncSession):
            _refresh_loaded_account(executor, account_id, *balances)
    return detached(LedgerTransaction, {"id": transaction_id, **posted.transaction})


async def post(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    reference: str,
    description: str,
    lines: Sequence[Line],
    org_unit_id: int | None = None,
    reverses_id: int | None = None,
) -> LedgerTransaction:
    """Write one balanced posting and apply its customer sub-ledger changes, in the caller's transaction.

    Customer credit and debt on ``accounts`` change by one atomic ``UPDATE`` each; the database's
    CHECK constraints refuse a balance below zero, so the whole transaction fails rather than letting
    a customer spend credit they do not have. Two round trips: the id, then every write (one
    statement on PostgreSQL, see backend.db.batch).
    """
    posted = posting(
        actor,
        kind=kind,
        reference=reference,
        description=description,
        lines=lines,
        org_unit_id=org_unit_id,
        reverses_id=reverses_id,
    )
    transaction_id = await next_transaction_id(session)
    batch = WriteBatch()
    parts = add_posting(batch, posted, transaction_id)
    return check_applied(session, posted, transaction_id, parts, await batch.flush(session))


def _refresh_loaded_account(
    session: AsyncSession, account_id: int, credit_minor: int, debt_minor: int
) -> None:
    """Keep an Account the session has already loaded in step with the balances just written."""
    loaded = session.identity_map.get(identity_key(Account, account_id))
    if loaded is not None:
        set_committed_value(loaded, "credit_minor", credit_minor)
        set_committed_value(loaded, "debt_minor", debt_minor)


async def lines_of(session: AsyncSession, transaction_id: int) -> list[Line]:
    from backend.domain.ledger.rules import LedgerAccount

    rows = (
        (await session.execute(select(LedgerEntry).where(LedgerEntry.transaction_id == transaction_id)))
        .scalars()
        .all()
    )
    return [
        Line(LedgerAccount(r.account), r.amount_minor, r.currency, r.customer_account_id, r.memo)
        for r in rows
    ]


async def trial_balance(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Sum of entries per (account, currency); the grand total per currency is always zero."""
    rows = await session.execute(
        select(LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)).group_by(
            LedgerEntry.account, LedgerEntry.currency
        )
    )
    return {(account, currency): int(total) for account, currency, total in rows.all()}


async def unbalanced_transactions(session: AsyncSession) -> list[int]:
    """Ids of postings whose entries do not sum to zero per currency (must always be empty)."""
    rows = await session.execute(
        select(LedgerEntry.transaction_id)
        .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount_minor) != 0)
    )
    return sorted({int(r[0]) for r in rows.all()})


async def subledger_mismatches(session: AsyncSession) -> list[int]:
    """Customer accounts whose stored credit/debt differ from the sum of their ledger entries."""
    from backend.domain.ledger.rules import LedgerAccount

    sums = await session.execute(
        select(LedgerEntry.customer_account_id, LedgerEntry.account, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.customer_account_id.is_not(None))
        .group_by(LedgerEntry.customer_account_id, LedgerEntry.account)
    )
    expected: dict[int, list[int]] = {}
    for account_id, account, total in sums.all():
        assert account_id is not None
        pair = expected.setdefault(int(account_id), [0, 0])
        if account == LedgerAccount.CUSTOMER_CREDIT.value:
            pair[0] += -int(total)
        elif account == LedgerAccount.DEBT_RECEIVABLE.value:
            pair[1] += int(total)
    rows = (await session.execute(select(Account.id, Account.credit_minor, Account.debt_minor))).all()
    return sorted(
        account_id
        for account_id, credit_minor, debt_minor in rows
        if tuple(expected.get(account_id, [0, 0])) != (credit_minor, debt_minor)
    )
