"""The score: measured speed-ups → subscores → a score from 0 to 100, a tier, a hardware index.

Everything here is computed from one run's measurements (:meth:`kit.engine.Engine.tune`),
never from the number of installed libraries. The formula is written here once; ``docs/scoring.md``
repeats it for readers.

The formula
-----------
For every measured payload class ``c = (operation, size, kind)`` let ``r_c`` be the speed-up of the
backend the engine *selected* over the operation's baseline, measured side by side in the same run::

    r_c = median time of the baseline / median time of the selected backend

(``r_c = 1`` where the baseline itself is selected). Then

* category speed-up ``G_k`` = geometric mean of ``r_c`` over the classes of category ``k``
  (``json``, ``hashing``, ``compression``, ``tables``, ``kernels`` when present);
* overall speed-up ``G`` = geometric mean of ``G_k`` over the categories measured, so each
  category weighs the same whatever its number of operations;
* the map to 0–100 is the log-logistic curve ::

      S(x) = 100 / (1 + 9 ** (1 - 2 * ln(x) / ln(50)))

  equivalently ``S(x) = 100 x^a / (x^a + m^a)`` with midpoint ``m = √50 ≈ 7.07`` and slope
  ``a = 2 ln 9 / ln 50 ≈ 1.123``. It is strictly increasing, saturates (``S → 100`` as
  ``x → ∞``, ``S → 0`` as ``x → 0``), and is anchored on the tier table: ``S(1) = 10``
  (no gain, STANDARD), ``S(√50) = 50``, ``S(50) = 90`` (MAXIMUM); ``S(8) ≈ 53.5``,
  ``S(15) ≈ 69.9``, ``S(25) ≈ 80.5``;
* subscore of category ``k`` = ``S(G_k)``; **score** = ``S(G)``;
* **tier** from ``G`` itself: STANDARD from 1x, ENHANCED from 8x, OPTIMIZED from 15x, ULTRA from
  25x, MAXIMUM from 50x (BELOW STANDARD under 1x). When the 95% CI of ``G`` straddles a threshold
  the result says so;
* **95% CI** by percentile bootstrap over the raw samples: each of 2000 resamples redraws, for every
  class, the baseline's and the selected backend's samples with replacement, recomputes both medians,
  every ``r_c``, ``G_k``, ``G`` and ``S``;
* **availability** (``N/M backends available``) is printed beside the score and never enters it;
* **hardware index** = geometric mean over categories of the geometric mean over classes of
  ``throughput here / throughput in the reference record`` of the backend each machine selected (as
  SPEC rates a machine against a reference machine), with the same bootstrap CI.

Noisy classes (CV above 10% or a sample more than 50% from the median, for the baseline or the
selected backend) are re-measured, up to ``retries`` times, as the Phoronix Test Suite does: until
an attempt is not noisy; the samples of all attempts are pooled, and a class whose every attempt was
noisy is reported as noisy.

Examples
--------
>>> from kit.scoring import score_from_speedup, tier_of
>>> round(score_from_speedup(1.0), 1), round(score_from_speedup(50.0), 1)
(10.0, 90.0)
>>> tier_of(16.0)
'OPTIMIZED'
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from kit import registry as _registry
from kit.stats import SAMPLING_ONLY, interval_label
from kit.errors import KitError

__all__ = [
    "FORMULA",
    "TIERS",
    "HardwareIndex",
    "Ratio",
    "ScoreResult",
    "Subscore",
    "availability",
    "hardware_index",
    "injected_slowdown",
    "nested_geomean",
    "record_notes",
    "score",
    "score_from_speedup",
    "stability",
    "summarise",
    "tier_of",
    "tier_span",
]

#: (tier, minimum geometric-mean speed-up), from DESIGN.md.
TIERS: tuple[tuple[str, float], ...] = (
    ("STANDARD", 1.0),
    ("ENHANCED", 8.0),
    ("OPTIMIZED", 15.0),
    ("ULTRA", 25.0),
    ("MAXIMUM", 50.0),
)
BELOW = "BELOW STANDARD"

# The curve's anchors: S(1) = LOW, S(TOP) = 100 - LOW.
_TOP = 50.0
_LOW = 10.0
_BASE = (100.0 - _LOW) / _LOW  # 9

RESAMPLES = 2000
#: The map from speed-up to score, as stored in records (the code is :func:`score_from_speedup`).
FORMULA = "S(x) = 100 / (1 + 9 ** (1 - 2 ln(x) / ln(50))), x = geometric mean over categories of the selected backends' speed-ups"
PRESET_NAMES = ("quick", "full")


def score_from_speedup(x: float) -> float:
    """Map a speed-up to the 0–100 score: ``S(x) = 100 / (1 + 9 ** (1 - 2 ln x / ln 50))``.

    Parameters
    ----------
    x : float
        A (geometric-mean) speed-up over the baseline; must be positive.

    Returns
    -------
    float
        The score, strictly between 0 and 100 for finite positive ``x``.

    Examples
    --------
    >>> round(score_from_speedup(1.0), 1)
    10.0
    >>> round(score_from_speedup(50 ** 0.5), 1)
    50.0
    >>> score_from_speedup(1e12) < 100.0
    True
    """
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not (x > 0):
        raise ValueError(f"a speed-up must be a positive number, got {x!r}")
    if math.isinf(x):
        return 100.0
    exponent = 1.0 - 2.0 * math.log(x) / math.log(_TOP)
    if exponent * math.log(_BASE) > 700:  # 9 ** exponent overflows: the score is 0 to double precision
        return 0.0
    return 100.0 / (1.0 + _BASE ** exponent)


def tier_of(speedup: float) -> str:
    """The tier a geometric-mean speed-up earns (thresholds in :data:`TIERS`).

    Examples
    --------
    >>> [tier_of(x) for x in (0.9, 1.0, 7.99, 8.0, 25.0, 49.9, 50.0)]
    ['BELOW STANDARD', 'STANDARD', 'STANDARD', 'ENHANCED', 'ULTRA', 'ULTRA', 'MAXIMUM']
    """
    if not isinstance(speedup, (int, float)) or math.isnan(speedup):
        raise ValueError(f"a speed-up must be a number, got {speedup!r}")
    name = BELOW
    for tier, threshold in TIERS:
        if speedup >= threshold:
            name = tier
    return name


def tier_span(low: float, high: float) -> str | None:
    """A note when the CI ``[low, high]`` of the speed-up straddles a tier threshold, else ``None``.

    Examples
    --------
    >>> print(tier_span(7.5, 9.0))
    the 95% CI [7.5x, 9x] straddles the ENHANCED threshold (8x): the tier is STANDARD or ENHANCED
    >>> tier_span(9.0, 12.0) is None
    True
    """
    if low > high:
        raise ValueError(f"CI bounds must satisfy low <= high, got [{low!r}, {high!r}]")
    crossed = [(t, th) for t, th in TIERS if low < th <= high]
    if not crossed:
        return None
    names = [t for t, _ in crossed]
    tiers = [tier_of(low)] + names
    what = ", ".join(f"{t} threshold ({th:g}x)" for t, th in crossed)
    return (f"the 95% CI [{low:.3g}x, {high:.3g}x] straddles the {what}: the tier is "
            f"{' or '.join(tiers) if len(tiers) == 2 else ', '.join(tiers[:-1]) + ' or ' + tiers[-1]}")


# --- the bootstrap, shared by the score, the hardware index, the claims and the report ---------------


def _log_ratio_draws(slow: Sequence[float], fast: Sequence[float], rng: Any, resamples: int = RESAMPLES) -> Any:
    """``resamples`` bootstrap draws of ``ln(median(slow*) / median(fast*))``."""
    from kit.engine.measure import ratio_log_draws

    return ratio_log_draws(slow, fast, rng, resamples)


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


@dataclass
class Ratio:
    """One ratio of median times, with the raw samples its CI is drawn from.

    ``value = median(slow) / median(fast)``; ``identity`` marks a ratio that is 1 by construction
    (the baseline compared with itself).
    """

    group: str
    slow: Sequence[float]
    fast: Sequence[float]
    identity: bool = False

    @property
    def value(self) -> float:
        if self.identity:
            return 1.0
        return _median(self.slow) / _median(self.fast)


def nested_geomean(ratios: Sequence[Ratio], seed: int = 0,
                   resamples: int = RESAMPLES) -> tuple[float, tuple[float, float], dict[str, tuple[float, float, float]]]:
    """Geometric mean over groups of the geometric mean within each group, with bootstrap CIs.

    Returns ``(value, (lo, hi), {group: (value, lo, hi)})``; the CIs are percentile intervals of
    the same 2000 joint bootstrap draws.

    Examples
    --------
    >>> r = [Ratio("a", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]), Ratio("b", [8.0] * 3, [1.0] * 3)]
    >>> round(nested_geomean(r)[0], 6)
    4.0
    """
    import numpy as np

    if not ratios:
        raise ValueError("no ratios to combine (expected at least one measured class)")
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(ratios):
        groups.setdefault(r.group, []).append(i)
    point_logs = np.array([math.log(r.value) for r in ratios])
    draws = np.zeros((len(ratios), resamples))
    for i, r in enumerate(ratios):
        if not r.identity and len(r.slow) >= 2 and len(r.fast) >= 2:
            draws[i] = _log_ratio_draws(r.slow, r.fast, rng, resamples)
        else:
            draws[i] = point_logs[i]
    per: dict[str, tuple[float, float, float]] = {}
    group_draws = []
    group_points = []
    for g, idx in groups.items():
        d = draws[idx].mean(axis=0)
        p = float(point_logs[idx].mean())
        group_draws.append(d)
        group_points.append(p)
        per[g] = (math.exp(p), *(float(v) for v in np.exp(np.percentile(d, [2.5, 97.5]))))
    overall = np.mean(group_draws, axis=0)
    value = math.exp(float(np.mean(group_points)))
    lo, hi = (float(v) for v in np.exp(np.percentile(overall, [2.5, 97.5])))
    return value, (lo, hi), per


# --- intervals that cover run-to-run variation ------------------------------------------------------
#
# A bootstrap over one run's samples says how well that run pinned its own figure down, not where the
# next run will land: absolute figures move between processes and sessions by more than that. So each
# figure's interval is built, in this order of preference, from (see kit.stats):
#
# * ``runs``: several runs (``kit score --runs N``, a reference's run_medians_s): the t interval of the
#   runs' figures, moderated towards this machine's learned run-to-run noise where there is some;
# * ``machine``: one run, with this machine's run-to-run component learned from its own repeated runs
#   (stored in the wisdom file by every score of several runs) added to the sampling interval;
# * ``sampling``: one run and nothing learned: the sampling interval, labelled "one run: sampling noise only".

def _nested(per_class: Mapping[Any, tuple[str, Sequence[float]]]) -> tuple[int, list[float], dict[str, list[float]]]:
    """Per-run nested means: class values per run → ``(runs, overall per run, {category: per run})``.

    Runs are aligned by position; only the first ``min(len)`` runs of every class count.
    """
    if not per_class:
        return 0, [], {}
    n = min(len(v) for _, v in per_class.values())
    cats: dict[str, list[Sequence[float]]] = {}
    for cat, vals in per_class.values():
        cats.setdefault(cat, []).append(vals)
    per_cat = {k: [statistics.fmean(v[j] for v in vs) for j in range(n)] for k, vs in cats.items()}
    overall = [statistics.fmean(per_cat[k][j] for k in per_cat) for j in range(n)]
    return n, overall, per_cat


def _nested_var(per_class: Mapping[Any, tuple[str, float]]) -> tuple[float, dict[str, float]]:
    """Variance of the nested mean from each class's variance: ``(overall, {category: variance})``."""
    cats: dict[str, list[float]] = {}
    for cat, v in per_class.values():
        cats.setdefault(cat, []).append(v)
    per_cat = {k: sum(vs) / len(vs) ** 2 for k, vs in cats.items()}
    overall = sum(per_cat.values()) / len(per_cat) ** 2 if per_cat else 0.0
    return overall, per_cat


