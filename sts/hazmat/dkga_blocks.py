"""PANBlock and CONTROLBlock (16 hex digits each) used by DKGA01/02/03."""

from __future__ import annotations

__all__ = ["control_block", "pan_block"]


def pan_block(iin: str, drn: str, kt: int) -> bytes:
    """6-digit IIN: last 5 IIN digits || last 11 DRN digits; 4-digit IIN: last 3 || 13-digit DRN.

    Digits are used as hex nibbles. For KT 3 (common key) the DRN part is all zeros.
    """
    if len(iin) == 6:
        head, tail = iin[-5:], drn[-11:]
    elif len(iin) == 4:
        head, tail = iin[-3:], drn[-13:]
    else:
        raise ValueError("IIN must have 6 or 4 digits")
    if kt == 3:
        tail = "0" * len(tail)
    digits = head + tail
    if len(digits) != 16 or not digits.isdigit():
        raise ValueError("PANBlock must be 16 decimal digits")
    return bytes.fromhex(digits)


def control_block(kt: int, sgc: str, ti: int, krn: int) -> bytes:
    """KT(1) || SGC(6) || TI(2, decimal digits) || KRN(1) || FFFFFF."""
    if not (0 <= kt <= 3 and len(sgc) == 6 and sgc.isdigit() and 0 <= ti <= 99 and 0 <= krn <= 9):
        raise ValueError("bad CONTROLBlock fields")
    return bytes.fromhex(f"{kt:X}{sgc}{ti:02d}{krn:X}FFFFFF")
