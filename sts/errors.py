"""Exception hierarchy. Every error carries a short ``reason`` code (the meter's display reason)."""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CheckDigitError",
    "CrcError",
    "InvalidKeyError",
    "KeyChangeIncompleteError",
    "KeyExpiredError",
    "KeyTypeChangeError",
    "MfrCodeMismatchError",
    "MissingKeyError",
    "RangeError",
    "RegisterOverflowError",
    "StsError",
    "TokenFormatError",
    "TokenOldError",
    "TokenRejectedError",
    "TokenUsedError",
    "UnsupportedClassError",
    "UnsupportedSubclassError",
    "UnsupportedTokenError",
]


class StsError(Exception):
    """Base of every error raised by :mod:`sts`."""

    reason = "ERROR"


class TokenFormatError(StsError, ValueError):
    """Not 20 decimal digits, or the number is >= 2**66."""

    reason = "FORMAT"


class CrcError(StsError):
    """The CRC of a (decrypted) token does not hold."""

    reason = "CRC"


class AuthenticationError(CrcError):
    """An encrypted token's CRC does not hold after decryption: wrong key/EA or a corrupt token."""

    reason = "AUTH"


class UnsupportedTokenError(StsError):
    """A well-formed token of a class/subclass this engine or meter does not support (function error)."""

    reason = "FUNCTION"


class UnsupportedClassError(UnsupportedTokenError):
    """Token class 3 (reserved)."""


class UnsupportedSubclassError(UnsupportedTokenError):
    """Reserved or proprietary subclass."""


class RangeError(StsError, ValueError):
    """A field value or input is outside its allowed range (TID, amount, KRN, ...)."""

    reason = "RANGE"


class CheckDigitError(StsError, ValueError):
    """A Luhn check digit (DRN or meter PAN) does not verify."""

    reason = "CHECK_DIGIT"


class InvalidKeyError(StsError, ValueError):
    """A key has the wrong length or form for the algorithm."""

    reason = "KEY"


class MissingKeyError(StsError, ValueError):
    """An encrypted token class was given without a decoder key / EA."""

    reason = "KEY"


class TokenRejectedError(StsError):
    """A meter refused an otherwise valid token."""

    reason = "REJECTED"


class TokenUsedError(TokenRejectedError):
    """USED: the TID is already in the meter's TID memory."""

    reason = "USED"


class TokenOldError(TokenRejectedError):
    """OLD: the TID memory is full and the TID is below the smallest stored TID."""

    reason = "OLD"


class KeyExpiredError(TokenRejectedError):
    """KEY EXPIRED: TID >> 16 > KEN (KEN 0xFF disables; only DDTK/DUTK/DCTK)."""

    reason = "KEY_EXPIRED"


class KeyTypeChangeError(TokenRejectedError):
    """The key change set asks for a key type change the meter does not allow."""

    reason = "KEY_TYPE"


class KeyChangeIncompleteError(TokenRejectedError):
    """A key change section out of order, or another token while a key change set is half-entered."""

    reason = "KEY_SET_INCOMPLETE"


class RegisterOverflowError(TokenRejectedError):
    """Applying the token would overflow (or underflow) a meter register."""

    reason = "OVERFLOW"


class MfrCodeMismatchError(TokenRejectedError):
    """A class 1 token for another manufacturer."""

    reason = "MFR_CODE"
