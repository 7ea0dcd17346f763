"""What kit's commands print: bench, info, score, claims and validation as tables that fit 100 columns.

Each function takes the result object (or a record) and returns :class:`kit._display.Table` objects,
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

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kit import registry as _registry
from kit._display import DASH, Section, Table, change, num, percent, plural, rate, speedup, time
from kit._display import size as fmt_size
from kit.engine.measure import geometric_mean
from kit.machine import gpu
from kit.records.store import as_record
from kit.scoring.claims import SEEDS
from kit.scoring.formula import FORMULA, TIERS

__all__ = ["bench_tables", "claims_table", "info_table", "info_json", "score_tables", "subset_note",
           "validation_tables"]

#: The payload classes each preset measures by default (kit.scoring.score's own default).
PRESET_SIZES = {"quick": ("small", "medium"), "full": ("small", "medium", "large")}


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


# --- kit score ------------------------------------------------------------------------------------


def _data(obj: Any) -> dict[str, Any]:
    return as_record(obj).data


def subset_note(record: Any) -> str | None:
    """How a score measured less than ``kit score`` does by default, or ``None`` when it did not.

    A score of a few operations or payload classes is a different figure from the whole one; every
    place that shows it says so.

    Examples
    --------
    >>> subset_note({"preset": "quick", "classes": [{"operation": "digest", "size": "medium"}]})  # doctest: +SKIP
    'a subset: 1 of 13 operations, medium payloads (kit score measures all 13 on small and medium)'
    """
    d = record if isinstance(record, Mapping) else _data(record)
    classes = d.get("classes") or []
    ops = list(dict.fromkeys(c["operation"] for c in classes))
    sizes = list(dict.fromkeys(c["size"] for c in classes))
    preset = d.get("preset") or "quick"
    wanted = [s for s in PRESET_SIZES.get(preset, ()) if s in _registry.SIZE_CLASSES]
    every = _registry.operation_names()
    if not classes or (set(every) <= set(ops) and set(wanted) <= set(sizes)):
        return None
    return (f"a subset: {len(ops)} of {plural(len(every), 'operation')}, {' and '.join(sizes)} payloads "
            f"(kit score --{preset} measures all {len(every)} on {' and '.join(wanted)})")


def score_tables(result: Any) -> list[Table]:
    """``kit score``: summary, subscores, payload classes, hardware index, claims.

    Parameters
    ----------
    result : ScoreResult, Record, dict or path

    Examples
    --------
    >>> [t.title for t in score_tables("results/kit/reference.json")][:2]  # doctest: +SKIP
    ['kit score', 'subscores']
    """
    d = _data(result)
    s = d["score"]
    m = d.get("machine") or {}
    hw = d.get("hardware_index")
    av = d.get("availability") or {}
    classes = d.get("classes") or []
    noisy = [c for c in classes if c.get("noisy")]
    lo, hi = s.get("ci") or (None, None)
    rows: list[list[Any]] = [
        ["score", f"{s['value']:.1f} [{lo:.1f}, {hi:.1f}] of 100" if lo is not None else f"{s['value']:.1f}"],
        ["tier", s["tier"] + (f" ({s['tier_note']})" if s.get("tier_note") else "")],
        ["speed-up", speedup(s["speedup"], *(s.get("speedup_ci") or (None, None)))
         + " (geometric mean of the selected backends')"],
    ]
    subset = subset_note(d)
    if subset:
        rows.append(["measured", subset])
    rows += [
        ["availability", (av.get("text") or "") + " (not scored)"],
        ["hardware index", f"{num(hw['value'])} [{num(hw['ci'][0])}, {num(hw['ci'][1])}] vs "
         f"{Path(hw['reference']).name} ({hw['reference_machine']}, {plural(hw['compared'], 'class', 'classes')})"
         if hw else (d.get("hardware_note") or "no reference")],
        ["noisy classes", (f"{len(noisy)} of {len(classes)}, marked in the table below" if noisy else "none")
         + f" (a noisy class is re-measured up to {plural(s.get('retries', 0), 'time')})"],
        ["machine", f"{m.get('cpu')} ({m.get('cores')} cores), {m.get('os')}, {m.get('python')}"],
        ["run", f"{d.get('preset')} preset, {d.get('seconds', 0):.0f} s, {d.get('created')}, kit {d.get('kit_version')}"
         + (f" @ {d['git']['commit'][:10]}{' (dirty)' if d['git'].get('dirty') else ''}" if d.get("git") else "")],
    ]
    if d.get("injected_slowdown"):
        rows.append(["injected slowdown", ", ".join(f"{k} ×{v:g}" for k, v in d["injected_slowdown"].items())])
    notes = [f"Score {FORMULA}; 95% CIs by bootstrap over the raw samples. Tiers from the speed-up: "
             + ", ".join(f"{t} {th:g}×" for t, th in TIERS) + "."]
    tables = [Table("kit score", ["", "value (95% CI)"], rows, notes, align="ll")]
    tables.append(Table("subscores", ["category", "speed-up (95% CI)", "subscore (95% CI)", "classes"],
                        [[k, speedup(v["speedup"], *v["speedup_ci"]),
                          f"{v['score']:.1f} [{v['score_ci'][0]:.1f}, {v['score_ci'][1]:.1f}]", v["classes"]]
                         for k, v in (d.get("subscores") or {}).items()]))
    tables.append(Table("selected backend per payload class",
                        ["size", "kind", "selected", "speed-up (95% CI)", "attempts", "noisy"],
                        _sections((c["operation"], [c["size"], c["kind"], c["backend"],
                                                    speedup(c["speedup"], *c["speedup_ci"]), c.get("attempts", 1),
                                                    "noisy" if c.get("noisy") else ""]) for c in classes),
                        ["speed-up = baseline median time / selected backend median time, measured interleaved "
                         "(above 1: faster)."]))
    if hw:
        missing = hw.get("missing") or []
        tables.append(Table("hardware index by category", ["category", "throughput vs reference (95% CI)"],
                            [[k, f"{num(v['value'])} [{num(v['ci'][0])}, {num(v['ci'][1])}]"]
                             for k, v in hw["categories"].items()],
                            [f"1.00 = as fast as {hw['reference_machine']}; geometric mean of throughput ratios "
                             "of the selected backends (SPEC-style); above 1: faster here."]
                            + ([f"not in both: {', '.join(missing[:8])}"
                                + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")] if missing else [])))
    if d.get("claims"):
        tables.append(claims_table(d["claims"]))
    return tables


def claims_table(claims: Iterable[Mapping[str, Any]]) -> Table:
    """The claims check: claimed vs measured (95% CI), verdict, seeds; reasons as footnotes.

    Examples
    --------
    >>> t = claims_table([{"title": "orjson vs json", "claimed": 5.0, "unit": "x", "measured": 5.1,
    ...                    "measured_ci": [3.4, 9.0], "verdict": "holds", "seeds": ["000_a.txt"], "reason": ""}])
    >>> t.rows[0][:4]
    ['orjson vs json', '5×', '5.10× [3.40, 9.00]', 'holds']
    """
    rows = []
    for c in claims:
        unit = c["unit"]
        claimed = f"{c['claimed']:g}×" if unit == "x" else f"{c['claimed']:g}{unit}"
        v = c.get("measured")
        ci = c.get("measured_ci") or (None, None)
        if v is None:
            measured = ""
        elif unit == "x":
            measured = speedup(v, *ci)
        else:
            measured = f"{v:.1f}{unit}" + ("" if ci[0] is None or ci[0] == ci[1] else f" [{ci[0]:.1f}, {ci[1]:.1f}]")
        rows.append([c["title"], claimed, measured, c["verdict"], ", ".join(s.split("_", 1)[0] for s in c["seeds"]),
                     c.get("reason", "")])
    return Table("claims check", ["claim", "claimed", "measured (95% CI)", "verdict", "seeds", "notes"], rows,
                 ["holds: the 95% CI of the measured figure reaches the claim. Seeds: "
                  + ", ".join(SEEDS.values()) + "."], align="lrrlll")


# --- kit validate ---------------------------------------------------------------------------------


def validation_tables(v: Any) -> list[Table]:
    """``kit validate``: the verdict and its rule, then the significant changes, as changes in words.

    Parameters
    ----------
    v : kit.records.Validation

    Examples
    --------
    >>> import kit
    >>> print(validation_tables(kit.validate("new.json", against="ref.json"))[0])  # doctest: +SKIP
    """
    import math

    hw = v.hardware
    runs = sorted({(c.runs_ref, c.runs) for c in v.comparisons})
    rows: list[list[Any]] = [
        ["verdict", v.summary],
        ["question", v.question_text + ("" if v.question_given else " (from the machine fingerprints)")],
        ["record", str(v.record)],
        ["reference", str(v.reference)],
        ["compared", f"{plural(len(v.comparisons), 'measurement')} in common: {len(v.regressions)} slower, "
                     f"{len(v.improvements)} faster"
                     + (f"; runs pooled: {runs[0][0]} in the reference, {runs[0][1]} here" if len(runs) == 1 else "")],
        ["tier", f"{v.tier} here, {v.reference_tier} in the reference ("
                 + ("agree" if v.tier_agrees else "differ") + ")"],
        ["score", f"{_one(v.score)} here, {_one(v.reference_score)} in the reference"],
        ["hardware index", f"{num(hw.value)} [{num(hw.ci[0])}, {num(hw.ci[1])}] (this run's throughput / the "
                           "reference's: above 1 is faster here)" if hw else "n/a"],
        ["machine", "same fingerprint" if v.same_machine else
         "; ".join(f"{f}: {a} -> {b}" for f, a, b in v.machine_differences)],
        ["rule", f"a regression is significant per call (Mann-Whitney U, p < {v.alpha:g})"
                 + (f", against the run-to-run noise (t test, p < {v.run_alpha:g}; typical noise "
                    f"{math.expm1(v.run_noise):.1%})" if v.run_noise is not None else " (single runs: no run-to-run test)")
                 + f" and at least {v.min_effect:.0%} slower"
                 + ("; times relative to each run's baseline" if v.relative else "; absolute times")],
        ["scope", "baselines and selected backends decide the verdict" if v.scope == "selected"
         else "every backend decides the verdict"],
    ]
    notes = list(v.notes)
    if v.only_reference:
        notes.append(f"only in the reference ({len(v.only_reference)}): " + _few(v.only_reference))
    if v.only_here:
        notes.append(f"only here ({len(v.only_here)}): " + _few(v.only_here))
    tables = [Table("kit validate", ["", "result"], rows, notes, align="ll")]
    if v.relative:
        legend = ("reference, here: the backend's speed-up over its class's baseline in each run (the baselines "
                  "themselves are not compared)")
    else:
        legend = "reference, here: median time per call in each run"
    per_run = len(runs) > 1
    for title, changed in (("significant changes", v.regressions + v.improvements),
                           ("other backends (shown, not counted)" if v.question == "software" else
                            "other machine: differences in speed-up (information, not counted)", v.other_changes)):
        if not changed and title.startswith("other"):
            continue
        rows = []
        for c in sorted(changed, key=lambda c: c.key):
            if v.relative:
                then, now = (speedup(1 / x if x else None) for x in (c.ref_median, c.median))
            else:
                then, now = time(c.ref_median), time(c.median)
            p = DASH if c.p_value is None else num(c.p_value, 2) + ("" if c.run_p is None else f" / {num(c.run_p, 2)}")
            row = [c.size, c.kind, c.backend + (" *" if c.selected else ""), change(c.ratio), then, now, p,
                   "" if c.detectable is None else f"{c.detectable:.0%}"]
            if per_run:
                row.append(f"{c.runs_ref}/{c.runs}")
            rows.append((c.operation, row))
        cols = ["size", "kind", "backend", "change", "reference", "here", "p (U / t)", "detectable"]
        tables.append(Table(title, cols + (["runs"] if per_run else []), _sections(rows),
                            [f"change: median time here against the reference; * selected here; {legend}; "
                             "p: Mann-Whitney U / run-to-run t; detectable: the smallest change of the median "
                             "that this measurement's run-to-run noise lets the test see."] if rows else ["none"]))
    if v.library_differences:
        tables.append(Table("library differences", ["library", "reference", "here"],
                            [[k, a, b] for k, a, b in v.library_differences]))
    return tables


def _few(items: Sequence[str], n: int = 6) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def _one(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"
