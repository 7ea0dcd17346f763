"""Registry declarations of the kernels: ``kernel.entropy``, ``kernel.batch_fingerprint``, ``kernel.bootstrap``.

Backends: ``numpy`` (the reference and baseline), ``numba`` (CPU, one core,
compiled on first use and cached on disk), ``numba.parallel`` (the same
kernels on all cores for large inputs: a backend of its own, so the engine
measures one core against all cores and keeps the faster, rather than each
call guessing from the machine's load), ``cuda`` (numba's CUDA target) and, where
whole-array code suits the GPU, ``cupy``; the batch fingerprint also has
``xxhash`` (the library, one call per key). The GPU backends are available
only with a CUDA device (``cuda`` also under ``NUMBA_ENABLE_CUDASIM=1``,
numba's simulator); without one their reason says so, and naming one raises
:class:`kit.errors.BackendUnavailable`.

This module imports no numerical library: the loaders, preparers and
corpora import what they need when called.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, Callable, Iterable

from kit.registry import FROM_BASELINE, Backend, Operation, declare_backend, declare_operation

_CONTRACTS = {
    "entropy": (
        "entropy(buffer, block=None) -> Shannon entropy in bits per byte of a bytes-like object or 1-D "
        "uint8 array: a float for the whole buffer (0.0 when empty), or a float64 array per block of "
        "`block` bytes (the last may be shorter). Backends agree to 1e-12; other dtypes raise TypeError."
    ),
    "batch_fingerprint": (
        "batch_fingerprint(keys, seed=0, algorithm='xxh64') -> uint64 array, one xxh64 or xxh3_64 "
        "value per key, equal bit for bit to the xxhash library and the official sanity vectors; keys "
        "as a list of bytes (str as its UTF-8 bytes), a pyarrow binary/string array or (offsets, data); "
        "no keys -> empty array."
    ),
    "bootstrap": (
        "bootstrap(samples, statistic='median', resamples=10000, level=0.95, seed=0, "
        "return_distribution=False) -> (low, high) percentile interval, or the resampled statistics; "
        "draws come from the shared SplitMix64 stream, so medians agree bit for bit across backends "
        "and means to 1e-12."
    ),
}

_SIGNATURES = {
    "entropy": "entropy(buffer, block=None) -> float | numpy.ndarray",
    "batch_fingerprint": "batch_fingerprint(keys, seed=0, algorithm='xxh64') -> numpy.ndarray[uint64]",
    "bootstrap": ("bootstrap(samples, statistic='median', resamples=10000, level=0.95, seed=0, "
                  "return_distribution=False) -> (float, float) | numpy.ndarray"),
}

_SUMMARIES = {
    "entropy": "Shannon entropy of bytes (bits per byte), whole buffer or per block",
    "batch_fingerprint": "xxh64 / xxh3-64 of many small keys at once",
    "bootstrap": "percentile bootstrap CI of the median or mean",
}


# --- availability ------------------------------------------------------------------------

def _simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "") == "1"


def _library_missing(module: str, install: str) -> str | None:
    if sys.modules.get(module, False) is None:
        return f"{module} is blocked (sys.modules[{module!r}] is None)"
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install {install})"
    return None


def _no_device() -> str | None:
    from kit.machine import gpu

    if gpu() is None:
        return "no CUDA device (nvidia-smi reports no NVIDIA GPU)"
    return None


def _cuda_unavailable() -> str | None:
    if _simulator():
        return _library_missing("numba", "numba")
    reason = _no_device() or _library_missing("numba", "numba")
    if reason:
        return reason
    try:
        from numba import cuda

        ok = cuda.is_available()
    except Exception as exc:  # a broken driver or toolkit must not break `kit info`
        return f"numba.cuda cannot start: {type(exc).__name__}: {exc}"
    return None if ok else "no CUDA device usable by numba.cuda (driver or CUDA runtime missing)"


def _cupy_unavailable() -> str | None:
    reason = _no_device() or _library_missing("cupy", "cupy-cuda12x")
    if reason:
        return reason
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"cupy cannot reach the GPU: {type(exc).__name__}: {exc}"
    return None if count > 0 else "no CUDA device visible to cupy"


def cpu_threads() -> int:
    """Threads numba's parallel kernels run on: ``NUMBA_NUM_THREADS``, else the CPUs this process may use.

    Read without importing numba (numba's own default is the same).

    Examples
    --------
    >>> cpu_threads() >= 1
    True
    """
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _one_core() -> str | None:
    n = cpu_threads()
    return None if n > 1 else f"one thread here (CPUs usable: {n}): the `numba` backend is the same kernel"


def _parallel_notes(kernel: str, how: str) -> str:
    from kit.kernels._surface import PARALLEL_MIN

    unit = {"entropy": "bytes", "batch_fingerprint": "keys", "bootstrap": "draws"}[kernel]
    return (f"the numba kernel on all cores ({how}) from {PARALLEL_MIN[kernel]:,} {unit}, one core below; a "
            "call made while another thread's parallel call runs, or in a forked child, runs on one core "
            "(same result)")


# --- loaders: each backend's core, wrapped in the kernel's one signature ---------------------

def _xxhash_core(offsets: Any, data: Any, seed: int, algorithm: str) -> Any:
    import numpy as np
    import xxhash

    fn = xxhash.xxh64_intdigest if algorithm == "xxh64" else xxhash.xxh3_64_intdigest
    mv = memoryview(data)
    bounds = offsets.tolist()
    return np.fromiter((fn(mv[bounds[i]:bounds[i + 1]], seed) for i in range(len(bounds) - 1)),
                       dtype=np.uint64, count=len(bounds) - 1)


def _core_name(kernel: str) -> str:
    return {"batch_fingerprint": "fingerprint"}.get(kernel, kernel)


def _core(kernel: str, backend: str) -> Callable:
    """The core of ``kernel`` on ``backend``; a compiling backend compiles (or loads) it now, timed."""
    if backend == "numpy":
        import kit.kernels._numpy as _numpy

        return {"entropy": _numpy.entropy, "batch_fingerprint": _numpy.fingerprint,
                "bootstrap": _numpy.bootstrap_stats}[kernel]
    if backend in ("numba", "numba.parallel"):
        import functools

        import kit.kernels._numba as _numba

        parallel = backend == "numba.parallel"
        _numba.warm(kernel, parallel=parallel)
        core = getattr(_numba, _core_name(kernel))
        return functools.partial(core, parallel=True) if parallel else core
    if backend == "cuda":
        import kit.kernels._cuda as _cuda

        _cuda.warm(kernel)
        return getattr(_cuda, _core_name(kernel))
    if backend == "cupy" and kernel != "batch_fingerprint":
        import kit.kernels._cupy as _cupy

        _cupy.warm(kernel)
        return getattr(_cupy, kernel)
    if backend == "xxhash" and kernel == "batch_fingerprint":
        return _xxhash_core
    raise ValueError(f"no {backend!r} implementation of {kernel!r}")


def load(kernel: str, backend: str) -> Callable:
    """Build the implementation of ``kernel`` on ``backend`` (imports and compiles on first use).

    Examples
    --------
    >>> load("entropy", "numpy")(b"abab")
    1.0
    """
    from kit.kernels._inputs import wrap

    return wrap(kernel, _core(kernel, backend), backend)


def _loader(kernel: str, backend: str) -> Callable[[], Callable]:
    def loader() -> Callable:
        return load(kernel, backend)

    return loader


# --- preparation from the engine's payloads ------------------------------------------------

def _prepare_entropy(payload: Any, backend: str) -> tuple:
    return (payload,)


def split_keys(payload: bytes, low: int = 8, high: int = 64) -> tuple[Any, Any]:
    """``(offsets, data)``: a bytes payload cut into consecutive keys of ``low``-``high`` bytes.

    Key lengths come from a generator seeded by the payload's length, so a
    payload always gives the same keys.

    Examples
    --------
    >>> offsets, data = split_keys(bytes(1000))
    >>> int(offsets[-1]), bool(((offsets[1:] - offsets[:-1]) <= 64).all())
    (1000, True)
    """
    import numpy as np

    data = np.frombuffer(payload, dtype=np.uint8)
    rng = np.random.default_rng(len(payload))
    lengths = rng.integers(low, high + 1, size=len(payload) // low + 1)
    ends = np.cumsum(lengths)
    ends = ends[ends < len(payload)]
    offsets = np.concatenate([[0], ends, [len(payload)]]).astype(np.int64) if len(payload) else np.zeros(1, np.int64)
    return offsets, data


def _prepare_fingerprint(payload: Any, backend: str) -> tuple:
    return (split_keys(payload), 0, "xxh64")


def _prepare_bootstrap(payload: Any, backend: str) -> tuple:
    import numpy as np

    from kit.kernels._surface import bootstrap_params

    n, resamples = bootstrap_params(len(payload))
    samples = np.frombuffer(payload, dtype="<f8", count=min(n, len(payload) // 8)).astype(np.float64)
    return (samples, "median", resamples)


# --- equality ---------------------------------------------------------------------------------

def _close(result: Any, expected: Any) -> bool:
    import numpy as np

    if isinstance(expected, tuple):
        return (isinstance(result, tuple) and len(result) == len(expected)
                and all(_close(r, e) for r, e in zip(result, expected)))
    if isinstance(expected, np.ndarray):
        return (isinstance(result, np.ndarray) and result.shape == expected.shape
                and result.dtype == expected.dtype
                and bool(np.allclose(result, expected, rtol=1e-12, atol=1e-12, equal_nan=True)))
    if isinstance(expected, float):
        return isinstance(result, float) and (
            (_isnan(result) and _isnan(expected))
            or abs(result - expected) <= 1e-12 * max(1.0, abs(expected)))
    return False


def _isnan(x: float) -> bool:
    return x != x


def _same_fingerprints(result: Any, expected: Any) -> bool:
    import numpy as np

    return (isinstance(result, np.ndarray) and result.dtype == np.uint64
            and np.array_equal(result, np.asarray(expected, dtype=np.uint64)))


# --- corpora --------------------------------------------------------------------------------

def _entropy_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    import numpy as np

    from kit.payloads import random_bytes, text

    yield "empty", (b"",), 0.0
    yield "empty per block", (b"", 16), np.zeros(0)
    yield "one byte", (b"x",), 0.0
    yield "two symbols", (b"ab" * 50,), 1.0
    yield "all 256 values", (bytes(range(256)) * 4,), 8.0
    yield "zeros 1 MiB", (bytes(1 << 20),), 0.0
    yield "random 64 KiB", (random_bytes(65536, 3),), FROM_BASELINE
    yield "random 2 MiB (parallel path)", (random_bytes(2 << 20, 4),), FROM_BASELINE
    yield "text per 4 KiB block", (text(50_000, 5), 4096), FROM_BASELINE
    yield "blocks of 1 byte", (b"abcabc", 1), np.zeros(6)
    yield "uint8 array", (np.frombuffer(text(10_000, 6), dtype=np.uint8),), FROM_BASELINE
    yield "int8 array", (np.frombuffer(text(10_000, 6), dtype=np.int8),), FROM_BASELINE
    yield "memoryview", (memoryview(random_bytes(5000, 7)),), FROM_BASELINE
    yield "bytearray, block longer than data", (bytearray(text(3000, 8)), 10_000), FROM_BASELINE


def _fingerprint_keys() -> list[bytes]:
    from kit.payloads import random_bytes

    blob = random_bytes(20_000, 11)
    # Every length up to 260 covers each branch of XXH3 (0, 1-3, 4-8, 9-16,
    # 17-128, 129-240, long) and of XXH64 (tails, stripes); then long keys.
    lengths = list(range(261)) + [511, 1024, 1025, 2048, 4100]
    keys, pos = [], 0
    for n in lengths:
        keys.append(blob[pos % 7:pos % 7 + n])
        pos += 1
    return keys


def _fingerprint_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    import numpy as np
    import xxhash

    keys = _fingerprint_keys()
    for algorithm, fn in (("xxh64", xxhash.xxh64_intdigest), ("xxh3_64", xxhash.xxh3_64_intdigest)):
        for seed in (0, 1, 2**64 - 1):
            expected = np.array([fn(k, seed) for k in keys], dtype=np.uint64)
            yield f"{algorithm} seed {seed}, lengths 0-4100", (keys, seed, algorithm), expected
    yield "no keys", ([],), np.zeros(0, np.uint64)
    yield "one empty key", ([b""],), np.array([xxhash.xxh64_intdigest(b"")], np.uint64)
    yield "tiny data (< 8 bytes in all)", ([b"a", b"bc", b""],), \
        np.array([xxhash.xxh64_intdigest(k) for k in (b"a", b"bc", b"")], np.uint64)
    offsets = np.array([0, 3, 3, 10], dtype=np.int32)
    data = np.frombuffer(b"abcdefghij", dtype=np.uint8)
    yield "offsets int32 + data", ((offsets, data),), \
        np.array([xxhash.xxh64_intdigest(k) for k in (b"abc", b"", b"defghij")], np.uint64)
    yield "offsets not starting at 0", ((np.array([2, 5], np.int64), data),), \
        np.array([xxhash.xxh64_intdigest(b"cde")], np.uint64)
    if importlib.util.find_spec("pyarrow") is not None:
        import pyarrow as pa

        arr = pa.array(keys[:100], type=pa.binary())
        yield "arrow binary", (arr,), FROM_BASELINE
        yield "arrow large_binary, sliced", (pa.array(keys[:100], type=pa.large_binary()).slice(7, 50),), \
            np.array([xxhash.xxh64_intdigest(k) for k in keys[7:57]], np.uint64)
        yield "arrow string", (pa.array(["héllo", "", "kit"]),), \
            np.array([xxhash.xxh64_intdigest(s.encode()) for s in ("héllo", "", "kit")], np.uint64)
    yield "bytearray and memoryview keys", ([bytearray(b"abc"), memoryview(b"defgh")],), \
        np.array([xxhash.xxh64_intdigest(k) for k in (b"abc", b"defgh")], np.uint64)


def _bootstrap_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    import numpy as np

    rng = np.random.default_rng(5)
    normal = rng.normal(10.0, 2.0, 1000)
    yield "one sample", ([3.5], "median", 100), (3.5, 3.5)
    yield "constant", ([2.0] * 9, "mean", 100), (2.0, 2.0)
    yield "no samples", ([], "median", 10), (float("nan"), float("nan"))
    for n in (2, 15, 16):
        for stat in ("median", "mean"):
            yield f"{n} samples, {stat}", (list(rng.normal(size=n)), stat, 2000), FROM_BASELINE
    yield "1000 samples, distribution of medians", (normal, "median", 500, 0.95, 3, True), FROM_BASELINE
    yield "1000 samples, distribution of means", (normal, "mean", 500, 0.95, 3, True), FROM_BASELINE
    yield "integers, 90%", (np.arange(100), "median", 1000, 0.90, 1), FROM_BASELINE


# --- extra checks ---------------------------------------------------------------------------

def _check_entropy(backend: str, fn: Callable) -> list[str]:
    import numpy as np

    problems = []
    for bad, exc in ((np.zeros(4, np.float64), TypeError), ("text", TypeError), (np.zeros((2, 2), np.uint8), ValueError)):
        try:
            fn(bad)
            problems.append(f"{type(bad).__name__} input was accepted; expected {exc.__name__}")
        except exc:
            pass
    return problems


def _check_fingerprint(backend: str, fn: Callable) -> list[str]:
    """The official xxHash sanity vectors, and the xxhash library on a random batch, bit for bit."""
    import numpy as np
    import xxhash

    from kit.registry import vectors
    from kit.payloads import random_bytes

    problems = []
    for family in ("xxh64", "xxh3_64"):
        cases = vectors.xxhash_vectors(family)
        if not cases:
            problems.append(f"official {family} vectors are absent (../shared/data/vectors)")
            continue
        # One call per seed, all lengths at once, so the batch path is what is checked.
        by_seed: dict[int, list[tuple[bytes, int]]] = {}
        for data, seed, expected in cases:
            by_seed.setdefault(seed, []).append((data, expected))
        for seed, items in by_seed.items():
            got = fn([d for d, _ in items], seed, family)
            for (data, expected), value in zip(items, got.tolist()):
                if value != expected:
                    problems.append(f"{family} vector len={len(data)} seed={seed:#x}: got {value:#018x}, "
                                    f"expected {expected:#018x}")
    blob = random_bytes(70_000, 21)
    rng = np.random.default_rng(21)
    keys = [blob[i:i + int(n)] for i, n in zip(range(0, 60_000, 29), rng.integers(0, 300, 2100))]
    for family, ref in (("xxh64", xxhash.xxh64_intdigest), ("xxh3_64", xxhash.xxh3_64_intdigest)):
        seed = 0x9E3779B97F4A7C15
        got = fn(keys, seed, family).tolist()
        bad = [i for i, (k, g) in enumerate(zip(keys, got)) if g != ref(k, seed)]
        if bad:
            problems.append(f"{family}: {len(bad)} of {len(keys)} random keys differ from the xxhash library "
                            f"(first at length {len(keys[bad[0]])})")
    return problems


def _check_bootstrap(backend: str, fn: Callable) -> list[str]:
    import numpy as np

    problems = []
    xs = np.arange(1.0, 101.0)
    lo, hi = fn(xs, "median", 2000)
    if not lo <= 50.5 <= hi:
        problems.append(f"median CI of 1..100 is ({lo}, {hi}), which misses 50.5")
    if np.array_equal(fn(xs, "median", 200, 0.95, 1, True), fn(xs, "median", 200, 0.95, 2, True)):
        problems.append("seeds 1 and 2 gave the same resamples")
    if not np.array_equal(fn(xs, "mean", 300, 0.95, 4, True), fn(xs, "mean", 300, 0.95, 4, True)):
        problems.append("the same seed gave different resamples")
    return problems


# --- declarations ---------------------------------------------------------------------------

_OPS = {
    "entropy": (("random", "text"), _prepare_entropy, _close, _entropy_corpus, _check_entropy),
    "batch_fingerprint": (("random", "text"), _prepare_fingerprint, _same_fingerprints, _fingerprint_corpus,
                          _check_fingerprint),
    "bootstrap": (("numeric",), _prepare_bootstrap, _close, _bootstrap_corpus, _check_bootstrap),
}

# kernel -> backends beyond numpy: (name, modules, distribution, device, available_if, notes)
_BACKENDS: dict[str, list[tuple[str, tuple[str, ...], str | None, str, Callable[[], str | None] | None, str]]] = {
    "entropy": [
        ("numba", ("numba",), "numba", "cpu", None,
         "@njit(cache=True), one core: 4 sub-histograms per pass"),
        ("numba.parallel", ("numba",), "numba", "cpu", _one_core,
         _parallel_notes("entropy", "prange over 1 MiB chunks")),
        ("cuda", (), "numba", "gpu", _cuda_unavailable,
         "numba.cuda: shared-memory histogram per thread block; includes host<->device copies"),
        ("cupy", (), "cupy-cuda12x", "gpu", _cupy_unavailable, "the numpy reference run with xp=cupy"),
    ],
    "batch_fingerprint": [
        ("numba", ("numba",), "numba", "cpu", None,
         "@njit(cache=True), one core: XXH64 vectorised across keys under 96 bytes, branch-free tail"),
        ("numba.parallel", ("numba",), "numba", "cpu", _one_core,
         _parallel_notes("batch_fingerprint", "prange over 64 tasks")),
        ("cuda", (), "numba", "gpu", _cuda_unavailable,
         "numba.cuda: one thread per key, the CPU kernel's hashing code; includes copies"),
        ("xxhash", ("xxhash",), "xxhash", "cpu", None, "the xxhash library, one call per key"),
    ],
    "bootstrap": [
        ("numba", ("numba",), "numba", "cpu", None,
         "@njit(cache=True), one core: counts per resample over the sorted samples, no sort per resample"),
        ("numba.parallel", ("numba",), "numba", "cpu", _one_core,
         _parallel_notes("bootstrap", "prange over 64 tasks")),
        ("cuda", (), "numba", "gpu", _cuda_unavailable,
         "numba.cuda: one thread per resample, counts in global scratch"),
        ("cupy", (), "cupy-cuda12x", "gpu", _cupy_unavailable, "the numpy reference run with xp=cupy"),
    ],
}

_NUMPY_NOTES = {
    "entropy": "numpy.bincount per 1 MiB chunk (the reference)",
    "batch_fingerprint": "keys grouped by length, each group hashed as whole columns (the reference)",
    "bootstrap": "index matrix from the shared stream, numpy.partition per row (the reference)",
}


def _declare() -> None:
    from kit.kernels._surface import FEATURES, KERNELS

    for kernel in KERNELS:
        kinds, prepare, equal, corpus, check = _OPS[kernel]
        op = f"kernel.{kernel}"
        declare_operation(Operation(
            name=op, category="kernels", summary=_SUMMARIES[kernel], baseline="numpy",
            signature=_SIGNATURES[kernel], kinds=kinds, prepare=prepare, equal=equal,
            contract=_CONTRACTS[kernel], corpus=corpus, check=check,
        ))
        declare_backend(Backend(op, "numpy", ("numpy",), "numpy", _loader(kernel, "numpy"), FEATURES[kernel],
                                _NUMPY_NOTES[kernel]))
        for name, modules, dist, device, available_if, notes in _BACKENDS[kernel]:
            declare_backend(Backend(op, name, modules, dist, _loader(kernel, name), FEATURES[kernel], notes,
                                    device=device, available_if=available_if))


_declare()
