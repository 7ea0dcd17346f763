"""Time against input size per backend: kit's one "vs size" profiler.

:func:`profile` times several implementations of one thing at each of several
input sizes with :func:`kit.engine.measure.compare` (calibrated, interleaved,
median with a bootstrap 95% CI), and returns a :class:`Scaling`: the
measurements, the speed-ups over a baseline, what was left out and why.
:meth:`Scaling.plot` draws them perfplot-style (log-log, one line per backend,
a CI band around each); :meth:`Scaling.table` gives the speed-ups as a table.

Two front-ends share it:

* :func:`measure_scaling`: a registry operation on the registry's seeded
  payloads at any byte size, prepared by the operation's ``prepare`` hook,
  exactly as the engine measures a size class (the notebooks' profiling
  panel, :class:`kit.notebook.ProfilingPanel`);
* :func:`kit.kernels.scaling`: a kernel at sizes in its own unit (bytes, keys,
  samples), drawn by :func:`kit.kernels.plot_scaling`.

matplotlib is imported only when something is drawn.

Examples
--------
>>> from kit.profile import measure_scaling
>>> s = measure_scaling("digest", sizes=[200, 4096], progress_bar=False)   # doctest: +SKIP
>>> print(s.table())                                                        # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from kit._display import format_bytes

__all__ = ["METRICS", "Point", "Scaling", "backend_menu", "default_backends", "draw", "measure_scaling", "profile",
           "size_label", "size_steps", "sizes_between"]

METRICS = ("time", "throughput")
#: Sizes measured by default, by mode.
#: (quick: the engine's small to medium classes; otherwise small to large.)
DEFAULT_RANGE = {True: ("small", "medium"), False: ("small", "large")}
# Sizes between the engine's classes, so that the curves show how each backend scales.
_BETWEEN = (64, 1 << 10, 4 << 10, 16 << 10, 256 << 10, 1 << 20, 4 << 20)
# Quick mode: shorter samples than the "quick" preset (seconds, not minutes, for a whole notebook).
QUICK_TIMING = {"min_time": 0.002, "samples": 7, "budget": 0.1}


def _size_text(size: int, unit: str) -> str:
    return format_bytes(size) if unit == "bytes" else f"{size:,} {unit}"


@dataclass
class Point:
    """One backend measured at one input size (see :func:`profile`).

    Examples
    --------
    >>> p = measure_scaling("digest", sizes=[200], progress_bar=False).points[0]   # doctest: +SKIP
    >>> p.backend, p.size, p.speedup[0]                                            # doctest: +SKIP
    ('hashlib.sha256', 200, 1.0)
    """

    backend: str
    size: int
    nbytes: int
    measurement: Any  # kit.engine.measure.Measurement
    speedup: tuple[float, float, float] | None  # vs the baseline: ratio, CI low, CI high (None: no baseline)


@dataclass
class Scaling:
    """Measurements of several backends over several input sizes.

    Attributes
    ----------
    operation, kind : str
        What was measured, on which payload kind ("" when the input has no kind).
    baseline : str or None
        The reference backend of the speed-ups.
    points : list of Point
        One per backend and size.
    skipped : dict
        Backend -> why it was left out (raised on an input, unavailable).
    unit : str
        What a size counts: ``"bytes"``, or a kernel's unit (``"keys"``, ``"samples"``).

    Examples
    --------
    >>> s = measure_scaling("digest", sizes=[200, 1024], progress_bar=False)   # doctest: +SKIP
    >>> s.sizes, s.backends[0]                                                  # doctest: +SKIP
    ([200, 1024], 'hashlib.sha256')
    >>> fig = s.plot("throughput")                                              # doctest: +SKIP
    """

    operation: str
    kind: str
    baseline: str | None
    points: list[Point] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    unit: str = "bytes"

    @property
    def backends(self) -> list[str]:
        return list(dict.fromkeys(p.backend for p in self.points))

    @property
    def sizes(self) -> list[int]:
        return sorted({p.size for p in self.points})

    def series(self, backend: str, metric: str = "time") -> tuple[list[int], list[float], list[float], list[float]]:
        """``(sizes, centre, low, high)`` of one backend for ``metric`` ("time" or "throughput")."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        xs, ys, lo, hi = [], [], [], []
        for p in sorted((p for p in self.points if p.backend == backend), key=lambda p: p.size):
            m = p.measurement
            xs.append(p.size)
            if metric == "time":
                c_lo, c_hi = m.ci
                ys.append(m.median), lo.append(c_lo), hi.append(c_hi)
            else:
                t_lo, t_hi = m.throughput_ci
                ys.append(m.throughput), lo.append(t_lo), hi.append(t_hi)
        return xs, ys, lo, hi

    @property
    def title(self) -> str:
        return f"{self.operation} on {self.kind} payloads" if self.kind else self.operation

    def plot(self, metric: str = "time", ax: Any = None, relative_to: str | None = None) -> Any:
        """Perfplot-style chart: log-log, one line per backend, 95% CI bands.

        ``relative_to`` names a backend whose times divide every backend's
        (time only). Returns the matplotlib ``Figure`` (a new one, without
        pyplot's state, when ``ax`` is omitted).
        """
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(7.0, 4.2), layout="constrained")
            ax = fig.subplots()
        series = {b: self.series(b, metric) for b in self.backends}
        draw(ax, series, unit=self.unit, metric=metric, baseline=self.baseline, title=self.title,
             relative_to=relative_to)
        return ax.figure

    def table(self) -> Any:
        """Speed-ups over the baseline per size: ``2.31× [2.20, 2.45]``; a :class:`kit._display.Table`."""
        from kit._display import Table, speedup
        from kit.engine.measure import format_time

        names = self.backends
        rows = []
        for s in self.sizes:
            row: list[Any] = [size_label(s) if self.unit == "bytes" else _size_text(s, self.unit)]
            for b in names:
                p = next((p for p in self.points if p.backend == b and p.size == s), None)
                if p is None:
                    row.append("")
                elif p.speedup is None:
                    row.append(format_time(p.measurement.median))
                else:
                    row.append("baseline" if b == self.baseline else speedup(*p.speedup))
            rows.append(row)
        if self.baseline is None:
            title = f"{self.title}: median time per call"
            notes = [f"{len(self.points)} measurements in {self.seconds:.1f} s."]
        else:
            title = f"{self.operation} speed-ups over {self.baseline}" + (f" ({self.kind})" if self.kind else "")
            notes = [f"Speed-up = {self.baseline} median time / backend median time (above 1: faster), 95% "
                     f"bootstrap CI; {len(self.points)} measurements in {self.seconds:.1f} s."]
        notes += [f"{b}: left out ({why})" for b, why in self.skipped.items()]
        unstable = sorted({p.backend for p in self.points if p.measurement.warnings})
        if unstable:
            notes.append(f"unstable timings (CV or outliers) for: {', '.join(unstable)}")
        size_head = "size" if self.unit == "bytes" else f"size ({self.unit})"
        return Table(title, [size_head, *names], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "kind": self.kind, "baseline": self.baseline, "unit": self.unit,
                "seconds": self.seconds, "skipped": self.skipped,
                "points": [{"backend": p.backend, "size": p.size, "nbytes": p.nbytes,
                            "speedup": p.speedup[0] if p.speedup else None,
                            "speedup_ci": list(p.speedup[1:]) if p.speedup else None,
                            **p.measurement.summary()} for p in self.points]}


