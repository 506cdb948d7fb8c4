"""Assets use cases: meters and their STS configuration, stock locations, the meter lifecycle, imports.

Every change runs in one transaction with its movement rows and its audit record. Scope: a meter or
stock location belongs to an org unit; callers see and change only their unit and below (others: 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import false, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.assets import rules
from backend.domain.assets.models import Meter, MeterMovement, StockLocation
from backend.domain.audit import service as audit
from backend.domain.customers.service import index_meter_for_supply_point
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.org.service import get_unit, in_scope

_BATCH = 1000


class ImportRejected(InvalidInput):
    """A meter import with problems: nothing was imported; ``errors`` lists every problem by line."""


@dataclass(frozen=True, slots=True)
class MeterView:
    meter: Meter
    location: StockLocation | None
    supply_point: SupplyPoint | None


@dataclass(frozen=True, slots=True)
class MovementView:
    movement: MeterMovement
    from_location: StockLocation | None
    to_location: StockLocation | None
    supply_point: SupplyPoint | None


_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])
_Row = TypeVar("_Row")


def _scoped(query: _Q, actor: Actor, org_unit_column: Any) -> _Q:
    """Restrict a query to rows whose org unit is the actor's or below it (no scope: nothing)."""
    if actor.org_path is None:
        return query.where(false())
    if actor.org_path == "/":
        return query
    return query.join(OrgUnit, OrgUnit.id == org_unit_column).where(OrgUnit.path.startswith(actor.org_path))


def scope_meters(query: _Q, actor: Actor) -> _Q:
    """Restrict a query that selects or joins Meter to meters in the actor's part of the organisation."""
    return _scoped(query, actor, Meter.org_unit_id)


async def _one(session: AsyncSession, query: Select[_Row], *, lock: bool, missing: str) -> _Row:
    """The one row ``query`` finds (locked for update when ``lock``), or NotFound saying ``missing``."""
    if lock:
        query = query.with_for_update(of=query.column_descriptions[0]["entity"])
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound(missing)
    return found


async def scoped_meter(session: AsyncSession, actor: Actor, meter_id: int, *, lock: bool = False) -> Meter:
    """The meter if it is in the actor's part of the organisation (NotFound otherwise), optionally
    locked."""
    query = scope_meters(select(Meter).where(Meter.id == meter_id), actor)
    return await _one(session, query, lock=lock, missing=f"Meter {meter_id} does not exist.")


# --- stock locations ----------------------------------------------------------------------------


async def _location(
    session: AsyncSession, actor: Actor, location_id: int, *, lock: bool = False
) -> StockLocation:
    query = _scoped(
        select(StockLocation).where(StockLocation.id == location_id), actor, StockLocation.org_unit_id
    )
    return await _one(session, query, lock=lock, missing=f"Stock location {location_id} does not exist.")


async def _location_by_code(session: AsyncSession, actor: Actor, code: str) -> StockLocation:
    query = _scoped(
        select(StockLocation).where(StockLocation.code == code.strip().upper()),
        actor,
        StockLocation.org_unit_id,
    )
    location = (await session.execute(query)).scalar_one_or_none()
    if location is None:
        raise NotFound(f"No stock location has the code '{code.strip().upper()}'.")
    return location


async def get_location(session: AsyncSession, actor: Actor, location_id: int) -> tuple[StockLocation, int]:
    """A stock location and the number of meters kept there."""
    async with session.begin():
        location = await _location(session, actor, location_id)
        count = (
            await session.execute(select(func.count()).where(Meter.location_id == location.id))
        ).scalar_one()
    return location, int(count)


async def list_locations(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[StockLocation, int]], int]:
    async with session.begin():
        query = _scoped(select(StockLocation), actor, StockLocation.org_unit_id)
        if kind:
            query = query.where(StockLocation.kind == kind)
        if active is not None:
            query = query.where(StockLocation.active == active)
        if q and q.strip():
            like = f"%{q.strip().lower()}%"
            query = query.where(
                or_(func.lower(StockLocation.code).like(like), func.lower(StockLocation.name).like(like))
            )
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = list(
            (await session.execute(query.order_by(StockLocation.code).limit(limit).offset(offset))).scalars()
        )
        counts: dict[int, int] = {}
        if rows:
            counted = await session.execute(
                select(Meter.location_id, func.count())
                .where(Meter.location_id.in_([r.id for r in rows]))
                .group_by(Meter.location_id)
            )
            counts = {int(loc): int(n) for loc, n in counted.all() if loc is not None}
    return [(r, counts.get(r.id, 0)) for r in rows], int(total)


