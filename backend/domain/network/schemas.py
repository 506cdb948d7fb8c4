"""API shapes of the network context."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

NodeKind = Literal["substation", "feeder", "transformer"]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Latitude = Annotated[Decimal, msgspec.Meta(description="WGS 84 degrees, -90 to 90")]
Longitude = Annotated[Decimal, msgspec.Meta(description="WGS 84 degrees, -180 to 180")]
Phases = Literal[1, 3]


class NodeOut(msgspec.Struct, kw_only=True):
    id: int
    kind: NodeKind
    code: str
    name: str
    parent_id: int | None
    path: str
    org_unit_id: int
    voltage_kv: Decimal | None
    rating_kva: int | None
    active: bool


class NodeList(msgspec.Struct, kw_only=True):
    items: list[NodeOut]
    total: int


class NodeCreate(msgspec.Struct, kw_only=True):
    kind: NodeKind
    code: Code
    name: Name
    org_unit_id: int
    parent_id: int | None = None
    voltage_kv: Annotated[Decimal, msgspec.Meta(description="kV, more than 0")] | None = None
    rating_kva: Annotated[int, msgspec.Meta(gt=0)] | None = None


class NodeUpdate(msgspec.Struct, kw_only=True):
    """Only the fields sent are changed."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    voltage_kv: Annotated[Decimal, msgspec.Meta(description="kV, more than 0")] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    rating_kva: Annotated[int, msgspec.Meta(gt=0)] | msgspec.UnsetType | None = msgspec.UNSET
    org_unit_id: int | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class TreeNodeOut(msgspec.Struct, kw_only=True):
    id: int
    kind: NodeKind
    code: str
    name: str
    org_unit_id: int
    active: bool
    voltage_kv: Decimal | None
    rating_kva: int | None
    supply_points: int
    children: list[TreeNodeOut]


class NetworkTree(msgspec.Struct, kw_only=True):
    items: list[TreeNodeOut]


class SupplyPointOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    transformer_id: int | None
    org_unit_id: int
    address: str
    town: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    phases: int
    active: bool


class SupplyPointList(msgspec.Struct, kw_only=True):
    items: list[SupplyPointOut]
    total: int


class SupplyPointCreate(msgspec.Struct, kw_only=True):
    code: Code
    transformer_id: int
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=400)]
    town: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    phases: Phases = 1
    org_unit_id: int | None = None


class SupplyPointUpdate(msgspec.Struct, kw_only=True):
    """Only the fields sent are changed."""

    transformer_id: int | msgspec.UnsetType = msgspec.UNSET
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=400)] | msgspec.UnsetType = msgspec.UNSET
    town: Annotated[str, msgspec.Meta(max_length=120)] | msgspec.UnsetType | None = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType | None = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType | None = msgspec.UNSET
    phases: Phases | msgspec.UnsetType = msgspec.UNSET
    org_unit_id: int | msgspec.UnsetType = msgspec.UNSET


class DeactivateIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None
