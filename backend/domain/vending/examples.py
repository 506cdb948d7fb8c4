"""Worked examples for the vendor API's OpenAPI reference, taken from a real sale of the test world
(a prepaid block tariff with a monthly service charge, VAT 16 % and a 5 % levy)."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Example

_METER = "04896629906"
_LINES: list[dict[str, Any]] = [
    {"kind": "fixed", "label": "Monthly service charge", "net_minor": 15000, "tax_minor": 2400, "wh": None,
     "rate": None},
    {"kind": "energy", "label": "Energy block 1 (0-50 kWh)", "net_minor": 26880, "tax_minor": 5645,
     "wh": 22400, "rate": "12.00"},
]  # fmt: skip

PURCHASE_REQUEST = Example(
    summary="KES 500.00 paid at a bank",
    value={
        "meter_number": _METER,
        "amount": 50000,
        "currency": "KES",
        "payment_method": "bank",
        "payment_reference": "FT26334ABCD",
    },
)

LOOKUP_REQUEST = Example(summary="Confirm the customer before taking money", value={"meter_number": _METER})

LOOKUP_RESPONSE = Example(
    summary="A meter that can buy now",
    value={
        "meter_number": _METER,
        "can_vend": True,
        "reason": None,
        "customer_name": "Wanjiku Test 1",
        "address": "1 Vend Street",
        "account_number": "AW000001",
        "tariff": "World block tariff",
        "minimum_amount": 5000,
        "maximum_amount": 5000000,
        "debt": 0,
        "credit": 0,
        "free_basic_due_wh": 0,
        "key_change_pending": False,
        "currency": "KES",
    },
)

TRIAL_RESPONSE = Example(
    summary="The breakdown of KES 500.00: the month's service charge first, then 22.4 kWh",
    value={
        "meter_number": _METER,
        "customer_name": "Wanjiku Test 1",
        "account_number": "AW000001",
        "currency": "KES",
        "amount": 50000,
        "credit_used": 0,
        "lines": _LINES,
        "energy_wh": 22400,
        "free_basic_wh": 0,
        "debt_recovered": 0,
        "change_kept_as_credit": 75,
    },
)

PURCHASE_RESPONSE = Example(
    summary="The sale: one credit token and the receipt lines",
    value={
        "status": "success",
        "reference": "BANK-000123",
        "receipt_number": "API-20261130-000001",
        "meter_number": _METER,
        "customer_name": "Wanjiku Test 1",
        "account_number": "AW000001",
        "currency": "KES",
        "amount": 50000,
        "payment_method": "bank",
        "operator": "First Bank",
        "tokens": [
            {
                "kind": "credit",
                "token": "40229232066044445054",
                "display": "4022 9232 0660 4444 5054",
                "units_wh": 22400,
                "tid": 6791133,
                "description": "Electricity credit",
            }
        ],
        "lines": _LINES,
        "energy_wh": 22400,
        "free_basic_wh": 0,
        "debt_recovered": 0,
        "debt_remaining": 0,
        "credit_used": 0,
        "change_kept_as_credit": 75,
        "failure_code": None,
        "failure_detail": None,
        "created_at": "2026-11-30T01:33:08.703853Z",
        "replayed": False,
    },
)
