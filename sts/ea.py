"""Encryption algorithm selection (EA07 STA, EA09 DES, EA11 MISTY1) and key checks.

Keys are ``bytes`` in the byte order DES (DKGA02) or HMAC (DKGA04) output them: 8 bytes for
EA07/EA09, 16 bytes for EA11. Blocks are 64-bit unsigned ints.
"""

from __future__ import annotations

import enum

from sts.errors import InvalidKeyError, RangeError
from sts.hazmat import ea07, ea09, ea11
from sts.hazmat.tables import PRODUCTION, StaTables

__all__ = ["EA", "check_key", "decrypt_block", "encrypt_block", "parse_ea", "parse_key_hex"]


class EA(enum.Enum):
    """Encryption algorithm codes. EA09 is UNVERIFIED (no public vectors)."""

    EA07 = "07"
    EA09 = "09"
    EA11 = "11"

    @property
    def key_length(self) -> int:
        return 16 if self is EA.EA11 else 8


def parse_ea(value: EA | str | int) -> EA:
    fast = _BY_TEXT.get(value)
    if fast is not None:
        return fast
    if isinstance(value, EA):
        return value
    text = f"{value:02d}" if isinstance(value, int) else value.strip().upper().removeprefix("EA")
    for ea in EA:
        if ea.value == text.zfill(2):
            return ea
    raise RangeError(f"EA must be 07, 09 or 11, got {value!r}")


_BY_TEXT: dict[object, EA] = {"07": EA.EA07, "09": EA.EA09, "11": EA.EA11} | {ea: ea for ea in EA}


def check_key(ea: EA, key: bytes) -> bytes:
    if key.__class__ is bytes and len(key) == ea.key_length:
        return key
    if not isinstance(key, bytes | bytearray) or len(key) != ea.key_length:
        raise InvalidKeyError(f"EA{ea.value} needs a {ea.key_length}-byte decoder key")
    return bytes(key)


def parse_key_hex(text: str, lengths: tuple[int, ...] = (8, 16)) -> bytes:
    """Parse a key written as hex (spaces/colons ignored) and check its byte length."""
    cleaned = text.replace(" ", "").replace(":", "").removeprefix("0x").removeprefix("0X")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise InvalidKeyError(f"key is not valid hex: {text!r}") from None
    if len(key) not in lengths:
        want = " or ".join(str(n * 2) for n in lengths)
        raise InvalidKeyError(f"key must have {want} hex digits, got {len(cleaned)}")
    return key


def encrypt_block(ea: EA, key: bytes, block: int, tables: StaTables = PRODUCTION) -> int:
    """Encrypt a 64-bit block. ``tables`` selects STA tables for EA07 (sample tables: IEC example)."""
    key = check_key(ea, key)
    if ea is EA.EA07:
        return ea07.encrypt_block(key, block, tables)
    if ea is EA.EA11:
        return ea11.encrypt_block(key, block)
    return ea09.encrypt_block(key, block)


def decrypt_block(ea: EA, key: bytes, block: int, tables: StaTables = PRODUCTION) -> int:
    key = check_key(ea, key)
    if ea is EA.EA07:
        return ea07.decrypt_block(key, block, tables)
    if ea is EA.EA11:
        return ea11.decrypt_block(key, block)
    return ea09.decrypt_block(key, block)
