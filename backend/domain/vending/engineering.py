"""Engineering tokens: management, test, free-issue and credit-transfer tokens asked for by an engineer,
and key change tokens on demand.

* Set maximum power limit, clear tamper, set maximum phase power unbalance and test/display tokens are
  made at once.
* Clear credit, free issue and credit transfer need a second person: the request is stored as
  ``pending_approval``; a different user with the engineer, supervisor or admin role approves it, and
  only then is the token made.
* Free issue and credit transfer give energy without a sale: **nothing is posted to the ledger** (no
  money moves); the energy is recorded in ``units_wh`` (and audited) so it can be reported.
* Tokens carrying a TID get one strictly greater than the meter's ``last_tid`` while the meter row is
  locked (as a sale does); a pending key change goes out first (its tokens lead the list and the meter
  takes the new key data before the engineering token is made).

Every request, approval, rejection and issue is audited without key material (tokens are not secrets
but are not written to the audit trail either; the count is).
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
from backend.domain.assets.models import Meter
from backend.domain.assets.service import scope_meters, scoped_meter
from backend.domain.audit import service as audit
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.keys import service as keys
from backend.domain.keys.engine import TokenEngine, TokenOut
from backend.domain.keys.rules import next_tid, tid_at
from backend.domain.vending.models import EngineeringToken
from backend.domain.vending.rules import normalise_meter_number
from sts.hazmat.amount import MAX_STANDARD_AMOUNT, encode_amount, round_up_amount

STS_KINDS = ("sts_keypad", "sts_smartcard", "ami")

MAX_POWER_LIMIT = "max_power_limit"
CLEAR_TAMPER = "clear_tamper"
CLEAR_CREDIT = "clear_credit"
MAX_PHASE_UNBALANCE = "max_phase_unbalance"
TEST = "test"
FREE_ISSUE = "free_issue"
CREDIT_TRANSFER = "credit_transfer"
KEY_CHANGE = "key_change"  # key change tokens on demand (never asked for through request())

FUNCTIONS = (
    MAX_POWER_LIMIT,
    CLEAR_TAMPER,
    CLEAR_CREDIT,
    MAX_PHASE_UNBALANCE,
    TEST,
    FREE_ISSUE,
    CREDIT_TRANSFER,
)
NEEDS_APPROVAL = frozenset({CLEAR_CREDIT, FREE_ISSUE, CREDIT_TRANSFER})
APPROVER_ROLES = frozenset({"engineer", "supervisor", "admin"})
CLEAR_ALL_REGISTERS = 0xFFFF
MAX_LIMIT_W = 9_999_999  # the amount encoding goes higher; no meter supply is larger than this

_MANAGEMENT_SUBCLASS = {MAX_POWER_LIMIT: 0, CLEAR_CREDIT: 1, CLEAR_TAMPER: 5, MAX_PHASE_UNBALANCE: 6}
_LABELS = {
    MAX_POWER_LIMIT: "Set maximum power limit",
    CLEAR_TAMPER: "Clear tamper",
    CLEAR_CREDIT: "Clear credit",
    MAX_PHASE_UNBALANCE: "Set maximum phase power unbalance limit",
    TEST: "Test / display",
    FREE_ISSUE: "Free issue",
    CREDIT_TRANSFER: "Credit transfer from a replaced meter",
    KEY_CHANGE: "Key change tokens on demand",
}


def label(function: str) -> str:
    return _LABELS.get(function, function)


@dataclass(frozen=True, slots=True)
class EngineeringRequest:
    """What an engineer asks for. ``value``: W for the two limits, the credit register for clear
    credit (None: all registers), the control bits for a test token. ``units_wh`` for free issue and
    credit transfer (whole tenths of a kWh). ``from_meter_id``: the replaced meter of a credit transfer.
    """

    function: str
    reason: str
    value: int | None = None
    units_wh: int = 0
    mfr_code: int = 0
    from_meter_id: int | None = None


def actor_key(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def check_request(req: EngineeringRequest) -> str | None:
    """Why the request cannot be made (None when it can). Pure."""
    if req.function not in FUNCTIONS:
        return f"Unknown function {req.function!r}; choose one of: {', '.join(FUNCTIONS)}."
    if not req.reason.strip():
        return "Give a reason (it is kept with the token and in the audit trail)."
    limit = req.function in (MAX_POWER_LIMIT, MAX_PHASE_UNBALANCE)
    if limit and (req.value is None or not 0 <= req.value <= MAX_LIMIT_W):
        return f"Give the limit in watts (0 to {MAX_LIMIT_W})."
    if req.function == CLEAR_CREDIT and req.value is not None and not 0 <= req.value <= 7:
        return "The credit register is 0 to 7 (leave it empty to clear all registers)."
    if req.function == TEST:
        if req.value is None or not 0 <= req.value < (1 << 36):
            return "Give the test control bits (a number from 0 to 2^36-1; 0 tests everything)."
        if not 0 <= req.mfr_code <= 0xFFFF:
            return "The manufacturer code is 0 to 9999 (0: any manufacturer)."
        if req.mfr_code > 0xFF and req.value >= (1 << 28):
            return "With a 4-digit manufacturer code the control bits must be below 2^28."
    if req.function in (FREE_ISSUE, CREDIT_TRANSFER):
        if req.units_wh <= 0 or req.units_wh % 100:
            return "Give the energy in whole tenths of a kWh (Wh, a positive multiple of 100)."
        if req.units_wh // 100 > MAX_STANDARD_AMOUNT:
            return f"At most {MAX_STANDARD_AMOUNT / 10:,.1f} kWh fit in one token."
    if req.function == CREDIT_TRANSFER and req.from_meter_id is None:
        return "Name the replaced meter the credit comes from."
    return None


def _require_sts(meter: Meter) -> None:
    if meter.kind not in STS_KINDS or meter.sgc is None:
        raise InvalidInput(f"Meter {meter.meter_no} does not take STS tokens.")


def token_dict(t: TokenOut) -> dict[str, Any]:
    return {
        "token": t.digits,
        "kind": t.kind,
        "subclass": t.subclass,
        "tid": t.tid,
        "units_wh": (t.units_0_1kwh or 0) * 100 if t.kind == "credit" else 0,
        "description": t.description,
    }


def tokens_of(row: EngineeringToken) -> list[dict[str, Any]]:
    return list(json.loads(row.tokens or "[]"))


async def _key_change_first(
    session: AsyncSession, engine: TokenEngine, actor: Actor, meter: Meter
) -> list[TokenOut]:
    """The pending key change's tokens (empty when none); the meter then holds the new key data."""
    pending = await keys.pending_change(session, meter.id)
    if pending is None:
        return []
    out = await keys.tokens_for_change(engine, pending, meter)
    await keys.mark_issued(session, pending, actor)
    await session.refresh(meter)
    return out


