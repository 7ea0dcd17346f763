"""The fleet report: every machine placed, the odd ones flagged, each optionally validated.

For each machine of a run: its score with 95% CI and tier (from its own record), its hardware index
with 95% CI overall and per category against one reference for the whole fleet, whether it is an
outlier among its peers (:mod:`kit.fleet.outliers`), and with a reference record, its validation
verdict by :func:`kit.validate`'s rules. Printed as tables that fit 100 columns, rendered as HTML
with a chart, or given as a dict for ``--json``.

Which reference places the machines does not change who is flagged (the rule compares machines
with each other in log index); it sets what 1.00 means: the reference record given, else the
fleet's median machine.

Examples
--------
>>> from kit.fleet import fleet_report
>>> rep = fleet_report("20260102T030405Z-1a2b3c")     # doctest: +SKIP
>>> rep.flagged                                        # doctest: +SKIP
['worker-1']
>>> print(rep)                                         # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit._display import Table
from kit.errors import KitError
from kit.fleet.outliers import OVERALL, Deviation, FleetOutliers, OutlierRule, fleet_outliers

__all__ = ["VERDICTS", "FleetReport", "MachineRow", "fleet_chart", "fleet_report", "verdict_of"]

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
WIDTH = 100
_LABEL = 16


def verdict_of(validation: Any) -> tuple[str, str]:
    """PASS, FAIL or INCONCLUSIVE, with the reason, from a :class:`kit.records.Validation`.

    A validation that names its own verdict (``validation.verdict``) is taken at its word;
    otherwise kit's rule: FAIL on a significant regression or a machine significantly slower than
    when the reference was made, INCONCLUSIVE when no measurement could be compared, else PASS.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> verdict_of(NS(comparisons=[1], ok=True, regressions=[], machine_slower=False))
    ('PASS', 'no significant regression')
    """
    named = getattr(validation, "verdict", None)
    if isinstance(named, str) and named.upper() in VERDICTS:
        reason = getattr(validation, "reason", None) or getattr(validation, "why", None) or ""
        return named.upper(), str(reason)
    if not validation.comparisons:
        return "INCONCLUSIVE", "no measurement in common with the reference"
    if validation.ok:
        return "PASS", "no significant regression"
    parts = []
    if validation.regressions:
        parts.append(f"{len(validation.regressions)} significant regression(s): "
                     + ", ".join(c.key for c in validation.regressions[:3])
                     + (" ..." if len(validation.regressions) > 3 else ""))
    if validation.machine_slower:
        parts.append("slower overall than when the reference was made (hardware index)")
    return "FAIL", "; ".join(parts)


@dataclass
class MachineRow:
    """One machine of the report."""

    label: str
    status: str
    reason: str = ""
    score: tuple[float, float, float] | None = None
    tier: str | None = None
    index: tuple[float, float, float] | None = None
    categories: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    deviations: dict[str, Deviation] = field(default_factory=dict)
    verdict: str | None = None
    verdict_reason: str = ""
    injected: dict[str, float] = field(default_factory=dict)

    @property
    def is_outlier(self) -> bool:
        """Flagged: the overall index is beyond its limit (:mod:`kit.fleet.outliers`)."""
        d = self.deviations.get(OVERALL)
        return d is not None and d.flagged

    @property
    def beyond(self) -> list[Deviation]:
        """The categories whose index is beyond its limit (they say where the machine differs)."""
        return [d for c, d in self.deviations.items() if c != OVERALL and d.flagged]

    @property
    def flag(self) -> str:
        """``"slower outlier"``, ``"faster outlier"``, ``"-"``, or the status of a machine without record."""
        if self.status != "ok":
            return self.status
        if not self.is_outlier:
            return "-"
        return f"{self.deviations[OVERALL].direction} outlier"

    def to_dict(self) -> dict[str, Any]:
        def tri(t: tuple[float, float, float] | None) -> dict[str, Any] | None:
            return None if t is None else {"value": t[0], "ci": [t[1], t[2]]}

        return {"machine": self.label, "status": self.status, "reason": self.reason, "score": tri(self.score),
                "tier": self.tier, "hardware_index": tri(self.index),
                "categories": {k: tri(v) for k, v in self.categories.items()},
                "outlier": self.is_outlier, "flag": self.flag, "beyond_limit_in": [d.category for d in self.beyond],
                "deviations": {k: d.to_dict() for k, d in self.deviations.items()},
                "verdict": self.verdict, "verdict_reason": self.verdict_reason,
                "injected_slowdown": dict(self.injected)}


@dataclass
class FleetReport:
    """A fleet run, placed and judged. ``str()`` is the terminal text; ``_repr_html_`` the HTML."""

    run: Any  # kit.fleet.FleetRun
    rows: list[MachineRow]
    outliers: FleetOutliers
    reference: str
    against: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[str]:
        """Labels of the machines flagged as outliers."""
        return [r.label for r in self.rows if r.is_outlier]

    def row(self, label: str) -> MachineRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"no machine {label!r} in this report; machines: {', '.join(r.label for r in self.rows)}")

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(c for r in self.rows for c in r.categories))

    def tables(self) -> list[Table]:
        """Summary per machine, then the index per category with each deviation."""
        cols = ["machine", "score (95% CI)", "tier", "index (95% CI)", "outlier"]
        if self.against is not None:
            cols.append("validation")
        rows = []
        for r in self.rows:
            line = [_short(r.label), _tri(r.score, 1), r.tier or "", _tri(r.index, 2), r.flag]
            if self.against is not None:
                line.append(r.verdict or "")
            rows.append(line)
        ok = [r for r in self.rows if r.status == "ok"]
        summary = (f"{len(ok)} of {len(self.rows)} machines scored ({self.run.preset} preset, "
                   f"{len(self.run.operations)} operations) in {self.run.seconds:.0f} s; "
                   f"{len(self.flagged)} outlier(s)")
        t1 = Table(f"kit fleet {self.run.run_id}", cols, rows, _wrap([summary, f"index 1.00 = {self.reference}"]))
        detail = []
        for r in ok:
            for cat in [OVERALL, *r.categories]:
                d = r.deviations.get(cat)
                value = r.index if cat == OVERALL else r.categories.get(cat)
                if value is None:
                    continue
                detail.append([_short(r.label), cat, _tri(value, 2),
                               "" if d is None else f"{math.expm1(d.log_deviation):+.0%}",
                               "" if d is None or d.robust_z is None else f"{d.robust_z:.1f}",
                               _limit(d),
                               "yes" if d is not None and d.flagged else ""])
        t2 = Table("hardware index by category", ["machine", "category", "index (95% CI)", "vs median",
                                                  "robust z", "limit", "beyond"], detail,
                   _wrap(["vs median: the machine's index over the fleet's median index in that category; robust "
                          "z: |ln deviation| / (1.4826 x the MAD of the other machines); limit: how many times "
                          "slower or faster than the median is beyond the limit; beyond it overall, the machine "
                          "is an outlier.",
                          self.outliers.rule.describe() + " (docs/fleet.md)."]))
        return [t1, t2]

    def all_notes(self) -> list[str]:
        """The report's notes, then each outlier and category beyond its limit, each machine without a
        record and each verdict, with the reason."""
        notes = list(self.notes)
        for r in self.rows:
            where = ", ".join(f"{d.category} {math.expm1(d.log_deviation):+.0%}" for d in r.beyond)
            if r.is_outlier:
                d = r.deviations[OVERALL]
                notes.append(f"{r.label}: {r.flag}, overall {math.expm1(d.log_deviation):+.0%} from the fleet "
                             f"median" + (f"; beyond the limit in {where}" if where else ""))
            elif where:
                notes.append(f"{r.label}: beyond the limit in {where} only; its overall index is within the "
                             "fleet's, so it is not flagged (a lead to follow, or noise: docs/fleet.md)")
            if r.status != "ok":
                notes.append(f"{r.label} {r.status}: {r.reason}")
            if r.verdict is not None:
                notes.append(f"{r.label} validation {r.verdict}: {r.verdict_reason}")
        return notes

    def __str__(self) -> str:
        text = "\n\n".join(str(t) for t in self.tables())
        notes = self.all_notes()
        if notes:
            text += "\n\nnotes\n" + "\n".join(_wrap([f"- {n}" for n in notes]))
        return text

    def headline(self) -> str:
        """One line: machines scored, outliers, verdicts."""
        ok = sum(r.status == "ok" for r in self.rows)
        text = f"fleet {self.run.run_id}: {ok}/{len(self.rows)} machines scored, "
        text += (f"outliers: {', '.join(self.flagged)}" if self.flagged else "no outlier")
        if self.against is not None:
            counts = {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}
            text += "; validation " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        return text

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.all_notes())
        return (f"<p><b>{html.escape(self.headline())}</b></p>"
                + "".join(t._repr_html_() for t in self.tables())
                + (f"<p><b>notes</b></p><ul class='kit-notes'>{notes}</ul>" if notes else ""))

    def chart(self) -> Any:
        return fleet_chart(self)

    def png(self, dpi: int = 96) -> bytes:
        """The chart as PNG bytes (matplotlib's Agg renderer, no display needed)."""
        import io

        buf = io.BytesIO()
        self.chart().savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def write_html(self, folder: Any) -> dict[str, Path]:
        """Write ``fleet-report.html`` (the chart embedded) and ``fleet-report.png`` into ``folder``.

        Examples
        --------
        >>> fleet_report().write_html("out")["html"].name   # doctest: +SKIP
        'fleet-report.html'
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        png = self.png(dpi=110)
        (out / "fleet-report.png").write_bytes(png)
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        page = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>kit fleet {html.escape(self.run.run_id)}</title><style>{_CSS}</style></head><body>"
                f"<h1>kit fleet {html.escape(self.run.run_id)}</h1><p>written {stamp}</p>"
                f"<img alt='score and hardware index per machine' "
                f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                f"{self._repr_html_()}</body></html>\n")
        (out / "fleet-report.html").write_text(page, encoding="utf-8")
        return {"html": out / "fleet-report.html", "png": out / "fleet-report.png"}

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run.run_id, "created": self.run.created, "path": str(self.run.path or ""),
                "settings": self.run.settings(), "seconds": self.run.seconds, "reference": self.reference,
                "against": self.against, "rule": self.outliers.rule.to_dict(), "flagged": self.flagged,
                "machines": [r.to_dict() for r in self.rows], "notes": self.all_notes()}


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table.kit-table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
table.kit-table td,table.kit-table th{border:1px solid #ccc;padding:3px 8px;text-align:left}
table.kit-table caption{font-weight:bold;text-align:left;padding:4px 0}
table.kit-table th{background:#f3f3f3} img{max-width:100%} p,ul.kit-notes{font-size:0.85em;color:#555}"""


def _short(label: str) -> str:
    return label if len(label) <= _LABEL else label[: _LABEL - 1] + "~"


def _tri(t: tuple[float, float, float] | None, digits: int) -> str:
    if t is None:
        return ""
    return f"{t[0]:.{digits}f} [{t[1]:.{digits}f}, {t[2]:.{digits}f}]"


def _limit(d: Deviation | None) -> str:
    if d is None or math.isinf(d.threshold):
        return ""
    factor = math.exp(d.threshold)
    return f"{factor:.2f}x" if factor < 10 else ">10x"


def _wrap(notes: list[str]) -> list[str]:
    return [line for n in notes for line in textwrap.wrap(n, WIDTH, subsequent_indent="  ") or [""]]


# --- building the report -----------------------------------------------------------------------------


def _index(record: Any, reference: Any) -> tuple[tuple[float, float, float], dict[str, tuple[float, float, float]]]:
    from kit.scoring import hardware_index

    hw = hardware_index(record, reference)
    return (hw.value, *hw.ci), dict(hw.categories)


def fleet_report(run: Any = None, *, directory: Any = None, against: Any = None, reference: Any = None,
                 rule: OutlierRule | None = None) -> FleetReport:
    """Place every machine of a fleet run, flag the outliers, and validate each against a reference.

    Parameters
    ----------
    run : FleetRun, run id, run folder or None
        None: the newest run in the fleet folder (:func:`kit.fleet.store.fleet_dir`).
    directory : path-like, optional
        The fleet folder to look in.
    against : Record or path, optional
        Validate each machine against this record (:func:`kit.validate`, its default rules), and
        place the machines against it unless ``reference`` is given.
    reference : Record or path, optional
        The record whose machine is 1.00 in the hardware index (default: ``against``, else the
        fleet's median machine).
    rule : OutlierRule, optional

    Returns
    -------
    FleetReport

    Examples
    --------
    >>> rep = fleet_report(run)                        # doctest: +SKIP
    >>> rep.row("worker-1").flag                       # doctest: +SKIP
    'slower outlier'
    """
    from kit.fleet.run import FleetRun
    from kit.fleet.store import load_run
    from kit.records import as_record, validate

    fr = run if isinstance(run, FleetRun) else load_run(run, directory)
    rule = rule or OutlierRule()
    ok = fr.ok
    notes: list[str] = []
    against_rec = as_record(against) if against is not None else None
    ref_rec = as_record(reference) if reference is not None else against_rec
    indexes: dict[str, tuple[tuple[float, float, float], dict[str, tuple[float, float, float]]]] = {}
    if ref_rec is not None:
        what = f"{Path(ref_rec.name).name} ({ref_rec.machine.get('cpu', '?')})"
    elif ok:
        # the median machine: place everyone against the first, take the middle one, place again
        first = {m.label: _index(m.record, ok[0].record)[0][0] for m in ok}
        middle = sorted(ok, key=lambda m: (first[m.label], m.label))[(len(ok) - 1) // 2]
        ref_rec = middle.record
        what = f"{middle.label}, the fleet's median machine (no reference record given)"
    else:
        what = "no machine scored"
    for m in ok:
        try:
            indexes[m.label] = _index(m.record, ref_rec)
        except KitError as exc:
            notes.append(f"{m.label}: no hardware index ({exc})")
    outliers = fleet_outliers({k: {OVERALL: v, **cats} for k, (v, cats) in indexes.items()}, rule)
    if len(indexes) < rule.min_machines:
        notes.append(f"{len(indexes)} machine(s) with a hardware index: at least {rule.min_machines} are "
                     "needed to name an outlier")
    clocks = sorted({m.clock for m in ok if m.clock})
    if len(clocks) > 1:
        notes.append(f"machines measured with different clocks ({', '.join(clocks)}): their indexes are not "
                     "comparable (set KIT_CLOCK alike on every worker)")
    libs = {m.label: (m.record.data.get("kit_version"), m.record.data.get("libraries") or {}) for m in ok}
    if len({repr(v) for v in libs.values()}) > 1:
        notes.append("kit or library versions differ between machines: a difference may be software, not "
                     "hardware (see each record's 'libraries')")
    rows = []
    for m in fr.machines:
        r = MachineRow(m.label, m.status, m.reason, injected=dict(m.slowdown))
        if m.status == "ok":
            s = m.record.data.get("score") or {}
            ci = s.get("ci") or [math.nan, math.nan]
            r.score, r.tier = (s.get("value"), ci[0], ci[1]), s.get("tier")
            if m.label in indexes:
                r.index, r.categories = indexes[m.label]
                r.deviations = outliers.by_machine.get(m.label, {})
            if against_rec is not None:
                try:
                    r.verdict, r.verdict_reason = verdict_of(validate(m.record, against_rec))
                except KitError as exc:
                    r.verdict, r.verdict_reason = "INCONCLUSIVE", str(exc)
        if m.slowdown:
            notes.append(f"{m.label}: injected slowdown "
                         + ", ".join(("every backend" if k == "*" else k) + f" x{v:g}" for k, v in m.slowdown.items())
                         + " (fault injection)")
        rows.append(r)
    return FleetReport(fr, rows, outliers, what, None if against_rec is None else against_rec.name, notes)


# --- the chart ---------------------------------------------------------------------------------------

_FLAG = "#d62728"


def fleet_chart(report: FleetReport) -> Any:
    """A matplotlib Figure: score with CI per machine, and each category's index over the fleet median.

    Examples
    --------
    >>> fig = fleet_chart(fleet_report(run))   # doctest: +SKIP
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from kit.scoring import TIERS, score_from_speedup

    rows = report.rows
    n = max(len(rows), 1)
    fig = Figure(figsize=(11.5, max(3.0, 0.55 * n + 1.6)), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, width_ratios=[1, 1.5])
    ys = list(range(len(rows)))
    labels = [r.label if r.status == "ok" and not r.is_outlier else f"{r.label}\n{r.flag}" for r in rows]
    for y, r in zip(ys, rows):
        if r.score is None:
            ax0.annotate(r.status, (2, y), va="center", fontsize=8, color="gray")
            continue
        v, lo, hi = r.score
        colour = _FLAG if r.is_outlier else "#1f77b4"
        ax0.errorbar([v], [y], xerr=[[max(v - lo, 0)], [max(hi - v, 0)]], fmt="o", capsize=3, color=colour)
        ax0.annotate(r.tier or "", (v, y), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7)
    for tier, threshold in TIERS:
        ax0.axvline(score_from_speedup(threshold), color="k", lw=0.5, ls=":")
    ax0.set_xlim(0, 100)
    ax0.set_xlabel("score (0-100, 95% CI); dotted: tier thresholds")
    ax0.set_title("score per machine")

    cats = [OVERALL, *report.categories]
    palette = ["#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#7f7f7f", "#bcbd22"]
    colour = {c: palette[i % len(palette)] for i, c in enumerate(cats)}
    step = 0.6 / max(len(cats) - 1, 1)
    xs: list[float] = [1.0]
    for y, r in zip(ys, rows):
        for j, cat in enumerate(cats):
            d = r.deviations.get(cat)
            if d is None:
                continue
            scale = d.median
            x = d.value / scale
            off = (j * step - 0.3) if len(cats) > 1 else 0.0
            err = None
            if d.ci is not None:
                err = [[max(x - d.ci[0] / scale, 0)], [max(d.ci[1] / scale - x, 0)]]
                xs += [d.ci[0] / scale, d.ci[1] / scale]
            xs.append(x)
            ax1.errorbar([x], [y + off], xerr=err, fmt="o" if cat == OVERALL else "s",
                         ms=6 if cat == OVERALL else 4, capsize=2, color=colour[cat],
                         mec=_FLAG if d.flagged else colour[cat], mew=2 if d.flagged else 1)
    for cat in cats:  # the legend from plain markers: a red edge means beyond the limit, not the category
        ax1.plot([], [], "o" if cat == OVERALL else "s", color=colour[cat], label=cat)
    ax1.plot([], [], "s", color="white", mec=_FLAG, mew=2, label="beyond the limit")
    floor = 1 + report.outliers.rule.min_effect
    ax1.axvspan(1 / floor, floor, color="#dddddd", alpha=0.6, lw=0)
    ax1.axvline(1.0, color="k", lw=0.6)
    ax1.set_xscale("log")
    left, right = min(min(xs) / 1.15, 1 / floor / 1.15), max(max(xs) * 1.15, floor * 1.15)
    ax1.set_xlim(left, right)
    nice = [t for t in (0.1, 0.2, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2, 3, 5, 10) if left <= t <= right]
    ax1.xaxis.set_major_locator(FixedLocator(nice))
    ax1.xaxis.set_minor_locator(NullLocator())
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax1.set_xlabel("hardware index / fleet median per category (log, 95% CI); grey: within the minimum effect",
                   fontsize=8)
    ax1.set_title(f"hardware index: {len(report.flagged)} outlier(s)")
    ax1.grid(axis="x", which="major", alpha=0.3)
    ax1.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for ax in (ax0, ax1):
        ax.set_yticks(ys, labels, fontsize=8)
        ax.set_ylim(n - 0.5, -0.5)
        for tick, r in zip(ax.get_yticklabels(), rows):
            if r.is_outlier or r.status != "ok":
                tick.set_color(_FLAG if r.is_outlier else "gray")
    fig.suptitle(f"kit fleet {report.run.run_id} ({report.run.preset} preset)", fontsize=10)
    return fig
