"""Tariff test helpers: component documents and direct rows for the customers/accounts a publish notifies."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.customers.models import Account, Customer
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit

LIFELINE: dict[str, Any] = {
    "energy": {
        "kind": "block",
        "blocks": [
            {"up_to_kwh": "50", "rate": "12.00"},
            {"up_to_kwh": "200", "rate": "18.50"},
            {"up_to_kwh": None, "rate": "24.00"},
        ],
    },
    "fixed_charges": [{"name": "Monthly service charge", "amount_minor": 15_000, "taxable": True}],
    "taxes": [
        {"name": "VAT", "percent": "16", "applies_to": "all"},
        {"name": "Energy levy", "percent": "3", "applies_to": "energy"},
    ],
    "free_basic": {"kwh_per_month": "25"},
    "debt_recovery": {"mode": "percent", "percent": "25", "ceiling_minor": 200_000},
    "min_purchase_minor": 5_000,
    "max_purchase_minor": 5_000_000,
}

FULL_DAY = [{"start": "00:00", "end": "24:00", "band": "offpeak"}]

TOU_COMMERCIAL: dict[str, Any] = {
    "energy": {
        "kind": "tou",
        "bands": [
            {"code": "peak", "name": "Peak", "rate": "30.00"},
            {"code": "standard", "name": "Standard", "rate": "18.00"},
            {"code": "offpeak", "name": "Off-peak", "rate": "10.00"},
        ],
        "schedule": {
            "weekday": [
                {"start": "00:00", "end": "06:00", "band": "offpeak"},
                {"start": "06:00", "end": "17:00", "band": "standard"},
                {"start": "17:00", "end": "22:00", "band": "peak"},
                {"start": "22:00", "end": "24:00", "band": "offpeak"},
            ],
            "saturday": [
                {"start": "00:00", "end": "07:00", "band": "offpeak"},
                {"start": "07:00", "end": "24:00", "band": "standard"},
            ],
            "sunday": FULL_DAY,
            "holiday": FULL_DAY,
        },
    },
    "fixed_charges": [{"name": "Monthly service charge", "amount_minor": 250_000, "taxable": True}],
    "demand": {"rate_per_kva": "800.00"},
    "power_factor": {"target": "0.90", "penalty_percent_per_step": "0.5"},
    "taxes": [{"name": "VAT", "percent": "16", "applies_to": "all"}],
}

FLAT: dict[str, Any] = {
    "energy": {"kind": "flat", "rate": "22.00"},
    "taxes": [{"name": "VAT", "percent": "16", "applies_to": "all"}],
    "min_purchase_minor": 1_000,
}

_counter = {"n": 0}


async def add_account(
    session: AsyncSession,
    *,
    tariff_id: int,
    phone: str | None,
    status: str = "active",
    name: str = "Test Customer",
) -> tuple[Customer, Account]:
    """A customer with one account on the tariff (plus the supply point the FK needs), committed."""
    _counter["n"] += 1
    n = _counter["n"]
    async with session.begin():
        unit = OrgUnit(kind="utility", code=f"TU{n}", name=f"Test utility {n}", path="")
        session.add(unit)
        await session.flush()
        unit.path = f"/{unit.id}/"
        point = SupplyPoint(code=f"SP-T{n}", org_unit_id=unit.id, address=f"{n} Test Road")
        customer = Customer(customer_no=f"C-T{n}", name=name, phone=phone, org_unit_id=unit.id)
        session.add_all([point, customer])
        await session.flush()
        account = Account(
            account_no=f"A-T{n}",
            customer_id=customer.id,
            supply_point_id=point.id,
            tariff_id=tariff_id,
            payment_mode="prepaid",
            status=status,
            org_unit_id=unit.id,
            currency="KES",
        )
        session.add(account)
    return customer, account
