"""EA11: MISTY1 block cipher (RFC 2994), 128-bit key, 64-bit block, 8 rounds. Pure Python.

Speed: the FI function is split into two key-independent 65536-entry tables so that
``FI(x, k) == _FI_B[_FI_A[x] ^ k]`` (the key mixing in FI is an XOR of the 16-bit key into the
intermediate ``d7 << 9 | d9`` value). Key schedules are cached in a bounded LRU.

Blocks are 64-bit unsigned ints (big-endian reading of the 8 bytes); keys are 16 bytes.
"""

from __future__ import annotations

from array import array
from functools import lru_cache

from sts.hazmat.tables import MISTY1_S7, MISTY1_S9

__all__ = ["MistyKeySchedule", "decrypt_block", "encrypt_block", "key_schedule"]


def _build_fi_tables() -> tuple[array[int], array[int]]:
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
    # Compact unsigned-short arrays: far fewer cache misses than tuples of int objects.
    return array("H", first), array("H", second)


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


def _fo(x: int, rk: tuple[int, ...], fa: array[int] = _FI_A, fb: array[int] = _FI_B) -> int:
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


def encrypt_block(key: bytes, block: int) -> int:
    """Encrypt one 64-bit block (int) under a 16-byte key (FO and FL inlined for speed)."""
    fo, fl = key_schedule(key)
    fa, fb = _FI_A, _FI_B
    d0 = block >> 32
    d1 = block & 0xFFFFFFFF
    for r in (0, 2, 4, 6):
        ka, ko = fl[r]
        lo = (d0 & 0xFFFF) ^ ((d0 >> 16) & ka)
        d0 = (((d0 >> 16) ^ (lo | ko)) << 16) | lo
        ka, ko = fl[r + 1]
        lo = (d1 & 0xFFFF) ^ ((d1 >> 16) & ka)
        d1 = (((d1 >> 16) ^ (lo | ko)) << 16) | lo
        ko1, ki1, ko2, ki2, ko3, ki3, ko4 = fo[r]
        t1 = d0 & 0xFFFF
        t0 = fb[fa[(d0 >> 16) ^ ko1] ^ ki1] ^ t1
        t1 = fb[fa[t1 ^ ko2] ^ ki2] ^ t0
        t0 = fb[fa[t0 ^ ko3] ^ ki3] ^ t1
        d1 ^= ((t1 ^ ko4) << 16) | t0
        ko1, ki1, ko2, ki2, ko3, ki3, ko4 = fo[r + 1]
        t1 = d1 & 0xFFFF
        t0 = fb[fa[(d1 >> 16) ^ ko1] ^ ki1] ^ t1
        t1 = fb[fa[t1 ^ ko2] ^ ki2] ^ t0
        t0 = fb[fa[t0 ^ ko3] ^ ki3] ^ t1
        d0 ^= ((t1 ^ ko4) << 16) | t0
    d0 = _fl(d0, fl[8])
    d1 = _fl(d1, fl[9])
    return (d1 << 32) | d0


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
