"""Token data types, encoding to 20 digits and decoding/explaining 20-digit strings.

64-bit block = SubClass[63..60] | payload[59..16] | CRC[15..0]; class 0 and 2 blocks are
encrypted with the decoder key (EA07/09/11); class 1 is not. The 2 class bits are then
transposed into bits 28/27 of the 66-bit token number (see :mod:`sts.hazmat.bits`).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from sts.ea import EA, check_key, decrypt_block, encrypt_block, parse_ea
from sts.errors import (
    AuthenticationError,
    CrcError,
    MissingKeyError,
    RangeError,
    TokenFormatError,
    UnsupportedClassError,
    UnsupportedSubclassError,
)
from sts.hazmat import ea07, ea11
from sts.hazmat.amount import (
    MAX_STANDARD_AMOUNT,
    decode_amount,
    decode_currency,
    encode_amount,
    encode_currency,
)
from sts.hazmat.bits import digits_to_number, split_token, transpose
from sts.hazmat.crc import crc_c_field, crc_field
from sts.hazmat.tables import PRODUCTION, StaTables
from sts.tid import MAX_TID

__all__ = [
    "CREDIT_SUBCLASSES",
    "MANAGEMENT_FUNCTIONS",
    "CreditToken",
    "KeyChangeToken1",
    "KeyChangeToken2",
    "KeyChangeToken3",
    "KeyChangeToken4",
    "ManagementFunction",
    "ManagementToken",
    "TestToken",
    "Token",
    "TokenClass",
    "TokenExplanation",
    "credit_token_digits",
    "decode_token",
    "encode_token",
    "explain_token",
]


class TokenClass(enum.IntEnum):
    TRANSFER_CREDIT = 0
    INITIATE_METER_TEST = 1
    METER_MANAGEMENT = 2
    RESERVED = 3


CREDIT_SUBCLASSES = {
    0: "electricity",
    1: "water",
    2: "gas",
    3: "time",
    4: "electricity currency",
    5: "water currency",
    6: "gas currency",
    7: "time currency",
}


class ManagementFunction(enum.IntEnum):
    """Class 2 subclasses that carry RND, TID and a 16-bit value."""

    SET_MAX_POWER_LIMIT = 0
    CLEAR_CREDIT = 1
    SET_TARIFF_RATE = 2
    CLEAR_TAMPER = 5
    SET_MAX_PHASE_POWER_UNBALANCE = 6
    SET_WATER_METER_FACTOR = 7


MANAGEMENT_FUNCTIONS = frozenset(int(f) for f in ManagementFunction)
KEY_CHANGE_SUBCLASSES = frozenset({3, 4, 8, 9})
CLEAR_ALL_REGISTERS = 0xFFFF


def _range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise RangeError(f"{name} must be an integer {lo}..{hi}, got {value!r}")


@dataclass(frozen=True)
class CreditToken:
    """Class 0 TransferCredit.

    ``amount``: subclasses 0..3 - count of 0.1 base units, exactly representable (use
    :func:`sts.hazmat.amount.round_up_amount` or :func:`sts.recipes.credit_token`, which round up);
    subclasses 4..7 - signed currency amount in 10**-5 currency units (RND must be 0: its nibble
    carries sign and exponent bits).
    """

    subclass: int
    tid: int
    amount: int
    rnd: int = 0
    token_class: ClassVar[TokenClass] = TokenClass.TRANSFER_CREDIT

    def __post_init__(self) -> None:
        _range("subclass", self.subclass, 0, 7)
        _range("TID", self.tid, 0, MAX_TID)
        _range("RND", self.rnd, 0, 15)
        if self.is_currency:
            if self.rnd:
                raise RangeError("currency credit tokens have no RND (the nibble holds sign/exponent)")
            nibble, field_ = encode_currency(self.amount)
            exact = decode_currency(nibble, field_)
        else:
            _range("amount", self.amount, 0, MAX_STANDARD_AMOUNT)
            exact = decode_amount(encode_amount(self.amount))
        if exact != self.amount:
            raise RangeError(
                f"amount {self.amount} is not representable; the encoding rounds it up to {exact}"
            )

    @property
    def is_currency(self) -> bool:
        return self.subclass >= 4

    @property
    def amount_field(self) -> int:
        if self.is_currency:
            return encode_currency(self.amount)[1]
        return encode_amount(self.amount)

    def payload(self) -> int:
        if self.is_currency:
            nibble, field_ = encode_currency(self.amount)
            return (nibble << 40) | (self.tid << 16) | field_
        return (self.rnd << 40) | (self.tid << 16) | encode_amount(self.amount)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"meaning": CREDIT_SUBCLASSES[self.subclass], "tid": self.tid}
        if self.is_currency:
            nibble = self.payload() >> 40
            out |= {
                "sign_exponent": nibble,
                "amount_field": f"{self.amount_field:04X}",
                "amount": self.amount,
            }
            out["amount_currency"] = f"{self.amount / 100000:.5f}"
        else:
            out |= {"rnd": self.rnd, "amount_field": f"{self.amount_field:04X}", "amount": self.amount}
        return out


@dataclass(frozen=True)
class TestToken:
    """Class 1 InitiateMeterTest/Display. Subclass 0: 36-bit control + 8-bit MfrCode (2-digit codes);
    subclass 1: 28-bit control + 16-bit MfrCode (4-digit codes). Not encrypted."""

    subclass: int
    control: int
    mfr_code: int = 0
    token_class: ClassVar[TokenClass] = TokenClass.INITIATE_METER_TEST

    def __post_init__(self) -> None:
        _range("subclass", self.subclass, 0, 1)
        if self.subclass == 0:
            _range("control", self.control, 0, (1 << 36) - 1)
            _range("MfrCode", self.mfr_code, 0, 99)
        else:
            _range("control", self.control, 0, (1 << 28) - 1)
            _range("MfrCode", self.mfr_code, 0, 9999)

    def payload(self) -> int:
        if self.subclass == 0:
            return (self.control << 8) | self.mfr_code
        return (self.control << 16) | self.mfr_code

    def fields(self) -> dict[str, Any]:
        return {"control": self.control, "mfr_code": self.mfr_code}


@dataclass(frozen=True)
class ManagementToken:
    """Class 2 subclasses 0, 1, 2, 5, 6, 7: RND, TID and a raw 16-bit ``value`` field.

    MPL and MPPUL (W) use the amount encoding in ``value``; ClearCredit's value is the register
    (0xFFFF = all); rate and water meter factor are raw; ClearTamper's pad is 0.
    """

    subclass: int
    tid: int
    value: int
    rnd: int = 0
    token_class: ClassVar[TokenClass] = TokenClass.METER_MANAGEMENT

    def __post_init__(self) -> None:
        if self.subclass not in MANAGEMENT_FUNCTIONS:
            raise RangeError(f"management subclass must be one of {sorted(MANAGEMENT_FUNCTIONS)}")
        _range("TID", self.tid, 0, MAX_TID)
        _range("RND", self.rnd, 0, 15)
        _range("value", self.value, 0, 0xFFFF)

    @property
    def function(self) -> ManagementFunction:
        return ManagementFunction(self.subclass)

    @property
    def decoded_value(self) -> int:
        """MPL/MPPUL in W (amount decoding); the raw field otherwise."""
        if self.function in (
            ManagementFunction.SET_MAX_POWER_LIMIT,
            ManagementFunction.SET_MAX_PHASE_POWER_UNBALANCE,
        ):
            return decode_amount(self.value)
        return self.value

    def payload(self) -> int:
        return (self.rnd << 40) | (self.tid << 16) | self.value

    def fields(self) -> dict[str, Any]:
        return {
            "function": self.function.name,
            "rnd": self.rnd,
            "tid": self.tid,
            "value_field": f"{self.value:04X}",
            "value": self.decoded_value,
        }


@dataclass(frozen=True)
class KeyChangeToken1:
    """Class 2 subclass 3, Set1stSectionDecoderKey: KENHO, KRN, RO, Res, KT, NKHO."""

    ken_high: int
    krn: int
    ro: int
    kt: int
    nk_high: int
    reserved: int = 0
    subclass: ClassVar[int] = 3
    token_class: ClassVar[TokenClass] = TokenClass.METER_MANAGEMENT

    def __post_init__(self) -> None:
        _range("KENHO", self.ken_high, 0, 15)
        _range("KRN", self.krn, 0, 15)
        _range("RO", self.ro, 0, 1)
        _range("Res", self.reserved, 0, 1)
        _range("KT", self.kt, 0, 3)
        _range("NKHO", self.nk_high, 0, 0xFFFFFFFF)

    def payload(self) -> int:
        return (
            (self.ken_high << 40)
            | (self.krn << 36)
            | (self.ro << 35)
            | (self.reserved << 34)
            | (self.kt << 32)
            | self.nk_high
        )

    def fields(self) -> dict[str, Any]:
        return {
            "section": 1,
            "ken_high": self.ken_high,
            "krn": self.krn,
            "ro": self.ro,
            "res": self.reserved,
            "kt": self.kt,
            "nkho": f"{self.nk_high:08X}",
        }


@dataclass(frozen=True)
class KeyChangeToken2:
    """Class 2 subclass 4, Set2ndSectionDecoderKey: KENLO, TI (binary), NKLO."""

    ken_low: int
    ti: int
    nk_low: int
    subclass: ClassVar[int] = 4
    token_class: ClassVar[TokenClass] = TokenClass.METER_MANAGEMENT

    def __post_init__(self) -> None:
        _range("KENLO", self.ken_low, 0, 15)
        _range("TI", self.ti, 0, 255)
        _range("NKLO", self.nk_low, 0, 0xFFFFFFFF)

    def payload(self) -> int:
        return (self.ken_low << 40) | (self.ti << 32) | self.nk_low

    def fields(self) -> dict[str, Any]:
        return {"section": 2, "ken_low": self.ken_low, "ti": self.ti, "nklo": f"{self.nk_low:08X}"}


@dataclass(frozen=True)
class KeyChangeToken3:
    """Class 2 subclass 8, Set3rdSectionDecoderKey (128-bit keys): SGCLO (12 bits), NKMO2."""

    sgc_low: int
    nk_mid2: int
    subclass: ClassVar[int] = 8
    token_class: ClassVar[TokenClass] = TokenClass.METER_MANAGEMENT

    def __post_init__(self) -> None:
        _range("SGCLO", self.sgc_low, 0, 0xFFF)
        _range("NKMO2", self.nk_mid2, 0, 0xFFFFFFFF)

    def payload(self) -> int:
        return (self.sgc_low << 32) | self.nk_mid2

    def fields(self) -> dict[str, Any]:
        return {"section": 3, "sgc_low": self.sgc_low, "nkmo2": f"{self.nk_mid2:08X}"}


@dataclass(frozen=True)
class KeyChangeToken4:
    """Class 2 subclass 9, Set4thSectionDecoderKey (128-bit keys): SGCHO (12 bits), NKMO1."""

    sgc_high: int
    nk_mid1: int
    subclass: ClassVar[int] = 9
    token_class: ClassVar[TokenClass] = TokenClass.METER_MANAGEMENT

    def __post_init__(self) -> None:
        _range("SGCHO", self.sgc_high, 0, 0xFFF)
        _range("NKMO1", self.nk_mid1, 0, 0xFFFFFFFF)

    def payload(self) -> int:
        return (self.sgc_high << 32) | self.nk_mid1

    def fields(self) -> dict[str, Any]:
        return {"section": 4, "sgc_high": self.sgc_high, "nkmo1": f"{self.nk_mid1:08X}"}


KeyChangeToken = KeyChangeToken1 | KeyChangeToken2 | KeyChangeToken3 | KeyChangeToken4
Token = CreditToken | TestToken | ManagementToken | KeyChangeToken


def _uses_crc_c(token_class: int, subclass: int) -> bool:
    return token_class == 0 and 4 <= subclass <= 7


def _plain_block(token_class: int, subclass: int, payload: int) -> int:
    value = (subclass << 44) | payload
    crc = (
        crc_c_field(token_class, value)
        if _uses_crc_c(token_class, subclass)
        else crc_field(token_class, value)
    )
    return (value << 16) | crc


def token_block(token: Token) -> int:
    """The 64-bit plaintext block (subclass, payload, CRC) of a token."""
    return _plain_block(int(token.token_class), token.subclass, token.payload())


def encode_token(
    token: Token, key: bytes | None = None, ea: EA | str | None = None, *, tables: StaTables = PRODUCTION
) -> str:
    """Encode a token to its 20 digits. Class 0/2 need the decoder key and EA; class 1 needs neither."""
    block = token_block(token)
    cls = int(token.token_class)
    if cls != TokenClass.INITIATE_METER_TEST:
        if key is None or ea is None:
            raise MissingKeyError(f"class {cls} tokens are encrypted: give the decoder key and EA")
        block = encrypt_block(parse_ea(ea), key, block, tables)
    return f"{transpose(block, cls):020d}"


def credit_token_digits(
    key: bytes, ea: EA, subclass: int, tid: int, amount_field: int, rnd: int, tables: StaTables = PRODUCTION
) -> str:
    """Fast path for class 0 subclasses 0..3 with the raw amount field: no token object, and no
    validation beyond :func:`sts.ea.check_key` (the caller checks the ranges).

    Used by :func:`sts.recipes.credit_token`; per-key cipher schedules are cached.
    """
    value = (subclass << 44) | (rnd << 40) | (tid << 16) | amount_field
    block = (value << 16) | crc_field(0, value)
    if ea is EA.EA07 and tables is PRODUCTION:
        block = ea07.encryptor(check_key(ea, key))(block)
    elif ea is EA.EA11:
        block = ea11.encrypt_block(check_key(ea, key), block)
    else:
        block = encrypt_block(ea, key, block, tables)
    return f"{transpose(block, 0):020d}"


@dataclass(frozen=True)
class TokenExplanation:
    """Everything that can be read from 20 digits (with the key where needed)."""

    digits: str
    token_class: int
    subclass: int | None = None
    block: int | None = None
    crc_ok: bool | None = None
    crc_kind: str | None = None
    token: Token | None = None
    error: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("token")
        out["block"] = None if self.block is None else f"{self.block:016X}"
        out["class_name"] = TokenClass(self.token_class).name
        return out


def _parse_digits(digits: str) -> tuple[int, int]:
    if not isinstance(digits, str):
        raise TokenFormatError("a token is a string of 20 decimal digits")
    text = digits.replace(" ", "").replace("-", "")
    number = digits_to_number(text)
    if number is None:
        raise TokenFormatError(f"not a token (need 20 decimal digits below 2**66): {digits!r}")
    return split_token(number)


def _build(token_class: int, subclass: int, payload: int) -> Token:
    if token_class == 0:
        if subclass >= 4:
            return CreditToken(
                subclass, (payload >> 16) & 0xFFFFFF, decode_currency(payload >> 40, payload & 0xFFFF)
            )
        return CreditToken(
            subclass, (payload >> 16) & 0xFFFFFF, decode_amount(payload & 0xFFFF), payload >> 40
        )
    if token_class == 1:
        if subclass == 0:
            return TestToken(0, payload >> 8, payload & 0xFF)
        return TestToken(1, payload >> 16, payload & 0xFFFF)
    if subclass in MANAGEMENT_FUNCTIONS:
        return ManagementToken(subclass, (payload >> 16) & 0xFFFFFF, payload & 0xFFFF, payload >> 40)
    nk = payload & 0xFFFFFFFF
    if subclass == 3:
        return KeyChangeToken1(
            payload >> 40,
            (payload >> 36) & 0xF,
            (payload >> 35) & 1,
            (payload >> 32) & 3,
            nk,
            (payload >> 34) & 1,
        )
    if subclass == 4:
        return KeyChangeToken2(payload >> 40, (payload >> 32) & 0xFF, nk)
    if subclass == 8:
        return KeyChangeToken3(payload >> 32, nk)
    return KeyChangeToken4(payload >> 32, nk)


def _supported(token_class: int, subclass: int) -> bool:
    if token_class == 0:
        return subclass <= 7
    if token_class == 1:
        return subclass <= 1
    return subclass in MANAGEMENT_FUNCTIONS or subclass in KEY_CHANGE_SUBCLASSES


def explain_token(
    digits: str, key: bytes | None = None, ea: EA | str | None = None, *, tables: StaTables = PRODUCTION
) -> TokenExplanation:
    """Read as much as possible; never raises for CRC or subclass problems (see ``crc_ok``/``error``).

    Raises :class:`TokenFormatError` for malformed input and :class:`InvalidKeyError`/``RangeError``
    for a bad key/EA. Without a key, class 0/2 tokens report only their class and encrypted block.
    """
    token_class, block = _parse_digits(digits)
    text = f"{transpose(block, token_class):020d}"
    if token_class == TokenClass.RESERVED:
        return TokenExplanation(text, token_class, block=block, error="class 3 is reserved")
    if token_class != TokenClass.INITIATE_METER_TEST:
        if key is None or ea is None:
            return TokenExplanation(text, token_class, block=block, error="encrypted: no key given")
        ea_value = parse_ea(ea)
        block = decrypt_block(ea_value, check_key(ea_value, key), block, tables)
    subclass = block >> 60
    value = block >> 16
    crc_c = _uses_crc_c(token_class, subclass)
    expected = crc_c_field(token_class, value) if crc_c else crc_field(token_class, value)
    crc_ok = expected == (block & 0xFFFF)
    kind = "CRC_C" if crc_c else "CRC"
    if not _supported(token_class, subclass):
        return TokenExplanation(
            text, token_class, subclass, block, crc_ok, kind, error="unsupported subclass"
        )
    token = _build(token_class, subclass, value & ((1 << 44) - 1))
    error = None if crc_ok else f"{kind} does not hold"
    return TokenExplanation(text, token_class, subclass, block, crc_ok, kind, token, error, token.fields())


def decode_token(
    digits: str, key: bytes | None = None, ea: EA | str | None = None, *, tables: StaTables = PRODUCTION
) -> Token:
    """Decode 20 digits into a token, or raise a typed :class:`sts.errors.StsError`.

    TokenFormatError (not a token), MissingKeyError (class 0/2 without key/EA),
    AuthenticationError (class 0/2 CRC fails after decryption), CrcError (class 1),
    UnsupportedClassError / UnsupportedSubclassError.
    """
    ex = explain_token(digits, key, ea, tables=tables)
    if ex.token_class == TokenClass.RESERVED:
        raise UnsupportedClassError("token class 3 is reserved")
    if ex.block is not None and ex.crc_ok is None:
        raise MissingKeyError(f"class {ex.token_class} tokens are encrypted: give the decoder key and EA")
    if not ex.crc_ok:
        if ex.token_class == TokenClass.INITIATE_METER_TEST:
            raise CrcError(f"{ex.crc_kind} does not hold")
        raise AuthenticationError(
            f"{ex.crc_kind} does not hold after decryption (wrong key/EA or corrupt token)"
        )
    if ex.token is None:
        raise UnsupportedSubclassError(f"class {ex.token_class} subclass {ex.subclass} is not supported")
    return ex.token