@dataclass
class _Side:
    """One record's part in a figure's run-to-run uncertainty (see :func:`_side_part`)."""

    runs: int
    overall: list[float]
    per_cat: dict[str, list[float]]
    sampling: tuple[float, dict[str, float]]  # one run's sampling variance: overall, per category
    noise: Mapping[str, tuple[float, float]]  # learned components: name -> (sd, df)
    kind: str  # "relative" (speed-ups) or "absolute" (times, throughput)
    per_class: dict[Any, list[float]] = field(default_factory=dict)  # each class's log figure per run


def _side_part(side: _Side, cat: str | None, level: float = 0.95) -> tuple[str, float]:
    """``(basis, log half-width of the run-to-run part)`` of one side for the overall figure or a category."""
    from kit.stats import runs_halfwidth

    name = f"{side.kind}/{cat or 'overall'}"
    noise = side.noise.get(name)
    if side.runs >= 2:
        values = side.overall if cat is None else side.per_cat.get(cat, [])
        if len(values) >= 2:
            samp = side.sampling[0] if cat is None else side.sampling[1].get(cat, 0.0)
            prior = None if noise is None else (noise[0] ** 2 + samp, noise[1])
            return "runs", runs_halfwidth(values, prior, level)
    if noise is not None and noise[1] > 0:
        from kit.stats import t_quantile

        return "machine", t_quantile(0.5 + level / 2.0, noise[1]) * noise[0]
    return "sampling", 0.0


