"""Class-bit transposition between the 64-bit (cipher) block and the 66-bit token number.

``T66 = (E28 << 65) | (E27 << 64) | (E & ~(3 << 27)) | (Class << 27)`` where ``E`` is the
ciphertext (or the plaintext for class 1). Bit ``i`` has weight ``2**i``.
"""

from __future__ import annotations

__all__ = ["MAX_TOKEN", "digits_to_number", "number_to_digits", "split_token", "transpose"]

MAX_TOKEN = (1 << 66) - 1
_CLASS_MASK = 3 << 27
_KEEP = ((1 << 64) - 1) ^ _CLASS_MASK


def transpose(block: int, token_class: int) -> int:
    """Insert the 2 class bits into a 64-bit block, giving the 66-bit token number."""
    return ((block & _CLASS_MASK) << 37) | (block & _KEEP) | (token_class << 27)


def split_token(number: int) -> tuple[int, int]:
    """Inverse of :func:`transpose`: 66-bit number -> (class, 64-bit block)."""
    token_class = (number >> 27) & 3
    block = (number & _KEEP) | ((number >> 37) & _CLASS_MASK)
    return token_class, block


def number_to_digits(number: int) -> str:
    """The 20-digit, zero-padded decimal form of a 66-bit token number."""
    return f"{number:020d}"


def digits_to_number(digits: str) -> int | None:
    """Parse 20 ASCII digits; ``None`` if not exactly 20 digits or the value is >= 2**66."""
    if len(digits) != 20 or not digits.isascii() or not digits.isdigit():
        return None
    number = int(digits)
    return number if number <= MAX_TOKEN else None
