"""Keys use cases: vending keys (import, list, retire, rewrap) and meter key changes.

Key material enters only through the CLI (``gridvend keys import``), travels as ``SecretBytes`` and is
stored only wrapped by the key store; no function here returns, logs or audits it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.assets.models import Meter
from backend.domain.assets.service import scope_meters, scoped_meter
from backend.domain.audit import service as audit
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.keys.engine import TokenEngine, TokenOut
from backend.domain.keys.keystore import KeyStore, SoftwareKeyStore, WrappedKey, load_keystore
from backend.domain.keys.models import MeterKeyChange, VendingKey
from backend.domain.keys.rules import (
    KeyBinding,
    KeyChangeRequest,
    MeterKeyData,
    SecretBytes,
    identity_problem,
    key_material_problem,
    plan_key_change,
)
from backend.settings import Settings


def keystore_for(settings: Settings) -> SoftwareKeyStore:
    """The key store of the configured master key file (KeyStoreUnavailable with advice when unusable)."""
    return load_keystore(settings.master_key_file)


def binding_of(row: VendingKey) -> KeyBinding:
    return KeyBinding(row.sgc, row.krn, row.kt, row.dkga, row.base_date)


# -- vending keys ----------------------------------------------------------------------------------


async def import_vending_key(
    session: AsyncSession,
    store: KeyStore,
    actor: Actor,
    *,
    sgc: int,
    krn: int,
    kt: int,
    dkga: str,
    base_date: int,
    material: SecretBytes,
    expires_at: datetime | None = None,
    label: str | None = None,
) -> VendingKey:
    """Wrap and store a vending key from the key management centre (audited without its material)."""
    problem = identity_problem(sgc, krn, kt, base_date) or key_material_problem(material.reveal(), dkga)
    if problem:
        raise InvalidInput(problem)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput(f"The expiry {expires_at.isoformat()} is in the past.")
    binding = KeyBinding(sgc, krn, kt, dkga, base_date)
    wrapped = store.wrap(material, binding)
    if store.unwrap(wrapped, binding) != material:
        raise InvalidInput("The key store did not give back the key it wrapped; nothing was stored.")
    async with session.begin():
        exists = (
            await session.execute(
                select(VendingKey.id).where(VendingKey.sgc == sgc, VendingKey.krn == krn, VendingKey.kt == kt)
            )
        ).first()
        if exists:
            raise Conflict(
                f"A vending key for SGC {sgc:06d} KRN {krn} KT {kt} is already loaded; keys are never "
                "replaced in place (retire it and use a new KRN)."
            )
        row = VendingKey(
            sgc=sgc,
            krn=krn,
            kt=kt,
            dkga=dkga,
            base_date=base_date,
            label=(label or "").strip() or None,
            expires_at=expires_at,
            status="active",
            key_nonce=wrapped.nonce,
            key_ciphertext=wrapped.ciphertext,
            master_key_id=wrapped.master_key_id,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"A vending key for SGC {sgc:06d} KRN {krn} KT {kt} is already loaded.") from None
        await audit.record(
            session,
            actor,
            "vending_key.import",
            entity_type="vending_key",
            entity_id=row.id,
            detail={**_key_detail(row), "master_key_id": row.master_key_id},
        )
    return row


def _key_detail(row: VendingKey) -> dict[str, object]:
    return {
        "sgc": row.sgc,
        "krn": row.krn,
        "kt": row.kt,
        "dkga": row.dkga,
        "base_date": row.base_date,
        "label": row.label,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "status": row.status,
    }


async def list_vending_keys(
    session: AsyncSession,
    *,
    status: str | None = None,
    sgc: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[VendingKey], int]:
    query = select(VendingKey)
    if status:
        query = query.where(VendingKey.status == status)
    if sgc is not None:
        query = query.where(VendingKey.sgc == sgc)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(
            query.order_by(VendingKey.sgc, VendingKey.krn, VendingKey.kt).limit(limit).offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


async def retire_vending_key(session: AsyncSession, actor: Actor, key_id: int) -> VendingKey:
    """Retire a vending key: no more credit tokens under it (key changes away from it still work)."""
    async with session.begin():
        row = (
            await session.execute(select(VendingKey).where(VendingKey.id == key_id).with_for_update())
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"Vending key {key_id} does not exist.")
        if row.status == "retired":
            raise Conflict(f"Vending key {key_id} is already retired.")
        before = row.status
        row.status = "retired"
        await audit.record(
            session,
            actor,
            "vending_key.retire",
            entity_type="vending_key",
            entity_id=row.id,
            detail={**_key_detail(row), "before": {"status": before}, "after": {"status": "retired"}},
        )
    return row


async def rewrap_all(session: AsyncSession, actor: Actor, old: KeyStore, new: KeyStore) -> int:
    """Re-encrypt every vending key under ``new`` in one transaction, verifying each; return the count.

    Nothing changes unless every key decrypts under ``old`` and round-trips under ``new``.
    """
    if old.master_key_id == new.master_key_id:
        raise InvalidInput("The new master key is the current one; nothing to do.")
    async with session.begin():
        rows = (
            (await session.execute(select(VendingKey).order_by(VendingKey.id).with_for_update()))
            .scalars()
            .all()
        )
        for row in rows:
            binding = binding_of(row)
            material = old.unwrap(WrappedKey(row.key_nonce, row.key_ciphertext, row.master_key_id), binding)
            wrapped = new.wrap(material, binding)
            if new.unwrap(wrapped, binding) != material:
                raise InvalidInput(
                    f"Vending key {row.id} did not verify under the new master key; nothing changed."
                )
            row.key_nonce = wrapped.nonce
            row.key_ciphertext = wrapped.ciphertext
            row.master_key_id = wrapped.master_key_id
        await audit.record(
            session,
            actor,
            "vending_key.rewrap",
            entity_type="vending_key",
            detail={
                "count": len(rows),
                "before": {"master_key_id": old.master_key_id},
                "after": {"master_key_id": new.master_key_id},
            },
        )
    return len(rows)


# -- meters ----------------------------------------------------------------------------------------


def meter_key_data(meter: Meter) -> MeterKeyData:
    """The STS configuration of a meter row (InvalidInput when it takes no tokens or is incomplete)."""
    values = (meter.sgc, meter.ti, meter.krn, meter.kt, meter.ea, meter.dkga, meter.base_date)
    if any(v is None for v in values):
        raise InvalidInput(
            f"Meter {meter.meter_no} has no complete STS configuration "
            "(SGC, TI, KRN, KT, EA, DKGA, base date)."
        )
    assert meter.sgc is not None and meter.ti is not None and meter.krn is not None and meter.kt is not None
    assert meter.ea is not None and meter.dkga is not None and meter.base_date is not None
    return MeterKeyData(
        iin=meter.iin,
        drn=meter.meter_no,
        sgc=meter.sgc,
        ti=meter.ti,
        krn=meter.krn,
        kt=meter.kt,
        ea=meter.ea,
        dkga=meter.dkga,
        base_date=meter.base_date,
        ken=0xFF if meter.ken is None else meter.ken,
    )


async def meter_number(session: AsyncSession, meter_id: int) -> str:
    """The number printed on a meter (its DRN)."""
    return str((await session.execute(select(Meter.meter_no).where(Meter.id == meter_id))).scalar_one())


def _data_dict(data: MeterKeyData) -> dict[str, object]:
    out = asdict(data)
    return {k: out[k] for k in ("sgc", "ti", "krn", "kt", "base_date", "ken")}


def _old_data(change: MeterKeyChange, meter: Meter) -> MeterKeyData:
    current = meter_key_data(meter)
    return MeterKeyData(
        iin=current.iin,
        drn=current.drn,
        sgc=change.old_sgc,
        ti=change.old_ti,
        krn=change.old_krn,
        kt=change.old_kt,
        ea=current.ea,
        dkga=current.dkga,
        base_date=change.old_base_date,
        ken=change.old_ken,
    )


def _new_data(change: MeterKeyChange, meter: Meter) -> MeterKeyData:
    current = meter_key_data(meter)
    return MeterKeyData(
        iin=current.iin,
        drn=current.drn,
        sgc=change.new_sgc,
        ti=change.new_ti,
        krn=change.new_krn,
        kt=change.new_kt,
        ea=current.ea,
        dkga=current.dkga,
        base_date=change.new_base_date,
        ken=change.new_ken,
    )


async def schedule_key_change(
    session: AsyncSession,
    actor: Actor,
    meter_id: int,
    request: KeyChangeRequest,
    *,
    reason: str,
    campaign_id: int | None = None,
) -> MeterKeyChange:
    """Record a pending key change for a meter (409 when one is already pending)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give a reason for the key change.")
    async with session.begin():
        meter = await scoped_meter(session, actor, meter_id, lock=True)
        current = meter_key_data(meter)
        try:
            new, rollover = plan_key_change(current, request)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        vk = (
            await session.execute(
                select(VendingKey).where(
                    VendingKey.sgc == new.sgc, VendingKey.krn == new.krn, VendingKey.kt == new.kt
                )
            )
        ).scalar_one_or_none()
        where = f"SGC {new.sgc:06d} KRN {new.krn} KT {new.kt}"
        if vk is None:
            raise InvalidInput(
                f"No vending key is loaded for {where}; import it before scheduling the change."
            )
        if vk.status != "active":
            raise InvalidInput(f"The vending key for {where} is retired.")
        if vk.expires_at is not None and vk.expires_at <= utcnow():
            raise InvalidInput(f"The vending key for {where} has expired.")
        if vk.dkga != current.dkga:
            raise InvalidInput(
                f"Meter {meter.meter_no} uses DKGA{current.dkga}; the key for {where} is DKGA{vk.dkga}."
            )
        if vk.base_date != new.base_date:
            raise InvalidInput(
                f"The vending key for {where} is for base date {vk.base_date}, not {new.base_date}."
            )
        pending = (
            await session.execute(
                select(MeterKeyChange.id).where(
                    MeterKeyChange.meter_id == meter.id, MeterKeyChange.status == "pending"
                )
            )
        ).first()
        if pending:
            raise Conflict(
                f"Meter {meter.meter_no} already has a pending key change (id {pending[0]}); "
                "cancel it or let it be issued first."
            )
        change = MeterKeyChange(
            meter_id=meter.id,
            status="pending",
            reason=reason[:200],
            old_sgc=current.sgc,
            old_ti=current.ti,
            old_krn=current.krn,
            old_kt=current.kt,
            old_base_date=current.base_date,
            old_ken=current.ken,
            new_sgc=new.sgc,
            new_ti=new.ti,
            new_krn=new.krn,
            new_kt=new.kt,
            new_base_date=new.base_date,
            new_ken=new.ken,
            rollover=rollover,
            campaign_id=campaign_id,
            created_by=actor.name,
        )
        session.add(change)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"Meter {meter.meter_no} already has a pending key change.") from None
        await audit.record(
            session,
            actor,
            "key_change.schedule",
            entity_type="meter_key_change",
            entity_id=change.id,
            detail={
                "meter_id": meter.id,
                "meter_no": meter.meter_no,
                "reason": change.reason,
                "rollover": rollover,
                "before": _data_dict(current),
                "after": _data_dict(new),
            },
            org_unit_id=meter.org_unit_id,
        )
    return change


