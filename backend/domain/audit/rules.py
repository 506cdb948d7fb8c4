"""Hash-chain arithmetic of the audit log (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

GENESIS_HASH = "0" * 64


def canonical_detail(detail: Mapping[str, Any]) -> str:
    """Stable JSON text for a detail mapping (sorted keys, no whitespace, non-JSON values as text)."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ChainRecord:
    seq: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    actor_name: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    org_unit_id: int | None
    ip: str | None
    request_id: str | None
    detail: str
    prev_hash: str
    hash: str


def chain_tail(
    *,
    at: datetime,
    actor_kind: str,
    actor_id: int | None,
    actor_name: str | None,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    org_unit_id: int | None,
    ip: str | None,
    request_id: str | None,
    detail: str,
) -> str:
    """What an event's hash covers after its seq: the hash is SHA-256 over
    ``prev_hash + "|[" + str(seq) + "," + tail``, which the database computes when it gives the event
    its seq (``backend.domain.audit.service``). The same text as the JSON array of seq and these fields."""
    # Microsecond precision in UTC, the same text whatever database stored the timestamp.
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [stamp, actor_kind, actor_id, actor_name, action, entity_type, entity_id, org_unit_id]
    fields += [ip, request_id, detail]
    # msgspec writes text, integers and nulls exactly as json.dumps(separators=(",", ":"),
    # ensure_ascii=False) does (the chain's text since the start), at a fraction of the cost.
    return msgspec.json.encode(fields)[1:].decode()


def link_hash(prev_hash: str, seq: int, tail: str) -> str:
    """An event's hash: SHA-256 over the previous hash, its seq and its :func:`chain_tail`."""
    return hashlib.sha256(f"{prev_hash}|[{seq},{tail}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    problem: str


def verify_chain(records: Iterable[ChainRecord], head_seq: int, head_hash: str) -> list[ChainProblem]:
    """Check every link; report changed rows, missing sequence numbers and a truncated tail."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev = GENESIS_HASH
    last_hash = GENESIS_HASH
    last_seq = 0
    for rec in records:
        if rec.seq != expected_seq:
            problems.append(
                ChainProblem(expected_seq, f"rows {expected_seq}..{rec.seq - 1} are missing (deleted)")
            )
        if rec.prev_hash != prev:
            problems.append(ChainProblem(rec.seq, "link to the previous row is broken"))
        tail = chain_tail(
            at=rec.at,
            actor_kind=rec.actor_kind,
            actor_id=rec.actor_id,
            actor_name=rec.actor_name,
            action=rec.action,
            entity_type=rec.entity_type,
            entity_id=rec.entity_id,
            org_unit_id=rec.org_unit_id,
            ip=rec.ip,
            request_id=rec.request_id,
            detail=rec.detail,
        )
        recomputed = link_hash(rec.prev_hash, rec.seq, tail)
        if recomputed != rec.hash:
            problems.append(ChainProblem(rec.seq, "content was changed after it was written"))
        prev = rec.hash
        last_hash = rec.hash
        last_seq = rec.seq
        expected_seq = rec.seq + 1
    if head_seq != last_seq or head_hash != last_hash:
        problems.append(
            ChainProblem(last_seq + 1, f"the chain ends at row {last_seq} but its head says row {head_seq}")
        )
    return problems
