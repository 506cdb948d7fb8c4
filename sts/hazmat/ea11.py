"""EA11: MISTY1 block cipher (RFC 2994), 128-bit key, 64-bit block, 8 rounds. Pure Python.

Speed: the FI function is split into two key-independent 65536-entry tables so that
``FI(x, k) == _FI_B[_FI_A[x] ^ k]`` (the key mixing in FI is an XOR of the 16-bit key into the
intermediate ``d7 << 9 | d9`` value). The tables are plain lists: indexing a list is a
specialised bytecode and returns a shared int object, where an ``array`` would box a new int
per lookup. Encryption keeps the block as four 16-bit halves, so FL and FO need no shifts or
masks, and reads its round keys from per-key tuples (:func:`encrypt_keys`, cached).
Key schedules are cached in bounded LRUs.

Blocks are 64-bit unsigned ints (big-endian reading of the 8 bytes); keys are 16 bytes.
"""

from __future__ import annotations

from functools import lru_cache

from sts.hazmat.tables import MISTY1_S7, MISTY1_S9

__all__ = ["MistyKeySchedule", "decrypt_block", "encrypt_block", "encrypt_keys", "key_schedule"]


def _build_fi_tables() -> tuple[list[int], list[int]]:
    """``first[x]``: FI's key-independent first half of ``x``, packed as ``d7 << 9 | d9``, so
    the key (``KIij7 << 9 | KIij9``) is one XOR; ``second[y]``: the rest of FI."""
    s7, s9 = MISTY1_S7, MISTY1_S9
    first: list[int] = []
    for x in range(65536):
        d9 = x >> 7
        d7 = x & 0x7F
        d9 = s9[d9] ^ d7
        d7 = (s7[d7] ^ d9) & 0x7F
        first.append((d7 << 9) | d9)
    second: list[int] = []
    for y in range(65536):
        d7 = y >> 9
        d9 = y & 0x1FF
        second.append((d7 << 9) | (s9[d9] ^ d7))
    return first, second


_FI_A, _FI_B = _build_fi_tables()


def _fi(x: int, k: int) -> int:
    return _FI_B[_FI_A[x] ^ k]


# A schedule: 8 FO round keys (ko1, ki1, ko2, ki2, ko3, ki3, ko4) and 10 FL key pairs (and_key, or_key).
MistyKeySchedule = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, int], ...]]


@lru_cache(maxsize=512)
def key_schedule(key: bytes) -> MistyKeySchedule:
    """Expand a 16-byte key (RFC 2994 section 2.2)."""
    if len(key) != 16:
        raise ValueError("MISTY1 key must be 16 bytes")
    ek = [int.from_bytes(key[2 * i : 2 * i + 2], "big") for i in range(8)]
    ekp = [_fi(ek[i], ek[(i + 1) % 8]) for i in range(8)]
    fo = tuple(
        (ek[k], ekp[(k + 5) % 8], ek[(k + 2) % 8], ekp[(k + 1) % 8], ek[(k + 7) % 8], ekp[(k + 3) % 8],
         ek[(k + 4) % 8])
        for k in range(8)
    )  # fmt: skip
    fl: list[tuple[int, int]] = []
    for k in range(10):
        if k % 2 == 0:
            t = k // 2
            fl.append((ek[t], ekp[(t + 6) % 8]))
        else:
            t = (k - 1) // 2
            fl.append((ekp[(t + 2) % 8], ek[(t + 4) % 8]))
    return fo, tuple(fl)


def _fo(x: int, rk: tuple[int, ...], fa: list[int] = _FI_A, fb: list[int] = _FI_B) -> int:
    ko1, ki1, ko2, ki2, ko3, ki3, ko4 = rk
    t0 = x >> 16
    t1 = x & 0xFFFF
    t0 = fb[fa[t0 ^ ko1] ^ ki1] ^ t1
    t1 = fb[fa[t1 ^ ko2] ^ ki2] ^ t0
    t0 = fb[fa[t0 ^ ko3] ^ ki3] ^ t1
    return ((t1 ^ ko4) << 16) | t0


