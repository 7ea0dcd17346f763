"""cupy backend: the numpy reference code run with ``xp = cupy`` on the GPU.

Entropy and bootstrap are whole-array algorithms (``bincount``, gathers,
sorts), which cupy runs as GPU kernels without a line of CUDA; the batch
fingerprint is a per-key loop and has its GPU version in the ``cuda``
backend instead. Inputs are copied to the device and results back.
"""

from __future__ import annotations

import time

import numpy as np

import kit.kernels._numpy as _numpy


def _cupy():
    import cupy

    return cupy


def entropy(a: np.ndarray, block: int | None) -> float | np.ndarray:
    cp = _cupy()
    if a.size == 0:
        return 0.0 if block is None else np.zeros(0, dtype=np.float64)
    return _numpy.entropy(cp.asarray(a), block, xp=cp)


def bootstrap(xs: np.ndarray, resamples: int, key: int, statistic: str) -> np.ndarray:
    cp = _cupy()
    return cp.asnumpy(_numpy.bootstrap_stats(cp.asarray(xs), resamples, key, statistic, xp=cp))


#: kernel -> {"seconds": first-call time, "source": "compiled"}
COMPILE_TIMES: dict[str, dict[str, object]] = {}


def warm(kernel: str) -> None:
    """Make one kernel's first calls on tiny inputs (cupy compiles its GPU kernels then), timing them."""
    name = f"cupy:{kernel}"
    if name in COMPILE_TIMES:
        return
    t0 = time.perf_counter()
    if kernel == "entropy":
        entropy(np.arange(64, dtype=np.uint8), None)
        entropy(np.arange(64, dtype=np.uint8), 16)
    elif kernel == "bootstrap":
        bootstrap(np.arange(5, dtype=np.float64), 3, 1, "median")
        bootstrap(np.arange(5, dtype=np.float64), 3, 1, "mean")
    else:
        raise ValueError(f"no cupy implementation of {kernel!r}")
    COMPILE_TIMES[name] = {"seconds": time.perf_counter() - t0, "source": "compiled"}
