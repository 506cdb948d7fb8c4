"""Vending arithmetic and formats (pure): request fingerprints, receipt numbers, ledger lines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.domain.ledger.rules import LedgerAccount, Line, credit, debit, reversal_of

PAYMENT_METHODS = ("cash", "card", "mobile_money", "bank")
CHANNELS = ("station", "api", "agent", "portal", "ussd", "sms")

PAYMENT_ACCOUNT: dict[str, LedgerAccount] = {
    "cash": LedgerAccount.CASH,
    "card": LedgerAccount.CARD_CLEARING,
    "mobile_money": LedgerAccount.MOBILE_MONEY_CLEARING,
    "bank": LedgerAccount.VENDOR_CLEARING,
}
PAYMENT_ACCOUNTS = frozenset(PAYMENT_ACCOUNT.values())


def request_fingerprint(fields: Mapping[str, object]) -> str:
    """SHA-256 of the request's business fields: the same reference with other fields is a conflict."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def local_month(moment: datetime, zone: ZoneInfo) -> str:
    return month_of(moment.astimezone(zone))


def month_of(local: datetime) -> str:
    """``yyyy-mm`` of a moment in the utility's time zone (a sale's month)."""
    return f"{local.year:04d}-{local.month:02d}"


def _day_of(local: datetime) -> str:
    return f"{local.year:04d}{local.month:02d}{local.day:02d}"


@dataclass(frozen=True, slots=True)
class MonthTotals:
    """An account's prepaid sales of one month: what the split of the next tender depends on."""

    energy_wh: int = 0
    fixed_minor: int = 0  # fixed charges collected, with their tax
    fbe_wh: int = 0  # free basic electricity issued
    debt_recovered_minor: int = 0

    def plus(self, other: MonthTotals) -> MonthTotals:
        return MonthTotals(
            self.energy_wh + other.energy_wh,
            self.fixed_minor + other.fixed_minor,
            self.fbe_wh + other.fbe_wh,
            self.debt_recovered_minor + other.debt_recovered_minor,
        )


def month_totals_kept(kept_month: str | None, kept: MonthTotals, month: str) -> MonthTotals | None:
    """The account's totals for ``month`` from those its row keeps (of ``kept_month``, its latest
    month with a sale): those when it is the same month, none yet when ``month`` is later (or nothing
    is kept), and None when ``month`` is earlier (a sale dated back: add up that month's sales)."""
    if kept_month is None or month > kept_month:
        return MonthTotals()
    return kept if month == kept_month else None


def month_totals_after(
    kept_month: str | None, kept: MonthTotals, month: str, sale: MonthTotals
) -> tuple[str | None, MonthTotals]:
    """What the account's row keeps after a sale of ``month``: its latest month and that month's
    totals (a sale dated back leaves them as they were)."""
    if kept_month is None or month > kept_month:
        return month, sale
    if month == kept_month:
        return month, kept.plus(sale)
    return kept_month, kept


RECEIPT_SEQ_DIGITS = 6


def receipt_number(start: str, seq: int) -> str:
    """``<unit code>-<local yyyymmdd>-<sequence>``, e.g. ``DPL-CEN-01-20261129-000042``, from its
    :func:`receipt_number_start` and the counter's value."""
    return f"{start}{seq:0{RECEIPT_SEQ_DIGITS}d}"


def receipt_number_start(prefix: str, local: datetime) -> str:
    """The receipt number before its sequence number, e.g. ``DPL-CEN-01-20261129-``, of a sale at
    ``local`` (in the utility's time zone)."""
    return f"{prefix}-{_day_of(local)}-"


def receipt_counter_key(prefix: str, local: datetime) -> str:
    """The receipt counter of a station (or API prefix) and local day."""
    return f"{prefix}:{_day_of(local)}"


