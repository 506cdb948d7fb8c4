"""Cashier shifts and the end-of-shift cash-up (Z-report).

A cashier opens a shift with an opening float; while it is open the cashier may sell through the
staff app. The shift's takings are the cashier's successful sales (``client_key`` ``user:<id>``)
made in ``[opened_at, closed_at)``, per tender type. Closing the shift takes the cash the cashier
counted, computes the expected cash (opening float + cash tendered) and the difference (over/short),
gives the shift a Z-report number unique per station and local day, and writes the audit record in
the same transaction. One open shift per user is enforced by a partial unique index as well as by a
check, so that two concurrent "open" calls give one shift and one clear 409.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.auth.rules import Role
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.ledger.models import LedgerEntry
from backend.domain.org.models import OrgUnit
from backend.domain.vending.models import ReceiptCounter, Shift, Vend, VendRequest
from backend.domain.vending.rules import (
    PAYMENT_ACCOUNTS,
    PAYMENT_METHODS,
    expected_cash,
    over_short,
    z_report_number,
    z_report_prefix,
)
from backend.settings import Settings

OVERSEERS = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
MAX_FLOAT_MINOR = 10**12


@dataclass(frozen=True, slots=True)
class TenderTotal:
    payment_method: str
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Totals:
    """A shift's takings: sales count, amounts per tender type, energy and debt recovered."""

    sales_count: int = 0
    tendered_minor: int = 0
    tenders: tuple[TenderTotal, ...] = ()
    energy_wh: int = 0
    fbe_wh: int = 0
    debt_recovered_minor: int = 0
    refunds: tuple[TenderTotal, ...] = ()  # credit notes approved during the shift, per tender type
    refunded_minor: int = 0

    def by_tender(self) -> dict[str, int]:
        """Net takings per tender type: tendered minus what credit notes gave back."""
        net = {t.payment_method: t.amount_minor for t in self.tenders}
        for r in self.refunds:
            net[r.payment_method] = net.get(r.payment_method, 0) - r.amount_minor
        return net

    def to_json(self) -> str:
        return json.dumps(
            {
                "sales_count": self.sales_count,
                "tendered_minor": self.tendered_minor,
                "tenders": [
                    {"payment_method": t.payment_method, "count": t.count, "amount_minor": t.amount_minor}
                    for t in self.tenders
                ],
                "energy_wh": self.energy_wh,
                "fbe_wh": self.fbe_wh,
                "debt_recovered_minor": self.debt_recovered_minor,
                "refunds": [
                    {"payment_method": t.payment_method, "count": t.count, "amount_minor": t.amount_minor}
                    for t in self.refunds
                ],
                "refunded_minor": self.refunded_minor,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Totals:
        raw: dict[str, Any] = json.loads(text or "{}")
        return cls(
            sales_count=int(raw.get("sales_count", 0)),
            tendered_minor=int(raw.get("tendered_minor", 0)),
            tenders=tuple(
                TenderTotal(t["payment_method"], int(t["count"]), int(t["amount_minor"]))
                for t in raw.get("tenders", [])
            ),
            energy_wh=int(raw.get("energy_wh", 0)),
            fbe_wh=int(raw.get("fbe_wh", 0)),
            debt_recovered_minor=int(raw.get("debt_recovered_minor", 0)),
            refunds=tuple(
                TenderTotal(t["payment_method"], int(t["count"]), int(t["amount_minor"]))
                for t in raw.get("refunds", [])
            ),
            refunded_minor=int(raw.get("refunded_minor", 0)),
        )


@dataclass(frozen=True, slots=True)
class ShiftView:
    """A shift with its totals (live for an open shift, as closed for a Z-report) and its place."""

    shift: Shift
    totals: Totals
    expected_cash_minor: int
    station_code: str | None = None
    station_name: str | None = None
    utility_name: str | None = None

    @property
    def over_short_minor(self) -> int | None:
        if self.shift.declared_cash_minor is None:
            return None
        return over_short(self.expected_cash_minor, self.shift.declared_cash_minor)


def _user_id(actor: Actor) -> int:
    if actor.kind != "user" or actor.id is None or actor.realm != "staff":
        raise PermissionDenied("Only a signed-in staff member has a cashier's shift.")
    return actor.id


async def _open_shift_of(session: AsyncSession, user_id: int, *, lock: bool = False) -> Shift | None:
    query = select(Shift).where(Shift.user_id == user_id, Shift.status == "open")
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def shift_totals(
    session: AsyncSession, user_id: int, start: datetime, end: datetime | None = None
) -> Totals:
    """The user's successful sales in ``[start, end)`` (``end`` None: up to now), per tender type, and
    the credit notes approved in that time for the user's sales (of this or an earlier shift: the money
    goes back to the customer now, so it leaves this drawer)."""
    query = (
        select(
            Vend.payment_method,
            func.count(),
            func.coalesce(func.sum(Vend.tender_minor), 0),
            func.coalesce(func.sum(Vend.energy_wh), 0),
            func.coalesce(func.sum(Vend.fbe_wh), 0),
            func.coalesce(func.sum(Vend.debt_recovered_minor), 0),
        )
        .where(
            Vend.client_key == f"user:{user_id}",
            Vend.status == "success",
            Vend.created_at >= start,
        )
        .group_by(Vend.payment_method)
    )
    if end is not None:
        query = query.where(Vend.created_at < end)
    rows = (await session.execute(query)).all()
    refunds_query = (
        select(
            Vend.payment_method,
            func.count(func.distinct(VendRequest.id)),
            -func.coalesce(func.sum(LedgerEntry.amount_minor), 0),
        )
        .join(VendRequest, VendRequest.vend_id == Vend.id)
        .join(LedgerEntry, LedgerEntry.transaction_id == VendRequest.ledger_transaction_id)
        .where(
            LedgerEntry.account.in_([a.value for a in PAYMENT_ACCOUNTS]),
            Vend.client_key == f"user:{user_id}",
            VendRequest.kind == "reversal",
            VendRequest.status == "approved",
            VendRequest.decided_at >= start,
        )
        .group_by(Vend.payment_method)
    )
    if end is not None:
        refunds_query = refunds_query.where(VendRequest.decided_at < end)
    order = {method: i for i, method in enumerate(PAYMENT_METHODS)}

    def in_order(items: Any) -> tuple[TenderTotal, ...]:
        return tuple(sorted(items, key=lambda t: order.get(t.payment_method, len(order))))

    tenders = in_order(TenderTotal(str(r[0]), int(r[1]), int(r[2])) for r in rows)
    refunds = in_order(
        TenderTotal(str(r[0]), int(r[1]), int(r[2])) for r in (await session.execute(refunds_query)).all()
    )
    return Totals(
        refunds=refunds,
        refunded_minor=sum(r.amount_minor for r in refunds),
        sales_count=sum(t.count for t in tenders),
        tendered_minor=sum(t.amount_minor for t in tenders),
        tenders=tenders,
        energy_wh=sum(int(r[3]) for r in rows),
        fbe_wh=sum(int(r[4]) for r in rows),
        debt_recovered_minor=sum(int(r[5]) for r in rows),
    )


async def _place(session: AsyncSession, org_unit_id: int | None) -> tuple[OrgUnit | None, OrgUnit | None]:
    """The shift's unit and the utility at the root of its path."""
    if org_unit_id is None:
        return None, None
    unit = await session.get(OrgUnit, org_unit_id)
    if unit is None:
        return None, None
    root_id = next((int(part) for part in unit.path.split("/") if part), unit.id)
    root = unit if root_id == unit.id else await session.get(OrgUnit, root_id)
    return unit, root


async def _view(session: AsyncSession, shift: Shift, totals: Totals) -> ShiftView:
    unit, root = await _place(session, shift.org_unit_id)
    expected = (
        shift.expected_cash_minor
        if shift.expected_cash_minor is not None
        else expected_cash(shift.opening_float_minor, totals.by_tender())
    )
    return ShiftView(
        shift=shift,
        totals=totals,
        expected_cash_minor=expected,
        station_code=unit.code if unit else None,
        station_name=unit.name if unit else None,
        utility_name=root.name if root else None,
    )


_ALREADY_OPEN = "You already have an open shift. Close it with the cash-up before opening another."


async def open_shift(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    opening_float_minor: int,
    now: datetime | None = None,
) -> ShiftView:
    """Open the actor's shift with the cash already in the drawer (the opening float)."""
    user_id = _user_id(actor)
    if not 0 <= opening_float_minor <= MAX_FLOAT_MINOR:
        raise InvalidInput("The opening float must be zero or a positive amount in minor units (cents).")
    now = now or utcnow()
    try:
        async with session.begin():
            if await _open_shift_of(session, user_id) is not None:
                raise Conflict(_ALREADY_OPEN, code="shift_already_open")
            shift = Shift(
                user_id=user_id,
                operator_name=actor.name,
                org_unit_id=actor.org_unit_id,
                status="open",
                opened_at=now,
                opening_float_minor=opening_float_minor,
                currency=settings.currency,
            )
            session.add(shift)
            await session.flush()
            await audit.record(
                session,
                actor,
                "shift.open",
                entity_type="shift",
                entity_id=shift.id,
                detail={
                    "before": None,
                    "after": {"status": "open", "opening_float_minor": opening_float_minor},
                    "currency": settings.currency,
                },
                org_unit_id=actor.org_unit_id,
            )
    except IntegrityError:
        # A concurrent "open" by the same user won the partial unique index.
        raise Conflict(_ALREADY_OPEN, code="shift_already_open") from None
    return ShiftView(shift=shift, totals=Totals(), expected_cash_minor=opening_float_minor)


async def current_shift(session: AsyncSession, actor: Actor) -> ShiftView:
    """The actor's open shift with live totals, or NotFound."""
    user_id = _user_id(actor)
    async with session.begin():
        shift = await _open_shift_of(session, user_id)
        if shift is None:
            raise NotFound("You have no open shift. Open one before selling.", code="no_open_shift")
        totals = await shift_totals(session, user_id, shift.opened_at)
        return await _view(session, shift, totals)


async def _next_z_number(session: AsyncSession, station_code: str, now: datetime, settings: Settings) -> str:
    from sqlalchemy.dialects import postgresql, sqlite

    prefix = z_report_prefix(station_code)
    key = f"Z:{prefix}:{now.astimezone(settings.zone):%Y%m%d}"
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(ReceiptCounter).values(key=key, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ReceiptCounter.key], set_={"last": ReceiptCounter.last + 1}
    )
    seq = (await session.execute(stmt.returning(ReceiptCounter.last))).scalar_one()
    return z_report_number(prefix, now, settings.zone, int(seq))


async def close_shift(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    declared_cash_minor: int,
    now: datetime | None = None,
) -> ShiftView:
    """The cash-up: totals of the shift's sales, expected cash, over/short and the Z-report number."""
    user_id = _user_id(actor)
    if not 0 <= declared_cash_minor <= MAX_FLOAT_MINOR:
        raise InvalidInput("The declared cash must be zero or a positive amount in minor units (cents).")
    now = now or utcnow()
    async with session.begin():
        shift = await _open_shift_of(session, user_id, lock=True)
        if shift is None:
            raise NotFound("You have no open shift to close.", code="no_open_shift")
        if now < shift.opened_at:
            now = shift.opened_at
        totals = await shift_totals(session, user_id, shift.opened_at, now)
        expected = expected_cash(shift.opening_float_minor, totals.by_tender())
        unit, _ = await _place(session, shift.org_unit_id)
        shift.status = "closed"
        shift.closed_at = now
        shift.totals = totals.to_json()
        shift.expected_cash_minor = expected
        shift.declared_cash_minor = declared_cash_minor
        shift.z_report_no = await _next_z_number(session, unit.code if unit else "HQ", now, settings)
        await session.flush()
        await audit.record(
            session,
            actor,
            "shift.close",
            entity_type="shift",
            entity_id=shift.id,
            detail={
                "before": {"status": "open"},
                "after": {
                    "status": "closed",
                    "z_report_no": shift.z_report_no,
                    "expected_cash_minor": expected,
                    "declared_cash_minor": declared_cash_minor,
                    "over_short_minor": over_short(expected, declared_cash_minor),
                },
                "sales_count": totals.sales_count,
                "tenders": totals.by_tender(),
                "currency": shift.currency,
            },
            org_unit_id=shift.org_unit_id,
        )
        return await _view(session, shift, totals)


def _may_oversee(actor: Actor, unit: OrgUnit | None) -> bool:
    if not actor.has_any(*OVERSEERS) or actor.org_path is None:
        return False
    if actor.org_path == "/":
        return True
    return unit is not None and unit.path.startswith(actor.org_path)


async def get_shift(session: AsyncSession, actor: Actor, shift_id: int) -> ShiftView:
    """A shift (its Z-report once closed): its owner, or a supervisor/admin/auditor over its unit."""
    async with session.begin():
        shift = await session.get(Shift, shift_id)
        if shift is None:
            raise NotFound(f"Shift {shift_id} does not exist.")
        unit = await session.get(OrgUnit, shift.org_unit_id) if shift.org_unit_id else None
        own = actor.kind == "user" and actor.id == shift.user_id
        if not own and not _may_oversee(actor, unit):
            raise NotFound(f"Shift {shift_id} does not exist.")
        if shift.status == "open":
            totals = await shift_totals(session, shift.user_id, shift.opened_at)
        else:
            totals = Totals.from_json(shift.totals)
        return await _view(session, shift, totals)


async def list_shifts(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None,
    user_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ShiftView], int]:
    """Shifts in the actor's part of the organisation, newest first."""
    if actor.org_path is None:
        return [], 0
    async with session.begin():
        query = select(Shift).outerjoin(OrgUnit, OrgUnit.id == Shift.org_unit_id)
        if actor.org_path != "/":
            query = query.where(OrgUnit.path.startswith(actor.org_path))
        if status is not None:
            query = query.where(Shift.status == status)
        if user_id is not None:
            query = query.where(Shift.user_id == user_id)
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = (
            (
                await session.execute(
                    query.order_by(Shift.opened_at.desc(), Shift.id.desc()).limit(limit).offset(offset)
                )
            )
            .scalars()
            .all()
        )
        out = []
        for shift in rows:
            if shift.status == "open":
                totals = await shift_totals(session, shift.user_id, shift.opened_at)
            else:
                totals = Totals.from_json(shift.totals)
            out.append(await _view(session, shift, totals))
        return out, int(total)