def _honest(point: float, ci: tuple[float, float], parts: Sequence[tuple[str, float]]) -> tuple[float, float, str]:
    """Combine a sampling interval with each side's run-to-run part: ``(low, high, basis)``.

    Where every side has several runs, their spread already holds the sampling noise: the parts alone
    make the interval. Otherwise each bound's sampling half-width and the parts add in quadrature.
    """
    bases = [b for b, _ in parts]
    if point <= 0 or not parts:
        return ci[0], ci[1], "sampling"
    if all(b == "runs" for b in bases):
        half = math.sqrt(sum(h * h for _, h in parts))
        return point * math.exp(-half), point * math.exp(half), "runs"
    extra = math.sqrt(sum(h * h for _, h in parts))
    h_lo = math.log(point / ci[0]) if ci[0] > 0 else 0.0
    h_hi = math.log(ci[1] / point) if ci[1] > 0 else 0.0
    basis = "sampling" if "sampling" in bases else "machine"
    return point * math.exp(-math.hypot(max(h_lo, 0.0), extra)), point * math.exp(math.hypot(max(h_hi, 0.0), extra)), basis


def _mean_square(values: Sequence[float] | None) -> float:
    return statistics.fmean(x * x for x in values) if values else 0.0


def _relative_side(result: Any, noise: Mapping[str, tuple[float, float]]) -> _Side:
    """The score's side: per-run log speed-ups of the selected backends, from the runs' medians."""
    per_class: dict[Any, tuple[str, list[float]]] = {}
    var: dict[Any, tuple[str, float]] = {}
    identity = [c for c in result.classes if c.backend == c.baseline]
    runs = [len(result.run_medians.get((c.operation, c.size, c.kind, c.baseline)) or []) for c in result.classes]
    for c in identity:  # 1 by construction in every run
        key = (c.operation, c.size, c.kind)
        per_class[key] = (c.category, [0.0] * min(runs, default=0))
        var[key] = (c.category, 0.0)
    for c in result.classes:
        if c.backend == c.baseline:
            continue
        key = (c.operation, c.size, c.kind)
        base = result.run_medians.get((*key, c.baseline)) or []
        sel = result.run_medians.get((*key, c.backend)) or []
        per_class[key] = (c.category, [math.log(a / b) for a, b in zip(base, sel) if a > 0 and b > 0])
        var[key] = (c.category, _mean_square(result.run_se.get((*key, c.baseline)))
                    + _mean_square(result.run_se.get((*key, c.backend))))
    n, overall, per_cat = _nested(per_class)
    return _Side(n, overall, per_cat, _nested_var(var), noise, "relative", {k: v for k, (_, v) in per_class.items()})


def _record_side(measurements: Mapping[Any, Mapping[str, Any]], categories: Mapping[Any, str],
                 noise: Mapping[str, tuple[float, float]] | None) -> _Side:
    """A record's side of a hardware index: per-run log times of its selected backends."""
    from kit.stats import median_se_log

    per_class: dict[Any, tuple[str, list[float]]] = {}
    var: dict[Any, tuple[str, float]] = {}
    for key, m in measurements.items():
        runs = [x for x in m.get("run_medians_s") or [] if x > 0]
        per_class[key] = (categories[key], [math.log(x) for x in runs] if len(runs) >= 2 else [])
        var[key] = (categories[key], median_se_log(m.get("raw_s") or [], max(len(runs), 1)) ** 2)
    n, overall, per_cat = _nested(per_class)
    return _Side(n, overall, per_cat, _nested_var(var), dict(noise or {}), "absolute",
                 {k: v for k, (_, v) in per_class.items()})


