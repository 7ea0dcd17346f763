"""CUDA kernels (numba's CUDA target), sharing the hashing and sampling code of the CPU kernels.

Imported only when the ``cuda`` backend is used. The device code calls the
same ``register_jitable`` functions as :mod:`kit.kernels._numba` (xxHash,
SplitMix64, the median from counts), so a GPU result can differ from the CPU
one only through the launch code here. Under ``NUMBA_ENABLE_CUDASIM=1`` the
kernels run in numba's CUDA simulator, as Python, which is how the test suite
checks them on machines without a GPU (slowly: keep inputs small there).

Every call copies its inputs to the device and the results back: measured
figures include the transfers, which is what a caller of
``kit.kernels.entropy(host_bytes)`` pays.
"""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
from numba import cuda, uint32

import kit.kernels._numba as S
import kit.kernels._xxh as _xxh

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "") == "1"
THREADS = 256
# Bytes per thread block when counting a whole buffer.
CHUNK_BYTES = 1 << 16
# Blocks of a per-block entropy counted per launch.
GROUP_BLOCKS = 1 << 15
# Scratch for bootstrap counts (int32, one row per resample) is kept under this.
SCRATCH_BYTES = 256 << 20


@cuda.jit
def _count_chunks(a, chunk, counts):
    # One thread block per chunk: a shared-memory histogram (fast atomics),
    # written out once per chunk.
    hist = cuda.shared.array(256, uint32)
    t = cuda.threadIdx.x
    for k in range(t, 256, cuda.blockDim.x):
        hist[k] = 0
    cuda.syncthreads()
    c = cuda.blockIdx.x
    start = c * chunk
    stop = min(a.size, start + chunk)
    for i in range(start + t, stop, cuda.blockDim.x):
        cuda.atomic.add(hist, a[i], 1)
    cuda.syncthreads()
    for k in range(t, 256, cuda.blockDim.x):
        counts[c, k] = hist[k]


@cuda.jit
def _sum_rows(counts, total):
    k = cuda.grid(1)
    if k < 256:
        s = 0
        for r in range(counts.shape[0]):
            s += counts[r, k]
        total[k] = s


@cuda.jit
def _entropy_rows(counts, lengths, out):
    r = cuda.grid(1)
    if r < out.size:
        n = float(lengths[r])
        h = 0.0
        for k in range(256):
            x = counts[r, k]
            if x > 0:
                h += (x / n) * math.log2(n / x)
        out[r] = h


@cuda.jit
def _fingerprint_xxh64(offsets, data, seed, out):
    i = cuda.grid(1)
    if i < out.size:
        s = offsets[i]
        out[i] = S.xxh64(data, s, offsets[i + 1] - s, seed)


@cuda.jit
def _fingerprint_xxh3(offsets, data, seed, ks, cs, out):
    i = cuda.grid(1)
    if i < out.size:
        s = offsets[i]
        out[i] = S.xxh3_64(data, s, offsets[i + 1] - s, seed, ks, cs)


@cuda.jit
def _bootstrap(xs, r0, key, median, counts, out):
    # One thread per resample, its counts in a row of a global scratch matrix
    # (the sample count is only known at run time, so no local array).
    t = cuda.grid(1)
    if t < out.size:
        n = xs.size
        row = counts[t]
        for j in range(n):
            row[j] = 0
        S.draw_counts(key, (r0 + S.U(t)) * S.U(n), n, row)
        if median:
            out[t] = S.median_from_counts(xs, row)
        else:
            s = 0.0
            for j in range(n):
                s += row[j] * xs[j]
            out[t] = s / n