def profile(functions: Mapping[str, Callable], sizes: Iterable[int],
            inputs: Callable[[int], tuple[int, Callable[[str], tuple]]], *, operation: str, kind: str = "",
            baseline: str | None = None, unit: str = "bytes", timing: Mapping[str, Any] | None = None,
            strict: bool = False, progress_bar: bool = False,
            on_step: Callable[[int, int], None] | None = None) -> Scaling:
    """Time ``functions`` at each size, interleaved, on the same input; the profiler both front-ends use.

    Parameters
    ----------
    functions : mapping of str to callable
        Backend name -> implementation.
    sizes : iterable of int
        Input sizes, in ``unit``.
    inputs : callable
        ``inputs(size) -> (nbytes, args_for)``: the bytes one call processes
        (for throughputs) and ``args_for(backend)``, the call's arguments for
        that backend (the same input, prepared as the backend takes it).
    operation, kind, unit : str
        What is measured (labels of the result).
    baseline : str, optional
        The backend speed-ups are taken against; it is never left out.
    timing : mapping, optional
        Options of :func:`kit.engine.measure.compare` (``preset``, ``min_time``...).
    strict : bool
        Raise when a backend raises on an input; otherwise it is left out
        and the reason is kept in ``skipped``.
    progress_bar : bool
        A progress bar over the sizes (:func:`kit._display.progress_bar`).
    on_step : callable, optional
        ``on_step(done, total)`` after each size (for live widgets).

    Returns
    -------
    Scaling

    Examples
    --------
    >>> s = profile({"sum": sum, "len": len}, [10, 100], lambda n: (8 * n, lambda b: (list(range(n)),)),
    ...             operation="demo", baseline="sum", timing={"preset": "quick"})   # doctest: +SKIP
    >>> s.sizes, s.backends                                                         # doctest: +SKIP
    ([10, 100], ['sum', 'len'])
    """
    from kit.engine.measure import compare, speedup

    sizes = [int(s) for s in sizes]
    result = Scaling(operation, kind, baseline, unit=unit)
    bar = None
    if progress_bar:
        from kit._display import progress_bar as make_bar

        bar = make_bar(len(sizes), f"{operation} ({kind})" if kind else operation, "size", leave=False)
    t0 = time.perf_counter()
    try:
        for i, size in enumerate(sizes):
            nbytes, args_for = inputs(size)
            contenders = {}
            for name, fn in functions.items():
                if name in result.skipped:
                    continue
                try:
                    args = args_for(name)
                    fn(*args)  # a first call: it raises here, not while timed, and compiles or warms up
                except Exception as exc:  # a backend may reject an input the baseline takes
                    if strict or name == baseline:
                        raise
                    result.skipped[name] = f"raised {type(exc).__name__} at {_size_text(size, unit)}: {exc}"
                    continue
                contenders[name] = (lambda fn=fn, args=args: fn(*args))
            res = compare(contenders, nbytes=nbytes, **dict(timing or {}))
            base = res.get(baseline) if baseline is not None else None
            for name, m in res.items():
                result.points.append(Point(name, size, nbytes, m, speedup(base, m) if base is not None else None))
            if bar is not None:
                bar.update(1)
            if on_step is not None:
                on_step(i + 1, len(sizes))
    finally:
        if bar is not None:
            bar.close()
    result.points = [p for p in result.points if p.backend not in result.skipped]
    result.seconds = time.perf_counter() - t0
    return result