def _noise_of(data: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """The run-to-run components a record carries (``run_noise``), tolerant of their absence."""
    out = {}
    for k, v in (data.get("run_noise") or {}).items():
        if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
            out[k] = (float(v[0]), float(v[1]))
    return out


def _side_words(side: _Side, basis: str) -> str:
    return {"runs": f"{side.runs} runs", "machine": "one run + its machine's run-to-run noise"}.get(
        basis, "one run, sampling only")


def _apply_intervals(result: "ScoreResult", noise: Mapping[str, tuple[float, float]], noise_runs: int) -> None:
    """Replace the score's sampling intervals with intervals that cover run-to-run variation."""
    from kit.stats import runs_halfwidth

    side = _relative_side(result, noise)
    if side.runs >= 2:
        # Several runs: each figure is the geometric mean of the runs' figures, the centre of the runs'
        # spread (the median of the pooled samples lies off it by about the width of the interval:
        # centred there, 5-run intervals covered 88% in the simulation instead of 96%).
        result.speedup = math.exp(statistics.fmean(side.overall))
        result.score, result.tier = score_from_speedup(result.speedup), tier_of(result.speedup)
        for cat, sub in result.subscores.items():
            sub.speedup = math.exp(statistics.fmean(side.per_cat[cat]))
        for c in result.classes:
            logs = side.per_class.get((c.operation, c.size, c.kind)) or []
            if c.backend != c.baseline and len(logs) >= 2:
                point, half = math.exp(statistics.fmean(logs)), runs_halfwidth(logs)
                c.speedup = (point, point * math.exp(-half), point * math.exp(half))
    lo, hi, basis = _honest(result.speedup, result.speedup_ci, [_side_part(side, None)])
    result.speedup_ci = (lo, hi)
    result.score_ci = (score_from_speedup(lo), score_from_speedup(hi))
    result.tier_note = tier_span(lo, hi)
    for cat, sub in result.subscores.items():
        slo, shi, _ = _honest(sub.speedup, sub.speedup_ci, [_side_part(side, cat)])
        sub.speedup_ci = (slo, shi)
    result.ci_basis = basis
    result.ci_label = interval_label(basis, side.runs, noise_runs if _side_noise_used(side) else 0)
    result.run_noise = dict(noise)
    result.noise_runs = noise_runs


def _side_noise_used(side: _Side) -> bool:
    return any(k.startswith(side.kind + "/") for k in side.noise)


def learn_noise(result: "ScoreResult") -> dict[str, tuple[float, int]]:
    """This run's observation of the machine's run-to-run components (for :mod:`kit.engine.wisdom`).

    For every category and overall, the excess variance (:func:`kit.stats.excess_variance`) across
    the runs of the log speed-up figure (``relative/...``), of the log time figure of the selected
    backends (``absolute/...``), and, pooled over the category's measurements, of each measurement's
    log median (``measurement/...``). Empty with fewer than two runs.

    Examples
    --------
    >>> learn_noise(score(operations=["digest"], sizes=["small"], runs=3, claims=False))  # doctest: +SKIP
    {'relative/hashing': (1.2e-05, 2), 'relative/overall': ..., 'absolute/hashing': ..., ...}
    """
    from kit.stats import excess_variance, pool_noise

    out: dict[str, tuple[float, int]] = {}
    rel = _relative_side(result, {})
    sel = {(c.operation, c.size, c.kind): c for c in result.classes}
    times = {k: {"run_medians_s": result.run_medians.get((*k, c.backend)) or [],
                 "raw_s": [x for r in result.bench.rows if (r.operation, r.size, r.kind, r.backend) == (*k, c.backend)
                           for x in r.measurement.samples]} for k, c in sel.items()}
    ab = _record_side(times, {k: c.category for k, c in sel.items()}, {})
    for side in (rel, ab):
        if side.runs < 2:
            continue
        for cat, values in [(None, side.overall)] + list(side.per_cat.items()):
            samp = side.sampling[0] if cat is None else side.sampling[1].get(cat, 0.0)
            got = excess_variance(values, [samp] * len(values))
            if got is not None:
                out[f"{side.kind}/{cat or 'overall'}"] = got
    per_cat: dict[str, list[tuple[float, float]]] = {}
    for key, medians in result.run_medians.items():
        runs = [math.log(x) for x in medians if x > 0]
        ses = result.run_se.get(key) or []
        got = excess_variance(runs, [x * x for x in ses[:len(runs)]])
        if got is not None:
            per_cat.setdefault(_category(key[0]), []).append(got)
    for cat, obs in per_cat.items():
        pooled = pool_noise(obs)
        if pooled is not None:
            # The measurements of a category share the run's drift, so they are not independent
            # observations of it: the degrees of freedom are the runs', not the runs' times the keys'.
            out[f"measurement/{cat}"] = (pooled[0] ** 2, max(d for _, d in obs))
    return out


# --- results ------------------------------------------------------------------------------------------


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
class HardwareIndex:
    """Absolute throughput here relative to a reference record (1.0 = as fast as the reference)."""

    value: float
    ci: tuple[float, float]
    categories: dict[str, tuple[float, float, float]]
    reference: str
    reference_machine: str
    compared: int
    missing: list[str] = field(default_factory=list)
    #: What the intervals cover: ``runs``, ``machine`` or ``sampling`` (see :func:`interval_label`).
    ci_basis: str = "sampling"
    ci_label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": list(self.ci),
                "categories": {k: {"value": v[0], "ci": [v[1], v[2]]} for k, v in self.categories.items()},
                "reference": self.reference, "reference_machine": self.reference_machine,
                "compared": self.compared, "missing": self.missing, "ci_basis": self.ci_basis,
                "ci_label": self.ci_label}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HardwareIndex":
        return cls(d["value"], tuple(d["ci"]), {k: (v["value"], *v["ci"]) for k, v in d["categories"].items()},
                   d["reference"], d.get("reference_machine", ""), d["compared"], list(d.get("missing", [])),
                   d.get("ci_basis", "sampling"), d.get("ci_label", ""))


def _selected_pairs(measurements: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], tuple[dict, dict]]:
    """Record measurements → ``{(op, size, kind): (baseline entry, selected entry)}``."""
    base: dict[tuple[str, str, str], dict] = {}
    sel: dict[tuple[str, str, str], dict] = {}
    for m in measurements:
        key = (m["operation"], m["size"], m["kind"])
        if m.get("baseline"):
            base[key] = m
        if m.get("selected"):
            sel[key] = m
    return {k: (base[k], sel[k]) for k in sel if k in base}


def _category(op_name: str) -> str:
    try:
        return _registry.operation(op_name).category
    except ValueError:  # an operation this kit does not have (a record from another version)
        return "unknown"


