"""Reports: score results and validations as tables (text and Jupyter HTML), pages and charts.

:func:`score_tables` and :func:`validation_tables` build the tables that
:class:`kit.scoring.ScoreResult` and :class:`kit.records.Validation` print and render;
:func:`write_report` writes a self-contained HTML page and a PNG chart (speed-up per operation with
95% CI error bars, claimed vs measured) for one record or a comparison of records. matplotlib is
imported only there, with the Agg backend.

Examples
--------
>>> from kit.report import write_report
>>> paths = write_report(["results/kit/reference.json"], "report")  # doctest: +SKIP
>>> sorted(paths)  # doctest: +SKIP
['html', 'png']
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import html
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from kit._display import Table

__all__ = ["chart", "operation_speedups", "score_tables", "validation_tables", "write_report"]


def _ci(v: float | None, ci: Sequence[float] | None, unit: str = "x", digits: int = 2) -> str:
    if v is None:
        return ""
    if not ci or ci[0] is None:
        return f"{v:.{digits}f}{unit}"
    return f"{v:.{digits}f}{unit} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _data(obj: Any) -> dict[str, Any]:
    from kit.records import as_record

    return as_record(obj).data


def score_tables(result: Any) -> list[Table]:
    """Tables of a score: summary, subscores, payload classes, hardware index, claims.

    Parameters
    ----------
    result : ScoreResult, Record, dict or path

    Examples
    --------
    >>> [t.title for t in score_tables("results/kit/reference.json")][:2]  # doctest: +SKIP
    ['kit score', 'subscores']
    """
    from kit.scoring import FORMULA, TIERS, record_notes

    d = _data(result)
    s = d["score"]
    m = d.get("machine") or {}
    hw = d.get("hardware_index")
    av = d.get("availability") or {}
    rows: list[list[Any]] = [
        ["score", _ci(s["value"], s.get("ci"), unit="", digits=1)],
        ["tier", s["tier"] + (f" ({s['tier_note']})" if s.get("tier_note") else "")],
        ["geometric-mean speed-up", _ci(s["speedup"], s.get("speedup_ci"))],
        ["availability (not scored)", av.get("text", "")],
        ["hardware index", _ci(hw["value"], hw["ci"], unit="") + f" vs {Path(hw['reference']).name} "
         f"({hw['reference_machine']}, {hw['compared']} classes)" if hw else (d.get("hardware_note") or "no reference")],
        ["noisy classes", (", ".join(s.get("noisy") or []) or "none")
         + f" (a noisy class is re-measured up to {s.get('retries', 0)} times)"],
        ["machine", f"{m.get('cpu')} ({m.get('cores')} cores), {m.get('os')}, {m.get('python')}"],
        ["run", f"{d.get('preset')} preset, {d.get('seconds', 0):.0f} s, {d.get('created')}, kit {d.get('kit_version')}"
         + (f" @ {d['git']['commit'][:10]}{' (dirty)' if d['git'].get('dirty') else ''}" if d.get("git") else "")],
    ]
    if d.get("injected_slowdown"):
        rows.append(["injected slowdown", ", ".join(f"{k} x{v:g}" for k, v in d["injected_slowdown"].items())])
    rows += record_notes(d)  # what the intervals cover, and the run's contention
    notes = [f"Score {FORMULA}; 95% CIs by bootstrap over the raw samples. Tiers from the speed-up: "
             + ", ".join(f"{t} {th:g}x" for t, th in TIERS) + "."]
    tables = [Table("kit score", ["", "value (95% CI)"], rows, notes)]
    tables.append(Table("subscores", ["category", "speed-up (95% CI)", "subscore (95% CI)", "classes"],
                        [[k, _ci(v["speedup"], v["speedup_ci"]), _ci(v["score"], v["score_ci"], "", 1), v["classes"]]
                         for k, v in (d.get("subscores") or {}).items()]))
    tables.append(Table("selected backend per payload class",
                        ["operation", "size", "kind", "selected", "speed-up (95% CI)", "attempts", "noisy"],
                        [[c["operation"], c["size"], c["kind"], c["backend"], _ci(c["speedup"], c["speedup_ci"]),
                          c.get("attempts", 1), "yes" if c.get("noisy") else ""] for c in d.get("classes") or []],
                        ["speed-up = baseline median time / selected backend median time, measured interleaved."]))
    if hw:
        tables.append(Table("hardware index by category", ["category", "throughput vs reference (95% CI)"],
                            [[k, _ci(v["value"], v["ci"], unit="")] for k, v in hw["categories"].items()],
                            [f"1.00 = as fast as {hw['reference_machine']}; geometric mean of throughput ratios "
                             "of the selected backends (SPEC-style)."]
                            + ([f"not in both: {', '.join(hw['missing'][:8])}"
                                + (f" and {len(hw['missing']) - 8} more" if len(hw["missing"]) > 8 else "")]
                               if hw.get("missing") else [])))
    if d.get("claims"):
        tables.append(_claims_table(d["claims"]))
    return tables


def _claims_table(claims: Iterable[dict[str, Any]]) -> Table:
    from kit.scoring.claims import SEEDS, format_measured

    rows = []
    for c in claims:
        claimed = f"{c['claimed']:g}x" if c["unit"] == "x" else f"{c['claimed']:g}{c['unit']}"
        measured = None if c.get("measured") is None else (c["measured"], *(c.get("measured_ci") or (None, None)))
        rows.append([c["title"], claimed, format_measured(measured, c["unit"]), c["verdict"],
                     ", ".join(s.split("_", 1)[0] for s in c["seeds"]), c.get("reason", "")])
    return Table("claims check", ["claim", "claimed", "measured (95% CI)", "verdict", "seeds", "notes"], rows,
                 ["holds: the 95% CI of the measured figure reaches the claim. Seeds: "
                  + ", ".join(SEEDS.values()) + "."])


def validation_tables(v: Any) -> list[Table]:
    """Tables of a validation: summary, changes, machine and library differences.

    Examples
    --------
    >>> import kit
    >>> print(kit.validate("new.json", against="ref.json").tables()[0])  # doctest: +SKIP
    """
    hw = v.hardware
    rows: list[list[Any]] = [
        ["verdict", v.summary],
        ["question", v.question_text + ("" if v.question_given else " (from the machine fingerprints)")],
        ["record", v.record],
        ["reference", v.reference],
        ["compared", f"{len(v.comparisons)} measurements in common; {len(v.regressions)} slower, "
                     f"{len(v.improvements)} faster"],
        ["tier", f"{v.tier} here, {v.reference_tier} in the reference ("
                 + ("agree" if v.tier_agrees else "differ") + ")"],
        ["score", f"{_num(v.score)} here, {_num(v.reference_score)} in the reference"],
        ["hardware index", _ci(hw.value, hw.ci, unit="") + " (this run's throughput / the reference's)"
         if hw else "n/a"],
        ["machine", "same fingerprint" if v.same_machine else
         "; ".join(f"{f}: {a} -> {b}" for f, a, b in v.machine_differences)],
        ["rule", f"Mann-Whitney U p < {v.alpha:g}"
                 + (f", run-to-run t p < {v.run_alpha:g} (typical run-to-run noise {math.expm1(v.run_noise):.1%})"
                    if v.run_noise is not None else ", no run-to-run test (single runs)")
                 + f" and median change >= {v.min_effect:.0%}"
                 + (" (times relative to each run's baseline)" if v.relative else "")],
        ["scope", "baselines and selected backends decide the verdict" if v.scope == "selected"
         else "every backend decides the verdict"],
    ]
    notes = list(v.notes)
    if v.only_reference:
        notes.append(f"only in the reference ({len(v.only_reference)}): " + _few(v.only_reference))
    if v.only_here:
        notes.append(f"only here ({len(v.only_here)}): " + _few(v.only_here))
    tables = [Table("kit validate", ["", "result"], rows, notes)]
    legend = ("time ratio = median time here / in the reference (above 1: slower); * selected here; runs = "
              "runs pooled in the reference/here; detectable = smallest change of the median that this "
              "measurement's run-to-run noise lets the test see."
              + (" Times are relative to each run's baseline (1 = as fast as the baseline)." if v.relative else ""))
    for title, changed in (("significant changes", v.regressions + v.improvements),
                           ("other backends (shown, not counted)" if v.question == "software" else
                            "other machine: differences in speed-up (information, not counted)", v.other_changes)):
        if not changed and title.startswith("other"):
            continue
        tables.append(Table(title, ["operation", "size", "kind", "backend", "verdict", "time ratio", "reference",
                                    "here", "p", "runs", "detectable"],
                            [[c.operation, c.size, c.kind, c.backend + (" *" if c.selected else ""), c.verdict,
                              f"{c.ratio:.3f}", _fmt_value(c.ref_median, v.relative),
                              _fmt_value(c.median, v.relative),
                              "" if c.p_value is None else f"{c.p_value:.2g}"
                              + ("" if c.run_p is None else f" / {c.run_p:.2g}"),
                              f"{c.runs_ref}/{c.runs}",
                              "" if c.detectable is None else f"{c.detectable:.0%}"]
                             for c in sorted(changed, key=lambda c: c.key)],
                            [legend, "p = Mann-Whitney U / run-to-run t."] if changed else ["none"]))
    if v.library_differences:
        tables.append(Table("library differences", ["library", "reference", "here"],
                            [[k, a, b] for k, a, b in v.library_differences]))
    return tables


def _few(items: Sequence[str], n: int = 6) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def _fmt_value(x: float, relative: bool) -> str:
    from kit.engine.measure import format_time

    return f"{x:.3g}x baseline" if relative else format_time(x)


# --- charts and pages ---------------------------------------------------------------------------------


def operation_speedups(record: Any) -> dict[str, tuple[float, float, float]]:
    """Speed-up of the selected backends per operation (geometric mean over its classes) with 95% CI.

    Examples
    --------
    >>> operation_speedups("results/kit/reference.json")["json.encode"]  # doctest: +SKIP
    (13.1, 12.2, 14.0)
    """
    from kit.scoring import Ratio, _selected_pairs, nested_geomean

    pairs = _selected_pairs(_data(record)["measurements"])
    out: dict[str, tuple[float, float, float]] = {}
    ops = list(dict.fromkeys(k[0] for k in pairs))
    for op in ops:
        ratios = [Ratio(op, b["raw_s"], s["raw_s"], b["backend"] == s["backend"])
                  for k, (b, s) in pairs.items() if k[0] == op]
        value, ci, _ = nested_geomean(ratios)
        out[op] = (value, *ci)
    return out


def chart(records: Sequence[Any], path: Any, labels: Sequence[str] | None = None) -> Path:
    """Write a PNG: speed-up per operation with CI error bars, and claimed vs measured speed-ups.

    Parameters
    ----------
    records : sequence of Record, dict or path
        One record, or several to compare (one series each).
    path : path-like
        The PNG to write.

    Examples
    --------
    >>> chart(["results/kit/reference.json"], "speedups.png")  # doctest: +SKIP
    PosixPath('speedups.png')
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    datas = [_data(r) for r in records]
    if not datas:
        raise ValueError("chart needs at least one record, got none")
    labels = list(labels) if labels else [_label(d) for d in datas]
    per = [operation_speedups(d) for d in datas]
    ops = list(dict.fromkeys(op for p in per for op in p))
    claims = datas[0].get("claims") or []
    fig, axes = plt.subplots(1, 2 if claims else 1, figsize=(13 if claims else 7.5, max(3.5, 0.45 * max(len(ops), len(claims)) + 1.5)),
                             squeeze=False)
    ax = axes[0][0]
    step = 0.6 / max(len(per) - 1, 1)
    y = np.arange(len(ops))
    for i, (p, label) in enumerate(zip(per, labels)):
        vals = np.array([p.get(op, (np.nan,) * 3) for op in ops], dtype=float)
        err = np.abs(np.vstack([vals[:, 0] - vals[:, 1], vals[:, 2] - vals[:, 0]]))
        offset = (i * step - 0.3) if len(per) > 1 else 0.0
        ax.errorbar(vals[:, 0], y + offset, xerr=err, fmt="o", capsize=3, label=label)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_yticks(y, ops)
    ax.set_ylim(len(ops) - 0.5, -0.5)
    ax.set_xlabel("speed-up of the selected backend over the baseline (log scale, 95% CI)")
    ax.set_title("speed-up per operation")
    if len(per) > 1:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=1)
    if claims:
        ax2 = axes[0][1]
        yc = np.arange(len(claims))
        names = []
        for j, c in enumerate(claims):
            names.append(f"{c['title']} ({', '.join(s.split('_', 1)[0] for s in c['seeds'])})")
            if c["unit"] == "x":
                ax2.plot(c["claimed"], j, marker="|", markersize=14, color="tab:red",
                         label="claimed" if j == 0 else None)
            if c.get("measured") is not None and c["unit"] != "x":
                ax2.annotate(f"{c['measured']:.0f}{c['unit']} measured, {c['claimed']:g}{c['unit']} claimed "
                             f"({c['verdict']})", (1.0, j), xytext=(4, -3), textcoords="offset points", fontsize=7)
            elif c.get("measured") is not None:
                lo, hi = c["measured_ci"]
                ax2.errorbar(c["measured"], j, xerr=[[c["measured"] - lo], [hi - c["measured"]]], fmt="o",
                             color="tab:blue", capsize=3, label="measured" if not any(
                                 x.get("measured") is not None for x in claims[:j]) else None)
            else:
                ax2.annotate("not measurable here", (1.0, j), xytext=(4, -3), textcoords="offset points",
                             fontsize=7, color="gray")
        ax2.set_xscale("log")
        ax2.set_yticks(yc, names, fontsize=8)
        ax2.set_xlabel("speed-up (log scale); measured with 95% CI")
        ax2.set_title("claims: claimed vs measured" + (" (first record)" if len(per) > 1 else ""))
        ax2.set_ylim(len(claims) - 0.4, -0.6)
        ax2.grid(axis="x", which="both", alpha=0.3)
        ax2.legend(fontsize=8, loc="best")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _label(d: dict[str, Any]) -> str:
    m = d.get("machine") or {}
    return f"{m.get('cpu', '?')} · {d.get('preset')} · {d.get('id') or str(d.get('created', ''))[:16]}"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table.kit-table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
