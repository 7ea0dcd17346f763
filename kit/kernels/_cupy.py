"""cupy backend: the numpy reference code run with ``xp = cupy`` on the GPU.

Entropy and bootstrap are whole-array algorithms (``bincount``, gathers,
sorts), which cupy runs as GPU kernels without a line of CUDA; the batch
fingerprint is a per-key loop and has its GPU version in the ``cuda``
backend instead. Inputs are copied to the device and results back.
"""

from __future__ import annotations

import numpy as np

from kit.kernels import _numpy


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
