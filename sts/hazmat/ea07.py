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

from collections.abc import Callable
from functools import lru_cache
from operator import getitem
from types import FunctionType
from typing import cast

from sts.hazmat.tables import PRODUCTION, StaTables

__all__ = [
    "Schedule",
    "decrypt_block",
    "encrypt_block",
    "encrypt_schedule",
    "encrypt_with_schedule",
    "encryptor",
]

_MASK64 = (1 << 64) - 1
_LOW_BIT_OF_BYTES = 0x0101010101010101

Table = tuple[int, ...]
RoundTables = tuple[Table, Table, Table, Table, Table, Table, Table, Table]
# Encryption schedule: 16 rounds x 8 byte positions, flattened (round-major) to 128 tables.
Schedule = tuple[Table, ...]


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
    out: list[Table] = []
    for rk in _round_keys(_key_int(key)):
        # Byte j of ``choice`` is the S-box choice for byte position j (see _choices).
        choice = ((rk >> 3) & _LOW_BIT_OF_BYTES) | ((rk >> 6) & (_LOW_BIT_OF_BYTES << 1))
        out += map(getitem, comb, choice.to_bytes(8, "little"))
    return tuple(out)


@lru_cache(maxsize=256)
def _decrypt_schedule(
    key: bytes | int, tables: StaTables
) -> tuple[tuple[RoundTables, ...], tuple[Table, ...]]:
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
    return cast(tuple[RoundTables, ...], tuple(chained)), last


def encrypt_block(key: bytes | int, block: int, tables: StaTables = PRODUCTION) -> int:
    """Encrypt a 64-bit block (int) under a 64-bit key (8 bytes big-endian, or int)."""
    if tables is PRODUCTION:
        return encryptor(key)(block)
    return encrypt_with_schedule(encrypt_schedule(key, tables), block)


def encrypt_with_schedule(schedule: Schedule, block: int) -> int:
    """Encrypt with a precomputed schedule (see :func:`encrypt_schedule`)."""
    return _sta16(block, *schedule)


@lru_cache(maxsize=1024)
def encryptor(key: bytes | int) -> Callable[[int], int]:
    """``block -> ciphertext`` for ``key`` with the production tables (cached, bounded LRU); the
    hot path of EA07 token generation.

    It is :func:`_sta16` with the key's 128 schedule tables bound as the default values of its
    table parameters: a call then passes one argument, and the tables are read as fast locals.
    """
    fn = FunctionType(_sta16.__code__, _sta16.__globals__, "sta_encrypt", encrypt_schedule(key))
    return cast(Callable[[int], int], fn)


# fmt: off
def _sta16(
    x: int,
    a0: Table, a1: Table, a2: Table, a3: Table, a4: Table, a5: Table, a6: Table, a7: Table,
    b0: Table, b1: Table, b2: Table, b3: Table, b4: Table, b5: Table, b6: Table, b7: Table,
    c0: Table, c1: Table, c2: Table, c3: Table, c4: Table, c5: Table, c6: Table, c7: Table,
    d0: Table, d1: Table, d2: Table, d3: Table, d4: Table, d5: Table, d6: Table, d7: Table,
    e0: Table, e1: Table, e2: Table, e3: Table, e4: Table, e5: Table, e6: Table, e7: Table,
    f0: Table, f1: Table, f2: Table, f3: Table, f4: Table, f5: Table, f6: Table, f7: Table,
    g0: Table, g1: Table, g2: Table, g3: Table, g4: Table, g5: Table, g6: Table, g7: Table,
    h0: Table, h1: Table, h2: Table, h3: Table, h4: Table, h5: Table, h6: Table, h7: Table,
    i0: Table, i1: Table, i2: Table, i3: Table, i4: Table, i5: Table, i6: Table, i7: Table,
    j0: Table, j1: Table, j2: Table, j3: Table, j4: Table, j5: Table, j6: Table, j7: Table,
    k0: Table, k1: Table, k2: Table, k3: Table, k4: Table, k5: Table, k6: Table, k7: Table,
    l0: Table, l1: Table, l2: Table, l3: Table, l4: Table, l5: Table, l6: Table, l7: Table,
    m0: Table, m1: Table, m2: Table, m3: Table, m4: Table, m5: Table, m6: Table, m7: Table,
    n0: Table, n1: Table, n2: Table, n3: Table, n4: Table, n5: Table, n6: Table, n7: Table,
    o0: Table, o1: Table, o2: Table, o3: Table, o4: Table, o5: Table, o6: Table, o7: Table,
    p0: Table, p1: Table, p2: Table, p3: Table, p4: Table, p5: Table, p6: Table, p7: Table,
) -> int:
    """The 16 rounds as straight-line code over a schedule's 128 tables: round ``n`` uses the
    tables named with the ``n``-th letter, ``a0..a7`` first and ``p0..p7`` last; ``vj`` is byte
    ``j`` of the state. ``int.to_bytes(8)`` is big-endian (the 3.11 default): ``v0`` comes last."""
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = a0[v0] + a1[v1] + a2[v2] + a3[v3] + a4[v4] + a5[v5] + a6[v6] + a7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = b0[v0] + b1[v1] + b2[v2] + b3[v3] + b4[v4] + b5[v5] + b6[v6] + b7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = c0[v0] + c1[v1] + c2[v2] + c3[v3] + c4[v4] + c5[v5] + c6[v6] + c7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = d0[v0] + d1[v1] + d2[v2] + d3[v3] + d4[v4] + d5[v5] + d6[v6] + d7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = e0[v0] + e1[v1] + e2[v2] + e3[v3] + e4[v4] + e5[v5] + e6[v6] + e7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = f0[v0] + f1[v1] + f2[v2] + f3[v3] + f4[v4] + f5[v5] + f6[v6] + f7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = g0[v0] + g1[v1] + g2[v2] + g3[v3] + g4[v4] + g5[v5] + g6[v6] + g7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = h0[v0] + h1[v1] + h2[v2] + h3[v3] + h4[v4] + h5[v5] + h6[v6] + h7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = i0[v0] + i1[v1] + i2[v2] + i3[v3] + i4[v4] + i5[v5] + i6[v6] + i7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = j0[v0] + j1[v1] + j2[v2] + j3[v3] + j4[v4] + j5[v5] + j6[v6] + j7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = k0[v0] + k1[v1] + k2[v2] + k3[v3] + k4[v4] + k5[v5] + k6[v6] + k7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = l0[v0] + l1[v1] + l2[v2] + l3[v3] + l4[v4] + l5[v5] + l6[v6] + l7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = m0[v0] + m1[v1] + m2[v2] + m3[v3] + m4[v4] + m5[v5] + m6[v6] + m7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = n0[v0] + n1[v1] + n2[v2] + n3[v3] + n4[v4] + n5[v5] + n6[v6] + n7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = o0[v0] + o1[v1] + o2[v2] + o3[v3] + o4[v4] + o5[v5] + o6[v6] + o7[v7]
    v7, v6, v5, v4, v3, v2, v1, v0 = x.to_bytes(8)
    x = p0[v0] + p1[v1] + p2[v2] + p3[v3] + p4[v4] + p5[v5] + p6[v6] + p7[v7]
    return x
# fmt: on


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
