"""Audit log endpoints (read-only: the log is written only by the actions it records)."""

from __future__ import annotations

import json
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from backend.domain.audit import service
from backend.domain.audit.schemas import AuditEventList, AuditEventOut, AuditVerifyOut, ChainProblemOut
from backend.domain.auth.rules import Role
from backend.http.deps import CurrentActor, Db, Offset
from backend.http.security import allow


class AuditController(Controller):
    path = "/api/v1/audit-events"
    tags = ["audit"]

    @get(
        "/",
        opt=allow(Role.ADMIN, Role.AUDITOR),
        operation_id="listAuditEvents",
        summary="Audit events, newest first",
    )
    async def list_events(
        self,
        db: Db,
        actor: CurrentActor,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
        action: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> AuditEventList:
        rows, total = await service.list_events(db, actor, limit=limit, offset=offset, action=action)
        return AuditEventList(
            items=[
                AuditEventOut(
                    seq=r.seq,
                    at=r.at,
                    actor=r.actor_name,
                    actor_kind=r.actor_kind,
                    action=r.action,
                    entity=f"{r.entity_type}:{r.entity_id}" if r.entity_type else None,
                    detail=json.loads(r.detail),
                )
                for r in rows
            ],
            total=total,
        )

    @get(
        "/verify",
        opt=allow(Role.ADMIN, Role.AUDITOR),
        operation_id="verifyAuditChain",
        summary="Check the hash chain for changed or deleted rows",
    )
    async def verify(self, db: Db) -> AuditVerifyOut:
        checked, problems = await service.verify(db)
        return AuditVerifyOut(
            ok=not problems,
            rows_checked=checked,
            problems=[ChainProblemOut(seq=p.seq, problem=p.problem) for p in problems],
        )
