"""Time against input size per backend, perfplot-style, for the notebooks.

:func:`scaling` measures every available backend of a kernel at each size
with :func:`kit.engine.measure.compare` (interleaved, calibrated, with a CI), and
returns plain data; :func:`plot_scaling` draws it with matplotlib (imported
when called).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

#: What "size" means for each kernel, and the arguments of one call at that size.
UNITS = {"entropy": "bytes", "batch_fingerprint": "keys", "bootstrap": "samples"}


def make_input(kernel: str, size: int, seed: int = 0) -> tuple[tuple, int]:
    """``(args, nbytes)`` of one call of ``kernel`` at ``size`` (see :data:`UNITS`).

    Entropy gets ``size`` random bytes; the batch fingerprint ``size`` random
    keys of 8-64 bytes in Arrow layout; the bootstrap ``size`` normal samples
    with 1000 resamples of the median.

    Examples
    --------
    >>> args, nbytes = make_input("entropy", 1000)
    >>> nbytes
    1000
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if kernel == "entropy":
        data = rng.bytes(size)
        return (data,), size
    if kernel == "batch_fingerprint":
        lengths = rng.integers(8, 65, size)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = np.frombuffer(rng.bytes(int(offsets[-1])), dtype=np.uint8)
        return ((offsets, data),), int(offsets[-1])
    if kernel == "bootstrap":
        samples = rng.normal(size=size)
        return (samples, "median", 1000), samples.nbytes
    from kit.kernels._surface import operation_name

    operation_name(kernel)  # raises with the valid kernels
    raise AssertionError("unreachable")


def scaling(kernel: str, sizes: Iterable[int], backends: Iterable[str] | None = None, *,
            preset: str = "quick", seed: int = 0) -> dict[str, Any]:
    """Measure ``kernel`` on each backend at each size.

    Parameters
    ----------
    kernel : {"entropy", "batch_fingerprint", "bootstrap"}
    sizes : iterable of int
        Input sizes in the kernel's unit (:data:`UNITS`).
    backends : iterable of str, optional
        Default: every backend available here. A named backend that cannot
        run raises :class:`kit.errors.BackendUnavailable`.
    preset : {"quick", "full"}
        Timing preset of :func:`kit.engine.measure.compare`.

    Returns
    -------
    dict
        ``kernel``, ``unit``, ``sizes``, ``unavailable`` (name -> reason),
        and ``backends``: name -> ``{"median_s", "ci_low_s", "ci_high_s"}``
        lists aligned with ``sizes``; also ``compile_times``.

    Examples
    --------
    >>> from kit.kernels import scaling
    >>> data = scaling("entropy", [1000, 4000], ["numpy"], preset="quick")
    >>> len(data["backends"]["numpy"]["median_s"])
    2
    """
    from kit import registry as _registry
    from kit.kernels import _api
    from kit.kernels._surface import operation_name
    from kit.engine.measure import compare

    op = operation_name(kernel)
    sizes = [int(s) for s in sizes]
    unavailable: dict[str, str] = {}
    if backends is None:
        names = []
        for b in _registry.backends(op):
            reason = b.unavailable_reason()
            if reason is None:
                names.append(b.name)
            else:
                unavailable[b.name] = reason
    else:
        names = list(backends)
    impls: dict[str, Callable] = {n: _api.implementation(kernel, n) for n in names}
    out: dict[str, Any] = {"kernel": kernel, "unit": UNITS[kernel], "sizes": sizes, "unavailable": unavailable,
                           "backends": {n: {"median_s": [], "ci_low_s": [], "ci_high_s": []} for n in names}}
    for size in sizes:
        args, nbytes = make_input(kernel, size, seed)
        res = compare({n: (lambda fn=fn: fn(*args)) for n, fn in impls.items()}, nbytes=nbytes, preset=preset)
        for n in names:
            lo, hi = res[n].ci
            row = out["backends"][n]
            row["median_s"].append(res[n].median)
            row["ci_low_s"].append(lo)
            row["ci_high_s"].append(hi)
    out["compile_times"] = _api.compile_times()
    return out


def plot_scaling(data: dict[str, Any], ax: Any = None, relative_to: str | None = None) -> Any:
    """Plot :func:`scaling` data: time (or time relative to one backend) against size, log-log.

    Parameters
    ----------
    data : dict
        What :func:`scaling` returned.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    relative_to : str, optional
        A backend name: plot each backend's time divided by its time.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from kit.kernels import plot_scaling
    >>> ax = plot_scaling({"kernel": "entropy", "unit": "bytes", "sizes": [10, 100],
    ...                    "backends": {"numpy": {"median_s": [1e-6, 2e-6], "ci_low_s": [1e-6, 2e-6],
    ...                                           "ci_high_s": [1e-6, 2e-6]}}})
    >>> ax.get_xscale()
    'log'
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    sizes = data["sizes"]
    ref = data["backends"][relative_to]["median_s"] if relative_to else None
    for name, row in data["backends"].items():
        med, lo, hi = row["median_s"], row["ci_low_s"], row["ci_high_s"]
        if ref is not None:
            med = [m / r for m, r in zip(med, ref)]
            lo = [m / r for m, r in zip(lo, ref)]
            hi = [m / r for m, r in zip(hi, ref)]
        yerr = [[max(m - a, 0.0) for m, a in zip(med, lo)], [max(b - m, 0.0) for m, b in zip(med, hi)]]
        ax.errorbar(sizes, med, yerr=yerr, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"input size ({data['unit']})")
    ax.set_ylabel(f"time relative to {relative_to}" if relative_to else "time per call (s)")
    ax.set_title(f"kit.kernels.{data['kernel']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax

