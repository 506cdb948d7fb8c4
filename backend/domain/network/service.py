"""Network use cases: the substation → feeder → transformer tree and the supply points under it.

Every node and supply point belongs to an org unit (a region or a station); a user sees and changes
only those of their own unit and below (out-of-scope ids behave as if they did not exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.network.models import NetworkNode, SupplyPoint
from backend.domain.network.rules import (
    child_path,
    code_problem,
    coordinates_problem,
    node_kind_problem,
    normalise_code,
    org_kind_problem,
    phases_problem,
)
from backend.domain.org.models import OrgUnit
from backend.domain.org.service import in_scope

UNCHANGED: Any = object()  # marker for "leave this field as it is" in updates


def scope_clause(org_unit_id_column: Any, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the row's org unit is the actor's unit or below it (an indexed path prefix)."""
    if actor.org_path is None:
        return false()
    if actor.org_path == "/":
        return true()
    units = select(OrgUnit.id).where(OrgUnit.path.startswith(actor.org_path))
    return org_unit_id_column.in_(units.scalar_subquery())  # type: ignore[no-any-return]


async def owning_unit(session: AsyncSession, actor: Actor, org_unit_id: int) -> OrgUnit:
    """The org unit that is to own a node, supply point or customer: a region or station in scope."""
    unit = await session.get(OrgUnit, org_unit_id)
    if unit is None or not in_scope(actor, unit):
        raise NotFound(f"Org unit {org_unit_id} does not exist.")
    problem = org_kind_problem(unit.kind)
    if problem:
        raise InvalidInput(problem)
    if not unit.active:
        raise InvalidInput(f"The org unit '{unit.code}' is deactivated.")
    return unit


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def node_snapshot(node: NetworkNode) -> dict[str, Any]:
    return {
        "kind": node.kind,
        "code": node.code,
        "name": node.name,
        "parent_id": node.parent_id,
        "org_unit_id": node.org_unit_id,
        "voltage_kv": _dec(node.voltage_kv),
        "rating_kva": node.rating_kva,
        "active": node.active,
    }


