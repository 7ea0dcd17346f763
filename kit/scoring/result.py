"""The result of a score and the record it makes: :class:`ScoreResult` and its parts.

A :class:`ScoreResult` prints as text tables and renders as HTML in Jupyter (:func:`score_tables`,
built with :mod:`kit._display`); :meth:`ScoreResult.to_record` gives the result record
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
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kit import registry as _registry
from kit._display import Table
from kit._paths import PROJECT_ROOT
from kit._version import __version__
from kit.machine import describe, fingerprint_id
from kit.records.store import SCHEMA, SCHEMA_VERSION, Record, as_record
from kit.scoring.claims import SEEDS, format_measured
from kit.scoring.formula import FORMULA, TIERS, HardwareIndex, hardware_index_of, score_from_speedup
from kit.stats import SAMPLING_ONLY

__all__ = ["ClassResult", "ScoreResult", "Subscore", "git_commit", "hardware_index", "record_from_score",
           "record_notes", "score_tables"]


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
    #: The same keys -> each run's sampling error of its log median (what a run's own samples allow).
    run_se: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)
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
        """The lines ``kit score`` prints under its tables: what the intervals cover, and the contention."""
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


def _ci(v: float | None, ci: Sequence[float] | None, unit: str = "x", digits: int = 2) -> str:
    if v is None:
        return ""
    if not ci or ci[0] is None:
        return f"{v:.{digits}f}{unit}"
    return f"{v:.{digits}f}{unit} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def score_tables(result: Any) -> list[Table]:
    """Tables of a score: summary, subscores, payload classes, hardware index, claims.

    What a :class:`ScoreResult` prints and renders in Jupyter, and what ``kit report`` puts in its
    page for each record (``kit score`` prints the tables of :mod:`kit.report.tables`).

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
    rows = []
    for c in claims:
        claimed = f"{c['claimed']:g}x" if c["unit"] == "x" else f"{c['claimed']:g}{c['unit']}"
        measured = None if c.get("measured") is None else (c["measured"], *(c.get("measured_ci") or (None, None)))
        rows.append([c["title"], claimed, format_measured(measured, c["unit"]), c["verdict"],
                     ", ".join(s.split("_", 1)[0] for s in c["seeds"]), c.get("reason", "")])
    return Table("claims check", ["claim", "claimed", "measured (95% CI)", "verdict", "seeds", "notes"], rows,
                 ["holds: the 95% CI of the measured figure reaches the claim. Seeds: "
                  + ", ".join(SEEDS.values()) + "."])
