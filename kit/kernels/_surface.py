"""What every implementation of a kernel shares: names, feature sets, work per payload (no imports).

Kept apart from the implementations so the registry can declare the
kernels without importing numpy.
"""

from __future__ import annotations

KERNELS = ("entropy", "batch_fingerprint", "bootstrap")

#: Every backend implements every feature of its kernel; the sets document
#: the surface, and tests skip on a missing feature, never on a backend name.
FEATURES: dict[str, frozenset[str]] = {
    "entropy": frozenset({"bytes-like", "uint8-array", "block"}),
    "batch_fingerprint": frozenset({"xxh64", "xxh3_64", "seed", "list", "arrow", "offsets"}),
    "bootstrap": frozenset({"median", "mean", "seed", "return_distribution"}),
}

#: Work from which the ``numba.parallel`` backend runs a kernel on all cores
#: (entropy: bytes; batch_fingerprint: keys; bootstrap: samples x resamples);
#: below it, waking the thread pool costs more than it saves.
PARALLEL_MIN: dict[str, int] = {"entropy": 1 << 20, "batch_fingerprint": 1 << 15, "bootstrap": 1 << 20}


def operation_name(kernel: str) -> str:
    """Registry name of a kernel.

    Examples
    --------
    >>> operation_name("entropy")
    'kernel.entropy'
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(KERNELS)}")
    return f"kernel.{kernel}"


def bootstrap_params(payload_bytes: int) -> tuple[int, int]:
    """``(samples, resamples)`` measured for a numeric payload of ``payload_bytes``.

    Small payloads are what :func:`kit.engine.measure.bootstrap_ci` does all the
    time (a few samples, 2000 resamples); large ones are the issue's target
    (1000 samples, 10,000 resamples).

    Examples
    --------
    >>> bootstrap_params(200), bootstrap_params(8 << 20)
    ((25, 2000), (1000, 10000))
    """
    n = max(1, min(payload_bytes // 8, 1000))
    return n, (10_000 if payload_bytes >= (1 << 20) else 2_000)
