"""Organisation endpoints."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.auth.rules import STAFF_ROLES, Role
from backend.domain.org import service
from backend.domain.org.models import OrgUnit
from backend.domain.org.schemas import OrgUnitCreate, OrgUnitList, OrgUnitOut
from backend.http.security import allow


def _out(unit: OrgUnit) -> OrgUnitOut:
    return OrgUnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        parent_id=unit.parent_id,
        address=unit.address,
        active=unit.active,
    )


class OrgUnitController(Controller):
    path = "/api/v1/org-units"
    tags = ["organisation"]

    @get(
        "/",
        opt=allow(*STAFF_ROLES),
        operation_id="listOrgUnits",
        summary="Org units you can see (your unit and below)",
    )
    async def list_units(self, db: AsyncSession, actor: Actor) -> OrgUnitList:
        return OrgUnitList(items=[_out(u) for u in await service.list_units(db, actor)])

    @post("/", opt=allow(Role.ADMIN), operation_id="createOrgUnit", summary="Add a region or station")
    async def create_unit(self, db: AsyncSession, actor: Actor, data: OrgUnitCreate) -> OrgUnitOut:
        unit = await service.create_unit(
            db,
            actor,
            kind=data.kind,
            code=data.code,
            name=data.name,
            parent_id=data.parent_id,
            address=data.address,
        )
        return _out(unit)
