"""Tiers and validation: score this machine, check the claims, compare with reference records, save.

The panel calls :func:`kit.score` (measured speed-ups → subscores → score
with its CI, tier, hardware index, claims check), :func:`kit.validate`
(operation by operation against a record of ``results/kit``) and
:func:`kit.records.write_record`; it draws the subscores, the claims
(claimed vs measured with CIs) and the validation (speed-up here over the
reference per measurement, coloured by verdict) with matplotlib. A quick run
of a few operations is labelled a subset on the headline, the chart and the
table; validation is relative to each run's baseline by default, as
``kit validate``.

Examples
--------
>>> from kit.notebook.tiers import TiersPanel
>>> tiers = TiersPanel(results="results/kit")   # doctest: +SKIP
>>> tiers.run().tier                             # doctest: +SKIP
'OPTIMIZED'
>>> tiers.validate().ok                          # doctest: +SKIP
True
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Sequence

from kit import registry as _registry
from kit._display import speedup
from kit._paths import results_dir
from kit.notebook._common import Panel, html_output, ipywidgets, new_figure, note_html, png_output, quick, to_png
from kit.records import validate, write_record
from kit.scoring import PRESET_NAMES, TIERS, score, score_from_speedup
from kit.scoring.result import subset_note

__all__ = ["TiersPanel", "headline_html", "plot_score", "plot_validation", "quick_operations", "record_files"]

_VERDICT_COLOURS = {"regression": "#d62728", "improvement": "#2ca02c", "no change": "#7f7f7f"}
_CLAIM_COLOURS = {"holds": "#2ca02c", "does not hold": "#d62728"}


def quick_operations() -> list[str]:
    """The operations a quick score measures: the first of each registry category.

    One per category keeps every subscore and most claims while taking seconds.

    Examples
    --------
    >>> "json.encode" in quick_operations()
    True
    """
    first: dict[str, str] = {}
    for op in _registry.operations():
        first.setdefault(op.category, op.name)
    return list(first.values())


def record_files(directory: Any) -> list[Path]:
    """Result records in ``directory``: reference records first, then the others, newest first.

    Examples
    --------
    >>> record_files("/nonexistent")
    []
    """
    d = Path(directory)
    if not d.is_dir():
        return []
    files = [p for p in d.glob("*.json") if not p.name.startswith(".")]
    refs = sorted((p for p in files if p.name.startswith("reference-")), key=lambda p: p.name)
    others = sorted((p for p in files if not p.name.startswith("reference-")),
                    key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    return refs + others


def plot_score(result: Any) -> Any:
    """Subscores (0–100, 95% CI) against the tier thresholds and, when checked, claimed vs measured.

    Examples
    --------
    >>> from kit.scoring import score
    >>> fig = plot_score(score(operations=["digest"], sizes=["small"], claims=False))  # doctest: +SKIP
    """
    claims = list(result.claims or [])
    if claims:
        fig, (ax0, ax1) = new_figure(12.5, max(4.2, 0.42 * len(claims) + 1.6), ncols=2)
    else:
        fig, ax0 = new_figure(5.5, 3.8)
    subset = subset_note(result.to_record())
    if subset:  # a figure of a few operations is not the machine's score: say so on the figure itself
        fig.suptitle(f"Quick run, {subset}", fontsize=9, color="#8a4b00")
    names = list(result.subscores) + ["overall"]
    values = [s.score for s in result.subscores.values()] + [result.score]
    cis = [s.score_ci for s in result.subscores.values()] + [tuple(result.score_ci)]
    err = [[max(v - lo, 0) for v, (lo, hi) in zip(values, cis)], [max(hi - v, 0) for v, (lo, hi) in zip(values, cis)]]
    colours = ["#1f77b4"] * (len(names) - 1) + ["#ff7f0e"]
    ax0.bar(names, values, yerr=err, capsize=4, color=colours)
    for tier, threshold in TIERS:
        y = score_from_speedup(threshold)
        ax0.axhline(y, color="k", lw=0.6, ls=":")
        ax0.annotate(f"{tier} ({threshold:g}×)", (len(names) - 0.5, y), xytext=(2, 1),
                     textcoords="offset points", fontsize=8, ha="right", va="bottom")
    ax0.set_ylim(0, 100)
    ax0.set_ylabel("score (0–100, 95% CI)")
    ax0.set_title(f"score {result.score:.1f}: {result.tier}")
    ax0.tick_params(axis="x", labelrotation=20)
    if not claims:
        return fig
    ys, labels = [], []
    for j, r in enumerate(claims):
        c = r.claim
        labels.append(f"{c.title} ({c.claimed:g}{'×' if c.unit == 'x' else c.unit})")
        ys.append(j)
        if c.unit == "x":
            ax1.plot(c.claimed, j, marker="|", ms=14, mew=2, color="#555555",
                     label="claimed" if j == 0 else None)
        if r.measured is None:
            ax1.annotate(r.verdict, (1.0, j), xytext=(3, -3), textcoords="offset points", fontsize=9, color="gray")
            continue
        v, lo, hi = r.measured
        if c.unit != "x":
            ax1.annotate(f"{v:.3g}{c.unit} measured: {r.verdict}", (1.0, j), xytext=(3, -3),
                         textcoords="offset points", fontsize=9, color=_CLAIM_COLOURS.get(r.verdict, "gray"))
            continue
        ax1.errorbar(v, j, xerr=[[max(v - lo, 0)], [max(hi - v, 0)]], fmt="o", capsize=3,
                     color=_CLAIM_COLOURS.get(r.verdict, "#1f77b4"))
    ax1.set_xscale("log")
    ax1.axvline(1.0, color="k", lw=0.6)
    ax1.set_yticks(ys, labels, fontsize=10)
    ax1.set_ylim(len(claims) - 0.5, -0.5)
    ax1.set_xlabel("speed-up (log scale)\nmeasured, with its 95% CI: green holds, red does not")
    ax1.set_title("claims: claimed vs measured")
    ax1.grid(axis="x", which="both", alpha=0.3)
    ax1.legend(fontsize="small", loc="lower right")
    return fig


def plot_validation(validation: Any) -> Any:
    """Speed-up here over the reference (reference time / time here: above 1 is faster here) of every
    measurement in common, by operation, coloured by verdict.

    Examples
    --------
    >>> from kit.records import validate
    >>> fig = plot_validation(validate("new.json", against="reference.json"))  # doctest: +SKIP
    """
    comps = sorted(validation.comparisons, key=lambda c: (c.operation, c.size, c.kind, c.backend))
    ops = list(dict.fromkeys(c.operation for c in comps))
    fig, ax = new_figure(9.5, max(2.8, 0.38 * len(ops) + 1.5))
    # one convention for ratios: a speed-up, above 1 faster (c.ratio is time here / time in the reference)
    speed = {id(c): 1 / c.ratio if c.ratio > 0 and math.isfinite(c.ratio) else math.nan for c in comps}
    counts: dict[str, int] = {}
    for c in comps:
        y = ops.index(c.operation)
        # spread the measurements of one operation vertically so that they do not hide each other
        k = counts[c.operation] = counts.get(c.operation, 0) + 1
        offset = ((k * 0.618) % 1 - 0.5) * 0.6
        ax.plot(speed[id(c)], y + offset, "o", ms=4, color=_VERDICT_COLOURS.get(c.verdict, "#1f77b4"),
                mec="k" if c.selected else "none", alpha=1.0 if getattr(c, "counted", True) else 0.3)
    lo, hi = 1 / (1 + validation.min_effect), 1 + validation.min_effect
    ax.axvspan(lo, hi, color="#dddddd", alpha=0.6, lw=0)
    ax.axvline(1.0, color="k", lw=0.6)
    ax.set_xscale("log")
    ratios = [v for v in speed.values() if math.isfinite(v)] or [1.0]
    left, right = min(0.5, min(ratios) / 1.15), max(2.0, max(ratios) * 1.15)
    ax.set_xlim(left, right)
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    nice = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 1.0, 1.25, 2, 5, 10, 20, 50, 100) if left <= t <= right]
    ax.xaxis.set_major_locator(FixedLocator(nice))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.set_yticks(range(len(ops)), ops, fontsize=8)
    ax.set_ylim(len(ops) - 0.5, -0.5)
    ax.set_xlabel("speed-up here over the reference (log; below 1: slower here)\n"
                  "grey band: within the minimum effect; faded: not counted; black edge: selected backend")
    verdict = validation.verdict  # PASS, FAIL or INCONCLUSIVE, as kit validate says
    ax.set_title(f"validation against {Path(str(validation.reference)).name}: {verdict}")
    for verdict_name, colour in _VERDICT_COLOURS.items():
        ax.plot([], [], "o", color=colour, label=verdict_name)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", which="both", alpha=0.3)
    return fig


def headline_html(result: Any) -> str:
    """The score in one line: value and CI, tier, speed-up, availability beside it, hardware index.

    Examples
    --------
    >>> from kit.scoring import score
    >>> "/ 100" in headline_html(score(operations=["digest"], sizes=["small"], claims=False))  # doctest: +SKIP
    True
    """
    lo, hi = result.score_ci
    subset = subset_note(result.to_record())
    parts = [f"<span style='font-size:2em;font-weight:bold'>{result.score:.1f}</span> / 100 "
             f"<span style='color:#555'>[{lo:.1f}, {hi:.1f}]</span> &nbsp; "
             f"<span style='font-size:1.4em;font-weight:bold'>{html.escape(result.tier)}</span>"
             + (" &nbsp; <span style='background:#fff3cd;color:#8a4b00;padding:1px 6px;border-radius:3px'>"
                "quick run: a subset</span>" if subset else ""),
             f"geometric-mean speed-up {speedup(result.speedup, *result.speedup_ci)}"]
    if subset:
        parts.append(html.escape(f"Measured: {subset}; this figure is not comparable with a full kit score."))
    if result.tier_note:
        parts.append(html.escape(result.tier_note))
    parts.append(f"{html.escape(result.availability_text)} (shown beside the score, never in it)")
    hw = result.hardware
    if hw is not None:
        parts.append(f"hardware index {hw.value:.2f} [{hw.ci[0]:.2f}, {hw.ci[1]:.2f}] vs "
                     f"{html.escape(Path(str(hw.reference)).name)} ({html.escape(hw.reference_machine)})")
    elif result.hardware_note:
        parts.append("hardware index: " + html.escape(result.hardware_note))
    if result.noisy:
        parts.append(f"noisy after re-measuring: {html.escape(', '.join(result.noisy))}")
    return "<div class='kit-headline'>" + "<br>".join(parts) + "</div>"


class TiersPanel(Panel):
    """Score this machine (quick or full), see tier, subscores and claims; validate and save records.

    Parameters
    ----------
    results : path-like, optional
        The folder of result records (default :func:`kit.records.results_dir`):
        reference records are read from it and records saved to it.

    Attributes
    ----------
    preset : ipywidgets.ToggleButtons
        ``quick`` or ``full``.
    operations : ipywidgets.SelectMultiple
        Registry operations to measure (quick mode: one per category).
    sizes : ipywidgets.SelectMultiple
        Payload classes.
    claims : ipywidgets.Checkbox
        Run the claims check.
    button : ipywidgets.Button
        Runs :meth:`run`; ``validate_button`` :meth:`validate`; ``save_button`` :meth:`save`.
    reference : ipywidgets.Dropdown
        Records of ``results`` to compare with (references first); also the
        reference of the hardware index.
    relative : ipywidgets.Checkbox
        Compare times relative to each run's baseline.
    headline, tables, validation_tables : ipywidgets.HTML
    chart, validation_chart : ipywidgets.Image
    result, validation, saved
        The last score, validation and saved path.

    Examples
    --------
    >>> tiers = TiersPanel(results="results/kit")   # doctest: +SKIP
    >>> tiers.run().tier                             # doctest: +SKIP
    'ENHANCED'
    >>> tiers.relative.value = True                  # doctest: +SKIP
    >>> tiers.validate().ok                          # doctest: +SKIP
    True
    """

    def __init__(self, results: Any = None, preset: str = "quick", operations: Sequence[str] | None = None,
                 sizes: Sequence[str] | None = None) -> None:
        super().__init__()
        w = ipywidgets()
        if preset not in PRESET_NAMES:
            raise ValueError(f"preset must be one of {', '.join(PRESET_NAMES)}; got {preset!r}")
        self.results = Path(results) if results is not None else results_dir()
        all_ops = _registry.operation_names()
        ops = list(operations) if operations is not None else (quick_operations() if quick() else all_ops)
        bad = [o for o in ops if o not in all_ops]
        if bad or not ops:
            raise ValueError(f"operations must be a non-empty selection of {', '.join(all_ops)}; got {ops!r}")
        size_names = list(_registry.SIZE_CLASSES)
        chosen = list(sizes) if sizes is not None else (["medium"] if quick() else size_names)
        if not chosen or any(s not in size_names for s in chosen):
            raise ValueError(f"sizes must be a non-empty selection of {', '.join(size_names)}; got {chosen!r}")
        self.result: Any = None
        self.validation: Any = None
        self.saved: Path | None = None
        style = {"description_width": "80px"}
        self.preset = w.ToggleButtons(options=list(PRESET_NAMES), value=preset, description="timing", style=style)
        self.operations = w.SelectMultiple(options=all_ops, value=tuple(ops), description="operations", rows=6,
                                           style=style)
        self.sizes = w.SelectMultiple(options=size_names, value=tuple(chosen), description="sizes", rows=3,
                                      style=style)
        self.claims = w.Checkbox(value=True, description="check the claims", indent=False)
        self.button = w.Button(description="Score this machine", button_style="primary", icon="play",
                               layout=w.Layout(width="200px"))
        self.headline = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="980px"))
        self.tables = w.HTML()
        self.reference = w.Dropdown(description="compare with", style={"description_width": "100px"},
                                    layout=w.Layout(width="520px"))
        # relative by default, as kit validate: a machine-state shift that slows a whole class cancels
        self.relative = w.Checkbox(value=True, description="relative to each run's baseline", indent=False)
        self.validate_button = w.Button(description="Validate", icon="check")
        self.save_button = w.Button(description="Save record", icon="save")
        self.validation_chart = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.validation_tables = w.HTML()
        self.button.on_click(self._guarded(self.run))
        self.validate_button.on_click(self._guarded(self.validate))
        self.save_button.on_click(self._guarded(self.save))
        self.relative.observe(lambda ch: self._guarded(self._revalidate)(), names="value")
        self.refresh_records()
        self.result_boxes = [w.VBox([self.headline, self.chart, self.tables]),
                             w.VBox([self.validation_chart, self.validation_tables])]
        self.widget = w.VBox([
            w.HBox([w.VBox([self.preset, self.claims, self.button]), self.operations, self.sizes]),
            self.status, self.log, self.result_boxes[0],
            w.HTML("<h4>Validation against a record</h4>"),
            w.HBox([self.reference, self.relative]),
            w.HBox([self.validate_button, self.save_button]),
            self.result_boxes[1],
        ])
        self.widget.add_class("kit-tiers")
        self.status.value = note_html("Press Score this machine.")

    @property
    def references(self) -> list[Path]:
        """Record files offered for comparison (``results``'s references first)."""
        return [v for _, v in self.reference.options if v is not None]

    def refresh_records(self) -> None:
        """Re-read the records in ``results`` into the menu, keeping the selection when it remains."""
        files = record_files(self.results)
        current = self.reference.value
        if files:
            self.reference.options = [(p.name, p) for p in files]
            self.reference.value = current if current in files else files[0]
            self.reference.disabled = self.validate_button.disabled = False
        else:
            self.reference.options = [(f"no record in {self.results}", None)]
            self.reference.value = None
            self.reference.disabled = self.validate_button.disabled = True

    def run(self) -> Any:
        """Measure and score this machine with the widgets' settings; draw score, subscores, claims.

        Returns the :class:`kit.scoring.ScoreResult`.
        """
        if not self.operations.value or not self.sizes.value:
            raise ValueError("select at least one operation and one payload size")
        self.status.value = note_html("measuring ...")
        self.log.clear_output()
        reference = next((p for p in self.references if p.name.startswith("reference-")), None)
        with self.log:
            self.result = score(preset=self.preset.value, operations=list(self.operations.value),
                                    sizes=list(self.sizes.value), claims=self.claims.value, progress=True,
                                    reference=reference)
        self.saved = None
        self.log.clear_output()  # the progress lines: the result below says it all
        r = self.result
        self.headline.value = headline_html(r)
        self.chart.value = to_png(plot_score(r))
        self.tables.value = r._repr_html_()  # the tables kit score prints
        self.show("headline", html_output(self.headline.value))
        self.show("chart", png_output(self.chart.value))
        self.show("tables", html_output(self.tables.value))
        self.status.value = note_html(f"scored in {r.seconds:.0f} s ({self.preset.value} preset, "
                                      f"{len(self.operations.value)} operations)")
        return r

    def validate(self) -> Any:
        """Compare the last score with the selected record (:func:`kit.validate`); draw and tabulate.

        Returns the :class:`kit.records.Validation`.
        """
        if self.result is None:
            raise ValueError("score this machine first (press Score this machine, or call run())")
        against = self.reference.value
        if against is None:
            raise ValueError(f"no record to compare with in {self.results} (expected reference-*.json there)")
        self.validation = v = validate(self.result.to_record(), against=against, relative=self.relative.value)
        self.validation_chart.value = to_png(plot_validation(v))
        self.validation_tables.value = v._repr_html_()  # the tables kit validate prints
        self.show("validation_chart", png_output(self.validation_chart.value))
        self.show("validation_tables", html_output(self.validation_tables.value))
        verdict = v.summary  # the verdict and its reason, as kit validate prints them
        self.status.value = note_html(f"validated against {Path(str(against)).name}: {verdict}; "
                                      f"{len(v.comparisons)} measurements compared")
        return v

    def _revalidate(self) -> None:
        if self.validation is not None:
            self.validate()

    def save(self) -> Path:
        """Write the last score's result record into ``results``; returns its path."""
        if self.result is None:
            raise ValueError("score this machine first (press Score this machine, or call run())")
        self.saved = write_record(self.result.to_record(), self.results)
        self.refresh_records()
        self.status.value = note_html(f"saved {self.saved}")
        return self.saved