def draw(ax: Any, series: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]]],
         *, unit: str = "bytes", metric: str = "time", baseline: str | None = None, title: str = "",
         relative_to: str | None = None) -> Any:
    """Draw ``{backend: (sizes, centre, low, high)}`` on ``ax``: log-log, a line and a CI band each.

    ``relative_to`` (time only) divides every series by that backend's
    centre at the same size. Returns ``ax``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> _ = draw(ax, {"numpy": ([10, 100], [1e-6, 2e-6], [1e-6, 2e-6], [1e-6, 2e-6])}, unit="keys")
    >>> ax.get_xscale()
    'log'
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    from kit.engine.measure import format_rate, format_time

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if relative_to is not None:
        if metric != "time":
            raise ValueError(f"relative_to compares times; metric must be 'time', got {metric!r}")
        if relative_to not in series:
            raise ValueError(f"relative_to must be one of {', '.join(series)}, got {relative_to!r}")
        ref = dict(zip(series[relative_to][0], series[relative_to][1]))
        series = {b: (xs, *([v / ref[x] for x, v in zip(xs, col)] for col in (ys, lo, hi)))
                  for b, (xs, ys, lo, hi) in series.items()}
    sizes: set[float] = set()
    for b, (xs, ys, lo, hi) in series.items():
        label = b + (" (baseline)" if b == baseline else "")
        (line,) = ax.plot(xs, ys, marker="o", ms=4, label=label, lw=2 if b == baseline else 1.5,
                          ls="--" if b == baseline else "-")
        ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        sizes |= set(xs)
    ax.set_xscale("log", base=2 if unit == "bytes" else 10)
    ax.set_yscale("log")
    ticks = sorted(sizes)
    ax.set_xticks(ticks, [_size_text(s, unit).removesuffix(f" {unit}") for s in ticks], rotation=30)
    ax.minorticks_off()
    if relative_to is not None:
        fmt, ylabel = (lambda v: f"{v:g}×"), f"time relative to {relative_to}"
    elif metric == "time":
        fmt, ylabel = format_time, "time per call"
    else:
        fmt, ylabel = format_rate, "throughput"
    # Ticks at 1, 2, 5 x 10^k labelled in human units (``12 µs``, ``1.5 GB/s``).
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))
    ax.set_xlabel("payload size" if unit == "bytes" else f"input size ({unit})")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}: {metric} (median, 95% CI band)" if title else f"{metric} (median, 95% CI band)")
    ax.grid(True, which="major", alpha=0.3)
    if series:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --- the registry's operations on its payloads -------------------------------------------------

def backend_menu(operation: str) -> tuple[list[str], dict[str, str]]:
    """``(available backends, {unavailable backend: reason})`` of an operation, baseline first.

    Examples
    --------
    >>> names, missing = backend_menu("digest")
    >>> names[0]
    'hashlib.sha256'
    """
    from kit import registry as _registry

    names, missing = [], {}
    for b in _registry.backends(operation):
        reason = b.unavailable_reason()
        if reason is None:
            names.append(b.name)
        else:
            missing[b.name] = reason
    return names, missing


def default_backends(operation: str) -> list[str]:
    """Available backends that pass the engine's verification (the ones it may select).

    Examples
    --------
    >>> default_backends("digest")[0]
    'hashlib.sha256'
    """
    from kit.engine import get_engine

    return [b.name for b in get_engine().candidates(operation)]


def size_steps() -> tuple[int, ...]:
    """Byte sizes offered between the registry's payload classes, the classes included.

    Examples
    --------
    >>> from kit import registry
    >>> set(registry.SIZE_CLASSES.values()) <= set(size_steps())
    True
    """
    from kit import registry as _registry

    return tuple(sorted(set(_BETWEEN) | set(_registry.SIZE_CLASSES.values())))


def size_label(nbytes: int) -> str:
    """``"64 KiB (medium)"`` for a payload class of the registry, else the size alone.

    Examples
    --------
    >>> size_label(200), size_label(1024)
    ('200 B (small)', '1 KiB')
    """
    from kit import registry as _registry

    names = [n for n, s in _registry.SIZE_CLASSES.items() if s == nbytes]
    return format_bytes(nbytes) + (f" ({names[0]})" if names else "")


def as_size(value: int | str) -> int:
    """A byte size, or the size of a registry size class named by ``value``.

    Examples
    --------
    >>> as_size("medium"), as_size(4096)
    (65536, 4096)
    """
    from kit import registry as _registry

    if isinstance(value, str):
        try:
            return _registry.SIZE_CLASSES[value]
        except KeyError:
            raise ValueError(f"unknown size class {value!r}; valid: {', '.join(_registry.SIZE_CLASSES)}") from None
    return int(value)


def sizes_between(low: int | str, high: int | str) -> list[int]:
    """The steps of :func:`size_steps` from ``low`` to ``high`` inclusive (bytes, or size class names).

    Examples
    --------
    >>> sizes_between("small", 4096)
    [200, 1024, 4096]
    """
    low, high = as_size(low), as_size(high)
    if low > high:
        raise ValueError(f"size range must be low <= high, got {low!r} > {high!r}")
    return [s for s in size_steps() if low <= s <= high]


def _quick() -> bool:
    from kit.config import get_config

    return bool(get_config()["quick"])


def measure_scaling(operation: str, kind: str | None = None, sizes: Sequence[int] | None = None,
                    backends: Iterable[str] | None = None, preset: str = "quick", seed: int = 0,
                    progress_bar: bool = True, on_step: Callable[[int, int], None] | None = None) -> Scaling:
    """Measure backends of one registry operation at several payload sizes.

    At each size the backends are timed interleaved (:func:`profile`) on the
    same seeded payload (:func:`kit.payloads.payload`), prepared by the
    registry's ``prepare`` hook. A backend that raises on a payload is left
    out and listed in ``skipped``; so is a named backend that cannot run here.

    Parameters
    ----------
    operation : str
        Registry name, e.g. ``"json.decode"``.
    kind : str, optional
        Payload kind (default: the operation's first kind).
    sizes : sequence of int, optional
        Target payload sizes in bytes (default: the small to medium classes in
        quick mode, small to large otherwise, and the steps between them).
    backends : iterable of str, optional
        Backend names (default: those the engine may select); the baseline is
        always added.
    preset : {"quick", "full"}
        Timing preset of :mod:`kit.engine.measure`; ``KIT_QUICK`` shortens "quick" further.
    progress_bar : bool
        Show a progress bar over the sizes.
    on_step : callable, optional
        ``on_step(done, total)`` after each size (for live widgets).

    Returns
    -------
    Scaling

    Examples
    --------
    >>> s = measure_scaling("fingerprint", sizes=[200], progress_bar=False)   # doctest: +SKIP
    >>> s.backends[0]                                                          # doctest: +SKIP
    'hashlib.blake2b'
    """
    from kit import registry as _registry
    from kit.engine import payload_nbytes
    from kit.engine.measure import PRESETS
    from kit.payloads import payload

    op = _registry.operation(operation)
    if kind is None:
        kind = op.kinds[0]
    if kind not in op.kinds:
        raise ValueError(f"operation {operation!r} is measured on kinds {', '.join(op.kinds)}; got {kind!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if sizes is None:
        sizes = sizes_between(*DEFAULT_RANGE[_quick()])
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] <= 0:
        raise ValueError(f"sizes must be positive byte counts, got {sizes!r}")
    names = list(dict.fromkeys(backends)) if backends is not None else default_backends(operation)
    if op.baseline not in names:
        names.insert(0, op.baseline)
    fns, unavailable = {}, {}
    for name in names:
        b = _registry.backend(operation, name)  # unknown name: lists the valid ones
        reason = b.unavailable_reason()
        if reason is not None:
            unavailable[name] = f"unavailable: {reason}"
        else:
            fns[name] = b.implementation()

    def inputs(size: int) -> tuple[int, Callable[[str], tuple]]:
        data = payload(kind, size, seed=seed)
        return payload_nbytes(data), (lambda name: op.prepare(data, name))

    timing = dict(QUICK_TIMING) if _quick() and preset == "quick" else {"preset": preset}
    result = profile(fns, sizes, inputs, operation=operation, kind=kind, baseline=op.baseline, timing=timing,
                     progress_bar=progress_bar, on_step=on_step)
    result.skipped = {**unavailable, **result.skipped}
    return result
