"""Pure assets rules: meter numbers (DRN + Luhn), STS configuration, lifecycle and CSV parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sts
from backend.domain.assets import rules
from tests.support.assets import CSV_HEADER, bad_check_digit, csv_line, drn

mfr2 = st.from_regex(r"\A[0-9]{2}\Z")
mfr4 = st.from_regex(r"\A[0-9]{4}\Z")
dsn = st.from_regex(r"\A[0-9]{8}\Z")


@given(mfr=st.one_of(mfr2, mfr4), serial=dsn)
def test_luhn_valid_meter_numbers_are_accepted(mfr: str, serial: str) -> None:
    number = sts.drn_from_parts(mfr, serial)
    iin, parsed = rules.parse_meter_no(number)
    assert parsed == number
    assert iin == ("600727" if len(mfr) == 2 else "0000")
    pan = rules.pan_for(iin, parsed)
    assert len(pan) == 18 and pan.startswith(iin + number)


@given(mfr=st.one_of(mfr2, mfr4), serial=dsn, data=st.data())
def test_every_single_digit_corruption_is_refused(mfr: str, serial: str, data: st.DataObject) -> None:
    number = sts.drn_from_parts(mfr, serial)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(rules.MeterNumberProblem, match="wrong check digit: expected"):
        rules.parse_meter_no(corrupted)


def test_check_digit_message_names_the_expected_digit() -> None:
    good = drn(12345678, "01")
    bad = bad_check_digit(good)
    with pytest.raises(rules.MeterNumberProblem) as err:
        rules.parse_meter_no(bad)
    assert str(err.value) == (
        f"Meter number {bad} has a wrong check digit: expected {good[-1]}. Check the number on the meter."
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Enter the meter number"),
        ("0412A456789", "digits only"),
        ("041234567", "has 9 digits"),
        ("041234567890", "has 12 digits"),
    ],
)
def test_wrong_length_or_characters_get_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(rules.MeterNumberProblem, match=fragment):
        rules.parse_meter_no(text)


def test_spaces_and_dashes_from_the_label_are_ignored() -> None:
    number = drn(1)
    spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"
    assert rules.parse_meter_no(spaced) == ("600727", number)


GOOD = {"sgc": 600999, "ti": 1, "krn": 1, "kt": 2, "ea": "07", "dkga": "04", "base_date": 2014, "ken": None}


def test_sts_configuration_rules() -> None:
    assert rules.sts_config_problem("sts_keypad", GOOD) is None
    config = rules.sts_config("sts_keypad", GOOD)
    assert config is not None and config.ken == 255
    assert "missing: SGC" in (rules.sts_config_problem("sts_keypad", {**GOOD, "sgc": None}) or "")
    assert "EA11 (MISTY1) meters use DKGA04" in (
        rules.sts_config_problem("sts_smartcard", {**GOOD, "ea": "11", "dkga": "02"}) or ""
    )
    assert rules.sts_config_problem("sts_keypad", {**GOOD, "ea": "11", "dkga": "04"}) is None
    assert rules.sts_config_problem("sts_keypad", {**GOOD, "ea": "09"}) is None
    assert "unverified" in rules.sts_warnings("09", 2014)[0]
    assert "base date 2014" in rules.sts_warnings("07", 1993)[0]
    assert rules.sts_warnings("07", 2014) == []
    assert "postpaid meter takes no tokens" in (rules.sts_config_problem("postpaid", GOOD) or "")
    assert rules.sts_config_problem("postpaid", {}) is None
    assert rules.sts_config_problem("ami", {}) is None
    assert "AMI meter that takes STS tokens" in (rules.sts_config_problem("ami", {"sgc": 1}) or "")
    assert rules.sts_config("ami", {}) is None


@given(
    sgc=st.integers(-5, 1_200_000),
    ti=st.integers(-3, 120),
    krn=st.integers(-1, 12),
    kt=st.integers(-1, 5),
    base=st.sampled_from([1993, 2014, 2035, 2000]),
    ken=st.one_of(st.none(), st.integers(-2, 300)),
)
def test_sts_ranges(sgc: int, ti: int, krn: int, kt: int, base: int, ken: int | None) -> None:
    values = {**GOOD, "sgc": sgc, "ti": ti, "krn": krn, "kt": kt, "base_date": base, "ken": ken}
    ok = (
        0 <= sgc <= 999_999
        and 0 <= ti <= 99
        and 1 <= krn <= 9
        and 0 <= kt <= 3
        and base != 2000
        and (ken is None or 0 <= ken <= 255)
    )
    assert (rules.sts_config_problem("sts_keypad", values) is None) is ok


def test_key_data_is_not_a_meter_edit() -> None:
    assert rules.key_change_fields_problem({"manufacturer", "serial_no"}) is None
    message = rules.key_change_fields_problem({"sgc", "model", "krn"}) or ""
    assert message.startswith("KRN, SGC cannot be changed by editing the meter")
    assert "meter key change" in message
    for name in ("ea", "dkga", "base_date", "ken", "ti", "kt"):
        assert rules.key_change_fields_problem({name}) is not None


ALL_STATUSES = list(rules.STATUS_LABELS)


@given(src=st.sampled_from(ALL_STATUSES), dst=st.sampled_from(ALL_STATUSES))
def test_only_listed_transitions_are_allowed(src: str, dst: str) -> None:
    kind = {"issued": "crew", "in_stock": "warehouse", "removed": "warehouse", "faulty": "warehouse"}.get(dst)
    problem = rules.move_problem(src, dst, location_kind=kind, has_supply_point=dst == "installed")
    assert (problem is None) is (dst in rules.TRANSITIONS[src])
    if src == dst:
        assert problem and "already" in problem


def test_transition_requirements_and_messages() -> None:
    assert rules.move_problem("in_stock", "issued", location_kind="crew", has_supply_point=False) is None
    assert "issued to a crew: choose a crew" in (
        rules.move_problem("in_stock", "issued", location_kind="warehouse", has_supply_point=False) or ""
    )
    assert "at which supply point" in (
        rules.move_problem("issued", "installed", location_kind=None, has_supply_point=False) or ""
    )
    assert rules.move_problem("in_stock", "installed", location_kind=None, has_supply_point=True) == (
        "A meter that is in stock cannot become installed; it can become faulty or issued to a crew."
    )
    assert "nothing (this is final)" in (
        rules.move_problem("scrapped", "in_stock", location_kind="warehouse", has_supply_point=False) or ""
    )
    assert "Say where" in (
        rules.move_problem("installed", "faulty", location_kind=None, has_supply_point=False) or ""
    )
    assert rules.move_problem("in_stock", "faulty", location_kind=None, has_supply_point=False) is None
    assert rules.location_after("issued", "installed", 5, None) is None
    assert rules.location_after("in_stock", "faulty", 5, None) == 5
    assert rules.location_after("installed", "removed", None, 7) == 7


def test_csv_import_parses_good_lines() -> None:
    numbers = [drn(i) for i in range(1, 4)]
    text = "\n".join([CSV_HEADER, *(csv_line(n) for n in numbers), csv_line(drn(9), kind="postpaid")])
    parsed = rules.parse_import(text)
    assert parsed.errors == []
    assert [r.meter_no for r in parsed.rows] == [*numbers, drn(9)]
    assert parsed.rows[0].sts is not None and parsed.rows[0].sts.sgc == 600999 and parsed.rows[0].line == 2
    assert parsed.rows[-1].sts is None and parsed.rows[-1].kind == "postpaid"


def test_csv_import_reports_every_bad_line() -> None:
    good, dup = drn(1), drn(2)
    lines = [
        CSV_HEADER,
        csv_line(good),  # line 2
        csv_line(bad_check_digit(drn(3))),  # 3: check digit
        csv_line(dup),  # 4
        csv_line(dup),  # 5: duplicate of 4
        csv_line(drn(5), ea="11", dkga="02"),  # 6: EA11 needs DKGA04
        csv_line(drn(6)).replace(",600999,", ",60x999,"),  # 7: sgc not a number
        f"{drn(7)},Hexing,HXE110,sts_keypad",  # 8: wrong number of fields
        csv_line(drn(8), kind="gas"),  # 9: kind
    ]
    parsed = rules.parse_import("\n".join(lines))
    found = {(e.line, e.column) for e in parsed.errors}
    assert found == {(3, "meter_no"), (5, "meter_no"), (6, "dkga"), (7, "sgc"), (8, None), (9, "kind")}
    messages = {e.line: e.message for e in parsed.errors}
    assert "wrong check digit" in messages[3]
    assert messages[5] == f"Meter number {dup} is also on line 4 of this file."


def test_csv_header_problems() -> None:
    assert "missing column(s): kind" in rules.parse_import("meter_no,manufacturer,model\n").errors[0].message
    assert "unknown column(s): colour" in rules.parse_import(CSV_HEADER + ",colour\n").errors[0].message
    assert "empty" in rules.parse_import("").errors[0].message
    assert "no meters" in rules.parse_import(CSV_HEADER + "\n").errors[0].message
