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


def _position_tables() -> tuple[int, tuple[tuple[int, ...], ...]]:
    # The CRC over a fixed length is affine: crc(a ^ b) == crc(a) ^ crc(b) ^ crc(0).
    zero = crc16_sts(bytes(7))
    tables = []
    for pos in range(7):
        row = []
        for b in range(256):
            data = bytearray(7)
            data[pos] = b
            row.append(crc16_sts(bytes(data)) ^ zero)
        tables.append(tuple(row))
    return zero, tuple(tables)


_ZERO7, (_P0, _P1, _P2, _P3, _P4, _P5, _P6) = _position_tables()


def crc_field(token_class: int, value: int) -> int:
    """CRC field for class ``token_class`` and the 48-bit ``value`` (subclass<<44 | payload44)."""
    b0, b1, b2, b3, b4, b5, b6 = ((token_class << 48) | value).to_bytes(7, "big")
    return _ZERO7 ^ _P0[b0] ^ _P1[b1] ^ _P2[b2] ^ _P3[b3] ^ _P4[b4] ^ _P5[b5] ^ _P6[b6]


def crc_c_field(token_class: int, value: int) -> int:
    """CRC_C field (Class 0 currency subclasses): the CRC over the 7 bytes followed by 0x01."""
    return crc16_sts(((token_class << 48) | value).to_bytes(7, "big") + b"\x01")
