"""A validation's result: each measurement compared, and the verdict PASS, FAIL or INCONCLUSIVE with why.

:func:`kit.records.compare.validate` builds a :class:`Validation`; the verdict is decided here, from
its fields, when it is built, so a validation built by hand judges the same way. A validation prints
as the text tables ``kit validate`` prints (fitted to 100 columns) and renders them as HTML in Jupyter
(:func:`validation_tables`, the one builder of a validation's tables).

Examples
--------
>>> EXIT_CODES
{'PASS': 0, 'FAIL': 1, 'INCONCLUSIVE': 3}
>>> print(QUESTIONS["software"])
did this machine's software regress?
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Sequence

from kit._display import DASH, Section, Table, change, num, plural, speedup, time
from kit.records.contention import LIGHT_LOAD
from kit.stats import t_quantile

__all__ = ["ALPHA", "EXIT_CODES", "FAIL", "FASTER_HERE", "IMPROVEMENT", "INCONCLUSIVE", "MIN_EFFECT", "PASS",
           "QUESTIONS", "REGRESSION", "RUN_ALPHA", "SAME", "SLOWER_HERE", "SUGGESTIVE_ALPHA", "TOLERANCE", "VERDICTS",
           "Comparison", "Validation", "validation_tables"]

#: Significance level of the per-call test (Mann-Whitney U), as asv's.
ALPHA = 0.002
#: Level of the run-to-run test. It is a second gate after the per-call test at ALPHA: its job is to
#: let through no shift that the runs' own scatter explains; at 0.002 too (t > 4.5 with 8 degrees of
#: freedom) it would also hide most real 25% changes on a 2-core shared machine.
RUN_ALPHA = 0.01
#: Smallest change of a median that counts (0.10: 10%).
MIN_EFFECT = 0.10
#: A measurement at least MIN_EFFECT slower whose test gives p below this, but not below its level, is
#: suggestive: the verdict is then INCONCLUSIVE, not PASS (a 30% slowdown at p = 0.03 is not "no change").
SUGGESTIVE_ALPHA = 0.05


@dataclass
class Comparison:
    """One operation × size × kind × backend compared with the reference.

    ``ratio`` is this run's median time over the reference's (above 1: slower here). ``run_p`` and
    ``detectable`` come from the run-to-run test (None when neither record has several runs):
    its p-value, and the smallest change of the median that this measurement's run-to-run noise lets
    the test see. ``counted`` is False for a measurement outside the validation's scope (by default
    the baselines and the selected backends count; the others are shown, not counted).
    """

    operation: str
    size: str
    kind: str
    backend: str
    ref_median: float
    median: float
    ratio: float
    p_value: float | None
    method: str
    verdict: str
    n_ref: int
    n: int
    selected: bool = False
    counted: bool = True
    run_p: float | None = None
    detectable: float | None = None
    runs_ref: int = 1
    runs: int = 1

    @property
    def key(self) -> str:
        return f"{self.operation} {self.size} {self.kind} {self.backend}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("operation", "size", "kind", "backend", "ref_median", "median",
                                              "ratio", "p_value", "method", "verdict", "n_ref", "n", "selected",
                                              "counted", "run_p", "detectable", "runs_ref", "runs")}


REGRESSION, IMPROVEMENT, SAME = "regression", "improvement", "no change"
#: Per-measurement differences between two machines (the hardware question): information, not verdicts.
SLOWER_HERE, FASTER_HERE = "slower here", "faster here"

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
#: The verdicts of a validation.
VERDICTS = (PASS, FAIL, INCONCLUSIVE)
#: The exit status of ``kit validate`` for each verdict; 2 stays a usage error or an unusable record,
#: as for every kit command.
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}
#: The two questions a validation answers, in words: the same machine's software, or another machine.
QUESTIONS = {"software": "did this machine's software regress?",
             "hardware": "does this machine perform like the reference?"}
#: How much slower than the reference another machine may be and still perform like it: its hardware
#: index must not lie wholly below ``1 - TOLERANCE``, nor any category's. Identical machines under
#: ordinary load differ by up to 13% overall (the fleet drill), so 20% leaves that room and still
#: fails a machine a quarter slower.
TOLERANCE = 0.20


@dataclass
class Validation:
    """A run compared with a reference record, and the verdict: PASS, FAIL or INCONCLUSIVE, with why.

    ``question`` is what the verdict answers: ``"software"`` (the same machine: did its software
    regress?) or ``"hardware"`` (another machine: does it perform like the reference?).
    ``exit_code`` is :data:`EXIT_CODES` of the verdict (0, 1, 3), for CI; ``ok`` is True on PASS.
    """

    record: str
    reference: str
    comparisons: list[Comparison]
    only_here: list[str]
    only_reference: list[str]
    alpha: float
    min_effect: float
    relative: bool
    tier: str | None
    reference_tier: str | None
    score: float | None
    reference_score: float | None
    machine_differences: list[tuple[str, Any, Any]]
    library_differences: list[tuple[str, Any, Any]]
    hardware: Any = None  # kit.scoring.HardwareIndex
    notes: list[str] = field(default_factory=list)
    scope: str = "selected"
    run_noise: float | None = None  # typical run-to-run sd of log medians (the moderated test's s0)
    run_alpha: float = RUN_ALPHA
    machine_slower: bool = False  # same machine, hardware index's CI wholly below 1 / (1 + min_effect)
    question: str = "software"
    question_given: bool = False  # named by the caller, not read from the fingerprints
    tolerance: float = TOLERANCE
    #: ``{"record": contention_of(record), "reference": contention_of(reference)}``
    contention: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The machine's overall speed compared run by run (:func:`kit.stats.run_shift_test`), or None
    #: when neither record pooled several runs.
    machine_runs: Any = None
    #: The unit of the run-to-run tests: ``"sitting"`` (a record spans several sittings, so drift between
    #: them is known), ``"run"`` (each record made in one sitting: drift unknown), None (no such test).
    unit: str | None = None
    machine_unit: str | None = None
    sittings_ref: int = 1
    sittings: int = 1
    score_ci: tuple[float, float] | None = None
    reference_score_ci: tuple[float, float] | None = None
    verdict: str | None = None  # decided from the fields above unless given
    reason: str = ""

    def __post_init__(self) -> None:
        if self.question not in QUESTIONS:
            raise ValueError(f"question must be one of {', '.join(QUESTIONS)}, got {self.question!r}")
        if self.verdict is None:
            self.verdict, self.reason = self._judge()

    @property
    def regressions(self) -> list[Comparison]:
        """Significant regressions that count (in scope). They fail a validation of the software question
        when the run-to-run noise is known and neither record was contended; otherwise they make it
        INCONCLUSIVE."""
        return [c for c in self.comparisons if c.verdict == REGRESSION and c.counted]

    @property
    def suggestive(self) -> list[Comparison]:
        """Counted measurements at least ``min_effect`` slower whose deciding test (run or sitting test
        where there is one, else per call) gives ``p < SUGGESTIVE_ALPHA`` without reaching significance:
        too likely slower to PASS, too uncertain to FAIL."""
        out = []
        for c in self.comparisons:
            p = c.run_p if c.run_p is not None else c.p_value
            if c.counted and c.verdict == SAME and c.ratio >= 1 + self.min_effect and p is not None \
                    and p < SUGGESTIVE_ALPHA:
                out.append(c)
        return out

    @property
    def improvements(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict == IMPROVEMENT and c.counted]

    @property
    def other_changes(self) -> list[Comparison]:
        """Significant changes that do not count: measurements outside the scope and, between two
        machines, every difference in relative speed (shown as information)."""
        return [c for c in self.comparisons if c.verdict != SAME and not c.counted]

    @property
    def differences(self) -> list[Comparison]:
        """Between two machines: the measurements whose speed relative to the baseline differs."""
        return [c for c in self.comparisons if c.verdict in (SLOWER_HERE, FASTER_HERE)]

    @property
    def tier_agrees(self) -> bool:
        return self.tier == self.reference_tier

    @property
    def same_machine(self) -> bool:
        return not self.machine_differences

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def summary(self) -> str:
        """The verdict and why, in one line."""
        return f"{self.verdict}: {self.reason}"

    @property
    def question_text(self) -> str:
        return QUESTIONS[self.question]

    # --- the verdict ---

    def _contended(self) -> list[tuple[str, dict[str, Any]]]:
        return [(label, c) for label, c in (("this record", self.contention.get("record")),
                                            ("the reference", self.contention.get("reference")))
                if c and c.get("level") == "contended"]

    @staticmethod
    def _load_words(contended: list[tuple[str, dict[str, Any]]]) -> str:
        """``measured under contention (this record: <summary>)``, once for both records where they agree."""
        if len(contended) == 2 and contended[0][1]["summary"] == contended[1][1]["summary"]:
            return f"measured under contention (both records: {contended[0][1]['summary']})"
        return "measured under contention (" + "; ".join(f"{label}: {c['summary']}" for label, c in contended) + ")"

    def _light(self) -> str:
        """The load of a record that did not stop the verdict, briefly: light, or a loaded machine on
        which the measuring thread still got its CPU (a busy loop on another core)."""
        light, kept = [], []
        for label, c in (("this record", self.contention.get("record")),
                         ("the reference", self.contention.get("reference"))):
            if not c:
                continue
            load = c.get("load_per_core")
            brief = f"load {load:.2f}/core" if c.get("source") == "measured" and load is not None else c["summary"]
            if c.get("level") == "light":
                light.append(f"{label}, {c['summary']}")
            elif c.get("level") == "quiet" and (load or 0) > LIGHT_LOAD and c.get("others_per_core") is None:
                # Only where the run queue was not read: the load average counts kit's own process, and
                # where the run queue was read, other tasks on half the cores make the record light.
                kept.append(f"{label}, {brief}")
        said = ([f"light load ({'; '.join(light)})"] if light else []) + (
            [f"loaded, but the measuring thread kept its CPU ({'; '.join(kept)})"] if kept else [])
        return "; " + "; ".join(said) if said else ""

    def _judge(self) -> tuple[str, str]:
        if self.question == "hardware":
            return self._judge_hardware()
        return self._judge_software()

    def _judge_software(self) -> tuple[str, str]:
        verdict, reason = self._judge_software_rule()
        here = self.contention.get("record")
        if verdict == PASS and here and here.get("level") == "light":
            # A load can hide a slowdown as well as fake one (in relative mode it slows the baseline too),
            # so a clean result from a loaded run is not a PASS; a slowdown beyond the noise still FAILs.
            # A reference's load is only named: it pools sittings, and its spread carries what a loaded
            # one of them did (one light sitting would otherwise stop every PASS against it for good).
            return INCONCLUSIVE, (reason + ": but a loaded machine can hide a slowdown, so this is not a PASS; "
                                  "validate a run made on a quiet machine")
        return verdict, reason

    def _judge_software_rule(self) -> tuple[str, str]:
        if not self.comparisons:
            return INCONCLUSIVE, "no measurement in common with the reference"
        regs = self.regressions
        worst = max(regs, key=lambda c: c.ratio) if regs else None
        worst_words = f" (worst: {worst.key}, {change(worst.ratio)})" if worst else ""
        seen = f"{plural(len(regs), 'measurement')} slower{worst_words}" if worst else ""
        hw = self.hardware
        slower = (f"the machine slower overall (hardware index {num(hw.value)} [{num(hw.ci[0])}, {num(hw.ci[1])}], "
                  f"below {1 / (1 + self.min_effect):.2f})" if self.machine_slower and hw is not None else "")
        contended = self._contended()
        if contended:
            return INCONCLUSIVE, (f"{self._load_words(contended)}, so a slowdown cannot be told from the load"
                                  + (f"; seen: {seen or slower}" if seen or slower else ""))
        hint = self._suggestive_words()
        if self.run_noise is None:
            if seen or slower:
                said = f"{plural(len(regs), 'measurement')} slower per call{worst_words}" if worst else slower
                return INCONCLUSIVE, (f"{said}, but single runs do not know the run-to-run "
                                      "noise: make the reference with `kit score --as-reference` (5 runs)"
                                      + self._light())
            if hint:
                return INCONCLUSIVE, hint + self._light()
            return PASS, (f"no measurement {self.min_effect:.0%} slower per call ({len(self.comparisons)} compared; "
                          "single runs: the run-to-run noise is unknown)" + self._light())
        noise = "sitting-to-sitting noise" if self.unit == "sitting" else "run-to-run noise"
        drift = ("; each record was made in one sitting, so the machine's drift between sittings is unknown "
                 "(on a shared machine one measurement can move 30-45% for minutes): extend the reference in a "
                 "later session with `kit score --as-reference --extend`")
        if worst is not None:
            said = (f"{plural(len(regs), 'significant regression')} beyond the {noise} (worst: {worst.key}, "
                    f"{change(worst.ratio)})")
            if self.unit == "run":
                return INCONCLUSIVE, said.replace("significant regression", "measurement", 1) + drift + self._light()
            return FAIL, said + self._light()
        if slower:
            if self.machine_runs is None:
                return INCONCLUSIVE, (f"{slower}, but the run-to-run noise of the machine's speed is unknown"
                                      + self._light())
            if self.machine_runs.p < self.run_alpha:
                if self.machine_unit == "run":
                    return INCONCLUSIVE, f"{slower}, beyond its run-to-run noise" + drift + self._light()
                return FAIL, f"{slower}, beyond its {noise}" + self._light()
        if hint:
            return INCONCLUSIVE, hint + self._light()
        return PASS, (f"no measurement slower beyond the {noise} ({len(self.comparisons)} compared, "
                      f"typical {noise} {math.expm1(self.run_noise):.1%})"
                      + (f"; {slower} within its run-to-run noise" if slower else "") + self._light())

    def _suggestive_words(self) -> str:
        sug = self.suggestive
        if not sug:
            return ""
        w = max(sug, key=lambda c: c.ratio)
        p = w.run_p if w.run_p is not None else w.p_value
        return (f"{plural(len(sug), 'measurement')} at least {self.min_effect:.0%} slower short of significance "
                f"(worst: {w.key}, {change(w.ratio)}, p = {p:.2g}, below {SUGGESTIVE_ALPHA:g} but not "
                f"{self.run_alpha if w.run_p is not None else self.alpha:g}): measure again before calling it "
                "either way")

    def index_interval(self) -> tuple[float, float] | None:
        """The hardware index's 95% interval that the hardware question judges: the bootstrap CI of the
        index, widened where the records pooled runs to the run-to-run interval of the machine's speed."""
        hw = self.hardware
        if hw is None:
            return None
        lo, hi = hw.ci
        t = self.machine_runs
        if t is not None and t.se > 0:
            half = t_quantile(0.975, t.df) * t.se
            lo, hi = min(lo, hw.value * math.exp(-half)), max(hi, hw.value * math.exp(half))
        return lo, hi

    def _judge_hardware(self) -> tuple[str, str]:
        hw = self.hardware
        if hw is None:
            return INCONCLUSIVE, "no hardware index: no payload class whose selected backend both records measured"
        floor = 1 - self.tolerance
        lo, hi = self.index_interval()
        idx = f"hardware index {num(hw.value)} [{num(lo)}, {num(hi)}]"
        cats_below = [f"{c} {num(v[0])} [{num(v[1])}, {num(v[2])}]" for c, v in sorted(hw.categories.items())
                      if v[2] < floor]
        apart = self._tiers_apart()
        contended = self._contended()
        doubtful = hi < floor or cats_below or lo < floor or apart
        if any(label == "the reference" for label, _ in contended) or (contended and doubtful):
            return INCONCLUSIVE, f"{self._load_words(contended)}, so the {idx} cannot be told from the load"
        info = (f"; {plural(len(self.differences), 'per-operation difference')} in speed relative to the "
                "baseline, shown as information" if self.differences else "")
        if hi < floor:
            return FAIL, f"{idx} is below the tolerance ({floor:.2f}: at most {self.tolerance:.0%} slower)"
        if cats_below:
            return FAIL, (f"{plural(len(cats_below), 'category', 'categories')} below the tolerance ({floor:.2f}): "
                          + ", ".join(cats_below) + f"; overall {idx}")
        if apart:
            return FAIL, (f"tier {self.tier} here, {self.reference_tier} in the reference, and the scores' 95% "
                          f"CIs are apart; {idx}")
        if lo < floor:
            return INCONCLUSIVE, (f"{idx} reaches below the tolerance ({floor:.2f}): pool more runs "
                                  "(`kit score --runs 5`) to narrow it")
        tier = (f"tier {self.tier} agrees" if self.tier_agrees else
                f"tier {self.tier} here, {self.reference_tier} in the reference (the scores' CIs overlap)")
        return PASS, (f"{idx} within the tolerance ({floor:.2f}: at most {self.tolerance:.0%} slower); {tier}"
                      + info + self._light())

    def _tiers_apart(self) -> bool:
        """Tiers differ and the scores' CIs do not overlap (a tier differing within the noise is not)."""
        if self.tier_agrees or self.score_ci is None or self.reference_score_ci is None:
            return False
        return self.score_ci[1] < self.reference_score_ci[0] or self.reference_score_ci[1] < self.score_ci[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record, "reference": self.reference, "verdict": self.verdict, "reason": self.reason,
            "exit_code": self.exit_code, "ok": self.ok,
            "question": self.question, "question_text": self.question_text,
            "question_from": "given" if self.question_given else "machine fingerprints",
            "regressions": [c.key for c in self.regressions], "improvements": [c.key for c in self.improvements],
            "differences": [c.key for c in self.differences],
            "compared": len(self.comparisons), "only_here": self.only_here, "only_reference": self.only_reference,
            "other_changes": [c.key for c in self.other_changes], "machine_slower": self.machine_slower,
            "machine_runs": None if self.machine_runs is None else {
                "shift": self.machine_runs.shift, "se": self.machine_runs.se, "df": self.machine_runs.df,
                "p": self.machine_runs.p},
            "rule": {"alpha": self.alpha, "min_effect": self.min_effect, "relative": self.relative,
                     "scope": self.scope, "run_noise": self.run_noise, "run_alpha": self.run_alpha,
                     "tolerance": self.tolerance, "unit": self.unit,
                     "sittings": {"reference": self.sittings_ref, "here": self.sittings}},
            "contention": self.contention,
            "tier": self.tier, "reference_tier": self.reference_tier, "tier_agrees": self.tier_agrees,
            "score": self.score, "reference_score": self.reference_score,
            "machine_differences": [{"field": f, "reference": a, "here": b} for f, a, b in self.machine_differences],
            "library_differences": [{"library": f, "reference": a, "here": b} for f, a, b in self.library_differences],
            "hardware_index": None if self.hardware is None else self.hardware.to_dict(),
            "index_interval": None if self.hardware is None else list(self.index_interval()),
            "notes": self.notes, "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def tables(self) -> list[Any]:
        """The tables this validation prints and renders (:func:`validation_tables`)."""
        return validation_tables(self)

    def __str__(self) -> str:
        return "\n\n".join(str(t) for t in self.tables())

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self.tables())


