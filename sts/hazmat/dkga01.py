"""DKGA01 (legacy) - **UNVERIFIED** (no public vectors): ``DK = DES(VK, PANBlock ^ CONTROLBlock) ^ VK``.

Applies only to IIN 600727, KRN 1, KT 1/2 (or 3 with specific SGCs), EA07 and DRNs in IEC Table 38;
those applicability rules are not checked here.
"""

from __future__ import annotations

from sts.hazmat.dkga02 import _xor
from sts.hazmat.ea09 import des_encrypt

__all__ = ["dkga01"]


def dkga01(vending_key: bytes, pan_block: bytes, control_block: bytes) -> bytes:
    if len(vending_key) != 8:
        raise ValueError("DKGA01 vending key must be 8 bytes")
    return _xor(des_encrypt(vending_key, _xor(pan_block, control_block)), vending_key)
