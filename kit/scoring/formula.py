"""The formula: measured speed-ups → subscores → a score from 0 to 100, a tier, a hardware index.

Pure functions of measurements (no measuring, no files): :mod:`kit.scoring.run` measures and
applies them. Everything is computed from one run's measurements (:meth:`kit.engine.Engine.tune`),
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
>>> from kit.scoring.formula import score_from_speedup, tier_of
>>> round(score_from_speedup(1.0), 1), round(score_from_speedup(50.0), 1)
(10.0, 90.0)
>>> tier_of(16.0)
'OPTIMIZED'
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from kit import registry as _registry
from kit.errors import KitError
from kit.scoring._intervals import Side, honest, nested, noise_of, record_side, side_part, side_words
from kit.stats import SAMPLING_ONLY, ratio_log_draws

__all__ = ["BELOW", "FORMULA", "RESAMPLES", "TIERS", "HardwareIndex", "Ratio", "category_of", "hardware_index_of",
           "nested_geomean", "score_from_speedup", "selected_pairs", "tier_of", "tier_span"]

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
            draws[i] = ratio_log_draws(r.slow, r.fast, rng, resamples)
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


# --- the hardware index ------------------------------------------------------------------------------


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


def selected_pairs(measurements: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], tuple[dict, dict]]:
    """Record measurements → ``{(op, size, kind): (baseline entry, selected entry)}``.

    Classes without both a baseline and a selected entry are left out.

    Examples
    --------
    >>> ms = [{"operation": "digest", "size": "small", "kind": "random", "backend": b, "baseline": b == "sha",
    ...        "selected": b == "b3"} for b in ("sha", "b3")]
    >>> {k: (b["backend"], s["backend"]) for k, (b, s) in selected_pairs(ms).items()}
    {('digest', 'small', 'random'): ('sha', 'b3')}
    """
    base: dict[tuple[str, str, str], dict] = {}
    sel: dict[tuple[str, str, str], dict] = {}
    for m in measurements:
        key = (m["operation"], m["size"], m["kind"])
        if m.get("baseline"):
            base[key] = m
        if m.get("selected"):
            sel[key] = m
    return {k: (base[k], sel[k]) for k in sel if k in base}


def category_of(op_name: str) -> str:
    """The category of a registry operation; ``"unknown"`` for one this kit does not have.

    Examples
    --------
    >>> category_of("json.encode"), category_of("from.another.kit")
    ('json', 'unknown')
    """
    try:
        return _registry.operation(op_name).category
    except ValueError:  # an operation this kit does not have (a record from another version)
        return "unknown"


def hardware_index_of(rec: Any, ref: Any, seed: int = 0) -> HardwareIndex:
    """Place a loaded record against a loaded reference: geometric mean of throughput ratios (SPEC-style).

    For every payload class measured in both, the ratio is the reference's median time of the backend
    it selected over this run's median time of the backend selected here (the same seeded payload,
    so the ratio of throughputs). Ratios are averaged geometrically per category, then across
    categories; the CI is bootstrapped over both records' raw samples.

    :func:`kit.scoring.hardware_index` takes records in any form (a path, a dict, a ScoreResult) and
    calls this.

    Parameters
    ----------
    rec, ref : kit.records.Record
        Loaded result records (anything with a record's ``data`` and ``name``); ``ref`` is the
        machine placed at 1.0.

    Examples
    --------
    >>> from kit.records import load_record  # doctest: +SKIP
    >>> hardware_index_of(load_record("new.json"), load_record("reference.json")).value  # doctest: +SKIP
    1.42
    """
    here = selected_pairs(rec.data.get("measurements") or [])
    there = selected_pairs(ref.data.get("measurements") or [])
    ratios = []
    for key in sorted(set(here) & set(there)):
        mine, theirs = here[key][1], there[key][1]
        cat = mine.get("category") or category_of(key[0])
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
    cats = {k: here[k][1].get("category") or category_of(k[0]) for k in keys}
    mine = record_side({k: here[k][1] for k in keys}, cats, noise_of(rec.data))
    theirs = record_side({k: there[k][1] for k in keys}, cats, noise_of(ref.data))
    if mine.runs >= 2 or theirs.runs >= 2:
        # A side of several runs enters at the centre of its runs (the geometric mean of their medians),
        # where its interval is centred; the sampling interval moves with the point.
        def centre(side: Side, m: Mapping[str, Any], k: Any) -> float:
            runs = side.per_class.get(k) or []
            own = statistics.fmean(runs) if side.runs >= 2 and runs else math.log(statistics.median(m["raw_s"]))
            return own - (math.log(m["nbytes"]) if per_byte(k) else 0.0)

        def per_byte(k: Any) -> bool:
            a, b = here[k][1].get("nbytes"), there[k][1].get("nbytes")
            return bool(a and b and a != b)

        logs = {k: (cats[k], [centre(theirs, there[k][1], k) - centre(mine, here[k][1], k)]) for k in keys}
        _, overall, by_cat = nested(logs)
        new = math.exp(overall[0])
        ci = (ci[0] * new / value, ci[1] * new / value)
        per = {cat: (math.exp(by_cat[cat][0]), lo_ * math.exp(by_cat[cat][0]) / v, hi_ * math.exp(by_cat[cat][0]) / v)
               for cat, (v, lo_, hi_) in per.items()}
        value = new
    parts = [side_part(mine, None), side_part(theirs, None)]
    lo, hi, basis = honest(value, ci, parts)
    per = {cat: (v, *honest(v, (clo, chi), [side_part(mine, cat), side_part(theirs, cat)])[:2])
           for cat, (v, clo, chi) in per.items()}
    label = SAMPLING_ONLY if all(b == "sampling" for b, _ in parts) else (
        f"here: {side_words(mine, parts[0][0])}; reference: {side_words(theirs, parts[1][0])}")
    return HardwareIndex(value, (lo, hi), per, ref.name, (ref.data.get("machine") or {}).get("cpu", ""), len(ratios), missing,
                         basis, label)