# --- the tables ------------------------------------------------------------------------------------


def validation_tables(v: Any) -> list[Table]:
    """Tables of a validation: the verdict and its rule, then the significant changes, as changes in words.

    The one form of a validation's tables: what a :class:`Validation` prints and renders in Jupyter,
    what ``kit validate`` prints (fitted to 100 columns) and what ``kit report --against`` puts in its page.

    Parameters
    ----------
    v : Validation

    Examples
    --------
    >>> import kit
    >>> print(kit.validate("new.json", against="ref.json").tables()[0])  # doctest: +SKIP
    """
    hw = v.hardware
    runs = sorted({(c.runs_ref, c.runs) for c in v.comparisons})
    rows: list[list[Any]] = [
        ["verdict", v.summary],
        ["question", v.question_text + ("" if v.question_given else " (from the machine fingerprints)")],
        ["record", str(v.record)],
        ["reference", str(v.reference)],
        ["compared", f"{plural(len(v.comparisons), 'measurement')} in common: {len(v.regressions)} slower, "
                     f"{len(v.improvements)} faster"
                     + (f"; runs pooled: {runs[0][0]} in the reference, {runs[0][1]} here" if len(runs) == 1 else "")
                     + (f"; sittings: {v.sittings_ref} in the reference, {v.sittings} here" if v.unit else "")],
        ["tier", f"{v.tier} here, {v.reference_tier} in the reference ("
                 + ("agree" if v.tier_agrees else "differ") + ")"],
        ["score", f"{_one(v.score)} here, {_one(v.reference_score)} in the reference"],
        ["hardware index", f"{num(hw.value)} [{num(hw.ci[0])}, {num(hw.ci[1])}] (this run's throughput / the "
                           "reference's: above 1 is faster here)" if hw else "n/a"],
        ["machine", "same fingerprint" if v.same_machine else
         "; ".join(f"{f}: {a} -> {b}" for f, a, b in v.machine_differences)],
        ["rule", f"a regression is significant per call (Mann-Whitney U, p < {v.alpha:g})"
                 + (f", against the {v.unit or 'run'}-to-{v.unit or 'run'} noise (t test, p < {v.run_alpha:g}; "
                    f"typical noise {math.expm1(v.run_noise):.1%})" if v.run_noise is not None
                    else " (single runs: no run-to-run test)")
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
        # one Section line per operation, its measurements under it
        rows = [row for op, group in groupby(sorted(changed, key=lambda c: c.key), key=lambda c: c.operation)
                for row in [Section(op), *(_change_row(c, v.relative, per_run) for c in group)]]
        cols = ["size", "kind", "backend", "change", "reference", "here", "p (U / t)", "detectable"]
        tables.append(Table(title, cols + (["runs"] if per_run else []), rows,
                            [f"change: median time here against the reference; * selected here; {legend}; "
                             f"p: Mann-Whitney U / {v.unit or 'run'}-to-{v.unit or 'run'} t; detectable: the "
                             f"smallest change of the median that this measurement's {v.unit or 'run'}-to-"
                             f"{v.unit or 'run'} noise lets the test see."] if rows else ["none"]))
    if v.library_differences:
        tables.append(Table("library differences", ["library", "reference", "here"],
                            [[k, a, b] for k, a, b in v.library_differences]))
    return tables


def _change_row(c: Comparison, relative: bool, per_run: bool) -> list[str]:
    """A comparison as a row of the change tables: the change in words, both runs' figures, the tests."""
    if relative:
        then, now = (speedup(1 / x if x else None) for x in (c.ref_median, c.median))
    else:
        then, now = time(c.ref_median), time(c.median)
    p = DASH if c.p_value is None else num(c.p_value, 2) + ("" if c.run_p is None else f" / {num(c.run_p, 2)}")
    row = [c.size, c.kind, c.backend + (" *" if c.selected else ""), change(c.ratio), then, now, p,
           "" if c.detectable is None else f"{c.detectable:.0%}"]
    return row + ([f"{c.runs_ref}/{c.runs}"] if per_run else [])


def _few(items: Sequence[str], n: int = 6) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def _one(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"