def hardware_index(record: Any, reference: Any, seed: int = 0) -> HardwareIndex:
    """Place a run against a reference record: geometric mean of throughput ratios (SPEC-style).

    For every payload class measured in both, the ratio is the reference's median time of the backend
    it selected over this run's median time of the backend selected here (the same seeded payload,
    so the ratio of throughputs). Ratios are averaged geometrically per category, then across
    categories; the CI is bootstrapped over both records' raw samples.

    Parameters
    ----------
    record, reference : Record, dict or path
        Result records (see :mod:`kit.records`); ``reference`` is the machine placed at 1.0.

    Examples
    --------
    >>> from kit.records import load_record  # doctest: +SKIP
    >>> hardware_index(load_record("new.json"), load_record("reference.json")).value  # doctest: +SKIP
    1.42
    """
    from kit.records import as_record

    rec, ref = as_record(record), as_record(reference)
    here = _selected_pairs(rec.measurements)
    there = _selected_pairs(ref.measurements)
    ratios = []
    for key in sorted(set(here) & set(there)):
        mine, theirs = here[key][1], there[key][1]
        cat = mine.get("category") or _category(key[0])
        slow, fast = list(theirs["raw_s"]), list(mine["raw_s"])
        if mine.get("nbytes") and theirs.get("nbytes") and mine["nbytes"] != theirs["nbytes"]:
            # Different payload bytes (another kit version's generator): compare per byte.
            slow = [t / theirs["nbytes"] for t in slow]
            fast = [t / mine["nbytes"] for t in fast]
        ratios.append(Ratio(cat, slow, fast))
    missing = sorted(" ".join(k) for k in set(there) ^ set(here))
    if not ratios:
        raise KitError(f"{ref.name}: no payload class in common with {rec.name}, so no hardware index "
                       f"(reference has {len(there)} classes, this run {len(here)})")
    value, ci, per = nested_geomean(ratios, seed=seed)
    keys = sorted(set(here) & set(there))
    cats = {k: here[k][1].get("category") or _category(k[0]) for k in keys}
    mine = _record_side({k: here[k][1] for k in keys}, cats, _noise_of(rec.data))
    theirs = _record_side({k: there[k][1] for k in keys}, cats, _noise_of(ref.data))
    if mine.runs >= 2 or theirs.runs >= 2:
        # A side of several runs enters at the centre of its runs (the geometric mean of their medians),
        # where its interval is centred; the sampling interval moves with the point.
        def centre(side: _Side, m: Mapping[str, Any], k: Any) -> float:
            runs = side.per_class.get(k) or []
            own = statistics.fmean(runs) if side.runs >= 2 and runs else math.log(statistics.median(m["raw_s"]))
            return own - (math.log(m["nbytes"]) if per_byte(k) else 0.0)

        def per_byte(k: Any) -> bool:
            a, b = here[k][1].get("nbytes"), there[k][1].get("nbytes")
            return bool(a and b and a != b)

        logs = {k: (cats[k], [centre(theirs, there[k][1], k) - centre(mine, here[k][1], k)]) for k in keys}
        _, overall, by_cat = _nested(logs)
        new = math.exp(overall[0])
        ci = (ci[0] * new / value, ci[1] * new / value)
        per = {cat: (math.exp(by_cat[cat][0]), lo_ * math.exp(by_cat[cat][0]) / v, hi_ * math.exp(by_cat[cat][0]) / v)
               for cat, (v, lo_, hi_) in per.items()}
        value = new
    parts = [_side_part(mine, None), _side_part(theirs, None)]
    lo, hi, basis = _honest(value, ci, parts)
    per = {cat: (v, *_honest(v, (clo, chi), [_side_part(mine, cat), _side_part(theirs, cat)])[:2])
           for cat, (v, clo, chi) in per.items()}
    label = SAMPLING_ONLY if all(b == "sampling" for b, _ in parts) else (
        f"here: {_side_words(mine, parts[0][0])}; reference: {_side_words(theirs, parts[1][0])}")
    return HardwareIndex(value, (lo, hi), per, ref.name, ref.machine.get("cpu", ""), len(ratios), missing,
                         basis, label)


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

    Prints as text tables and renders as HTML tables in Jupyter (:mod:`kit.report`);
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
            from kit.records import record_from_score

            rec = record_from_score(self)
            # Optional fields (older records lack them and load as before): the run's contention, what the
            # intervals cover, and the run-to-run components they used (for a later hardware index).
            rec.data["contention"] = self.contention
            rec.data["intervals"] = {"basis": self.ci_basis, "label": self.ci_label, "runs": self.runs}
            rec.data["run_noise"] = {k: [sd, df] for k, (sd, df) in self.run_noise.items()} or None
            self._record = rec
        return self._record

    def notes(self) -> str:
        """The lines ``kit score`` prints under its tables: what the intervals cover, and the contention."""
        return "\n".join(f"{k}: {v}" for k, v in record_notes(self.to_record().data))

    def tables(self) -> list[Any]:
        from kit.report import score_tables

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


# --- measuring ---------------------------------------------------------------------------------------


def _is_noisy(m: Any) -> bool:
    """Whether a measurement is too uncertain to stand (its median's interval, see ``Measurement.unstable``)."""
    return m.unstable or m.outliers > 0


def availability() -> tuple[int, int]:
    """``(available, declared)`` backends of the registry on this machine.

    Examples
    --------
    >>> a, n = availability()
    >>> 0 < a <= n
    True
    """
    every = _registry.all_backends()
    return sum(b.available for b in every), len(every)


@contextlib.contextmanager
def injected_slowdown(slowdowns: Mapping[str, float] | None) -> Iterator[None]:
    """Make named backends slower by a factor, for showing that validation catches it.

    Each call of an ``"operation:backend"`` runs the real implementation, then busy-waits
    ``(factor - 1)`` times the time the call took (in :mod:`kit.engine.measure`'s clock), so the backend
    really is ``factor`` times slower; slightly more for calls of a few microseconds, where the
    wrapper's own clock reads show.

    Examples
    --------
    >>> with injected_slowdown({"fingerprint:xxh3_128": 1.25}):  # doctest: +SKIP
    ...     res = score(operations=["fingerprint"])
    """
    saved = []
    try:
        for key, factor in (slowdowns or {}).items():
            op, sep, name = key.partition(":")
            if not sep:
                raise KitError(f"a slowdown is given as 'operation:backend', got {key!r}")
            if not isinstance(factor, (int, float)) or not factor >= 1.0:
                raise KitError(f"a slowdown factor must be a number >= 1, got {factor!r} for {key!r}")
            b = _registry.backend(op, name)
            fn = b.implementation()
            saved.append((b, fn))
            b._cache["impl"] = _slowed(fn, float(factor))
        yield
    finally:
        for b, fn in saved:
            b._cache["impl"] = fn


def _slowed(fn: Callable, factor: float) -> Callable:
    import kit.engine.measure

    clock = kit.measure._timer  # wait in the clock measurements are taken with
    extra = factor - 1.0

    def slowed(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        result = fn(*args, **kwargs)
        t1 = clock()
        end = t1 + (t1 - t0) * extra
        while clock() < end:
            pass
        return result

    return slowed


def _classes_of(bench: Any) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys((r.operation, r.size, r.kind) for r in bench.rows))


def _remeasure(engine: Any, bench: Any, retries: int, preset: str,
               progress: Callable[[str], None]) -> dict[tuple[str, str, str], tuple[int, bool]]:
    """Re-measure noisy classes (baseline and selected backend) up to ``retries`` times.

    An attempt is noisy when the baseline or the selected backend is (CV above 10% or a sample more
    than 50% from the median). Re-measuring stops at the first attempt that is not noisy, or after
    ``retries`` more attempts. The samples of all attempts are pooled (per-call times, so attempts
    with different loop counts pool), the rows of ``bench`` are replaced in place with the pooled
    measurements, and the class is reported noisy when every attempt was. Returns
    ``{class: (attempts, noisy)}``.
    """
    out: dict[tuple[str, str, str], tuple[int, bool]] = {}
    for key in _classes_of(bench):
        op_name, size, kind = key
        op = _registry.operation(op_name)
        chosen = bench.selected.get(op_name, {}).get(size, op.baseline)
        if chosen == op.baseline:
            continue  # the ratio is 1 by construction: nothing to re-measure
        names = [op.baseline, chosen]
        first = {r.backend: r for r in bench.rows if (r.operation, r.size, r.kind) == key and r.backend in names}
        if len(first) != len(names):
            continue
        attempts = [first]
        while any(_is_noisy(r.measurement) for r in attempts[-1].values()) and len(attempts) <= retries:
            progress(f"re-measuring {op_name} {size} {kind} (attempt {len(attempts) + 1})")
            attempts.append({r.backend: r for r in engine.measure(op_name, size, kind, backends=names,
                                                                  preset=preset)})
        noisy = all(any(_is_noisy(r.measurement) for r in a.values()) for a in attempts)
        if len(attempts) > 1:
            last = attempts[-1]
            pooled = {n: _pooled([a[n].measurement for a in attempts], last[n].measurement) for n in names}
            _replace_rows(bench, {(*key, n): m for n, m in pooled.items()})
        out[key] = (len(attempts), noisy)
    return out


