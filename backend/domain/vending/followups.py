"""Follow-up calls on a sale, each idempotent on the caller's own id: confirmation, reprint, reversal.

An issued credit token cannot be taken back (the meter may already hold it). A reversal request after
issue is therefore refused as such and recorded as a credit-note request; only a supervisor other
than the requester can approve it, which posts a correcting ledger entry that reverses the sale's
posting. Nothing is ever deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.customers.models import Account
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.domain.ledger import service as ledger
from backend.domain.org.models import OrgUnit
from backend.domain.vending.models import Vend, VendRequest, VendToken
from backend.domain.vending.rules import credit_note_lines
from backend.domain.vending.service import client_key_of, tokens_of


@dataclass(slots=True)
class FollowUp:
    request: VendRequest
    vend: Vend
    tokens: list[VendToken]
    replayed: bool


async def _own_vend(session: AsyncSession, actor: Actor, purchase_ref: str) -> Vend:
    vend = (
        await session.execute(
            select(Vend).where(Vend.client_key == client_key_of(actor), Vend.client_ref == purchase_ref)
        )
    ).scalar_one_or_none()
    if vend is None:
        raise NotFound(f"No purchase with reference {purchase_ref} reached us.")
    return vend


async def _existing(session: AsyncSession, actor: Actor, kind: str, ref: str) -> VendRequest | None:
    return (
        await session.execute(
            select(VendRequest).where(
                VendRequest.client_key == client_key_of(actor),
                VendRequest.kind == kind,
                VendRequest.client_ref == ref,
            )
        )
    ).scalar_one_or_none()


async def _replay(session: AsyncSession, existing: VendRequest, vend_id: int | None) -> FollowUp:
    if vend_id is not None and existing.vend_id != vend_id:
        raise Conflict("This id was already used for a call about another purchase; use a new id.")
    vend = await session.get(Vend, existing.vend_id)
    assert vend is not None
    return FollowUp(existing, vend, await tokens_of(session, vend.id), replayed=True)


async def confirm(session: AsyncSession, actor: Actor, purchase_ref: str, confirmation_ref: str) -> FollowUp:
    """The caller confirms it delivered the tokens to the customer."""
    try:
        async with session.begin():
            vend = await _own_vend(session, actor, purchase_ref)
            existing = await _existing(session, actor, "confirmation", confirmation_ref)
            if existing is not None:
                return await _replay(session, existing, vend.id)
            if vend.status != "success":
                raise Conflict("Only a successful purchase can be confirmed.")
            if vend.confirmed_at is None:
                vend.confirmed_at = utcnow()
            request = VendRequest(
                client_key=client_key_of(actor),
                kind="confirmation",
                client_ref=confirmation_ref,
                vend_id=vend.id,
                status="done",
                requested_by=actor.name,
            )
            session.add(request)
            await session.flush()
            return FollowUp(request, vend, await tokens_of(session, vend.id), replayed=False)
    except IntegrityError:
        async with session.begin():
            existing = await _existing(session, actor, "confirmation", confirmation_ref)
            assert existing is not None
            return await _replay(session, existing, None)


async def reprint(
    session: AsyncSession,
    actor: Actor,
    reprint_ref: str,
    *,
    purchase_ref: str | None = None,
    receipt_no: str | None = None,
) -> FollowUp:
    """The same tokens and receipt again (audited). Staff may reprint any receipt by its number."""
    if not purchase_ref and not receipt_no:
        raise InvalidInput("Name the purchase to reprint: its reference or its receipt number.")
    try:
        async with session.begin():
            if receipt_no:
                vend = (
                    await session.execute(select(Vend).where(Vend.receipt_no == receipt_no))
                ).scalar_one_or_none()
                if vend is None:
                    raise NotFound(f"No receipt numbered {receipt_no}.")
                if actor.kind != "user" and vend.client_key != client_key_of(actor):
                    raise NotFound(f"No receipt numbered {receipt_no}.")
            else:
                assert purchase_ref is not None
                vend = await _own_vend(session, actor, purchase_ref)
            existing = await _existing(session, actor, "reprint", reprint_ref)
            if existing is not None:
                return await _replay(session, existing, vend.id)
            if vend.status != "success":
                raise Conflict("A refused purchase has no tokens to reprint.")
            request = VendRequest(
                client_key=client_key_of(actor),
                kind="reprint",
                client_ref=reprint_ref,
                vend_id=vend.id,
                status="done",
                requested_by=actor.name,
            )
            session.add(request)
            await session.flush()
            count = (
                await session.execute(
                    select(func.count())
                    .select_from(VendRequest)
                    .where(VendRequest.vend_id == vend.id, VendRequest.kind == "reprint")
                )
            ).scalar_one()
            await audit.record(
                session,
                actor,
                "vend.reprint",
                entity_type="vend",
                entity_id=vend.id,
                detail={"receipt_no": vend.receipt_no, "reprint": int(count)},
                org_unit_id=actor.org_unit_id,
            )
            return FollowUp(request, vend, await tokens_of(session, vend.id), replayed=False)
    except IntegrityError:
        async with session.begin():
            existing = await _existing(session, actor, "reprint", reprint_ref)
            assert existing is not None
            return await _replay(session, existing, None)


async def request_reversal(
    session: AsyncSession, actor: Actor, purchase_ref: str, reversal_ref: str, reason: str
) -> FollowUp:
    """A reversal after issue is refused as such: it becomes a credit-note request for a supervisor."""
    reason = reason.strip() or "reversal requested by the vendor"
    try:
        async with session.begin():
            vend = await _own_vend(session, actor, purchase_ref)
            existing = await _existing(session, actor, "reversal", reversal_ref)
            if existing is not None:
                return await _replay(session, existing, vend.id)
            if vend.status != "success":
                raise Conflict("A refused purchase took no money; there is nothing to reverse.")
            open_request = (
                await session.execute(
                    select(VendRequest).where(
                        VendRequest.vend_id == vend.id,
                        VendRequest.kind == "reversal",
                        VendRequest.status.in_(("pending_approval", "approved")),
                    )
                )
            ).scalar_one_or_none()
            if open_request is not None:
                raise Conflict(
                    f"A reversal of this purchase is already {open_request.status.replace('_', ' ')}."
                )
            request = VendRequest(
                client_key=client_key_of(actor),
                kind="reversal",
                client_ref=reversal_ref,
                vend_id=vend.id,
                status="pending_approval",
                reason=reason[:400],
                requested_by=actor.name,
            )
            session.add(request)
            await session.flush()
            await audit.record(
                session,
                actor,
                "vend.reversal_requested",
                entity_type="vend",
                entity_id=vend.id,
                detail={"receipt_no": vend.receipt_no, "request_id": request.id, "reason": reason},
            )
            return FollowUp(request, vend, [], replayed=False)
    except IntegrityError:
        async with session.begin():
            existing = await _existing(session, actor, "reversal", reversal_ref)
            assert existing is not None
            return await _replay(session, existing, None)


async def decide_credit_note(
    session: AsyncSession, actor: Actor, request_id: int, *, approve: bool
) -> VendRequest:
    """A supervisor (not the requester) approves or rejects a credit-note request."""
    async with session.begin():
        request = (
            await session.execute(select(VendRequest).where(VendRequest.id == request_id).with_for_update())
        ).scalar_one_or_none()
        if request is None or request.kind != "reversal":
            raise NotFound(f"Credit-note request {request_id} does not exist.")
        if request.status != "pending_approval":
            raise Conflict(f"Credit-note request {request_id} is already {request.status.replace('_', ' ')}.")
        if request.client_key == client_key_of(actor):
            raise PermissionDenied("A second person must decide: you asked for this reversal yourself.")
        vend = await session.get(Vend, request.vend_id)
        assert vend is not None and vend.ledger_transaction_id is not None
        if not await _vend_in_scope(session, actor, vend):
            raise NotFound(f"Credit-note request {request_id} does not exist.")
        request.decided_by = actor.name
        request.decided_at = utcnow()
        if approve:
            assert vend.account_id is not None
            account = (
                await session.execute(select(Account).where(Account.id == vend.account_id).with_for_update())
            ).scalar_one()
            lines, refund = credit_note_lines(
                await ledger.lines_of(session, vend.ledger_transaction_id),
                credit_held_minor=account.credit_minor,
            )
            posting = await ledger.post(
                session,
                actor,
                kind="credit_note",
                reference=f"credit_note:{request.id}",
                description=f"Credit note for receipt {vend.receipt_no} (token issued, not taken back); "
                f"refund {refund} {vend.currency} minor units",
                lines=lines,
                org_unit_id=vend.org_unit_id,
                reverses_id=vend.ledger_transaction_id,
            )
            request.ledger_transaction_id = posting.id
            request.status = "approved"
        else:
            request.status = "rejected"
        await audit.record(
            session,
            actor,
            f"credit_note.{request.status}",
            entity_type="vend",
            entity_id=vend.id,
            detail={
                "receipt_no": vend.receipt_no,
                "request_id": request.id,
                "requested_by": request.requested_by,
            },
        )
        return request


def _scope_filter(actor: Actor) -> Any:
    """Below the utility level an actor sees only sales made in its part of the organisation."""
    if actor.org_path is None:
        return Vend.id < 0
    if actor.org_path.count("/") <= 2:
        return Vend.id >= 0
    return Vend.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(actor.org_path)))


async def _vend_in_scope(session: AsyncSession, actor: Actor, vend: Vend) -> bool:
    found = await session.execute(select(Vend.id).where(Vend.id == vend.id, _scope_filter(actor)))
    return found.first() is not None


async def pending_credit_notes(
    session: AsyncSession, actor: Actor, *, limit: int, offset: int
) -> tuple[list[tuple[VendRequest, Vend]], int]:
    query = (
        select(VendRequest, Vend)
        .join(Vend, Vend.id == VendRequest.vend_id)
        .where(VendRequest.kind == "reversal", VendRequest.status == "pending_approval", _scope_filter(actor))
    )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(VendRequest.id).limit(limit).offset(offset))).all()
    return [(r, v) for r, v in rows], int(total)