async def create_location(
    session: AsyncSession, actor: Actor, *, code: str, name: str, kind: str, org_unit_id: int
) -> StockLocation:
    code = code.strip().upper()
    problem = rules.location_code_problem(code) or (
        None if name.strip() else "A stock location needs a name."
    )
    if kind not in rules.LOCATION_KINDS:
        problem = problem or "A stock location is a warehouse or a crew."
    if problem:
        raise InvalidInput(problem)
    async with session.begin():
        unit = await get_unit(session, org_unit_id)
        if not in_scope(actor, unit):
            raise NotFound(f"Org unit {org_unit_id} does not exist.")
        if (await session.execute(select(StockLocation.id).where(StockLocation.code == code))).first():
            raise Conflict(f"A stock location with the code '{code}' already exists.")
        location = StockLocation(code=code, name=name.strip(), kind=kind, org_unit_id=unit.id, active=True)
        session.add(location)
        await session.flush()
        await audit.record(
            session,
            actor,
            "stock_location.create",
            entity_type="stock_location",
            entity_id=location.id,
            detail={"code": code, "name": location.name, "kind": kind, "org_unit_id": unit.id},
            org_unit_id=unit.id,
        )
    return location


async def update_location(
    session: AsyncSession,
    actor: Actor,
    location_id: int,
    *,
    name: str | None = None,
    active: bool | None = None,
) -> StockLocation:
    async with session.begin():
        location = await _location(session, actor, location_id, lock=True)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        if name is not None and name.strip() and name.strip() != location.name:
            before["name"], after["name"] = location.name, name.strip()
            location.name = name.strip()
        if active is not None and active != location.active:
            if not active:
                held = (
                    await session.execute(select(func.count()).where(Meter.location_id == location.id))
                ).scalar_one()
                if held:
                    raise Conflict(
                        f"Stock location {location.code} still holds {held} meter(s); "
                        "move them before closing it."
                    )
            before["active"], after["active"] = location.active, active
            location.active = active
        if after:
            await audit.record(
                session,
                actor,
                "stock_location.update",
                entity_type="stock_location",
                entity_id=location.id,
                detail={"code": location.code, "before": before, "after": after},
                org_unit_id=location.org_unit_id,
            )
    return location


# --- meters -------------------------------------------------------------------------------------


def _meter_number(text: str) -> tuple[str, str]:
    try:
        return rules.parse_meter_no(text)
    except rules.MeterNumberProblem as exc:
        raise InvalidInput(str(exc), field="meter_no") from None


async def _meter(session: AsyncSession, actor: Actor, meter_id: int, *, lock: bool = False) -> Meter:
    query = _scoped(select(Meter).where(Meter.id == meter_id), actor, Meter.org_unit_id)
    if lock:
        query = query.with_for_update(of=Meter)
    meter = (await session.execute(query)).scalar_one_or_none()
    if meter is None:
        raise NotFound(f"Meter {meter_id} does not exist.")
    return meter


async def _view(session: AsyncSession, meter: Meter) -> MeterView:
    location = await session.get(StockLocation, meter.location_id) if meter.location_id else None
    supply_point = await session.get(SupplyPoint, meter.supply_point_id) if meter.supply_point_id else None
    return MeterView(meter=meter, location=location, supply_point=supply_point)


def _sts_detail(meter: Meter) -> dict[str, Any] | None:
    if meter.sgc is None:
        return None
    return {
        "sgc": meter.sgc,
        "ti": meter.ti,
        "krn": meter.krn,
        "kt": meter.kt,
        "ea": meter.ea,
        "dkga": meter.dkga,
        "base_date": meter.base_date,
        "ken": meter.ken,
    }


