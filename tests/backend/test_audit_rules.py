"""The audit chain's hashed text (pure): the same whichever encoder writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.audit.rules import chain_tail

texts = st.text().filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
optional_ints = st.none() | st.integers(-(2**63), 2**63 - 1)

# chain_tail's fields after the moment, in the chain's order, each with the values it may hold
FIELDS = {
    "actor_kind": texts,
    "actor_id": optional_ints,
    "actor_name": st.none() | texts,
    "action": texts,
    "entity_type": st.none() | texts,
    "entity_id": st.none() | texts,
    "org_unit_id": optional_ints,
    "ip": st.none() | texts,
    "request_id": st.none() | texts,
    "detail": texts,
}


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)), st.fixed_dictionaries(FIELDS))
def test_the_chain_text_is_the_json_array_the_chain_was_started_with(
    at: datetime, fields: dict[str, Any]
) -> None:
    """Events written before and after a change of encoder must verify alike: the tail is the JSON
    array (compact, UTF-8 kept) of the event's fields after its seq."""
    values = [at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), *(fields[name] for name in FIELDS)]
    expected = json.dumps(values, separators=(",", ":"), ensure_ascii=False)[1:]
    assert chain_tail(at=at, **fields) == expected
