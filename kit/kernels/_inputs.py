"""Validation and normalisation of the kernels' inputs, and the wrapper every backend shares.

Each ``as_*`` function turns what a user may pass into the one layout the
cores take (contiguous ``uint8`` buffers, ``(offsets, data)`` key batches,
``float64`` samples) and raises ``TypeError`` / ``ValueError`` saying what was
expected and what was received. Validation lives here, once, so that every
backend rejects the same inputs with the same message: :func:`wrap` makes a
backend's implementation from its *core*, the same Python function around a
different core, so all implementations share one signature. A core takes
normalised inputs:

========================  ==================================================
kernel                    core
========================  ==================================================
``entropy``               ``core(a: uint8[n], block: int | None)``
``batch_fingerprint``     ``core(offsets: int32|int64[k+1], data: uint8[m], seed, algorithm)``
``bootstrap``             ``core(sorted_samples: float64[n], resamples, key, statistic)``
========================  ==================================================
"""

from __future__ import annotations

import importlib.util
import operator
from typing import Any, Callable

import numpy as np

import kit.stats as _stats
from kit.kernels._surface import FEATURES
from kit.kernels._xxh import ALGORITHMS

STATISTICS = ("median", "mean")


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"a {obj.dtype} array of shape {obj.shape}"
    return f"{type(obj).__name__} {obj!r}" if isinstance(obj, (int, float, str)) else type(obj).__name__


def as_buffer(buffer: Any, name: str = "buffer") -> np.ndarray:
    """A 1-D contiguous ``uint8`` view of a bytes-like object or ``uint8`` array.

    Examples
    --------
    >>> as_buffer(b"abc").dtype
    dtype('uint8')
    """
    if isinstance(buffer, np.ndarray):
        if buffer.dtype not in (np.uint8, np.int8):
            raise TypeError(
                f"{name} must be bytes-like or a uint8 numpy array, got {_describe(buffer)} "
                "(use arr.view(numpy.uint8) to measure its raw bytes)"
            )
        if buffer.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {buffer.shape} (use arr.ravel())")
        return np.ascontiguousarray(buffer).view(np.uint8)
    if isinstance(buffer, str):
        raise TypeError(f"{name} must be bytes-like, got str (encode it first, e.g. text.encode())")
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"{name} must be bytes-like or a uint8 numpy array, got {_describe(buffer)}") from None
    if not view.contiguous:
        raise ValueError(f"{name} must be a contiguous buffer, got a non-contiguous {type(buffer).__name__}")
    if view.ndim != 1 or view.format not in ("B", "b", "c"):
        view = view.cast("B")
    return np.frombuffer(view, dtype=np.uint8)


def as_block(block: Any) -> int | None:
    """``None`` or a positive block length in bytes."""
    if block is None:
        return None
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)):
        raise TypeError(f"block must be None or a positive int, got {_describe(block)}")
    if block <= 0:
        raise ValueError(f"block must be a positive number of bytes, got {int(block)!r}")
    return int(block)


