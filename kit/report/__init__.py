"""Reports: a self-contained HTML page and a PNG chart of result records, written by ``kit report``.

:func:`write_report` writes ``report.html`` (the chart embedded, then each record's tables and,
with a reference, the validation's) and ``report.png`` (speed-up per operation with 95% CI error
bars, claimed vs measured) for one record or a comparison of records; each file is written
atomically (:func:`kit._paths.atomic_write`). matplotlib is imported only for the chart, with the
Agg backend. The tables a result prints are its own (:func:`kit.scoring.result.score_tables`,
:func:`kit.records.verdict.validation_tables`, named here too), the same that ``kit score`` and
``kit validate`` print (:mod:`kit.report.tables` names them with the other commands' tables).

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
import io
from pathlib import Path
from typing import Any, Iterator, Sequence

from kit._paths import atomic_write, usual_mode
from kit.records import RecordError, as_record, validate
from kit.records.verdict import validation_tables
from kit.scoring.formula import Ratio, nested_geomean, selected_pairs
from kit.scoring.result import score_tables

__all__ = ["chart", "chart_png", "operation_speedups", "score_tables", "validation_tables", "write_report"]


def operation_speedups(record: Any) -> dict[str, tuple[float, float, float]]:
    """Speed-up of the selected backends per operation (geometric mean over its classes) with 95% CI.

    Examples
    --------
    >>> operation_speedups("results/kit/reference.json")["json.encode"]  # doctest: +SKIP
    (13.1, 12.2, 14.0)
    """
    pairs = selected_pairs(as_record(record).data["measurements"])
    out: dict[str, tuple[float, float, float]] = {}
    ops = list(dict.fromkeys(k[0] for k in pairs))
    for op in ops:
        ratios = [Ratio(op, b["raw_s"], s["raw_s"], b["backend"] == s["backend"])
                  for k, (b, s) in pairs.items() if k[0] == op]
        value, ci, _ = nested_geomean(ratios)
        out[op] = (value, *ci)
    return out


def chart(records: Sequence[Any], path: Any, labels: Sequence[str] | None = None) -> Path:
    """Write a PNG (atomically): speed-up per operation with CI error bars, and claimed vs measured speed-ups.

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
    out = Path(path)
    png = chart_png(records, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, png, mode=usual_mode())


def chart_png(records: Sequence[Any], labels: Sequence[str] | None = None) -> bytes:
    """The PNG :func:`chart` writes, as bytes (nothing is written).

    Examples
    --------
    >>> chart_png(["results/kit/reference.json"])[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    datas = [as_record(r).data for r in records]
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


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
    with _shown(recs[0]):
        png = chart_png(recs)
    parts = [f"<h1>kit report</h1><p>{html.escape(_label(recs[0].data))}; written "
             f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}</p>",
             f"<img alt='speed-up per operation and claims' src='data:image/png;base64,"
             f"{base64.b64encode(png).decode()}'>"]
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
    # Each file whole or not at all: a reader never sees a part of either.
    png_path = atomic_write(folder / "report.png", png, mode=usual_mode())
    page_path = atomic_write(folder / "report.html", page, mode=usual_mode())
    return {"html": page_path, "png": png_path}


@contextlib.contextmanager
def _shown(*recs: Any) -> Iterator[None]:
    """A record whose fields cannot be drawn is one error naming the file, not a Python message alone."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        if isinstance(exc, RecordError):
            raise
        names = " or ".join(r.name for r in recs)
        what = f"field {exc} is missing" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise RecordError(f"{names}: cannot be shown ({what}); is the file damaged?") from None
