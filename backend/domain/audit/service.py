"""Writing and checking the audit log. ``record`` runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.batch import WriteBatch
from backend.db.prepared import Prepared, detached
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit.models import AuditEvent, AuditHead
from backend.domain.audit.rules import (
    GENESIS_HASH,
    ChainProblem,
    ChainRecord,
    canonical_detail,
    chain_hash,
    verify_chain,
)
from backend.domain.org.models import OrgUnit

_HEAD_ID = 1
# The chain head (seq, hash), locked: every audited change reads it (prepared once, see
# backend.db.prepared). Public for callers that run it with other statements; a missing head, before
# the first event, is created by lock_head.
LOCK_HEAD = Prepared(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == _HEAD_ID).with_for_update())


@dataclass(frozen=True, slots=True)
class LockedHead:
    """The chain head, locked by the caller's transaction until it commits: the next event follows it."""

    seq: int
    hash: str


async def lock_head(session: AsyncSession) -> LockedHead:
    """Lock the chain's head row for :func:`add_event` (created on first use; two first writers cannot
    both create it). Take it as late as the transaction allows: every audited change waits for it."""
    head = await LOCK_HEAD.first(session)
    if head is None:
        insert_ = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert_(AuditHead).values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH).on_conflict_do_nothing()
        )
        head = await LOCK_HEAD.one(session)
    return head_of(head)


def with_locked_head(query: Select[Any]) -> Select[Any]:
    """``query`` with the chain head's seq and hash as its last two columns and the head row locked, to
    lock it in a statement the caller runs anyway (on PostgreSQL). No row comes back while the head
    does not exist yet: the caller then uses :func:`lock_head`, which creates it."""
    return (
        query.add_columns(AuditHead.seq, AuditHead.hash)
        .where(AuditHead.id == _HEAD_ID)
        .with_for_update(of=AuditHead)
    )


def head_of(row: Sequence[Any]) -> LockedHead:
    """The head from a row of :func:`with_locked_head`."""
    return LockedHead(int(row[-2]), str(row[-1]))


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    detail: Mapping[str, Any] | None = None,
    org_unit_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (it commits or rolls back with it).

    Returns the event as written (a detached instance)."""
    head = await lock_head(session)
    batch = WriteBatch()
    event = add_event(
        batch,
        head,
        actor,
        action,
        entity_type=entity_type,
        entity_id=entity_id,
        detail=detail,
        org_unit_id=org_unit_id,
    )
    await batch.flush(session)  # one statement on PostgreSQL
    return event


def add_event(
    batch: WriteBatch,
    head: LockedHead,
    actor: Actor,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    detail: Mapping[str, Any] | None = None,
    org_unit_id: int | None = None,
) -> AuditEvent:
    """As :func:`record`, with the head already locked and the writes (the event, the head) added to
    ``batch``, which the caller flushes in the same transaction."""
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": utcnow(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "org_unit_id": org_unit_id if org_unit_id is not None else actor.org_unit_id,
        "ip": actor.ip,
        "request_id": actor.request_id,
        "detail": canonical_detail(detail or {}),
    }
    row = {**fields, "prev_hash": head.hash, "hash": chain_hash(head.hash, **fields)}
    batch.insert(AuditEvent, [row])
    batch.update(AuditHead, where={"id": _HEAD_ID}, values={"seq": row["seq"], "hash": row["hash"]})
    return detached(AuditEvent, row)


async def _records(session: AsyncSession, batch: int = 1000) -> AsyncIterator[ChainRecord]:
    last = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield ChainRecord(
                seq=row.seq,
                at=row.at,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                actor_name=row.actor_name,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                org_unit_id=row.org_unit_id,
                ip=row.ip,
                request_id=row.request_id,
                detail=row.detail,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        last = rows[-1].seq


async def verify(session: AsyncSession) -> tuple[int, list[ChainProblem]]:
    """Return (rows checked, problems found)."""
    head = (await session.execute(select(AuditHead).where(AuditHead.id == _HEAD_ID))).scalar_one_or_none()
    head_seq, head_hash = (0, GENESIS_HASH) if head is None else (head.seq, head.hash)
    records = [r async for r in _records(session)]
    return len(records), verify_chain(records, head_seq, head_hash)


async def list_events(
    session: AsyncSession, actor: Actor, *, limit: int, offset: int, action: str | None = None
) -> tuple[list[AuditEvent], int]:
    """Events newest first; an actor below the utility level sees only events of its part of the tree."""
    query = select(AuditEvent)
    if actor.org_path is None:
        query = query.where(AuditEvent.seq < 0)
    elif actor.org_path.count("/") > 2:
        scoped = select(OrgUnit.id).where(OrgUnit.path.startswith(actor.org_path))
        query = query.where(AuditEvent.org_unit_id.in_(scoped))
    if action:
        query = query.where(AuditEvent.action == action)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        (await session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return list(rows), int(total)
