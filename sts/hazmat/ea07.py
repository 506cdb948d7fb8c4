"""EA07: the STS Standard Transfer Algorithm (STA), 64-bit key, 64-bit block.

Conventions: bit ``i`` of a block has weight ``2**i``; the decoder key is the 8 key bytes read
big-endian (the byte order DES/HMAC output them; never byte-reversed).

Algorithm (per ``SPEC.md`` section 6.1): ``k = ROTR64(~K, 12)``; 16 rounds of (substitute every
nibble ``n`` with S1 if bit ``4n+3`` of ``k`` is 0 else S2; permute bit ``i`` to bit ``P[i]``;
``k = ROTL64(k, 1)``).

Speed: a round is computed byte-wise. For byte position ``j`` and each of the four S-box
choices for its two nibbles, a key-independent 256-entry table maps the byte to its substituted
*and* permuted 64-bit contribution. A key schedule is then just the choice of one table per byte
per round (16 x 8 table references), cached in a small bounded LRU.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from sts.hazmat.tables import PRODUCTION, StaTables

__all__ = ["Schedule", "decrypt_block", "encrypt_block", "encrypt_schedule", "encrypt_with_schedule"]

_MASK64 = (1 << 64) - 1

Table = tuple[int, ...]
RoundTables = tuple[Table, Table, Table, Table, Table, Table, Table, Table]
Schedule = tuple[RoundTables, ...]


def _permute_table(perm: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """For byte position j: value b -> the permuted image of (b << 8j)."""
    out = []
    for j in range(8):
        row = []
        for b in range(256):
            v = 0
            for bit in range(8):
                if (b >> bit) & 1:
                    v |= 1 << perm[8 * j + bit]
            row.append(v)
        out.append(tuple(row))
    return tuple(out)


def _sub_byte(b: int, lo_box: tuple[int, ...], hi_box: tuple[int, ...]) -> int:
    return (hi_box[b >> 4] << 4) | lo_box[b & 0xF]


@lru_cache(maxsize=4)
def _combined_tables(tables: StaTables, inverse: bool) -> tuple[tuple[Table, ...], ...]:
    """[j][choice] -> 256-entry table. choice bit 0: low nibble uses box 2; bit 1: high nibble.

    Forward: substitute then permute. Inverse: inverse-substitute then inverse-permute
    (used for the chained decryption rounds).
    """
    if inverse:
        boxes = (tables.s1_inv, tables.s2_inv)
        perm = _permute_table(tables.p_inv)
    else:
        boxes = (tables.s1, tables.s2)
        perm = _permute_table(tables.p)
    out = []
    for j in range(8):
        per_choice = []
        for choice in range(4):
            lo_box = boxes[choice & 1]
            hi_box = boxes[choice >> 1]
            per_choice.append(tuple(perm[j][_sub_byte(b, lo_box, hi_box)] for b in range(256)))
        out.append(tuple(per_choice))
    return tuple(out)


@lru_cache(maxsize=4)
def _inverse_subst_tables(tables: StaTables) -> tuple[tuple[int, ...], ...]:
    """[choice] -> 256-entry byte substitution table (inverse boxes), for the last decryption step."""
    boxes = (tables.s1_inv, tables.s2_inv)
    return tuple(tuple(_sub_byte(b, boxes[c & 1], boxes[c >> 1]) for b in range(256)) for c in range(4))


@lru_cache(maxsize=4)
def _inverse_permutation_tables(tables: StaTables) -> tuple[tuple[int, ...], ...]:
    return _permute_table(tables.p_inv)


def _round_keys(key: int) -> list[int]:
    k = (~key) & _MASK64
    k = ((k >> 12) | (k << 52)) & _MASK64
    out = []
    for _ in range(16):
        out.append(k)
        k = ((k << 1) | (k >> 63)) & _MASK64
    return out


def _choices(round_key: int) -> list[int]:
    """S-box choice per byte position: bit 0 <- key bit 8j+3, bit 1 <- key bit 8j+7."""
    return [((round_key >> (8 * j + 3)) & 1) | (((round_key >> (8 * j + 7)) & 1) << 1) for j in range(8)]


def _key_int(key: bytes | int) -> int:
    if isinstance(key, int):
        if not 0 <= key <= _MASK64:
            raise ValueError("EA07 key must be a 64-bit unsigned integer")
        return key
    if len(key) != 8:
        raise ValueError("EA07 key must be 8 bytes")
    return int.from_bytes(key, "big")


@lru_cache(maxsize=1024)
def encrypt_schedule(key: bytes | int, tables: StaTables = PRODUCTION) -> Schedule:
    """Per-round table references for encryption under ``key`` (cached, bounded LRU)."""
    comb = _combined_tables(tables, False)
    sched = []
    for rk in _round_keys(_key_int(key)):
        ch = _choices(rk)
        sched.append(tuple(comb[j][ch[j]] for j in range(8)))
    return cast(Schedule, tuple(sched))


@lru_cache(maxsize=256)
def _decrypt_schedule(key: bytes | int, tables: StaTables) -> tuple[Schedule, tuple[Table, ...]]:
    comb = _combined_tables(tables, True)
    sub = _inverse_subst_tables(tables)
    rks = _round_keys(_key_int(key))
    chained = []
    # Rounds r = 15..1: inverse-substitute with round key r, then inverse-permute (start of round r-1).
    for r in range(15, 0, -1):
        ch = _choices(rks[r])
        chained.append(tuple(comb[j][ch[j]] for j in range(8)))
    ch0 = _choices(rks[0])
    last = tuple(sub[ch0[j]] for j in range(8))
    return cast(Schedule, tuple(chained)), last


def encrypt_block(key: bytes | int, block: int, tables: StaTables = PRODUCTION) -> int:
    """Encrypt a 64-bit block (int) under a 64-bit key (8 bytes big-endian, or int)."""
    return encrypt_with_schedule(encrypt_schedule(key, tables), block)


def encrypt_with_schedule(schedule: Schedule, block: int) -> int:
    """Encrypt with a precomputed schedule (see :func:`encrypt_schedule`); the hot path."""
    x = block
    for t0, t1, t2, t3, t4, t5, t6, t7 in schedule:
        b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
        x = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
    return x


def decrypt_block(key: bytes | int, block: int, tables: StaTables = PRODUCTION) -> int:
    """Decrypt a 64-bit block (int) under a 64-bit key."""
    chained, last = _decrypt_schedule(key, tables)
    p = _inverse_permutation_tables(tables)
    b = block.to_bytes(8, "little")
    x = p[0][b[0]] | p[1][b[1]] | p[2][b[2]] | p[3][b[3]] | p[4][b[4]] | p[5][b[5]] | p[6][b[6]] | p[7][b[7]]
    for t0, t1, t2, t3, t4, t5, t6, t7 in chained:
        b = x.to_bytes(8, "little")
        x = t0[b[0]] | t1[b[1]] | t2[b[2]] | t3[b[3]] | t4[b[4]] | t5[b[5]] | t6[b[6]] | t7[b[7]]
    b = x.to_bytes(8, "little")
    return int.from_bytes(bytes(last[j][b[j]] for j in range(8)), "little")
