"""Profiling: time or throughput vs payload size per backend, with CI bands.

The menus (categories, operations, payload kinds, backends) are read from the
registry; the timing is :func:`kit.engine.measure.compare` (calibrated, interleaved,
bootstrap CIs), on the registry's payloads and ``prepare`` hooks, exactly as
the engine measures a size class, but at any byte size so that scaling shows.

Examples
--------
>>> from kit.notebook.profiling import measure_scaling
>>> s = measure_scaling("fingerprint", sizes=[200, 4096])      # doctest: +SKIP
>>> s.table()                                                  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from kit.engine.measure import format_rate, format_time
from kit.notebook._common import (Panel, format_bytes, html_output, ipywidgets, new_figure, note_html, png_output,
                                  progress, quick, to_png)

__all__ = ["METRICS", "Point", "ProfilingPanel", "Scaling", "backend_menu", "categories", "default_backends",
           "measure_scaling", "menu", "size_label", "size_steps", "sizes_between"]

METRICS = ("time", "throughput")
#: Sizes measured by default, by mode.
#: (quick: the engine's small to medium classes; otherwise small to large.)
DEFAULT_RANGE = {True: ("small", "medium"), False: ("small", "large")}
# Sizes between the engine's classes, so that the curves show how each backend scales.
_BETWEEN = (64, 1 << 10, 4 << 10, 16 << 10, 256 << 10, 1 << 20, 4 << 20)
# Quick mode: shorter samples than the "quick" preset (seconds, not minutes, for a whole notebook).
_QUICK_TIMING = {"min_time": 0.002, "samples": 7, "budget": 0.1}


@dataclass
class Point:
    """One backend measured at one payload size (see :func:`measure_scaling`).

    Examples
    --------
    >>> p = measure_scaling("digest", sizes=[200], progress_bar=False).points[0]   # doctest: +SKIP
    >>> p.backend, p.size, p.speedup[0]                                            # doctest: +SKIP
    ('hashlib.sha256', 200, 1.0)
    """

    backend: str
    size: int
    nbytes: int
    measurement: Any  # kit.measure.Measurement
    speedup: tuple[float, float, float]  # vs the baseline: ratio, CI low, CI high


@dataclass
class Scaling:
    """Measurements of several backends over several payload sizes.

    Attributes
    ----------
    operation, kind : str
        What was measured, on which payload kind.
    baseline : str
        The reference backend of the speed-ups.
    points : list of Point
        One per backend and size.
    skipped : dict
        Backend -> why it was left out (raised on the payload, unavailable).

    Examples
    --------
    >>> s = measure_scaling("digest", sizes=[200, 1024], progress_bar=False)   # doctest: +SKIP
    >>> s.sizes, s.backends[0]                                                  # doctest: +SKIP
    ([200, 1024], 'hashlib.sha256')
    >>> fig = s.plot("throughput")                                              # doctest: +SKIP
    """

    operation: str
    kind: str
    baseline: str
    points: list[Point] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

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

    def plot(self, metric: str = "time", ax: Any = None) -> Any:
        """Perfplot-style chart: log-log, one line per backend, 95% CI bands.

        Returns the matplotlib ``Figure``.
        """
        if ax is None:
            fig, ax = new_figure()
        else:
            fig = ax.figure
        for b in self.backends:
            xs, ys, lo, hi = self.series(b, metric)
            label = b + (" (baseline)" if b == self.baseline else "")
            (line,) = ax.plot(xs, ys, marker="o", ms=4, label=label, lw=2 if b == self.baseline else 1.5,
                              ls="--" if b == self.baseline else "-")
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(self.sizes, [format_bytes(s) for s in self.sizes], rotation=30)
        ax.minorticks_off()
        _human_log_axis(ax.yaxis, format_time if metric == "time" else format_rate)
        ax.set_xlabel("payload size")
        ax.set_ylabel("time per call" if metric == "time" else "throughput")
        ax.set_title(f"{self.operation} on {self.kind} payloads: {metric} (median, 95% CI band)")
        ax.grid(True, which="major", alpha=0.3)
        if self.points:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return fig

    def table(self) -> Any:
        """Speed-ups over the baseline per size: ``2.31× [2.20, 2.45]``; a :class:`kit._display.Table`."""
        from kit._display import Table, speedup

        names = self.backends
        rows = []
        for s in self.sizes:
            row: list[Any] = [size_label(s)]
            for b in names:
                p = next((p for p in self.points if p.backend == b and p.size == s), None)
                if p is None:
                    row.append("")
                    continue
                row.append("baseline" if b == self.baseline else speedup(*p.speedup))
            rows.append(row)
        notes = [f"Speed-up = {self.baseline} median time / backend median time (above 1: faster), 95% bootstrap CI; "
                 f"{len(self.points)} measurements in {self.seconds:.1f} s."]
        notes += [f"{b}: left out ({why})" for b, why in self.skipped.items()]
        unstable = sorted({p.backend for p in self.points if p.measurement.warnings})
        if unstable:
            notes.append(f"unstable timings (CV or outliers) for: {', '.join(unstable)}")
        return Table(f"{self.operation} speed-ups over {self.baseline} ({self.kind})", ["size", *names], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "kind": self.kind, "baseline": self.baseline, "seconds": self.seconds,
                "skipped": self.skipped,
                "points": [{"backend": p.backend, "size": p.size, "nbytes": p.nbytes, "speedup": p.speedup[0],
                            "speedup_ci": list(p.speedup[1:]), **p.measurement.summary()} for p in self.points]}


def _human_log_axis(axis: Any, fmt: Callable[[float], str]) -> None:
    """Ticks at 1, 2, 5 x 10^k labelled in human units (``12 µs``, ``1.5 GB/s``)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))


