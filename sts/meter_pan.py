"""Meter identity: DRN, meter PAN and their Luhn check digits.

* IIN ``600727`` (legacy, 6 digits): DRN = MfrCode(2) || DSN(8) || check(1) = 11 digits.
* IIN ``0000`` (4 digits): DRN = MfrCode(4) || DSN(8) || check(1) = 13 digits.
* Meter PAN (18 digits) = IIN || DRN || Luhn check digit over the 17 digits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sts.errors import CheckDigitError, RangeError

__all__ = [
    "IIN_LEGACY",
    "IIN_SHORT",
    "MeterNumber",
    "drn_from_parts",
    "luhn_check_digit",
    "meter_pan",
    "parse_meter_pan",
    "validate_drn",
]

IIN_LEGACY = "600727"
IIN_SHORT = "0000"
_DRN_LENGTH = {6: 11, 4: 13}


def _require_digits(value: str, name: str) -> None:
    if not value.isascii() or not value.isdigit():
        raise RangeError(f"{name} must be decimal digits, got {value!r}")


def luhn_check_digit(payload: str) -> int:
    """Luhn check digit for ``payload`` (double every second digit from the rightmost)."""
    _require_digits(payload, "payload")
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def _check_iin(iin: str) -> None:
    _require_digits(iin, "IIN")
    if len(iin) not in _DRN_LENGTH:
        raise RangeError(f"IIN must have 6 (e.g. 600727) or 4 (e.g. 0000) digits, got {iin!r}")


def validate_drn(iin: str, drn: str) -> None:
    """Check the DRN length for the IIN form and its check digit (Luhn over MfrCode || DSN)."""
    _check_iin(iin)
    _require_digits(drn, "DRN")
    want = _DRN_LENGTH[len(iin)]
    if len(drn) != want:
        raise RangeError(f"DRN for a {len(iin)}-digit IIN must have {want} digits, got {len(drn)}")
    expected = luhn_check_digit(drn[:-1])
    if int(drn[-1]) != expected:
        raise CheckDigitError(f"DRN {drn} has check digit {drn[-1]}, expected {expected}")


def drn_from_parts(mfr_code: str, dsn: str) -> str:
    """Build a DRN from the MfrCode (2 or 4 digits) and DSN (8 digits), appending the check digit."""
    _require_digits(mfr_code, "MfrCode")
    _require_digits(dsn, "DSN")
    if len(mfr_code) not in (2, 4) or len(dsn) != 8:
        raise RangeError("MfrCode must have 2 or 4 digits and DSN 8 digits")
    return f"{mfr_code}{dsn}{luhn_check_digit(mfr_code + dsn)}"


def meter_pan(iin: str, drn: str) -> str:
    """The 18-digit meter PAN: IIN || DRN || Luhn check digit. Validates the DRN first."""
    validate_drn(iin, drn)
    body = iin + drn
    return f"{body}{luhn_check_digit(body)}"


@dataclass(frozen=True)
class MeterNumber:
    """A parsed meter PAN."""

    iin: str
    drn: str

    @property
    def pan(self) -> str:
        return meter_pan(self.iin, self.drn)

    @property
    def mfr_code(self) -> str:
        return self.drn[: len(self.drn) - 9]

    @property
    def dsn(self) -> str:
        return self.drn[-9:-1]


def parse_meter_pan(pan: str) -> MeterNumber:
    """Split and validate an 18-digit meter PAN (IIN 600727 or 0000 forms)."""
    _require_digits(pan, "meter PAN")
    if len(pan) != 18:
        raise RangeError(f"meter PAN must have 18 digits, got {len(pan)}")
    iin = IIN_LEGACY if pan.startswith(IIN_LEGACY) else pan[:4] if pan.startswith(IIN_SHORT) else None
    if iin is None:
        raise RangeError(f"meter PAN must start with IIN {IIN_LEGACY} or {IIN_SHORT}")
    expected = luhn_check_digit(pan[:-1])
    if int(pan[-1]) != expected:
        raise CheckDigitError(f"meter PAN {pan} has check digit {pan[-1]}, expected {expected}")
    drn = pan[len(iin) : -1]
    validate_drn(iin, drn)
    return MeterNumber(iin, drn)
