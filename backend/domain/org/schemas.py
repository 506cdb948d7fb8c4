"""API shapes of the organisation context."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

OrgKind = Literal["utility", "region", "station"]


class OrgUnitRef(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: OrgKind


class OrgUnitOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    kind: OrgKind
    parent_id: int | None
    address: str | None
    active: bool


class OrgUnitList(msgspec.Struct, kw_only=True):
    items: list[OrgUnitOut]


class OrgUnitCreate(msgspec.Struct, kw_only=True):
    kind: Annotated[str, msgspec.Meta(pattern="^(region|station)$")]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    parent_id: int
    address: str | None = None


class OrgUnitUpdate(msgspec.Struct, kw_only=True):
    """Only the fields sent are changed; send ``address: null`` to clear the address."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    address: Annotated[str, msgspec.Meta(max_length=400)] | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class UtilityOut(msgspec.Struct, kw_only=True):
    """What receipts and reports print about the utility."""

    name: str | None
    code: str | None
    address: str | None
    timezone: str  # IANA zone of the utility's days (GRIDVEND_TIMEZONE)
    currency: str
