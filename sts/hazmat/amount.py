"""Transfer amount encoding (IEC 62055-41, post-2014 "offset" form).

16-bit field = ``e (2 bits) << 14 | m (14 bits)``; value ``t = 10**e * m + offset(e)`` with
``offset(e) = sum(2**14 * 10**(n-1) for n in 1..e)``. Encoding picks the smallest ``e`` for which
``m = ceil((t - offset(e)) / 10**e) <= 16383`` - i.e. it rounds *up*, in the customer's favour.
Currency subclasses (4..7) use a 5-bit exponent (0..31), the same formula, and a sign bit.
"""

from __future__ import annotations

from sts.errors import RangeError

__all__ = [
    "MAX_CURRENCY_AMOUNT",
    "MAX_STANDARD_AMOUNT",
    "decode_amount",
    "decode_currency",
    "encode_amount",
    "encode_currency",
    "round_up_amount",
]

_M_MAX = 0x3FFF
_POW10: tuple[int, ...] = tuple(int(10**i) for i in range(32))


def _offset(e: int) -> int:
    return (1 << 14) * (_POW10[e] - 1) // 9


def _max_for(e_max: int) -> int:
    return _POW10[e_max] * _M_MAX + _offset(e_max)


MAX_STANDARD_AMOUNT = _max_for(3)  # 18 201 624 (0.1 units)
MAX_CURRENCY_AMOUNT = _max_for(31)


def _encode(value: int, e_max: int, what: str) -> tuple[int, int]:
    if value < 0:
        raise RangeError(f"{what} must not be negative: {value}")
    if value > _max_for(e_max):
        raise RangeError(f"{what} {value} exceeds the maximum {_max_for(e_max)}")
    for e in range(e_max + 1):
        step = _POW10[e]
        m = -((_offset(e) - value) // step)  # ceil((value - offset) / step)
        if m <= _M_MAX:
            return e, max(m, 0)
    raise AssertionError("unreachable")  # pragma: no cover


def encode_amount(value: int) -> int:
    """Encode a count (0.1 units, or W for MPL/MPPUL) into the 16-bit field, rounding up."""
    if 0 <= value <= _M_MAX:
        return value
    e, m = _encode(value, 3, "amount")
    return (e << 14) | m


def decode_amount(field: int) -> int:
    """Decode a 16-bit amount field."""
    if not 0 <= field <= 0xFFFF:
        raise RangeError(f"amount field out of range: {field}")
    e = field >> 14
    return _POW10[e] * (field & _M_MAX) + _offset(e)


def round_up_amount(value: int) -> int:
    """The value the meter will see for a requested count (the encoding rounds up)."""
    return decode_amount(encode_amount(value))


def encode_currency(value: int) -> tuple[int, int]:
    """Encode a signed currency amount (10**-5 units). Returns (S&E nibble, 16-bit field)."""
    sign = 1 if value < 0 else 0
    e, m = _encode(abs(value), 31, "currency amount")
    nibble = (sign << 3) | (e >> 2)
    return nibble, ((e & 3) << 14) | m


def decode_currency(nibble: int, field: int) -> int:
    """Decode the S&E nibble and 16-bit field of a currency token into a signed amount."""
    e = ((nibble & 7) << 2) | (field >> 14)
    magnitude = _POW10[e] * (field & _M_MAX) + _offset(e)
    return -magnitude if nibble >> 3 else magnitude
