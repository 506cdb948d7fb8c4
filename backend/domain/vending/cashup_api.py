"""Cashier shifts: open, live totals, the end-of-shift cash-up (Z-report), supervisors' list."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.domain.auth.rules import Role
from backend.domain.vending import cashup
from backend.domain.vending.schemas import ShiftCloseIn, ShiftList, ShiftOpenIn, ShiftOut, TenderTotalOut
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import allow

SHIFT_HOLDERS = (Role.CASHIER, Role.SUPERVISOR)
SHIFT_READERS = (Role.CASHIER, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)


def shift_out(view: cashup.ShiftView, timezone: str) -> ShiftOut:
    shift, totals = view.shift, view.totals
    return ShiftOut(
        id=shift.id,
        status="open" if shift.status == "open" else "closed",
        user_id=shift.user_id,
        operator_name=shift.operator_name,
        org_unit_id=shift.org_unit_id,
        station_code=view.station_code,
        station_name=view.station_name,
        utility_name=view.utility_name,
        timezone=timezone,
        currency=shift.currency,
        opened_at=shift.opened_at,
        closed_at=shift.closed_at,
        opening_float=shift.opening_float_minor,
        sales_count=totals.sales_count,
        tendered_total=totals.tendered_minor,
        tenders=[
            TenderTotalOut(payment_method=t.payment_method, count=t.count, amount=t.amount_minor)
            for t in totals.tenders
        ],
        refunds=[
            TenderTotalOut(payment_method=t.payment_method, count=t.count, amount=t.amount_minor)
            for t in totals.refunds
        ],
        refunded_total=totals.refunded_minor,
        energy_wh=totals.energy_wh,
        free_basic_wh=totals.fbe_wh,
        debt_recovered=totals.debt_recovered_minor,
        expected_cash=view.expected_cash_minor,
        declared_cash=shift.declared_cash_minor,
        over_short=view.over_short_minor,
        z_report_number=shift.z_report_no,
    )


class CashupController(Controller):
    path = "/api/v1/shifts"
    tags = ["vending"]

    @post(
        "/",
        opt=allow(*SHIFT_HOLDERS),
        operation_id="openShift",
        status_code=201,
        responses=problem_responses(409, 422),
        summary="Open my shift with the opening float (one open shift per person)",
    )
    async def open_shift(
        self, db: Db, state: State, actor: CurrentActor, data: JSONBody[ShiftOpenIn]
    ) -> ShiftOut:
        opened = await cashup.open_shift(db, state.settings, actor, opening_float_minor=data.opening_float)
        return shift_out(await cashup.get_shift(db, actor, opened.shift.id), state.settings.timezone)

    @get(
        "/current",
        opt=allow(*SHIFT_HOLDERS),
        operation_id="getCurrentShift",
        responses=problem_responses(404),
        summary="My open shift with live totals (sales, per tender type, kWh, expected cash)",
    )
    async def current(self, db: Db, state: State, actor: CurrentActor) -> ShiftOut:
        return shift_out(await cashup.current_shift(db, actor), state.settings.timezone)

    @post(
        "/current/close",
        opt=allow(*SHIFT_HOLDERS),
        operation_id="closeShift",
        status_code=200,
        responses=problem_responses(404, 422),
        summary="End-of-shift cash-up: declare the counted cash, close the shift, get the Z-report",
    )
    async def close(
        self, db: Db, state: State, actor: CurrentActor, data: JSONBody[ShiftCloseIn]
    ) -> ShiftOut:
        view = await cashup.close_shift(db, state.settings, actor, declared_cash_minor=data.declared_cash)
        return shift_out(view, state.settings.timezone)

    @get(
        "/{shift_id:int}",
        opt=allow(*SHIFT_READERS),
        operation_id="getShift",
        responses=problem_responses(404),
        summary="A shift and, once closed, its Z-report (own shifts; supervisors within their area)",
    )
    async def get_shift(self, db: Db, state: State, actor: CurrentActor, shift_id: FromPath[int]) -> ShiftOut:
        return shift_out(await cashup.get_shift(db, actor, shift_id), state.settings.timezone)

    @get(
        "/",
        opt=allow(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR),
        operation_id="listShifts",
        summary="Shifts in my part of the organisation, newest first",
    )
    async def list_shifts(
        self,
        db: Db,
        state: State,
        actor: CurrentActor,
        status: Annotated[Literal["open", "closed"] | None, QueryParameter()] = None,
        user_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ShiftList:
        views, total = await cashup.list_shifts(
            db, actor, status=status, user_id=user_id, limit=limit, offset=offset
        )
        return ShiftList(items=[shift_out(v, state.settings.timezone) for v in views], total=total)
