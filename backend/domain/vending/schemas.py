"""API shapes of the vendor API (banks, ATMs, aggregators, agents' POS, the cashier's screen)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.params import PathParameter

PaymentMethod = Literal["cash", "card", "mobile_money", "bank", "agent_float", "voucher"]
REFERENCE_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
Reference = Annotated[
    str,
    PathParameter(
        pattern=REFERENCE_PATTERN,
        description="The caller's own unique id for this call: letters, digits, . _ : - (1 to 64).",
    ),
]


class PurchaseIn(msgspec.Struct, kw_only=True):
    meter_number: Annotated[str, msgspec.Meta(min_length=11, max_length=24, examples=["01234567897"])]
    amount: Annotated[int, msgspec.Meta(gt=0, description="Amount tendered, in minor units (cents)")]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", examples=["KES"])]
    payment_method: PaymentMethod
    payment_reference: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class TokenOutSchema(msgspec.Struct, kw_only=True):
    kind: str  # key_change, credit, free_basic
    token: str  # 20 digits
    display: str  # grouped 4-4-4-4-4
    units_wh: int
    tid: int | None
    description: str


class ReceiptLine(msgspec.Struct, kw_only=True):
    kind: str
    label: str
    net_minor: int
    tax_minor: int
    wh: int | None = None
    rate: str | None = None


class PurchaseOut(msgspec.Struct, kw_only=True):
    status: Literal["success", "failed"]
    reference: str
    receipt_number: str | None
    meter_number: str
    customer_name: str | None = None
    account_number: str | None = None
    currency: str
    amount: int
    tokens: list[TokenOutSchema]
    lines: list[ReceiptLine]
    energy_wh: int = 0
    free_basic_wh: int = 0
    debt_recovered: int = 0
    debt_remaining: int | None = None
    credit_used: int = 0
    change_kept_as_credit: int = 0
    failure_code: str | None = None
    failure_detail: str | None = None
    created_at: datetime
    replayed: bool = False


class QuoteOut(msgspec.Struct, kw_only=True):
    meter_number: str
    customer_name: str
    account_number: str
    currency: str
    amount: int
    credit_used: int
    lines: list[ReceiptLine]
    energy_wh: int
    free_basic_wh: int
    debt_recovered: int
    change_kept_as_credit: int


class MeterLookupIn(msgspec.Struct, kw_only=True):
    meter_number: Annotated[str, msgspec.Meta(min_length=11, max_length=24)]


class MeterLookupOut(msgspec.Struct, kw_only=True):
    meter_number: str
    can_vend: bool
    reason: str | None
    customer_name: str | None = None
    address: str | None = None
    account_number: str | None = None
    tariff: str | None = None
    minimum_amount: int | None = None
    maximum_amount: int | None = None
    debt: int = 0
    credit: int = 0
    free_basic_due_wh: int = 0
    key_change_pending: bool = False
    currency: str


class ConfirmationOut(msgspec.Struct, kw_only=True):
    reference: str
    confirmation: str
    status: Literal["confirmed"]
    confirmed_at: datetime | None


class ReversalIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=400)] = ""


class ReversalOut(msgspec.Struct, kw_only=True):
    reference: str
    reversal: str
    status: str  # pending_approval, approved, rejected
    request_id: int
    detail: str


class ReprintIn(msgspec.Struct, kw_only=True):
    purchase_reference: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    receipt_number: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class CreditNoteOut(msgspec.Struct, kw_only=True):
    id: int
    status: str
    receipt_number: str | None
    meter_number: str
    amount: int
    currency: str
    reason: str | None
    requested_by: str
    decided_by: str | None
    created_at: datetime


class CreditNoteList(msgspec.Struct, kw_only=True):
    items: list[CreditNoteOut]
    total: int
