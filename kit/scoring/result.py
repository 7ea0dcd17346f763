"""The result of a score and the record it makes: :class:`ScoreResult` and its parts.

A :class:`ScoreResult` prints as the text tables ``kit score`` prints (fitted to 100 columns) and
renders them as HTML in Jupyter (:func:`score_tables`, built with :mod:`kit._display`, the one builder
of a score's tables); :meth:`ScoreResult.to_record` gives the result record
(:func:`record_from_score`) that :mod:`kit.records` writes, reads and compares.
:func:`hardware_index` places any record (a path, a dict, a ScoreResult) against a reference.

Examples
--------
>>> from kit.scoring.result import record_notes
>>> record_notes({"contention": {"summary": "contention: quiet: CPU share 99%"}})
[['contention', 'quiet: CPU share 99%']]
"""

from __future__ import annotations

import datetime
import subprocess
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kit import registry as _registry
from kit._display import Section, Table, num, plural, speedup
from kit._paths import PROJECT_ROOT
from kit._version import __version__
from kit.machine import describe, fingerprint_id
from kit.records.store import SCHEMA, SCHEMA_VERSION, Record, as_record
from kit.scoring.claims import SEEDS
from kit.scoring.formula import FORMULA, TIERS, HardwareIndex, hardware_index_of, score_from_speedup
from kit.stats import SAMPLING_ONLY

__all__ = ["PRESET_SIZES", "ClassResult", "ScoreResult", "Subscore", "git_commit", "hardware_index",
           "record_claims_table", "record_from_score", "record_notes", "score_tables", "subset_note"]


@dataclass
class Subscore:
    """One category's part of the score."""

    category: str
    speedup: float
    speedup_ci: tuple[float, float]
    classes: int

    @property
    def score(self) -> float:
        return score_from_speedup(self.speedup)

    @property
    def score_ci(self) -> tuple[float, float]:
        return (score_from_speedup(self.speedup_ci[0]), score_from_speedup(self.speedup_ci[1]))

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "score": self.score, "score_ci": list(self.score_ci),
                "speedup": self.speedup, "speedup_ci": list(self.speedup_ci), "classes": self.classes}


@dataclass
class ClassResult:
    """One payload class's contribution to the score."""

    operation: str
    category: str
    size: str
    kind: str
    baseline: str
    backend: str
    speedup: tuple[float, float, float]
    attempts: int = 1
    noisy: bool = False


@dataclass
class ScoreResult:
    """Score, CI, tier, subscores, availability, hardware index and claims of one run.

    Prints as text tables and renders as HTML tables in Jupyter (:func:`score_tables`);
    :meth:`to_record` gives the result record :mod:`kit.records` writes.
    """

    score: float
    score_ci: tuple[float, float]
    speedup: float
    speedup_ci: tuple[float, float]
    tier: str
    tier_note: str | None
    subscores: dict[str, Subscore]
    classes: list[ClassResult]
    availability: tuple[int, int]
    bench: Any  # kit.engine.BenchResult
    retries: int
    hardware: HardwareIndex | None = None
    hardware_note: str | None = None
    claims: list[Any] | None = None  # kit.scoring.claims.ClaimResult
    injected: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    runs: int = 1
    #: ``(operation, size, kind, backend) -> [median of each run]`` (seconds per call), one per run.
    run_medians: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)
    #: The same keys -> each run's lower quartile of its samples (seconds per call), where every run kept
    #: it: what the software question's run-to-run tests compare (:func:`kit.records.compare.validate`).
    run_lows: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)
    #: The same keys -> each run's sampling error of its log median (what a run's own samples allow).
    run_se: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)
    #: The sittings the runs were made in, in the order of ``run_medians``: ``{"started", "runs"}`` each
    #: (one sitting for a plain run; ``kit score --as-reference --extend`` adds the earlier ones).
    sittings: list[dict[str, Any]] = field(default_factory=list)
    #: What the score's intervals cover: ``runs``, ``machine`` or ``sampling`` (:func:`interval_label`).
    ci_basis: str = "sampling"
    ci_label: str = SAMPLING_ONLY
    #: The machine's run-to-run components used (name -> (sd, df)) and how many runs they come from.
    run_noise: dict[str, tuple[float, float]] = field(default_factory=dict)
    noise_runs: int = 0
    _record: Any = field(default=None, repr=False)

    @property
    def contention(self) -> dict[str, Any]:
        """What the measuring thread got of a CPU during the run (:func:`kit.engine.measure.contention_summary`)."""
        return self.bench.contention

    @property
    def noisy(self) -> list[str]:
        """Payload classes still noisy after the re-measurements."""
        return [f"{c.operation} {c.size} {c.kind}" for c in self.classes if c.noisy]

    @property
    def availability_text(self) -> str:
        return f"{self.availability[0]}/{self.availability[1]} backends available"

    def to_record(self) -> Any:
        """The result record of this run (:class:`kit.records.Record`)."""
        if self._record is None:
            self._record = record_from_score(self)
        return self._record

    def notes(self) -> str:
        """What the intervals cover, and the contention, as ``label: text`` lines (rows of the summary table)."""
        return "\n".join(f"{k}: {v}" for k, v in record_notes(self.to_record().data))

    def tables(self) -> list[Any]:
        """The tables this result prints and renders (:func:`score_tables`)."""
        return score_tables(self)

    def __str__(self) -> str:
        return "\n\n".join(str(t) for t in self.tables())

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self.tables())


