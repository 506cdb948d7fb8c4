"""Organisation endpoints."""

from __future__ import annotations

from typing import cast

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from backend.domain.auth.rules import STAFF_ROLES, Role
from backend.domain.org import service
from backend.domain.org.models import OrgUnit
from backend.domain.org.schemas import (
    OrgKind,
    OrgUnitCreate,
    OrgUnitList,
    OrgUnitOut,
    OrgUnitUpdate,
    UtilityOut,
)
from backend.http.deps import CurrentActor, Db
from backend.http.problems import problem_responses
from backend.http.security import SIGNED_IN, allow


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

    @get(
        "/utility",
        opt=SIGNED_IN,
        operation_id="getUtility",
        summary="The utility: its name, time zone and currency (for receipts and reports)",
    )
    async def utility(self, db: Db, state: State, actor: CurrentActor) -> UtilityOut:
        unit = await service.utility_of(db, actor)
        return UtilityOut(
            name=unit.name if unit else None,
            code=unit.code if unit else None,
            address=unit.address if unit else None,
            timezone=state.settings.timezone,
            currency=state.settings.currency,
        )

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

    @patch(
        "/{unit_id:int}",
        opt=allow(Role.ADMIN),
        operation_id="updateOrgUnit",
        summary="Rename a region or station, change its address or (de)activate it",
        responses=problem_responses(404, 409, 422),
    )
    async def update_unit(
        self, db: Db, actor: CurrentActor, unit_id: FromPath[int], data: JSONBody[OrgUnitUpdate]
    ) -> OrgUnitOut:
        unit = await service.update_unit(
            db,
            actor,
            unit_id,
            name=None if data.name is msgspec.UNSET else data.name,
            address=None if isinstance(data.address, msgspec.UnsetType) else data.address,
            clear_address=data.address is None,
            active=None if data.active is msgspec.UNSET else data.active,
        )
        return _out(unit)
