"""API shapes of the keys context. No shape carries key material: there is no field for it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Dkga = Literal["02", "04"]
KeyStatus = Literal["active", "retired"]
ChangeStatus = Literal["pending", "issued", "cancelled"]
BaseDateYear = Literal[1993, 2014, 2035]

Sgc = Annotated[int, msgspec.Meta(ge=0, le=999999, description="supply group code (6 digits)")]
Ti = Annotated[int, msgspec.Meta(ge=0, le=99, description="tariff index")]
Krn = Annotated[int, msgspec.Meta(ge=1, le=9, description="key revision number")]
Kt = Annotated[int, msgspec.Meta(ge=0, le=3, description="key type (0 DITK, 1 DDTK, 2 DUTK, 3 DCTK)")]
Ken = Annotated[int, msgspec.Meta(ge=0, le=255, description="key expiry number (255: never)")]


class VendingKeyOut(msgspec.Struct, kw_only=True):
    id: int
    sgc: int
    krn: int
    kt: int
    dkga: Dkga
    base_date: int
    label: str | None
    expires_at: datetime | None
    status: KeyStatus
    master_key_id: str
    created_at: datetime


class VendingKeyList(msgspec.Struct, kw_only=True):
    items: list[VendingKeyOut]
    total: int


class KeyData(msgspec.Struct, kw_only=True):
    sgc: int
    ti: int
    krn: int
    kt: int
    base_date: int
    ken: int


class KeyChangeIn(msgspec.Struct, kw_only=True):
    """The new key data: any subset; the rest keeps the meter's current values."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    sgc: Sgc | None = None
    ti: Ti | None = None
    krn: Krn | None = None
    kt: Kt | None = None
    base_date: BaseDateYear | None = None
    ken: Ken | None = None
    rollover: bool = False


class KeyChangeOut(msgspec.Struct, kw_only=True):
    id: int
    meter_id: int
    meter_no: str
    status: ChangeStatus
    reason: str
    old: KeyData
    new: KeyData
    rollover: bool
    created_at: datetime
    created_by: str
    issued_at: datetime | None


class KeyChangeList(msgspec.Struct, kw_only=True):
    items: list[KeyChangeOut]
    total: int