async def cancel_key_change(session: AsyncSession, actor: Actor, change_id: int) -> MeterKeyChange:
    async with session.begin():
        change = (
            await session.execute(
                select(MeterKeyChange).where(MeterKeyChange.id == change_id).with_for_update()
            )
        ).scalar_one_or_none()
        if change is None:
            raise NotFound(f"Key change {change_id} does not exist.")
        try:
            meter = await scoped_meter(session, actor, change.meter_id)
        except NotFound:
            raise NotFound(f"Key change {change_id} does not exist.") from None
        if change.status != "pending":
            raise Conflict(
                f"Key change {change_id} is {change.status}; only a pending change can be cancelled."
            )
        change.status = "cancelled"
        await audit.record(
            session,
            actor,
            "key_change.cancel",
            entity_type="meter_key_change",
            entity_id=change.id,
            detail={
                "meter_id": meter.id,
                "meter_no": meter.meter_no,
                "before": {"status": "pending"},
                "after": {"status": "cancelled"},
            },
            org_unit_id=meter.org_unit_id,
        )
    return change


async def list_key_changes(
    session: AsyncSession,
    actor: Actor,
    *,
    meter_id: int | None = None,
    status: str | None = None,
    sgc: int | None = None,
    krn: int | None = None,
    base_date: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[MeterKeyChange, str]], int]:
    """Key changes of meters in the actor's scope, newest first, with each meter's number."""
    query = scope_meters(
        select(MeterKeyChange, Meter.meter_no).join(Meter, Meter.id == MeterKeyChange.meter_id), actor
    )
    if meter_id is not None:
        await scoped_meter(session, actor, meter_id)
        query = query.where(MeterKeyChange.meter_id == meter_id)
    if status:
        query = query.where(MeterKeyChange.status == status)
    if sgc is not None:
        query = query.where((MeterKeyChange.old_sgc == sgc) | (MeterKeyChange.new_sgc == sgc))
    if krn is not None:
        query = query.where((MeterKeyChange.old_krn == krn) | (MeterKeyChange.new_krn == krn))
    if base_date is not None:
        query = query.where(
            (MeterKeyChange.old_base_date == base_date) | (MeterKeyChange.new_base_date == base_date)
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(MeterKeyChange.id.desc()).limit(limit).offset(offset))).all()
    return [(change, meter_no) for change, meter_no in rows], int(total)


