"""Organisation use cases: the utility → region → station tree and who may see which part of it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.org.models import OrgUnit
from backend.domain.org.rules import child_path, kind_problem, path_within


def in_scope(actor: Actor, unit: OrgUnit) -> bool:
    return path_within(unit.path, actor.org_path)


async def get_unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(f"Org unit {unit_id} does not exist.")
    return unit


async def get_unit_by_code(session: AsyncSession, code: str) -> OrgUnit:
    unit = (await session.execute(select(OrgUnit).where(OrgUnit.code == code))).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"No org unit has the code '{code}'.")
    return unit


async def utility_of(session: AsyncSession, actor: Actor) -> OrgUnit | None:
    """The utility at the root of the actor's part of the organisation (the first utility for a
    caller without one, such as a bank's API client). No transaction."""
    root_id = next((int(part) for part in (actor.org_path or "").split("/") if part), None)
    query = select(OrgUnit).where(OrgUnit.kind == "utility")
    query = query.where(OrgUnit.id == root_id) if root_id is not None else query.order_by(OrgUnit.id).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def list_units(session: AsyncSession, actor: Actor) -> list[OrgUnit]:
    if actor.org_path is None:
        return []
    rows = await session.execute(
        select(OrgUnit).where(OrgUnit.path.startswith(actor.org_path)).order_by(OrgUnit.path)
    )
    return list(rows.scalars().all())


async def create_unit(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    code: str,
    name: str,
    parent_id: int | None,
    address: str | None = None,
) -> OrgUnit:
    code = code.strip().upper()
    if not code or not name.strip():
        raise InvalidInput("An org unit needs a code and a name.")
    async with session.begin():
        parent = await get_unit(session, parent_id) if parent_id is not None else None
        problem = kind_problem(kind, parent.kind if parent else None)
        if problem:
            raise InvalidInput(problem)
        if parent is not None and not in_scope(actor, parent):
            raise PermissionDenied("You can only add units inside your own part of the organisation.")
        if parent is None and actor.kind != "system":
            raise PermissionDenied("Only the installer creates the utility itself.")
        if (await session.execute(select(OrgUnit.id).where(OrgUnit.code == code))).first():
            raise Conflict(f"An org unit with the code '{code}' already exists.")
        unit = OrgUnit(kind=kind, code=code, name=name.strip(), parent_id=parent_id, address=address, path="")
        session.add(unit)
        await session.flush()
        unit.path = child_path(parent.path if parent else None, unit.id)
        await audit.record(
            session,
            actor,
            "org_unit.create",
            entity_type="org_unit",
            entity_id=unit.id,
            detail={"kind": kind, "code": code, "name": unit.name, "parent_id": parent_id},
            org_unit_id=unit.id,
        )
    return unit


async def update_unit(
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    *,
    name: str | None = None,
    address: str | None = None,
    clear_address: bool = False,
    active: bool | None = None,
) -> OrgUnit:
    """Rename a unit, change its address, or (de)activate it; audited with before and after values."""
    async with session.begin():
        unit = (
            await session.execute(select(OrgUnit).where(OrgUnit.id == unit_id).with_for_update())
        ).scalar_one_or_none()
        if unit is None or not in_scope(actor, unit):
            raise NotFound(f"Org unit {unit_id} does not exist.")
        before = {"name": unit.name, "address": unit.address, "active": unit.active}
        if name is not None:
            if not name.strip():
                raise InvalidInput("An org unit needs a name.")
            unit.name = name.strip()
        if clear_address:
            unit.address = None
        elif address is not None:
            unit.address = address.strip() or None
        if active is not None and active != unit.active:
            if not active and unit.kind == "utility":
                raise InvalidInput("The utility itself cannot be deactivated.")
            if not active and unit.id == actor.org_unit_id:
                raise InvalidInput("You cannot deactivate your own org unit; ask someone above it.")
            if not active:
                children = (
                    (
                        await session.execute(
                            select(OrgUnit.code).where(OrgUnit.parent_id == unit.id, OrgUnit.active.is_(True))
                        )
                    )
                    .scalars()
                    .all()
                )
                if children:
                    raise Conflict(
                        f"'{unit.code}' still has active units below it ({', '.join(sorted(children))}); "
                        "deactivate them first."
                    )
            unit.active = active
        after = {"name": unit.name, "address": unit.address, "active": unit.active}
        changed = [k for k in after if after[k] != before[k]]
        if changed:
            await audit.record(
                session,
                actor,
                "org_unit.update",
                entity_type="org_unit",
                entity_id=unit.id,
                detail={
                    "code": unit.code,
                    "before": {k: before[k] for k in changed},
                    "after": {k: after[k] for k in changed},
                },
                org_unit_id=unit.id,
            )
    return unit
