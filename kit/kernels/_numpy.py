"""numpy reference implementations: the baseline every other backend must equal.

Written for clarity first: whole-array operations, one algorithm step per
line, mirroring the specifications. The entropy and bootstrap cores take an
array module ``xp`` so the cupy backend runs the same code on the GPU; the
bootstrap's is :func:`kit.stats.resampled_statistics`.

The xxHash cores hash all keys of one length at once: keys are grouped by
length, each group is gathered into a ``(keys, length)`` matrix, and the
algorithm's branches (which depend only on the length) become plain Python
control flow over whole columns.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import kit.kernels._xxh as _xxh
import kit.stats as _stats

U64 = np.uint64
_M32 = U64(0xFFFFFFFF)


def _u(x: int) -> np.uint64:
    return U64(x & _xxh.MASK64)


# --- entropy --------------------------------------------------------------------------

# Chunks keep numpy's bincount from widening the whole buffer to intp at once
# (8 bytes per input byte): 1 MiB of input costs an 8 MiB temporary.
_CHUNK = 1 << 20


def entropy_from_counts(counts: Any, lengths: Any, xp: Any = np) -> Any:
    """Shannon entropy in bits per byte of each row of byte counts.

    ``H = sum over c > 0 of (c / n) * log2(n / c)``; every term is >= 0, so
    the result is never ``-0.0``. Rows of length 0 give 0.
    """
    counts = counts.astype(xp.float64)
    n = xp.asarray(lengths, dtype=xp.float64)[:, None]
    safe_c = xp.where(counts > 0, counts, 1.0)
    safe_n = xp.where(n > 0, n, 1.0)
    terms = xp.where(counts > 0, (counts / safe_n) * xp.log2(safe_n / safe_c), 0.0)
    return terms.sum(axis=1)


def byte_counts(a: Any, xp: Any = np) -> Any:
    """Histogram of byte values (256 counts, int64)."""
    if xp is not np:
        return xp.bincount(a, minlength=256).astype(xp.int64)
    counts = np.zeros(256, dtype=np.int64)
    for i in range(0, a.size, _CHUNK):
        counts += np.bincount(a[i:i + _CHUNK], minlength=256)
    return counts


def block_counts(a: Any, block: int, xp: Any = np) -> tuple[Any, Any]:
    """Byte counts per block of ``block`` bytes (the last may be shorter) and the block lengths.

    For blocks of up to :data:`_CHUNK` bytes; :func:`entropy` feeds it a few
    thousand blocks at a time so the counts stay small.
    """
    n = a.size
    nfull = n // block
    nblocks = nfull + (1 if n % block else 0)
    counts = xp.zeros((nblocks, 256), dtype=xp.int64)
    lengths = xp.full(nblocks, block, dtype=xp.int64)
    if nfull:
        # Offsetting each block's bytes by 256 * block number lets one bincount count them all.
        part = a[:nfull * block].reshape(nfull, block).astype(xp.int64)
        part += (xp.arange(nfull, dtype=xp.int64) * 256)[:, None]
        counts[:nfull] = xp.bincount(part.ravel(), minlength=nfull * 256).reshape(nfull, 256)
    if nfull < nblocks:
        counts[nfull] = xp.bincount(a[nfull * block:], minlength=256)
        lengths[nfull] = n - nfull * block
    return counts, lengths


# Blocks counted per step: their counts (2 KiB each) stay under 8 MiB.
_ROWS = 4096


def entropy(a: Any, block: int | None, xp: Any = np) -> Any:
    """Entropy core: ``float`` for the whole buffer, ``float64`` array per block."""
    if block is None:
        if a.size == 0:
            return 0.0
        counts = byte_counts(a, xp)
        if xp is np:
            # One histogram: H = log2(n) - sum(c log2 c) / n over the 256 counts, half the cost of the
            # general per-row form (the compression probe calls this on 4 KiB samples). Clamped to
            # [0, 8]: the subtraction can leave a rounding residue of ~1e-16 either side.
            c = counts[counts > 0].astype(np.float64)
            h = math.log2(a.size) - float(np.dot(c, np.log2(c))) / a.size
            return min(8.0, max(0.0, h))
        return float(entropy_from_counts(counts[None, :], xp.asarray([a.size]), xp)[0])
    n = a.size
    nblocks = -(-n // block)
    out = xp.zeros(nblocks, dtype=xp.float64)
    if block >= _CHUNK:
        for b in range(nblocks):
            part = a[b * block:(b + 1) * block]
            out[b] = entropy_from_counts(byte_counts(part, xp)[None, :], xp.asarray([part.size]), xp)[0]
    else:
        rows = max(1, min(_CHUNK // block, _ROWS))
        for r0 in range(0, nblocks, rows):
            r1 = min(nblocks, r0 + rows)
            counts, lengths = block_counts(a[r0 * block:min(n, r1 * block)], block, xp)
            out[r0:r1] = entropy_from_counts(counts, lengths, xp)
    return out if xp is np else xp.asnumpy(out)


# --- xxHash -----------------------------------------------------------------------------

_P1, _P2, _P3, _P4, _P5 = (U64(p) for p in (_xxh.PRIME64_1, _xxh.PRIME64_2, _xxh.PRIME64_3,
                                              _xxh.PRIME64_4, _xxh.PRIME64_5))
_P32_1, _P32_2, _P32_3 = U64(_xxh.PRIME32_1), U64(_xxh.PRIME32_2), U64(_xxh.PRIME32_3)
_MX1, _MX2 = U64(_xxh.PRIME_MX1), U64(_xxh.PRIME_MX2)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << U64(r)) | (x >> U64(64 - r))


def _r64(rows: np.ndarray, p: int) -> np.ndarray:
    """Little-endian 64-bit words at byte ``p`` of every row."""
    return np.ascontiguousarray(rows[:, p:p + 8]).view("<u8")[:, 0].astype(U64)


def _r32(rows: np.ndarray, p: int) -> np.ndarray:
    return np.ascontiguousarray(rows[:, p:p + 4]).view("<u4")[:, 0].astype(U64)


def _swap64(x: np.ndarray) -> np.ndarray:
    return x.byteswap()


def _avalanche64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> U64(33))
    h = h * _P2
    h = h ^ (h >> U64(29))
    h = h * _P3
    return h ^ (h >> U64(32))


def _round(acc: np.ndarray, lane: np.ndarray) -> np.ndarray:
    acc = acc + lane * _P2
    return _rotl(acc, 31) * _P1


def _merge_round(acc: np.ndarray, val: np.ndarray) -> np.ndarray:
    acc = acc ^ _round(np.zeros_like(val), val)
    return acc * _P1 + _P4


def xxh64_rows(rows: np.ndarray, seed: int) -> np.ndarray:
    """XXH64 of every row of a ``(keys, length)`` uint8 matrix (all keys of one length)."""
    m, n = rows.shape
    p = 0
    if n >= 32:
        v1 = np.full(m, _u(seed + _xxh.PRIME64_1 + _xxh.PRIME64_2), U64)
        v2 = np.full(m, _u(seed + _xxh.PRIME64_2), U64)
        v3 = np.full(m, _u(seed), U64)
        v4 = np.full(m, _u(seed - _xxh.PRIME64_1), U64)
        while p + 32 <= n:
            v1 = _round(v1, _r64(rows, p))
            v2 = _round(v2, _r64(rows, p + 8))
            v3 = _round(v3, _r64(rows, p + 16))
            v4 = _round(v4, _r64(rows, p + 24))
            p += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        for v in (v1, v2, v3, v4):
            h = _merge_round(h, v)
    else:
        h = np.full(m, _u(seed + _xxh.PRIME64_5), U64)
    h = h + U64(n)
    while p + 8 <= n:
        h = h ^ _round(np.zeros(m, U64), _r64(rows, p))
        h = _rotl(h, 27) * _P1 + _P4
        p += 8
    if p + 4 <= n:
        h = h ^ (_r32(rows, p) * _P1)
        h = _rotl(h, 23) * _P2 + _P3
        p += 4
    while p < n:
        h = h ^ (rows[:, p].astype(U64) * _P5)
        h = _rotl(h, 11) * _P1
        p += 1
    return _avalanche64(h)


def _xxh3_avalanche(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> U64(37))
    h = h * _MX1
    return h ^ (h >> U64(32))


def _mul128_fold64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Low 64 bits xor high 64 bits of the 128-bit product, from 32-bit halves."""
    a_lo, a_hi, b_lo, b_hi = a & _M32, a >> U64(32), b & _M32, b >> U64(32)
    lo_lo, hi_lo, lo_hi, hi_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi, a_hi * b_hi
    cross = (lo_lo >> U64(32)) + (hi_lo & _M32) + lo_hi
    upper = (hi_lo >> U64(32)) + (cross >> U64(32)) + hi_hi
    lower = (cross << U64(32)) | (lo_lo & _M32)
    return lower ^ upper