def _blocks(n: int) -> int:
    return max(1, -(-n // THREADS))


class _quiet:
    """The simulator runs the kernels as numpy scalar code, which warns on the
    intended wrap-around of 64-bit arithmetic; the compiled kernels do not."""

    def __enter__(self) -> None:
        self._err = np.seterr(over="ignore")
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._warn.__exit__(*exc)
        np.seterr(**self._err)


def entropy(a: np.ndarray, block: int | None) -> float | np.ndarray:
    from kit.kernels._numpy import entropy_from_counts

    n = a.size
    if block is None:
        if n == 0:
            return 0.0
        chunk = max(CHUNK_BYTES, -(-n // 65535))
        nchunks = -(-n // chunk)
        with _quiet():
            d_a = cuda.to_device(a)
            d_counts = cuda.device_array((nchunks, 256), dtype=np.int64)
            _count_chunks[nchunks, THREADS](d_a, chunk, d_counts)
            d_total = cuda.device_array(256, dtype=np.int64)
            _sum_rows[1, 256](d_counts, d_total)
            total = d_total.copy_to_host()
        return float(entropy_from_counts(total[None, :], np.array([n]))[0])
    nblocks = -(-n // block)
    if nblocks == 0:
        return np.zeros(0, dtype=np.float64)
    if block > (1 << 30):
        # Shared-memory counts are 32-bit: count huge blocks one at a time.
        return np.array([entropy(a[i:i + block], None) for i in range(0, n, block)], dtype=np.float64)
    out = np.empty(nblocks, dtype=np.float64)
    rows = min(nblocks, GROUP_BLOCKS)
    with _quiet():
        d_a = cuda.to_device(a)
        d_counts = cuda.device_array((rows, 256), dtype=np.int64)
        d_lengths = cuda.device_array(rows, dtype=np.int64)
        d_out = cuda.device_array(rows, dtype=np.float64)
        # A group of blocks per launch keeps the counts (2 KiB per block) bounded.
        for r0 in range(0, nblocks, rows):
            m = min(rows, nblocks - r0)
            lengths = np.full(m, block, dtype=np.int64)
            lengths[-1] = min(block, n - block * (r0 + m - 1))
            d_lengths[:m].copy_to_device(lengths)
            _count_chunks[m, THREADS](d_a[r0 * block:min(n, (r0 + m) * block)], block, d_counts)
            _entropy_rows[_blocks(m), THREADS](d_counts, d_lengths, d_out[:m])
            out[r0:r0 + m] = d_out[:m].copy_to_host()
    return out


def fingerprint(offsets: np.ndarray, data: np.ndarray, seed: int, algorithm: str) -> np.ndarray:
    n = offsets.size - 1
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    data = S.padded(data)
    with _quiet():
        d_offsets, d_data = cuda.to_device(offsets), cuda.to_device(data)
        d_out = cuda.device_array(n, dtype=np.uint64)
        if algorithm == "xxh64":
            _fingerprint_xxh64[_blocks(n), THREADS](d_offsets, d_data, np.uint64(seed), d_out)
        else:
            ks = np.frombuffer(_xxh.KSECRET, dtype=np.uint8)
            cs = ks if seed == 0 else np.frombuffer(_xxh.custom_secret(seed), dtype=np.uint8)
            _fingerprint_xxh3[_blocks(n), THREADS](d_offsets, d_data, np.uint64(seed), cuda.to_device(ks),
                                                   cuda.to_device(cs), d_out)
        return d_out.copy_to_host()


def bootstrap(xs: np.ndarray, resamples: int, key: int, statistic: str) -> np.ndarray:
    n = xs.size
    out = np.empty(resamples, dtype=np.float64)
    step = max(1, min(resamples, SCRATCH_BYTES // (4 * n)))
    with _quiet():
        d_xs = cuda.to_device(xs)
        d_counts = cuda.device_array((step, n), dtype=np.int32)
        for r0 in range(0, resamples, step):
            m = min(step, resamples - r0)
            d_out = cuda.device_array(m, dtype=np.float64)
            _bootstrap[_blocks(m), THREADS](d_xs, np.uint64(r0), np.uint64(key), statistic == "median",
                                            d_counts, d_out)
            out[r0:r0 + m] = d_out.copy_to_host()
    return out


#: kernel -> {"seconds": first-call time, "source": "compiled"}
COMPILE_TIMES: dict[str, dict[str, object]] = {}


def warm(kernel: str) -> None:
    """Compile one operation's kernels for the GPU (first call, timed)."""
    name = f"cuda:{kernel}"
    if name in COMPILE_TIMES:
        return
    t0 = time.perf_counter()
    if kernel == "entropy":
        a = np.arange(64, dtype=np.uint8)
        entropy(a, None)
        entropy(a, 16)
    elif kernel == "batch_fingerprint":
        data = np.arange(40, dtype=np.uint8)
        for dtype in (np.int64, np.int32):  # Arrow's 32-bit offsets arrive as they are: compiled apart
            offs = np.array([0, 3, 40], dtype=dtype)
            fingerprint(offs, data, 0, "xxh64")
            fingerprint(offs, data, 0, "xxh3_64")
    elif kernel == "bootstrap":
        bootstrap(np.arange(5, dtype=np.float64), 3, 1, "median")
        bootstrap(np.arange(5, dtype=np.float64), 3, 1, "mean")
    else:
        raise ValueError(f"unknown kernel {kernel!r}")
    COMPILE_TIMES[name] = {"seconds": time.perf_counter() - t0,
                           "source": "simulator" if SIMULATOR else "compiled"}