async def create_meter(
    session: AsyncSession,
    actor: Actor,
    *,
    meter_no: str,
    kind: str,
    manufacturer: str,
    model: str,
    location_id: int,
    phases: int = 1,
    serial_no: str | None = None,
    sgc: int | None = None,
    ti: int | None = None,
    krn: int | None = None,
    kt: int | None = None,
    ea: str | None = None,
    dkga: str | None = None,
    base_date: int | None = None,
    ken: int | None = None,
    note: str | None = None,
) -> MeterView:
    """Register a meter received into stock at a warehouse (a "received" movement is written)."""
    iin, drn = _meter_number(meter_no)
    values = {
        "sgc": sgc,
        "ti": ti,
        "krn": krn,
        "kt": kt,
        "ea": ea,
        "dkga": dkga,
        "base_date": base_date,
        "ken": ken,
    }
    problem = (
        rules.sts_config_problem(kind, values)
        or rules.phases_problem(phases)
        or (None if manufacturer.strip() and model.strip() else "Give the meter's manufacturer and model.")
    )
    if problem:
        raise InvalidInput(problem)
    config = rules.sts_config(kind, values)
    now = utcnow()
    try:
        async with session.begin():
            location = await _location(session, actor, location_id)
            if location.kind != "warehouse" or not location.active:
                raise InvalidInput(
                    f"New meters are received at an open warehouse; {location.code} is "
                    f"{'a crew' if location.kind == 'crew' else 'closed'}."
                )
            existing = (await session.execute(select(Meter.id).where(Meter.meter_no == drn))).first()
            if existing:
                raise Conflict(f"Meter number {drn} is already registered.")
            meter = Meter(
                meter_no=drn,
                iin=iin,
                kind=kind,
                manufacturer=manufacturer.strip(),
                model=model.strip(),
                phases=phases,
                serial_no=(serial_no or "").strip() or None,
                status="in_stock",
                org_unit_id=location.org_unit_id,
                location_id=location.id,
                sgc=config.sgc if config else None,
                ti=config.ti if config else None,
                krn=config.krn if config else None,
                kt=config.kt if config else None,
                ea=config.ea if config else None,
                dkga=config.dkga if config else None,
                base_date=config.base_date if config else None,
                ken=config.ken if config else None,
                created_at=now,
                updated_at=now,
            )
            session.add(meter)
            await session.flush()
            session.add(
                MeterMovement(
                    meter_id=meter.id,
                    at=now,
                    from_status=None,
                    to_status="in_stock",
                    to_location_id=location.id,
                    actor_name=actor.name,
                    note=(note or "").strip() or "received",
                )
            )
            await audit.record(
                session,
                actor,
                "meter.create",
                entity_type="meter",
                entity_id=meter.id,
                detail={
                    "meter_no": drn,
                    "kind": kind,
                    "manufacturer": meter.manufacturer,
                    "model": meter.model,
                    "location": location.code,
                    "sts": _sts_detail(meter),
                },
                org_unit_id=meter.org_unit_id,
            )
            view = MeterView(meter=meter, location=location, supply_point=None)
    except IntegrityError:
        raise Conflict(f"Meter number {drn} is already registered.") from None
    return view


async def get_meter(session: AsyncSession, actor: Actor, meter_id: int) -> MeterView:
    async with session.begin():
        return await _view(session, await _meter(session, actor, meter_id))


async def get_meter_by_number(session: AsyncSession, actor: Actor, meter_no: str) -> MeterView:
    drn = rules.normalise_meter_no(meter_no)
    async with session.begin():
        query = _scoped(select(Meter).where(Meter.meter_no == drn), actor, Meter.org_unit_id)
        meter = (await session.execute(query)).scalar_one_or_none()
        if meter is None:
            raise NotFound(f"No meter has the number {drn}.")
        return await _view(session, meter)


async def list_meters(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    kind: str | None = None,
    location_id: int | None = None,
    supply_point_id: int | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MeterView], int]:
    async with session.begin():
        query = _scoped(select(Meter), actor, Meter.org_unit_id)
        if status:
            query = query.where(Meter.status == status)
        if kind:
            query = query.where(Meter.kind == kind)
        if location_id is not None:
            query = query.where(Meter.location_id == location_id)
        if supply_point_id is not None:
            query = query.where(Meter.supply_point_id == supply_point_id)
        if q and rules.normalise_meter_no(q):
            query = query.where(Meter.meter_no.startswith(rules.normalise_meter_no(q), autoescape=True))
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        meters = list(
            (await session.execute(query.order_by(Meter.meter_no).limit(limit).offset(offset))).scalars()
        )
        location_ids = {m.location_id for m in meters if m.location_id}
        point_ids = {m.supply_point_id for m in meters if m.supply_point_id}
        locations = {
            loc.id: loc
            for loc in (
                await session.execute(select(StockLocation).where(StockLocation.id.in_(location_ids)))
            ).scalars()
        }
        points = {
            sp.id: sp
            for sp in (
                await session.execute(select(SupplyPoint).where(SupplyPoint.id.in_(point_ids)))
            ).scalars()
        }
    views = [
        MeterView(
            meter=m,
            location=locations.get(m.location_id) if m.location_id else None,
            supply_point=points.get(m.supply_point_id) if m.supply_point_id else None,
        )
        for m in meters
    ]
    return views, int(total)


