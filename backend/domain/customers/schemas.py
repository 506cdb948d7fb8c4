"""API shapes of the customers context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

CustomerKind = Literal["person", "company"]
Category = Literal["residential", "commercial", "industrial"]
Language = Literal["en", "sw", "fr", "pt", "ar", "so"]
PaymentMode = Literal["prepaid", "postpaid"]
AccountStatus = Literal["applied", "active", "suspended", "closed"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Phone = Annotated[str, msgspec.Meta(max_length=32, description="any usual format: +254 712…, 0712…, 712…")]
IdNumber = Annotated[str, msgspec.Meta(max_length=40)]
Email = Annotated[str, msgspec.Meta(max_length=200)]
Postal = Annotated[str, msgspec.Meta(max_length=400)]
Note = Annotated[str, msgspec.Meta(max_length=500)]


class CustomerOut(msgspec.Struct, kw_only=True):
    id: int
    customer_no: str
    kind: CustomerKind
    name: str
    id_number: str | None
    phone: str | None
    phone2: str | None
    email: str | None
    language: str
    category: Category
    postal_address: str | None
    org_unit_id: int
    created_at: datetime


class CustomerList(msgspec.Struct, kw_only=True):
    items: list[CustomerOut]
    total: int


class CustomerCreate(msgspec.Struct, kw_only=True):
    name: Name
    kind: CustomerKind = "person"
    org_unit_id: int | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    phone2: Phone | None = None
    email: Email | None = None
    language: Language = "en"
    category: Category = "residential"
    postal_address: Postal | None = None


class CustomerUpdate(msgspec.Struct, kw_only=True):
    """Only the fields sent are changed; ``null`` clears an optional field."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: CustomerKind | msgspec.UnsetType = msgspec.UNSET
    org_unit_id: int | msgspec.UnsetType = msgspec.UNSET
    id_number: IdNumber | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    phone2: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    postal_address: Postal | msgspec.UnsetType | None = msgspec.UNSET


class AccountOut(msgspec.Struct, kw_only=True):
    id: int
    account_no: str
    customer_id: int
    customer_no: str
    customer_name: str
    supply_point_id: int
    supply_point_code: str
    supply_point_address: str
    supply_point_town: str | None
    tariff_id: int
    tariff_code: str
    payment_mode: PaymentMode
    status: AccountStatus
    org_unit_id: int
    currency: str
    fbe_eligible: bool
    credit_minor: int
    debt_minor: int
    opened_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    previous_account_id: int | None
    meter_id: int | None  # the meter installed at the supply point (open accounts only)
    meter_no: str | None


class AccountList(msgspec.Struct, kw_only=True):
    items: list[AccountOut]
    total: int


class CustomerDetail(msgspec.Struct, kw_only=True):
    customer: CustomerOut
    accounts: list[AccountOut]


class AccountOpen(msgspec.Struct, kw_only=True):
    customer_id: int
    supply_point_id: int
    tariff_id: int
    payment_mode: PaymentMode
    fbe_eligible: bool = False


class AccountStatusChange(msgspec.Struct, kw_only=True):
    """Lifecycle: applied → active → suspended → closed (suspended → active again). Closing an account
    that holds credit needs a ``note`` saying how the credit is settled."""

    status: AccountStatus
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    note: Note | None = None


class TenancyChange(msgspec.Struct, kw_only=True):
    new_customer_id: int
    tariff_id: int | None = None
    payment_mode: PaymentMode | None = None
    fbe_eligible: bool = False
    note: Note | None = None


class TenancyChanged(msgspec.Struct, kw_only=True):
    closed: AccountOut
    opened: AccountOut


class SearchAccount(msgspec.Struct, kw_only=True):
    id: int
    account_no: str
    status: AccountStatus
    supply_point_address: str
    supply_point_town: str | None


class SearchResult(msgspec.Struct, kw_only=True):
    id: int
    customer_no: str
    name: str
    phone: str | None
    matched: str
    accounts: list[SearchAccount]


class SearchResults(msgspec.Struct, kw_only=True):
    items: list[SearchResult]