def record_notes(data: Mapping[str, Any]) -> list[list[str]]:
    """``[label, text]`` rows that say what a record's intervals cover and how contended its run was.

    Absent parts of older records are left out.

    Examples
    --------
    >>> record_notes({"intervals": {"label": "one run: sampling noise only"}})
    [['95% intervals', 'one run: sampling noise only']]
    """
    rows = []
    label = (data.get("intervals") or {}).get("label")
    if label:
        rows.append(["95% intervals", label])
    hw = data.get("hardware_index") or {}
    if hw.get("ci_label"):
        rows.append(["index intervals", hw["ci_label"]])
    summary = (data.get("contention") or {}).get("summary")
    if summary:
        rows.append(["contention", summary.removeprefix("contention: ")])
    return rows



# --- the record ------------------------------------------------------------------------------------


def git_commit() -> dict[str, Any] | None:
    """The commit of kit's checkout and whether it has changes, or ``None`` outside a git checkout.

    Examples
    --------
    >>> g = git_commit()
    >>> g is None or sorted(g)
    ['commit', 'dirty']
    """
    root = PROJECT_ROOT
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(dirty)} if sha else None


def record_from_score(result: Any) -> Record:
    """Build the record of a :class:`ScoreResult` (what :meth:`ScoreResult.to_record` returns).

    Examples
    --------
    >>> import kit
    >>> rec = kit.score(operations=["fingerprint"], sizes=["small"], claims=False).to_record()  # doctest: +SKIP
    >>> rec.data["schema_version"]  # doctest: +SKIP
    1
    """
    bench = result.bench
    machine = {**describe(), **bench.machine}
    machine.pop("executable", None)
    mid = fingerprint_id(bench.machine)
    created = bench.started or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    stamp = created.replace("-", "").replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    state = {(c.operation, c.size, c.kind): c for c in result.classes}
    measurements = []
    for r in bench.rows:
        c = state.get((r.operation, r.size, r.kind))
        d = r.to_dict()
        d["category"] = _registry.operation(r.operation).category
        d["selected"] = bench.selected.get(r.operation, {}).get(r.size) == r.backend
        d["attempts"] = c.attempts if c else 1
        d["noisy"] = bool(c.noisy) if c else False
        runs = result.run_medians.get((r.operation, r.size, r.kind, r.backend))
        if runs and len(runs) > 1:  # one run's median is the record's median already
            d["run_medians_s"] = list(runs)
            lows = result.run_lows.get((r.operation, r.size, r.kind, r.backend))
            if lows and len(lows) == len(runs):  # one run's is its raw samples' lower quartile
                d["run_q25_s"] = list(lows)
        measurements.append(d)
    data = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "id": f"{stamp}-{mid}",
        "created": created,
        "kit_version": __version__,
        "git": git_commit(),
        "preset": bench.preset,
        "runs": result.runs,
        "sittings": result.sittings or [{"started": created, "runs": result.runs}],
        "seconds": result.seconds or bench.seconds,
        "machine": machine,
        "machine_id": mid,
        "libraries": _registry.libraries(),
        "availability": {"available": result.availability[0], "declared": result.availability[1],
                         "text": result.availability_text},
        "injected_slowdown": dict(result.injected),
        "score": {
            "value": result.score, "ci": list(result.score_ci), "speedup": result.speedup,
            "speedup_ci": list(result.speedup_ci), "tier": result.tier, "tier_note": result.tier_note,
            "formula": FORMULA, "retries": result.retries, "noisy": result.noisy,
        },
        "subscores": {k: v.to_dict() for k, v in result.subscores.items()},
        "hardware_index": None if result.hardware is None else result.hardware.to_dict(),
        "hardware_note": result.hardware_note,
        "selected": bench.selected,
        "classes": [{"operation": c.operation, "category": c.category, "size": c.size, "kind": c.kind,
                     "baseline": c.baseline, "backend": c.backend, "speedup": c.speedup[0],
                     "speedup_ci": list(c.speedup[1:]), "attempts": c.attempts, "noisy": c.noisy}
                    for c in result.classes],
        "measurements": measurements,
        "verification": {op: {b: {"ok": v.ok, "problems": len(v.problems)} for b, v in per.items()}
                         for op, per in bench.verification.items()},
        "claims": None if result.claims is None else [c.to_dict() for c in result.claims],
        # Optional fields (older records lack them and load as before): the run's contention, what the
        # intervals cover, and the run-to-run components they used (for a later hardware index).
        "contention": result.contention,
        "intervals": {"basis": result.ci_basis, "label": result.ci_label, "runs": result.runs},
        "run_noise": {k: [sd, df] for k, (sd, df) in result.run_noise.items()} or None,
    }
    return Record(data)


