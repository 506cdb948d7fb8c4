"""Decoder key derivation (recipe): DKGA02 and DKGA04 (verified), DKGA01/DKGA03 (UNVERIFIED)."""

from __future__ import annotations

from sts.ea import EA, parse_ea
from sts.errors import InvalidKeyError, RangeError
from sts.hazmat.dkga01 import dkga01
from sts.hazmat.dkga02 import dkga02
from sts.hazmat.dkga03 import dkga03
from sts.hazmat.dkga04 import dkga04
from sts.hazmat.dkga_blocks import control_block, pan_block
from sts.meter_pan import meter_pan, validate_drn
from sts.tid import BaseDate

__all__ = ["KEY_TYPES", "derive_decoder_key", "parse_sgc", "parse_ti"]

KEY_TYPES = {0: "DITK", 1: "DDTK", 2: "DUTK", 3: "DCTK"}


def parse_ti(ti: int | str) -> int:
    """Tariff index: 0..99 (given as int or decimal string such as "01")."""
    try:
        value = int(ti)
    except ValueError:
        raise RangeError(f"TI must be a number 0..99, got {ti!r}") from None
    if not 0 <= value <= 99:
        raise RangeError(f"TI must be 0..99, got {ti!r}")
    return value


def parse_sgc(sgc: int | str) -> str:
    """Supply group code: 6 decimal digits."""
    text = f"{sgc:06d}" if isinstance(sgc, int) else sgc
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise RangeError(f"SGC must be 6 decimal digits, got {sgc!r}")
    return text


def _check(kt: int, krn: int) -> None:
    if kt not in KEY_TYPES:
        raise RangeError(f"KT must be 0..3, got {kt}")
    if not 1 <= krn <= 9:
        raise RangeError(f"KRN must be 1..9, got {krn}")


def derive_decoder_key(
    *,
    dkga: str | int,
    vending_key: bytes,
    iin: str,
    drn: str,
    kt: int,
    sgc: int | str,
    ti: int | str,
    krn: int,
    base_date: BaseDate | int = BaseDate.Y1993,
    ea: EA | str | int = EA.EA07,
) -> bytes:
    """Derive a meter's decoder key.

    Returns the key bytes in DES/HMAC output order (8 bytes; 16 for DKGA04 with EA11).
    ``base_date`` and ``ea`` only enter DKGA04. DKGA01 and DKGA03 are UNVERIFIED.
    """
    code = f"{int(dkga):02d}" if str(dkga).isdigit() else str(dkga)
    _check(kt, krn)
    sgc_text = parse_sgc(sgc)
    ti_value = parse_ti(ti)
    validate_drn(iin, drn)
    ea_value = parse_ea(ea)
    if code == "04":
        if ea_value is EA.EA09:
            raise RangeError("DKGA04 is defined for EA07 and EA11 only")
        try:
            base = BaseDate(int(base_date))
        except ValueError:
            raise RangeError(f"base date must be 1993, 2014 or 2035, got {base_date}") from None
        if len(vending_key) != 20:
            raise InvalidKeyError("DKGA04 vending key must be 20 bytes (40 hex digits)")
        return dkga04(
            vending_key, base.label, ea_value.value, ti_value, sgc_text, kt, krn, meter_pan(iin, drn)
        )
    if ea_value is EA.EA11:
        raise RangeError(f"DKGA{code} gives 64-bit keys; EA11 needs DKGA04")
    pb = pan_block(iin, drn, kt)
    cb = control_block(kt, sgc_text, ti_value, krn)
    if code == "02":
        if len(vending_key) != 8:
            raise InvalidKeyError("DKGA02 vending key must be 8 bytes (16 hex digits)")
        return dkga02(vending_key, pb, cb)
    if code == "01":
        if len(vending_key) != 8:
            raise InvalidKeyError("DKGA01 vending key must be 8 bytes (16 hex digits)")
        return dkga01(vending_key, pb, cb)
    if code == "03":
        if len(vending_key) != 16:
            raise InvalidKeyError("DKGA03 vending key must be 16 bytes (32 hex digits)")
        return dkga03(vending_key, pb, cb)
    raise RangeError(f"DKGA must be 01, 02, 03 or 04, got {dkga!r}")
