"""API shapes of the audit context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditEventOut(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor: str | None
    actor_kind: str
    action: str
    entity: str | None
    detail: dict[str, Any]


class AuditEventList(msgspec.Struct, kw_only=True):
    items: list[AuditEventOut]
    total: int


class ChainProblemOut(msgspec.Struct, kw_only=True):
    seq: int
    problem: str


class AuditVerifyOut(msgspec.Struct, kw_only=True):
    ok: bool
    rows_checked: int
    problems: list[ChainProblemOut]
