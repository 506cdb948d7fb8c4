"""Key change token sets: 2 tokens for 64-bit keys (EA07/EA09), 4 tokens for 128-bit keys (EA11).

All sections carry the *new* key's fields and are encrypted with the *current (old)* key.
128-bit keys: DK = NKHO || NKMO2 || NKMO1 || NKLO; sections 3/4 also carry the SGC (SGCLO/SGCHO).
"""

from __future__ import annotations

from dataclasses import dataclass

from sts.ea import EA, parse_ea
from sts.errors import InvalidKeyError, RangeError
from sts.keys import parse_sgc
from sts.tokens import (
    KeyChangeToken,
    KeyChangeToken1,
    KeyChangeToken2,
    KeyChangeToken3,
    KeyChangeToken4,
    encode_token,
)

__all__ = ["KeyChangeSet", "encode_key_change_set"]


@dataclass(frozen=True)
class KeyChangeSet:
    """The new key and its attributes. ``ti`` is the binary 0..255 field; ``sgc`` (6 digits) is
    required for 16-byte keys."""

    new_key: bytes
    kt: int
    krn: int
    ti: int
    ken: int = 0xFF
    ro: int = 0
    sgc: str | None = None

    def __post_init__(self) -> None:
        if len(self.new_key) not in (8, 16):
            raise InvalidKeyError("the new decoder key must be 8 or 16 bytes")
        if self.kt not in (0, 1, 2, 3):
            raise RangeError(f"KT must be 0..3, got {self.kt}")
        if not 1 <= self.krn <= 9:
            raise RangeError(f"KRN must be 1..9, got {self.krn}")
        if not 0 <= self.ti <= 255:
            raise RangeError(f"TI must be 0..255, got {self.ti}")
        if not 0 <= self.ken <= 0xFF:
            raise RangeError(f"KEN must be 0..0xFF, got {self.ken}")
        if self.ro not in (0, 1):
            raise RangeError(f"RO must be 0 or 1, got {self.ro}")
        if len(self.new_key) == 16:
            if self.sgc is None:
                raise RangeError("a 128-bit key change set needs the SGC")
            parse_sgc(self.sgc)

    def sections(self) -> list[KeyChangeToken]:
        k = int.from_bytes(self.new_key, "big")
        if len(self.new_key) == 8:
            high, low = k >> 32, k & 0xFFFFFFFF
            return [
                KeyChangeToken1(self.ken >> 4, self.krn, self.ro, self.kt, high),
                KeyChangeToken2(self.ken & 0xF, self.ti, low),
            ]
        assert self.sgc is not None
        sgc = int(self.sgc)
        return [
            KeyChangeToken1(self.ken >> 4, self.krn, self.ro, self.kt, k >> 96),
            KeyChangeToken2(self.ken & 0xF, self.ti, k & 0xFFFFFFFF),
            KeyChangeToken3(sgc & 0xFFF, (k >> 64) & 0xFFFFFFFF),
            KeyChangeToken4(sgc >> 12, (k >> 32) & 0xFFFFFFFF),
        ]

    @classmethod
    def from_sections(cls, sections: list[KeyChangeToken]) -> KeyChangeSet:
        """Reassemble a set from its decoded sections (any order)."""
        by_sub = {s.subclass: s for s in sections}
        first, second = by_sub.get(3), by_sub.get(4)
        if not isinstance(first, KeyChangeToken1) or not isinstance(second, KeyChangeToken2):
            raise RangeError("a key change set needs its 1st and 2nd sections")
        third, fourth = by_sub.get(8), by_sub.get(9)
        ken = (first.ken_high << 4) | second.ken_low
        if isinstance(third, KeyChangeToken3) and isinstance(fourth, KeyChangeToken4):
            k = (first.nk_high << 96) | (third.nk_mid2 << 64) | (fourth.nk_mid1 << 32) | second.nk_low
            sgc = f"{(fourth.sgc_high << 12) | third.sgc_low:06d}"
            return cls(k.to_bytes(16, "big"), first.kt, first.krn, second.ti, ken, first.ro, sgc)
        if third is not None or fourth is not None:
            raise RangeError("a 128-bit key change set needs all four sections")
        k = (first.nk_high << 32) | second.nk_low
        return cls(k.to_bytes(8, "big"), first.kt, first.krn, second.ti, ken, first.ro)


def encode_key_change_set(change: KeyChangeSet, old_key: bytes, ea: EA | str) -> list[str]:
    """The 2 or 4 tokens of the set, in order, encrypted under ``old_key`` with ``ea``."""
    ea_value = parse_ea(ea)
    if len(change.new_key) != ea_value.key_length:
        raise InvalidKeyError(f"EA{ea_value.value} needs a {ea_value.key_length}-byte new key")
    return [encode_token(section, old_key, ea_value) for section in change.sections()]
