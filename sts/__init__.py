"""gridvend STS (IEC 62055-41) token engine: a pure library (no I/O, no clock reads).

Safe API (this module): decoder key derivation, token encoding/decoding, key change sets and a
:class:`VirtualMeter`. Low-level primitives live in :mod:`sts.hazmat`.

Representation: decoder keys are ``bytes`` in the byte order DES (DKGA02) or HMAC-SHA-256 (DKGA04)
output them (8 bytes; 16 for EA11) - never byte-reversed. Tokens are 20-digit strings.
"""

from sts.ea import EA, parse_ea, parse_key_hex
from sts.errors import (
    AuthenticationError,
    CheckDigitError,
    CrcError,
    InvalidKeyError,
    KeyChangeIncompleteError,
    KeyExpiredError,
    KeyTypeChangeError,
    MfrCodeMismatchError,
    MissingKeyError,
    RangeError,
    RegisterOverflowError,
    StsError,
    TokenFormatError,
    TokenOldError,
    TokenRejectedError,
    TokenUsedError,
    UnsupportedClassError,
    UnsupportedSubclassError,
    UnsupportedTokenError,
)
from sts.hazmat.amount import round_up_amount
from sts.key_change import KeyChangeSet, encode_key_change_set
from sts.keys import derive_decoder_key
from sts.meter import Acceptance, VirtualMeter
from sts.meter_pan import drn_from_parts, luhn_check_digit, meter_pan, parse_meter_pan, validate_drn
from sts.recipes import (
    clear_credit_token,
    credit_token,
    currency_credit_token,
    key_change_tokens,
    management_token,
    max_power_limit_token,
    test_token,
)
from sts.tid import BaseDate, datetime_from_tid, tid_from_datetime
from sts.tokens import (
    CreditToken,
    KeyChangeToken1,
    KeyChangeToken2,
    KeyChangeToken3,
    KeyChangeToken4,
    ManagementFunction,
    ManagementToken,
    TestToken,
    Token,
    TokenClass,
    TokenExplanation,
    decode_token,
    encode_token,
    explain_token,
)

__all__ = [
    "EA",
    "Acceptance",
    "AuthenticationError",
    "BaseDate",
    "CheckDigitError",
    "CrcError",
    "CreditToken",
    "InvalidKeyError",
    "KeyChangeIncompleteError",
    "KeyChangeSet",
    "KeyChangeToken1",
    "KeyChangeToken2",
    "KeyChangeToken3",
    "KeyChangeToken4",
    "KeyExpiredError",
    "KeyTypeChangeError",
    "ManagementFunction",
    "ManagementToken",
    "MfrCodeMismatchError",
    "MissingKeyError",
    "RangeError",
    "RegisterOverflowError",
    "StsError",
    "TestToken",
    "Token",
    "TokenClass",
    "TokenExplanation",
    "TokenFormatError",
    "TokenOldError",
    "TokenRejectedError",
    "TokenUsedError",
    "UnsupportedClassError",
    "UnsupportedSubclassError",
    "UnsupportedTokenError",
    "VirtualMeter",
    "clear_credit_token",
    "credit_token",
    "currency_credit_token",
    "datetime_from_tid",
    "decode_token",
    "derive_decoder_key",
    "drn_from_parts",
    "encode_key_change_set",
    "encode_token",
    "explain_token",
    "key_change_tokens",
    "luhn_check_digit",
    "management_token",
    "max_power_limit_token",
    "meter_pan",
    "parse_ea",
    "parse_key_hex",
    "parse_meter_pan",
    "round_up_amount",
    "test_token",
    "tid_from_datetime",
    "validate_drn",
]
