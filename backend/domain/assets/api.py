"""Assets endpoints: meters (register, edit, list, lifecycle, history, CSV import) and stock locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

from litestar import Controller, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, Parameter, RawBody

from backend.domain.assets import rules, service
from backend.domain.assets.models import StockLocation
from backend.domain.assets.schemas import (
    ImportOut,
    ImportProblem,
    LocationCreate,
    LocationKind,
    LocationList,
    LocationOut,
    LocationUpdate,
    MeterCreate,
    MeterKind,
    MeterList,
    MeterOut,
    MeterStatus,
    MeterUpdate,
    MoveIn,
    MovementList,
    MovementOut,
    PlaceRef,
    StsConfigOut,
)
from backend.domain.auth.rules import Role
from backend.domain.errors import InvalidInput
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import PROBLEM_MEDIA_TYPE, problem_responses
from backend.http.security import allow

READ = allow(Role.ADMIN, Role.SUPERVISOR, Role.ENGINEER, Role.AUDITOR)
WRITE = allow(Role.ADMIN, Role.ENGINEER)
MOVE = allow(Role.ADMIN, Role.ENGINEER, Role.SUPERVISOR)


def _place(row: Any) -> PlaceRef | None:
    if row is None:
        return None
    return PlaceRef(
        id=row.id, code=row.code, name=getattr(row, "name", None) or getattr(row, "address", row.code)
    )


def meter_out(view: service.MeterView) -> MeterOut:
    m = view.meter
    sts = None
    if m.sgc is not None:
        sts = StsConfigOut(
            sgc=m.sgc,
            ti=m.ti or 0,
            krn=m.krn or 0,
            kt=m.kt or 0,
            ea=m.ea or "",
            dkga=m.dkga or "",
            base_date=m.base_date or 0,
            ken=rules.DEFAULT_KEN if m.ken is None else m.ken,
            last_tid=m.last_tid,
        )
    return MeterOut(
        id=m.id,
        meter_no=m.meter_no,
        iin=m.iin,
        pan=rules.pan_for(m.iin, m.meter_no),
        kind=cast(MeterKind, m.kind),
        manufacturer=m.manufacturer,
        model=m.model,
        phases=m.phases,
        serial_no=m.serial_no,
        status=cast(MeterStatus, m.status),
        org_unit_id=m.org_unit_id,
        location=_place(view.location),
        supply_point=_place(view.supply_point),
        sts=sts,
        warnings=rules.sts_warnings(m.ea, m.base_date),
        installed_at=m.installed_at,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def _location_out(location: StockLocation, meters: int) -> LocationOut:
    return LocationOut(
        id=location.id,
        code=location.code,
        name=location.name,
        kind=cast(LocationKind, location.kind),
        org_unit_id=location.org_unit_id,
        active=location.active,
        meters=meters,
    )


IMPORT_DESCRIPTION = (
    "Send the manufacturer's CSV file as the raw request body with `Content-Type: text/csv` (UTF-8) and the "
    "receiving warehouse's code in `location`. Header line required; columns: meter_no, manufacturer, model, "
    "kind, phases, serial_no, sgc, ti, krn, kt, ea, dkga, base_date, ken (see docs/meter-import.md). "
    "All or nothing: when any line is wrong nothing is imported and the 422 answer lists every problem "
    "(`errors`: line, column, message), including duplicates within the file and meters already registered."
)


@dataclass
class _CsvImportOperation(Operation):
    """The import takes the CSV file itself as the request body (text/csv), not JSON."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "text/csv": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, description="The CSV file (UTF-8)")
                )
            },
            description="The manufacturer's meter file (see docs/meter-import.md).",
            required=True,
        )


