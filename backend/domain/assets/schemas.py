"""API shapes of the assets context: meters, their STS configuration, stock locations, movements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

MeterKind = Literal["sts_keypad", "sts_smartcard", "ami", "postpaid"]
MeterStatus = Literal["in_stock", "issued", "installed", "removed", "faulty", "scrapped"]
LocationKind = Literal["warehouse", "crew"]
EaCode = Literal["07", "09", "11"]
DkgaCode = Literal["02", "04"]
BaseDateYear = Literal[1993, 2014, 2035]

Sgc = Annotated[int, msgspec.Meta(ge=0, le=999_999, description="Supply group code (6 digits)")]
Ti = Annotated[int, msgspec.Meta(ge=0, le=99, description="Tariff index")]
Krn = Annotated[int, msgspec.Meta(ge=1, le=9, description="Key revision number")]
Kt = Annotated[int, msgspec.Meta(ge=0, le=3, description="Key type (normally 2: unique DUTK)")]
Ken = Annotated[int, msgspec.Meta(ge=0, le=255, description="Key expiry number (255: never expires)")]
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Note = Annotated[str, msgspec.Meta(max_length=1000)]


class StsConfigOut(msgspec.Struct, kw_only=True):
    """A meter's STS key data (never keys: those live in the keys context and never leave it)."""

    sgc: int
    ti: int
    krn: int
    kt: int
    ea: str
    dkga: str
    base_date: int
    ken: int
    last_tid: int | None


class PlaceRef(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str


class MeterOut(msgspec.Struct, kw_only=True):
    id: int
    meter_no: str
    iin: str
    pan: str
    kind: MeterKind
    manufacturer: str
    model: str
    phases: int
    serial_no: str | None
    status: MeterStatus
    org_unit_id: int
    location: PlaceRef | None
    supply_point: PlaceRef | None
    sts: StsConfigOut | None
    warnings: list[str]
    installed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MeterList(msgspec.Struct, kw_only=True):
    items: list[MeterOut]
    total: int


class MeterCreate(msgspec.Struct, kw_only=True):
    """Register a meter received into stock at a warehouse."""

    meter_no: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=40, description="The DRN printed on the meter (11 or 13 digits)"
        ),
    ]
    kind: MeterKind
    manufacturer: Text100
    model: Text100
    location_id: int
    phases: Annotated[int, msgspec.Meta(ge=1, le=3)] = 1
    serial_no: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sgc: Sgc | None = None
    ti: Ti | None = None
    krn: Krn | None = None
    kt: Kt | None = None
    ea: EaCode | None = None
    dkga: DkgaCode | None = None
    base_date: BaseDateYear | None = None
    ken: Ken | None = None
    note: Note | None = None


class MeterUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """Change a meter's descriptive data. Key data (SGC, TI, KRN, KT, EA, DKGA, base date, KEN) is changed
    only by a meter key change; sending any of it is refused with 422."""

    manufacturer: Text100 | None = None
    model: Text100 | None = None
    phases: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    serial_no: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sgc: int | None = None
    ti: int | None = None
    krn: int | None = None
    kt: int | None = None
    ea: str | None = None
    dkga: str | None = None
    base_date: int | None = None
    ken: int | None = None


class MoveIn(msgspec.Struct, kw_only=True):
    """One lifecycle step. ``to_status`` says what happens: issued (to a crew location), installed (at a
    supply point, by id or code), removed (to a location), in_stock (back at a warehouse), faulty,
    scrapped."""

    to_status: MeterStatus
    location_id: int | None = None
    supply_point_id: int | None = None
    supply_point_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    note: Note | None = None


class MovementOut(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    from_status: str | None
    to_status: str
    from_location: PlaceRef | None
    to_location: PlaceRef | None
    supply_point: PlaceRef | None
    actor_name: str
    note: str | None


class MovementList(msgspec.Struct, kw_only=True):
    items: list[MovementOut]
    total: int


class LocationOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    kind: LocationKind
    org_unit_id: int
    active: bool
    meters: int


class LocationList(msgspec.Struct, kw_only=True):
    items: list[LocationOut]
    total: int


class LocationCreate(msgspec.Struct, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: LocationKind
    org_unit_id: int


class LocationUpdate(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    active: bool | None = None


class ImportLineError(msgspec.Struct, kw_only=True):
    line: int
    column: str | None
    message: str


class ImportOut(msgspec.Struct, kw_only=True):
    imported: int
    location: PlaceRef


class ImportProblem(msgspec.Struct, kw_only=True):
    """422 answer of an import: nothing was imported; every problem found, by line."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ImportLineError]