def _fl(x: int, kp: tuple[int, int]) -> int:
    d0 = x >> 16
    d1 = (x & 0xFFFF) ^ (d0 & kp[0])
    return ((d0 ^ (d1 | kp[1])) << 16) | d1


def _fl_inv(x: int, kp: tuple[int, int]) -> int:
    d0 = (x >> 16) ^ ((x & 0xFFFF) | kp[1])
    d1 = (x & 0xFFFF) ^ (d0 & kp[0])
    return (d0 << 16) | d1


@lru_cache(maxsize=512)
def encrypt_keys(key: bytes) -> tuple[tuple[tuple[int, ...], ...], tuple[int, int, int, int]]:
    """The schedule flattened for :func:`encrypt_block`: per double round ``r`` (0, 2, 4, 6) one
    tuple of the 18 ints ``fl[r], fl[r + 1], fo[r], fo[r + 1]``; then ``fl[8] + fl[9]``."""
    fo, fl = key_schedule(key)
    rounds = tuple((*fl[r], *fl[r + 1], *fo[r], *fo[r + 1]) for r in (0, 2, 4, 6))
    return rounds, (*fl[8], *fl[9])


def encrypt_block(key: bytes, block: int) -> int:
    """Encrypt one 64-bit block (int) under a 16-byte key.

    The halves are ``d0 = a0:a1`` and ``d1 = c0:c1`` (16 bits each); FL and FO are inlined and
    each FI is two table lookups (see the module docstring).
    """
    rounds, (fl8a, fl8b, fl9a, fl9b) = encrypt_keys(key)
    fa, fb = _FI_A, _FI_B
    a0 = block >> 48
    a1 = (block >> 32) & 0xFFFF
    c0 = (block >> 16) & 0xFFFF
    c1 = block & 0xFFFF
    for fla, flb, flc, fld, ko1, ki1, ko2, ki2, ko3, ki3, ko4, kp1, kq1, kp2, kq2, kp3, kq3, kp4 in rounds:
        # FL on both halves.
        a1 ^= a0 & fla
        a0 ^= a1 | flb
        c1 ^= c0 & flc
        c0 ^= c1 | fld
        # Odd round: d1 ^= FO(d0).
        t0 = fb[fa[a0 ^ ko1] ^ ki1] ^ a1
        t1 = fb[fa[a1 ^ ko2] ^ ki2] ^ t0
        t0 = fb[fa[t0 ^ ko3] ^ ki3] ^ t1
        c0 ^= t1 ^ ko4
        c1 ^= t0
        # Even round: d0 ^= FO(d1).
        t0 = fb[fa[c0 ^ kp1] ^ kq1] ^ c1
        t1 = fb[fa[c1 ^ kp2] ^ kq2] ^ t0
        t0 = fb[fa[t0 ^ kp3] ^ kq3] ^ t1
        a0 ^= t1 ^ kp4
        a1 ^= t0
    # Final FL layer; the output is d1 || d0.
    a1 ^= a0 & fl8a
    a0 ^= a1 | fl8b
    c1 ^= c0 & fl9a
    c0 ^= c1 | fl9b
    return (c0 << 48) | (c1 << 32) | (a0 << 16) | a1


def decrypt_block(key: bytes, block: int) -> int:
    """Decrypt one 64-bit block (int) under a 16-byte key."""
    fo, fl = key_schedule(key)
    d1 = block >> 32
    d0 = block & 0xFFFFFFFF
    d0 = _fl_inv(d0, fl[8])
    d1 = _fl_inv(d1, fl[9])
    for r in (6, 4, 2, 0):
        d0 ^= _fo(d1, fo[r + 1])
        d1 ^= _fo(d0, fo[r])
        d0 = _fl_inv(d0, fl[r])
        d1 = _fl_inv(d1, fl[r + 1])
    return (d0 << 32) | d1