class MeterController(Controller):
    path = "/api/v1/meters"
    tags = ["meters"]

    @get("/", opt=READ, operation_id="listMeters", summary="Meters in your org unit and below")
    async def list_meters(
        self,
        db: Db,
        actor: CurrentActor,
        status: Annotated[MeterStatus | None, Parameter()] = None,
        kind: Annotated[MeterKind | None, Parameter()] = None,
        location_id: Annotated[int | None, Parameter(ge=1)] = None,
        supply_point_id: Annotated[int | None, Parameter(ge=1)] = None,
        q: Annotated[str | None, Parameter(max_length=40, description="Start of the meter number")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MeterList:
        views, total = await service.list_meters(
            db,
            actor,
            status=status,
            kind=kind,
            location_id=location_id,
            supply_point_id=supply_point_id,
            q=q,
            limit=limit,
            offset=offset,
        )
        return MeterList(items=[meter_out(v) for v in views], total=total)

    @post(
        "/",
        opt=WRITE,
        operation_id="createMeter",
        summary="Register a meter received into stock at a warehouse",
        description="The meter number is the DRN printed on the meter (11 digits for IIN 600727, 13 for IIN "
        "0000) with its Luhn check digit; a wrong check digit is refused (422). STS meters need their STS "
        "configuration; postpaid meters have none. 409 when the number is already registered.",
        responses=problem_responses(404, 409, 422),
    )
    async def create_meter(self, db: Db, actor: CurrentActor, data: JSONBody[MeterCreate]) -> MeterOut:
        view = await service.create_meter(
            db,
            actor,
            meter_no=data.meter_no,
            kind=data.kind,
            manufacturer=data.manufacturer,
            model=data.model,
            location_id=data.location_id,
            phases=data.phases,
            serial_no=data.serial_no,
            sgc=data.sgc,
            ti=data.ti,
            krn=data.krn,
            kt=data.kt,
            ea=data.ea,
            dkga=data.dkga,
            base_date=data.base_date,
            ken=data.ken,
            note=data.note,
        )
        return meter_out(view)

    @post(
        "/imports",
        opt=WRITE,
        operation_id="importMeters",
        summary="Import a manufacturer's meter file (CSV) into stock, all lines or none",
        description=IMPORT_DESCRIPTION,
        request_max_body_size=10 * 1024 * 1024,
        operation_class=_CsvImportOperation,
        responses={
            **problem_responses(404, 409),
            422: ResponseSpec(
                data_container=ImportProblem,
                media_type=PROBLEM_MEDIA_TYPE,
                description="Nothing imported; every problem of the file, by line",
                generate_examples=False,
            ),
        },
    )
    async def import_meters(
        self,
        db: Db,
        actor: CurrentActor,
        body: RawBody,
        location: Annotated[str, Parameter(min_length=1, max_length=32, description="Warehouse code")],
        filename: Annotated[str | None, Parameter(max_length=200, description="Original file name")] = None,
    ) -> ImportOut:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The file is not UTF-8 text; save it as CSV (UTF-8) and try again.") from None
        count, where = await service.import_meters(db, actor, text, location_code=location, source=filename)
        return ImportOut(imported=count, location=PlaceRef(id=where.id, code=where.code, name=where.name))

    @get(
        "/{meter_id:int}",
        opt=READ,
        operation_id="getMeter",
        summary="One meter",
        responses=problem_responses(404),
    )
    async def get_meter(self, db: Db, actor: CurrentActor, meter_id: FromPath[int]) -> MeterOut:
        return meter_out(await service.get_meter(db, actor, meter_id))

    @patch(
        "/{meter_id:int}",
        opt=WRITE,
        operation_id="updateMeter",
        summary="Change a meter's manufacturer, model, phases or serial number",
        description="Key data (SGC, TI, KRN, KT, EA, DKGA, base date, KEN) is refused here (422): changing "
        "it is a meter key change, which sends key change tokens to the meter.",
        responses=problem_responses(404, 422),
    )
    async def update_meter(
        self, db: Db, actor: CurrentActor, meter_id: FromPath[int], data: JSONBody[MeterUpdate]
    ) -> MeterOut:
        changes = {name: getattr(data, name) for name in data.__struct_fields__}
        return meter_out(await service.update_meter(db, actor, meter_id, changes))

    @post(
        "/{meter_id:int}/movements",
        opt=MOVE,
        operation_id="moveMeter",
        summary="Move a meter: issue to a crew, install, remove, return to stock, mark faulty, scrap",
        description="Allowed steps: in stock → issued (crew) or faulty; issued → installed (supply point by "
        "id or code) or back in stock; installed → removed (to a location) or faulty; removed → in stock "
        "(warehouse) or faulty; faulty → scrapped. 409 when the supply point already has a meter installed.",
        responses=problem_responses(404, 409, 422),
    )
    async def move_meter(
        self, db: Db, actor: CurrentActor, meter_id: FromPath[int], data: JSONBody[MoveIn]
    ) -> MeterOut:
        view = await service.move_meter(
            db,
            actor,
            meter_id,
            to_status=data.to_status,
            location_id=data.location_id,
            supply_point_id=data.supply_point_id,
            supply_point_code=data.supply_point_code,
            note=data.note,
        )
        return meter_out(view)

    @get(
        "/{meter_id:int}/movements",
        opt=READ,
        operation_id="listMeterMovements",
        summary="A meter's history, newest first",
        responses=problem_responses(404),
    )
    async def history(
        self,
        db: Db,
        actor: CurrentActor,
        meter_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MovementList:
        rows, total = await service.meter_history(db, actor, meter_id, limit=limit, offset=offset)
        return MovementList(
            items=[
                MovementOut(
                    id=r.movement.id,
                    at=r.movement.at,
                    from_status=r.movement.from_status,
                    to_status=r.movement.to_status,
                    from_location=_place(r.from_location),
                    to_location=_place(r.to_location),
                    supply_point=_place(r.supply_point),
                    actor_name=r.movement.actor_name,
                    note=r.movement.note,
                )
                for r in rows
            ],
            total=total,
        )


class StockLocationController(Controller):
    path = "/api/v1/stock-locations"
    tags = ["meters"]

    @get(
        "/",
        opt=READ,
        operation_id="listStockLocations",
        summary="Warehouses and crews in your org unit and below",
    )
    async def list_locations(
        self,
        db: Db,
        actor: CurrentActor,
        kind: Annotated[LocationKind | None, Parameter()] = None,
        active: Annotated[bool | None, Parameter()] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> LocationList:
        rows, total = await service.list_locations(
            db, actor, kind=kind, q=q, active=active, limit=limit, offset=offset
        )
        return LocationList(items=[_location_out(loc, n) for loc, n in rows], total=total)

    @post(
        "/",
        opt=WRITE,
        operation_id="createStockLocation",
        summary="Add a warehouse or a crew",
        responses=problem_responses(404, 409, 422),
    )
    async def create_location(
        self, db: Db, actor: CurrentActor, data: JSONBody[LocationCreate]
    ) -> LocationOut:
        location = await service.create_location(
            db, actor, code=data.code, name=data.name, kind=data.kind, org_unit_id=data.org_unit_id
        )
        return _location_out(location, 0)

    @get(
        "/{location_id:int}",
        opt=READ,
        operation_id="getStockLocation",
        summary="One stock location",
        responses=problem_responses(404),
    )
    async def get_location(self, db: Db, actor: CurrentActor, location_id: FromPath[int]) -> LocationOut:
        location, count = await service.get_location(db, actor, location_id)
        return _location_out(location, count)

    @patch(
        "/{location_id:int}",
        opt=WRITE,
        operation_id="updateStockLocation",
        summary="Rename, close or reopen a stock location",
        responses=problem_responses(404, 409),
    )
    async def update_location(
        self, db: Db, actor: CurrentActor, location_id: FromPath[int], data: JSONBody[LocationUpdate]
    ) -> LocationOut:
        await service.update_location(db, actor, location_id, name=data.name, active=data.active)
        location, count = await service.get_location(db, actor, location_id)
        return _location_out(location, count)