def supply_point_snapshot(point: SupplyPoint) -> dict[str, Any]:
    return {
        "code": point.code,
        "transformer_id": point.transformer_id,
        "org_unit_id": point.org_unit_id,
        "address": point.address,
        "town": point.town,
        "latitude": _dec(point.latitude),
        "longitude": _dec(point.longitude),
        "phases": point.phases,
        "active": point.active,
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {
        "before": {k: before.get(k) for k in changed},
        "after": {k: after[k] for k in changed},
    }


# ---------------------------------------------------------------- nodes


async def _node_in_scope(
    session: AsyncSession, actor: Actor, node_id: int, *, lock: bool = False
) -> NetworkNode:
    query = select(NetworkNode).where(NetworkNode.id == node_id, scope_clause(NetworkNode.org_unit_id, actor))
    if lock:
        query = query.with_for_update()
    node = (await session.execute(query)).scalar_one_or_none()
    if node is None:
        raise NotFound(f"Network node {node_id} does not exist.")
    return node


async def create_node(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    code: str,
    name: str,
    parent_id: int | None,
    org_unit_id: int,
    voltage_kv: Decimal | None = None,
    rating_kva: int | None = None,
) -> NetworkNode:
    code = normalise_code(code)
    name = name.strip()
    problem = code_problem(code) or (None if name else "A network node needs a name.")
    if problem:
        raise InvalidInput(problem)
    if voltage_kv is not None and voltage_kv <= 0:
        raise InvalidInput("The voltage must be more than 0 kV.")
    if rating_kva is not None and rating_kva <= 0:
        raise InvalidInput("The rating must be more than 0 kVA.")
    async with session.begin():
        parent = await _node_in_scope(session, actor, parent_id) if parent_id is not None else None
        problem = node_kind_problem(kind, parent.kind if parent else None)
        if problem:
            raise InvalidInput(problem)
        if parent is not None and not parent.active:
            raise InvalidInput(
                f"The {parent.kind} '{parent.code}' is deactivated; nothing new goes under it."
            )
        await owning_unit(session, actor, org_unit_id)
        if (await session.execute(select(NetworkNode.id).where(NetworkNode.code == code))).first():
            raise Conflict(f"A network node with the code '{code}' already exists.")
        node = NetworkNode(
            kind=kind,
            code=code,
            name=name,
            parent_id=parent_id,
            org_unit_id=org_unit_id,
            voltage_kv=voltage_kv,
            rating_kva=rating_kva,
            path="",
        )
        session.add(node)
        await session.flush()
        node.path = child_path(parent.path if parent else None, node.id)
        await audit.record(
            session,
            actor,
            "network_node.create",
            entity_type="network_node",
            entity_id=node.id,
            detail={"before": None, "after": node_snapshot(node)},
            org_unit_id=org_unit_id,
        )
    return node


async def update_node(
    session: AsyncSession,
    actor: Actor,
    node_id: int,
    *,
    name: Any = UNCHANGED,
    voltage_kv: Any = UNCHANGED,
    rating_kva: Any = UNCHANGED,
    org_unit_id: Any = UNCHANGED,
    active: Any = UNCHANGED,
) -> NetworkNode:
    async with session.begin():
        node = await _node_in_scope(session, actor, node_id, lock=True)
        before = node_snapshot(node)
        if name is not UNCHANGED:
            if not str(name).strip():
                raise InvalidInput("A network node needs a name.")
            node.name = str(name).strip()
        if voltage_kv is not UNCHANGED:
            if voltage_kv is not None and voltage_kv <= 0:
                raise InvalidInput("The voltage must be more than 0 kV.")
            node.voltage_kv = voltage_kv
        if rating_kva is not UNCHANGED:
            if rating_kva is not None and rating_kva <= 0:
                raise InvalidInput("The rating must be more than 0 kVA.")
            node.rating_kva = rating_kva
        if org_unit_id is not UNCHANGED and org_unit_id != node.org_unit_id:
            await owning_unit(session, actor, org_unit_id)
            node.org_unit_id = org_unit_id
        if active is not UNCHANGED and active != node.active:
            if not active:
                children = (
                    await session.execute(
                        select(func.count())
                        .select_from(NetworkNode)
                        .where(NetworkNode.parent_id == node.id, NetworkNode.active.is_(True))
                    )
                ).scalar_one()
                points = (
                    await session.execute(
                        select(func.count())
                        .select_from(SupplyPoint)
                        .where(SupplyPoint.transformer_id == node.id, SupplyPoint.active.is_(True))
                    )
                ).scalar_one()
                if children or points:
                    raise Conflict(
                        f"The {node.kind} '{node.code}' still feeds {children} active node(s) and "
                        f"{points} active supply point(s); move or deactivate them first."
                    )
            node.active = bool(active)
        after = node_snapshot(node)
        if after != before:
            await audit.record(
                session,
                actor,
                "network_node.update",
                entity_type="network_node",
                entity_id=node.id,
                detail=_changes(before, after),
                org_unit_id=node.org_unit_id,
            )
    return node


async def get_node(session: AsyncSession, actor: Actor, node_id: int) -> NetworkNode:
    return await _node_in_scope(session, actor, node_id)


async def list_nodes(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str | None = None,
    parent_id: int | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[NetworkNode], int]:
    query = select(NetworkNode).where(scope_clause(NetworkNode.org_unit_id, actor))
    if kind:
        query = query.where(NetworkNode.kind == kind)
    if parent_id is not None:
        query = query.where(NetworkNode.parent_id == parent_id)
    if active is not None:
        query = query.where(NetworkNode.active.is_(active))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(NetworkNode.code).like(like), func.lower(NetworkNode.name).like(like))
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(NetworkNode.path).limit(limit).offset(offset))
    return list(rows.scalars().all()), int(total)


@dataclass
class TreeNode:
    node: NetworkNode
    supply_points: int = 0
    children: list[TreeNode] = field(default_factory=list)


