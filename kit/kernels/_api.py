"""The kernels' public functions and their dispatch.

Every backend of a kernel is the same Python function wrapped around a
different *core* (:func:`kit.kernels._inputs.wrap`; the registry's loaders
build them, :mod:`kit.registry.kernels`): validation, defaults and
post-processing are written once, so all implementations share one
signature and reject the same inputs with the same messages. The public
functions here check their inputs the same way, then call the chosen
backend's core.

With ``backend=None`` the choice is, in order: a backend forced by the
configuration; numpy for bootstrap work too small to be worth a thread or
a measurement; otherwise :func:`kit.engine.backend_for` (stored wisdom, or a
quick measurement on first use).
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np

from kit import config as _config
from kit import registry as _registry
from kit.engine import SIZE_NAMES, get_engine, size_class
from kit.errors import BackendUnavailable
from kit.kernels import _inputs
from kit.kernels._surface import bootstrap_params, operation_name

# --- bootstrap work <-> payload size ---------------------------------------------------

def _work_bounds() -> tuple[float, float]:
    # Geometric midpoints between the work of the size classes' payloads.
    works = [math.prod(bootstrap_params(s)) for s in _registry.SIZE_CLASSES.values()]
    return math.sqrt(works[0] * works[1]), math.sqrt(works[1] * works[2])


def bootstrap_size(n: int, resamples: int) -> int:
    """Payload size (bytes) whose measurement stands for ``n`` samples x ``resamples``.

    Examples
    --------
    >>> bootstrap_size(15, 2000), bootstrap_size(1000, 10_000)
    (200, 8388608)
    """
    small_max, medium_max = _work_bounds()
    work = n * resamples
    cls = "small" if work < small_max else "medium" if work < medium_max else "large"
    return _registry.SIZE_CLASSES[cls]


# --- dispatch -----------------------------------------------------------------------------

def choose(kernel: str, size: int | None = None) -> str:
    """The backend a call with ``backend=None`` would use for an input of ``size`` bytes.

    Examples
    --------
    >>> import kit
    >>> with kit.config_context(backends={"kernel.entropy": "numpy"}):
    ...     choose("entropy", 1000)
    'numpy'
    """
    op = operation_name(kernel)
    forced = _config.forced_backend(op)
    if forced is not None:
        return forced
    if kernel == "bootstrap" and size is not None and size <= _registry.SIZE_CLASSES["small"]:
        return "numpy"
    # The engine's binding (cached until the configuration or the wisdom changes), as the
    # handlers use: asking `backend_for` re-reads library versions, about 1 ms per call.
    return get_engine().binding(op).names[SIZE_NAMES.index(size_class(size))]


def implementation(kernel: str, backend: str) -> Callable:
    """The callable of one backend; one that cannot run here raises :class:`BackendUnavailable`.

    Examples
    --------
    >>> implementation("entropy", "numpy")(b"abab")
    1.0
    """
    op = operation_name(kernel)
    b = _registry.backend(op, backend)  # unknown names list the valid ones
    reason = b.unavailable_reason()
    if reason is not None:
        raise BackendUnavailable(f"backend {backend!r} of {op!r} cannot run here: {reason}")
    return b.implementation()


def _core(kernel: str, size: int | None, backend: str | None) -> Callable:
    name = choose(kernel, size) if backend is None else backend
    return implementation(kernel, name).core


def compile_times() -> dict[str, dict[str, object]]:
    """First-call (compile, or load from numba's disk cache) times, apart from steady state.

    Keys are ``"backend:kernel"``; values give ``seconds`` and ``source``
    (``"compiled"``, ``"disk cache"`` or ``"simulator"``). Only kernels used
    in this process appear; asking never imports numba.

    Examples
    --------
    >>> import kit.kernels
    >>> _ = kit.kernels.entropy(b"abc", backend="numpy")
    >>> isinstance(kit.kernels.compile_times(), dict)
    True
    """
    out: dict[str, dict[str, object]] = {}
    for mod in ("kit.kernels._numba", "kit.kernels._cuda", "kit.kernels._cupy"):
        m = sys.modules.get(mod)  # a backend never used here is not imported to ask
        if m is not None:
            out.update({k: dict(v) for k, v in m.COMPILE_TIMES.items()})
    return out


def backends(kernel: str) -> dict[str, str | None]:
    """Backends of a kernel: ``None`` when usable here, else the reason it is not.

    Examples
    --------
    >>> backends("entropy")["numpy"] is None
    True
    """
    return {b.name: b.unavailable_reason() for b in _registry.backends(operation_name(kernel))}


# --- the public functions -------------------------------------------------------------------

def entropy(buffer: Any, block: int | None = None, backend: str | None = None) -> float | np.ndarray:
    """Shannon entropy of a buffer's bytes, in bits per byte (0 to 8).

    Parameters
    ----------
    buffer : bytes-like or numpy.ndarray of uint8
        The data (bytes, bytearray, memoryview, mmap, 1-D uint8 array).
    block : int, optional
        If given, the entropy of each consecutive block of ``block`` bytes
        (the last may be shorter) as a ``float64`` array.
    backend : str, optional
        ``"numpy"``, ``"numba"`` (one core), ``"numba.parallel"`` (all
        cores), ``"cuda"``, ``"cupy"``; default: the engine's choice for
        this size. A named backend that cannot run here
        raises :class:`kit.errors.BackendUnavailable`.

    Returns
    -------
    float or numpy.ndarray
        0.0 for an empty buffer (an empty array per block).

    Examples
    --------
    >>> import kit.kernels
    >>> kit.kernels.entropy(b"abab", backend="numpy")
    1.0
    >>> kit.kernels.entropy(bytes(range(256)) * 2, block=256, backend="numpy").tolist()
    [8.0, 8.0]
    """
    a, blk = _inputs.as_buffer(buffer), _inputs.as_block(block)
    return _core("entropy", a.size, backend)(a, blk)


def batch_fingerprint(keys: Any, seed: int = 0, algorithm: str = "xxh64", backend: str | None = None) -> np.ndarray:
    """64-bit xxHash of many keys at once, equal bit for bit to the ``xxhash`` library.

    Parameters
    ----------
    keys : list of bytes, pyarrow binary/string array, or (offsets, data)
        The keys. Arrow layout (``offsets`` of n + 1 integers into a
        ``uint8`` ``data`` buffer) avoids any conversion; a list is converted
        first (through pyarrow when installed and the list is long). str
        keys are hashed as their UTF-8 bytes.
    seed : int
        In ``[0, 2**64)``.
    algorithm : {"xxh64", "xxh3_64"}
    backend : str, optional
        ``"numpy"``, ``"numba"`` (one core), ``"numba.parallel"`` (all
        cores), ``"cuda"``, ``"xxhash"`` (a loop over the library);
        default: the engine's choice.

    Returns
    -------
    numpy.ndarray of uint64
        One fingerprint per key (empty for no keys).

    Examples
    --------
    >>> import xxhash, kit.kernels
    >>> fp = kit.kernels.batch_fingerprint([b"a", b"bc"], backend="numpy")
    >>> int(fp[1]) == xxhash.xxh64_intdigest(b"bc")
    True
    """
    seed, algorithm = _inputs.as_seed(seed), _inputs.as_algorithm(algorithm)
    offsets, data = _inputs.as_keys(keys)
    size = int(offsets[-1] - offsets[0])
    return _core("batch_fingerprint", size, backend)(offsets, data, seed, algorithm)


def bootstrap(samples: Any, statistic: str = "median", resamples: int = 10_000, level: float = 0.95,
              seed: int = 0, return_distribution: bool = False, backend: str | None = None) -> Any:
    """Percentile bootstrap confidence interval of the median (or mean) of samples.

    Resampling draws indices from a counter-based SplitMix64 stream
    (:func:`kit.stats.resample_indices`), so every backend draws the same
    resamples: medians agree bit for bit, means to rounding.

    Parameters
    ----------
    samples : sequence or 1-D numpy array of real numbers (no NaN)
    statistic : {"median", "mean"}
    resamples : int
        Number of resamples (each of ``len(samples)`` draws with replacement).
    level : float
        Confidence level in (0, 1).
    seed : int
        In ``[0, 2**64)``; the same seed gives the same interval.
    return_distribution : bool
        Return the ``resamples`` resampled statistics (float64 array) instead
        of the interval.
    backend : str, optional
        ``"numpy"``, ``"numba"`` (one core), ``"numba.parallel"`` (all
        cores), ``"cuda"``, ``"cupy"``; default: numpy for small work, else
        the engine's choice.

    Returns
    -------
    (float, float) or numpy.ndarray
        ``(low, high)``; ``(nan, nan)`` for no samples.

    Examples
    --------
    >>> import kit.kernels
    >>> lo, hi = kit.kernels.bootstrap([1.0, 1.2, 0.9, 1.1, 1.0], resamples=500, backend="numpy")
    >>> 0.9 <= lo <= 1.0 <= hi <= 1.2
    True
    """
    xs, args = _inputs.as_bootstrap_args(samples, statistic, resamples, level, seed)
    core = _core("bootstrap", bootstrap_size(xs.size, args[1]), backend)
    return _inputs.bootstrap_result(core, xs, *args, return_distribution)
