"""Fleet: score a small local fleet (or a cluster's workers), flag the odd machine, see the report.

The panel calls :func:`kit.fleet.score_fleet` on a ``LocalCluster`` of worker processes on
127.0.0.1 (or on a client you pass), optionally slows one worker's machine by a factor
(:mod:`kit.fleet.faults`), stores the run (:func:`kit.fleet.save_run`) and shows
:func:`kit.fleet.fleet_report`: the chart, the table per machine and per category, the notes.

Examples
--------
>>> from kit.notebook.fleet import FleetPanel
>>> fleet = FleetPanel(workers=3, slow="worker-1", factor=3.0)   # doctest: +SKIP
>>> fleet.run().flagged                                          # doctest: +SKIP
['worker-1']
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

from kit.notebook._common import Panel, ipywidgets, note_html, quick

__all__ = ["FleetPanel", "QUICK_OPERATIONS"]

#: A couple of operations that measure in seconds per machine (two categories). Quick mode measures
#: them on medium payloads only: on small ones (~200 B, well under a microsecond a call) the injected
#: slowdown's own clock reads would make a machine slower than the factor says.
QUICK_OPERATIONS = ("fingerprint", "json.encode")
_NONE = "none"


class FleetPanel(Panel):
    """Score a local fleet, slow one machine on purpose, and see which machine the report flags.

    Parameters
    ----------
    workers : int
        Local worker processes (they run one at a time: they share this machine's cores).
    operations, sizes : sequence of str, optional
        What every machine measures (quick mode: :data:`QUICK_OPERATIONS` on medium payloads).
    slow : str, optional
        The worker label (``worker-1``) to slow down, or None.
    factor : float
        How many times slower (every backend of that worker's machine).
    results : path-like, optional
        The fleet folder runs are stored in (default :func:`kit.fleet.store.fleet_dir`).
    client : distributed.Client, optional
        Score this cluster's workers instead of starting a local one.

    Attributes
    ----------
    workers : ipywidgets.IntSlider
    operations : ipywidgets.SelectMultiple
    slow : ipywidgets.Dropdown
    factor : ipywidgets.FloatSlider
    button : ipywidgets.Button
        Runs :meth:`run`.
    headline, tables : ipywidgets.HTML
    chart : ipywidgets.Image
    fleet_run, report
        The last :class:`kit.fleet.FleetRun` and :class:`kit.fleet.report.FleetReport`.

    Examples
    --------
    >>> fleet = FleetPanel(workers=3, slow="worker-2")   # doctest: +SKIP
    >>> fleet                                            # shows the widgets  # doctest: +SKIP
    >>> fleet.run().row("worker-2").flag                 # doctest: +SKIP
    'slower outlier'
    """

    def __init__(self, workers: int = 3, operations: Sequence[str] | None = None, sizes: Sequence[str] | None = None,
                 slow: str | None = None, factor: float = 3.0, results: Any = None, client: Any = None) -> None:
        super().__init__()
        from kit import registry as _registry
        from kit.fleet.store import fleet_dir

        w = ipywidgets()
        all_ops = _registry.operation_names()
        ops = list(operations) if operations is not None else (list(QUICK_OPERATIONS) if quick() else all_ops)
        bad = [o for o in ops if o not in all_ops]
        if bad or not ops:
            raise ValueError(f"operations must be a non-empty selection of {', '.join(all_ops)}; got {ops!r}")
        size_names = list(_registry.SIZE_CLASSES)
        chosen = list(sizes) if sizes is not None else (["medium"] if quick() else ["small", "medium"])
        if not chosen or any(s not in size_names for s in chosen):
            raise ValueError(f"sizes must be a non-empty selection of {', '.join(size_names)}; got {chosen!r}")
        if not isinstance(workers, int) or not 1 <= workers <= 16:
            raise ValueError(f"workers must be an integer from 1 to 16, got {workers!r}")
        self.results = fleet_dir(results)
        self.client = client
        self.fleet_run: Any = None
        self.report: Any = None
        self.saved: Path | None = None
        style = {"description_width": "90px"}
        self.workers = w.IntSlider(value=workers, min=1, max=16, description="workers", style=style,
                                   disabled=client is not None)
        self.operations = w.SelectMultiple(options=all_ops, value=tuple(ops), description="operations", rows=6,
                                           style=style)
        self.sizes = w.SelectMultiple(options=size_names, value=tuple(chosen), description="sizes", rows=3,
                                      style=style)
        self.slow = w.Dropdown(options=[_NONE], value=_NONE, description="slow down", style=style)
        self._slow_options(slow)
        self.workers.observe(lambda ch: self._slow_options(self.slow.value), names="value")
        self.factor = w.FloatSlider(value=factor, min=1.0, max=5.0, step=0.1, description="by (x)", style=style)
        self.button = w.Button(description="Score the fleet", button_style="primary", icon="play",
                               layout=w.Layout(width="200px"))
        self.headline = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="1100px"))
        self.tables = w.HTML()
        self.button.on_click(self._guarded(self.run))
        self.widget = w.VBox([
            w.HBox([w.VBox([self.workers, self.slow, self.factor, self.button]), self.operations, self.sizes]),
            self.status, self.log, self.headline, self.chart, self.tables,
        ])
        self.widget.add_class("kit-fleet")
        self.status.value = note_html("Press Score the fleet.")

    def _slow_options(self, keep: str | None) -> None:
        labels = [f"worker-{i}" for i in range(self.workers.value)] if self.client is None else []
        options = [_NONE, *labels]
        if keep and keep not in options:
            options.append(keep)  # a cluster's own label, checked when the run starts
        self.slow.options = options
        self.slow.value = keep or _NONE

    def run(self) -> Any:
        """Score the fleet with the widgets' settings, store the run, show the report.

        Returns the :class:`kit.fleet.report.FleetReport`.
        """
        from kit.fleet.run import local_cluster, score_fleet
        from kit.fleet.store import save_run

        if not self.operations.value or not self.sizes.value:
            raise ValueError("select at least one operation and one payload size")
        slowdowns = {} if self.slow.value == _NONE else {self.slow.value: {"*": float(self.factor.value)}}
        self.status.value = note_html(f"scoring {self.workers.value} machines, one at a time ...")

        def say(event: str, m: Any) -> None:
            if event == "start":
                self.status.value = note_html(f"measuring {m.label} ...")

        kw = dict(operations=list(self.operations.value), sizes=list(self.sizes.value), slowdowns=slowdowns,
                  progress=say)
        if self.client is not None:
            self.fleet_run = score_fleet(self.client, scheduler="notebook client", **kw)
        else:
            with local_cluster(self.workers.value) as client:
                self.fleet_run = score_fleet(client, scheduler=f"local {self.workers.value}", **kw)
        self.saved = save_run(self.fleet_run, self.results)
        return self.show(self.fleet_run)

    def show(self, run: Any, against: Any = None) -> Any:
        """Show the report of a fleet run (a FleetRun, or a stored run's id or folder)."""
        from kit.fleet.report import fleet_report

        self.report = rep = fleet_report(run, directory=self.results, against=against)
        self.headline.value = f"<b>{html.escape(rep.headline())}</b>"
        self.chart.value = rep.png()
        self.tables.value = rep._repr_html_()
        where = f"; stored in {rep.run.path}" if rep.run.path else ""
        self.status.value = note_html(f"{len(rep.run.ok)} of {len(rep.run.machines)} machines scored in "
                                      f"{rep.run.seconds:.0f} s{where}")
        return rep