async def tree(session: AsyncSession, actor: Actor, *, org_unit_id: int | None = None) -> list[TreeNode]:
    """The network nodes of a region or station (default: the actor's scope) as a forest.

    A node whose parent lies outside the requested part is shown as a root of its own.
    """
    query = select(NetworkNode).where(scope_clause(NetworkNode.org_unit_id, actor))
    if org_unit_id is not None:
        unit = await session.get(OrgUnit, org_unit_id)
        if unit is None or not in_scope(actor, unit):
            raise NotFound(f"Org unit {org_unit_id} does not exist.")
        below = select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path))
        query = query.where(NetworkNode.org_unit_id.in_(below.scalar_subquery()))
    nodes = list((await session.execute(query.order_by(NetworkNode.path))).scalars().all())
    counts = dict(
        (
            await session.execute(
                select(SupplyPoint.transformer_id, func.count())
                .where(
                    SupplyPoint.transformer_id.in_([n.id for n in nodes if n.kind == "transformer"]),
                    SupplyPoint.active.is_(True),
                )
                .group_by(SupplyPoint.transformer_id)
            )
        ).all()
    )
    by_id = {n.id: TreeNode(node=n, supply_points=int(counts.get(n.id, 0))) for n in nodes}
    roots: list[TreeNode] = []
    for item in by_id.values():
        parent = by_id.get(item.node.parent_id) if item.node.parent_id is not None else None
        (parent.children if parent else roots).append(item)
    for item in by_id.values():
        item.children.sort(key=lambda child: child.node.code)
    return sorted(roots, key=lambda root: root.node.code)


# ---------------------------------------------------------------- supply points


async def _point_in_scope(
    session: AsyncSession, actor: Actor, point_id: int, *, lock: bool = False
) -> SupplyPoint:
    query = select(SupplyPoint).where(
        SupplyPoint.id == point_id, scope_clause(SupplyPoint.org_unit_id, actor)
    )
    if lock:
        query = query.with_for_update()
    point = (await session.execute(query)).scalar_one_or_none()
    if point is None:
        raise NotFound(f"Supply point {point_id} does not exist.")
    return point


async def _transformer(session: AsyncSession, actor: Actor, transformer_id: int) -> NetworkNode:
    node = await _node_in_scope(session, actor, transformer_id)
    if node.kind != "transformer":
        raise InvalidInput(f"'{node.code}' is a {node.kind}; supply points hang under a transformer.")
    if not node.active:
        raise InvalidInput(f"The transformer '{node.code}' is deactivated.")
    return node


def _address_problem(address: str, town: str | None) -> str | None:
    if not address.strip():
        return "A supply point needs an address."
    if len(address.strip()) > 400:
        return "The address must be at most 400 characters."
    if town is not None and len(town.strip()) > 120:
        return "The town must be at most 120 characters."
    return None


async def create_supply_point(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str,
    transformer_id: int,
    address: str,
    town: str | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    phases: int = 1,
    org_unit_id: int | None = None,
) -> SupplyPoint:
    """Add a supply point under a transformer; it belongs to ``org_unit_id`` or the transformer's unit."""
    code = normalise_code(code)
    problem = (
        code_problem(code)
        or _address_problem(address, town)
        or coordinates_problem(latitude, longitude)
        or phases_problem(phases)
    )
    if problem:
        raise InvalidInput(problem)
    async with session.begin():
        transformer = await _transformer(session, actor, transformer_id)
        unit_id = org_unit_id if org_unit_id is not None else transformer.org_unit_id
        await owning_unit(session, actor, unit_id)
        if (await session.execute(select(SupplyPoint.id).where(SupplyPoint.code == code))).first():
            raise Conflict(f"A supply point with the code '{code}' already exists.")
        point = SupplyPoint(
            code=code,
            transformer_id=transformer.id,
            org_unit_id=unit_id,
            address=address.strip(),
            town=(town or "").strip() or None,
            latitude=latitude,
            longitude=longitude,
            phases=phases,
        )
        session.add(point)
        await session.flush()
        await audit.record(
            session,
            actor,
            "supply_point.create",
            entity_type="supply_point",
            entity_id=point.id,
            detail={"before": None, "after": supply_point_snapshot(point)},
            org_unit_id=unit_id,
        )
    return point