DESCRIPTIVE_FIELDS = ("manufacturer", "model", "phases", "serial_no")


async def update_meter(
    session: AsyncSession, actor: Actor, meter_id: int, changes: dict[str, Any]
) -> MeterView:
    """Change a meter's descriptive data (manufacturer, model, phases, serial number).

    Key data (SGC, TI, KRN, KT, EA, DKGA, base date, KEN) is refused: changing it is a meter key change
    (keys context), which sends key change tokens to the meter.
    """
    given = {name for name, value in changes.items() if value is not None}
    problem = rules.key_change_fields_problem(given)
    if problem:
        raise InvalidInput(problem)
    unknown = given - set(DESCRIPTIVE_FIELDS)
    if unknown:
        raise InvalidInput(f"These meter fields cannot be changed: {', '.join(sorted(unknown))}.")
    if changes.get("phases") is not None and rules.phases_problem(changes["phases"]):
        raise InvalidInput(rules.phases_problem(changes["phases"]) or "")
    for name in ("manufacturer", "model"):
        if changes.get(name) is not None and not str(changes[name]).strip():
            raise InvalidInput(f"The meter's {name} must not be empty.")
    async with session.begin():
        meter = await _meter(session, actor, meter_id, lock=True)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name in DESCRIPTIVE_FIELDS:
            if name not in given:
                continue
            value = changes[name]
            if isinstance(value, str):
                value = value.strip() or None
            if getattr(meter, name) != value:
                before[name], after[name] = getattr(meter, name), value
                setattr(meter, name, value)
        if after:
            meter.updated_at = utcnow()
            await audit.record(
                session,
                actor,
                "meter.update",
                entity_type="meter",
                entity_id=meter.id,
                detail={"meter_no": meter.meter_no, "before": before, "after": after},
                org_unit_id=meter.org_unit_id,
            )
        view = await _view(session, meter)
    return view


async def _supply_point(
    session: AsyncSession, actor: Actor, supply_point_id: int | None, supply_point_code: str | None
) -> SupplyPoint:
    """Find a supply point in the caller's scope by id or code, and lock it (one installer at a time)."""
    query = select(SupplyPoint)
    if supply_point_id is not None:
        query = query.where(SupplyPoint.id == supply_point_id)
        missing = f"Supply point {supply_point_id} does not exist."
    else:
        code = (supply_point_code or "").strip().upper()
        query = query.where(func.upper(SupplyPoint.code) == code)
        missing = f"No supply point has the code '{code}'."
    query = _scoped(query, actor, SupplyPoint.org_unit_id).with_for_update(of=SupplyPoint)
    point = (await session.execute(query)).scalar_one_or_none()
    if point is None:
        raise NotFound(missing)
    if not point.active:
        raise InvalidInput(f"Supply point {point.code} is closed; no meter can be installed there.")
    return point