def menu(category: str | None = None) -> list[str]:
    """Operations of the registry, optionally of one category (``"kernels"``, ``"json"``...).

    Examples
    --------
    >>> "json.decode" in menu("json")
    True
    """
    from kit import registry as _registry

    if category not in (None, "all") and category not in _registry.CATEGORIES:
        raise ValueError(f"category must be one of all, {', '.join(_registry.CATEGORIES)}; got {category!r}")
    return [op.name for op in _registry.operations() if category in (None, "all") or op.category == category]


def categories() -> list[str]:
    """Categories that have at least one operation in the registry, in registry order.

    Examples
    --------
    >>> "hashing" in categories()
    True
    """
    from kit import registry as _registry

    present = {op.category for op in _registry.operations()}
    return [c for c in _registry.CATEGORIES if c in present]


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
    """Byte sizes the size slider offers: the registry's payload classes and steps between them.

    Examples
    --------
    >>> from kit import _registry
    >>> set(_registry.SIZE_CLASSES.values()) <= set(size_steps())
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


def _as_size(value: int | str) -> int:
    from kit import registry as _registry

    if isinstance(value, str):
        try:
            return _registry.SIZE_CLASSES[value]
        except KeyError:
            raise ValueError(f"unknown size class {value!r}; valid: {', '.join(_registry.SIZE_CLASSES)}") from None
    return int(value)


def sizes_between(low: int | str, high: int | str) -> list[int]:
    """The slider's sizes from ``low`` to ``high`` inclusive (bytes, or size class names).

    Examples
    --------
    >>> sizes_between("small", 4096)
    [200, 1024, 4096]
    """
    low, high = _as_size(low), _as_size(high)
    if low > high:
        raise ValueError(f"size range must be low <= high, got {low!r} > {high!r}")
    return [s for s in size_steps() if low <= s <= high]


def measure_scaling(operation: str, kind: str | None = None, sizes: Sequence[int] | None = None,
                    backends: Iterable[str] | None = None, preset: str = "quick", seed: int = 0,
                    progress_bar: bool = True, on_step: Callable[[int, int], None] | None = None) -> Scaling:
    """Measure backends of one operation at several payload sizes.

    At each size the backends are timed interleaved (:func:`kit.engine.measure.compare`)
    on the same seeded payload, prepared by the registry's ``prepare`` hook.
    A backend that raises on a payload is left out and listed in ``skipped``.

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
        Show a ``tqdm.auto`` bar over the sizes.
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
    import time

    from kit import registry as _registry
    from kit.engine import payload_nbytes
    from kit.engine.measure import PRESETS, compare, speedup
    from kit.workloads import payload

    op = _registry.operation(operation)
    if kind is None:
        kind = op.kinds[0]
    if kind not in op.kinds:
        raise ValueError(f"operation {operation!r} is measured on kinds {', '.join(op.kinds)}; got {kind!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if sizes is None:
        sizes = sizes_between(*DEFAULT_RANGE[quick()])
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] <= 0:
        raise ValueError(f"sizes must be positive byte counts, got {sizes!r}")
    names = list(dict.fromkeys(backends)) if backends is not None else default_backends(operation)
    if op.baseline not in names:
        names.insert(0, op.baseline)
    result = Scaling(operation, kind, op.baseline)
    fns = {}
    for name in names:
        b = _registry.backend(operation, name)  # unknown name: lists the valid ones
        reason = b.unavailable_reason()
        if reason is not None:
            result.skipped[name] = f"unavailable: {reason}"
        else:
            fns[name] = b.implementation()
    timing = dict(_QUICK_TIMING) if quick() and preset == "quick" else {"preset": preset}
    bar = progress(len(sizes), f"{operation} ({kind})") if progress_bar else None
    t0 = time.perf_counter()
    try:
        for i, size in enumerate(sizes):
            data = payload(kind, size, seed=seed)
            nbytes = payload_nbytes(data)
            contenders = {}
            for name, fn in fns.items():
                if name in result.skipped:
                    continue
                try:
                    args = op.prepare(data, name)
                    fn(*args)
                except Exception as exc:  # a backend may reject a payload the baseline takes
                    if name == op.baseline:
                        raise
                    result.skipped[name] = f"raised {type(exc).__name__} at {format_bytes(size)}: {exc}"
                    continue
                contenders[name] = (lambda fn=fn, args=args: fn(*args))
            res = compare(contenders, nbytes=nbytes, **timing)
            base = res[op.baseline]
            for name, m in res.items():
                result.points.append(Point(name, size, nbytes, m, speedup(base, m)))
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


