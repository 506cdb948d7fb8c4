"""Tariff use cases: tariffs, versions (draft → published, never edited after), holidays, previews.

Other contexts (vending, billing) call :func:`version_in_force` / :func:`structure_in_force` inside
their own transaction to price a purchase or a bill with the version in force at a moment, and
:func:`holidays_between` for time-of-use day types. These read functions open no transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import BindParameter, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.sql_functions import constant
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.customers.models import Account, Customer
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.notifications.models import OutboxMessage
from backend.domain.tariffs import rules
from backend.domain.tariffs.models import PublicHoliday, Tariff, TariffVersion

PAYMENT_MODES = ("prepaid", "postpaid", "any")
# "now" for a publish: a browser's clock may be a little behind the server's.
PUBLISH_GRACE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class InForce:
    version: TariffVersion
    structure: rules.Structure


# --------------------------------------------------------------------------------------------------
# Tariffs


def _tariff_detail(tariff: Tariff) -> dict[str, Any]:
    return {
        "code": tariff.code,
        "name": tariff.name,
        "description": tariff.description,
        "payment_mode": tariff.payment_mode,
        "currency": tariff.currency,
    }


async def get_tariff(session: AsyncSession, tariff_id: int) -> Tariff:
    tariff = await session.get(Tariff, tariff_id)
    if tariff is None:
        raise NotFound(f"Tariff {tariff_id} does not exist.")
    return tariff


async def list_tariffs(
    session: AsyncSession,
    *,
    q: str | None = None,
    payment_mode: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Tariff], int]:
    query = select(Tariff)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(func.lower(Tariff.name).like(pattern) | func.lower(Tariff.code).like(pattern))
    if payment_mode:
        query = query.where(Tariff.payment_mode == payment_mode)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(Tariff.code).limit(limit).offset(offset))).scalars().all()
    return list(rows), total


def _check_mode(payment_mode: str) -> None:
    if payment_mode not in PAYMENT_MODES:
        raise InvalidInput("Payment mode must be prepaid, postpaid or any.")


async def create_tariff(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str,
    name: str,
    payment_mode: str,
    currency: str,
    description: str | None = None,
) -> Tariff:
    code = code.strip().upper()
    if not code or not name.strip():
        raise InvalidInput("A tariff needs a code and a name.")
    _check_mode(payment_mode)
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("Currency must be a three-letter ISO code such as KES.")
    async with session.begin():
        if (await session.execute(select(Tariff.id).where(Tariff.code == code))).first():
            raise Conflict(f"A tariff with the code '{code}' already exists.")
        tariff = Tariff(
            code=code,
            name=name.strip(),
            description=description,
            payment_mode=payment_mode,
            currency=currency.upper(),
        )
        session.add(tariff)
        await session.flush()
        await audit.record(
            session,
            actor,
            "tariff.create",
            entity_type="tariff",
            entity_id=tariff.id,
            detail={"after": _tariff_detail(tariff)},
        )
    return tariff


async def update_tariff(
    session: AsyncSession,
    actor: Actor,
    tariff_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    payment_mode: str | None = None,
) -> Tariff:
    async with session.begin():
        tariff = (
            await session.execute(select(Tariff).where(Tariff.id == tariff_id).with_for_update())
        ).scalar_one_or_none()
        if tariff is None:
            raise NotFound(f"Tariff {tariff_id} does not exist.")
        before = _tariff_detail(tariff)
        if name is not None:
            if not name.strip():
                raise InvalidInput("A tariff needs a name.")
            tariff.name = name.strip()
        if description is not None:
            tariff.description = description or None
        if payment_mode is not None:
            _check_mode(payment_mode)
            if payment_mode == "prepaid" and await _has_tou_version(session, tariff.id):
                raise InvalidInput(
                    "This tariff has time-of-use versions, which only postpaid accounts can use."
                )
            tariff.payment_mode = payment_mode
        after = _tariff_detail(tariff)
        if after != before:
            await audit.record(
                session,
                actor,
                "tariff.update",
                entity_type="tariff",
                entity_id=tariff.id,
                detail={"before": before, "after": after},
            )
    return tariff


async def _has_tou_version(session: AsyncSession, tariff_id: int) -> bool:
    rows = (
        await session.execute(select(TariffVersion.components).where(TariffVersion.tariff_id == tariff_id))
    ).scalars()
    return any(rules.is_time_of_use(rules.parse_structure(text)) for text in rows)


# --------------------------------------------------------------------------------------------------
# Versions


def _structure(components: str | dict[str, Any], tariff: Tariff) -> rules.Structure:
    try:
        structure = rules.parse_structure(components)
    except rules.TariffRuleError as exc:
        raise InvalidInput(str(exc)) from None
    if tariff.payment_mode == "prepaid" and rules.is_time_of_use(structure):
        raise InvalidInput(
            "Time-of-use energy charges price metered registers, so they are for postpaid tariffs only."
        )
    return structure


def _version_detail(version: TariffVersion) -> dict[str, Any]:
    return {
        "version_no": version.version_no,
        "status": version.status,
        "effective_from": version.effective_from.isoformat(),
        "components": version.components,
        "notes": version.notes,
    }


async def get_version(session: AsyncSession, version_id: int, *, lock: bool = False) -> TariffVersion:
    query = select(TariffVersion).where(TariffVersion.id == version_id)
    if lock:
        query = query.with_for_update()
    version = (await session.execute(query)).scalar_one_or_none()
    if version is None:
        raise NotFound(f"Tariff version {version_id} does not exist.")
    return version


async def list_versions(
    session: AsyncSession, tariff_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[TariffVersion], int]:
    await get_tariff(session, tariff_id)
    where = TariffVersion.tariff_id == tariff_id
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    rows = (
        await session.execute(
            select(TariffVersion)
            .where(where)
            .order_by(TariffVersion.version_no.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return list(rows), total


async def create_version(
    session: AsyncSession,
    actor: Actor,
    tariff_id: int,
    *,
    components: str | dict[str, Any],
    effective_from: datetime,
    notes: str | None = None,
) -> TariffVersion:
    """A new draft version (numbered after the last one) with validated components."""
    async with session.begin():
        tariff = (
            await session.execute(select(Tariff).where(Tariff.id == tariff_id).with_for_update())
        ).scalar_one_or_none()
        if tariff is None:
            raise NotFound(f"Tariff {tariff_id} does not exist.")
        structure = _structure(components, tariff)
        last = (
            await session.execute(
                select(func.max(TariffVersion.version_no)).where(TariffVersion.tariff_id == tariff_id)
            )
        ).scalar_one()
        version = TariffVersion(
            tariff_id=tariff_id,
            version_no=(last or 0) + 1,
            status="draft",
            effective_from=effective_from,
            components=rules.encode_structure(structure),
            notes=notes,
            created_by=actor.name,
        )
        session.add(version)
        await session.flush()
        await audit.record(
            session,
            actor,
            "tariff_version.create",
            entity_type="tariff_version",
            entity_id=version.id,
            detail={"tariff_id": tariff_id, "after": _version_detail(version)},
        )
    return version


_PUBLISHED = "Published versions cannot be changed; create a new version."


async def update_version(
    session: AsyncSession,
    actor: Actor,
    version_id: int,
    *,
    components: str | dict[str, Any] | None = None,
    effective_from: datetime | None = None,
    notes: str | None = None,
) -> TariffVersion:
    """Edit a draft; a published version refuses every change (409)."""
    async with session.begin():
        version = await get_version(session, version_id, lock=True)
        if version.status == "published":
            raise Conflict(_PUBLISHED)
        tariff = await get_tariff(session, version.tariff_id)
        before = _version_detail(version)
        if components is not None:
            version.components = rules.encode_structure(_structure(components, tariff))
        if effective_from is not None:
            version.effective_from = effective_from
        if notes is not None:
            version.notes = notes or None
        after = _version_detail(version)
        if after != before:
            await audit.record(
                session,
                actor,
                "tariff_version.update",
                entity_type="tariff_version",
                entity_id=version.id,
                detail={"tariff_id": tariff.id, "before": before, "after": after},
            )
    return version


def _notice(tariff: Tariff, structure: rules.Structure, effective_from: datetime, zone: tzinfo) -> str:
    local = effective_from.astimezone(zone)
    when = f"{local:%d %b %Y}" if (local.hour, local.minute) == (0, 0) else f"{local:%d %b %Y %H:%M}"
    return (
        f"Tariff notice: new {tariff.name} prices apply from {when}: "
        f"{rules.summary(structure, tariff.currency)}."
    )[:480]


async def publish_version(
    session: AsyncSession,
    actor: Actor,
    version_id: int,
    *,
    zone: tzinfo,
    now: datetime | None = None,
) -> tuple[TariffVersion, int]:
    """Publish a draft: it becomes immutable and will be in force from its ``effective_from``.

    ``effective_from`` must be now (within :data:`PUBLISH_GRACE`) or later, and after the previous
    published version's. In the same transaction an SMS notice is queued in the notifications outbox
    for each customer with an open account on the tariff and a phone number (``zone`` is the utility's
    time zone for the date in the message). Returns the version and the number of notices queued.
    ``now`` defaults to the clock (demo data publishes "as of" a past date).
    """
    now = now or utcnow()
    async with session.begin():
        tariff_id = (
            await session.execute(select(TariffVersion.tariff_id).where(TariffVersion.id == version_id))
        ).scalar_one_or_none()
        if tariff_id is None:
            raise NotFound(f"Tariff version {version_id} does not exist.")
        # The tariff row is the lock that orders publishes of the same tariff.
        tariff = (
            await session.execute(select(Tariff).where(Tariff.id == tariff_id).with_for_update())
        ).scalar_one()
        version = await get_version(session, version_id, lock=True)
        if version.status == "published":
            raise Conflict("This version is already published. " + _PUBLISHED)
        if version.effective_from < now - PUBLISH_GRACE:
            raise InvalidInput(
                "The effective date is in the past: a published version takes effect now or later. "
                "Change the draft's effective date first."
            )
        previous = (
            await session.execute(
                select(func.max(TariffVersion.effective_from)).where(
                    TariffVersion.tariff_id == tariff.id, TariffVersion.status == "published"
                )
            )
        ).scalar_one()
        if previous is not None and version.effective_from <= previous:
            raise InvalidInput(
                "The effective date must be after the latest published version's "
                f"({previous.astimezone(zone):%d %b %Y %H:%M})."
            )
        structure = _structure(version.components, tariff)
        before = _version_detail(version)
        version.status = "published"
        version.published_at = now
        version.published_by = actor.name
        body = _notice(tariff, structure, version.effective_from, zone)
        recipients = (
            await session.execute(
                select(Customer.id, Customer.phone)
                .join(Account, Account.customer_id == Customer.id)
                .where(
                    Account.tariff_id == tariff.id, Account.status != "closed", Customer.phone.is_not(None)
                )
                .distinct()
                .order_by(Customer.id)
            )
        ).all()
        for customer_id, phone in recipients:
            session.add(
                OutboxMessage(
                    channel="sms",
                    recipient=phone,
                    body=body,
                    reference=f"tariff_version:{version.id}",
                    customer_id=customer_id,
                )
            )
        await session.flush()
        await audit.record(
            session,
            actor,
            "tariff_version.publish",
            entity_type="tariff_version",
            entity_id=version.id,
            detail={
                "tariff_id": tariff.id,
                "before": {"status": before["status"]},
                "after": {"status": "published", "effective_from": before["effective_from"]},
                "notices_queued": len(recipients),
            },
        )
    return version, len(recipients)


def in_force_query(tariff_id: Any, at: datetime | BindParameter[Any]) -> Select[TariffVersion]:
    """The published version of ``tariff_id`` (a value, or a column to correlate with) in force at
    ``at`` (a moment, or a parameter bound later): the latest ``effective_from <= at``; of two published
    for the same moment, the later one."""
    return (
        select(TariffVersion)
        .where(
            TariffVersion.tariff_id == tariff_id,
            TariffVersion.status == constant("published"),
            TariffVersion.effective_from <= at,
        )
        .order_by(TariffVersion.effective_from.desc(), TariffVersion.version_no.desc())
        .limit(constant(1))
    )


async def version_in_force(session: AsyncSession, tariff_id: int, at: datetime) -> TariffVersion | None:
    """The version in force at ``at`` (None if none yet), see :func:`in_force_query`. No transaction."""
    return (await session.execute(in_force_query(tariff_id, at))).scalar_one_or_none()


async def structure_in_force(session: AsyncSession, tariff_id: int, at: datetime) -> InForce:
    """The version in force at ``at`` and its parsed structure; Conflict (409) if there is none."""
    version = await version_in_force(session, tariff_id, at)
    if version is None:
        tariff = await get_tariff(session, tariff_id)
        raise Conflict(f"Tariff '{tariff.name}' has no published version in force at that time.")
    return InForce(version=version, structure=rules.parse_structure(version.components))


async def preview(
    session: AsyncSession,
    tariff_id: int,
    *,
    amount_minor: int,
    month_to_date_wh: int = 0,
    at: datetime | None = None,
    version_id: int | None = None,
    include_fixed: bool = False,
) -> tuple[TariffVersion, rules.Preview]:
    """What ``amount_minor`` buys: at the version in force at ``at`` (default now) or a given version."""
    tariff = await get_tariff(session, tariff_id)
    if version_id is not None:
        version = await get_version(session, version_id)
        if version.tariff_id != tariff_id:
            raise NotFound(f"Tariff version {version_id} does not exist.")
        structure = rules.parse_structure(version.components)
    else:
        in_force = await structure_in_force(session, tariff_id, at or utcnow())
        version, structure = in_force.version, in_force.structure
    try:
        result = rules.preview(
            structure,
            amount_minor,
            month_to_date_wh,
            currency=tariff.currency,
            include_fixed=include_fixed,
        )
    except rules.TariffRuleError as exc:
        raise InvalidInput(str(exc)) from None
    return version, result


# --------------------------------------------------------------------------------------------------
# Public holidays


async def list_holidays(
    session: AsyncSession, *, year: int | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[PublicHoliday], int]:
    query = select(PublicHoliday)
    if year is not None:
        query = query.where(PublicHoliday.day >= date(year, 1, 1), PublicHoliday.day <= date(year, 12, 31))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(PublicHoliday.day).limit(limit).offset(offset))).scalars()
    return list(rows), total


async def holidays_between(session: AsyncSession, first: date, last: date) -> set[date]:
    """Public holiday dates in [first, last] (local days), for time-of-use day types."""
    rows = await session.execute(
        select(PublicHoliday.day).where(PublicHoliday.day >= first, PublicHoliday.day <= last)
    )
    return set(rows.scalars())


async def create_holiday(session: AsyncSession, actor: Actor, *, day: date, name: str) -> PublicHoliday:
    if not name.strip():
        raise InvalidInput("A public holiday needs a name.")
    async with session.begin():
        if (await session.execute(select(PublicHoliday.id).where(PublicHoliday.day == day))).first():
            raise Conflict(f"{day:%d %b %Y} is already a public holiday.")
        holiday = PublicHoliday(day=day, name=name.strip())
        session.add(holiday)
        await session.flush()
        await audit.record(
            session,
            actor,
            "public_holiday.create",
            entity_type="public_holiday",
            entity_id=holiday.id,
            detail={"after": {"day": day.isoformat(), "name": holiday.name}},
        )
    return holiday


async def update_holiday(
    session: AsyncSession, actor: Actor, holiday_id: int, *, day: date | None, name: str | None
) -> PublicHoliday:
    async with session.begin():
        holiday = (
            await session.execute(
                select(PublicHoliday).where(PublicHoliday.id == holiday_id).with_for_update()
            )
        ).scalar_one_or_none()
        if holiday is None:
            raise NotFound(f"Public holiday {holiday_id} does not exist.")
        before = {"day": holiday.day.isoformat(), "name": holiday.name}
        if day is not None and day != holiday.day:
            clash = await session.execute(select(PublicHoliday.id).where(PublicHoliday.day == day))
            if clash.first():
                raise Conflict(f"{day:%d %b %Y} is already a public holiday.")
            holiday.day = day
        if name is not None:
            if not name.strip():
                raise InvalidInput("A public holiday needs a name.")
            holiday.name = name.strip()
        await audit.record(
            session,
            actor,
            "public_holiday.update",
            entity_type="public_holiday",
            entity_id=holiday.id,
            detail={"before": before, "after": {"day": holiday.day.isoformat(), "name": holiday.name}},
        )
    return holiday


async def delete_holiday(session: AsyncSession, actor: Actor, holiday_id: int) -> None:
    async with session.begin():
        holiday = (
            await session.execute(
                select(PublicHoliday).where(PublicHoliday.id == holiday_id).with_for_update()
            )
        ).scalar_one_or_none()
        if holiday is None:
            raise NotFound(f"Public holiday {holiday_id} does not exist.")
        before = {"day": holiday.day.isoformat(), "name": holiday.name}
        await session.delete(holiday)
        await audit.record(
            session,
            actor,
            "public_holiday.delete",
            entity_type="public_holiday",
            entity_id=holiday_id,
            detail={"before": before},
        )
