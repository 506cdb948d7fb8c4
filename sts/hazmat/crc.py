"""STS CRC-16: CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF, no final XOR), byte-swapped.

The input is the 50-bit value ``Class<<48 | SubClass<<44 | payload44`` right-aligned in 7 bytes
big-endian. ``CRC_C`` (Class 0 currency subclasses 4..7) appends one byte ``0x01`` first.
"""

from __future__ import annotations

__all__ = ["crc16_sts", "crc_c_field", "crc_field"]


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _make_table()


def _modbus(data: bytes) -> int:
    crc = 0xFFFF
    t = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ t[(crc ^ byte) & 0xFF]
    return crc


def crc16_sts(data: bytes) -> int:
    """CRC-16/MODBUS of ``data``, returned byte-swapped as it sits in the token's CRC field."""
    crc = _modbus(data)
    return ((crc & 0xFF) << 8) | (crc >> 8)


def crc_field(token_class: int, value: int) -> int:
    """CRC field for class ``token_class`` and the 48-bit ``value`` (subclass<<44 | payload44)."""
    return crc16_sts(((token_class << 48) | value).to_bytes(7, "big"))


def crc_c_field(token_class: int, value: int) -> int:
    """CRC_C field (Class 0 currency subclasses): the CRC over the 7 bytes followed by 0x01."""
    return crc16_sts(((token_class << 48) | value).to_bytes(7, "big") + b"\x01")