async def _make_tokens(
    session: AsyncSession,
    engine: TokenEngine,
    actor: Actor,
    meter: Meter,
    row: EngineeringToken,
    mfr_code: int,
    now: datetime,
) -> list[TokenOut]:
    """Make the row's tokens; the meter row must be locked by the caller."""
    if row.function == TEST:
        test = await engine.test(int(row.value or 0), mfr_code)
        return [
            TokenOut(
                test.digits,
                "test",
                test.subclass,
                description=f"test/display, control {row.value}, MfrCode {mfr_code}",
            )
        ]
    out = await _key_change_first(session, engine, actor, meter)
    data = keys.meter_key_data(meter)
    try:
        tid = next_tid(meter.last_tid, tid_at(now, data.base_date))
    except ValueError as exc:
        raise InvalidInput(
            f"Meter {meter.meter_no}: {exc}. Schedule the base date rollover key change first."
        ) from None
    if row.function in (FREE_ISSUE, CREDIT_TRANSFER):
        token = await engine.credit(data, row.units_wh // 100, tid)
        what = "Free issue" if row.function == FREE_ISSUE else "Credit transferred"
        token = TokenOut(
            token.digits,
            "credit",
            token.subclass,
            tid=tid,
            units_0_1kwh=row.units_wh // 100,
            description=f"{what} {row.units_wh / 1000:.1f} kWh",
        )
    else:
        function = row.function
        raw = row.value or 0
        if function in (MAX_POWER_LIMIT, MAX_PHASE_UNBALANCE):
            raw = encode_amount(raw)
        elif function == CLEAR_CREDIT:
            raw = CLEAR_ALL_REGISTERS if row.value is None else row.value
        elif function == CLEAR_TAMPER:
            raw = 0
        made = await engine.management(data, _MANAGEMENT_SUBCLASS[function], raw, tid)
        token = TokenOut(made.digits, "management", made.subclass, tid=tid, description=_describe(row))
    meter.last_tid = tid
    meter.updated_at = now
    out.append(token)
    return out


def _describe(row: EngineeringToken) -> str:
    if row.function in (MAX_POWER_LIMIT, MAX_PHASE_UNBALANCE):
        return f"{label(row.function)}: {round_up_amount(int(row.value or 0))} W"
    if row.function == CLEAR_CREDIT:
        return "Clear credit: all registers" if row.value is None else f"Clear credit: register {row.value}"
    return label(row.function)


def _detail(row: EngineeringToken, meter: Meter, **more: Any) -> dict[str, Any]:
    return {
        "meter_id": meter.id,
        "meter_no": meter.meter_no,
        "function": row.function,
        "value": row.value,
        "units_wh": row.units_wh,
        "from_meter_id": row.from_meter_id,
        "reason": row.reason,
        **more,
    }


async def _issue(
    session: AsyncSession,
    engine: TokenEngine,
    actor: Actor,
    meter: Meter,
    row: EngineeringToken,
    mfr_code: int,
    now: datetime,
) -> None:
    made = await _make_tokens(session, engine, actor, meter, row, mfr_code, now)
    row.tokens = json.dumps([token_dict(t) for t in made])
    row.status = "issued"
    await session.flush()
    await audit.record(
        session,
        actor,
        "engineering_token.issue",
        entity_type="engineering_token",
        entity_id=row.id,
        detail=_detail(
            row,
            meter,
            tokens=len(made),
            tids=[t.tid for t in made if t.tid is not None],
            key_change_tokens=sum(1 for t in made if t.kind == "key_change"),
            ledger="nothing posted (no money moves)" if row.units_wh else None,
        ),
        org_unit_id=meter.org_unit_id,
    )


async def request(
    session: AsyncSession,
    engine: TokenEngine,
    actor: Actor,
    meter_id: int,
    req: EngineeringRequest,
    *,
    now: datetime | None = None,
) -> EngineeringToken:
    """Ask for an engineering token for a meter in the actor's scope.

    Functions in NEEDS_APPROVAL are stored as pending_approval; the others are issued at once.
    Free issue and credit transfer post nothing to the ledger (the energy is kept in ``units_wh``).
    """
    problem = check_request(req)
    if problem:
        raise InvalidInput(problem)
    now = now or utcnow()
    async with session.begin():
        meter = await scoped_meter(session, actor, meter_id, lock=True)
        _require_sts(meter)
        from_meter: Meter | None = None
        if req.function == CREDIT_TRANSFER:
            assert req.from_meter_id is not None
            if req.from_meter_id == meter.id:
                raise InvalidInput("The replaced meter and the new meter must be different meters.")
            try:
                from_meter = await scoped_meter(session, actor, req.from_meter_id)
            except NotFound:
                raise NotFound(f"The replaced meter {req.from_meter_id} does not exist.") from None
        row = EngineeringToken(
            meter_id=meter.id,
            function=req.function,
            value=req.value,
            units_wh=req.units_wh if req.function in (FREE_ISSUE, CREDIT_TRANSFER) else 0,
            from_meter_id=from_meter.id if from_meter else None,
            status="pending_approval" if req.function in NEEDS_APPROVAL else "issued",
            reason=req.reason.strip()[:400],
            requested_by=actor.name,
            requester_key=actor_key(actor),
            tokens="[]",
            org_unit_id=meter.org_unit_id,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        await audit.record(
            session,
            actor,
            "engineering_token.request",
            entity_type="engineering_token",
            entity_id=row.id,
            detail=_detail(
                row,
                meter,
                from_meter_no=from_meter.meter_no if from_meter else None,
                needs_approval=row.status == "pending_approval",
                mfr_code=req.mfr_code if req.function == TEST else None,
            ),
            org_unit_id=meter.org_unit_id,
        )
        if row.status == "issued":
            await _issue(session, engine, actor, meter, row, req.mfr_code, now)
    return row


async def _scoped_request(
    session: AsyncSession, actor: Actor, token_id: int, *, lock: bool
) -> EngineeringToken:
    query = scope_meters(
        select(EngineeringToken)
        .join(Meter, Meter.id == EngineeringToken.meter_id)
        .where(EngineeringToken.id == token_id),
        actor,
    )
    if lock:
        query = query.with_for_update(of=EngineeringToken)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Engineering token request {token_id} does not exist.")
    return row


async def approve(
    session: AsyncSession,
    engine: TokenEngine,
    actor: Actor,
    token_id: int,
    *,
    now: datetime | None = None,
) -> EngineeringToken:
    """A second person approves a pending request; the token is made now (meter row locked)."""
    now = now or utcnow()
    async with session.begin():
        row = await _scoped_request(session, actor, token_id, lock=True)
        if not actor.roles.intersection(APPROVER_ROLES):
            raise PermissionDenied("Only an engineer, supervisor or administrator may approve.")
        if row.status != "pending_approval":
            raise Conflict(
                f"Request {token_id} is {row.status.replace('_', ' ')}; only a pending one can be approved."
            )
        if row.requester_key == actor_key(actor):
            raise PermissionDenied(
                "You asked for this token, so you cannot approve it yourself: another engineer, "
                "supervisor or administrator must approve it."
            )
        meter = await scoped_meter(session, actor, row.meter_id, lock=True)
        _require_sts(meter)
        row.decided_by = actor.name
        row.decided_at = now
        await audit.record(
            session,
            actor,
            "engineering_token.approve",
            entity_type="engineering_token",
            entity_id=row.id,
            detail=_detail(
                row,
                meter,
                requested_by=row.requested_by,
                before={"status": "pending_approval"},
                after={"status": "issued"},
            ),
            org_unit_id=meter.org_unit_id,
        )
        await _issue(session, engine, actor, meter, row, 0, now)
    return row


async def reject(
    session: AsyncSession, actor: Actor, token_id: int, *, reason: str | None = None
) -> EngineeringToken:
    """Refuse a pending request (the requester may also withdraw it); no token is made."""
    async with session.begin():
        row = await _scoped_request(session, actor, token_id, lock=True)
        if row.status != "pending_approval":
            raise Conflict(
                f"Request {token_id} is {row.status.replace('_', ' ')}; only a pending one can be rejected."
            )
        meter = await scoped_meter(session, actor, row.meter_id)
        row.status = "rejected"
        row.decided_by = actor.name
        row.decided_at = utcnow()
        await audit.record(
            session,
            actor,
            "engineering_token.reject",
            entity_type="engineering_token",
            entity_id=row.id,
            detail=_detail(
                row,
                meter,
                rejection_reason=(reason or "").strip()[:400] or None,
                before={"status": "pending_approval"},
                after={"status": "rejected"},
            ),
            org_unit_id=meter.org_unit_id,
        )
    return row


async def list_requests(
    session: AsyncSession,
    actor: Actor,
    *,
    meter_id: int | None = None,
    status: str | None = None,
    function: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[EngineeringToken, str, str | None]], int]:
    """Engineering token requests in scope, newest first, with the meter number (and replaced meter's)."""
    query = scope_meters(
        select(EngineeringToken, Meter.meter_no).join(Meter, Meter.id == EngineeringToken.meter_id), actor
    )
    if meter_id is not None:
        await scoped_meter(session, actor, meter_id)
        query = query.where(EngineeringToken.meter_id == meter_id)
    if status:
        query = query.where(EngineeringToken.status == status)
    if function:
        query = query.where(EngineeringToken.function == function)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(
            query.order_by(EngineeringToken.created_at.desc(), EngineeringToken.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    from_ids = {r.from_meter_id for r, _ in rows if r.from_meter_id is not None}
    numbers: dict[int, str] = {}
    if from_ids:
        numbers = {
            i: n
            for i, n in (
                await session.execute(select(Meter.id, Meter.meter_no).where(Meter.id.in_(from_ids)))
            ).all()
        }
    return [(r, no, numbers.get(r.from_meter_id) if r.from_meter_id else None) for r, no in rows], int(total)


async def get_request(
    session: AsyncSession, actor: Actor, token_id: int
) -> tuple[EngineeringToken, str, str | None]:
    async with session.begin():
        row = await _scoped_request(session, actor, token_id, lock=False)
        meter_no = await keys.meter_number(session, row.meter_id)
        from_no = await keys.meter_number(session, row.from_meter_id) if row.from_meter_id else None
    return row, meter_no, from_no


async def meter_id_by_number(session: AsyncSession, actor: Actor, meter_number: str) -> int:
    """The id of a meter in scope by its number (NotFound otherwise)."""
    digits = normalise_meter_number(meter_number)
    found = (
        await session.execute(scope_meters(select(Meter.id).where(Meter.meter_no == digits), actor))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"No meter numbered {meter_number} in your area.")
    return int(found)


# -- key change tokens on demand ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnDemand:
    row: EngineeringToken
    meter_no: str
    replayed: bool


async def key_change_on_demand(
    session: AsyncSession,
    engine: TokenEngine,
    actor: Actor,
    client_ref: str,
    meter_number: str,
) -> OnDemand:
    """Hand out the meter's pending key change tokens now (not with a purchase) and mark it issued.

    Idempotent on (caller, ``client_ref``): the tokens are stored, and the same id returns them again.
    The same id for another meter is a 409. NotFound when nothing is pending for the meter. Like a
    purchase, the meter is found by its number (any caller allowed to vend may ask).
    """
    digits = normalise_meter_number(meter_number)
    key = f"{actor_key(actor)}|{client_ref}"

    async def replay() -> OnDemand | None:
        found = (
            await session.execute(select(EngineeringToken).where(EngineeringToken.request_key == key))
        ).scalar_one_or_none()
        if found is None:
            return None
        number = await keys.meter_number(session, found.meter_id)
        if number != digits:
            raise Conflict(
                f"Key change request id {client_ref} was already used for meter {number}. "
                "Use a new id for another meter.",
                code="reference_reused",
            )
        return OnDemand(found, number, True)

    async with session.begin():
        done = await replay()
        if done:
            return done
    try:
        async with session.begin():
            meter = (
                await session.execute(select(Meter).where(Meter.meter_no == digits).with_for_update())
            ).scalar_one_or_none()
            if meter is None:
                raise NotFound(f"No meter numbered {meter_number} is registered.")
            done = await replay()
            if done:
                return done
            _require_sts(meter)
            if await keys.pending_change(session, meter.id) is None:
                raise NotFound(
                    f"Nothing pending: meter {meter.meter_no} has no key change waiting to be issued."
                )
            made = await _key_change_first(session, engine, actor, meter)
            row = EngineeringToken(
                meter_id=meter.id,
                function=KEY_CHANGE,
                status="issued",
                reason="Key change tokens on demand",
                requested_by=actor.name,
                requester_key=actor_key(actor),
                request_key=key,
                tokens=json.dumps([token_dict(t) for t in made]),
                org_unit_id=meter.org_unit_id,
            )
            session.add(row)
            await session.flush()
            await audit.record(
                session,
                actor,
                "engineering_token.key_change_on_demand",
                entity_type="engineering_token",
                entity_id=row.id,
                detail={
                    "meter_id": meter.id,
                    "meter_no": meter.meter_no,
                    "ref": client_ref,
                    "tokens": len(made),
                },
                org_unit_id=meter.org_unit_id,
            )
            return OnDemand(row, meter.meter_no, False)
    except IntegrityError:
        async with session.begin():
            done = await replay()
            if done is None:
                raise
            return done
