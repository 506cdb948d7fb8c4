"""API shapes of the auth context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.domain.org.schemas import OrgUnitRef

Realm = Literal["staff", "customer"]


class LoginIn(msgspec.Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Me(msgspec.Struct, kw_only=True):
    id: int
    username: str
    full_name: str
    realm: Realm
    roles: list[str]
    org_unit: OrgUnitRef | None


class LoginOut(msgspec.Struct, kw_only=True):
    user: Me
    csrf_token: str


class UserOut(msgspec.Struct, kw_only=True):
    id: int
    username: str
    full_name: str
    roles: list[str]
    org_unit: OrgUnitRef | None
    active: bool
    locked: bool
    last_login_at: datetime | None


class UserList(msgspec.Struct, kw_only=True):
    items: list[UserOut]
    total: int


class UserCreate(msgspec.Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(min_length=2, max_length=64)]
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    roles: Annotated[list[str], msgspec.Meta(min_length=1)]
    org_unit_id: int
    email: str | None = None
    phone: str | None = None


class RolesIn(msgspec.Struct, kw_only=True):
    roles: list[str]