async def update_supply_point(
    session: AsyncSession,
    actor: Actor,
    point_id: int,
    *,
    transformer_id: Any = UNCHANGED,
    address: Any = UNCHANGED,
    town: Any = UNCHANGED,
    latitude: Any = UNCHANGED,
    longitude: Any = UNCHANGED,
    phases: Any = UNCHANGED,
    org_unit_id: Any = UNCHANGED,
) -> SupplyPoint:
    async with session.begin():
        point = await _point_in_scope(session, actor, point_id, lock=True)
        before = supply_point_snapshot(point)
        new_address = point.address if address is UNCHANGED else str(address)
        new_town = point.town if town is UNCHANGED else town
        new_lat = point.latitude if latitude is UNCHANGED else latitude
        new_lon = point.longitude if longitude is UNCHANGED else longitude
        new_phases = point.phases if phases is UNCHANGED else phases
        problem = (
            _address_problem(new_address, new_town)
            or coordinates_problem(new_lat, new_lon)
            or phases_problem(new_phases)
        )
        if problem:
            raise InvalidInput(problem)
        if transformer_id is not UNCHANGED and transformer_id != point.transformer_id:
            point.transformer_id = (await _transformer(session, actor, transformer_id)).id
        if org_unit_id is not UNCHANGED and org_unit_id != point.org_unit_id:
            await owning_unit(session, actor, org_unit_id)
            point.org_unit_id = org_unit_id
        point.address = new_address.strip()
        point.town = (new_town or "").strip() or None
        point.latitude = new_lat
        point.longitude = new_lon
        point.phases = new_phases
        after = supply_point_snapshot(point)
        if after != before:
            await audit.record(
                session,
                actor,
                "supply_point.update",
                entity_type="supply_point",
                entity_id=point.id,
                detail=_changes(before, after),
                org_unit_id=point.org_unit_id,
            )
    return point


async def deactivate_supply_point(
    session: AsyncSession, actor: Actor, point_id: int, *, reason: str | None = None
) -> SupplyPoint:
    """Take a supply point out of use. Refused while an account there is still open."""
    from backend.domain.customers.models import Account  # the customers context builds on this one

    async with session.begin():
        point = await _point_in_scope(session, actor, point_id, lock=True)
        if not point.active:
            raise Conflict(f"The supply point '{point.code}' is already deactivated.")
        open_account = (
            await session.execute(
                select(Account.account_no).where(
                    Account.supply_point_id == point.id, Account.status != "closed"
                )
            )
        ).scalar_one_or_none()
        if open_account is not None:
            raise Conflict(
                f"The supply point '{point.code}' still has the open account {open_account}; close it first."
            )
        point.active = False
        await audit.record(
            session,
            actor,
            "supply_point.deactivate",
            entity_type="supply_point",
            entity_id=point.id,
            detail={"before": {"active": True}, "after": {"active": False}, "reason": reason},
            org_unit_id=point.org_unit_id,
        )
    return point


async def get_supply_point(session: AsyncSession, actor: Actor, point_id: int) -> SupplyPoint:
    return await _point_in_scope(session, actor, point_id)


async def list_supply_points(
    session: AsyncSession,
    actor: Actor,
    *,
    transformer_id: int | None = None,
    org_unit_id: int | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SupplyPoint], int]:
    query = select(SupplyPoint).where(scope_clause(SupplyPoint.org_unit_id, actor))
    if transformer_id is not None:
        query = query.where(SupplyPoint.transformer_id == transformer_id)
    if org_unit_id is not None:
        query = query.where(SupplyPoint.org_unit_id == org_unit_id)
    if active is not None:
        query = query.where(SupplyPoint.active.is_(active))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(SupplyPoint.code).like(like),
                func.lower(SupplyPoint.address).like(like),
                func.lower(SupplyPoint.town).like(like),
            )
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(SupplyPoint.code).limit(limit).offset(offset))
    return list(rows.scalars().all()), int(total)