async def move_meter(
    session: AsyncSession,
    actor: Actor,
    meter_id: int,
    *,
    to_status: str,
    location_id: int | None = None,
    supply_point_id: int | None = None,
    supply_point_code: str | None = None,
    note: str | None = None,
) -> MeterView:
    """One step of the meter's life (issue, install, remove, return to stock, faulty, scrap).

    Writes a movement row and an audit record in the same transaction. A supply point holds at most one
    installed meter: a second installation is refused with 409 (also when two happen at the same time).
    """
    has_point = supply_point_id is not None or bool((supply_point_code or "").strip())
    now = utcnow()
    try:
        async with session.begin():
            meter = await _meter(session, actor, meter_id, lock=True)
            target = await _location(session, actor, location_id) if location_id is not None else None
            problem = rules.move_problem(
                meter.status,
                to_status,
                location_kind=target.kind if target else None,
                has_supply_point=has_point,
            )
            if problem:
                raise InvalidInput(problem)
            if target is not None and not target.active:
                raise InvalidInput(f"Stock location {target.code} is closed.")
            point: SupplyPoint | None = None
            if to_status == "installed":
                point = await _supply_point(session, actor, supply_point_id, supply_point_code)
                mismatch = rules.phases_mismatch_problem(
                    meter.meter_no, meter.phases, point.code, point.phases
                )
                if mismatch:
                    raise InvalidInput(mismatch)
                occupant = (
                    await session.execute(
                        select(Meter.meter_no).where(
                            Meter.supply_point_id == point.id,
                            Meter.status == "installed",
                            Meter.id != meter.id,
                        )
                    )
                ).scalar_one_or_none()
                if occupant is not None:
                    raise Conflict(
                        f"Supply point {point.code} already has meter {occupant} installed; remove it first."
                    )
            old_point_id = meter.supply_point_id
            from_status, from_location = meter.status, meter.location_id
            new_location = rules.location_after(
                from_status, to_status, from_location, target.id if target else None
            )
            meter.status = to_status
            meter.location_id = new_location
            if point is not None:
                meter.supply_point_id = point.id
                meter.org_unit_id = point.org_unit_id
                meter.installed_at = now
            elif to_status != "installed":
                meter.supply_point_id = None
                meter.installed_at = None if from_status == "installed" else meter.installed_at
                if target is not None:
                    meter.org_unit_id = target.org_unit_id
            meter.updated_at = now
            movement_point = (
                point.id if point is not None else (old_point_id if from_status == "installed" else None)
            )
            session.add(
                MeterMovement(
                    meter_id=meter.id,
                    at=now,
                    from_status=from_status,
                    to_status=to_status,
                    from_location_id=from_location,
                    to_location_id=new_location,
                    supply_point_id=movement_point,
                    actor_name=actor.name,
                    note=(note or "").strip() or None,
                )
            )
            await session.flush()
            await audit.record(
                session,
                actor,
                f"meter.{to_status}",
                entity_type="meter",
                entity_id=meter.id,
                detail={
                    "meter_no": meter.meter_no,
                    "before": {
                        "status": from_status,
                        "location_id": from_location,
                        "supply_point_id": old_point_id,
                    },
                    "after": {
                        "status": to_status,
                        "location_id": new_location,
                        "supply_point_id": meter.supply_point_id,
                    },
                    "note": (note or "").strip() or None,
                },
                org_unit_id=meter.org_unit_id,
            )
            if movement_point is not None:
                # Keep the customer search in step with the meter installed at this supply point.
                await index_meter_for_supply_point(session, movement_point)
            view = await _view(session, meter)
    except IntegrityError:
        # Two installations at the same supply point at the same moment: the unique index refuses one.
        raise Conflict(
            "Another meter was just installed at this supply point; "
            "remove it first or choose another supply point."
        ) from None
    return view


