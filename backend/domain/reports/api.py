"""Report endpoints."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromQuery

from backend.db.types import utcnow
from backend.domain.auth.rules import Role
from backend.domain.reports import service
from backend.domain.reports.schemas import DayOut, GroupOut, SalesDashboardOut, TotalsOut
from backend.http.deps import CurrentActor, Db
from backend.http.security import allow


def _totals(t: service.Totals) -> TotalsOut:
    return TotalsOut(
        sales=t.sales,
        amount=t.amount_minor,
        energy_wh=t.energy_wh,
        energy_revenue=t.energy_revenue_minor,
        tax=t.tax_minor,
        fixed_charges=t.fixed_minor,
        debt_recovered=t.debt_recovered_minor,
    )


def _groups(groups: list[service.Group]) -> list[GroupOut]:
    return [GroupOut(key=g.key, label=g.label, totals=_totals(g.totals)) for g in groups]


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/sales-dashboard",
        opt=allow(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR),
        operation_id="salesDashboard",
        summary="Today's and this month's sales by channel, station, operator and payment, day by day",
        description="Days and months are those of the utility's time zone. `day` defaults to today.",
    )
    async def sales_dashboard(
        self, db: Db, state: State, actor: CurrentActor, day: FromQuery[date | None] = None
    ) -> SalesDashboardOut:
        zone = state.settings.zone
        when = day or utcnow().astimezone(zone).date()
        board = await service.dashboard(db, actor, zone=zone, currency=state.settings.currency, today=when)
        return SalesDashboardOut(
            currency=board.currency,
            day=when,
            today=_totals(board.today),
            month=_totals(board.month),
            by_channel=_groups(board.by_channel),
            by_station=_groups(board.by_station),
            by_operator=_groups(board.by_operator),
            by_payment=_groups(board.by_payment),
            daily=[DayOut(day=p.day, totals=_totals(p.totals)) for p in board.daily],
        )
