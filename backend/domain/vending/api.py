"""The vendor API: meter lookups, purchases (idempotent on the caller's reference), trials, retries."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import Body, FromPath, JSONBody

from backend.domain.auth.rules import Role
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.vending import examples as ex
from backend.domain.vending import followups, service
from backend.domain.vending.models import Vend, VendRequest, VendToken
from backend.domain.vending.rules import group_token
from backend.domain.vending.schemas import (
    ConfirmationOut,
    CreditNoteList,
    CreditNoteOut,
    MeterLookupIn,
    MeterLookupOut,
    PurchaseIn,
    PurchaseOut,
    QuoteOut,
    ReceiptLine,
    Reference,
    ReprintIn,
    ReversalIn,
    ReversalOut,
    TokenOutSchema,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset, hot_route_context, keystore
from backend.http.problems import example_response, problem_responses
from backend.http.security import allow

VENDORS = (Role.API_CLIENT, Role.AGENT, Role.CASHIER, Role.SUPERVISOR)
_CHANNEL = {"api_client": "api", "user": "station"}


def _channel(actor_kind: str, roles: frozenset[str]) -> str:
    if Role.AGENT in roles:
        return "agent"
    return _CHANNEL.get(actor_kind, "api")


def _lines(raw: list[dict[str, Any]]) -> list[ReceiptLine]:
    return [
        ReceiptLine(
            kind=r["kind"],
            label=r["label"],
            net_minor=r["net_minor"],
            tax_minor=r["tax_minor"],
            wh=r.get("wh"),
            rate=r.get("rate"),
        )
        for r in raw
    ]


def purchase_out(vend: Vend, tokens: list[VendToken], replayed: bool) -> PurchaseOut:
    receipt = msgspec.json.decode(vend.receipt or "{}")
    return PurchaseOut(
        status="success" if vend.status == "success" else "failed",
        reference=vend.client_ref,
        receipt_number=vend.receipt_no,
        meter_number=vend.meter_no,
        customer_name=receipt.get("customer"),
        account_number=receipt.get("account_no"),
        currency=vend.currency,
        amount=vend.tender_minor,
        payment_method=vend.payment_method,
        operator=vend.operator_name,
        tokens=[
            TokenOutSchema(
                kind=t.kind,
                token=t.token,
                display=group_token(t.token),
                units_wh=t.units_wh,
                tid=t.tid,
                description=t.description,
            )
            for t in tokens
        ],
        lines=_lines(receipt.get("lines", [])),
        energy_wh=vend.energy_wh,
        free_basic_wh=vend.fbe_wh,
        debt_recovered=vend.debt_recovered_minor,
        debt_remaining=receipt.get("debt_remaining_minor"),
        credit_used=vend.credit_used_minor,
        change_kept_as_credit=vend.change_minor,
        failure_code=vend.failure_code,
        failure_detail=vend.failure_detail,
        created_at=vend.created_at,
        replayed=replayed,
    )


def _request(data: PurchaseIn, channel: str) -> service.PurchaseRequest:
    return service.PurchaseRequest(
        meter_number=data.meter_number,
        amount_minor=data.amount,
        currency=data.currency,
        payment_method=data.payment_method,
        payment_reference=data.payment_reference,
        channel=channel,
    )


class VendingController(Controller):
    path = "/api/v1"
    tags = ["vending"]

    @post(
        "/meter-lookups/{lookup_id:str}",
        opt=allow(*VENDORS),
        operation_id="meterLookup",
        status_code=200,
        responses=example_response(
            200, MeterLookupOut, "The customer and whether the meter can buy", ex.LOOKUP_RESPONSE
        ),
        summary="Confirm customer: who a meter belongs to and whether it can buy now",
        description="Safe to repeat: `lookup_id` is the caller's own id for this lookup. Nothing is written.",
    )
    async def meter_lookup(
        self,
        db: Db,
        state: State,
        lookup_id: Reference,
        data: Annotated[MeterLookupIn, Body(examples=[ex.LOOKUP_REQUEST])],
    ) -> MeterLookupOut:
        found = await service.lookup(db, state.settings, data.meter_number)
        return MeterLookupOut(
            meter_number=found.meter_no,
            can_vend=found.can_vend,
            reason=found.reason,
            customer_name=found.customer_name,
            address=found.address,
            account_number=found.account_no,
            tariff=found.tariff_name,
            minimum_amount=found.minimum_minor,
            maximum_amount=found.maximum_minor,
            debt=found.debt_minor,
            credit=found.credit_minor,
            free_basic_due_wh=found.fbe_due_wh,
            key_change_pending=found.key_change_pending,
            currency=state.settings.currency,
        )

    @post(
        "/purchases/{reference:str}",
        opt=allow(*VENDORS),
        operation_id="purchase",
        status_code=201,
        responses={
            **problem_responses(409, 422, 429, 503),
            **example_response(201, PurchaseOut, "The sale (200 when it is a replay)", ex.PURCHASE_RESPONSE),
        },
        summary="Buy electricity: returns the STS tokens and the receipt",
        description=(
            "`reference` is the caller's unique id for this purchase. Sending it again returns the same "
            "tokens and receipt (also after a timeout or a restart) and never sells twice; the same "
            "reference with a different body is a 409. A refused purchase (unknown meter, closed account, "
            "amount outside the tariff's limits) is a 422 with `outcome: failed` and a `code`, and is "
            "also remembered under its reference. A cashier without an open shift is refused with the "
            "code `no_open_shift` (not remembered: open the shift and send the same reference again). "
            "A 503 means nothing was sold (the system was too busy, or the sale met another change of "
            "the same meter or account): send the same reference again."
        ),
    )
    async def purchase(
        self,
        request: Request[Any, Any, Any],
        reference: Reference,
        data: Annotated[PurchaseIn, Body(examples=[ex.PURCHASE_REQUEST])],
    ) -> Response[PurchaseOut]:
        # The busiest route takes no dependency: see backend.http.deps.hot_route_context.
        actor, state = hot_route_context(request)
        async with state.sessionmaker() as db:
            engine = SoftwareTokenEngine.for_session(db, keystore(state))
            outcome = await service.purchase(
                db,
                state.settings,
                engine,
                actor,
                client_ref=reference,
                request=_request(data, _channel(actor.kind, actor.roles)),
                shift_rule=True,
            )
        return _outcome_response(outcome)

    @get(
        "/purchases/{reference:str}",
        opt=allow(*VENDORS),
        operation_id="getPurchase",
        responses=problem_responses(404, 422),
        summary="The outcome of a purchase reference: success (with tokens), failed, or 404 unknown",
    )
    async def get_purchase(self, db: Db, actor: CurrentActor, reference: Reference) -> Response[PurchaseOut]:
        return _outcome_response(await service.find(db, actor, reference))

    @post(
        "/purchases/{reference:str}/retry",
        opt=allow(*VENDORS),
        operation_id="retryPurchase",
        status_code=200,
        responses=problem_responses(404, 422),
        summary="Ask again for a purchase's outcome after a timeout (404: it never reached us)",
    )
    async def retry(self, db: Db, actor: CurrentActor, reference: Reference) -> Response[PurchaseOut]:
        return _outcome_response(await service.find(db, actor, reference))

    @post(
        "/purchases/{reference:str}/trial",
        opt=allow(*VENDORS),
        operation_id="trialPurchase",
        status_code=200,
        responses={
            **problem_responses(422),
            **example_response(200, QuoteOut, "The breakdown; nothing issued", ex.TRIAL_RESPONSE),
        },
        summary="Quote: the full breakdown of a purchase, nothing issued",
    )
    async def trial(
        self,
        db: Db,
        state: State,
        actor: CurrentActor,
        reference: Reference,
        data: Annotated[PurchaseIn, Body(examples=[ex.PURCHASE_REQUEST])],
    ) -> QuoteOut:
        plan = await service.quote(db, state.settings, _request(data, _channel(actor.kind, actor.roles)))
        b = plan.breakdown
        receipt = service.receipt_lines(plan)
        return QuoteOut(
            meter_number=plan.meter.meter_no,
            customer_name=plan.customer.name,
            account_number=plan.account.account_no,
            currency=state.settings.currency,
            amount=data.amount,
            credit_used=plan.credit_used_minor,
            lines=_lines(receipt),
            energy_wh=b.energy_wh,
            free_basic_wh=b.fbe_wh,
            debt_recovered=b.debt_minor,
            change_kept_as_credit=b.change_minor,
        )


_REVERSAL_DETAIL = {
    "pending_approval": "The token was issued and cannot be taken back. The request waits for a supervisor, "
    "who may approve a credit note.",
    "approved": "A supervisor approved a credit note: the sale was corrected by a reversing ledger entry.",
    "rejected": "A supervisor rejected the credit note; the sale stands.",
}


class FollowUpController(Controller):
    path = "/api/v1"
    tags = ["vending"]

    @post(
        "/purchases/{reference:str}/confirmations/{confirmation:str}",
        opt=allow(*VENDORS),
        operation_id="confirmPurchase",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Confirm the tokens reached the customer (idempotent on the confirmation id)",
    )
    async def confirm(
        self, db: Db, actor: CurrentActor, reference: Reference, confirmation: Reference
    ) -> ConfirmationOut:
        done = await followups.confirm(db, actor, reference, confirmation)
        return ConfirmationOut(
            reference=reference,
            confirmation=confirmation,
            status="confirmed",
            confirmed_at=done.vend.confirmed_at,
        )

    @post(
        "/purchases/{reference:str}/reversals/{reversal:str}",
        opt=allow(*VENDORS),
        operation_id="reversePurchase",
        status_code=202,
        responses=problem_responses(404, 409),
        summary="Ask to reverse a purchase: after issue this becomes a credit-note request for a supervisor",
    )
    async def reverse(
        self,
        db: Db,
        actor: CurrentActor,
        reference: Reference,
        reversal: Reference,
        data: JSONBody[ReversalIn],
    ) -> ReversalOut:
        done = await followups.request_reversal(db, actor, reference, reversal, data.reason)
        return ReversalOut(
            reference=reference,
            reversal=reversal,
            status=done.request.status,
            request_id=done.request.id,
            detail=_REVERSAL_DETAIL.get(done.request.status, ""),
        )

    @post(
        "/reprints/{reprint:str}",
        opt=allow(*VENDORS),
        operation_id="reprint",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="The same tokens and receipt again, by purchase reference or receipt number (audited)",
    )
    async def reprint(
        self, db: Db, actor: CurrentActor, reprint: Reference, data: JSONBody[ReprintIn]
    ) -> PurchaseOut:
        done = await followups.reprint(
            db, actor, reprint, purchase_ref=data.purchase_reference, receipt_no=data.receipt_number
        )
        return purchase_out(done.vend, done.tokens, replayed=True)


def _credit_note(request: VendRequest, vend: Vend) -> CreditNoteOut:
    return CreditNoteOut(
        id=request.id,
        status=request.status,
        receipt_number=vend.receipt_no,
        meter_number=vend.meter_no,
        amount=vend.tender_minor,
        currency=vend.currency,
        reason=request.reason,
        requested_by=request.requested_by,
        decided_by=request.decided_by,
        created_at=request.created_at,
    )


class CreditNoteController(Controller):
    path = "/api/v1/credit-notes"
    tags = ["vending"]

    @get(
        "/",
        opt=allow(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR),
        operation_id="listCreditNoteRequests",
        summary="Reversal requests waiting for a supervisor's decision",
    )
    async def pending(
        self,
        db: Db,
        actor: CurrentActor,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CreditNoteList:
        async with db.begin():
            rows, total = await followups.pending_credit_notes(db, actor, limit=limit, offset=offset)
        return CreditNoteList(items=[_credit_note(r, v) for r, v in rows], total=total)

    @post(
        "/{request_id:int}/approve",
        opt=allow(Role.SUPERVISOR, Role.ADMIN),
        operation_id="approveCreditNote",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Approve: post the correcting (reversing) ledger entry; the token stays issued",
    )
    async def approve(self, db: Db, actor: CurrentActor, request_id: FromPath[int]) -> CreditNoteOut:
        request = await followups.decide_credit_note(db, actor, request_id, approve=True)
        async with db.begin():
            vend = await db.get(Vend, request.vend_id)
        assert vend is not None
        return _credit_note(request, vend)

    @post(
        "/{request_id:int}/reject",
        opt=allow(Role.SUPERVISOR, Role.ADMIN),
        operation_id="rejectCreditNote",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Reject: the sale stands",
    )
    async def reject(self, db: Db, actor: CurrentActor, request_id: FromPath[int]) -> CreditNoteOut:
        request = await followups.decide_credit_note(db, actor, request_id, approve=False)
        async with db.begin():
            vend = await db.get(Vend, request.vend_id)
        assert vend is not None
        return _credit_note(request, vend)


def _outcome_response(outcome: service.VendOutcome) -> Response[PurchaseOut]:
    body = purchase_out(outcome.vend, outcome.tokens, outcome.replayed)
    if outcome.vend.status != "success":
        raise service.VendRefused(
            outcome.vend.failure_code or "refused",
            outcome.vend.failure_detail or "The purchase was refused.",
            reference=outcome.vend.client_ref,
        )
    return Response(body, status_code=200 if outcome.replayed else 201)
