"""numba kernels for the CPU, and the scalar device code shared with the CUDA target.

Imported only when the ``numba``, ``numba.parallel`` (or ``cuda``) backend is
first used, never by ``import kit``. Two CPU backends share these kernels:
``numba`` runs them on one core, ``numba.parallel`` on all cores for large
inputs; which one a call uses is the engine's measured choice, not a guess
made per call from the machine's load (see :func:`_parallel`). The
``@njit(cache=True)`` kernels compile on first call and are
cached on disk, so a later process loads machine code instead of compiling;
:func:`warm` makes that first call on tiny inputs, timing it, so compile time is
reported apart from steady state (:func:`kit.kernels.compile_times`).

The scalar functions (xxHash lanes and rounds, SplitMix64, the median from
counts) are ``register_jitable``: plain Python that numba compiles into
whichever target calls it, so the CPU and CUDA kernels run literally the same
hashing and sampling code. The CPU's XXH64 adds a block form for keys under
96 bytes that LLVM vectorises across keys (:func:`xxh64_range`).
All arithmetic is on ``uint64`` (numba turns ``uint64 + int64`` into a float),
hence the ``U(...)`` casts and ``uint64`` constants.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

import kit.kernels._surface as _surface
import kit.kernels._xxh as _xxh
import kit.stats as _stats

U = np.uint64
M32 = U(0xFFFFFFFF)
P1, P2, P3, P4, P5 = U(_xxh.PRIME64_1), U(_xxh.PRIME64_2), U(_xxh.PRIME64_3), U(_xxh.PRIME64_4), U(_xxh.PRIME64_5)
P32_1, P32_2, P32_3 = U(_xxh.PRIME32_1), U(_xxh.PRIME32_2), U(_xxh.PRIME32_3)
MX1, MX2 = U(_xxh.PRIME_MX1), U(_xxh.PRIME_MX2)
GAMMA, MIX1, MIX2 = U(_stats.SPLITMIX_GAMMA), U(_stats.SPLITMIX_MIX1), U(_stats.SPLITMIX_MIX2)
ZERO = U(0)


# --- scalar code shared by the CPU and CUDA targets ------------------------------------

@register_jitable
def rotl(x, r):
    return (x << U(r)) | (x >> U(64 - r))


@register_jitable
def read64(d, p):
    # Byte by byte: keys sit at any offset, and GPUs fault on unaligned words.
    # The unsigned index spares numba's negative-index wraparound, which lets
    # LLVM merge the eight loads into one on the CPU.
    q = U(p)
    return (U(d[q]) | (U(d[q + U(1)]) << U(8)) | (U(d[q + U(2)]) << U(16)) | (U(d[q + U(3)]) << U(24))
            | (U(d[q + U(4)]) << U(32)) | (U(d[q + U(5)]) << U(40)) | (U(d[q + U(6)]) << U(48))
            | (U(d[q + U(7)]) << U(56)))


@register_jitable
def read32(d, p):
    q = U(p)
    return U(d[q]) | (U(d[q + U(1)]) << U(8)) | (U(d[q + U(2)]) << U(16)) | (U(d[q + U(3)]) << U(24))


@register_jitable
def avalanche64(h):
    h = h ^ (h >> U(33))
    h = h * P2
    h = h ^ (h >> U(29))
    h = h * P3
    return h ^ (h >> U(32))


@register_jitable
def xxh64_round(acc, lane):
    acc = acc + lane * P2
    return rotl(acc, 31) * P1


@register_jitable
def xxh64_merge(acc, val):
    acc = acc ^ xxh64_round(ZERO, val)
    return acc * P1 + P4


@register_jitable
def select(cond, a, b):
    """``a if cond else b`` without a branch (a mask), so it cannot be mispredicted."""
    m = U(0) - U(cond)
    return (a & m) | (b & ~m)


@register_jitable
def xxh64(d, p, n, seed):
    """XXH64 of ``d[p:p + n]``; ``d`` must hold at least 8 bytes (callers pad tiny buffers).

    The tail (under 32 bytes) always runs its longest form, 3 words, 1 half
    word and 3 bytes, and keeps each step's result only where the key has
    those bytes: keys of mixed lengths would otherwise mispredict several
    branches per key, which costs more than the extra arithmetic (about 16
    instead of 23 ns per key of 8-64 bytes). Reads past the key are clamped
    inside ``d`` and their results discarded.
    """
    end = p + n
    size = d.size
    if n >= 32:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        while p + 32 <= end:
            v1 = xxh64_round(v1, read64(d, p))
            v2 = xxh64_round(v2, read64(d, p + 8))
            v3 = xxh64_round(v3, read64(d, p + 16))
            v4 = xxh64_round(v4, read64(d, p + 24))
            p += 32
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
        h = xxh64_merge(h, v1)
        h = xxh64_merge(h, v2)
        h = xxh64_merge(h, v3)
        h = xxh64_merge(h, v4)
    else:
        h = seed + P5
    h = h + U(n)
    r = end - p
    words = r >> 3
    for step in range(3):
        lane = read64(d, min(p + 8 * step, size - 8))
        h = select(step < words, rotl(h ^ xxh64_round(ZERO, lane), 27) * P1 + P4, h)
    p += 8 * words
    h = select((r & 4) != 0, rotl(h ^ (read32(d, min(p, size - 4)) * P1), 23) * P2 + P3, h)
    p += r & 4
    for step in range(3):
        byte = d[U(min(p + step, size - 1))]
        h = select(step < (r & 3), rotl(h ^ (U(byte) * P5), 11) * P1, h)
    return avalanche64(h)


@register_jitable
def xxh3_avalanche(h):
    h = h ^ (h >> U(37))
    h = h * MX1
    return h ^ (h >> U(32))


@register_jitable
def mul128_fold64(a, b):
    a_lo = a & M32
    a_hi = a >> U(32)
    b_lo = b & M32
    b_hi = b >> U(32)
    lo_lo = a_lo * b_lo
    hi_lo = a_hi * b_lo
    lo_hi = a_lo * b_hi
    hi_hi = a_hi * b_hi
    cross = (lo_lo >> U(32)) + (hi_lo & M32) + lo_hi
    upper = (hi_lo >> U(32)) + (cross >> U(32)) + hi_hi
    lower = (cross << U(32)) | (lo_lo & M32)
    return lower ^ upper


@register_jitable
def mix16(d, p, s, q, seed):
    lo = read64(d, p) ^ (read64(s, q) + seed)
    hi = read64(d, p + 8) ^ (read64(s, q + 8) - seed)
    return mul128_fold64(lo, hi)


@register_jitable
def lane(d, p, s, q):
    v = read64(d, p)
    k = v ^ read64(s, q)
    return v, (k & M32) * (k >> U(32))


@register_jitable
def accumulate512(d, p, s, q, a0, a1, a2, a3, a4, a5, a6, a7):
    # Eight accumulators as scalars, not an array: no allocation per key on
    # the CPU, and registers rather than local memory on a GPU.
    v0, m0 = lane(d, p, s, q)
    v1, m1 = lane(d, p + 8, s, q + 8)
    v2, m2 = lane(d, p + 16, s, q + 16)
    v3, m3 = lane(d, p + 24, s, q + 24)
    v4, m4 = lane(d, p + 32, s, q + 32)
    v5, m5 = lane(d, p + 40, s, q + 40)
    v6, m6 = lane(d, p + 48, s, q + 48)
    v7, m7 = lane(d, p + 56, s, q + 56)
    return (a0 + v1 + m0, a1 + v0 + m1, a2 + v3 + m2, a3 + v2 + m3,
            a4 + v5 + m4, a5 + v4 + m5, a6 + v7 + m6, a7 + v6 + m7)


@register_jitable
def scramble(a, s, q):
    a = a ^ (a >> U(47))
    return (a ^ read64(s, q)) * P32_1


@register_jitable
def xxh3_long(d, p, n, s):
    a0, a1, a2, a3 = U(_xxh.PRIME32_3), P1, P2, P3
    a4, a5, a6, a7 = P4, U(_xxh.PRIME32_2), P5, U(_xxh.PRIME32_1)
    nb_blocks = (n - 1) // 1024  # 16 stripes of 64 bytes per block with a 192-byte secret
    for b in range(nb_blocks):
        base = p + b * 1024
        for st in range(16):
            a0, a1, a2, a3, a4, a5, a6, a7 = accumulate512(d, base + 64 * st, s, 8 * st,
                                                           a0, a1, a2, a3, a4, a5, a6, a7)
        a0 = scramble(a0, s, 128)
        a1 = scramble(a1, s, 136)
        a2 = scramble(a2, s, 144)
        a3 = scramble(a3, s, 152)
        a4 = scramble(a4, s, 160)
        a5 = scramble(a5, s, 168)
        a6 = scramble(a6, s, 176)
        a7 = scramble(a7, s, 184)
    base = p + nb_blocks * 1024
    for st in range(((n - 1) - 1024 * nb_blocks) // 64):
        a0, a1, a2, a3, a4, a5, a6, a7 = accumulate512(d, base + 64 * st, s, 8 * st,
                                                       a0, a1, a2, a3, a4, a5, a6, a7)
    a0, a1, a2, a3, a4, a5, a6, a7 = accumulate512(d, p + n - 64, s, 121, a0, a1, a2, a3, a4, a5, a6, a7)
    r = U(n) * P1
    r += mul128_fold64(a0 ^ read64(s, 11), a1 ^ read64(s, 19))
    r += mul128_fold64(a2 ^ read64(s, 27), a3 ^ read64(s, 35))
    r += mul128_fold64(a4 ^ read64(s, 43), a5 ^ read64(s, 51))
    r += mul128_fold64(a6 ^ read64(s, 59), a7 ^ read64(s, 67))
    return xxh3_avalanche(r)


@register_jitable
def xxh3_64(d, p, n, seed, ks, cs):
    """XXH3-64 of ``d[p:p + n]``: ``ks`` the default secret, ``cs`` the seed's (long inputs)."""
    if n > 240:
        return xxh3_long(d, p, n, cs)
    if n > 128:
        acc = U(n) * P1
        for i in range(8):
            acc += mix16(d, p + 16 * i, ks, 16 * i, seed)
        acc_end = mix16(d, p + n - 16, ks, 119, seed)
        acc = xxh3_avalanche(acc)
        for i in range(8, n // 16):
            acc_end += mix16(d, p + 16 * i, ks, 16 * (i - 8) + 3, seed)
        return xxh3_avalanche(acc + acc_end)
    if n > 16:
        acc = U(n) * P1
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += mix16(d, p + 48, ks, 96, seed)
                    acc += mix16(d, p + n - 64, ks, 112, seed)
                acc += mix16(d, p + 32, ks, 64, seed)
                acc += mix16(d, p + n - 48, ks, 80, seed)
            acc += mix16(d, p + 16, ks, 32, seed)
            acc += mix16(d, p + n - 32, ks, 48, seed)
        acc += mix16(d, p, ks, 0, seed)
        acc += mix16(d, p + n - 16, ks, 16, seed)
        return xxh3_avalanche(acc)
    if n > 8:
        lo = read64(d, p) ^ ((read64(ks, 24) ^ read64(ks, 32)) + seed)
        hi = read64(d, p + n - 8) ^ ((read64(ks, 40) ^ read64(ks, 48)) - seed)
        swapped = ((lo & U(0xFF)) << U(56)) | ((lo & U(0xFF00)) << U(40)) | ((lo & U(0xFF0000)) << U(24)) \
            | ((lo & U(0xFF000000)) << U(8)) | ((lo >> U(8)) & U(0xFF000000)) | ((lo >> U(24)) & U(0xFF0000)) \
            | ((lo >> U(40)) & U(0xFF00)) | (lo >> U(56))
        return xxh3_avalanche(U(n) + swapped + hi + mul128_fold64(lo, hi))
    if n >= 4:
        s32 = seed & M32
        swapped32 = ((s32 & U(0xFF)) << U(24)) | ((s32 & U(0xFF00)) << U(8)) \
            | ((s32 >> U(8)) & U(0xFF00)) | (s32 >> U(24))
        seed2 = seed ^ (swapped32 << U(32))
        x = ((read32(d, p + n - 4) + (read32(d, p) << U(32)))) ^ ((read64(ks, 8) ^ read64(ks, 16)) - seed2)
        x = x ^ (rotl(x, 49) ^ rotl(x, 24))
        x = x * MX2
        x = x ^ ((x >> U(35)) + U(n))
        x = x * MX2
        return x ^ (x >> U(28))
    if n > 0:
        combined = (U(d[p]) << U(16)) | (U(d[p + (n >> 1)]) << U(24)) | U(d[p + n - 1]) | (U(n) << U(8))
        return avalanche64(combined ^ ((read32(ks, 0) ^ read32(ks, 4)) + seed))
    return avalanche64(seed ^ read64(ks, 56) ^ read64(ks, 64))


# kit.stats.splitmix_mix works on Python ints (arbitrary precision, masked); compiled code needs
# its own copy in wrapping uint64 arithmetic. A test checks that the two agree.
@register_jitable
def splitmix_word(key, w):
    z = key + (w + U(1)) * GAMMA
    z = (z ^ (z >> U(30))) * MIX1
    z = (z ^ (z >> U(27))) * MIX2
    return z ^ (z >> U(31))


@register_jitable
def scaled(u32, n):
    return (u32 * n) >> U(32)


@register_jitable
def median_from_counts(xs, counts):
    """Median of the multiset ``xs[j]`` repeated ``counts[j]`` times (``xs`` sorted)."""
    n = xs.size
    lo_rank = (n - 1) // 2
    hi_rank = n // 2
    cum = 0
    j = 0
    while cum + counts[j] <= lo_rank:
        cum += counts[j]
        j += 1
    lo = xs[j]
    if lo_rank == hi_rank:
        return lo
    while cum + counts[j] <= hi_rank:
        cum += counts[j]
        j += 1
    return (lo + xs[j]) * 0.5


# --- CPU kernels -------------------------------------------------------------------------
#
# Each kernel is a serial function over a range of its work: the ``numba``
# backend calls it over all the work, on one core. ``numba.parallel`` calls it
# from a parallel loop over a few tasks per thread, for large inputs only:
# waking a thread pool costs tens of microseconds, and far more when another
# process holds a core, so small inputs stay on one thread there too.

#: Work (bytes, keys, draws) from which ``numba.parallel`` runs a kernel on all cores.
PARALLEL_MIN = _surface.PARALLEL_MIN
# Tasks per parallel call: enough to balance uneven work over the threads.
TASKS = 64


@njit(cache=True, nogil=True)
def _count(a, start, stop, c):
    # Four sub-histograms: consecutive equal bytes would otherwise wait on
    # each other's increment (store-to-load forwarding).
    i = start
    while i + 4 <= stop:
        c[a[i]] += 1
        c[256 + a[i + 1]] += 1
        c[512 + a[i + 2]] += 1
        c[768 + a[i + 3]] += 1
        i += 4
    while i < stop:
        c[a[i]] += 1
        i += 1


@njit(cache=True, nogil=True)
def _entropy_of(c, n):
    if n == 0:
        return 0.0
    h = 0.0
    fn = float(n)
    for k in range(256):
        x = c[k] + c[256 + k] + c[512 + k] + c[768 + k]
        if x > 0:
            h += (x / fn) * np.log2(fn / x)
    return h


# Whole buffers from this size count byte *pairs*: one 64-bit load gives four
# 16-bit pairs, so four table increments per 8 bytes instead of eight. The
# 65,536 uint32 counters (256 KiB, in L2) cost ~30 us to clear and fold into
# byte counts, which only pays off on large buffers. Measured here (100 MiB,
# one core): random bytes 4.4-4.6 against 3.7 GB/s, text 6.4 against 3.6 GB/s.
PAIRS_MIN = 1 << 20
# A uint32 pair counter gains at most one count per 2 input bytes: fold the
# pairs into the int64 byte counts at least every 4 GiB (here every 1 GiB).
PAIRS_SEGMENT = 1 << 30


@njit(cache=True, nogil=True)
def _count_pairs(a, start, stop, c, segment):
    """Add the byte counts of ``a[start:stop]`` (``stop - start`` and ``segment`` multiples of 8) to ``c[:256]``."""
    pairs = np.zeros(65536, np.uint32)
    for seg in range(start, stop, segment):
        end = min(stop, seg + segment)
        if seg > start:
            pairs[:] = 0
        for p in range(seg, end, 8):
            x = read64(a, p)
            pairs[x & U(0xFFFF)] += 1
            pairs[(x >> U(16)) & U(0xFFFF)] += 1
            pairs[(x >> U(32)) & U(0xFFFF)] += 1
            pairs[x >> U(48)] += 1
        # Pair (lo, hi) at index hi * 256 + lo holds one byte lo and one byte hi.
        for hi in range(256):
            row = 0
            for lo in range(256):
                v = pairs[hi * 256 + lo]
                c[lo] += v
                row += v
            c[hi] += row


@njit(cache=True, nogil=True)
def _count_whole(a, start, stop, c):
    if stop - start >= PAIRS_MIN:
        body = start + (stop - start) // 8 * 8
        _count_pairs(a, start, body, c, PAIRS_SEGMENT)
        _count(a, body, stop, c)
    else:
        _count(a, start, stop, c)


@njit(cache=True, nogil=True)
def entropy_serial(a):
    c = np.zeros(1024, np.int64)
    _count_whole(a, 0, a.size, c)
    return _entropy_of(c, a.size)


@njit(cache=True, nogil=True, parallel=True)
def entropy_parallel(a, ntasks):
    # Task bounds on multiples of 8, so every task but the last reads whole words.
    n = a.size
    per = (n // ntasks + 7) // 8 * 8
    parts = np.zeros((ntasks, 1024), np.int64)
    for t in prange(ntasks):
        _count_whole(a, min(n, t * per), n if t == ntasks - 1 else min(n, (t + 1) * per), parts[t])
    return _entropy_of(parts.sum(axis=0), n)


@njit(cache=True, nogil=True)
def entropy_blocks_range(a, block, out, lo, hi):
    c = np.zeros(1024, np.int64)
    for b in range(lo, hi):
        c[:] = 0
        start = b * block
        stop = min(a.size, start + block)
        _count(a, start, stop, c)
        out[b] = _entropy_of(c, stop - start)


@njit(cache=True, nogil=True, parallel=True)
def entropy_blocks_parallel(a, block, out, ntasks):
    per = (out.size + ntasks - 1) // ntasks
    for t in prange(ntasks):
        entropy_blocks_range(a, block, out, t * per, min(out.size, (t + 1) * per))


# Keys per block of the XXH64 kernel: its scratch (8 words per key) stays in L1.
BLOCK = 128


#: Keys shorter than this take the block path of :func:`xxh64_range` (up to two 32-byte stripes);
#: longer keys, rare in key batches, take the scalar :func:`xxh64`.
BLOCK_MAX = 96


@njit(cache=True, nogil=True)
def xxh64_range(offsets, d, seed, out, lo, hi):
    """XXH64 of keys ``lo:hi``, vectorised across keys for keys under 96 bytes.

    A key under 96 bytes needs at most 12 words: 8 for two 32-byte stripes,
    3 for the tail's 8-byte steps, 1 holding the last 0-7 bytes. A scalar
    pass gathers them per key into columns; a second pass hashes a whole
    block from the columns with no branch (every step computed, kept by a
    mask, as in :func:`xxh64`), which LLVM vectorises across keys. Keys of
    96 bytes or more, and the last keys of ``d`` (whose 12 words would run
    past its end), take the scalar :func:`xxh64`. ``d`` must hold at least
    32 bytes (callers pad).
    """
    size = d.size
    s1 = seed + P1 + P2
    s2 = seed + P2
    s4 = seed - P1
    s5 = seed + P5
    words = np.empty((12, BLOCK), np.uint64)
    lengths = np.empty(BLOCK, np.uint64)
    hashes = np.empty(BLOCK, np.uint64)
    longs = np.empty(BLOCK, np.int64)
    # The last keys, whose words would run past the end of d, take the scalar path (it clamps).
    cut = hi
    while cut > lo and offsets[cut - 1] + BLOCK_MAX > size:
        cut -= 1
    for i in range(cut, hi):
        s = offsets[i]
        out[i] = xxh64(d, s, offsets[i + 1] - s, seed)
    for b0 in range(lo, cut, BLOCK):
        m = min(BLOCK, cut - b0)
        nlong = 0
        for j in range(m):
            s = offsets[b0 + j]
            n = offsets[b0 + j + 1] - s
            if n >= BLOCK_MAX:
                longs[nlong] = b0 + j
                nlong += 1
            lengths[j] = U(n)
            # Every key here starts at least BLOCK_MAX bytes before the end of d, so its 12 words
            # are read without clamping; a long key's are read as if it were 95 bytes (and unused).
            q = U(s)
            e = U(min(n, BLOCK_MAX - 1))
            words[0, j] = read64(d, q)
            words[1, j] = read64(d, q + U(8))
            words[2, j] = read64(d, q + U(16))
            words[3, j] = read64(d, q + U(24))
            words[4, j] = read64(d, q + U(32))
            words[5, j] = read64(d, q + U(40))
            words[6, j] = read64(d, q + U(48))
            words[7, j] = read64(d, q + U(56))
            p = q + (e & U(96))
            words[8, j] = read64(d, p)
            words[9, j] = read64(d, p + U(8))
            words[10, j] = read64(d, p + U(16))
            words[11, j] = read64(d, q + (e & U(120)))  # the last 0-7 bytes, in its low bytes
        for j in range(m):
            n = lengths[j]
            v1 = xxh64_round(s1, words[0, j])
            v2 = xxh64_round(s2, words[1, j])
            v3 = xxh64_round(seed, words[2, j])
            v4 = xxh64_round(s4, words[3, j])
            two = n >= U(64)
            v1 = select(two, xxh64_round(v1, words[4, j]), v1)
            v2 = select(two, xxh64_round(v2, words[5, j]), v2)
            v3 = select(two, xxh64_round(v3, words[6, j]), v3)
            v4 = select(two, xxh64_round(v4, words[7, j]), v4)
            hs = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
            hs = xxh64_merge(hs, v1)
            hs = xxh64_merge(hs, v2)
            hs = xxh64_merge(hs, v3)
            hs = xxh64_merge(hs, v4)
            h = select(n >= U(32), hs, s5) + n
            r = n & U(31)
            w = r >> U(3)
            h = select(U(0) < w, rotl(h ^ xxh64_round(ZERO, words[8, j]), 27) * P1 + P4, h)
            h = select(U(1) < w, rotl(h ^ xxh64_round(ZERO, words[9, j]), 27) * P1 + P4, h)
            h = select(U(2) < w, rotl(h ^ xxh64_round(ZERO, words[10, j]), 27) * P1 + P4, h)
            tail = words[11, j]
            has4 = (r & U(4)) != U(0)
            h = select(has4, rotl(h ^ ((tail & M32) * P1), 23) * P2 + P3, h)
            tail = select(has4, tail >> U(32), tail)
            b = r & U(3)
            h = select(U(0) < b, rotl(h ^ ((tail & U(255)) * P5), 11) * P1, h)
            h = select(U(1) < b, rotl(h ^ (((tail >> U(8)) & U(255)) * P5), 11) * P1, h)
            h = select(U(2) < b, rotl(h ^ (((tail >> U(16)) & U(255)) * P5), 11) * P1, h)
            hashes[j] = avalanche64(h)
        for j in range(m):
            out[b0 + j] = hashes[j]
        for k in range(nlong):
            i = longs[k]
            s = offsets[i]
            out[i] = xxh64(d, s, offsets[i + 1] - s, seed)


@njit(cache=True, nogil=True, parallel=True)
def xxh64_parallel(offsets, data, seed, out, ntasks):
    per = (out.size + ntasks - 1) // ntasks
    for t in prange(ntasks):
        xxh64_range(offsets, data, seed, out, t * per, min(out.size, (t + 1) * per))


@njit(cache=True, nogil=True)
def xxh3_range(offsets, data, seed, ks, cs, out, lo, hi):
    for i in range(lo, hi):
        s = offsets[i]
        out[i] = xxh3_64(data, s, offsets[i + 1] - s, seed, ks, cs)


@njit(cache=True, nogil=True, parallel=True)
def xxh3_parallel(offsets, data, seed, ks, cs, out, ntasks):
    per = (out.size + ntasks - 1) // ntasks
    for t in prange(ntasks):
        xxh3_range(offsets, data, seed, ks, cs, out, t * per, min(out.size, (t + 1) * per))


@register_jitable
def draw_counts(key, d, n, counts):
    """Add the ``n`` draws starting at draw number ``d`` to ``counts``."""
    un = U(n)
    end = d + un
    if d & U(1):
        z = splitmix_word(key, d >> U(1))
        counts[scaled(z >> U(32), un)] += 1
        d += U(1)
    while d + U(1) < end:
        z = splitmix_word(key, d >> U(1))
        counts[scaled(z & M32, un)] += 1
        counts[scaled(z >> U(32), un)] += 1
        d += U(2)
    if d < end:
        z = splitmix_word(key, d >> U(1))
        counts[scaled(z & M32, un)] += 1


@njit(cache=True, nogil=True)
def bootstrap_range(xs, key, median, out, lo, hi):
    n = xs.size
    counts = np.zeros(n, np.int64)
    for r in range(lo, hi):
        counts[:] = 0
        draw_counts(key, U(r) * U(n), n, counts)
        if median:
            out[r] = median_from_counts(xs, counts)
        else:
            s = 0.0
            for j in range(n):
                s += counts[j] * xs[j]
            out[r] = s / n


@njit(cache=True, nogil=True, parallel=True)
def bootstrap_parallel(xs, key, median, out, ntasks):
    per = (out.size + ntasks - 1) // ntasks
    for t in prange(ntasks):
        bootstrap_range(xs, key, median, out, t * per, min(out.size, (t + 1) * per))


# --- cores with the shared calling convention ------------------------------------------

def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view: numba compiles read-only and writable arrays separately, so
    the kernels always get read-only inputs (bytes are read-only anyway) and
    compile once."""
    if not a.flags.writeable:
        return a
    v = a.view()
    v.flags.writeable = False
    return v


# One parallel region at a time, and only in the process that imported this
# module: numba's workqueue threading layer aborts on concurrent parallel
# calls from several Python threads, and GNU OpenMP's pool does not survive
# fork. Anyone else runs the serial kernel: same result, one core.
#
# Whether a call *may* go parallel is decided by the backend (``numba`` is one
# core, ``numba.parallel`` all cores), never by the machine's momentary load:
# a choice that flips with the load makes the same measurement bimodal, and
# the engine measures both backends and keeps the faster one instead.
_PARALLEL = threading.Lock()
_PID = os.getpid()


def _parallel(parallel: bool, work: int, kernel: str) -> bool:
    """Whether this call runs the parallel kernel; if ``True``, the caller releases :data:`_PARALLEL`.

    Deterministic for a given input, except that a second concurrent call
    (another thread) or a forked child runs serially: same result, one core.
    """
    return (parallel and work >= PARALLEL_MIN[kernel] and os.getpid() == _PID
            and _PARALLEL.acquire(blocking=False))


def entropy(a: np.ndarray, block: int | None, parallel: bool = False) -> float | np.ndarray:
    """Entropy core: one core, or all cores for ``parallel`` and large inputs."""
    a = readonly(a)
    if block is None:
        if _parallel(parallel, a.size, "entropy"):
            try:
                # A few MiB per task at least, so each task's pair table pays for itself.
                return float(entropy_parallel(a, max(1, min(TASKS, a.size // (4 * PAIRS_MIN)))))
            finally:
                _PARALLEL.release()
        return float(entropy_serial(a))
    out = np.empty(-(-a.size // block), dtype=np.float64)
    if out.size > 1 and _parallel(parallel, a.size, "entropy"):
        try:
            entropy_blocks_parallel(a, block, out, min(out.size, TASKS))
        finally:
            _PARALLEL.release()
    elif out.size:
        entropy_blocks_range(a, block, out, 0, out.size)
    return out


#: The hashing code clamps its reads inside buffers of at least this many bytes.
MIN_DATA = 32


def padded(data: np.ndarray) -> np.ndarray:
    """``data``, or a copy padded to :data:`MIN_DATA` bytes (tiny batches only)."""
    if data.size >= MIN_DATA:
        return data
    out = np.zeros(MIN_DATA, dtype=np.uint8)
    out[:data.size] = data
    return out


_KS = np.frombuffer(_xxh.KSECRET, dtype=np.uint8)


def fingerprint(offsets: np.ndarray, data: np.ndarray, seed: int, algorithm: str,
                parallel: bool = False) -> np.ndarray:
    """Batch fingerprint core: one core, or all cores for ``parallel`` and many keys."""
    n = offsets.size - 1
    out = np.empty(n, dtype=np.uint64)
    if n == 0:
        return out
    data, offsets, useed = readonly(padded(data)), readonly(offsets), U(seed)
    cs = _KS if seed == 0 or algorithm == "xxh64" else np.frombuffer(_xxh.custom_secret(seed), np.uint8)
    if _parallel(parallel, n, "batch_fingerprint"):
        try:
            if algorithm == "xxh64":
                xxh64_parallel(offsets, data, useed, out, TASKS)
            else:
                xxh3_parallel(offsets, data, useed, _KS, cs, out, TASKS)
        finally:
            _PARALLEL.release()
    elif algorithm == "xxh64":
        xxh64_range(offsets, data, useed, out, 0, n)
    else:
        xxh3_range(offsets, data, useed, _KS, cs, out, 0, n)
    return out


def bootstrap(xs: np.ndarray, resamples: int, key: int, statistic: str, parallel: bool = False) -> np.ndarray:
    """Bootstrap core: one core, or all cores for ``parallel`` and enough draws."""
    xs = readonly(xs)
    out = np.empty(resamples, dtype=np.float64)
    median = statistic == "median"
    if resamples > 1 and _parallel(parallel, xs.size * resamples, "bootstrap"):
        try:
            bootstrap_parallel(xs, U(key), median, out, min(resamples, TASKS))
        finally:
            _PARALLEL.release()
    else:
        bootstrap_range(xs, U(key), median, out, 0, resamples)
    return out


# --- compile-time bookkeeping ------------------------------------------------------------

#: kernel -> {"seconds": first-call time, "source": "compiled" | "disk cache"}
COMPILE_TIMES: dict[str, dict[str, object]] = {}


def _first_call(name: str, dispatchers: tuple, call) -> None:
    if name in COMPILE_TIMES:
        return
    t0 = time.perf_counter()
    call()
    seconds = time.perf_counter() - t0
    misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
    COMPILE_TIMES[name] = {"seconds": seconds, "source": "compiled" if misses else "disk cache"}


def warm(kernel: str, parallel: bool = False) -> None:
    """Compile (or load from the disk cache) the kernels of one backend, timing it.

    The serial kernels are ``numba``'s; ``parallel=True`` also makes the
    first call of the parallel ones (``numba.parallel``, which starts
    numba's thread pool), each on tiny inputs, so no later call pays a
    compile. Times go to :data:`COMPILE_TIMES` as ``"numba:<kernel>"`` and
    ``"numba.parallel:<kernel>"``.

    Examples
    --------
    >>> warm("entropy"); COMPILE_TIMES["numba:entropy"]["source"] in ("compiled", "disk cache")
    True
    """
    if kernel == "entropy":
        a = readonly(np.arange(64, dtype=np.uint8))
        serial = ((entropy_serial, entropy_blocks_range),
                  lambda: (entropy_serial(a), entropy_blocks_range(a, 16, np.empty(4), 0, 4)))
        par = ((entropy_parallel, entropy_blocks_parallel),
               lambda: (entropy_parallel(a, 2), entropy_blocks_parallel(a, 16, np.empty(4), 2)))
    elif kernel == "batch_fingerprint":
        # Offsets come as int64, or int32 from Arrow's 32-bit layout: one compilation each.
        offsets = [readonly(np.array([0, 3, 40], dtype=t)) for t in (np.int64, np.int32)]
        data = readonly(np.arange(40, dtype=np.uint8))
        out = np.empty(2, dtype=np.uint64)
        seed = U(0)

        def serial_calls() -> None:
            for offs in offsets:
                xxh64_range(offs, data, seed, out, 0, 2)
                xxh3_range(offs, data, seed, _KS, _KS, out, 0, 2)

        def parallel_calls() -> None:
            for offs in offsets:
                xxh64_parallel(offs, data, seed, out, 2)
                xxh3_parallel(offs, data, seed, _KS, _KS, out, 2)

        serial = ((xxh64_range, xxh3_range), serial_calls)
        par = ((xxh64_parallel, xxh3_parallel), parallel_calls)
    elif kernel == "bootstrap":
        xs = readonly(np.arange(5, dtype=np.float64))
        out = np.empty(3)
        serial = ((bootstrap_range,), lambda: bootstrap_range(xs, U(1), True, out, 0, 3))
        par = ((bootstrap_parallel,), lambda: bootstrap_parallel(xs, U(1), True, out, 2))
    else:
        raise ValueError(f"unknown kernel {kernel!r}")
    _first_call(f"numba:{kernel}", *serial)
    if parallel:
        _first_call(f"numba.parallel:{kernel}", *par)
