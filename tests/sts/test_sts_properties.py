"""Hypothesis properties: round trips, meter replay/OLD rules, key change, robustness."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from sts import (
    EA,
    CreditToken,
    KeyChangeSet,
    KeyChangeToken1,
    KeyChangeToken2,
    KeyChangeToken3,
    KeyChangeToken4,
    ManagementToken,
    StsError,
    TokenOldError,
    TokenUsedError,
    VirtualMeter,
    decode_token,
    encode_key_change_set,
    encode_token,
    round_up_amount,
)
from sts import TestToken as StsTestToken
from sts.hazmat import ea07, ea11
from sts.hazmat.amount import MAX_STANDARD_AMOUNT, decode_amount, encode_amount

KEY64 = st.binary(min_size=8, max_size=8)
KEY128 = st.binary(min_size=16, max_size=16)
TID = st.integers(0, 0xFFFFFF)
FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=15, deadline=None)

standard_credit = st.builds(
    CreditToken,
    subclass=st.integers(0, 3),
    tid=TID,
    amount=st.integers(0, MAX_STANDARD_AMOUNT).map(round_up_amount),
    rnd=st.integers(0, 15),
)
currency_credit = st.builds(
    lambda sub, tid, nib, field: CreditToken(sub, tid, _currency(nib, field)),
    st.integers(4, 7),
    TID,
    st.integers(0, 15),
    st.integers(0, 0xFFFF),
)
test_tokens = st.one_of(
    st.builds(StsTestToken, st.just(0), st.integers(0, (1 << 36) - 1), st.integers(0, 99)),
    st.builds(StsTestToken, st.just(1), st.integers(0, (1 << 28) - 1), st.integers(0, 9999)),
)
management = st.builds(
    ManagementToken, st.sampled_from([0, 1, 2, 5, 6, 7]), TID, st.integers(0, 0xFFFF), st.integers(0, 15)
)
U32 = st.integers(0, 0xFFFFFFFF)
key_sections = st.one_of(
    st.builds(
        KeyChangeToken1,
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 1),
        st.integers(0, 3),
        U32,
        st.integers(0, 1),
    ),
    st.builds(KeyChangeToken2, st.integers(0, 15), st.integers(0, 255), U32),
    st.builds(KeyChangeToken3, st.integers(0, 0xFFF), U32),
    st.builds(KeyChangeToken4, st.integers(0, 0xFFF), U32),
)
encrypted_tokens = st.one_of(standard_credit, currency_credit, management, key_sections)


def _currency(nibble: int, field: int) -> int:
    from sts.hazmat.amount import decode_currency

    return decode_currency(nibble, field)


@FAST
@given(KEY64, st.integers(0, (1 << 64) - 1))
def test_ea07_decrypt_inverts_encrypt(key: bytes, block: int) -> None:
    assert ea07.decrypt_block(key, ea07.encrypt_block(key, block)) == block


@SLOW
@given(KEY128, st.integers(0, (1 << 64) - 1))
def test_ea11_decrypt_inverts_encrypt(key: bytes, block: int) -> None:
    assert ea11.decrypt_block(key, ea11.encrypt_block(key, block)) == block


@FAST
@given(st.integers(0, MAX_STANDARD_AMOUNT))
def test_amount_rounds_up_to_nearest_representable(units: int) -> None:
    field = encode_amount(units)
    assert decode_amount(field) >= units
    if field & 0x3FFF:
        assert decode_amount(field - 1) < units  # nothing smaller would do


@FAST
@given(encrypted_tokens, KEY64)
def test_roundtrip_ea07(token: object, key: bytes) -> None:
    digits = encode_token(token, key, EA.EA07)  # type: ignore[arg-type]
    assert len(digits) == 20
    assert decode_token(digits, key, EA.EA07) == token


@SLOW
@given(encrypted_tokens, KEY128)
def test_roundtrip_ea11(token: object, key: bytes) -> None:
    assert decode_token(encode_token(token, key, EA.EA11), key, EA.EA11) == token  # type: ignore[arg-type]


@SLOW
@given(encrypted_tokens, KEY64)
def test_roundtrip_ea09(token: object, key: bytes) -> None:
    assert decode_token(encode_token(token, key, EA.EA09), key, EA.EA09) == token  # type: ignore[arg-type]


@FAST
@given(test_tokens)
def test_roundtrip_class1(token: StsTestToken) -> None:
    assert decode_token(encode_token(token)) == token


@FAST
@given(st.text(alphabet="0123456789", min_size=20, max_size=20), KEY64, st.sampled_from([EA.EA07, EA.EA09]))
def test_random_digits_never_crash(digits: str, key: bytes, ea: EA) -> None:
    with contextlib.suppress(StsError):
        decode_token(digits, key, ea)


@SLOW
@given(st.text(alphabet="0123456789", min_size=20, max_size=20), KEY128)
def test_random_digits_never_crash_ea11(digits: str, key: bytes) -> None:
    with contextlib.suppress(StsError):
        decode_token(digits, key, EA.EA11)


@FAST
@given(st.text(max_size=30))
def test_random_text_never_crashes(text: str) -> None:
    with contextlib.suppress(StsError):
        decode_token(text)


def _meter(key: bytes, **kw: object) -> VirtualMeter:
    return VirtualMeter(decoder_key=key, ea=EA.EA07, manufacture_tid=1000, **kw)  # type: ignore[arg-type]


@FAST
@given(KEY64, st.integers(1001, 0xFFFFFF), st.integers(0, 3), st.integers(0, 16383))
def test_fresh_token_accepted_once_then_used(key: bytes, tid: int, sub: int, units: int) -> None:
    meter = _meter(key)
    digits = encode_token(CreditToken(sub, tid, units, 5), key, EA.EA07)
    assert meter.enter(digits).changes == {f"credit[{sub}]": units}
    try:
        meter.enter(digits)
    except TokenUsedError:
        pass
    else:
        raise AssertionError("replay accepted")
    assert meter.credit[sub] == units


@FAST
@given(
    KEY64,
    st.integers(1, 6),
    st.lists(st.integers(2000, 100000), min_size=6, max_size=12, unique=True),
    st.integers(1001, 1999),
)
def test_old_below_smallest_with_full_memory(key: bytes, size: int, tids: list[int], old: int) -> None:
    meter = _meter(key, tid_memory_size=size)
    for tid in sorted(tids):
        meter.enter(encode_token(CreditToken(0, tid, 1), key, EA.EA07))
    assert old < min(meter.tid_memory)
    try:
        meter.enter(encode_token(CreditToken(0, old, 1), key, EA.EA07))
    except TokenOldError:
        pass
    else:
        raise AssertionError("OLD token accepted")


@SLOW
@given(KEY64, KEY64, st.integers(1001, 0xFFFF00), st.integers(1, 9))
def test_key_change_switches_keys(old: bytes, new: bytes, tid: int, krn: int) -> None:
    if old == new:
        return
    meter = _meter(old)
    for digits in encode_key_change_set(KeyChangeSet(new, 2, krn, 1, 0xFF, 0), old, EA.EA07):
        meter.enter(digits)
    assert meter.decoder_key == new and meter.krn == krn
    assert meter.enter(encode_token(CreditToken(0, tid, 10), new, EA.EA07)).changes == {"credit[0]": 10}
    try:
        meter.enter(encode_token(CreditToken(0, tid + 1, 10), old, EA.EA07))
    except StsError as exc:
        assert exc.reason in ("AUTH", "FUNCTION")
    else:
        raise AssertionError("old key still accepted")


@SLOW
@given(KEY128, KEY128, st.integers(1001, 0xFFFF00))
def test_key_change_128bit(old: bytes, new: bytes, tid: int) -> None:
    if old == new:
        return
    meter = VirtualMeter(decoder_key=old, ea=EA.EA11, manufacture_tid=1000)
    tokens = encode_key_change_set(KeyChangeSet(new, 2, 3, 7, 0xFF, 0, "654321"), old, EA.EA11)
    assert len(tokens) == 4
    results = [meter.enter(t) for t in tokens]
    assert [r.key_changed for r in results] == [False, False, False, True]
    assert meter.decoder_key == new and meter.sgc == "654321" and meter.ti == 7
    meter.enter(encode_token(CreditToken(0, tid, 10), new, EA.EA11))


@SLOW
@given(KEY64, KEY64, st.integers(3_155_520, 0xFFFFFF - 1))
def test_rollover_lets_2014_tids_through(old: bytes, new: bytes, tid2014: int) -> None:
    if old == new:
        return
    # A meter whose memory holds late 1993-base TIDs (manufactured 2020-01-01 08:00: TID 14 200 320).
    meter = VirtualMeter(decoder_key=old, ea=EA.EA07, manufacture_tid=14_200_320)
    small = min(tid2014, 14_200_319)
    try:
        meter.enter(encode_token(CreditToken(0, small, 1), old, EA.EA07))
    except TokenOldError:
        pass
    else:
        raise AssertionError("expected OLD before rollover")
    for digits in encode_key_change_set(KeyChangeSet(new, 2, 2, 1, 0xFF, 1), old, EA.EA07):
        meter.enter(digits)
    assert meter.base_date == 2014
    assert meter.enter(encode_token(CreditToken(0, small, 1), new, EA.EA07)).changes == {"credit[0]": 1}
