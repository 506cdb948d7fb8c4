"""Engineering tokens (with a second person's approval where needed), key change tokens on demand, key
change campaigns, token diagnosis and a meter's token history."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from backend.domain.auth.rules import Role
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.vending import campaigns, diagnosis, engineering
from backend.domain.vending.models import EngineeringToken
from backend.domain.vending.rules import group_token
from backend.domain.vending.schemas import (
    CampaignFailure,
    CampaignFilterIn,
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignTargetIn,
    DiagnosisIn,
    DiagnosisOut,
    EngineeringFunction,
    EngineeringTokenIn,
    EngineeringTokenList,
    EngineeringTokenOut,
    IssuedTokenOut,
    KeyChangeOnDemandIn,
    KeyChangeOnDemandOut,
    Reference,
    RejectIn,
    TokenHistory,
    TokenHistoryItem,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset, keystore
from backend.http.problems import problem_responses
from backend.http.security import allow

BaseDate = Literal[1993, 2014, 2035]
ENGINEERS = (Role.ENGINEER, Role.ADMIN)
APPROVERS = (Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN)
READERS = (Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
ON_DEMAND = (Role.API_CLIENT, Role.AGENT, Role.CASHIER, Role.SUPERVISOR, Role.ENGINEER)
DIAGNOSERS = (Role.CASHIER, Role.SUPERVISOR, Role.ENGINEER, Role.ADMIN, Role.AUDITOR)


def _tokens(raw: list[dict[str, object]]) -> list[IssuedTokenOut]:
    return [
        IssuedTokenOut(
            kind=str(t["kind"]),
            token=str(t["token"]),
            display=group_token(str(t["token"])),
            subclass=int(str(t["subclass"])),
            tid=None if t.get("tid") is None else int(str(t["tid"])),
            units_wh=int(str(t.get("units_wh") or 0)),
            description=str(t.get("description") or ""),
        )
        for t in raw
    ]


def _out(row: EngineeringToken, meter_no: str, from_no: str | None) -> EngineeringTokenOut:
    return EngineeringTokenOut(
        id=row.id,
        meter_id=row.meter_id,
        meter_number=meter_no,
        function=row.function,
        function_label=engineering.label(row.function),
        value=row.value,
        units_wh=row.units_wh,
        from_meter_number=from_no,
        status=row.status,
        reason=row.reason,
        requested_by=row.requested_by,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        tokens=_tokens(engineering.tokens_of(row)),
        ledger_note="No money moves: nothing is posted to the ledger; the energy is recorded."
        if row.units_wh
        else None,
    )


class EngineeringTokenController(Controller):
    path = "/api/v1"
    tags = ["engineering"]

    @post(
        "/meters/{meter_id:int}/engineering-tokens",
        opt=allow(*ENGINEERS),
        operation_id="requestEngineeringToken",
        status_code=201,
        responses=problem_responses(404, 409, 422),
        summary="Ask for an engineering token for a meter",
        description=(
            "Set maximum power limit, clear tamper, set maximum phase power unbalance limit and test tokens "
            "are issued at once. Clear credit, free issue and credit transfer wait for a second person "
            "(`status: pending_approval`). Free issue and credit transfer post nothing to the ledger."
        ),
    )
    async def request_token(
        self,
        db: Db,
        state: State,
        actor: CurrentActor,
        meter_id: FromPath[int],
        data: JSONBody[EngineeringTokenIn],
    ) -> EngineeringTokenOut:
        from_meter_id = None
        if data.from_meter_number:
            async with db.begin():
                from_meter_id = await engineering.meter_id_by_number(db, actor, data.from_meter_number)
        engine = SoftwareTokenEngine.for_session(db, keystore(state))
        row = await engineering.request(
            db,
            engine,
            actor,
            meter_id,
            engineering.EngineeringRequest(
                function=data.function,
                reason=data.reason,
                value=data.value,
                units_wh=data.units_wh,
                mfr_code=data.mfr_code,
                from_meter_id=from_meter_id,
            ),
        )
        return _out(*await engineering.get_request(db, actor, row.id))

    @get(
        "/meters/{meter_id:int}/engineering-tokens",
        opt=allow(*READERS),
        operation_id="listMeterEngineeringTokens",
        responses=problem_responses(404),
        summary="A meter's engineering token requests, newest first",
    )
    async def list_for_meter(
        self,
        db: Db,
        actor: CurrentActor,
        meter_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> EngineeringTokenList:
        async with db.begin():
            rows, total = await engineering.list_requests(
                db, actor, meter_id=meter_id, limit=limit, offset=offset
            )
        return EngineeringTokenList(items=[_out(*r) for r in rows], total=total)

    @get(
        "/engineering-tokens",
        opt=allow(*READERS),
        operation_id="listEngineeringTokens",
        summary="Engineering token requests in your area (e.g. status=pending_approval)",
    )
    async def list_all(
        self,
        db: Db,
        actor: CurrentActor,
        status: FromQuery[Literal["pending_approval", "issued", "rejected"] | None] = None,
        function: FromQuery[EngineeringFunction | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> EngineeringTokenList:
        async with db.begin():
            rows, total = await engineering.list_requests(
                db, actor, status=status, function=function, limit=limit, offset=offset
            )
        return EngineeringTokenList(items=[_out(*r) for r in rows], total=total)

    @post(
        "/engineering-tokens/{token_id:int}/approve",
        opt=allow(*APPROVERS),
        operation_id="approveEngineeringToken",
        status_code=200,
        responses=problem_responses(403, 404, 409, 422),
        summary="Approve a pending request (not your own): the token is made now",
    )
    async def approve(
        self, db: Db, state: State, actor: CurrentActor, token_id: FromPath[int]
    ) -> EngineeringTokenOut:
        engine = SoftwareTokenEngine.for_session(db, keystore(state))
        row = await engineering.approve(db, engine, actor, token_id)
        return _out(*await engineering.get_request(db, actor, row.id))

    @post(
        "/engineering-tokens/{token_id:int}/reject",
        opt=allow(*APPROVERS),
        operation_id="rejectEngineeringToken",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Reject a pending request: no token is made",
    )
    async def reject(
        self, db: Db, actor: CurrentActor, token_id: FromPath[int], data: JSONBody[RejectIn]
    ) -> EngineeringTokenOut:
        row = await engineering.reject(db, actor, token_id, reason=data.reason)
        return _out(*await engineering.get_request(db, actor, row.id))

    @post(
        "/key-changes/{request_id:str}",
        opt=allow(*ON_DEMAND),
        operation_id="issueKeyChangeTokens",
        status_code=201,
        responses=problem_responses(404, 409),
        summary="Key change tokens on demand: the meter's pending key change, issued now",
        description=(
            "`request_id` is the caller's own id for this call: sending it again returns the same tokens. "
            "404 when the meter has no key change waiting."
        ),
    )
    async def key_change_on_demand(
        self,
        db: Db,
        state: State,
        actor: CurrentActor,
        request_id: Reference,
        data: JSONBody[KeyChangeOnDemandIn],
    ) -> Response[KeyChangeOnDemandOut]:
        engine = SoftwareTokenEngine.for_session(db, keystore(state))
        done = await engineering.key_change_on_demand(db, engine, actor, request_id, data.meter_number)
        body = KeyChangeOnDemandOut(
            id=request_id,
            meter_number=done.meter_no,
            tokens=_tokens(engineering.tokens_of(done.row)),
            issued_at=done.row.created_at,
            replayed=done.replayed,
        )
        return Response(body, status_code=200 if done.replayed else 201)

    @post(
        "/meters/{meter_id:int}/token-diagnosis",
        opt=allow(*DIAGNOSERS),
        operation_id="diagnoseToken",
        status_code=200,
        responses=problem_responses(404, 422),
        summary="Why does the meter reject this token? An explanation in plain words",
    )
    async def diagnose(
        self,
        db: Db,
        state: State,
        actor: CurrentActor,
        meter_id: FromPath[int],
        data: JSONBody[DiagnosisIn],
    ) -> DiagnosisOut:
        engine = SoftwareTokenEngine.for_session(db, keystore(state))
        d = await diagnosis.diagnose(db, engine, actor, meter_id, data.token, state.settings.zone)
        return DiagnosisOut(
            verdict=d.verdict,  # type: ignore[arg-type]
            title=d.title,
            explanation=d.explanation,
            token=d.token,
            digit_position=d.digit_position,
            expected_token=d.expected_token,
            other_meter_number=d.other_meter_no,
            token_class=d.token_class,
            subclass=d.subclass,
            meaning=d.meaning,
            tid=d.tid,
            tid_time=d.tid_time,
            units_wh=d.units_wh,
            value=d.value,
            newer_tokens=d.newer_tokens,
            issued_reference=d.issued.reference if d.issued else None,
            issued_at=d.issued.issued_at if d.issued else None,
            key_change_tokens=d.key_change_tokens,
        )

    @get(
        "/meters/{meter_id:int}/tokens",
        opt=allow(*DIAGNOSERS),
        operation_id="meterTokenHistory",
        responses=problem_responses(404),
        summary="A meter's tokens (sales and engineering), newest first",
    )
    async def history(
        self,
        db: Db,
        actor: CurrentActor,
        meter_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> TokenHistory:
        items, total = await diagnosis.token_history(db, actor, meter_id, limit=limit, offset=offset)
        return TokenHistory(
            items=[
                TokenHistoryItem(
                    source=t.source,
                    reference=t.reference,
                    issued_at=t.issued_at,
                    kind=t.kind,
                    token=t.token,
                    display=group_token(t.token),
                    subclass=t.subclass,
                    tid=t.tid,
                    units_wh=t.units_wh,
                    description=t.description,
                )
                for t in items
            ],
            total=total,
        )


def _base(value: int | None) -> BaseDate | None:
    if value == 1993:
        return 1993
    if value == 2014:
        return 2014
    if value == 2035:
        return 2035
    return None


def _campaign(p: campaigns.Progress) -> CampaignOut:
    c = p.campaign
    return CampaignOut(
        id=c.id,
        name=c.name,
        status=p.status,
        filter=CampaignFilterIn(sgc=c.filter_sgc, krn=c.filter_krn, base_date=_base(c.filter_base_date)),
        new=CampaignTargetIn(
            sgc=c.new_sgc, krn=c.new_krn, ti=c.new_ti, base_date=_base(c.new_base_date), ken=c.new_ken
        ),
        meters_total=c.meters_total,
        pending=p.pending,
        issued=p.issued,
        cancelled=p.cancelled,
        skipped=c.meters_skipped,
        failed=c.meters_failed,
        failures=[
            CampaignFailure(meter_id=f["meter_id"], meter_number=f["meter_no"], problem=f["problem"])
            for f in p.failures
        ],
        created_by=c.created_by,
        created_at=c.created_at,
    )


class KeyChangeCampaignController(Controller):
    path = "/api/v1/key-change-campaigns"
    tags = ["engineering"]

    @post(
        "/",
        opt=allow(*ENGINEERS),
        operation_id="createKeyChangeCampaign",
        status_code=201,
        responses=problem_responses(422),
        summary="Schedule a key change for every matching meter in your area",
        description=(
            "Each matching installed STS meter gets a pending key change; its tokens go out with the meter's "
            "next purchase. Meters with a pending change already are skipped; meters the key change rules "
            "refuse are listed in `failures`."
        ),
    )
    async def create(self, db: Db, actor: CurrentActor, data: JSONBody[CampaignIn]) -> CampaignOut:
        progress = await campaigns.create(
            db,
            actor,
            data.name,
            campaigns.CampaignFilter(
                sgc=data.filter.sgc, krn=data.filter.krn, base_date=data.filter.base_date
            ),
            campaigns.CampaignTarget(
                sgc=data.new.sgc,
                krn=data.new.krn,
                ti=data.new.ti,
                base_date=data.new.base_date,
                ken=data.new.ken,
            ),
        )
        return _campaign(progress)

    @get(
        "/",
        opt=allow(*READERS),
        operation_id="listKeyChangeCampaigns",
        summary="Key change campaigns with their progress",
    )
    async def list_campaigns(
        self,
        db: Db,
        actor: CurrentActor,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CampaignList:
        items, total = await campaigns.list_campaigns(db, actor, limit=limit, offset=offset)
        return CampaignList(items=[_campaign(p) for p in items], total=total)

    @get(
        "/{campaign_id:int}",
        opt=allow(*READERS),
        operation_id="getKeyChangeCampaign",
        responses=problem_responses(404),
        summary="A campaign's progress: meters total, pending, issued, cancelled, skipped, failed",
    )
    async def get_campaign(self, db: Db, actor: CurrentActor, campaign_id: FromPath[int]) -> CampaignOut:
        return _campaign(await campaigns.get(db, actor, campaign_id))

    @post(
        "/{campaign_id:int}/cancel",
        opt=allow(*ENGINEERS),
        operation_id="cancelKeyChangeCampaign",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Cancel a campaign: its still-pending key changes are cancelled",
    )
    async def cancel(self, db: Db, actor: CurrentActor, campaign_id: FromPath[int]) -> CampaignOut:
        return _campaign(await campaigns.cancel(db, actor, campaign_id))


__all__ = ["EngineeringTokenController", "KeyChangeCampaignController"]