table.kit-table td,table.kit-table th{border:1px solid #ccc;padding:3px 8px;text-align:left}
table.kit-table caption{font-weight:bold;text-align:left;padding:4px 0}
table.kit-table th{background:#f3f3f3} img{max-width:100%} p{font-size:0.85em;color:#555}"""


def write_report(records: Sequence[Any], out: Any = "report", against: Any = None) -> dict[str, Path]:
    """Write ``report.html`` (self-contained: the chart is embedded) and ``report.png`` into ``out``.

    Parameters
    ----------
    records : sequence of Record, ScoreResult, dict or path
        The first is the main record; more are compared with it in the chart.
    out : path-like
        Output folder (created).
    against : Record, dict or path, optional
        A reference to validate the first record against; the validation's tables are included.

    Returns
    -------
    dict
        ``{"html": path, "png": path}``.

    Examples
    --------
    >>> write_report(["results/kit/reference.json"], "report")["html"].name  # doctest: +SKIP
    'report.html'
    """
    from kit.records import as_record, validate

    # Everything is read, checked and drawn before anything is written: a missing or damaged
    # record (or reference) leaves the output folder as it was.
    recs = [as_record(r) for r in records]
    if not recs:
        raise ValueError("a report needs at least one record, got none")
    ref = as_record(against) if against is not None else None
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: exists and is not a folder; give --out a folder for report.html and report.png")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kit-report-", dir=folder) as tmp:
        with _shown(recs[0]):
            png = chart(recs, Path(tmp) / "report.png")
        parts = [f"<h1>kit report</h1><p>{html.escape(_label(recs[0].data))}; written "
                 f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}</p>",
                 f"<img alt='speed-up per operation and claims' src='data:image/png;base64,"
                 f"{base64.b64encode(png.read_bytes()).decode()}'>"]
        if ref is not None:
            parts.append("<h2>validation</h2>")
            with _shown(recs[0], ref):
                parts += [t._repr_html_() for t in validate(recs[0], ref).tables()]
        for r in recs:
            parts.append(f"<h2>{html.escape(r.name)}</h2>")
            with _shown(r):
                parts += [t._repr_html_() for t in score_tables(r)]
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>kit report</title><style>{_CSS}</style>"
                f"</head><body>{''.join(parts)}</body></html>\n")
        html_tmp = Path(tmp) / "report.html"
        html_tmp.write_text(page, encoding="utf-8")
        page_path, png_path = folder / "report.html", folder / "report.png"
        os.replace(png, png_path)
        os.replace(html_tmp, page_path)
    return {"html": page_path, "png": png_path}


@contextlib.contextmanager
def _shown(*recs: Any) -> Iterator[None]:
    """A record whose fields cannot be drawn is one error naming the file, not a Python message alone."""
    from kit.records import RecordError

    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        if isinstance(exc, RecordError):
            raise
        names = " or ".join(r.name for r in recs)
        what = f"field {exc} is missing" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise RecordError(f"{names}: cannot be shown ({what}); is the file damaged?") from None
