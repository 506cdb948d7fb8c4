"""VirtualMeter: a software STS meter that applies tokens to registers like a real one.

Acceptance rules (as implemented; see docs/sts.md):

1. Parse and decrypt with the meter's key/EA; CRC (CRC_C for currency) must hold
   (AuthenticationError / CrcError); unsupported subclasses raise UnsupportedTokenError.
2. Class 1: MfrCode must be the meter's or 0 (generic); no TID checks.
3. TID-bearing tokens (class 0; class 2 subclasses 0, 1, 2, 5, 6, 7):
   key expiry first (KeyExpiredError if ``TID >> 16 > KEN``, KEN 0xFF disables, only for
   KT DDTK/DUTK/DCTK), then the TID memory: USED if present; OLD if below the smallest stored
   TID (the memory always holds ``tid_memory_size`` slots, filled at manufacture with the
   manufacture TID, so it is always "full"); otherwise accepted and the smallest slot replaced.
4. Key change sections (class 2 subclasses 3, 4, 8, 9) carry no TID: no expiry or replay check.
   The 1st section must come first (it starts or restarts a set); the others may follow in any
   order; the new key is committed when all sections of the set are in (2 for EA07/EA09, 4 for
   EA11). A later section with no pending 1st section raises KeyChangeIncompleteError. Any other
   token while a set is pending is rejected with KeyChangeIncompleteError and the pending set is
   discarded (re-entering the token then works).
5. Key type changes: same KT always allowed; DITK may change to any type; DDTK/DUTK/DCTK may
   change among themselves; a change *to* DITK from another type is rejected (KeyTypeChangeError).
6. On commit: key, KT, KRN, TI, KEN (and SGC for 128-bit sets) replaced; RO=1 clears the TID
   memory (all slots 0) and advances the base date (1993 -> 2014 -> 2035).
7. A rejected token changes nothing. Credit above ``register_limit`` (or below 0) raises
   RegisterOverflowError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sts.ea import EA, check_key, parse_ea
from sts.errors import (
    KeyChangeIncompleteError,
    KeyExpiredError,
    KeyTypeChangeError,
    MfrCodeMismatchError,
    RangeError,
    RegisterOverflowError,
    TokenOldError,
    TokenUsedError,
)
from sts.key_change import KeyChangeSet
from sts.keys import parse_sgc
from sts.tid import BaseDate, next_base_date, tid_from_datetime
from sts.tokens import (
    CLEAR_ALL_REGISTERS,
    CreditToken,
    KeyChangeToken1,
    KeyChangeToken2,
    KeyChangeToken3,
    KeyChangeToken4,
    ManagementFunction,
    ManagementToken,
    TestToken,
    Token,
    decode_token,
)

__all__ = ["Acceptance", "VirtualMeter"]

DITK, DDTK, DUTK, DCTK = 0, 1, 2, 3
_KEY_CHANGE_SECTIONS = (KeyChangeToken1, KeyChangeToken2, KeyChangeToken3, KeyChangeToken4)


@dataclass(frozen=True)
class Acceptance:
    """Result of an accepted token: the decoded token and what changed (register -> new value)."""

    token: Token
    changes: dict[str, object] = field(default_factory=dict)
    key_change_pending: bool = False
    key_changed: bool = False


def key_type_change_allowed(old_kt: int, new_kt: int) -> bool:
    """Same KT always; nothing may go back to DITK; everything else allowed."""
    return old_kt == new_kt or new_kt != DITK


class VirtualMeter:
    """A virtual STS meter. Keys are bytes (DES/HMAC output order)."""

    def __init__(
        self,
        *,
        decoder_key: bytes,
        ea: EA | str = EA.EA07,
        kt: int = DUTK,
        krn: int = 1,
        ti: int = 1,
        ken: int = 0xFF,
        sgc: str = "000000",
        base_date: BaseDate | int = BaseDate.Y1993,
        manufacture_tid: int | None = None,
        manufactured_at: datetime | None = None,
        tid_memory_size: int = 20,
        mfr_code: int = 0,
        register_limit: int = 0xFFFFFFFF,
    ) -> None:
        self.ea = parse_ea(ea)
        self.decoder_key = check_key(self.ea, decoder_key)
        if kt not in (0, 1, 2, 3) or not 1 <= krn <= 9 or not 0 <= ken <= 0xFF or not 0 <= ti <= 255:
            raise RangeError("bad KT/KRN/KEN/TI")
        if tid_memory_size < 1:
            raise RangeError("TID memory size must be at least 1")
        self.kt, self.krn, self.ti, self.ken = kt, krn, ti, ken
        self.sgc = parse_sgc(sgc)
        self.base_date = BaseDate(int(base_date))
        if manufacture_tid is None:
            manufacture_tid = tid_from_datetime(manufactured_at, self.base_date) if manufactured_at else 0
        self.tid_memory: list[int] = [manufacture_tid] * tid_memory_size
        self.mfr_code = mfr_code
        self.register_limit = register_limit
        self.credit: dict[int, int] = dict.fromkeys(range(8), 0)
        self.max_power_limit: int | None = None
        self.max_phase_power_unbalance: int | None = None
        self.tariff_rate: int | None = None
        self.water_meter_factor: int | None = None
        self.tamper = False
        self.last_test: TestToken | None = None
        self._pending: dict[int, Token] = {}

    # -- public -----------------------------------------------------------------------------

    @property
    def key_change_pending(self) -> bool:
        return bool(self._pending)

    def enter(self, digits: str) -> Acceptance:
        """Enter a token. Returns :class:`Acceptance` or raises a typed :class:`sts.errors.StsError`;
        a rejected token leaves the meter unchanged (except that a pending key change set is
        discarded when another kind of token is entered)."""
        token = decode_token(digits, self.decoder_key, self.ea)
        if isinstance(token, _KEY_CHANGE_SECTIONS):
            return self._key_change(token)
        if self._pending:
            self._pending.clear()
            raise KeyChangeIncompleteError("a key change set was half-entered; it has been discarded")
        if isinstance(token, TestToken):
            if token.mfr_code not in (0, self.mfr_code):
                raise MfrCodeMismatchError(f"test token for manufacturer {token.mfr_code}")
            self.last_test = token
            return Acceptance(token, {"test_control": token.control})
        assert isinstance(token, CreditToken | ManagementToken)
        self._check_tid(token.tid)
        changes = (
            self._apply_credit(token) if isinstance(token, CreditToken) else self._apply_management(token)
        )
        self._store_tid(token.tid)
        return Acceptance(token, changes)

    # -- TID --------------------------------------------------------------------------------

    def _check_tid(self, tid: int) -> None:
        if self.kt != DITK and self.ken != 0xFF and (tid >> 16) > self.ken:
            raise KeyExpiredError(f"TID {tid} is beyond KEN {self.ken:#04x}")
        if tid in self.tid_memory:
            raise TokenUsedError(f"TID {tid} was already used")
        if tid < min(self.tid_memory):
            raise TokenOldError(f"TID {tid} is older than the TID memory")

    def _store_tid(self, tid: int) -> None:
        mem = self.tid_memory
        mem[mem.index(min(mem))] = tid

    # -- registers --------------------------------------------------------------------------

    def _apply_credit(self, token: CreditToken) -> dict[str, object]:
        new = self.credit[token.subclass] + token.amount
        if new > self.register_limit or new < 0:
            raise RegisterOverflowError(f"credit register {token.subclass} would become {new}")
        self.credit[token.subclass] = new
        return {f"credit[{token.subclass}]": new}

    def _apply_management(self, token: ManagementToken) -> dict[str, object]:
        f = token.function
        if f is ManagementFunction.SET_MAX_POWER_LIMIT:
            self.max_power_limit = token.decoded_value
            return {"max_power_limit": self.max_power_limit}
        if f is ManagementFunction.CLEAR_CREDIT:
            if token.value == CLEAR_ALL_REGISTERS:
                self.credit = dict.fromkeys(self.credit, 0)
                return {f"credit[{r}]": 0 for r in self.credit}
            if token.value not in self.credit:
                raise RangeError(f"no credit register {token.value}")
            self.credit[token.value] = 0
            return {f"credit[{token.value}]": 0}
        if f is ManagementFunction.SET_TARIFF_RATE:
            self.tariff_rate = token.value
            return {"tariff_rate": token.value}
        if f is ManagementFunction.CLEAR_TAMPER:
            self.tamper = False
            return {"tamper": False}
        if f is ManagementFunction.SET_MAX_PHASE_POWER_UNBALANCE:
            self.max_phase_power_unbalance = token.decoded_value
            return {"max_phase_power_unbalance": self.max_phase_power_unbalance}
        self.water_meter_factor = token.value
        return {"water_meter_factor": token.value}

    # -- key change -------------------------------------------------------------------------

    def _key_change(self, section: Token) -> Acceptance:
        needed = (3, 4, 8, 9) if self.ea.key_length == 16 else (3, 4)
        if section.subclass not in needed:
            raise KeyChangeIncompleteError(
                f"section subclass {section.subclass} does not belong to an EA{self.ea.value} set"
            )
        if isinstance(section, KeyChangeToken1):
            if not key_type_change_allowed(self.kt, section.kt):
                raise KeyTypeChangeError(f"key type change {self.kt} -> {section.kt} not allowed")
            if not 1 <= section.krn <= 9:
                raise RangeError(f"KRN {section.krn} out of range")
            self._pending = {3: section}
        elif 3 not in self._pending:
            raise KeyChangeIncompleteError("the 1st section of the key change set must be entered first")
        else:
            self._pending[section.subclass] = section
        if any(s not in self._pending for s in needed):
            return Acceptance(section, key_change_pending=True)
        sections = [self._pending[s] for s in needed]
        self._pending = {}
        change = KeyChangeSet.from_sections(sections)  # type: ignore[arg-type]
        self.decoder_key = change.new_key
        self.kt, self.krn, self.ti, self.ken = change.kt, change.krn, change.ti, change.ken
        changes: dict[str, object] = {"kt": change.kt, "krn": change.krn, "ti": change.ti, "ken": change.ken}
        if change.sgc is not None:
            self.sgc = change.sgc
            changes["sgc"] = change.sgc
        if change.ro:
            self.tid_memory = [0] * len(self.tid_memory)
            self.base_date = next_base_date(self.base_date)
            changes |= {"tid_memory": "cleared", "base_date": int(self.base_date)}
        return Acceptance(section, changes, key_changed=True)
