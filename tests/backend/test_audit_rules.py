"""The audit chain's hashed text (pure): the same whichever encoder writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.audit.rules import chain_tail

texts = st.text().filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
optional_texts = st.none() | texts
optional_ints = st.none() | st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(timezones=st.just(UTC)),
    texts,
    optional_ints,
    optional_texts,
    texts,
    optional_texts,
    optional_texts,
    optional_ints,
    optional_texts,
    optional_texts,
    texts,
)
def test_the_chain_text_is_the_json_array_the_chain_was_started_with(
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
) -> None:
    """Events written before and after a change of encoder must verify alike: the tail is the JSON
    array (compact, UTF-8 kept) of the event's fields after its seq."""
    fields = [at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor_kind, actor_id, actor_name, action]
    fields += [entity_type, entity_id, org_unit_id, ip, request_id, detail]
    expected = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)[1:]
    tail = chain_tail(
        at=at,
        actor_kind=actor_kind,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        org_unit_id=org_unit_id,
        ip=ip,
        request_id=request_id,
        detail=detail,
    )
    assert tail == expected