def _shares(shares: Any, n: int) -> list[float | None]:
    """A stored list of per-sample CPU shares, or ``None`` for each of ``n`` samples where there is none."""
    return list(shares) if isinstance(shares, list) and len(shares) == n else [None] * n


def _pooled(parts: Sequence[Any], last: Any) -> Any:
    """One Measurement holding the samples, shares and lost samples of several (same backend and class)."""
    from kit.engine.measure import Measurement

    return Measurement(last.name, [x for m in parts for x in m.samples], last.loops, last.nbytes,
                       [x for m in parts for x in m.warmup], _max_load(m.load for m in parts),
                       cpu_shares=[x for m in parts for x in _shares(m.cpu_shares, len(m.samples))],
                       lost=[x for m in parts for x in m.lost],
                       lost_shares=[x for m in parts for x in _shares(m.lost_shares, len(m.lost))],
                       contended=any(m.contended for m in parts))


def _extendable(extend: Any, preset: str) -> Any:
    """The record to extend, after checking it was measured like this run will be."""
    from kit import registry as _registry
    from kit.machine import fingerprint, fingerprint_id
    from kit.records import as_record

    rec = as_record(extend)
    problems = []
    if rec.machine_id != fingerprint_id(fingerprint()):
        problems.append(f"another machine ({rec.machine_id})")
    if rec.data.get("preset") != preset:
        problems.append(f"preset {rec.data.get('preset')!r}, not {preset!r}")
    if (rec.data.get("libraries") or {}) != _registry.libraries():
        problems.append("other library versions")
    if rec.data.get("injected_slowdown"):
        problems.append("an injected slowdown")
    if problems:
        raise KitError(f"{rec.name}: cannot extend a record measured with " + ", ".join(problems)
                       + "; make a new one (kit score --as-reference)")
    return rec


#: Most runs one score may pool (each costs a whole measurement).
MAX_RUNS = 20