# -- issuing (called by the vending context inside its transaction) --------------------------------


async def pending_change(session: AsyncSession, meter_id: int) -> MeterKeyChange | None:
    return (
        await session.execute(
            select(MeterKeyChange).where(
                MeterKeyChange.meter_id == meter_id, MeterKeyChange.status == "pending"
            )
        )
    ).scalar_one_or_none()


async def tokens_for_pending_change(
    session: AsyncSession, engine: TokenEngine, meter: Meter
) -> list[TokenOut] | None:
    """The key change tokens of the meter's pending change (None when nothing is pending).

    Runs inside the caller's transaction and changes nothing; after handing the tokens out, the caller
    calls :func:`mark_issued` in the same transaction.
    """
    change = await pending_change(session, meter.id)
    if change is None:
        return None
    return await tokens_for_change(engine, change, meter)


async def tokens_for_change(engine: TokenEngine, change: MeterKeyChange, meter: Meter) -> list[TokenOut]:
    """The key change tokens of ``change`` (already read by the caller) for ``meter``."""
    return await engine.key_change(_old_data(change, meter), _new_data(change, meter), change.rollover)


async def mark_issued(session: AsyncSession, change: MeterKeyChange, actor: Actor) -> Meter:
    """Apply an issued change to the meter (inside the caller's transaction); RO resets ``last_tid``."""
    if change.status != "pending":
        raise Conflict(f"Key change {change.id} is {change.status}, not pending.")
    meter = (
        await session.execute(select(Meter).where(Meter.id == change.meter_id).with_for_update())
    ).scalar_one()
    before = {**_data_dict(meter_key_data(meter)), "last_tid": meter.last_tid}
    meter.sgc, meter.ti, meter.krn, meter.kt = change.new_sgc, change.new_ti, change.new_krn, change.new_kt
    meter.base_date, meter.ken = change.new_base_date, change.new_ken
    if change.rollover:
        meter.last_tid = None
    meter.updated_at = utcnow()
    change.status = "issued"
    change.issued_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        actor,
        "key_change.issued",
        entity_type="meter_key_change",
        entity_id=change.id,
        detail={
            "meter_id": meter.id,
            "meter_no": meter.meter_no,
            "rollover": change.rollover,
            "before": before,
            "after": {**_data_dict(meter_key_data(meter)), "last_tid": meter.last_tid},
        },
        org_unit_id=meter.org_unit_id,
    )
    return meter
