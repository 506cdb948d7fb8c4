"""The token engine: the one place where vending keys turn into decoder keys and tokens.

:class:`TokenEngine` is the interface the vending context uses. :class:`SoftwareTokenEngine`
implements it with the pure :mod:`sts` library and a :class:`~backend.domain.keys.keystore.KeyStore`:
it finds the vending key by (SGC, KRN, KT), unwraps it, derives the meter's decoder key (DKGA02 or
DKGA04, base date from the meter's configuration), keeps decoder keys in a small bounded LRU cache and
encrypts tokens with EA07 or EA11.

An HSM (a security module that holds the vending keys and computes tokens, as STS key management
centres require in production) plugs in by implementing the same protocol: each method maps to one HSM
command (credit, management, key change, decode); the meter's :class:`MeterKeyData` carries everything
it needs. No key material would then ever be in this process.

The engine does not allocate TIDs: the caller passes them (the vending service allocates strictly
increasing TIDs per meter with :func:`backend.domain.keys.rules.next_tid` and ``Meter.last_tid``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.db.prepared import Prepared
from backend.db.types import utcnow
from backend.domain.errors import DomainError, InvalidInput
from backend.domain.keys.keystore import KeyStore, WrappedKey
from backend.domain.keys.models import VendingKey
from backend.domain.keys.rules import KeyBinding, MeterKeyData, SecretBytes

__all__ = [
    "DecoderKeyCache",
    "SoftwareTokenEngine",
    "StoredVendingKey",
    "TokenEngine",
    "TokenEngineError",
    "TokenOut",
    "VendingKeyUnavailable",
    "stored_key",
    "vending_key_read",
]


class VendingKeyUnavailable(DomainError):
    """No usable vending key for a meter's (SGC, KRN, KT): missing, retired or expired."""

    status = 409
    title = "Vending key unavailable"


class TokenEngineError(InvalidInput):
    """The request cannot become a token (amount out of range, bad meter configuration, …)."""


@dataclass(frozen=True, slots=True)
class TokenOut:
    """One 20-digit token and what it is."""

    digits: str
    kind: str  # "credit", "management", "key_change", "test"
    subclass: int
    tid: int | None = None
    units_0_1kwh: int | None = None
    description: str = ""

    @property
    def display(self) -> str:
        """The digits in groups of four, as printed on a receipt."""
        return " ".join(self.digits[i : i + 4] for i in range(0, 20, 4))


@dataclass(frozen=True, slots=True)
class StoredVendingKey:
    """A vending key row as the engine needs it (material still wrapped)."""

    id: int
    binding: KeyBinding
    status: str
    expires_at: datetime | None
    wrapped: WrappedKey


class TokenEngine(Protocol):
    """Makes tokens for a meter. Implementations: :class:`SoftwareTokenEngine`, an HSM adapter."""

    async def credit(
        self, meter: MeterKeyData, units_0_1kwh: int, tid: int, subclass: int = 0
    ) -> TokenOut: ...

    async def management(self, meter: MeterKeyData, function: int, value: int, tid: int) -> TokenOut: ...

    async def key_change(self, old: MeterKeyData, new: MeterKeyData, rollover: bool) -> list[TokenOut]: ...

    async def test(self, control: int, mfr: int = 0) -> TokenOut: ...

    async def decode(self, meter: MeterKeyData, token_digits: str) -> sts.TokenExplanation: ...


class DecoderKeyCache:
    """A small bounded LRU of decoder keys, keyed by the meter's key data and the vending key version.

    Values are :class:`SecretBytes`; the cache has no way to list or print them.
    """

    def __init__(self, maxsize: int = 2048) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[object, ...], SecretBytes] = OrderedDict()

    def __repr__(self) -> str:
        return f"DecoderKeyCache(size={len(self._items)}, maxsize={self.maxsize})"

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[object, ...]) -> SecretBytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[object, ...], value: SecretBytes) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


SHARED_CACHE = DecoderKeyCache()


class VendingKeyLookup(Protocol):
    async def __call__(self, sgc: int, krn: int, kt: int) -> StoredVendingKey | None: ...


# The columns of a vending key the engine needs (the material stays wrapped).
VENDING_KEY_COLUMNS = (
    VendingKey.id,
    VendingKey.dkga,
    VendingKey.base_date,
    VendingKey.status,
    VendingKey.expires_at,
    VendingKey.key_nonce,
    VendingKey.key_ciphertext,
    VendingKey.master_key_id,
)

