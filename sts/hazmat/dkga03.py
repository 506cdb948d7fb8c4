"""DKGA03 - **UNVERIFIED** (NectarAPI only): ``D = PANBlock ^ CONTROLBlock; DK = 3DES(VK1||VK2, D) ^ D``."""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from sts.hazmat.dkga02 import _xor

__all__ = ["dkga03"]


def dkga03(vending_key: bytes, pan_block: bytes, control_block: bytes) -> bytes:
    if len(vending_key) != 16:
        raise ValueError("DKGA03 vending key must be 16 bytes (VK1 || VK2)")
    d = _xor(pan_block, control_block)
    enc = Cipher(TripleDES(vending_key + vending_key[:8]), modes.ECB()).encryptor()  # noqa: S305 - one raw block
    return _xor(enc.update(d) + enc.finalize(), d)
