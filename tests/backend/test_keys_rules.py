"""Pure rules of the keys context (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.keys.rules import (
    KeyChangeRequest,
    MeterKeyData,
    key_material_problem,
    next_tid,
    parse_key_hex,
    plan_key_change,
    tid_at,
)

CURRENT = MeterKeyData(
    iin="600727",
    drn="04000000013",
    sgc=123456,
    ti=1,
    krn=1,
    kt=2,
    ea="07",
    dkga="02",
    base_date=1993,
    ken=255,
)


@given(st.lists(st.integers(min_value=0, max_value=2**23), min_size=1, max_size=50))
def test_next_tid_strictly_increases_and_never_lags_the_clock(clock: list[int]) -> None:
    last: int | None = None
    for now in sorted(clock):
        tid = next_tid(last, now)
        assert tid >= now
        assert last is None or tid > last
        last = tid


def test_next_tid_refuses_to_overflow_24_bits() -> None:
    assert next_tid(None, 5) == 5 and next_tid(9, 5) == 10
    with pytest.raises(ValueError, match="rollover"):
        next_tid(0xFFFFFF, 0)


@given(st.datetimes(min_value=datetime(2014, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_tid_at_counts_minutes_since_the_base_date(moment: datetime) -> None:
    tid = tid_at(moment, 2014)
    start = datetime(2014, 1, 1, tzinfo=UTC)
    assert start + timedelta(minutes=tid) <= moment < start + timedelta(minutes=tid + 1)


def test_tid_at_base_1993_ends_in_2024() -> None:
    with pytest.raises(ValueError, match="later base date"):
        tid_at(datetime(2025, 1, 1, tzinfo=UTC), 1993)


@given(st.binary(min_size=0, max_size=30), st.sampled_from(["02", "04"]))
def test_key_material_problem_checks_length_per_dkga(material: bytes, dkga: str) -> None:
    problem = key_material_problem(material, dkga)
    want = 8 if dkga == "02" else 20
    if len(material) != want:
        assert problem is not None and f"{want} bytes" in problem
    elif len(set(material)) > 1:
        assert problem is None


def test_parse_key_hex_never_echoes_its_input() -> None:
    assert parse_key_hex(" 0x0a:bc 12de f3456789\n") == bytes.fromhex("0abc12def3456789")
    with pytest.raises(ValueError) as info:
        parse_key_hex("zz0123456789abcd")
    assert "zz01" not in str(info.value)


@given(
    sgc=st.none() | st.integers(0, 999999),
    ti=st.none() | st.integers(0, 99),
    krn=st.none() | st.integers(1, 9),
    base_date=st.none() | st.sampled_from([1993, 2014, 2035]),
    ken=st.none() | st.integers(0, 255),
)
def test_plan_key_change_keeps_unset_values_and_sets_ro_exactly_on_a_base_date_move(
    sgc: int | None, ti: int | None, krn: int | None, base_date: int | None, ken: int | None
) -> None:
    request = KeyChangeRequest(sgc=sgc, ti=ti, krn=krn, base_date=base_date, ken=ken)
    expected = replace(
        CURRENT,
        sgc=CURRENT.sgc if sgc is None else sgc,
        ti=CURRENT.ti if ti is None else ti,
        krn=CURRENT.krn if krn is None else krn,
        base_date=CURRENT.base_date if base_date is None else base_date,
        ken=CURRENT.ken if ken is None else ken,
    )
    if expected == CURRENT or expected.base_date == 2035:
        with pytest.raises(ValueError):
            plan_key_change(CURRENT, request)
        return
    new, ro = plan_key_change(CURRENT, request)
    assert new == expected and ro == (new.base_date != CURRENT.base_date)


def test_plan_key_change_refusals() -> None:
    with pytest.raises(ValueError, match="Nothing changes"):
        plan_key_change(CURRENT, KeyChangeRequest(krn=1))
    later = replace(CURRENT, base_date=2014)
    with pytest.raises(ValueError, match="cannot go back"):
        plan_key_change(later, KeyChangeRequest(base_date=1993))
    with pytest.raises(ValueError, match="give that base date"):
        plan_key_change(CURRENT, KeyChangeRequest(krn=2, rollover=True))
    with pytest.raises(ValueError, match="DITK"):
        plan_key_change(CURRENT, KeyChangeRequest(kt=0))
    new, ro = plan_key_change(CURRENT, KeyChangeRequest(krn=2, base_date=2014, rollover=True))
    assert ro and new.krn == 2 and new.base_date == 2014
