"""Unit tests: amounts, TID, PAN/DRN, CRC_C, decoding errors, meter rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sts import (
    EA,
    AuthenticationError,
    BaseDate,
    CheckDigitError,
    CrcError,
    CreditToken,
    KeyChangeIncompleteError,
    KeyChangeSet,
    KeyExpiredError,
    KeyTypeChangeError,
    ManagementToken,
    MfrCodeMismatchError,
    MissingKeyError,
    RangeError,
    RegisterOverflowError,
    TokenFormatError,
    UnsupportedClassError,
    UnsupportedSubclassError,
    VirtualMeter,
    decode_token,
    encode_key_change_set,
    encode_token,
    explain_token,
    meter_pan,
    parse_meter_pan,
    tid_from_datetime,
)
from sts import TestToken as StsTestToken
from sts.hazmat.amount import decode_amount, encode_amount, encode_currency
from sts.hazmat.bits import transpose
from sts.hazmat.crc import crc_c_field, crc_field
from sts.tid import datetime_from_tid

K = bytes.fromhex("E653341F9D5BF36F")
K2 = bytes.fromhex("060B8643C59A27F1")


@pytest.mark.parametrize(
    ("units", "field", "decoded"),
    [
        (0, 0x0000, 0),
        (16383, 0x3FFF, 16383),
        (16384, 0x4000, 16384),
        (163830, 0x7999, 163834),
        (180215, 0x8000, 180224),
        (1802240, 0xBF5D, 1802324),
        (18201620, 0xFFFF, 18201624),
    ],
)
def test_amount_encoding(units: int, field: int, decoded: int) -> None:
    assert encode_amount(units) == field
    assert decode_amount(field) == decoded


def test_amount_refuses_above_maximum() -> None:
    with pytest.raises(RangeError):
        encode_amount(18201625)
    with pytest.raises(RangeError):
        CreditToken(0, 1, 163830)  # not representable: the recipe rounds up, the type refuses


def test_currency_example_crc_c() -> None:
    ex = explain_token("07420412750539184100", bytes.fromhex("4530EDB79B5F083D"), EA.EA07)
    assert ex.crc_ok and ex.crc_kind == "CRC_C"
    assert ex.token == CreditToken(4, 6680788, 10000624)
    assert ex.block is not None
    value = ex.block >> 16
    assert crc_c_field(0, value) == ex.block & 0xFFFF != crc_field(0, value)
    assert encode_currency(-10000624) == (0x8, 0xDFF6)


def test_sts_association_crc_example() -> None:
    value = (0 << 44) | (0b0101 << 40) | (0xC02A55 << 16) | encode_amount(10000)
    assert crc_field(0, value) == 0x1970


def test_tid_from_datetime() -> None:
    made = datetime(2020, 1, 1, 8, 0, tzinfo=UTC)
    assert tid_from_datetime(made, 1993) == 14_200_320
    assert tid_from_datetime(made, BaseDate.Y2014) == 3_155_520
    assert tid_from_datetime(datetime(2016, 12, 11, 15, 49, 59, tzinfo=UTC)) == 0xC02A55
    sast = timezone(timedelta(hours=2))
    assert tid_from_datetime(datetime(2016, 12, 11, 17, 49, tzinfo=sast)) == 0xC02A55
    for base in BaseDate:
        assert tid_from_datetime(base.end, base) == 0xFFFFFF
        with pytest.raises(RangeError):
            tid_from_datetime(base.end + timedelta(minutes=1), base)
        with pytest.raises(RangeError):
            tid_from_datetime(base.start - timedelta(seconds=1), base)
    assert BaseDate.Y1993.end == datetime(2024, 11, 24, 20, 15, tzinfo=UTC)
    assert datetime_from_tid(0xFFFFFF, 2035) == datetime(2066, 11, 24, 20, 15, tzinfo=UTC)
    with pytest.raises(RangeError, match="timezone-aware"):
        tid_from_datetime(datetime(2020, 1, 1))


def test_pan_and_drn_check_digits() -> None:
    assert meter_pan("600727", "12345678903") == "600727123456789030"
    with pytest.raises(CheckDigitError):
        meter_pan("600727", "12345678904")
    with pytest.raises(CheckDigitError):
        parse_meter_pan("600727000000000008")
    assert parse_meter_pan("000001000000000082").drn == "0100000000008"
    with pytest.raises(RangeError):
        meter_pan("600727", "0100000000008")


def test_decode_errors() -> None:
    with pytest.raises(TokenFormatError):
        decode_token("1234")
    with pytest.raises(TokenFormatError):
        decode_token("99999999999999999999")  # >= 2**66
    with pytest.raises(MissingKeyError):
        decode_token("23716100501183194197")
    with pytest.raises(AuthenticationError):
        decode_token("23716100501183194197", K2, EA.EA07)
    good = encode_token(StsTestToken(1, 2))
    bad = f"{int(good) ^ (1 << 3):020d}"
    with pytest.raises(CrcError):
        decode_token(bad)
    with pytest.raises(UnsupportedClassError):
        decode_token(f"{transpose(0, 3):020d}")
    # class 2 subclass 10 with a valid CRC
    from sts.ea import encrypt_block
    from sts.tokens import _plain_block

    block = encrypt_block(EA.EA07, K, _plain_block(2, 10, 123))
    with pytest.raises(UnsupportedSubclassError):
        decode_token(f"{transpose(block, 2):020d}", K, EA.EA07)


def _meter(**kw: object) -> VirtualMeter:
    return VirtualMeter(decoder_key=K, ea=EA.EA07, manufacture_tid=1000, **kw)  # type: ignore[arg-type]


def test_meter_management_tokens() -> None:
    m = _meter()
    m.enter(encode_token(CreditToken(0, 2000, 500), K, EA.EA07))
    m.enter(encode_token(CreditToken(1, 2001, 7), K, EA.EA07))
    assert m.enter(encode_token(ManagementToken(0, 2002, 0x03E8), K, EA.EA07)).changes == {
        "max_power_limit": 1000
    }
    m.enter(encode_token(ManagementToken(1, 2003, 0), K, EA.EA07))
    assert m.credit[0] == 0 and m.credit[1] == 7
    m.enter(encode_token(ManagementToken(1, 2004, 0xFFFF), K, EA.EA07))
    assert m.credit[1] == 0
    m.enter(encode_token(ManagementToken(2, 2005, 1234), K, EA.EA07))
    m.tamper = True
    m.enter(encode_token(ManagementToken(5, 2006, 0), K, EA.EA07))
    m.enter(encode_token(ManagementToken(6, 2007, encode_amount(20000)), K, EA.EA07))
    m.enter(encode_token(ManagementToken(7, 2008, 42), K, EA.EA07))
    assert (m.tariff_rate, m.tamper, m.max_phase_power_unbalance, m.water_meter_factor) == (
        1234,
        False,
        20004,
        42,
    )


def test_meter_key_expiry() -> None:
    m = _meter(ken=0x10)
    with pytest.raises(KeyExpiredError):
        m.enter(encode_token(CreditToken(0, 0x110000, 1), K, EA.EA07))
    m.enter(encode_token(CreditToken(0, 0x10FFFF, 1), K, EA.EA07))
    ditk = _meter(ken=0x10, kt=0)
    ditk.enter(encode_token(CreditToken(0, 0x110000, 1), K, EA.EA07))
    # An expired key can still take a key change.
    for t in encode_key_change_set(KeyChangeSet(K2, 2, 2, 1, 0xFF, 0), K, EA.EA07):
        m.enter(t)
    m.enter(encode_token(CreditToken(0, 0x110000, 1), K2, EA.EA07))


def test_meter_key_change_order_and_types() -> None:
    first, second = encode_key_change_set(KeyChangeSet(K2, 2, 2, 1, 0xFF, 0), K, EA.EA07)
    m = _meter()
    with pytest.raises(KeyChangeIncompleteError):
        m.enter(second)
    assert m.enter(first).key_change_pending
    with pytest.raises(KeyChangeIncompleteError):
        m.enter(encode_token(CreditToken(0, 2000, 1), K, EA.EA07))
    assert not m.key_change_pending and m.decoder_key == K
    m.enter(encode_token(CreditToken(0, 2000, 1), K, EA.EA07))  # re-entry works
    m.enter(first)
    assert m.enter(second).key_changed and m.decoder_key == K2
    to_ditk = encode_key_change_set(KeyChangeSet(K, 0, 3, 1, 0xFF, 0), K2, EA.EA07)
    with pytest.raises(KeyTypeChangeError):
        m.enter(to_ditk[0])
    ditk_meter = _meter(kt=0)
    for t in encode_key_change_set(KeyChangeSet(K2, 1, 2, 1, 0xFF, 0), K, EA.EA07):
        ditk_meter.enter(t)
    assert ditk_meter.kt == 1


def test_meter_overflow_and_mfr_code() -> None:
    m = _meter(register_limit=1000, mfr_code=12)
    m.enter(encode_token(CreditToken(0, 2000, 1000), K, EA.EA07))
    with pytest.raises(RegisterOverflowError):
        m.enter(encode_token(CreditToken(0, 2001, 1), K, EA.EA07))
    m.enter(encode_token(CreditToken(0, 2001, 0), K, EA.EA07))  # not consumed by the rejection
    assert m.enter(encode_token(StsTestToken(0, 5, 12))).changes == {"test_control": 5}
    with pytest.raises(MfrCodeMismatchError):
        m.enter(encode_token(StsTestToken(0, 5, 13)))


def test_meter_manufactured_at() -> None:
    m = VirtualMeter(decoder_key=K, manufactured_at=datetime(2020, 1, 1, 8, tzinfo=UTC), tid_memory_size=5)
    assert m.tid_memory == [14_200_320] * 5
