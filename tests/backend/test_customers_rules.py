"""Pure customer rules: phone numbers, numbering, lifecycle, search terms and query tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.customers.rules import (
    ACCOUNT_STATUSES,
    TRANSITIONS,
    PhoneError,
    build_terms,
    close_problem,
    email_problem,
    fold,
    format_number,
    next_number,
    normalise_phone,
    payment_mode_problem,
    prefix_range,
    query_tokens,
    transition_problem,
    words,
)

subscriber = st.from_regex(r"7[0-9]{8}", fullmatch=True)


@given(
    subscriber,
    st.sampled_from(
        [
            "+254 {a} {b} {c}",
            "0{a}{b}{c}",
            "{a}{b}{c}",
            "254{a}{b}{c}",
            "00254{a}-{b}-{c}",
            "(0{a}) {b} {c}",
            "+254{a}.{b}.{c}",
        ]
    ),
)
def test_every_usual_way_of_writing_a_kenyan_mobile_gives_one_e164(number: str, template: str) -> None:
    written = template.format(a=number[:3], b=number[3:6], c=number[6:])
    assert normalise_phone(written, "254") == "+254" + number


@given(st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True), st.sampled_from(["254", "1", "44"]))
def test_e164_is_a_fixed_point(e164: str, cc: str) -> None:
    assert normalise_phone(e164, cc) == e164
    assert normalise_phone(normalise_phone(e164, cc), cc) == e164


@pytest.mark.parametrize("bad", ["", "abc", "+254 7", "+1234567890123456", "07x2345678", "+0712345678"])
def test_bad_phones_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(PhoneError) as info:
        normalise_phone(bad, "254")
    assert str(info.value)


@given(st.integers(min_value=1, max_value=10**8 - 2))
def test_numbers_are_fixed_width_and_sort_like_their_sequence(n: int) -> None:
    a, b = format_number("C", n), next_number("C", format_number("C", n))
    assert len(a) == len(b) == 9 and a < b and int(b[1:]) == n + 1
    assert next_number("A", None) == "A00000001"


@given(st.sampled_from(ACCOUNT_STATUSES), st.sampled_from(ACCOUNT_STATUSES))
def test_lifecycle_allows_exactly_the_table(current: str, target: str) -> None:
    problem = transition_problem(current, target)
    assert (problem is None) == (target in TRANSITIONS[current])


def test_lifecycle_messages() -> None:
    assert transition_problem("closed", "active") == (
        "The account is closed; a closed account cannot change status. Open a new account instead."
    )
    assert transition_problem("applied", "suspended") == (
        "An account that is applied can only become active or closed, not suspended."
    )
    assert transition_problem("active", "active") == "The account is already active."


@given(st.integers(min_value=0, max_value=10**9), st.one_of(st.none(), st.text(max_size=20)))
def test_closing_with_credit_needs_a_note(credit: int, note: str | None) -> None:
    problem = close_problem(credit, note)
    assert (problem is None) == (credit == 0 or bool(note and note.strip()))


@given(st.sampled_from(["prepaid", "postpaid", "any"]), st.sampled_from(["prepaid", "postpaid"]))
def test_tariff_payment_mode_fits(tariff: str, mode: str) -> None:
    assert (payment_mode_problem(tariff, mode) is None) == (tariff in ("any", mode))


def test_email() -> None:
    assert email_problem("mary@example.co.ke") is None
    assert email_problem("mary@") and email_problem("no at sign") and email_problem("a b@c.de")


@given(st.text(max_size=60))
def test_words_are_folded_alphanumerics(text: str) -> None:
    for w in words(text):
        assert w and len(w) <= 64 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789" for c in w)


def test_accents_fold() -> None:
    assert fold("Njérí Wanjikũ") == "njeri wanjiku"
    assert words("Ñandú  O'Brien-Kamau") == ["nandu", "o", "brien", "kamau"]


names = st.lists(
    st.sampled_from(["Mary", "Achieng", "Ótieno", "Kamau", "Wanjiru", "Njoroge"]), min_size=1, max_size=4
)


@given(names, subscriber)
def test_every_name_word_prefix_and_phone_form_finds_the_terms(parts: list[str], number: str) -> None:
    e164 = "+254" + number
    terms = build_terms(
        name=" ".join(parts), customer_no="C00000042", phones=[e164], account_nos=["A00000007"]
    )
    keys = {t for t, _ in terms}
    for part in parts:
        for size in range(1, len(part) + 1):
            (alternatives,) = query_tokens(part[:size].upper(), "254")
            assert any(any(k.startswith(a) for k in keys) for a in alternatives)
    for written in ("0" + number, number, "+254 " + number[:3] + " " + number[3:], "254" + number):
        (alternatives,) = query_tokens(written, "254")
        assert any(any(k.startswith(a) for k in keys) for a in alternatives), written
    assert ("c00000042", "customer_no") in terms and ("a00000007", "account") in terms


@given(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,30}", fullmatch=True))
def test_prefix_range_holds_exactly_the_terms_with_the_prefix(prefix: str, rest: str) -> None:
    low, high = prefix_range(prefix)
    term = (prefix + rest)[:64]
    assert low <= term <= high


@given(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True))
def test_prefix_range_excludes_other_terms(prefix: str, term: str) -> None:
    low, high = prefix_range(prefix)
    assert (low <= term <= high) == term.startswith(prefix)


def test_query_tokens() -> None:
    assert query_tokens("  ", "254") == []
    assert query_tokens("Mary Ach", "254") == [{"mary"}, {"ach"}]
    assert query_tokens("0712 345", "254") == [{"0712345", "254712345"}]
    assert query_tokens("+254 7", "254") == [{"2547"}]
    assert query_tokens("A0000", "254") == [{"a0000"}]
