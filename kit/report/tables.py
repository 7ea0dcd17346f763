"""What kit's commands print: bench, info, score, claims and validation as tables that fit 100 columns.

The tables of a score and of a validation are those of the result objects themselves
(:func:`kit.scoring.result.score_tables`, :func:`kit.records.verdict.validation_tables`), named here with
the others. Each function takes the result object (or a record) and returns :class:`kit._display.Table` objects,
which print as text fitted to the terminal and render as HTML in Jupyter. The conventions are those
of :mod:`kit._display`: one operation per section line, times and speed-ups with their 95% CI,
numbers aligned on their unit, a speed-up above 1 is faster, a change between runs said in words
(``1.34× slower``), long texts as numbered footnotes.

Examples
--------
>>> from kit.report.tables import score_tables
>>> [t.title for t in score_tables("results/kit/reference.json")][:2]  # doctest: +SKIP
['kit score', 'subscores']
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from kit import registry as _registry
from kit._display import DASH, Section, Table, percent, plural, rate, speedup, time
from kit._display import size as fmt_size
from kit.engine.measure import geometric_mean
from kit.machine import gpu
from kit.records.verdict import validation_tables
from kit.scoring.result import PRESET_SIZES, score_tables, subset_note
from kit.scoring.result import record_claims_table as claims_table

__all__ = ["PRESET_SIZES", "bench_tables", "choices_table", "claims_table", "info_json", "info_table", "score_tables",
           "subset_note", "validation_tables"]


def _sections(rows: Iterable[tuple[str, list[Any]]]) -> list[Any]:
    """Rows keyed by operation, with a :class:`Section` line where the operation changes."""
    out: list[Any] = []
    last = None
    for op, row in rows:
        if op != last:
            out.append(Section(op))
            last = op
        out.append(row)
    return out


# --- kit bench ------------------------------------------------------------------------------------


def bench_tables(res: Any) -> list[Table]:
    """``kit bench``: every backend × payload class measured, then the engine's choices.

    Parameters
    ----------
    res : kit.engine.BenchResult

    Examples
    --------
    >>> import kit
    >>> tables = bench_tables(kit.bench(["digest"], sizes=["small"]))  # doctest: +SKIP
    >>> [t.title for t in tables]  # doctest: +SKIP
    ['kit bench', 'engine choices on this machine']
    """
    rows = []
    for r in res.rows:
        m = r.measurement
        sel = res.selected.get(r.operation, {}).get(r.size) == r.backend
        lo, hi = m.ci
        ratio, s_lo, s_hi = r.speedup
        where = f"{r.operation} · {r.size} {r.kind}" + (f" ({fmt_size(m.nbytes)})" if m.nbytes else "")
        rows.append((where, [r.backend + (" *" if sel else ""), time(m.median, lo, hi),
                             rate(m.throughput) if m.nbytes else "",
                             "baseline" if r.baseline else speedup(ratio, s_lo, s_hi), percent(m.cv, 0),
                             ", ".join(_flag(w) for w in m.warnings)]))
    loads = [r.measurement.load for r in res.rows if r.measurement.load is not None]
    mach = res.machine or {}
    notes = ["* selected. Median time per call and speed-up (baseline time / backend time: above 1 is "
             "faster), each with its 95% bootstrap CI; CV = coefficient of variation of the samples.",
             f"{res.preset} preset, {res.seconds:.1f} s, {mach.get('cpu')} ({mach.get('cores')} cores)"
             + (f", peak load {max(loads):.2f} per core." if loads else ".")]
    if any(r.measurement.busy for r in res.rows):
        notes.append("The machine was busy during the run: speed-ups measured side by side remain comparable, "
                      "absolute times are not. Re-run on a quiet machine for records.")
    flagged = sum(1 for r in res.rows if r.measurement.warnings)
    if flagged:
        notes.append(f"{flagged} of {plural(len(res.rows), 'result')} to treat with care: the median's 95% "
                     "interval reaching more than 5% from it (unstable), samples more than 50% from the median "
                     "(outliers), too few samples that kept the CPU (contended) or a contender timed once.")
    bench = Table("kit bench", ["backend", "median (95% CI)", "throughput", "speed-up (95% CI)", "CV", "flags"],
                  _sections(rows), notes)
    return [bench, choices_table(res)]


def _flag(warning: str) -> str:
    """A measurement's warning (:attr:`kit.engine.measure.Measurement.warnings`) in a word or two."""
    import re

    m = re.match(r"(\d+) of (\d+) samples", warning)
    if m:
        return f"{m.group(1)}/{m.group(2)} outliers"
    return warning.split(":")[0]


