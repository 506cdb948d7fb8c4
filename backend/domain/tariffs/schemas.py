"""API shapes of the tariffs context (the structure itself is ``rules.Structure``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.domain.tariffs.rules import Breakdown, Structure

PaymentMode = Literal["prepaid", "postpaid", "any"]
VersionStatus = Literal["draft", "published"]
AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a zone offset")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")]


class VersionRef(msgspec.Struct, kw_only=True):
    id: int
    version_no: int
    effective_from: datetime


class TariffOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    description: str | None
    payment_mode: PaymentMode
    currency: str
    created_at: datetime
    in_force: VersionRef | None
    """The published version in force now (None before the first one takes effect)."""


class TariffList(msgspec.Struct, kw_only=True):
    items: list[TariffOut]
    total: int


class TariffCreate(msgspec.Struct, kw_only=True):
    code: Code
    name: Name
    payment_mode: PaymentMode = "any"
    currency: Currency | None = None  # default: the utility's currency setting
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class TariffUpdate(msgspec.Struct, kw_only=True):
    name: Name | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    payment_mode: PaymentMode | None = None


class VersionOut(msgspec.Struct, kw_only=True):
    id: int
    tariff_id: int
    version_no: int
    status: VersionStatus
    effective_from: datetime
    components: Structure
    notes: str | None
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None


class VersionList(msgspec.Struct, kw_only=True):
    items: list[VersionOut]
    total: int


class VersionCreate(msgspec.Struct, kw_only=True):
    components: dict[str, Any]
    """The structure (see ``VersionOut.components``): rates are decimal strings, amounts minor units."""
    effective_from: AwareDateTime
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class VersionUpdate(msgspec.Struct, kw_only=True):
    components: dict[str, Any] | None = None
    effective_from: AwareDateTime | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class PublishOut(msgspec.Struct, kw_only=True):
    version: VersionOut
    notices_queued: int


class PreviewIn(msgspec.Struct, kw_only=True):
    amount_minor: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    month_to_date_wh: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0
    at: AwareDateTime | None = None  # default: now (the version in force then)
    version_id: int | None = None  # preview this version (e.g. a draft) instead
    include_fixed: bool = False  # as the first purchase of the month (fixed charges due)


class PreviewOut(msgspec.Struct, kw_only=True):
    tariff_id: int
    version_id: int
    version_no: int
    version_status: VersionStatus
    currency: str
    amount_minor: int
    energy_wh: int
    kwh: str
    text: str
    breakdown: Breakdown


class HolidayOut(msgspec.Struct, kw_only=True):
    id: int
    day: date
    name: str


class HolidayList(msgspec.Struct, kw_only=True):
    items: list[HolidayOut]
    total: int


class HolidayIn(msgspec.Struct, kw_only=True):
    day: date
    name: Name


class HolidayUpdate(msgspec.Struct, kw_only=True):
    day: date | None = None
    name: Name | None = None
