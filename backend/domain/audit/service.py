"""Writing and checking the audit log. ``record`` runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.db.batch import Bind, Columns, Copied, WriteBatch
from backend.db.prepared import Executor, detached
from backend.db.sql_functions import sha256_hex
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.audit.models import AuditEvent, AuditHead
from backend.domain.audit.rules import (
    GENESIS_HASH,
    ChainProblem,
    ChainRecord,
    canonical_detail,
    chain_tail,
    verify_chain,
)
from backend.domain.org.models import OrgUnit

_HEAD_ID = 1


def head_present() -> ColumnElement[bool]:
    """A select-list expression: whether the chain's head row exists (the migrations create it). A
    write batch that cannot fall back on :func:`written` creating it, because it commits on its own,
    reads this first."""
    return select(AuditHead.id).where(AuditHead.id == _HEAD_ID).exists()


# The head's update computes the next link from the head's current row, so the head is locked only
# from that statement to the commit (module-level: part of the write batch's compiled shape).
def _next_seq(head: Columns, bind: Bind) -> ColumnElement[Any]:
    return head.seq + 1


def _next_hash(head: Columns, bind: Bind) -> ColumnElement[Any]:
    # rules.link_hash, in SQL: sha256(prev_hash + "|[" + str(seq) + "," + tail)
    text = head.hash + literal("|[") + cast(head.seq + 1, Text) + literal(",") + bind("tail", Text())
    return sha256_hex(text)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event added to a write batch: its chain link (seq, previous hash, hash) comes back from the
    batch's flush (see :func:`written`)."""

    head_part: int
    fields: Mapping[str, Any]
    tail: str


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
    batch = WriteBatch()
    pending = add_event(
        batch,
        actor,
        action,
        entity_type=entity_type,
        entity_id=entity_id,
        detail=detail,
        org_unit_id=org_unit_id,
    )
    return await written(session, pending, await batch.flush(session))  # one statement on PostgreSQL


def add_event(
    batch: WriteBatch,
    actor: Actor,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    detail: Mapping[str, Any] | None = None,
    org_unit_id: int | None = None,
) -> PendingEvent:
    """As :func:`record`, with the writes added to ``batch``: the chain head moves to the next seq
    and hash (computed by the database from the head's current row, which the update locks until the
    caller commits) and the event is written with them. After the flush, :func:`written` gives the
    event. One event per batch: the head is one row."""
    fields: dict[str, Any] = {
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
    tail = chain_tail(**fields)
    return PendingEvent(_add_link(batch, fields, tail), fields, tail)


def _add_link(batch: WriteBatch, fields: Mapping[str, Any], tail: str) -> int:
    head = batch.update(
        AuditHead,
        where={"id": _HEAD_ID},
        computed={"seq": _next_seq, "prev_hash": Copied("hash"), "hash": _next_hash},
        computed_params={"tail": tail},
        returning=("seq", "prev_hash", "hash"),
    )
    batch.insert(
        AuditEvent,
        [fields],
        source=head,
        computed={"seq": Copied("seq"), "prev_hash": Copied("prev_hash"), "hash": Copied("hash")},
    )
    return head


async def written(
    executor: Executor, pending: PendingEvent, results: Mapping[int, tuple[Any, ...] | None]
) -> AuditEvent:
    """The event of :func:`add_event` as written by the flush whose ``results`` are given (a detached
    instance). When the chain had no head row (a database whose head was removed: the migrations
    create it), nothing was written: in a session's transaction the head is created and the event
    written now (a caller on a pooled connection checks first that the head is there)."""
    link = results.get(pending.head_part)
    if link is None:
        if not isinstance(executor, AsyncSession):
            raise RuntimeError("The audit chain has no head row; the event was not written.")
        session = executor
        insert_ = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert_(AuditHead)
            .values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH, prev_hash=GENESIS_HASH)
            .on_conflict_do_nothing()
        )
        batch = WriteBatch()
        part = _add_link(batch, pending.fields, pending.tail)
        link = (await batch.flush(session))[part]
        assert link is not None
    seq, prev_hash, hash_ = link
    return detached(AuditEvent, {**pending.fields, "seq": seq, "prev_hash": prev_hash, "hash": hash_})


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