async def meter_history(
    session: AsyncSession, actor: Actor, meter_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[MovementView], int]:
    """A meter's movements, newest first."""
    async with session.begin():
        meter = await _meter(session, actor, meter_id)
        total = (
            await session.execute(select(func.count()).where(MeterMovement.meter_id == meter.id))
        ).scalar_one()
        movements = list(
            (
                await session.execute(
                    select(MeterMovement)
                    .where(MeterMovement.meter_id == meter.id)
                    .order_by(MeterMovement.at.desc(), MeterMovement.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).scalars()
        )
        location_ids = {i for m in movements for i in (m.from_location_id, m.to_location_id) if i}
        point_ids = {m.supply_point_id for m in movements if m.supply_point_id}
        locations = {
            loc.id: loc
            for loc in (
                await session.execute(select(StockLocation).where(StockLocation.id.in_(location_ids)))
            ).scalars()
        }
        points = {
            sp.id: sp
            for sp in (
                await session.execute(select(SupplyPoint).where(SupplyPoint.id.in_(point_ids)))
            ).scalars()
        }
    return [
        MovementView(
            movement=m,
            from_location=locations.get(m.from_location_id) if m.from_location_id else None,
            to_location=locations.get(m.to_location_id) if m.to_location_id else None,
            supply_point=points.get(m.supply_point_id) if m.supply_point_id else None,
        )
        for m in movements
    ], int(total)


# --- bulk import --------------------------------------------------------------------------------


def _error_dicts(errors: Sequence[rules.LineError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "column": e.column, "message": e.message} for e in errors]


async def import_meters(
    session: AsyncSession,
    actor: Actor,
    text: str,
    *,
    location_id: int | None = None,
    location_code: str | None = None,
    source: str | None = None,
    max_errors: int = 1000,
) -> tuple[int, StockLocation]:
    """Import a manufacturer's meter file into stock at a warehouse: all lines or none.

    Every line is checked first (format, check digits, STS configuration, duplicates in the file and
    against registered meters). Any problem: ImportRejected (422) with the per-line report, nothing
    stored. Otherwise all meters, their "received" movements and one summary audit record are written in
    one transaction with batched inserts.
    """
    if location_id is None and not (location_code or "").strip():
        raise InvalidInput("Say at which warehouse the meters are received.")
    parsed = rules.parse_import(text)
    errors = list(parsed.errors)
    now = utcnow()
    try:
        async with session.begin():
            location = (
                await _location(session, actor, location_id)
                if location_id is not None
                else await _location_by_code(session, actor, location_code or "")
            )
            if location.kind != "warehouse" or not location.active:
                raise InvalidInput(f"Meters are received at an open warehouse; {location.code} is not one.")
            numbers = [row.meter_no for row in parsed.rows]
            for start in range(0, len(numbers), _BATCH):
                chunk = numbers[start : start + _BATCH]
                taken = set(
                    (await session.execute(select(Meter.meter_no).where(Meter.meter_no.in_(chunk)))).scalars()
                )
                for row in parsed.rows[start : start + _BATCH]:
                    if row.meter_no in taken:
                        errors.append(
                            rules.LineError(
                                row.line, "meter_no", f"Meter number {row.meter_no} is already registered."
                            )
                        )
            if errors:
                errors.sort(key=lambda e: e.line)
                shown = errors[:max_errors]
                more = f" (the first {max_errors} are listed)" if len(errors) > max_errors else ""
                raise ImportRejected(
                    f"Nothing was imported: the file has {len(errors)} problem(s){more}. "
                    "Correct them and upload the whole file again.",
                    errors=_error_dicts(shown),
                    error_count=len(errors),
                )
            meter_rows = [
                {
                    "meter_no": row.meter_no,
                    "iin": row.iin,
                    "kind": row.kind,
                    "manufacturer": row.manufacturer,
                    "model": row.model,
                    "phases": row.phases,
                    "serial_no": row.serial_no,
                    "status": "in_stock",
                    "org_unit_id": location.org_unit_id,
                    "location_id": location.id,
                    "sgc": row.sts.sgc if row.sts else None,
                    "ti": row.sts.ti if row.sts else None,
                    "krn": row.sts.krn if row.sts else None,
                    "kt": row.sts.kt if row.sts else None,
                    "ea": row.sts.ea if row.sts else None,
                    "dkga": row.sts.dkga if row.sts else None,
                    "base_date": row.sts.base_date if row.sts else None,
                    "ken": row.sts.ken if row.sts else None,
                    "last_tid": None,
                    "installed_at": None,
                    "supply_point_id": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in parsed.rows
            ]
            note = f"received (import{': ' + source[:200] if source else ''})"
            for start in range(0, len(meter_rows), _BATCH):
                batch = meter_rows[start : start + _BATCH]
                await session.execute(insert(Meter), batch)
                ids = (
                    await session.execute(
                        select(Meter.id).where(Meter.meter_no.in_([r["meter_no"] for r in batch]))
                    )
                ).scalars()
                await session.execute(
                    insert(MeterMovement),
                    [
                        {
                            "meter_id": meter_id,
                            "at": now,
                            "from_status": None,
                            "to_status": "in_stock",
                            "from_location_id": None,
                            "to_location_id": location.id,
                            "supply_point_id": None,
                            "actor_name": actor.name,
                            "note": note,
                        }
                        for meter_id in ids
                    ],
                )
            kinds: dict[str, int] = {}
            for row in parsed.rows:
                kinds[row.kind] = kinds.get(row.kind, 0) + 1
            await audit.record(
                session,
                actor,
                "meter.import",
                entity_type="stock_location",
                entity_id=location.id,
                detail={
                    "location": location.code,
                    "count": len(parsed.rows),
                    "kinds": kinds,
                    "first": numbers[0],
                    "last": numbers[-1],
                    "source": source,
                },
                org_unit_id=location.org_unit_id,
            )
    except IntegrityError:
        raise Conflict(
            "Some of these meter numbers were registered by someone else while the file was imported; "
            "nothing was imported. Upload the file again to see which."
        ) from None
    return len(parsed.rows), location
