"""DKGA02: ``D = PANBlock ^ CONTROLBlock; DK = DES(VK, D) ^ D ^ VK`` (8-byte keys)."""

from __future__ import annotations

from sts.hazmat.ea09 import des_encrypt

__all__ = ["dkga02"]


def _xor(*parts: bytes) -> bytes:
    out = bytearray(len(parts[0]))
    for p in parts:
        for i, b in enumerate(p):
            out[i] ^= b
    return bytes(out)


def dkga02(vending_key: bytes, pan_block: bytes, control_block: bytes) -> bytes:
    """Decoder key (8 bytes, in DES output byte order)."""
    if len(vending_key) != 8:
        raise ValueError("DKGA02 vending key must be 8 bytes")
    d = _xor(pan_block, control_block)
    return _xor(des_encrypt(vending_key, d), d, vending_key)
