"""Pure rules of the keys context: key data, TIDs, key material checks and key change planning.

No web framework, no ORM (import-linter enforces it). Everything here is deterministic and is tested
with hypothesis.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime

from sts import BaseDate, StsError, tid_from_datetime
from sts.tid import MAX_TID, next_base_date

DKGA_KEY_LENGTHS = {"02": 8, "04": 20}
"""Vending key length in bytes per decoder key generation algorithm (DKGA02: DES, DKGA04: 160 bit)."""

BASE_DATES = (1993, 2014, 2035)
KEY_TYPES = {0: "DITK", 1: "DDTK", 2: "DUTK", 3: "DCTK"}
MASTER_KEY_BYTES = 32


class SecretBytes:
    """Key material that never shows itself: ``repr``/``str`` are redacted, it cannot be pickled.

    Call :meth:`reveal` at the one place the bytes are needed (encryption, key derivation).
    Equality is constant-time.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes | bytearray):
            raise TypeError("SecretBytes holds bytes")
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"SecretBytes(<redacted, {len(self._value)} bytes>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        raise TypeError("SecretBytes is not hashable (it would leak through dict keys)")

    def __reduce__(self) -> str:
        raise TypeError("SecretBytes cannot be pickled")


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """The identity a wrapped vending key is bound to (AES-GCM associated data)."""

    sgc: int
    krn: int
    kt: int
    dkga: str
    base_date: int

    def aad(self) -> bytes:
        return (
            f"gridvend-vk-v1|sgc={self.sgc:06d}|krn={self.krn}|kt={self.kt}"
            f"|dkga={self.dkga}|base={self.base_date}"
        ).encode()


@dataclass(frozen=True, slots=True)
class MeterKeyData:
    """A meter's STS configuration: everything needed to derive its decoder key and make its tokens.

    ``drn`` is the meter number (DRN incl. check digit); with ``iin`` it forms the meter PAN.
    """

    iin: str
    drn: str
    sgc: int
    ti: int
    krn: int
    kt: int
    ea: str
    dkga: str
    base_date: int
    ken: int = 0xFF

    def describe(self) -> str:
        return (
            f"SGC {self.sgc:06d} TI {self.ti:02d} KRN {self.krn} KT {self.kt} EA{self.ea} "
            f"DKGA{self.dkga} base {self.base_date} KEN {self.ken}"
        )


def key_material_problem(material: bytes, dkga: str) -> str | None:
    """Why ``material`` cannot be a vending key for ``dkga`` (None when it can)."""
    want = DKGA_KEY_LENGTHS.get(dkga)
    if want is None:
        return f"DKGA must be 02 or 04, not {dkga!r}."
    if len(material) != want:
        return (
            f"A DKGA{dkga} vending key has {want} bytes ({want * 2} hex digits), "
            f"this one has {len(material)} bytes."
        )
    if len(set(material)) == 1:
        return "The vending key is one byte repeated; that is a placeholder, not a key."
    return None


def parse_key_hex(text: str) -> bytes:
    """Hex (spaces, colons and a 0x prefix allowed) to bytes; ValueError without echoing the input."""
    cleaned = "".join(text.split()).replace(":", "").removeprefix("0x").removeprefix("0X")
    if not cleaned:
        raise ValueError("no key material was given")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("the key material is not valid hexadecimal") from None


def identity_problem(sgc: int, krn: int, kt: int, base_date: int) -> str | None:
    if not 0 <= sgc <= 999999:
        return f"SGC must be a 6-digit supply group code, got {sgc}."
    if not 1 <= krn <= 9:
        return f"KRN must be 1..9, got {krn}."
    if kt not in KEY_TYPES:
        return f"KT must be 0..3, got {kt}."
    if base_date not in BASE_DATES:
        return f"The base date must be 1993, 2014 or 2035, got {base_date}."
    return None


# -- TIDs ------------------------------------------------------------------------------------------


def tid_at(moment: datetime, base_date: int) -> int:
    """The TID (minutes since the base date, UTC) of ``moment`` (timezone-aware).

    Raises ValueError when ``moment`` lies outside the base date's 24-bit TID range (for base date
    1993 that ends on 2024-11-24: such meters need the rollover key change to base date 2014).
    """
    try:
        return tid_from_datetime(moment, BaseDate(base_date))
    except StsError as exc:
        raise ValueError(str(exc)) from None


def next_tid(last_tid: int | None, now_minutes: int) -> int:
    """The TID for the next token of a meter: the current minute, or one more than the last TID
    when tokens come faster than one a minute (TIDs strictly increase per meter).

    Raises ValueError when the result does not fit in 24 bits (time for a base date rollover).
    """
    tid = now_minutes if last_tid is None else max(last_tid + 1, now_minutes)
    if tid > MAX_TID:
        raise ValueError("the meter's TIDs are exhausted for its base date; a rollover key change is due")
    return tid


# -- key change planning ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyChangeRequest:
    """The fields a person wants to change (None keeps the current value)."""

    sgc: int | None = None
    ti: int | None = None
    krn: int | None = None
    kt: int | None = None
    base_date: int | None = None
    ken: int | None = None
    rollover: bool = False


def plan_key_change(current: MeterKeyData, request: KeyChangeRequest) -> tuple[MeterKeyData, bool]:
    """The meter's new key data and the RO bit, or ValueError with a message for a person.

    Rules: at least one value changes; the base date never goes back and moves at most one step
    (1993 → 2014 → 2035); the RO bit is set exactly when the base date moves (a meter clears its TID
    memory and advances its base date on RO=1, so RO without a base date move is refused); a meter
    never changes back to KT 0 (DITK) from another key type.
    """
    new = replace(
        current,
        sgc=current.sgc if request.sgc is None else request.sgc,
        ti=current.ti if request.ti is None else request.ti,
        krn=current.krn if request.krn is None else request.krn,
        kt=current.kt if request.kt is None else request.kt,
        base_date=current.base_date if request.base_date is None else request.base_date,
        ken=current.ken if request.ken is None else request.ken,
    )
    problem = identity_problem(new.sgc, new.krn, new.kt, new.base_date)
    if problem:
        raise ValueError(problem)
    if not 0 <= new.ti <= 99:
        raise ValueError(f"TI must be 0..99, got {new.ti}.")
    if not 0 <= new.ken <= 255:
        raise ValueError(f"KEN must be 0..255, got {new.ken}.")
    if new == current:
        raise ValueError("Nothing changes: give at least one new value (SGC, TI, KRN, KT, base date or KEN).")
    if new.base_date < current.base_date:
        raise ValueError(f"The base date cannot go back from {current.base_date} to {new.base_date}.")
    moves = new.base_date != current.base_date
    if moves and new.base_date != int(next_base_date(current.base_date)):
        raise ValueError(
            f"A meter moves one base date at a time: from {current.base_date} the next is "
            f"{int(next_base_date(current.base_date))}."
        )
    if request.rollover and not moves:
        raise ValueError(
            "A rollover (RO) clears the meter's TID memory and moves it to the next base date "
            f"({int(next_base_date(current.base_date))}); give that base date as well."
        )
    if new.kt == 0 and current.kt != 0:
        raise ValueError("A meter cannot change back to key type 0 (DITK) from another key type.")
    return new, moves