def choices_table(res: Any) -> Table:
    """The engine's choices: operation × size → backend, with its speed-up over the baseline."""
    best: dict[tuple[str, str], list[float]] = {}
    for r in res.rows:
        if res.selected.get(r.operation, {}).get(r.size) == r.backend:
            best.setdefault((r.operation, r.size), []).append(r.speedup[0])
    rows = [[op, size, name, speedup(geometric_mean(best.get((op, size), [])) if best.get((op, size)) else None)]
            for op, per in res.selected.items() for size, name in per.items()]
    return Table("engine choices on this machine", ["operation", "size", "selected", "speed-up"], rows,
                 ["speed-up: geometric mean over the payload kinds of the class."])


# --- kit info -------------------------------------------------------------------------------------


def _selected(row: Mapping[str, Any]) -> list[str]:
    """The size classes a backend is selected for, from :meth:`kit.engine.Engine.info`'s wording
    ("small, medium", "all (forced)", "default, fastest: small")."""
    sel = row.get("selected") or []
    if isinstance(sel, str):
        if sel.startswith("all"):
            return list(_registry.SIZE_CLASSES)
        sel = [s.strip() for s in sel.replace("fastest:", ",").split(",") if s.strip() in _registry.SIZE_CLASSES]
    return list(sel)


def _forced(row: Mapping[str, Any]) -> bool:
    sel = row.get("selected")
    return bool(row.get("forced")) or (isinstance(sel, str) and "forced" in sel)


def _default(row: Mapping[str, Any]) -> bool:
    """Whether the backend is what a call uses by default where the choice is opt-in (hashes)."""
    sel = row.get("selected")
    return bool(row.get("default")) or (isinstance(sel, str) and sel.startswith("default"))


def info_table(info: Any) -> Table:
    """``kit info``: per operation, each backend's version, verification, selection and status.

    Examples
    --------
    >>> import kit
    >>> print(info_table(kit.info(verify=False)))  # doctest: +SKIP
    """
    rows = []
    for r in info.rows:
        sel = _selected(r)
        forced = _forced(r)
        if forced:
            shown = "all (forced)" + (", FAILED verification" if r.get("verified") is False else "")
        else:
            shown = r["selected"] if isinstance(r.get("selected"), str) else ", ".join(sel)
        verified = DASH if r.get("verified") is None else ("yes" if r["verified"] else "no")
        status = "" if r["status"] == "verified" else r["status"].removeprefix("FAILED: ")
        rows.append((r["operation"], [r["backend"] + (" (baseline)" if r["baseline"] else ""), r["version"] or "",
                                      verified, shown, r["fallbacks"] or "", status]))
    g = gpu()
    n_av = sum(1 for r in info.rows if r["available"])
    wisdom = info.wisdom or {}
    notes = [f"{n_av} of {plural(len(info.rows), 'backend')} available; GPU: "
             + (f"{g['name']} ({g['memory_mib']} MiB)" if g else "none detected") + ".",
             f"wisdom: {wisdom.get('path')} ({wisdom.get('state')})."]
    return Table("kit info", ["backend", "version", "verified", "selected", "fallbacks", "why not"],
                 _sections(rows), notes, align="llllrl")


def info_json(info: Any) -> dict[str, Any]:
    """``kit info --json``: the engine's info with ``selected`` as a list of size classes, ``forced`` and
    ``default`` (the backend a call uses where the measured choice is opt-in) as booleans.

    Examples
    --------
    >>> import kit
    >>> rows = info_json(kit.info(verify=False))["backends"]
    >>> isinstance(rows[0]["selected"], list)
    True
    """
    data = info.to_dict()
    data["backends"] = [{**r, "selected": _selected(r), "forced": _forced(r), "default": _default(r)}
                        for r in data["backends"]]
    return data


# --- kit score, kit validate ----------------------------------------------------------------------
# A score's tables are built once, by kit.scoring.result.score_tables (with subset_note and the claims
# check of a record), and a validation's by kit.records.verdict.validation_tables: the result objects
# print and render the same tables the commands print. They are named here, with the commands' others.