def extra_runs(n: int, *, preset: str = "quick", operations: Iterable[str] | None = None,
               sizes: Iterable[str] | None = None, slowdown: Mapping[str, float] | None = None,
               progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Measure ``n`` more times, each in a fresh interpreter; returns their records as dicts.

    Each child runs ``kit score --json --no-record --no-claims --no-reference --retries 0`` with the
    same preset, operations, sizes, injected slowdown and clock (``KIT_CLOCK``), and a throw-away
    ``KIT_CACHE_DIR``, so the runs neither read nor write this machine's wisdom. One process per run, as pyperf spreads its
    samples over processes: what differs between processes (memory layout, hash seeds) then shows
    as run-to-run variation instead of hiding in one process's luck.

    Examples
    --------
    >>> recs = extra_runs(1, operations=["fingerprint"], sizes=["small"])  # doctest: +SKIP
    >>> len(recs), recs[0]["preset"]  # doctest: +SKIP
    (1, 'quick')
    """
    import json
    import os
    import subprocess
    import tempfile

    from kit.engine.measure import CLOCKS, clock_name

    argv = [sys.executable, "-c", "import sys; from kit.cli import main; sys.exit(main())", "score", "--json",
            "--no-record", "--no-claims", "--no-reference", "--retries", "0", "--no-progress"]
    if preset == "full":
        argv.append("--full")
    for name in operations or ():
        argv += ["--op", name]
    for size in sizes or ():
        argv += ["--size", size]
    for key, factor in (slowdown or {}).items():
        argv += ["--inject-slowdown", f"{key}={factor!r}"]
    clock = clock_name()
    if clock not in CLOCKS:
        raise KitError(f"runs in fresh processes read a named clock ({', '.join(CLOCKS)}); this process "
                       "measures with another one, which they could not share")
    out = []
    for i in range(n):
        if progress:
            progress(f"run {i + 2} of {n + 1}, in a fresh process")
        with tempfile.TemporaryDirectory(prefix="kit-run-") as tmp:
            env = {**os.environ, "KIT_CACHE_DIR": tmp, "KIT_CLOCK": clock}  # the clock this process reads
            done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise KitError(f"run {i + 2} (a fresh `kit score` process) failed with exit status "
                           f"{done.returncode}: {tail[0]}")
        out.append(json.loads(done.stdout))
    return out


def _pool_runs(bench: Any, children: list[dict[str, Any]],
               medians: dict[tuple[str, str, str, str], list[float]],
               ses: dict[tuple[str, str, str, str], list[float]] | None = None) -> None:
    """Pool the children's samples into ``bench``'s rows in place; append each run's median.

    A child is a record's data: a fresh process's run, or an earlier reference being extended (whose
    own run medians are kept as they are). ``ses`` gets each run's sampling error of the log median
    (for an earlier record of several runs, estimated from its pooled samples).

    Speed-ups are recomputed from the pooled samples; the selection stays the first run's (the
    engine's). A measurement a child lacks (a backend that failed there) keeps what it has. The
    children's CPU pressure, load and steal raise the run's own where higher.
    """
    from kit.stats import median_se_log
    from kit.engine.measure import Measurement

    by_key: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for child in children:
        for c in child["measurements"]:
            if c.get("raw_s"):
                by_key.setdefault((c["operation"], c["size"], c["kind"], c["backend"]), []).append(c)
        seen = child.get("contention") or {}
        for mine, theirs in (("psi", "psi_cpu_some"), ("load", "load_per_core"), ("steal", "steal")):
            known = [x for x in (bench.probes.get(mine), seen.get(theirs)) if x is not None]
            bench.probes[mine] = max(known) if known else None
    pooled: dict[tuple[str, str, str, str], Measurement] = {}
    for r in bench.rows:
        key = (r.operation, r.size, r.kind, r.backend)
        parts = [r.measurement]
        for c in by_key.get(key, ()):
            raw, lost = list(c["raw_s"]), list(c.get("lost_s") or [])
            parts.append(Measurement(r.backend, raw, c.get("loops") or r.measurement.loops, r.measurement.nbytes,
                                     [], c.get("load_per_core"), cpu_shares=_shares(c.get("raw_cpu_share"), len(raw)),
                                     lost=lost, lost_shares=_shares(c.get("lost_cpu_share"), len(lost))))
            runs = c.get("run_medians_s") or [statistics.median(raw)]
            medians[key] += runs
            if ses is not None:
                ses.setdefault(key, [])
                ses[key] += [median_se_log(raw, len(runs))] * len(runs)
        pooled[key] = _pooled(parts, r.measurement)
    _replace_rows(bench, pooled)


def _replace_rows(bench: Any, pooled: Mapping[tuple[str, str, str, str], Any]) -> None:
    """Put pooled measurements into ``bench``'s rows in place, speed-ups against each class's baseline
    (pooled too when it is among them). Rows not in ``pooled`` are left as they are."""
    from kit.engine import Row
    from kit.engine.measure import speedup

    current = {(r.operation, r.size, r.kind, r.backend): r.measurement for r in bench.rows}
    current.update(pooled)
    for i, r in enumerate(bench.rows):
        key = (r.operation, r.size, r.kind, r.backend)
        if key in pooled:
            base = current[(r.operation, r.size, r.kind, _registry.operation(r.operation).baseline)]
            bench.rows[i] = Row(*key, pooled[key], speedup(base, pooled[key]), r.baseline)


def _max_load(loads: Iterable[float | None]) -> float | None:
    known = [x for x in loads if x is not None]
    return max(known) if known else None


def score(preset: str = "quick", operations: Iterable[str] | None = None,
          progress: bool | Callable | None = None, reference: Any = None, *,
          sizes: Iterable[str] | None = None, retries: int = 2, claims: bool = True,
          slowdown: Mapping[str, float] | None = None, engine: Any = None, seed: int = 0,
          runs: int = 1, extend: Any = None) -> ScoreResult:
    """Measure this machine and score it: subscores, score with its CI, tier, hardware index, claims.

    Parameters
    ----------
    preset : {"quick", "full"}
        ``quick``: short samples on the small and medium payload classes; ``full``: longer samples on
        every class.
    operations : iterable of str, optional
        Registry operations to measure (default: all). Categories without an operation are absent
        from the score, not zero.
    progress : bool or callable, optional
        ``True`` shows a progress bar; a callable gets ``(done, total, label)``.
    reference : Record, dict, path, ``"auto"`` or None
        A reference record for the hardware index; ``"auto"`` looks for ``reference-*.json`` in the
        results folder (see :func:`kit.records.find_reference`); ``None`` computes no index.
    sizes : iterable of str, optional
        Size classes, overriding the preset's.
    retries : int
        How many times a noisy class may be re-measured.
    claims : bool
        Also run the claims check (:mod:`kit.scoring.claims`).
    slowdown : mapping of ``"operation:backend"`` to factor, optional
        Inject a real slowdown (see :func:`injected_slowdown`); the run then uses a throw-away engine
        so that this machine's wisdom is not touched, and the record says so.
    runs : int
        Independent runs to pool (see :func:`extra_runs`): the first in this process, the others each
        in a fresh interpreter, so that what varies from one process to the next (memory layout,
        hash seeds, the machine's state) is part of the record. Every measurement keeps the median
        of each run, which :func:`kit.records.validate` uses as run-to-run noise. A reference record
        should have several (``kit score --as-reference`` makes 5).
    extend : Record, dict or path, optional
        An earlier record of this machine, preset and library versions whose runs are pooled with
        these (``kit score --as-reference --extend``): a reference extended session after session
        learns how much the machine drifts between sessions, not only between processes.

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> import kit
    >>> res = kit.score(operations=["fingerprint"], sizes=["small"], claims=False)  # doctest: +SKIP
    >>> res.tier, round(res.score)  # doctest: +SKIP
    ('ENHANCED', 56)
    """
    from kit.engine import Engine, get_engine

    if preset not in PRESET_NAMES:
        raise KitError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    if not isinstance(retries, int) or retries < 0:
        raise KitError(f"retries must be a non-negative integer, got {retries!r}")
    if not isinstance(runs, int) or isinstance(runs, bool) or not 1 <= runs <= MAX_RUNS:
        raise KitError(f"runs must be an integer from 1 to {MAX_RUNS}, got {runs!r}")
    ops = list(operations) if operations is not None else _registry.operation_names()
    for name in ops:
        _registry.operation(name)  # ValueError listing the valid operations
    if not ops:
        raise KitError("no operation to score (expected at least one registry operation)")
    size_list = list(sizes) if sizes is not None else (None if preset == "full" else ["small", "medium"])
    earlier = _extendable(extend, preset) if extend is not None else None
    ref = None
    hardware_note = None
    if isinstance(reference, str) and reference == "auto":
        from kit.records import RecordError, as_record, find_reference, results_dir

        found = find_reference(preset=preset)
        if found is None:
            hardware_note = f"no reference record (reference-*.json) in {results_dir()}"
        else:
            try:
                ref = as_record(found)
            except RecordError as exc:  # a damaged reference found on its own must not stop the score
                hardware_note = f"reference not used: {exc}"
    elif reference is not None:
        from kit.records import as_record

        ref = as_record(reference)  # a reference the user named: bad input fails before minutes of measuring

    t0 = time.perf_counter()
    say = _say(progress)
    with contextlib.ExitStack() as stack:
        if slowdown:
            import tempfile

            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-slowdown-"))
            engine = Engine(tmp)
            stack.enter_context(injected_slowdown(slowdown))
        eng = engine if engine is not None else get_engine()
        bench = eng.tune(ops, preset=preset, sizes=size_list, progress=progress)
        claim_results = None
        if claims:
            from kit.scoring.claims import check_claims

            # Before re-measuring: a claim's two rows must come from the same interleaved measurement.
            claim_results = check_claims(bench, engine=eng, preset=preset, progress=say)
        state = _remeasure(eng, bench, retries, preset, say)
    from kit.stats import median_se_log
    from kit.engine.measure import clock_name

    medians = {(r.operation, r.size, r.kind, r.backend): [r.measurement.median] for r in bench.rows}
    ses = {(r.operation, r.size, r.kind, r.backend): [median_se_log(r.measurement.samples)] for r in bench.rows}
    if runs > 1:
        children = extra_runs(runs - 1, preset=preset, operations=ops, sizes=size_list, slowdown=slowdown,
                              progress=say)
        _pool_runs(bench, children, medians, ses)
    if earlier is not None:
        _pool_runs(bench, [earlier.data], medians, ses)

    noise_key = f"{preset}/{clock_name()}"
    noise = eng.wisdom.run_noise(noise_key)
    result = _finish(bench, state, retries, seed, medians, ses, noise, eng.wisdom.noise_runs(noise_key))
    if result.runs >= 2 and not slowdown:
        # This run's observation of the machine's run-to-run noise, for the intervals of later single runs.
        learned = learn_noise(result)
        if learned:
            eng.wisdom.store_run_noise(noise_key, learned, result.runs)
            eng.wisdom.save()
    result.claims = claim_results
    result.injected = dict(slowdown or {})
    result.hardware_note = hardware_note
    result.seconds = time.perf_counter() - t0
    if ref is not None:
        try:
            result.hardware = hardware_index(result.to_record(), ref, seed=seed)
        except KitError as exc:
            result.hardware_note = str(exc)
        result._record = None  # rebuild with the index in it
    return result


def summarise(bench: Any, seed: int = 0) -> ScoreResult:
    """Score an existing :class:`kit.engine.BenchResult` (e.g. from ``kit.bench``) without measuring again.

    No class is re-measured and no claim is checked; the result converts to a record like any other.

    Examples
    --------
    >>> import kit
    >>> from kit.scoring import summarise
    >>> summarise(kit.bench(["fingerprint"], sizes=["small"])).tier  # doctest: +SKIP
    'STANDARD'
    """
    from kit.stats import median_se_log
    from kit.engine import get_engine
    from kit.engine.measure import clock_name

    medians = {(r.operation, r.size, r.kind, r.backend): [r.measurement.median] for r in bench.rows}
    ses = {k: [median_se_log(r.measurement.samples)] for k, r in
           (((r.operation, r.size, r.kind, r.backend), r) for r in bench.rows)}
    wisdom = get_engine().wisdom
    key = f"{bench.preset}/{clock_name()}"
    return _finish(bench, {}, 0, seed, medians, ses, wisdom.run_noise(key), wisdom.noise_runs(key))


def _finish(bench: Any, state: Mapping[tuple[str, str, str], tuple[int, bool]], retries: int, seed: int,
            medians: dict[tuple[str, str, str, str], list[float]], ses: dict[tuple[str, str, str, str], list[float]],
            noise: Mapping[str, tuple[float, float]], noise_runs: int) -> "ScoreResult":
    """Score ``bench`` with intervals that cover run-to-run variation (several runs, or the machine's noise)."""
    for r in bench.rows:
        key = (r.operation, r.size, r.kind, r.backend)
        m = r.measurement
        m.run_noise = noise.get(f"measurement/{_category(r.operation)}")
        m.run_medians = list(medians[key]) if len(medians.get(key) or []) >= 2 else None
    result = _summarise(bench, state, retries, seed)
    result.runs = max(len(v) for v in medians.values()) if medians else 1
    result.run_medians = medians
    result.run_se = ses
    _apply_intervals(result, noise, noise_runs)
    return result


def _say(progress: bool | Callable | None) -> Callable[[str], None]:
    if callable(progress):
        return lambda label: progress(0, 0, label)
    if progress:
        return lambda label: print(f"kit score: {label}", file=sys.stderr)
    return lambda label: None


def _summarise(bench: Any, state: Mapping[tuple[str, str, str], tuple[int, bool]], retries: int,
               seed: int) -> ScoreResult:
    rows = {(r.operation, r.size, r.kind, r.backend): r for r in bench.rows}
    classes: list[ClassResult] = []
    ratios: list[Ratio] = []
    for key in _classes_of(bench):
        op_name, size, kind = key
        op = _registry.operation(op_name)
        chosen = bench.selected.get(op_name, {}).get(size)
        if chosen is None:
            continue
        base, sel = rows[(*key, op.baseline)], rows[(*key, chosen)]
        identity = chosen == op.baseline
        ratio = Ratio(op.category, base.measurement.samples, sel.measurement.samples, identity)
        ratios.append(ratio)
        attempts, noisy = state.get(key, (1, not identity and (_is_noisy(base.measurement)
                                                                or _is_noisy(sel.measurement))))
        sp = (1.0, 1.0, 1.0) if identity else sel.speedup
        classes.append(ClassResult(op_name, op.category, size, kind, op.baseline, chosen, sp, attempts, noisy))
    if not ratios:
        raise KitError("nothing was measured, so there is no score (check `kit info` for available backends)")
    value, ci, per = nested_geomean(ratios, seed=seed)
    subs = {cat: Subscore(cat, v, (lo, hi), sum(1 for c in classes if c.category == cat))
            for cat in _registry.CATEGORIES if cat in per for v, lo, hi in [per[cat]]}
    return ScoreResult(
        score=score_from_speedup(value),
        score_ci=(score_from_speedup(ci[0]), score_from_speedup(ci[1])),
        speedup=value, speedup_ci=ci, tier=tier_of(value), tier_note=tier_span(*ci),
        subscores=subs, classes=classes, availability=availability(), bench=bench, retries=retries,
    )


def stability(repeat: int = 5, **kwargs: Any) -> dict[str, Any]:
    """Run :func:`score` ``repeat`` times and report the coefficient of variation of the score.

    Keyword arguments go to :func:`score` (claims are off unless asked for).

    Returns
    -------
    dict
        ``scores``, ``speedups``, ``mean``, ``stdev``, ``cv`` (sample standard deviation over mean)
        and ``tiers``.

    Examples
    --------
    >>> stability(3, operations=["fingerprint"], sizes=["small"])["cv"] < 0.5  # doctest: +SKIP
    True
    """
    if not isinstance(repeat, int) or repeat < 2:
        raise KitError(f"stability needs at least 2 runs, got {repeat!r}")
    kwargs.setdefault("claims", False)
    results = [score(**kwargs) for _ in range(repeat)]
    scores = [r.score for r in results]
    mean = statistics.fmean(scores)
    sd = statistics.stdev(scores)
    return {"runs": repeat, "scores": scores, "speedups": [r.speedup for r in results],
            "tiers": [r.tier for r in results], "mean": mean, "stdev": sd, "cv": sd / mean if mean else math.nan,
            "noisy": [len(r.noisy) for r in results], "results": results}
