"""Liveness and readiness: the database answers and its schema is at the migration head."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from backend.db.migrate import current_revision, head_revision
from backend.http.security import PUBLIC


class HealthOut(msgspec.Struct, kw_only=True):
    status: str
    database: str
    migration: str | None
    migration_head: str


@get(
    "/api/v1/health",
    opt=PUBLIC,
    operation_id="health",
    tags=["system"],
    summary="Database reachable and migrated to head (503 otherwise)",
)
async def health(state: State) -> Response[HealthOut]:
    head = head_revision()
    try:
        current = await current_revision(state.engine)
        database = "ok"
    except Exception:
        current, database = None, "unreachable"
    ok = database == "ok" and current == head
    body = HealthOut(
        status="ok" if ok else "degraded", database=database, migration=current, migration_head=head
    )
    return Response(body, status_code=200 if ok else 503)