def _s64(secret: bytes, q: int) -> np.uint64:
    return U64(int.from_bytes(secret[q:q + 8], "little"))


def _mix16(rows: np.ndarray, p: int, secret: bytes, q: int, seed: int) -> np.ndarray:
    lo = _r64(rows, p) ^ _u(int(_s64(secret, q)) + seed)
    hi = _r64(rows, p + 8) ^ _u(int(_s64(secret, q + 8)) - seed)
    return _mul128_fold64(lo, hi)


def _xxh3_long(rows: np.ndarray, secret: bytes) -> np.ndarray:
    m, n = rows.shape
    acc = [np.full(m, U64(v), U64) for v in (_xxh.PRIME32_3, _xxh.PRIME64_1, _xxh.PRIME64_2, _xxh.PRIME64_3,
                                             _xxh.PRIME64_4, _xxh.PRIME32_2, _xxh.PRIME64_5, _xxh.PRIME32_1)]

    def accumulate(p: int, q: int) -> None:
        vals = [_r64(rows, p + 8 * i) for i in range(8)]
        for i in range(8):
            key = vals[i] ^ _s64(secret, q + 8 * i)
            acc[i ^ 1] += vals[i]
            acc[i] += (key & _M32) * (key >> U64(32))

    stripes_per_block = (len(secret) - 64) // 8
    block_len = 64 * stripes_per_block
    nb_blocks = (n - 1) // block_len
    for b in range(nb_blocks):
        for s in range(stripes_per_block):
            accumulate(b * block_len + 64 * s, 8 * s)
        for i in range(8):  # scramble
            a = acc[i] ^ (acc[i] >> U64(47))
            acc[i] = (a ^ _s64(secret, len(secret) - 64 + 8 * i)) * _P32_1
    for s in range(((n - 1) - block_len * nb_blocks) // 64):
        accumulate(nb_blocks * block_len + 64 * s, 8 * s)
    accumulate(n - 64, len(secret) - 64 - 7)
    result = np.full(m, _u(n * _xxh.PRIME64_1), U64)
    for i in range(4):
        result += _mul128_fold64(acc[2 * i] ^ _s64(secret, 11 + 16 * i), acc[2 * i + 1] ^ _s64(secret, 11 + 16 * i + 8))
    return _xxh3_avalanche(result)


def xxh3_rows(rows: np.ndarray, seed: int, long_secret: bytes) -> np.ndarray:
    """XXH3-64 of every row of a ``(keys, length)`` uint8 matrix."""
    m, n = rows.shape
    ks = _xxh.KSECRET
    if n == 0:
        return _avalanche64(np.full(m, _u(seed ^ int(_s64(ks, 56)) ^ int(_s64(ks, 64))), U64))
    if n <= 3:
        c1, c2, c3 = (rows[:, i].astype(U64) for i in (0, n >> 1, n - 1))
        combined = (c1 << U64(16)) | (c2 << U64(24)) | c3 | U64(n << 8)
        bitflip = _u((int.from_bytes(ks[0:4], "little") ^ int.from_bytes(ks[4:8], "little")) + seed)
        return _avalanche64(combined ^ bitflip)
    if n <= 8:
        s32 = seed & 0xFFFFFFFF
        seed2 = seed ^ (int.from_bytes(s32.to_bytes(4, "little"), "big") << 32)
        bitflip = _u((int(_s64(ks, 8)) ^ int(_s64(ks, 16))) - seed2)
        x = (_r32(rows, n - 4) + (_r32(rows, 0) << U64(32))) ^ bitflip
        x = x ^ (_rotl(x, 49) ^ _rotl(x, 24))  # rrmxmx
        x = x * _MX2
        x = x ^ ((x >> U64(35)) + U64(n))
        x = x * _MX2
        return x ^ (x >> U64(28))
    if n <= 16:
        lo = _r64(rows, 0) ^ _u((int(_s64(ks, 24)) ^ int(_s64(ks, 32))) + seed)
        hi = _r64(rows, n - 8) ^ _u((int(_s64(ks, 40)) ^ int(_s64(ks, 48))) - seed)
        acc = U64(n) + _swap64(lo) + hi + _mul128_fold64(lo, hi)
        return _xxh3_avalanche(acc)
    if n <= 128:
        acc = np.full(m, _u(n * _xxh.PRIME64_1), U64)
        pairs = [(0, 0)]
        if n > 32:
            pairs.append((16, 32))
        if n > 64:
            pairs.append((32, 64))
        if n > 96:
            pairs.append((48, 96))
        for k, (p, q) in enumerate(pairs):
            acc += _mix16(rows, p, ks, q, seed)
            acc += _mix16(rows, n - 16 - p, ks, q + 16, seed)
        return _xxh3_avalanche(acc)
    if n <= _xxh.XXH3_MIDSIZE_MAX:
        acc = np.full(m, _u(n * _xxh.PRIME64_1), U64)
        for i in range(8):
            acc += _mix16(rows, 16 * i, ks, 16 * i, seed)
        acc_end = _mix16(rows, n - 16, ks, 136 - 17, seed)
        acc = _xxh3_avalanche(acc)
        for i in range(8, n // 16):
            acc_end += _mix16(rows, 16 * i, ks, 16 * (i - 8) + 3, seed)
        return _xxh3_avalanche(acc + acc_end)
    return _xxh3_long(rows, long_secret)


# Rows gathered per step, so a group of many long keys never builds a huge matrix.
_GATHER_BYTES = 1 << 22


def fingerprint(offsets: np.ndarray, data: np.ndarray, seed: int, algorithm: str) -> np.ndarray:
    """Fingerprints of all keys: grouped by length, hashed a group at a time."""
    n = offsets.size - 1
    out = np.empty(n, dtype=U64)
    if n == 0:
        return out
    long_secret = _xxh.custom_secret(seed) if algorithm == "xxh3_64" and seed else _xxh.KSECRET
    lengths = np.diff(offsets)
    order = np.argsort(lengths, kind="stable")
    sorted_len = lengths[order]
    uniq, first = np.unique(sorted_len, return_index=True)
    bounds = list(first) + [n]
    with np.errstate(over="ignore"):
        for j, length in enumerate(uniq.tolist()):
            members = order[bounds[j]:bounds[j + 1]]
            step = max(1, _GATHER_BYTES // max(length, 1))
            for s in range(0, members.size, step):
                idx = members[s:s + step]
                rows = data[offsets[idx][:, None] + np.arange(length, dtype=np.int64)[None, :]]
                if algorithm == "xxh64":
                    out[idx] = xxh64_rows(rows, seed)
                else:
                    out[idx] = xxh3_rows(rows, seed, long_secret)
    return out


# --- bootstrap ---------------------------------------------------------------------------

#: The bootstrap's numpy reference is kit.stats' (the measurements use the same resamples); cupy
#: passes ``xp=cp`` to run it on the GPU.
bootstrap_stats = _stats.resampled_statistics
