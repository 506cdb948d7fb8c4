"""Demo tariffs of every kind (prepaid block and flat, postpaid block and time of use) and holidays.

Each tariff has one published version in force from the first of the month three months back (so the
demo's 60 days of history are priced by it); the lifeline tariff also has a draft next version.
Created through the tariffs service as the system actor; the publish is done "as of" its effective
date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.tariffs import service as tariffs
from backend.settings import Settings

_FULL_DAY_OFFPEAK = [{"start": "00:00", "end": "24:00", "band": "offpeak"}]


def lifeline(first_block_rate: str = "12.00") -> dict[str, Any]:
    return {
        "energy": {
            "kind": "block",
            "blocks": [
                {"up_to_kwh": "50", "rate": first_block_rate},
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


SMALL_COMMERCIAL: dict[str, Any] = {
    "energy": {"kind": "flat", "rate": "22.00"},
    "taxes": [{"name": "VAT", "percent": "16", "applies_to": "all"}],
    "debt_recovery": {"mode": "fixed", "amount_minor": 10_000, "monthly_cap_minor": 100_000},
    "min_purchase_minor": 10_000,
    "max_purchase_minor": 10_000_000,
}

DOMESTIC_POSTPAID: dict[str, Any] = {
    "energy": {
        "kind": "block",
        "blocks": [{"up_to_kwh": "100", "rate": "15.00"}, {"up_to_kwh": None, "rate": "21.00"}],
    },
    "fixed_charges": [{"name": "Monthly service charge", "amount_minor": 20_000, "taxable": True}],
    "taxes": [
        {"name": "VAT", "percent": "16", "applies_to": "all"},
        {"name": "Rural electrification levy", "percent": "5", "applies_to": "energy"},
    ],
}

COMMERCIAL_TOU: dict[str, Any] = {
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
            "sunday": _FULL_DAY_OFFPEAK,
            "holiday": _FULL_DAY_OFFPEAK,
        },
    },
    "fixed_charges": [{"name": "Monthly service charge", "amount_minor": 250_000, "taxable": True}],
    "demand": {"rate_per_kva": "800.00"},
    "power_factor": {"target": "0.90", "penalty_percent_per_step": "0.5"},
    "taxes": [
        {"name": "VAT", "percent": "16", "applies_to": "all"},
        {"name": "Energy levy", "per_kwh": "0.10", "applies_to": "energy"},
    ],
}

# code, name, payment mode, description, components
TARIFFS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    (
        "DOM-LIFE",
        "Domestic Lifeline",
        "prepaid",
        "Prepaid homes: rising blocks, free basic electricity for eligible households.",
        lifeline(),
    ),
    (
        "COM-SMALL",
        "Small Commercial",
        "prepaid",
        "Prepaid shops and small businesses: one flat rate.",
        SMALL_COMMERCIAL,
    ),
    (
        "DOM-POST",
        "Domestic Postpaid",
        "postpaid",
        "Billed monthly from meter readings, two blocks.",
        DOMESTIC_POSTPAID,
    ),
    (
        "COM-TOU",
        "Commercial TOU",
        "postpaid",
        "Larger businesses: time-of-use energy, maximum demand and power factor.",
        COMMERCIAL_TOU,
    ),
]


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def kenyan_holidays(year: int) -> list[tuple[date, str]]:
    easter = _easter(year)
    return sorted(
        [
            (date(year, 1, 1), "New Year's Day"),
            (easter - timedelta(days=2), "Good Friday"),
            (easter + timedelta(days=1), "Easter Monday"),
            (date(year, 5, 1), "Labour Day"),
            (date(year, 6, 1), "Madaraka Day"),
            (date(year, 10, 10), "Mazingira Day"),
            (date(year, 10, 20), "Mashujaa Day"),
            (date(year, 12, 12), "Jamhuri Day"),
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 12, 26), "Boxing Day"),
        ]
    )


async def seed(session: AsyncSession, settings: Settings) -> None:
    zone = settings.zone
    today = datetime.now(zone).date()
    this_month = today.replace(day=1)
    # In force from the first of the month three months back: the demo's 60 days of sales fall under it.
    start = this_month
    for _ in range(3):
        start = (start - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    in_force_from = datetime(start.year, start.month, 1, tzinfo=zone)
    next_from = datetime(next_month.year, next_month.month, 1, tzinfo=zone)

    for code, name, mode, description, components in TARIFFS:
        tariff = await tariffs.create_tariff(
            session,
            SYSTEM,
            code=code,
            name=name,
            payment_mode=mode,
            currency=settings.currency,
            description=description,
        )
        version = await tariffs.create_version(
            session,
            SYSTEM,
            tariff.id,
            components=components,
            effective_from=in_force_from,
            notes="Demo: the tariff in force for the demo history.",
        )
        await tariffs.publish_version(session, SYSTEM, version.id, zone=zone, now=in_force_from)
        if code == "DOM-LIFE":
            await tariffs.create_version(
                session,
                SYSTEM,
                tariff.id,
                components=lifeline(first_block_rate="12.50"),
                effective_from=next_from,
                notes="Draft: proposed first-block increase from next month (not yet published).",
            )

    for year in (today.year, today.year + 1):
        for day, holiday in kenyan_holidays(year):
            await tariffs.create_holiday(session, SYSTEM, day=day, name=holiday)
