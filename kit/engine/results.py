"""What ``kit bench`` and ``kit info`` show: :class:`BenchResult` and :class:`Info`.

Each prints as a table, renders as HTML in Jupyter and converts to data (``to_dict``) for ``--json``.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from kit._display import Table
from kit.engine.select import MIN_GAIN, Row
from kit.engine.verify import Verification

__all__ = ["BenchResult", "Info", "clip"]


@dataclass
class BenchResult:
    """Measurements of one run, with the selections they imply.

    ``rows`` holds every backend × payload class measured; ``selected`` maps
    ``operation -> size -> backend``.
    """

    rows: list[Row]
    selected: dict[str, dict[str, str]]
    machine: dict[str, Any]
    preset: str
    seconds: float
    verification: dict[str, dict[str, Verification]]
    started: str = ""
    #: ``operation -> size -> why`` the choice was made or kept (:func:`choose`).
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The run's CPU pressure, load and steal, read around the measurements (see :attr:`contention`).
    probes: dict[str, float | None] = field(default_factory=dict)
    #: How many runs the machine's learned run-to-run noise (which widens the times' intervals) came from.
    noise_runs: int = 0

    @property
    def contention(self) -> dict[str, Any]:
        """What the measuring thread got of a CPU during this run (:func:`kit.engine.measure.contention_summary`)."""
        from kit.engine.measure import contention_summary

        return contention_summary([r.measurement for r in self.rows], **self.probes)

    def why_table(self) -> Table:
        """Why each choice was made or kept: a significant win of at least 5%, or none."""
        rows = [[op, size, name, self.reasons.get(op, {}).get(size, "")]
                for op, per in self.selected.items() for size, name in per.items()]
        return Table("why these choices", ["operation", "size", "selected", "why"], rows,
                     [f"kit moves away from the baseline, or from the stored choice, only when the 95% CI of the "
                      f"speed-up over it lies wholly above {MIN_GAIN:g}x, and never to a backend measured slower "
                      "than the baseline."])

    @property
    def intervals(self) -> str:
        """What the intervals of this run's times cover (speed-ups are ratios measured side by side)."""
        from kit.stats import interval_label

        bases = {r.measurement.ci_basis for r in self.rows}
        if bases == {"machine"}:
            return interval_label("machine", 1, self.noise_runs)
        if bases == {"runs"}:
            return interval_label("runs", min(len(r.measurement.run_medians) for r in self.rows))
        return interval_label("sampling")

    def notes(self) -> str:
        """The lines ``kit bench`` prints under its tables: the run's contention, what its intervals
        cover, then why each choice."""
        return (f"{self.contention['summary']}\n95% intervals of times: {self.intervals}; speed-ups: ratios "
                f"measured side by side\n\n{self.why_table()}")

    def table(self) -> Table:
        from kit.engine.measure import format_rate, format_time

        rows = []
        for r in self.rows:
            m = r.measurement
            sel = self.selected.get(r.operation, {}).get(r.size) == r.backend
            ratio, lo, hi = r.speedup
            rows.append([r.operation, r.size, r.kind, r.backend + (" *" if sel else ""),
                         format_time(m.median), format_rate(m.throughput) if m.nbytes else "",
                         f"{ratio:.2f}x [{lo:.2f}, {hi:.2f}]", f"{m.cv:.1%}", "; ".join(m.warnings)])
        loads = [r.measurement.load for r in self.rows if r.measurement.load is not None]
        peak = max(loads) if loads else None
        notes = [f"* selected. Speed-up = baseline median time / backend median time, 95% bootstrap CI; "
                 f"{self.preset} preset, {self.seconds:.1f} s, {self.machine.get('cpu')} ({self.machine.get('cores')} cores)"
                 + (f", peak load {peak:.2f} per core." if peak is not None else ".")]
        if any(r.measurement.busy for r in self.rows):
            notes.append("WARNING: the machine was busy during the run; ratios measured side by side remain "
                         "comparable, absolute times are not. Re-run on a quiet machine for records.")
        unstable = sum(1 for r in self.rows if r.measurement.warnings)
        if unstable:
            notes.append(f"{unstable} of {len(self.rows)} results flagged (see 'warnings'): treat them with care.")
        return Table("kit bench", ["operation", "size", "kind", "backend", "median", "throughput", "speed-up",
                                   "CV", "warnings"], rows, notes)

    def choices(self) -> Table:
        """The engine's choices: operation × size → backend, with its speed-up."""
        best: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        for r in self.rows:
            if self.selected.get(r.operation, {}).get(r.size) == r.backend:
                best[(r.operation, r.size)].append(r.speedup[0])
        rows = []
        for op, per in self.selected.items():
            for size, name in per.items():
                from kit.engine.measure import geometric_mean

                rows.append([op, size, name, f"{geometric_mean(best[(op, size)]):.2f}x"])
        return Table("engine choices on this machine", ["operation", "size", "selected", "speed-up"], rows)

    def __str__(self) -> str:
        return f"{self.table()}\n\n{self.choices()}"

    def _repr_html_(self) -> str:
        import html

        return (self.table()._repr_html_() + self.choices()._repr_html_()
                + f"<p>{html.escape(self.contention['summary'])}<br>95% intervals of times: "
                  f"{html.escape(self.intervals)}</p>" + self.why_table()._repr_html_())

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "seconds": self.seconds, "started": self.started, "machine": self.machine,
                "selected": self.selected, "reasons": self.reasons, "contention": self.contention,
                "intervals": {"times": self.intervals, "speedups": "one run: ratios measured side by side"},
                "rows": [r.to_dict() for r in self.rows],
                "verification": {op: {b: v.to_dict() for b, v in per.items()}
                                 for op, per in self.verification.items()}}


def clip(s: str, n: int) -> str:
    """``s`` cut to ``n`` characters, ending in ``...`` when cut (a cell or a note of a table).

    Examples
    --------
    >>> clip("verification crashed", 12)
    'verificat...'
    """
    return s if len(s) <= n else s[: n - 3] + "..."



class Info:
    """What ``kit info`` shows; prints as a table, renders as HTML, converts to data."""

    def __init__(self, rows: list[dict[str, Any]], wisdom: dict[str, Any]) -> None:
        self.rows, self.wisdom = rows, wisdom

    def table(self) -> Table:
        from kit.machine import gpu

        g = gpu()
        n_av = sum(r["available"] for r in self.rows)
        notes = [f"{n_av}/{len(self.rows)} backends available; "
                 f"GPU: {g['name'] + ' (' + str(g['memory_mib']) + ' MiB)' if g else 'none detected'}; "
                 f"wisdom: {self.wisdom.get('path')} ({self.wisdom.get('state')})"]
        for r in self.rows:
            if r.get("fallback_classes"):
                per = ", ".join(f"{c} x{n}" for c, n in r["fallback_classes"].items())
                notes.append(clip(f"fallbacks of {r['backend']} ({r['operation']}): {per}", 100))
        return Table("kit info", ["operation", "backend", "version", "verified", "selected", "fallbacks", "status"],
                     [[r["operation"], r["backend"] + (" (baseline)" if r["baseline"] else ""), r["version"] or "",
                       r["verified"], r["selected"], r["fallbacks"] or "", r["status"]] for r in self.rows], notes)

    def operations(self) -> list[str]:
        """Registry names of the operations listed."""
        return list(dict.fromkeys(r["operation"] for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        from kit.machine import describe

        return {"machine": describe(), "wisdom": self.wisdom, "backends": self.rows}

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()