def as_seed(seed: Any) -> int:
    """A seed in ``[0, 2**64)``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int in [0, 2**64), got {_describe(seed)}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed!r}")
    return seed


def as_algorithm(algorithm: Any) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; valid algorithms: {', '.join(ALGORITHMS)}")
    return algorithm


def _offsets_data(offsets: Any, data: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(offsets, np.ndarray) or offsets.dtype.kind not in "iu":
        raise TypeError(f"offsets must be an integer numpy array, got {_describe(offsets)}")
    if offsets.ndim != 1 or offsets.size < 1:
        raise ValueError(f"offsets must be 1-D with n_keys + 1 entries, got shape {offsets.shape}")
    data = as_buffer(data, "data")
    # int32 offsets (Arrow's binary layout) are used as they are: widening a million of them
    # costs about as much as hashing a sixth of the keys.
    offs = offsets if offsets.dtype == np.int32 else offsets.astype(np.int64, copy=False)
    if offs[0] < 0 or offs[-1] > data.size:
        raise ValueError(
            f"offsets must lie in [0, len(data)={data.size}], got offsets[0]={int(offs[0])}, "
            f"offsets[-1]={int(offs[-1])}"
        )
    if offs.size > 1:
        bad = np.flatnonzero(offs[1:] < offs[:-1])
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"offsets must be non-decreasing, got offsets[{i}]={int(offs[i])} > offsets[{i + 1}]={int(offs[i + 1])}"
            )
    return np.ascontiguousarray(offs), data


def _from_arrow(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_binary_view(t) or pa.types.is_string_view(t):
        arr, t = arr.cast(pa.large_binary()), pa.large_binary()
    if pa.types.is_binary(t) or pa.types.is_string(t):
        odt = np.int32
    elif pa.types.is_large_binary(t) or pa.types.is_large_string(t):
        odt = np.int64
    else:
        raise TypeError(f"keys as an Arrow array must be binary, large_binary, string or large_string, got {t}")
    if arr.null_count:
        raise ValueError(f"keys contain {arr.null_count} null(s); fingerprints are defined for bytes only")
    bufs = arr.buffers()
    n, off = len(arr), arr.offset
    offsets = np.frombuffer(bufs[1], dtype=odt, count=off + n + 1)[off:] if bufs[1] is not None else np.zeros(1, odt)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and n else np.zeros(0, np.uint8)
    return np.ascontiguousarray(offsets), data  # int32 or int64, as Arrow laid them out


# From this many keys on, a list is converted through pyarrow when it is
# installed: about 3x faster than bytes.join, whose per-item buffer protocol
# dominates for small keys.
ARROW_MIN_KEYS = 4096


def _from_sequence(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    n = len(keys)
    if n >= ARROW_MIN_KEYS and importlib.util.find_spec("pyarrow"):
        import pyarrow as pa

        try:
            arr = pa.array(keys, type=pa.large_binary())
        except (pa.ArrowException, TypeError, ValueError):
            arr = None  # the path below names the offending key
        if arr is not None and not arr.null_count:
            return _from_arrow(arr)
    try:
        joined = b"".join(keys)
    except TypeError:
        # str keys are hashed as their UTF-8 bytes, like Arrow string arrays
        # (the xxhash library asks callers to encode; pyarrow already does).
        keys = [k.encode() if isinstance(k, str) else k for k in keys]
        for i, k in enumerate(keys):
            if not _is_bytes_like(k):
                raise TypeError(f"keys[{i}] must be bytes-like or str, got {_describe(k)}") from None
        joined = b"".join(keys)
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    total = int(lengths.sum()) if n else 0
    if total != len(joined):
        # Some buffers (multi-byte formats) have len() != nbytes.
        lengths = np.fromiter((memoryview(k).nbytes for k in keys), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets, np.frombuffer(joined, dtype=np.uint8)


def _is_bytes_like(obj: Any) -> bool:
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def as_keys(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)``: n + 1 offsets into a ``uint8`` buffer, Arrow's layout.

    Offsets are ``int64``, or ``int32`` when they come so from a 32-bit Arrow
    array or ``(offsets, data)`` (used without a copy); every backend takes
    either.

    Accepts a list (or tuple) of bytes-like or str keys (str as its UTF-8
    bytes), a pyarrow ``binary`` /
    ``large_binary`` / ``string`` / ``large_string`` array, or an
    ``(offsets, data)`` tuple of numpy arrays in Arrow's layout.

    Examples
    --------
    >>> offsets, data = as_keys([b"ab", b"", b"c"])
    >>> offsets.tolist(), bytes(data)
    ([0, 2, 2, 3], b'abc')
    """
    if type(keys).__module__.startswith("pyarrow"):
        return _from_arrow(keys)
    if (isinstance(keys, tuple) and len(keys) == 2 and isinstance(keys[0], np.ndarray)
            and isinstance(keys[1], np.ndarray) and keys[0].dtype.kind in "iu" and keys[0].dtype != np.uint8):
        return _offsets_data(*keys)
    if isinstance(keys, (bytes, bytearray, memoryview, str)):
        raise TypeError(
            f"keys must be a sequence of bytes-like keys, got a single {type(keys).__name__} (wrap it in a list)"
        )
    if isinstance(keys, np.ndarray):
        if keys.dtype != object:
            raise TypeError(
                f"keys as a numpy array must have dtype object (of bytes), got {_describe(keys)}; "
                "pass (offsets, data) for Arrow's layout"
            )
        keys = keys.tolist()
    if not isinstance(keys, (list, tuple)):
        try:
            operator.length_hint(keys)
            keys = list(keys)
        except TypeError:
            raise TypeError(
                f"keys must be a list of bytes, a pyarrow binary array or (offsets, data), got {_describe(keys)}"
            ) from None
    return _from_sequence(keys)


