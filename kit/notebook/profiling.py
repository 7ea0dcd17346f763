"""Profiling panel: time or throughput vs payload size per backend, with CI bands.

The widgets only: the menus (categories, operations, payload kinds, backends)
are read from the registry, and the measuring, the chart and the table are
:mod:`kit.profile`'s (:func:`kit.profile.measure_scaling`: calibrated,
interleaved timing on the registry's payloads and ``prepare`` hooks, exactly
as the engine measures a size class, but at any byte size so that scaling
shows). The names of :mod:`kit.profile` the panel uses are importable from
here too.

Examples
--------
>>> from kit.notebook.profiling import measure_scaling
>>> s = measure_scaling("fingerprint", sizes=[200, 4096])      # doctest: +SKIP
>>> s.table()                                                  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Iterable

from kit.notebook._common import (Panel, format_bytes, html_output, ipywidgets, note_html, png_output, quick,
                                  to_png)
from kit.profile import (DEFAULT_RANGE, METRICS, Point, Scaling, as_size, backend_menu, default_backends,
                         measure_scaling, size_label, size_steps, sizes_between)

__all__ = ["METRICS", "Point", "ProfilingPanel", "Scaling", "backend_menu", "categories", "default_backends",
           "measure_scaling", "menu", "size_label", "size_steps", "sizes_between"]


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
        lo, hi = (as_size(v) for v in (size_range or DEFAULT_RANGE[quick()]))
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