# Run for every token: prepared once (see backend.db.prepared).
_FIND_KEY = Prepared(
    select(*VENDING_KEY_COLUMNS).where(
        VendingKey.sgc == bindparam("sgc"),
        VendingKey.krn == bindparam("krn"),
        VendingKey.kt == bindparam("kt"),
    )
)

# The vending keys the running task has read and handed to the look-up (see vending_key_read).
_KEYS_READ: ContextVar[Mapping[tuple[int, int, int], StoredVendingKey | None] | None] = ContextVar(
    "gridvend_vending_keys_read", default=None
)


def stored_key(sgc: int, krn: int, kt: int, row: Sequence[Any]) -> StoredVendingKey | None:
    """The vending key from the values of :data:`VENDING_KEY_COLUMNS` (None when the id is null, as
    for the missing side of an outer join)."""
    key_id, dkga, base_date, status, expires_at, nonce, ciphertext, master_key_id = row
    if key_id is None:
        return None
    return StoredVendingKey(
        id=key_id,
        binding=KeyBinding(sgc, krn, kt, dkga, base_date),
        status=status,
        expires_at=expires_at,
        wrapped=WrappedKey(nonce, ciphertext, master_key_id),
    )


@contextmanager
def vending_key_read(sgc: int, krn: int, kt: int, found: StoredVendingKey | None) -> Iterator[None]:
    """Within the block, and in the running task only, :func:`database_lookup` answers for (SGC, KRN,
    KT) with the vending key the caller has just read (e.g. joined to the meter it sells for, or None
    when there was none) instead of reading it again. A sale puts its tokens inside the block; what it
    read is not trusted after it (a key retired since must be seen)."""
    token = _KEYS_READ.set({**(_KEYS_READ.get() or {}), (sgc, krn, kt): found})
    try:
        yield
    finally:
        _KEYS_READ.reset(token)


def database_lookup(session: AsyncSession) -> VendingKeyLookup:
    """Find vending keys with ``session`` (inside the caller's transaction), or take the one the caller
    has read (:func:`vending_key_read`)."""

    async def find(sgc: int, krn: int, kt: int) -> StoredVendingKey | None:
        known = _KEYS_READ.get()
        if known is not None and (sgc, krn, kt) in known:
            found: StoredVendingKey | None = known[(sgc, krn, kt)]
            return found
        row = await _FIND_KEY.first(session, {"sgc": sgc, "krn": krn, "kt": kt})
        return None if row is None else stored_key(sgc, krn, kt, row)

    return find


def _where(sgc: int, krn: int, kt: int) -> str:
    return f"SGC {sgc:06d} KRN {krn} KT {kt}"


