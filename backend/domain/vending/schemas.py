"""API shapes of the vendor API (banks, ATMs, aggregators, agents' POS, the cashier's screen)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.params import PathParameter

# Agent float and scratch-card vouchers arrive with the agents context, which guards the float balance.
PaymentMethod = Literal["cash", "card", "mobile_money", "bank"]
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
    payment_method: str
    operator: str | None = None  # who made the sale (a cashier, or the bank/ATM for the vendor API)
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


# --- Cashier shifts and the end-of-shift cash-up (Z-report) ---

MinorAmount = Annotated[int, msgspec.Meta(ge=0, le=10**12, description="Minor units (cents)")]


class ShiftOpenIn(msgspec.Struct, kw_only=True):
    opening_float: MinorAmount = 0


class ShiftCloseIn(msgspec.Struct, kw_only=True):
    declared_cash: MinorAmount


class TenderTotalOut(msgspec.Struct, kw_only=True):
    payment_method: str
    count: int
    amount: int


class ShiftOut(msgspec.Struct, kw_only=True):
    id: int
    status: Literal["open", "closed"]
    user_id: int
    operator_name: str
    org_unit_id: int | None
    station_code: str | None
    station_name: str | None
    utility_name: str | None
    timezone: str
    currency: str
    opened_at: datetime
    closed_at: datetime | None
    opening_float: int
    sales_count: int
    tendered_total: int
    tenders: list[TenderTotalOut]
    refunds: list[TenderTotalOut]  # credit notes approved during the shift (money given back)
    refunded_total: int
    energy_wh: int
    free_basic_wh: int
    debt_recovered: int
    expected_cash: int
    declared_cash: int | None
    over_short: int | None
    z_report_number: str | None


class ShiftList(msgspec.Struct, kw_only=True):
    items: list[ShiftOut]
    total: int


# -- engineering tokens, key change on demand, campaigns, diagnosis (engineering_api.py) ---------------

EngineeringFunction = Literal[
    "max_power_limit",
    "clear_tamper",
    "clear_credit",
    "max_phase_unbalance",
    "test",
    "free_issue",
    "credit_transfer",
]


class EngineeringTokenIn(msgspec.Struct, kw_only=True):
    function: EngineeringFunction
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=400)]
    value: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                description="W for the two limits; the register 0..7 for clear_credit (empty: all); "
                "the control bits for test",
            ),
        ]
        | None
    ) = None
    units_wh: Annotated[int, msgspec.Meta(ge=0, description="free_issue / credit_transfer energy, Wh")] = 0
    mfr_code: Annotated[int, msgspec.Meta(ge=0, le=9999, description="test tokens: MfrCode, 0 = any")] = 0
    from_meter_number: (
        Annotated[
            str, msgspec.Meta(min_length=11, max_length=24, description="credit_transfer: replaced meter")
        ]
        | None
    ) = None


class IssuedTokenOut(msgspec.Struct, kw_only=True):
    kind: str  # key_change, credit, management, test
    token: str
    display: str  # grouped 4-4-4-4-4
    subclass: int
    tid: int | None
    units_wh: int
    description: str


class EngineeringTokenOut(msgspec.Struct, kw_only=True):
    id: int
    meter_id: int
    meter_number: str
    function: str
    function_label: str
    value: int | None
    units_wh: int
    from_meter_number: str | None
    status: str  # pending_approval, issued, rejected
    reason: str
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    tokens: list[IssuedTokenOut]
    ledger_note: str | None = None


class EngineeringTokenList(msgspec.Struct, kw_only=True):
    items: list[EngineeringTokenOut]
    total: int


class RejectIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=400)] | None = None


class KeyChangeOnDemandIn(msgspec.Struct, kw_only=True):
    meter_number: Annotated[str, msgspec.Meta(min_length=11, max_length=24, examples=["01234567897"])]


class KeyChangeOnDemandOut(msgspec.Struct, kw_only=True):
    id: str
    meter_number: str
    tokens: list[IssuedTokenOut]
    issued_at: datetime
    replayed: bool


class CampaignFilterIn(msgspec.Struct, kw_only=True):
    sgc: Annotated[int, msgspec.Meta(ge=0, le=999999)] | None = None
    krn: Annotated[int, msgspec.Meta(ge=1, le=9)] | None = None
    base_date: Literal[1993, 2014, 2035] | None = None


class CampaignTargetIn(msgspec.Struct, kw_only=True):
    sgc: Annotated[int, msgspec.Meta(ge=0, le=999999)] | None = None
    krn: Annotated[int, msgspec.Meta(ge=1, le=9)] | None = None
    ti: Annotated[int, msgspec.Meta(ge=0, le=99)] | None = None
    base_date: Literal[1993, 2014, 2035] | None = None
    ken: Annotated[int, msgspec.Meta(ge=0, le=255)] | None = None


class CampaignIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    filter: CampaignFilterIn
    new: CampaignTargetIn


class CampaignFailure(msgspec.Struct, kw_only=True):
    meter_id: int
    meter_number: str
    problem: str


class CampaignOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    status: str  # running, finished, cancelled
    filter: CampaignFilterIn
    new: CampaignTargetIn
    meters_total: int
    pending: int
    issued: int
    cancelled: int
    skipped: int
    failed: int
    failures: list[CampaignFailure]
    created_by: str
    created_at: datetime


class CampaignList(msgspec.Struct, kw_only=True):
    items: list[CampaignOut]
    total: int


class DiagnosisIn(msgspec.Struct, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=60, description="as the customer typed it")]


class DiagnosisOut(msgspec.Struct, kw_only=True):
    verdict: Literal[
        "typing_error", "wrong_meter", "old", "used", "key_change_not_entered", "previous_key", "valid"
    ]
    title: str
    explanation: str
    token: str
    digit_position: int | None
    expected_token: str | None
    other_meter_number: str | None
    token_class: int | None
    subclass: int | None
    meaning: str | None
    tid: int | None
    tid_time: datetime | None
    units_wh: int | None
    value: int | None
    newer_tokens: int
    issued_reference: str | None
    issued_at: datetime | None
    key_change_tokens: list[str]


class TokenHistoryItem(msgspec.Struct, kw_only=True):
    source: str  # vend, engineering
    reference: str  # receipt number or ENG-<id>
    issued_at: datetime
    kind: str
    token: str
    display: str
    subclass: int
    tid: int | None
    units_wh: int
    description: str


class TokenHistory(msgspec.Struct, kw_only=True):
    items: list[TokenHistoryItem]
    total: int