def as_samples(samples: Any) -> np.ndarray:
    """A 1-D ``float64`` array of finite-or-infinite real samples (no NaN).

    Examples
    --------
    >>> as_samples([1, 2.5]).tolist()
    [1.0, 2.5]
    """
    if isinstance(samples, np.ndarray):
        if samples.dtype.kind not in "iuf":
            raise TypeError(f"samples must be real numbers, got {_describe(samples)}")
        a = samples.astype(np.float64, copy=False)
    else:
        if isinstance(samples, (str, bytes)):
            raise TypeError(f"samples must be a sequence of real numbers, got {type(samples).__name__}")
        try:
            a = np.asarray(samples, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"samples must be a sequence of real numbers, got {_describe(samples)} ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError(f"samples must not contain NaN, got {int(np.isnan(a).sum())} NaN value(s)")
    return a


def as_statistic(statistic: Any) -> str:
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; valid statistics: {', '.join(STATISTICS)}")
    return statistic


def as_resamples(resamples: Any) -> int:
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)):
        raise TypeError(f"resamples must be a positive int, got {_describe(resamples)}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {int(resamples)!r}")
    return int(resamples)


def as_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise TypeError(f"level must be a float in (0, 1), got {_describe(level)}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)


def as_bootstrap_args(samples: Any, statistic: Any, resamples: Any, level: Any,
                      seed: Any) -> tuple[np.ndarray, tuple[str, int, float, int]]:
    """``(samples, (statistic, resamples, level, seed))`` of a bootstrap call, each checked.

    Examples
    --------
    >>> xs, args = as_bootstrap_args([2, 1], "median", 100, 0.9, 3)
    >>> xs.tolist(), args
    ([2.0, 1.0], ('median', 100, 0.9, 3))
    """
    return as_samples(samples), (as_statistic(statistic), as_resamples(resamples), as_level(level), as_seed(seed))


# --- the wrapper around every core --------------------------------------------------------

def bootstrap_result(core: Callable, xs: np.ndarray, statistic: str, resamples: int, level: float, seed: int,
                     return_distribution: bool) -> Any:
    """Run a bootstrap core on checked inputs: the percentile interval, or the resampled statistics.

    Examples
    --------
    >>> import kit.kernels._numpy as _numpy
    >>> bootstrap_result(_numpy.bootstrap_stats, np.array([1.0]), "median", 10, 0.95, 0, False)
    (1.0, 1.0)
    """
    if xs.size == 0:
        stats = np.full(resamples, np.nan)
    else:
        stats = core(np.sort(xs), resamples, _stats.splitmix_key(seed), statistic)
    if return_distribution:
        return stats
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(stats, [tail, 100.0 - tail])
    return float(lo), float(hi)


def _entropy(core: Callable) -> Callable:
    def entropy(buffer: Any, block: int | None = None) -> float | np.ndarray:
        return core(as_buffer(buffer), as_block(block))

    return entropy


def _fingerprint(core: Callable) -> Callable:
    def batch_fingerprint(keys: Any, seed: int = 0, algorithm: str = "xxh64") -> np.ndarray:
        seed, algorithm = as_seed(seed), as_algorithm(algorithm)
        offsets, data = as_keys(keys)
        return core(offsets, data, seed, algorithm)

    return batch_fingerprint


def _bootstrap(core: Callable) -> Callable:
    def bootstrap(samples: Any, statistic: str = "median", resamples: int = 10_000, level: float = 0.95,
                  seed: int = 0, return_distribution: bool = False) -> Any:
        xs, args = as_bootstrap_args(samples, statistic, resamples, level, seed)
        return bootstrap_result(core, xs, *args, return_distribution)

    return bootstrap


_WRAPPERS = {"entropy": _entropy, "batch_fingerprint": _fingerprint, "bootstrap": _bootstrap}


def wrap(kernel: str, core: Callable, backend: str) -> Callable:
    """The implementation of ``kernel`` on ``backend``: the kernel's signature around ``core``.

    The result carries ``core``, ``backend`` and ``features`` attributes.

    Examples
    --------
    >>> import kit.kernels._numpy as _numpy
    >>> fn = wrap("entropy", _numpy.entropy, "numpy")
    >>> fn(b"abab"), fn.backend
    (1.0, 'numpy')
    """
    fn = _WRAPPERS[kernel](core)
    fn.core = core  # type: ignore[attr-defined]
    fn.backend = backend  # type: ignore[attr-defined]
    fn.features = FEATURES[kernel]  # type: ignore[attr-defined]
    fn.__qualname__ = f"{kernel}[{backend}]"
    return fn