class SoftwareTokenEngine:
    """:class:`TokenEngine` with :mod:`sts` and a :class:`KeyStore` (vending keys found by ``lookup``)."""

    def __init__(
        self,
        store: KeyStore,
        lookup: VendingKeyLookup,
        *,
        cache: DecoderKeyCache = SHARED_CACHE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._cache = cache
        self._clock = clock

    @classmethod
    def for_session(
        cls, session: AsyncSession, store: KeyStore, *, cache: DecoderKeyCache = SHARED_CACHE
    ) -> SoftwareTokenEngine:
        return cls(store, database_lookup(session), cache=cache)

    def __repr__(self) -> str:
        return f"SoftwareTokenEngine(store={self._store!r}, cache={self._cache!r})"

    # -- keys ------------------------------------------------------------------------------------

    async def _vending_key(self, sgc: int, krn: int, kt: int, *, for_use: bool) -> StoredVendingKey:
        found = await self._lookup(sgc, krn, kt)
        where = _where(sgc, krn, kt)
        if found is None:
            raise VendingKeyUnavailable(
                f"No vending key is loaded for {where}. An administrator imports it with "
                "`gridvend keys import`."
            )
        if for_use and found.status != "active":
            raise VendingKeyUnavailable(
                f"The vending key for {where} is retired; schedule a key change to a current key."
            )
        if for_use and found.expires_at is not None and found.expires_at <= self._clock():
            raise VendingKeyUnavailable(
                f"The vending key for {where} expired on {found.expires_at.date().isoformat()}; "
                "schedule a key change to a current key."
            )
        return found

    async def _decoder_key(self, meter: MeterKeyData, *, for_use: bool = True) -> bytes:
        vk = await self._vending_key(meter.sgc, meter.krn, meter.kt, for_use=for_use)
        if vk.binding.dkga != meter.dkga:
            raise TokenEngineError(
                f"The meter is configured for DKGA{meter.dkga} but the vending key for "
                f"{_where(meter.sgc, meter.krn, meter.kt)} is a DKGA{vk.binding.dkga} key."
            )
        cache_key = (meter, vk.id, vk.wrapped.master_key_id, vk.wrapped.nonce)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached.reveal()
        material = self._store.unwrap(vk.wrapped, vk.binding)
        try:
            derived = sts.derive_decoder_key(
                dkga=meter.dkga,
                vending_key=material.reveal(),
                iin=meter.iin,
                drn=meter.drn,
                kt=meter.kt,
                sgc=meter.sgc,
                ti=meter.ti,
                krn=meter.krn,
                base_date=meter.base_date,
                ea=meter.ea,
            )
        except sts.StsError as exc:
            raise TokenEngineError(f"The meter's STS configuration is not usable: {exc}") from None
        self._cache.put(cache_key, SecretBytes(derived))
        return derived

    # -- tokens ----------------------------------------------------------------------------------

    async def credit(self, meter: MeterKeyData, units_0_1kwh: int, tid: int, subclass: int = 0) -> TokenOut:
        key = await self._decoder_key(meter)
        try:
            digits = sts.credit_token(key=key, ea=meter.ea, subclass=subclass, units=units_0_1kwh, tid=tid)
        except sts.StsError as exc:
            raise TokenEngineError(f"The credit token cannot be made: {exc}") from None
        return TokenOut(
            digits,
            "credit",
            subclass,
            tid=tid,
            units_0_1kwh=units_0_1kwh,
            description=f"credit {units_0_1kwh / 10:.1f} kWh"
            if subclass == 0
            else f"credit subclass {subclass}",
        )

    async def management(self, meter: MeterKeyData, function: int, value: int, tid: int) -> TokenOut:
        key = await self._decoder_key(meter)
        try:
            name = sts.ManagementFunction(function).name.lower()
            digits = sts.management_token(key=key, ea=meter.ea, subclass=function, tid=tid, value=value)
        except (sts.StsError, ValueError) as exc:
            raise TokenEngineError(f"The management token cannot be made: {exc}") from None
        return TokenOut(digits, "management", function, tid=tid, description=name)

    async def key_change(self, old: MeterKeyData, new: MeterKeyData, rollover: bool) -> list[TokenOut]:
        """The key change set moving a meter from ``old`` to ``new`` key data.

        The old vending key may be retired or expired (moving away from it is the point); the new
        one must be active and current.
        """
        if (old.iin, old.drn, old.ea, old.dkga) != (new.iin, new.drn, new.ea, new.dkga):
            raise TokenEngineError("A key change keeps the meter, its EA and its DKGA.")
        old_key = await self._decoder_key(old, for_use=False)
        new_key = await self._decoder_key(new)
        try:
            digits = sts.key_change_tokens(
                old_key=old_key,
                ea=old.ea,
                new_key=new_key,
                kt=new.kt,
                krn=new.krn,
                ti=new.ti,
                ken=new.ken,
                ro=1 if rollover else 0,
                sgc=f"{new.sgc:06d}" if len(new_key) == 16 else None,
            )
        except sts.StsError as exc:
            raise TokenEngineError(f"The key change tokens cannot be made: {exc}") from None
        total = len(digits)
        return [
            TokenOut(d, "key_change", (3, 4, 8, 9)[i], description=f"key change {i + 1} of {total}")
            for i, d in enumerate(digits)
        ]

    async def test(self, control: int, mfr: int = 0) -> TokenOut:
        subclass = 0 if mfr <= 0xFF else 1
        try:
            digits = sts.test_token(subclass=subclass, control=control, mfr_code=mfr)
        except sts.StsError as exc:
            raise TokenEngineError(f"The test token cannot be made: {exc}") from None
        return TokenOut(digits, "test", subclass, description=f"meter test, control {control}")

    async def decode(self, meter: MeterKeyData, token_digits: str) -> sts.TokenExplanation:
        """Read a token with the meter's current decoder key (for diagnosis: it checks nothing)."""
        key = await self._decoder_key(meter, for_use=False)
        try:
            return sts.explain_token(token_digits, key, meter.ea)
        except sts.StsError as exc:
            raise TokenEngineError(f"The token cannot be read: {exc}") from None
