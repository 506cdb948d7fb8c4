"""DKGA04: KDF-HMAC-SHA-256 (NIST SP 800-108 feedback mode, no IV, no counter = one HMAC call).

``out = HMAC-SHA256(VK(20 bytes), Label || 0x00 || Context || L)``; the DK is the first 8 (EA07,
L = 64) or 16 (EA11, L = 128) bytes of ``out``. Label and Context are item lists: a count byte,
then each ASCII item prefixed with its length byte.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["dkga04", "dkga04_message"]


def _items(*items: str) -> bytes:
    out = bytearray([len(items)])
    for item in items:
        raw = item.encode("ascii")
        out.append(len(raw))
        out += raw
    return bytes(out)


def dkga04_message(base_date_label: str, ea: str, ti: int, sgc: str, kt: int, krn: int, pan: str) -> bytes:
    """The exact HMAC input (Label || 00 || Context || L)."""
    bits = {"07": 64, "11": 128}.get(ea)
    if bits is None:
        raise ValueError("DKGA04 is defined for EA07 and EA11")
    label = _items("04", base_date_label, ea, f"{ti:02d}")
    context = _items(sgc, f"{kt:X}", f"{krn:X}", pan)
    return label + b"\x00" + context + bits.to_bytes(4, "big")


def dkga04(
    vending_key: bytes, base_date_label: str, ea: str, ti: int, sgc: str, kt: int, krn: int, pan: str
) -> bytes:
    """Decoder key: 8 bytes for EA07, 16 bytes for EA11 (HMAC output byte order)."""
    if len(vending_key) != 20:
        raise ValueError("DKGA04 vending key must be 20 bytes (160 bits)")
    msg = dkga04_message(base_date_label, ea, ti, sgc, kt, krn, pan)
    out = hmac.new(vending_key, msg, hashlib.sha256).digest()
    return out[: 8 if ea == "07" else 16]