def hardware_index(record: Any, reference: Any, seed: int = 0) -> HardwareIndex:
    """Place a run against a reference record: geometric mean of throughput ratios (SPEC-style).

    For every payload class measured in both, the ratio is the reference's median time of the backend
    it selected over this run's median time of the backend selected here (the same seeded payload,
    so the ratio of throughputs). Ratios are averaged geometrically per category, then across
    categories; the CI is bootstrapped over both records' raw samples
    (:func:`kit.scoring.formula.hardware_index_of`).

    Parameters
    ----------
    record, reference : Record, ScoreResult, dict or path
        Result records (see :mod:`kit.records`); ``reference`` is the machine placed at 1.0.

    Examples
    --------
    >>> from kit.records import load_record  # doctest: +SKIP
    >>> hardware_index(load_record("new.json"), load_record("reference.json")).value  # doctest: +SKIP
    1.42
    """
    return hardware_index_of(as_record(record), as_record(reference), seed=seed)


# --- the tables ------------------------------------------------------------------------------------

#: The payload classes each preset measures by default (:func:`kit.scoring.run.score`'s own default).
PRESET_SIZES = {"quick": ("small", "medium"), "full": ("small", "medium", "large")}


def subset_note(record: Any) -> str | None:
    """How a score measured less than ``kit score`` does by default, or ``None`` when it did not.

    A score of a few operations or payload classes is a different figure from the whole one; every
    place that shows it says so.

    Examples
    --------
    >>> subset_note({"preset": "quick", "classes": [{"operation": "digest", "size": "medium"}]})  # doctest: +SKIP
    'a subset: 1 of 13 operations, medium payloads (kit score measures all 13 on small and medium)'
    """
    d = record if isinstance(record, Mapping) else as_record(record).data
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
    """Tables of a score: summary, subscores, payload classes, hardware index, claims.

    The one form of a score's tables: what a :class:`ScoreResult` prints and renders in Jupyter, what
    ``kit score`` prints (fitted to 100 columns) and what ``kit report`` puts in its page for each record.

    Parameters
    ----------
    result : ScoreResult, Record, dict or path

    Examples
    --------
    >>> [t.title for t in score_tables("results/kit/reference.json")][:2]  # doctest: +SKIP
    ['kit score', 'subscores']
    """
    d = as_record(result).data
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
        ["hardware index", f"{_interval(hw['value'], hw['ci'])} vs {Path(hw['reference']).name} "
         f"({hw['reference_machine']}, {plural(hw['compared'], 'class', 'classes')})"
         if hw else (d.get("hardware_note") or "no reference")],
        ["noisy classes", (f"{len(noisy)} of {len(classes)}, marked in the table below" if noisy else "none")
         + f" (a noisy class is re-measured up to {plural(s.get('retries', 0), 'time')})"],
        ["machine", f"{m.get('cpu')} ({m.get('cores')} cores), {m.get('os')}, {m.get('python')}"],
        ["run", f"{d.get('preset')} preset, {d.get('seconds', 0):.0f} s, {d.get('created')}, kit {d.get('kit_version')}"
         + (f" @ {d['git']['commit'][:10]}{' (dirty)' if d['git'].get('dirty') else ''}" if d.get("git") else "")],
    ]
    if d.get("injected_slowdown"):
        rows.append(["injected slowdown", ", ".join(f"{k} ×{v:g}" for k, v in d["injected_slowdown"].items())])
    rows += record_notes(d)  # what the intervals cover, and the run's contention
    notes = [f"Score {FORMULA}; 95% CIs by bootstrap over the raw samples. Tiers from the speed-up: "
             + ", ".join(f"{t} {th:g}×" for t, th in TIERS) + "."]
    tables = [Table("kit score", ["", "value (95% CI)"], rows, notes, align="ll")]
    tables.append(Table("subscores", ["category", "speed-up (95% CI)", "subscore (95% CI)", "classes"],
                        [[k, speedup(v["speedup"], *v["speedup_ci"]),
                          f"{v['score']:.1f} [{v['score_ci'][0]:.1f}, {v['score_ci'][1]:.1f}]", v["classes"]]
                         for k, v in (d.get("subscores") or {}).items()]))
    # one Section line per operation, its payload classes under it
    per_class = [row for op, group in groupby(classes, key=lambda c: c["operation"])
                 for row in [Section(op), *([c["size"], c["kind"], c["backend"], speedup(c["speedup"], *c["speedup_ci"]),
                                             c.get("attempts", 1), "noisy" if c.get("noisy") else ""] for c in group)]]
    tables.append(Table("selected backend per payload class",
                        ["size", "kind", "selected", "speed-up (95% CI)", "attempts", "noisy"], per_class,
                        ["speed-up = baseline median time / selected backend median time, measured interleaved "
                         "(above 1: faster)."]))
    if hw:
        missing = hw.get("missing") or []
        tables.append(Table("hardware index by category", ["category", "throughput vs reference (95% CI)"],
                            [[k, _interval(v["value"], v["ci"])] for k, v in hw["categories"].items()],
                            [f"1.00 = as fast as {hw['reference_machine']}; geometric mean of throughput ratios "
                             "of the selected backends (SPEC-style); above 1: faster here."]
                            + ([f"not in both: {', '.join(missing[:8])}"
                                + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")] if missing else [])))
    if d.get("claims"):
        tables.append(record_claims_table(d["claims"]))
    return tables


def _interval(value: float, ci: Sequence[float]) -> str:
    """A plain number with its 95% CI, three significant digits (a hardware index)."""
    return f"{num(value)} [{num(ci[0])}, {num(ci[1])}]"


def record_claims_table(claims: Iterable[Mapping[str, Any]]) -> Table:
    """The claims check of a record: claimed vs measured (95% CI), verdict, seeds; reasons as footnotes.

    Examples
    --------
    >>> t = record_claims_table([{"title": "orjson vs json", "claimed": 5.0, "unit": "x", "measured": 5.1,
    ...                           "measured_ci": [3.4, 9.0], "verdict": "holds", "seeds": ["000_a.txt"],
    ...                           "reason": ""}])
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
