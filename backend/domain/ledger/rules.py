"""Ledger arithmetic (pure). Sign convention: a positive amount is a debit, a negative amount a credit.

A posting is balanced when its amounts sum to zero per currency. Postings are never changed: a
correction is a new posting with the opposite amounts (see :func:`reversal_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class LedgerAccount(StrEnum):
    """The utility's chart of accounts used by gridvend (code = value)."""

    CASH = "cash"  # asset: cash taken at vending stations
    CARD_CLEARING = "card_clearing"  # asset: card payments awaiting settlement
    MOBILE_MONEY_CLEARING = "mobile_money_clearing"  # asset: mobile money awaiting settlement
    VENDOR_CLEARING = "vendor_clearing"  # asset: owed by banks/ATMs/aggregators for their sales
    DEBT_RECEIVABLE = "debt_receivable"  # asset: customers' old debt, recovered from purchases
    CUSTOMER_CREDIT = "customer_credit"  # liability: money held for customers (purchase remainders)
    AGENT_FLOAT = "agent_float"  # liability: agents' prepaid float
    VAT_PAYABLE = "vat_payable"  # liability
    LEVIES_PAYABLE = "levies_payable"  # liability
    ENERGY_REVENUE = "energy_revenue"  # income
    FIXED_CHARGE_INCOME = "fixed_charge_income"  # income
    CREDIT_NOTES = "credit_notes"  # contra-income: approved corrections after a token was issued
    OPENING_BALANCES = "opening_balances"  # equity: balances taken over from a previous system


ACCOUNT_KINDS: dict[LedgerAccount, str] = {
    LedgerAccount.CASH: "asset",
    LedgerAccount.CARD_CLEARING: "asset",
    LedgerAccount.MOBILE_MONEY_CLEARING: "asset",
    LedgerAccount.VENDOR_CLEARING: "asset",
    LedgerAccount.DEBT_RECEIVABLE: "asset",
    LedgerAccount.CUSTOMER_CREDIT: "liability",
    LedgerAccount.AGENT_FLOAT: "liability",
    LedgerAccount.VAT_PAYABLE: "liability",
    LedgerAccount.LEVIES_PAYABLE: "liability",
    LedgerAccount.ENERGY_REVENUE: "income",
    LedgerAccount.FIXED_CHARGE_INCOME: "income",
    LedgerAccount.CREDIT_NOTES: "income",
    LedgerAccount.OPENING_BALANCES: "equity",
}

# Accounts that hold a per-customer-account balance (the sub-ledger mirrored on accounts rows).
CUSTOMER_SUBLEDGERS = frozenset({LedgerAccount.CUSTOMER_CREDIT, LedgerAccount.DEBT_RECEIVABLE})


class UnbalancedPosting(ValueError):
    """The entries of a posting do not sum to zero in some currency."""


@dataclass(frozen=True, slots=True)
class Line:
    account: LedgerAccount
    amount_minor: int  # + debit, - credit
    currency: str
    customer_account_id: int | None = None
    memo: str | None = None


def debit(account: LedgerAccount, amount_minor: int, currency: str, **kw: object) -> Line:
    if amount_minor < 0:
        raise ValueError("a debit amount cannot be negative")
    return Line(account, amount_minor, currency, **kw)  # type: ignore[arg-type]


def credit(account: LedgerAccount, amount_minor: int, currency: str, **kw: object) -> Line:
    if amount_minor < 0:
        raise ValueError("a credit amount cannot be negative")
    return Line(account, -amount_minor, currency, **kw)  # type: ignore[arg-type]


def totals_by_currency(lines: Iterable[Line]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.currency] += line.amount_minor
    return dict(totals)


def check_balanced(lines: Sequence[Line]) -> list[Line]:
    """Drop zero lines; raise UnbalancedPosting unless the rest sums to zero per currency."""
    kept = [line for line in lines if line.amount_minor != 0]
    if not kept:
        raise UnbalancedPosting("a posting needs at least one non-zero entry")
    off = {cur: total for cur, total in totals_by_currency(kept).items() if total != 0}
    if off:
        raise UnbalancedPosting(f"entries do not balance: {off}")
    for line in kept:
        if line.account in CUSTOMER_SUBLEDGERS and line.customer_account_id is None:
            raise UnbalancedPosting(f"an entry on {line.account.value} must name the customer account")
    return kept


def reversal_of(lines: Sequence[Line]) -> list[Line]:
    """The posting that exactly undoes ``lines`` (used for corrections; the original stays)."""
    return [
        Line(line.account, -line.amount_minor, line.currency, line.customer_account_id, line.memo)
        for line in lines
    ]


def subledger_deltas(lines: Iterable[Line]) -> dict[int, tuple[int, int]]:
    """Per customer account: (change of credit held, change of debt owed), in minor units.

    Customer credit is a liability: a credit entry (negative) increases what we hold for the customer.
    Debt receivable is an asset: a debit (positive) increases what the customer owes.
    """
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if line.customer_account_id is None:
            continue
        if line.account is LedgerAccount.CUSTOMER_CREDIT:
            deltas[line.customer_account_id][0] += -line.amount_minor
        elif line.account is LedgerAccount.DEBT_RECEIVABLE:
            deltas[line.customer_account_id][1] += line.amount_minor
    return {k: (v[0], v[1]) for k, v in deltas.items()}
