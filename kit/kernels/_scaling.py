"""Time against input size per backend, for the kernels: :func:`kit.profile.profile` in each kernel's unit.

:func:`scaling` measures every available backend of a kernel at each size
(kit's one "vs size" profiler, :mod:`kit.profile`: interleaved, calibrated,
with a CI) and returns plain data; :func:`plot_scaling` draws it with
:func:`kit.profile.draw` (matplotlib, imported when called).
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

    from kit.kernels._surface import operation_name

    operation_name(kernel)  # raises with the valid kernels
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
    samples = rng.normal(size=size)
    return (samples, "median", 1000), samples.nbytes


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
    from kit.kernels._api import compile_times, implementation
    from kit.kernels._surface import operation_name
    from kit.profile import backend_menu, profile

    op = operation_name(kernel)
    sizes = [int(s) for s in sizes]
    unavailable: dict[str, str] = {}
    if backends is None:
        names, unavailable = backend_menu(op)
    else:
        names = list(backends)
    impls: dict[str, Callable] = {n: implementation(kernel, n) for n in names}

    def inputs(size: int) -> tuple[int, Callable[[str], tuple]]:
        args, nbytes = make_input(kernel, size, seed)
        return nbytes, (lambda name: args)

    baseline = _registry.operation(op).baseline
    result = profile(impls, sizes, inputs, operation=op, baseline=baseline if baseline in impls else None,
                     unit=UNITS[kernel], timing={"preset": preset}, strict=True)
    out: dict[str, Any] = {"kernel": kernel, "unit": UNITS[kernel], "sizes": sizes, "unavailable": unavailable,
                           "backends": {}}
    for n in names:
        _, med, lo, hi = result.series(n, "time")
        out["backends"][n] = {"median_s": med, "ci_low_s": lo, "ci_high_s": hi}
    out["compile_times"] = compile_times()
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
    from kit.profile import draw

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    series = {name: (data["sizes"], row["median_s"], row["ci_low_s"], row["ci_high_s"])
              for name, row in data["backends"].items()}
    baseline = "numpy" if "numpy" in series else None
    return draw(ax, series, unit=data["unit"], metric="time", baseline=baseline,
                title=f"kit.kernels.{data['kernel']}", relative_to=relative_to)
