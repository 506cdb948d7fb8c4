"""Convenience recipes: the common vending operations in one call each."""

from __future__ import annotations

from datetime import datetime

from sts.ea import EA, parse_ea
from sts.errors import RangeError
from sts.hazmat.amount import (
    MAX_STANDARD_AMOUNT,
    decode_currency,
    encode_amount,
    encode_currency,
)
from sts.hazmat.tables import PRODUCTION, StaTables
from sts.key_change import KeyChangeSet, encode_key_change_set
from sts.keys import parse_ti
from sts.tid import MAX_TID, BaseDate, tid_from_datetime
from sts.tokens import (
    CLEAR_ALL_REGISTERS,
    CreditToken,
    ManagementFunction,
    ManagementToken,
    TestToken,
    credit_token_digits,
    encode_token,
)

__all__ = [
    "credit_token",
    "currency_credit_token",
    "key_change_tokens",
    "management_token",
    "max_power_limit_token",
    "test_token",
]


def _tid(tid: int | None, issued_at: datetime | None, base_date: BaseDate | int) -> int:
    if (tid is None) == (issued_at is None):
        raise RangeError("give exactly one of tid or issued_at")
    if issued_at is not None:
        return tid_from_datetime(issued_at, base_date)
    assert tid is not None
    if not 0 <= tid <= MAX_TID:
        raise RangeError(f"TID must be 0..{MAX_TID}, got {tid}")
    return tid


def credit_token(
    *,
    key: bytes,
    ea: EA | str,
    subclass: int,
    units: int,
    tid: int | None = None,
    issued_at: datetime | None = None,
    base_date: BaseDate | int = BaseDate.Y1993,
    rnd: int = 0,
    tables: StaTables = PRODUCTION,
) -> str:
    """Class 0 credit token, subclasses 0..3, ``units`` in 0.1 base units (rounded up as the
    standard does; above 18 201 624 raises RangeError)."""
    t = _tid(tid, issued_at, base_date)
    ea_value = parse_ea(ea)
    if not 0 <= subclass <= 3:
        raise RangeError("credit subclass must be 0..3 (use currency_credit_token for 4..7)")
    if not 0 <= rnd <= 15:
        raise RangeError(f"RND must be 0..15, got {rnd}")
    if not 0 <= units <= MAX_STANDARD_AMOUNT:
        raise RangeError(f"units must be 0..{MAX_STANDARD_AMOUNT}, got {units}")
    return credit_token_digits(key, ea_value, subclass, t, encode_amount(units), rnd, tables)


def currency_credit_token(
    *, key: bytes, ea: EA | str, subclass: int, amount: int, tid: int, exact: bool = False
) -> str:
    """Class 0 currency credit (subclasses 4..7), signed ``amount`` in 10**-5 currency units,
    rounded up in magnitude unless ``exact``."""
    nibble, field = encode_currency(amount)
    value = decode_currency(nibble, field)
    if exact and value != amount:
        raise RangeError(f"amount {amount} is not exactly representable")
    return encode_token(CreditToken(subclass, tid, value), key, ea)


def management_token(*, key: bytes, ea: EA | str, subclass: int, tid: int, value: int, rnd: int = 0) -> str:
    """Class 2 management token with the raw 16-bit value field."""
    return encode_token(ManagementToken(subclass, tid, value, rnd), key, ea)


def max_power_limit_token(*, key: bytes, ea: EA | str, watts: int, tid: int, rnd: int = 0) -> str:
    """SetMaximumPowerLimit; ``watts`` amount-encoded (rounded up)."""
    return management_token(
        key=key,
        ea=ea,
        subclass=ManagementFunction.SET_MAX_POWER_LIMIT,
        tid=tid,
        value=encode_amount(watts),
        rnd=rnd,
    )


def clear_credit_token(
    *, key: bytes, ea: EA | str, tid: int, register: int = CLEAR_ALL_REGISTERS, rnd: int = 0
) -> str:
    return management_token(
        key=key, ea=ea, subclass=ManagementFunction.CLEAR_CREDIT, tid=tid, value=register, rnd=rnd
    )


def key_change_tokens(
    *,
    old_key: bytes,
    ea: EA | str,
    new_key: bytes,
    kt: int,
    krn: int,
    ti: int | str,
    ken: int = 0xFF,
    ro: int = 0,
    sgc: str | None = None,
) -> list[str]:
    """The tokens of a key change set, in order (2 for 64-bit keys, 4 for 128-bit keys)."""
    change = KeyChangeSet(new_key, kt, krn, parse_ti(ti), ken, ro, sgc)
    return encode_key_change_set(change, old_key, ea)


def test_token(*, subclass: int, control: int, mfr_code: int = 0) -> str:
    """Class 1 InitiateMeterTest/Display token (not encrypted)."""
    return encode_token(TestToken(subclass, control, mfr_code))