def normalise_meter_number(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def group_token(digits: str) -> str:
    """20 digits in five groups of four, as a customer types them."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def vend_ledger_lines(
    *,
    currency: str,
    account_id: int,
    payment_method: str,
    tender_minor: int,
    credit_used_minor: int,
    debt_minor: int,
    fixed_net_minor: int,
    energy_net_minor: int,
    taxes: Sequence[tuple[str, int]],
    change_minor: int,
) -> list[Line]:
    """The balanced posting of one purchase.

    Dr the payment account (tender) and customer credit (credit used); Cr debt receivable (recovered),
    fixed-charge income, energy revenue, VAT/levies payable, and customer credit (the change kept).
    """
    lines = [
        debit(PAYMENT_ACCOUNT[payment_method], tender_minor, currency, memo=f"{payment_method} tender"),
        debit(
            LedgerAccount.CUSTOMER_CREDIT,
            credit_used_minor,
            currency,
            customer_account_id=account_id,
            memo="credit used",
        ),
        credit(
            LedgerAccount.DEBT_RECEIVABLE,
            debt_minor,
            currency,
            customer_account_id=account_id,
            memo="debt recovery",
        ),
        credit(LedgerAccount.FIXED_CHARGE_INCOME, fixed_net_minor, currency, memo="fixed charges"),
        credit(LedgerAccount.ENERGY_REVENUE, energy_net_minor, currency, memo="energy"),
        credit(
            LedgerAccount.CUSTOMER_CREDIT,
            change_minor,
            currency,
            customer_account_id=account_id,
            memo="remainder kept as credit",
        ),
    ]
    for name, amount in taxes:
        account = LedgerAccount.VAT_PAYABLE if "vat" in name.lower() else LedgerAccount.LEVIES_PAYABLE
        lines.append(credit(account, amount, currency, memo=name))
    return lines


def credit_note_lines(original: Sequence[Line], *, credit_held_minor: int) -> tuple[list[Line], int]:
    """The correcting posting of a credit note for a sale, and the money given back to the customer.

    It undoes the sale's posting, except for the part of the remainder kept as credit that the
    customer has since spent (more than ``credit_held_minor`` now held): that part is not taken back
    from the credit but kept out of the refund, so the posting still balances and the customer's
    credit never goes below zero.
    """
    reversed_lines = reversal_of(original)
    credit_taken = sum(
        line.amount_minor for line in reversed_lines if line.account is LedgerAccount.CUSTOMER_CREDIT
    )
    payment = [line for line in reversed_lines if line.account in PAYMENT_ACCOUNTS]
    refund = -sum(line.amount_minor for line in payment)
    shortfall = max(0, credit_taken - credit_held_minor)
    if shortfall == 0 or not payment:
        return reversed_lines, refund
    shortfall = min(shortfall, refund)
    first = payment[0]
    account_id = next(
        line.customer_account_id
        for line in reversed_lines
        if line.account is LedgerAccount.CUSTOMER_CREDIT and line.customer_account_id is not None
    )
    adjust = [
        debit(first.account, shortfall, first.currency, memo="credit already spent, kept out of the refund"),
        credit(
            LedgerAccount.CUSTOMER_CREDIT,
            shortfall,
            first.currency,
            customer_account_id=account_id,
            memo="credit already spent",
        ),
    ]
    return [*reversed_lines, *adjust], refund - shortfall


Z_CODE_MAX = 23  # keeps "Z-<code>-<yyyymmdd>-<seq>" within the 40 characters of shifts.z_report_no


def z_report_prefix(station_code: str) -> str:
    """The station part of a Z-report number: the unit code, upper-case, cut to ``Z_CODE_MAX``."""
    code = "".join(ch for ch in station_code.upper() if ch.isalnum() or ch == "-").strip("-")
    return (code or "HQ")[:Z_CODE_MAX]


def z_report_number(station_code: str, moment: datetime, zone: ZoneInfo, seq: int) -> str:
    """``Z-<station code>-<local yyyymmdd>-<sequence>``, e.g. ``Z-DPL-CEN-01-20261129-0003``.

    The sequence counts the cash-ups of that station on that local day (from 1); it is the
    counter row's value, so two numbers of one station and day never repeat.
    """
    if seq < 1:
        raise ValueError("A Z-report sequence starts at 1.")
    return f"Z-{z_report_prefix(station_code)}-{moment.astimezone(zone):%Y%m%d}-{seq:04d}"


def expected_cash(opening_float_minor: int, cash_by_tender: Mapping[str, int]) -> int:
    """The cash that should be in the drawer: the opening float plus the net cash taken (cash tendered
    minus cash given back on credit notes)."""
    return opening_float_minor + cash_by_tender.get("cash", 0)


def over_short(expected_minor: int, declared_minor: int) -> int:
    """Declared minus expected: positive is cash over, negative is cash short."""
    return declared_minor - expected_minor