class ProfilingPanel(Panel):
    """Pick an operation, payload kind, size range and backends; measure; plot.

    Attributes
    ----------
    category, operation, kind : ipywidgets.Dropdown
        Menus from the registry; changing the operation refreshes ``kind`` and
        ``backends``.
    sizes : ipywidgets.SelectionRangeSlider
        The payload size range.
    backends : ipywidgets.SelectMultiple
        Available backends (unavailable ones are listed with the reason).
    metric : ipywidgets.ToggleButtons
        ``time`` or ``throughput``; redraws without measuring again.
    preset : ipywidgets.ToggleButtons
        ``quick`` or ``full`` timing.
    button : ipywidgets.Button
        Runs :meth:`run`.
    chart : ipywidgets.Image
        The PNG chart; ``table`` the speed-ups (HTML).
    result : Scaling or None
        The last measurement.

    Examples
    --------
    >>> panel = ProfilingPanel(operation="fingerprint")   # doctest: +SKIP
    >>> panel.run()                                      # doctest: +SKIP
    >>> panel.metric.value = "throughput"                # redraws the chart   # doctest: +SKIP
    """

    def __init__(self, operation: str | None = None, category: str = "all", kind: str | None = None,
                 backends: Iterable[str] | None = None, size_range: tuple[int | str, int | str] | None = None,
                 metric: str = "time") -> None:
        super().__init__()
        w = ipywidgets()
        cats = ["all", *categories()]
        if category not in cats:
            raise ValueError(f"category must be one of {', '.join(cats)}; got {category!r}")
        ops = menu(category)
        if operation is None:
            operation = ops[0]
        elif operation not in ops:
            raise ValueError(f"operation must be one of {', '.join(ops)}; got {operation!r}")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        all_steps = size_steps()
        lo, hi = (_as_size(v) for v in (size_range or DEFAULT_RANGE[quick()]))
        if lo not in all_steps or hi not in all_steps:
            raise ValueError(f"size_range ends must be among {', '.join(map(str, all_steps))} or size class "
                             f"names; got {size_range!r}")
        steps = [(format_bytes(s), s) for s in all_steps]
        self.result: Scaling | None = None
        self.figure: Any = None
        self.category = w.Dropdown(options=cats, value=category, description="category")
        self.operation = w.Dropdown(options=ops, value=operation, description="operation")
        self.kind = w.Dropdown(description="payload")
        self.sizes = w.SelectionRangeSlider(options=steps, index=(all_steps.index(lo), all_steps.index(hi)),
                                            description="sizes", continuous_update=False,
                                            layout=w.Layout(width="520px"))
        from kit import registry as _registry

        self.size_classes = w.HTML(note_html("payload classes of the engine: " + ", ".join(
            f"{n} {format_bytes(s)}" for n, s in _registry.SIZE_CLASSES.items())))
        self.backends = w.SelectMultiple(description="backends", rows=5)
        self.unavailable = w.HTML()
        self.metric = w.ToggleButtons(options=list(METRICS), value=metric, description="plot")
        self.preset = w.ToggleButtons(options=["quick", "full"], value="quick", description="timing")
        self.button = w.Button(description="Measure", button_style="primary", icon="play")
        self.chart = w.Image(format="png", layout=w.Layout(max_width="760px"))
        self.table = w.HTML()
        self._refresh_operation(backends=backends, kind=kind)
        self.category.observe(lambda ch: self._guarded(self._on_category)(), names="value")
        self.operation.observe(lambda ch: self._guarded(self._refresh_operation)(), names="value")
        self.metric.observe(lambda ch: self._guarded(self.redraw)(), names="value")
        self.button.on_click(self._guarded(self.run))
        self.result_boxes = w.VBox([self.chart, self.table])
        self.widget = w.VBox([
            w.HBox([self.category, self.operation, self.kind]),
            # the caption under the slider: beside it, the slider's readout ran into it
            self.sizes, self.size_classes,
            w.HBox([self.backends, self.unavailable]),
            w.HBox([self.metric, self.preset]),
            self.button,
            self.status, self.log, self.result_boxes,
        ])
        self.widget.add_class("kit-profiling")

    # --- handlers -------------------------------------------------------------------------

    def _on_category(self) -> None:
        ops = menu(self.category.value)
        current = self.operation.value
        self.operation.options = ops
        self.operation.value = current if current in ops else ops[0]
        self._refresh_operation()

    def _refresh_operation(self, backends: Iterable[str] | None = None, kind: str | None = None) -> None:
        from kit import registry as _registry

        op = _registry.operation(self.operation.value)
        self.kind.options = list(op.kinds)
        if kind is not None and kind not in op.kinds:
            raise ValueError(f"operation {op.name!r} is measured on kinds {', '.join(op.kinds)}; got {kind!r}")
        self.kind.value = kind or op.kinds[0]
        names, missing = backend_menu(op.name)
        self.backends.options = names
        if backends is not None:
            wanted = list(backends)
            bad = [b for b in wanted if b not in names]
            if bad:
                raise ValueError(f"backends {bad!r} are not available for {op.name!r}; available: {', '.join(names)}")
        else:
            wanted = default_backends(op.name)
        self.backends.value = tuple(wanted)
        self.unavailable.value = "<br>".join(
            note_html(f"{n}: {why}") for n, why in missing.items()) if missing else ""
        self.status.value = note_html(f"{op.name}: {op.summary} Press Measure.")

    def selected_sizes(self) -> list[int]:
        """Byte sizes in the slider's range."""
        lo, hi = self.sizes.value
        return sizes_between(lo, hi)

    def run(self) -> Scaling:
        """Measure the selected backends over the selected sizes; update chart and table."""
        self.status.value = note_html(f"measuring {self.operation.value} ...")
        self.log.clear_output()
        with self.log:
            self.result = measure_scaling(self.operation.value, self.kind.value, self.selected_sizes(),
                                          self.backends.value or None, preset=self.preset.value)
        self.redraw()
        r = self.result
        self.status.value = note_html(f"{r.operation}: {len(r.backends)} backends x {len(r.sizes)} sizes "
                                      f"in {r.seconds:.1f} s")
        return r

    def redraw(self) -> None:
        """Draw the last result with the current metric (no new measurement)."""
        if self.result is None:
            return
        self.figure = self.result.plot(self.metric.value)
        self.chart.value = to_png(self.figure)
        self.table.value = self.result.table()._repr_html_()
        self.show("chart", png_output(self.chart.value))
        self.show("table", html_output(self.table.value))
