"""Sales figures for the dashboard: today and this month, by channel, station and operator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.org.models import OrgUnit
from backend.domain.reports.rules import local_day_bounds, local_days, local_month_bounds
from backend.domain.vending.models import Vend


@dataclass(frozen=True, slots=True)
class Totals:
    sales: int = 0
    amount_minor: int = 0
    energy_wh: int = 0
    energy_revenue_minor: int = 0
    tax_minor: int = 0
    fixed_minor: int = 0
    debt_recovered_minor: int = 0


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    totals: Totals


@dataclass(slots=True)
class Dashboard:
    currency: str
    today: Totals
    month: Totals
    by_channel: list[Group] = field(default_factory=list)
    by_station: list[Group] = field(default_factory=list)
    by_operator: list[Group] = field(default_factory=list)
    by_payment: list[Group] = field(default_factory=list)
    daily: list[DayPoint] = field(default_factory=list)


_SUMS = (
    func.count(Vend.id),
    func.coalesce(func.sum(Vend.tender_minor), 0),
    func.coalesce(func.sum(Vend.energy_wh), 0),
    func.coalesce(func.sum(Vend.energy_minor), 0),
    func.coalesce(func.sum(Vend.tax_minor), 0),
    func.coalesce(func.sum(Vend.fixed_minor), 0),
    func.coalesce(func.sum(Vend.debt_recovered_minor), 0),
)


def _totals(row: tuple[object, ...]) -> Totals:
    values = [int(v or 0) for v in row]  # type: ignore[call-overload]
    return Totals(*values)


def _scoped(query: Any, actor: Actor, start: datetime, end: datetime) -> Any:
    query = query.where(Vend.status == "success", Vend.created_at >= start, Vend.created_at < end)
    if actor.org_path and actor.org_path.count("/") > 2:  # below the utility: only its own part
        scope = select(OrgUnit.id).where(OrgUnit.path.startswith(actor.org_path))
        query = query.where(Vend.org_unit_id.in_(scope))
    return query


async def _sum(session: AsyncSession, actor: Actor, start: datetime, end: datetime) -> Totals:
    row = (await session.execute(_scoped(select(*_SUMS), actor, start, end))).one()
    return _totals(tuple(row))


async def _grouped(
    session: AsyncSession,
    actor: Actor,
    start: datetime,
    end: datetime,
    column: Any,
    labels: dict[str, str],
) -> list[Group]:
    rows = (await session.execute(_scoped(select(column, *_SUMS), actor, start, end).group_by(column))).all()
    groups = [
        Group(
            key=str(r[0]),
            label=labels.get(str(r[0]), str(r[0]) if r[0] is not None else "vendor API"),
            totals=_totals(tuple(r[1:])),
        )
        for r in rows
    ]
    return sorted(groups, key=lambda g: -g.totals.amount_minor)


async def dashboard(
    session: AsyncSession, actor: Actor, *, zone: ZoneInfo, currency: str, today: date
) -> Dashboard:
    day_start, day_end = local_day_bounds(today, zone)
    month_start, month_end = local_month_bounds(today, zone)
    async with session.begin():
        units = {str(u.id): u.name for u in (await session.execute(select(OrgUnit))).scalars().all()}
        result = Dashboard(
            currency=currency,
            today=await _sum(session, actor, day_start, day_end),
            month=await _sum(session, actor, month_start, month_end),
            by_channel=await _grouped(session, actor, month_start, month_end, Vend.channel, {}),
            by_station=await _grouped(session, actor, month_start, month_end, Vend.org_unit_id, units),
            by_operator=await _grouped(session, actor, month_start, month_end, Vend.operator_name, {}),
            by_payment=await _grouped(session, actor, month_start, month_end, Vend.payment_method, {}),
        )
        for day in local_days(today.replace(day=1), today):
            start, end = local_day_bounds(day, zone)
            result.daily.append(DayPoint(day=day, totals=await _sum(session, actor, start, end)))
    return result
