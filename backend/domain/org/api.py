"""Organisation endpoints."""

from __future__ import annotations

from typing import cast

from litestar import Controller, get, post
from litestar.params import JSONBody

from backend.domain.auth.rules import STAFF_ROLES, Role
from backend.domain.org import service
from backend.domain.org.models import OrgUnit
from backend.domain.org.schemas import OrgKind, OrgUnitCreate, OrgUnitList, OrgUnitOut
from backend.http.deps import CurrentActor, Db
from backend.http.security import allow


def _out(unit: OrgUnit) -> OrgUnitOut:
    return OrgUnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=cast(OrgKind, unit.kind),
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
    async def list_units(self, db: Db, actor: CurrentActor) -> OrgUnitList:
        return OrgUnitList(items=[_out(u) for u in await service.list_units(db, actor)])

    @post("/", opt=allow(Role.ADMIN), operation_id="createOrgUnit", summary="Add a region or station")
    async def create_unit(self, db: Db, actor: CurrentActor, data: JSONBody[OrgUnitCreate]) -> OrgUnitOut:
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
