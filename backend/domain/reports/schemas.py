"""API shapes of the reports context."""

from __future__ import annotations

from datetime import date

import msgspec


class TotalsOut(msgspec.Struct, kw_only=True):
    sales: int
    amount: int
    energy_wh: int
    energy_revenue: int
    tax: int
    fixed_charges: int
    debt_recovered: int


class GroupOut(msgspec.Struct, kw_only=True):
    key: str
    label: str
    totals: TotalsOut


class DayOut(msgspec.Struct, kw_only=True):
    day: date
    totals: TotalsOut


class SalesDashboardOut(msgspec.Struct, kw_only=True):
    currency: str
    day: date
    today: TotalsOut
    month: TotalsOut
    by_channel: list[GroupOut]
    by_station: list[GroupOut]
    by_operator: list[GroupOut]
    by_payment: list[GroupOut]
    daily: list[DayOut]
