"""Intervals that cover run-to-run variation, for the score, its subscores and the hardware index.

A bootstrap over one run's samples says how well that run pinned its own figure down, not where the
next run will land: absolute figures move between processes and sessions by more than that. So each
figure's interval is built, in this order of preference, from (see :mod:`kit.stats`):

* ``runs``: several runs (``kit score --runs N``, a reference's ``run_medians_s``): the t interval of
  the runs' figures, moderated towards this machine's learned run-to-run noise where there is some;
* ``machine``: one run, with this machine's run-to-run component learned from its own repeated runs
  (stored in the wisdom file by every score of several runs) added to the sampling interval;
* ``sampling``: one run and nothing learned: the sampling interval, labelled "one run: sampling noise only".

A figure has one :class:`Side` per record it depends on (the score: this run; the hardware index: this
run and the reference); :func:`side_part` gives each side's run-to-run half-width and :func:`honest`
combines them with the sampling interval. Pure functions of the figures, no I/O.

Examples
--------
>>> side = Side(3, [0.0, 0.1, -0.1], {}, (0.0, {}), {}, "relative")
>>> side_part(side, None)[0]
'runs'
>>> lo, hi, basis = honest(2.0, (1.8, 2.2), [("runs", 0.05)])
>>> round(lo, 3), round(hi, 3), basis
(1.902, 2.103, 'runs')
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from kit.stats import median_se_log, runs_halfwidth, t_quantile

__all__ = ["Side", "honest", "mean_square", "nested", "nested_var", "noise_of", "record_side", "relative_side",
           "side_noise_used", "side_part", "side_words"]


def nested(per_class: Mapping[Any, tuple[str, Sequence[float]]]) -> tuple[int, list[float], dict[str, list[float]]]:
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


def nested_var(per_class: Mapping[Any, tuple[str, float]]) -> tuple[float, dict[str, float]]:
    """Variance of the nested mean from each class's variance: ``(overall, {category: variance})``."""
    cats: dict[str, list[float]] = {}
    for cat, v in per_class.values():
        cats.setdefault(cat, []).append(v)
    per_cat = {k: sum(vs) / len(vs) ** 2 for k, vs in cats.items()}
    overall = sum(per_cat.values()) / len(per_cat) ** 2 if per_cat else 0.0
    return overall, per_cat


@dataclass
class Side:
    """One record's part in a figure's run-to-run uncertainty (see :func:`side_part`)."""

    runs: int
    overall: list[float]
    per_cat: dict[str, list[float]]
    sampling: tuple[float, dict[str, float]]  # one run's sampling variance: overall, per category
    noise: Mapping[str, tuple[float, float]]  # learned components: name -> (sd, df)
    kind: str  # "relative" (speed-ups) or "absolute" (times, throughput)
    per_class: dict[Any, list[float]] = field(default_factory=dict)  # each class's log figure per run


def side_part(side: Side, cat: str | None, level: float = 0.95) -> tuple[str, float]:
    """``(basis, log half-width of the run-to-run part)`` of one side for the overall figure or a category."""
    name = f"{side.kind}/{cat or 'overall'}"
    noise = side.noise.get(name)
    if side.runs >= 2:
        values = side.overall if cat is None else side.per_cat.get(cat, [])
        if len(values) >= 2:
            samp = side.sampling[0] if cat is None else side.sampling[1].get(cat, 0.0)
            prior = None if noise is None else (noise[0] ** 2 + samp, noise[1])
            return "runs", runs_halfwidth(values, prior, level)
    if noise is not None and noise[1] > 0:
        return "machine", t_quantile(0.5 + level / 2.0, noise[1]) * noise[0]
    return "sampling", 0.0


def honest(point: float, ci: tuple[float, float], parts: Sequence[tuple[str, float]]) -> tuple[float, float, str]:
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


def mean_square(values: Sequence[float] | None) -> float:
    return statistics.fmean(x * x for x in values) if values else 0.0


def relative_side(result: Any, noise: Mapping[str, tuple[float, float]]) -> Side:
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
        var[key] = (c.category, mean_square(result.run_se.get((*key, c.baseline)))
                    + mean_square(result.run_se.get((*key, c.backend))))
    n, overall, per_cat = nested(per_class)
    return Side(n, overall, per_cat, nested_var(var), noise, "relative", {k: v for k, (_, v) in per_class.items()})


def record_side(measurements: Mapping[Any, Mapping[str, Any]], categories: Mapping[Any, str],
                noise: Mapping[str, tuple[float, float]] | None) -> Side:
    """A record's side of a hardware index: per-run log times of its selected backends."""
    per_class: dict[Any, tuple[str, list[float]]] = {}
    var: dict[Any, tuple[str, float]] = {}
    for key, m in measurements.items():
        runs = [x for x in m.get("run_medians_s") or [] if x > 0]
        per_class[key] = (categories[key], [math.log(x) for x in runs] if len(runs) >= 2 else [])
        var[key] = (categories[key], median_se_log(m.get("raw_s") or [], max(len(runs), 1)) ** 2)
    n, overall, per_cat = nested(per_class)
    return Side(n, overall, per_cat, nested_var(var), dict(noise or {}), "absolute",
                {k: v for k, (_, v) in per_class.items()})


def noise_of(data: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """The run-to-run components a record carries (``run_noise``), tolerant of their absence."""
    out = {}
    for k, v in (data.get("run_noise") or {}).items():
        if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
            out[k] = (float(v[0]), float(v[1]))
    return out


def side_words(side: Side, basis: str) -> str:
    return {"runs": f"{side.runs} runs", "machine": "one run + its machine's run-to-run noise"}.get(
        basis, "one run, sampling only")


def side_noise_used(side: Side) -> bool:
    return any(k.startswith(side.kind + "/") for k in side.noise)
