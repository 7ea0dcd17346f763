"""Student's t distribution, the run-to-run test and the Mann–Whitney U test that validation uses,
and kit's bootstraps: the interval of a median and of a ratio of medians (:func:`bootstrap_ci`,
:func:`ratio_ci`, :func:`geomean_ratio_ci`), which measurement, selection and the score share.

No scipy: kit's dependencies do not include it, and the t distribution needs only the regularized
incomplete beta function (continued fraction, as in Numerical Recipes §6.4). numpy, for the
bootstraps, is imported on first use.

Examples
--------
>>> round(t_quantile(0.975, 10), 3)
2.228
>>> round(t_sf(2.228, 10), 4)
0.025
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b).

    Examples
    --------
    >>> round(betainc(2.0, 3.0, 0.4), 6)
    0.5248
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x!r}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom.

    Examples
    --------
    >>> t_sf(0.0, 5)
    0.5
    """
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df!r}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_sf`).

    Examples
    --------
    >>> round(t_quantile(0.999, 8), 3)
    4.501
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1.0 - p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_sf(mid, df) > 1.0 - p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * hi:
            break
    return (lo + hi) / 2.0


@dataclass
class RunTest:
    """Run-to-run comparison of one measurement: the unit is a run, not a call.

    ``shift`` is the difference of the mean log run medians (here minus reference); ``p`` the
    two-sided p-value of the moderated t statistic; ``detectable`` the smallest relative change of
    the median that would reach ``alpha`` with this noise (``exp(t_crit * se) - 1``).
    """

    shift: float
    se: float
    df: float
    p: float
    detectable: float


def _median_spread(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
    """Pooled robust variance of values around their own group's median, and its degrees of freedom.

    ``(1.4826 * MAD)²`` over the deviations of every group with two values or more: one disturbed
    run among five moves it little, where it would inflate a standard deviation several-fold.
    """
    devs: list[float] = []
    df = 0
    for g in groups:
        if len(g) > 1:
            m = statistics.median(g)
            d = sorted(abs(x - m) for x in g)
            devs += d[1:] if len(g) % 2 else d  # an odd group's median deviates by 0 from itself
            df += len(g) - 1
    if not devs:
        return 0.0, 0
    return (1.4826 * statistics.median(devs)) ** 2, df


def digamma(x: float) -> float:
    """The digamma function ψ(x) for x > 0 (recurrence up to 10, then the asymptotic series).

    Examples
    --------
    >>> round(digamma(1.0), 6)  # -γ
    -0.577216
    """
    if not x > 0:
        raise ValueError(f"digamma needs x > 0, got {x!r}")
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))


def trigamma(x: float) -> float:
    """The trigamma function ψ'(x) for x > 0 (recurrence up to 10, then the asymptotic series).

    Examples
    --------
    >>> round(trigamma(1.0), 6)  # π²/6
    1.644934
    """
    if not x > 0:
        raise ValueError(f"trigamma needs x > 0, got {x!r}")
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return acc + 1.0 / x + f / 2 + f / x * (1 / 6 - f * (1 / 30 - f * (1 / 42 - f / 30)))


def trigamma_inverse(y: float) -> float:
    """The x > 0 with ``trigamma(x) == y`` (bisection on log x; trigamma falls from ∞ to 0).

    Examples
    --------
    >>> round(trigamma_inverse(trigamma(2.5)), 9)
    2.5
    """
    if not y > 0:
        raise ValueError(f"trigamma_inverse needs y > 0, got {y!r}")
    lo, hi = -20.0, 20.0
    for _ in range(64):  # 40 / 2**64: far below a double's resolution of log x
        mid = (lo + hi) / 2
        if trigamma(math.exp(mid)) > y:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


_SPREAD_DRAWS = 4000


def _spread_moments(sizes: tuple[int, ...]) -> tuple[float, float]:
    """Mean and variance of ``log`` of :func:`_median_spread` for groups of ``sizes`` standard normal values.

    A seeded simulation (the robust spread has no tidy distribution): it places a measurement's log
    spread against what its group sizes make it, as ``digamma`` and ``trigamma`` do for a sample variance.
    """
    hit = _MOMENTS.get(sizes)
    if hit is None:
        import random

        rng = random.Random(0x5EED)
        logs = []
        for _ in range(_SPREAD_DRAWS):
            v, _ = _median_spread([[rng.gauss(0.0, 1.0) for _ in range(n)] for n in sizes])
            if v > 0:
                logs.append(math.log(v))
        hit = _MOMENTS[sizes] = (statistics.fmean(logs), statistics.variance(logs))
    return hit


_MOMENTS: dict[tuple[int, ...], tuple[float, float]] = {}


def moderation_prior(spreads: Sequence[tuple[float, tuple[int, ...]]]) -> tuple[float, float] | None:
    """The prior of the measurements' variances, ``(s0², d0)``, estimated from them (empirical Bayes).

    As limma's ``fitFDist`` (Smyth 2004, by moments), for robust spreads: each ``(v_k, sizes_k)`` is a
    measurement's :func:`_median_spread` and the sizes of the groups it came from. With ``m`` and
    ``w`` that spread's mean and variance of ``log`` for unit variance (:func:`_spread_moments`),
    ``e_k = log v_k - m_k`` has mean ``log σ_k²`` and variance ``w_k`` plus the variance of
    ``log σ_k²`` among measurements, which a scaled inverse χ² prior with ``d0`` degrees of
    freedom makes ``trigamma(d0/2)``; so ``trigamma(d0/2) = var(e) - mean(w)``, and ``log s0² =
    mean(e) + digamma(d0/2) - log(d0/2)``. Measurements whose noise differs much get a small
    ``d0`` (each keeps its own), alike ones a large one (they pool). ``None`` with fewer than three
    positive spreads; ``d0`` is capped at 1000 (all alike).

    Examples
    --------
    >>> s0sq, d0 = moderation_prior([(0.01, (5,)), (0.012, (5,)), (0.009, (5,)), (0.011, (5,))])
    >>> round(s0sq ** 0.5, 2), d0
    (0.1, 1000.0)
    """
    pos = [(v, sizes) for v, sizes in spreads if v > 0 and sum(n - 1 for n in sizes if n > 1) > 0]
    if len(pos) < 3:
        return None
    e, w = [], []
    for v, sizes in pos:
        m, var = _spread_moments(tuple(sizes))
        e.append(math.log(v) - m)
        w.append(var)
    emean = statistics.fmean(e)
    extra = statistics.variance(e) - statistics.fmean(w)
    if extra <= 1.0 / 2000:  # trigamma(1000/2) ~ 1/500: as good as alike
        return math.exp(emean), 1000.0
    d0 = min(2.0 * trigamma_inverse(extra), 1000.0)
    return math.exp(emean + digamma(d0 / 2) - math.log(d0 / 2)), d0


def effective_df(sizes: tuple[int, ...]) -> float:
    """The degrees of freedom of a sample variance as steady as the robust spread of groups of ``sizes``.

    Examples
    --------
    >>> effective_df((5,)) < 4  # the MAD of five values is less steady than their variance
    True
    """
    sizes = tuple(sizes)
    hit = _EFFECTIVE_DF.get(sizes)
    if hit is None:
        hit = _EFFECTIVE_DF[sizes] = 2.0 * trigamma_inverse(_spread_moments(sizes)[1])
    return hit


_EFFECTIVE_DF: dict[tuple[int, ...], float] = {}


def _median_factor(n: int) -> float:
    """Variance of a median over that of a mean for ``n`` normal values (π/2 in the limit)."""
    return 1.0 if n <= 2 else math.pi / 2


def _median_shift_test(a: Sequence[float], b: Sequence[float], var: float, df: float, alpha: float,
                       var_b: float | None = None) -> RunTest:
    """t test of the shift between the medians of two series of logs whose per-value variance is ``var``
    (``var_b`` for the second series where it differs)."""
    vb = var if var_b is None else var_b
    se = math.sqrt(var * _median_factor(len(a)) / len(a) + vb * _median_factor(len(b)) / len(b))
    shift = statistics.median(b) - statistics.median(a)
    crit = t_quantile(1.0 - alpha / 2.0, df)
    if se > 0:
        p = min(1.0, 2.0 * t_sf(abs(shift) / se, df))
    else:
        p = 0.0 if shift else 1.0
    return RunTest(shift, se, df, p, math.expm1(crit * se))


class _moderator:
    """Each measurement's moderated variance and degrees of freedom, ``(s̃², d0 + ν_k)``.

    ``spreads``: ``{key: (v_k, nominal df, group sizes)}``. The prior comes from
    :func:`moderation_prior` and each spread weighs its :func:`effective_df`; with fewer than three
    spreads to fit it, the prior is the median spread with the median nominal df as its weight.
    A key without a spread of its own gets the prior alone.
    """

    def __init__(self, spreads: Mapping[str, tuple[float, int, tuple[int, ...]]]) -> None:
        self.spreads = spreads
        fit = moderation_prior([(v, sizes) for v, _, sizes in spreads.values()])
        self.fitted = fit is not None
        if fit is None:
            self.s0sq = statistics.median(v for v, _, _ in spreads.values())
            self.d0 = float(statistics.median(d for _, d, _ in spreads.values()))
        else:
            self.s0sq, self.d0 = fit

    def __call__(self, key: str) -> tuple[float, float]:
        v, dfk, sizes = self.spreads.get(key, (0.0, 0, ()))
        nu = (effective_df(sizes) if self.fitted else float(dfk)) if dfk > 0 else 0.0
        df = self.d0 + nu
        return (self.d0 * self.s0sq + nu * v) / df, df


def moderated_run_tests(reference: Mapping[str, Sequence[float]], here: Mapping[str, Sequence[float]],
                        alpha: float) -> tuple[dict[str, RunTest], float | None]:
    """Robust moderated t tests (after Smyth's limma, 2004) on the log run medians of each common key.

    For every measurement ``k``: the shift is the median of this record's log run medians minus the
    reference's; its spread ``s_k²`` is the pooled robust variance of the runs around their record's
    median (``(1.4826 MAD)²``, ``d_k`` degrees of freedom), so that one disturbed run does not hide a
    real change. ``s_k²`` is shrunk towards the measurements' prior ``s0²`` with the prior weight
    ``d0``, both estimated from all the spreads (:func:`moderation_prior`; with fewer than three, the
    median spread and the median ``d_k``), and ``s_k²`` weighs the degrees of freedom ``ν_k`` its
    robust spread is worth (:func:`effective_df`): ``s̃_k² = (d0 s0² + ν_k s_k²) / (d0 + ν_k)``, and the
    shift is tested against ``s̃_k · sqrt(c_R / R + c_N / N)`` (``c`` = π/2 for the median of more
    than two runs, else 1) with ``d0 + ν_k`` degrees of freedom. With a handful of runs, ``s_k`` alone is too unsteady (a
    lucky quiet set of runs would make any wobble significant); borrowing strength from the other
    measurements fixes that, while a measurement that really is noisier keeps a wider bound.

    Returns the tests and ``s0`` (``None``, and no tests, when no key has two runs in one record).

    Examples
    --------
    >>> ref = {"a": [1.00, 1.01, 0.99], "b": [2.0, 2.02, 1.98]}
    >>> tests, s0 = moderated_run_tests(ref, {"a": [1.0], "b": [2.6]}, alpha=0.002)
    >>> tests["a"].p > 0.5, tests["b"].p < 0.002
    (True, True)
    """
    logs_ref = {k: [math.log(x) for x in v] for k, v in reference.items() if v}
    logs_new = {k: [math.log(x) for x in v] for k, v in here.items() if v}
    keys = sorted(set(logs_ref) & set(logs_new))
    var: dict[str, tuple[float, int]] = {}
    sizes: dict[str, tuple[int, ...]] = {}
    for k in keys:
        v, dfk = _median_spread([logs_ref[k], logs_new[k]])
        if dfk > 0:
            var[k] = (v, dfk)
            sizes[k] = (len(logs_ref[k]), len(logs_new[k]))
    if not var:
        return {}, None
    moderate = _moderator({k: (v, dfk, sizes[k]) for k, (v, dfk) in var.items()})
    out = {}
    for k in keys:
        s2, df = moderate(k)
        out[k] = _median_shift_test(logs_ref[k], logs_new[k], s2, df, alpha)
    return out, math.sqrt(moderate.s0sq)


def _sitting_values(groups: Sequence[Sequence[float]]) -> list[tuple[float, int]]:
    """Each sitting's mean log and its number of runs (sittings without runs dropped)."""
    return [(statistics.fmean(g), len(g)) for g in groups if g]


def _harmonic_runs(sittings: Sequence[tuple[float, int]]) -> float:
    return len(sittings) / sum(1.0 / n for _, n in sittings)


def sitting_tests(reference: Mapping[str, Sequence[Sequence[float]]], here: Mapping[str, Sequence[Sequence[float]]],
                  alpha: float) -> tuple[dict[str, RunTest], float | None]:
    """Moderated t tests whose unit is the sitting: runs grouped by when they were made.

    On a shared machine a measurement can drift by tens of percent and stay there for minutes, so
    runs made minutes apart agree with each other better than sittings do (on the 2-core VM this
    project is developed on: ``json.encode medium orjson`` 30% off for minutes, one minute after a
    reference whose five runs agreed within 3%). Each key's values are log run medians grouped by
    sitting (``[[runs of sitting 1], [runs of sitting 2], ...]``, positive figures such as run medians,
    tested on their logs). With ``y = mu + d_sitting + e_run``:

    * a sitting's value is the mean of its logs, with variance ``tau² + sigma²/n`` for ``n`` runs;
    * ``b_k``, the robust spread of the sitting values around their record's median (as
      :func:`moderated_run_tests` does with runs), estimates ``tau² + sigma²/n̄``, and is shrunk towards
      the prior of all keys as there (:func:`moderation_prior`);
    * ``sigma²``, the spread of runs within their sitting, corrects a sitting of more or fewer runs
      than those ``b`` was measured on: ``var(z) = b̃ + sigma²(1/n - 1/n̄)``, never below ``sigma²/n``;
    * the shift of the median sitting value is tested with ``d0 + ν_k`` degrees of freedom.

    A key whose records hold one sitting each borrows ``b0``. Returns the tests and ``sqrt(b0)``;
    ``({}, None)`` when no key has two sittings in one record: the drift between sittings is unknown.

    Examples
    --------
    >>> ref = {"a": [[1.0], [1.05], [0.96], [1.02], [0.99]], "b": [[2.0], [2.06], [1.96], [2.02], [1.98]]}
    >>> tests, s0 = sitting_tests(ref, {"a": [[1.01, 1.0, 1.02]], "b": [[2.6, 2.59, 2.62]]}, alpha=0.01)
    >>> tests["a"].p > 0.5, tests["b"].p < 0.01, round(s0, 3)
    (True, True, 0.036)
    >>> sitting_tests({"a": [[1.0, 1.01, 0.99]]}, {"a": [[1.3]]}, alpha=0.01)
    ({}, None)
    """
    reference = {k: [[math.log(x) for x in g] for g in v] for k, v in reference.items()}
    here = {k: [[math.log(x) for x in g] for g in v] for k, v in here.items()}
    keys = sorted(set(reference) & set(here))
    sit = {k: (_sitting_values(reference[k]), _sitting_values(here[k])) for k in keys}
    sit = {k: v for k, v in sit.items() if v[0] and v[1]}
    between: dict[str, tuple[float, int, float]] = {}
    within: dict[str, tuple[float, int]] = {}
    sizes: dict[str, tuple[int, ...]] = {}
    for k, (a, b) in sit.items():
        groups = [[z for z, _ in a], [z for z, _ in b]]
        v, dfk = _median_spread(groups)
        if dfk > 0:
            used = (a if len(a) > 1 else []) + (b if len(b) > 1 else [])
            between[k] = (v, dfk, _harmonic_runs(used))
            sizes[k] = (len(a), len(b))
        w, dw = _median_spread([g for g in [*reference[k], *here[k]] if len(g) > 1])
        within[k] = (w, dw)
    if not between:
        return {}, None
    moderate = _moderator({k: (v, dfk, sizes[k]) for k, (v, dfk, _) in between.items()})
    n0 = statistics.median(n for _, _, n in between.values())
    out = {}
    for k, (a, b) in sit.items():
        nbar = between[k][2] if k in between else n0
        s2, df = moderate(k)
        w = within[k][0]

        def var(n: int) -> float:
            return max(s2 + w * (1.0 / n - 1.0 / nbar), w / n)

        out[k] = _median_shift_test([z for z, _ in a], [z for z, _ in b], statistics.fmean(var(n) for _, n in a), df,
                                    alpha, var_b=statistics.fmean(var(n) for _, n in b))
    return out, math.sqrt(moderate.s0sq)


def run_shift_test(reference: Sequence[float], here: Sequence[float], alpha: float) -> RunTest | None:
    """t test of one series of per-run figures against another, on logs (the unit is a run).

    For a figure made of many measurements at once, such as the machine's overall speed in each run
    (the geometric mean of its run medians): the measurements of one run move together, so their
    own tests cannot be pooled, and the runs themselves are the sample. The spread is the pooled
    robust variance of each series around its median (as in :func:`moderated_run_tests`, without
    the shrinkage: there is one series, not many to borrow from). ``None`` when neither series has
    two runs, so that the run-to-run noise is unknown.

    Examples
    --------
    >>> t = run_shift_test([1.00, 1.02, 0.98, 1.01, 0.99], [1.30], alpha=0.01)
    >>> t.p < 0.01, round(t.shift, 3)
    (True, 0.262)
    >>> run_shift_test([1.0], [1.3], alpha=0.01) is None
    True
    """
    a = [math.log(x) for x in reference]
    b = [math.log(x) for x in here]
    if not a or not b:
        return None
    var, df = _median_spread([a, b])
    if df == 0:
        return None
    return _median_shift_test(a, b, var, df, alpha)


# --- intervals that cover run-to-run variation ------------------------------------------------------
#
# A run's figure (a median time, a speed-up, a score, a hardware index) moves from one run to the next
# by more than the spread of its own samples: memory layout, hash seeds, the core the process lands on
# and the neighbours of a shared machine change between processes. Write a run's log figure as
# y = mu + d + e: mu the median of all runs' figures, d the run's own shift (variance sr², the
# run-to-run component) and e its sampling error (variance ss², which its bootstrap sees). A 95%
# interval for mu then needs sr² as well as ss²:
#
# * several runs: their spread holds both, and the t interval of their mean covers mu
#   (:func:`runs_halfwidth`, moderated by this machine's learned spread where there is one);
# * one run and a learned sr (:func:`excess_variance`, pooled over past runs by :func:`pool_noise`):
#   the sampling half-width and t·sr combine in quadrature (:func:`widen`);
# * one run and nothing learned: the sampling interval alone, labelled so.


def lower_quartile(samples: Sequence[float]) -> float:
    """The 25th percentile, interpolated linearly between order statistics (numpy's default).

    Each run's figure in the software question's run-to-run tests (:func:`kit.records.compare.validate`):
    time lost to other work only ever adds, so a low quantile of a run's samples moves less between
    runs and sittings than their median (docs/measurement.md), and unlike the minimum, no single
    lucky sample sets it.

    Examples
    --------
    >>> lower_quartile([4.0, 1.0, 3.0, 2.0, 5.0])
    2.0
    >>> lower_quartile([1.0, 2.0])
    1.25
    >>> lower_quartile([7.0])
    7.0
    """
    xs = sorted(samples)
    if not xs:
        raise ValueError("lower_quartile of no samples")
    pos = 0.25 * (len(xs) - 1)
    i = int(pos)
    return xs[i] if i + 1 >= len(xs) else xs[i] + (xs[i + 1] - xs[i]) * (pos - i)


def median_se_log(samples: Sequence[float], runs: int = 1) -> float:
    """Standard error of the log median of one run, from ``samples`` pooled over ``runs`` runs.

    ``sqrt(π/2) · s / sqrt(n)`` with ``s`` the robust spread (1.4826 MAD) of the log samples and
    ``n`` the samples per run: the large-sample variance of a median.

    Examples
    --------
    >>> median_se_log([1.0, 1.0, 1.0])
    0.0
    >>> 0.0 < median_se_log([0.9, 1.0, 1.1, 1.05, 0.95]) < 0.1
    True
    """
    logs = [math.log(x) for x in samples if x > 0]
    if len(logs) < 2:
        return 0.0
    m = statistics.median(logs)
    spread = 1.4826 * statistics.median(abs(x - m) for x in logs)
    per_run = max(len(logs) / max(runs, 1), 1.0)
    return math.sqrt(math.pi / 2) * spread / math.sqrt(per_run)


def runs_halfwidth(logs: Sequence[float], prior: tuple[float, float] | None = None, level: float = 0.95) -> float:
    """Half-width, in log units, of the interval of the mean of several runs' log figures.

    Parameters
    ----------
    logs : sequence of float
        Each run's log figure (two or more, or one with a ``prior``).
    prior : (variance, df), optional
        This machine's typical variance of one run's log figure and its degrees of freedom; the
        runs' own variance is shrunk towards it (``(d0 p + (n-1) s²) / (d0 + n - 1)``, as in
        :func:`moderated_run_tests`), so that two or three runs do not give a lucky narrow interval
        nor a uselessly wide one.
    level : float
        Coverage (0.95).

    Returns
    -------
    float
        ``t · s / sqrt(n)``; 0 when there is nothing to estimate the spread from.

    Examples
    --------
    >>> round(runs_halfwidth([0.0, 0.1]), 3)  # two runs, t with 1 df: 12.706 * 0.0707 / 1.414
    0.635
    >>> runs_halfwidth([0.0, 0.1], prior=(0.005, 30)) < 0.2
    True
    """
    n = len(logs)
    if n >= 2:
        s2, df = statistics.variance(logs), float(n - 1)
    else:
        s2, df = 0.0, 0.0
    if prior is not None and prior[1] > 0:
        p, d0 = prior
        s2, df = (d0 * p + df * s2) / (d0 + df), d0 + df
    if df <= 0 or n == 0:
        return 0.0
    return t_quantile(0.5 + level / 2.0, df) * math.sqrt(s2 / n)


def widen(point: float, ci: tuple[float, float], noise: tuple[float, float] | None,
          level: float = 0.95) -> tuple[float, float]:
    """One run's interval with a run-to-run component ``(sd, df)`` of the log figure added.

    Each side's log half-width ``h`` of the sampling interval becomes ``sqrt(h² + (t_df · sd)²)``:
    two independent errors, the run's sampling and the run's own shift.

    Examples
    --------
    >>> lo, hi = widen(1.0, (0.99, 1.01), (0.03, 10))
    >>> round(lo, 3), round(hi, 3)
    (0.935, 1.07)
    >>> widen(1.0, (0.99, 1.01), None)
    (0.99, 1.01)
    """
    if noise is None or point <= 0:
        return ci
    sd, df = noise
    if sd <= 0 or df <= 0:
        return ci
    r = t_quantile(0.5 + level / 2.0, df) * sd
    lo, hi = ci
    h_lo = math.log(point / lo) if lo > 0 else 0.0
    h_hi = math.log(hi / point) if hi > 0 else 0.0
    return point * math.exp(-math.hypot(max(h_lo, 0.0), r)), point * math.exp(math.hypot(max(h_hi, 0.0), r))


def excess_variance(logs: Sequence[float], sampling_vars: Sequence[float]) -> tuple[float, int] | None:
    """The run-to-run variance of a log figure beyond its sampling variance, and its df.

    ``max(0, var(logs) - mean(sampling_vars))`` with ``n - 1`` degrees of freedom; ``None`` for
    fewer than two runs.

    Examples
    --------
    >>> excess_variance([0.0, 0.2], [0.001, 0.001])
    (0.019, 1)
    >>> excess_variance([0.0], [0.001]) is None
    True
    """
    if len(logs) < 2:
        return None
    v = statistics.variance(logs) - (statistics.fmean(sampling_vars) if sampling_vars else 0.0)
    return round(max(0.0, v), 12), len(logs) - 1


def pool_noise(observations: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Pool ``(variance, df)`` observations of one run-to-run component into ``(sd, df)``.

    The degrees-of-freedom weighted mean of the variances (a pooled variance), with the summed df.

    Examples
    --------
    >>> pool_noise([(0.0004, 4), (0.0001, 4)])
    (0.015811388300841896, 8)
    >>> pool_noise([]) is None
    True
    """
    obs = [(v, d) for v, d in observations if d > 0 and v >= 0]
    if not obs:
        return None
    df = sum(d for _, d in obs)
    return math.sqrt(sum(v * d for v, d in obs) / df), df


# --- the bootstrap: the interval of a median, and of a ratio of medians -------------------------------
#
# numpy, imported on first use, and seeded: the same samples and seed give the same interval. These
# are the only bootstraps kit computes; the measurements, the engine's choice, the score and the
# kernels' numpy reference call them. The engine's measurements must not depend on the dispatch
# layer they serve, so nothing here goes through a registry backend.
#
# The median's resamples are drawn from a counter-based SplitMix64 stream (Steele, Lea and Flood,
# 2014): word ``w`` of the stream started from ``key`` is ``mix(key + (w + 1) * GAMMA)``, computable
# independently by any thread, so kit.kernels.bootstrap's compiled and GPU backends draw the same
# indices as this reference, bit for bit. Draw ``d`` (resample ``r``, position ``k``: ``d = r * n + k``)
# takes 32 bits, the low half of word ``d // 2`` when ``d`` is even, the high half when odd, and maps
# them to an index in ``[0, n)`` as ``(u32 * n) >> 32`` (Lemire's multiply-shift; its bias, below
# ``n / 2**32``, is negligible for sample counts).

SPLITMIX_MASK64 = (1 << 64) - 1
SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
SPLITMIX_MIX1 = 0xBF58476D1CE4E5B9
SPLITMIX_MIX2 = 0x94D049BB133111EB
#: Added to the user's seed before mixing, so that seeds 0, 1, 2... start far apart.
SPLITMIX_SEED_OFFSET = 0x243F6A8885A308D3
# Draws generated per step: bounds the memory of the index matrix (8 bytes per draw).
_DRAWS_PER_STEP = 1 << 21


def splitmix_mix(z: int) -> int:
    """SplitMix64's output function on a Python int.

    Examples
    --------
    >>> hex(splitmix_mix(SPLITMIX_GAMMA))  # the first output of SplitMix64 seeded with 0
    '0xe220a8397b1dcdaf'
    """
    z &= SPLITMIX_MASK64
    z = ((z ^ (z >> 30)) * SPLITMIX_MIX1) & SPLITMIX_MASK64
    z = ((z ^ (z >> 27)) * SPLITMIX_MIX2) & SPLITMIX_MASK64
    return z ^ (z >> 31)


def splitmix_key(seed: int) -> int:
    """The bootstrap stream's starting state for a seed in ``[0, 2**64)``.

    Examples
    --------
    >>> splitmix_key(0) != splitmix_key(1)
    True
    """
    return splitmix_mix(seed + SPLITMIX_SEED_OFFSET)


def resample_indices(key: int, d0: int, count: int, n: int, xp: Any = None) -> Any:
    """Indices in ``[0, n)`` of the stream's draws ``d0 .. d0 + count - 1`` (int64 array).

    ``xp`` is the array module (numpy by default; cupy runs the same code on a GPU).

    Examples
    --------
    >>> resample_indices(splitmix_key(0), 0, 5, 10).tolist() == resample_indices(splitmix_key(0), 0, 5, 10).tolist()
    True
    >>> bool((resample_indices(splitmix_key(0), 0, 1000, 7) < 7).all())
    True
    """
    import sys

    import numpy as np

    xp = np if xp is None else xp
    u64 = np.uint64
    w0 = d0 >> 1
    nwords = ((d0 + count - 1) >> 1) - w0 + 1
    z = xp.arange(w0 + 1, w0 + 1 + nwords, dtype=xp.uint64)
    z *= u64(SPLITMIX_GAMMA)
    z += u64(key)
    z ^= z >> u64(30)
    z *= u64(SPLITMIX_MIX1)
    z ^= z >> u64(27)
    z *= u64(SPLITMIX_MIX2)
    z ^= z >> u64(31)
    if sys.byteorder == "little":
        halves = z.view(xp.uint32)
    else:
        halves = xp.stack([z & u64(0xFFFFFFFF), z >> u64(32)], axis=1).ravel()
    u = halves[d0 & 1:(d0 & 1) + count].astype(xp.uint64)
    u *= u64(n)
    u >>= u64(32)
    return u.astype(xp.int64)


def resampled_statistics(sorted_samples: Any, resamples: int, key: int, statistic: str = "median",
                         xp: Any = None) -> Any:
    """The median (or mean) of each of ``resamples`` resamples of *sorted* samples (float64 array).

    Resample ``r`` takes the stream's draws ``r * n .. r * n + n - 1`` (:func:`resample_indices`).
    This is the numpy reference of ``kit.kernels.bootstrap``: every backend of the kernel gives
    these medians bit for bit (means up to summation order).

    Examples
    --------
    >>> import numpy as np
    >>> s = resampled_statistics(np.array([1.0, 2.0, 3.0]), 4, splitmix_key(0))
    >>> s.shape, bool(((s >= 1.0) & (s <= 3.0)).all())
    ((4,), True)
    """
    import numpy as np

    xp = np if xp is None else xp
    n = sorted_samples.size
    out = xp.empty(resamples, dtype=xp.float64)
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    step = max(1, _DRAWS_PER_STEP // n)
    for r0 in range(0, resamples, step):
        r1 = min(resamples, r0 + step)
        idx = resample_indices(key, r0 * n, (r1 - r0) * n, n, xp).reshape(r1 - r0, n)
        if statistic == "mean":
            out[r0:r1] = sorted_samples[idx].mean(axis=1)
            continue
        # The samples are sorted, so the k-th smallest drawn value is the sample at the k-th smallest index.
        if xp is np:
            idx = np.partition(idx, (lo_rank, hi_rank), axis=1)
        else:
            idx = xp.sort(idx, axis=1)
        lo = sorted_samples[idx[:, lo_rank]]
        out[r0:r1] = lo if lo_rank == hi_rank else (lo + sorted_samples[idx[:, hi_rank]]) * 0.5
    return out


def bootstrap_ci(samples: Sequence[float], statistic: str = "median", resamples: int = 2000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (or mean) of ``samples``.

    The interval ``kit.kernels.bootstrap(samples, ..., backend="numpy")`` gives, computed here
    (:func:`resampled_statistics`); one sample gives ``(x, x)``, none ``(0.0, 0.0)``.

    Examples
    --------
    >>> lo, hi = bootstrap_ci([1.0, 1.1, 0.9, 1.05, 0.95])
    >>> lo <= 1.0 <= hi
    True
    """
    if len(samples) < 2:
        v = float(samples[0]) if len(samples) else 0.0
        return (v, v)
    import numpy as np

    stats = resampled_statistics(np.sort(np.asarray(samples, dtype=np.float64)), resamples, splitmix_key(seed),
                                 statistic)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(stats, [tail, 100.0 - tail])
    return float(lo), float(hi)


def ratio_log_draws(slow: Sequence[float], fast: Sequence[float], rng: Any, resamples: int = 2000) -> Any:
    """``resamples`` bootstrap draws of ``ln(median(slow*) / median(fast*))`` (numpy array).

    Both sides are resampled with replacement, independently, as they were measured; ``rng`` is a
    ``numpy.random.Generator``, which several ratios drawn jointly share.

    Examples
    --------
    >>> import numpy as np
    >>> d = ratio_log_draws([2.0, 2.1, 1.9], [1.0, 1.05, 0.95], np.random.default_rng(0), 100)
    >>> d.shape, bool(abs(np.median(d) - np.log(2)) < 0.1)
    ((100,), True)
    """
    import numpy as np

    a = np.asarray(slow, dtype=np.float64)
    b = np.asarray(fast, dtype=np.float64)
    ma = np.median(a[rng.integers(0, len(a), (resamples, len(a)))], axis=1)
    mb = np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(ma / mb)


def ratio_ci(slow: Sequence[float], fast: Sequence[float], resamples: int = 2000,
             seed: int = 0) -> tuple[float, float, float]:
    """``median(slow) / median(fast)`` with its 95% bootstrap interval: ``(ratio, low, high)``.

    The speed-up of ``fast`` over ``slow`` when both hold times of calls measured side by side.
    With fewer than two samples on a side the interval is the ratio itself.

    Examples
    --------
    >>> r, lo, hi = ratio_ci([2.0, 2.1, 1.9], [1.0, 1.05, 0.95])
    >>> round(r, 2), lo <= r <= hi
    (2.0, True)
    """
    import numpy as np

    m_slow, m_fast = statistics.median(slow), statistics.median(fast)
    ratio = m_slow / m_fast if m_fast > 0 else math.inf
    if len(slow) < 2 or len(fast) < 2:
        return ratio, ratio, ratio
    r = np.exp(ratio_log_draws(slow, fast, np.random.default_rng(seed), resamples))
    return ratio, float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def geomean_ratio_ci(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], seed: int = 0,
                     resamples: int = 2000) -> tuple[float, float, float]:
    """Geometric mean of several ratios of medians, with a joint 95% bootstrap interval.

    ``pairs`` holds ``(slow, fast)`` sample lists, one pair per ratio; the draws of all ratios come
    from one seeded generator, in order, and are averaged on the log scale draw by draw. A pair with
    fewer than two samples on a side contributes its ratio to every draw. ``(nan, nan, nan)`` for no
    pairs.

    Examples
    --------
    >>> v, lo, hi = geomean_ratio_ci([([2.0, 2.1, 1.9], [1.0, 1.0, 1.0]), ([8.0] * 3, [1.0] * 3)])
    >>> round(v, 6), lo <= v <= hi
    (4.0, True)
    """
    import numpy as np

    if not pairs:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    points = [math.log(statistics.median(a) / statistics.median(b)) for a, b in pairs]
    draws = np.mean([ratio_log_draws(a, b, rng, resamples) if len(a) > 1 and len(b) > 1 else np.full(resamples, p)
                     for (a, b), p in zip(pairs, points)], axis=0)
    lo, hi = np.exp(np.percentile(draws, [2.5, 97.5]))
    return math.exp(sum(points) / len(points)), float(lo), float(hi)


#: The label of an interval that covers one run's sampling noise only.
SAMPLING_ONLY = "one run: sampling noise only"


def interval_label(basis: str, runs: int = 1, noise_runs: int = 0) -> str:
    """Words for what an interval covers (shown in text, JSON and HTML).

    Examples
    --------
    >>> interval_label("sampling")
    'one run: sampling noise only'
    >>> interval_label("runs", 5)
    '5 runs: the spread of the runs'
    >>> interval_label("machine", 1, 12)
    "one run and this machine's run-to-run noise (learned from 12 runs)"
    """
    if basis == "runs":
        return f"{runs} runs: the spread of the runs" + (
            f" and this machine's run-to-run noise ({noise_runs} runs)" if noise_runs else "")
    if basis == "machine":
        return f"one run and this machine's run-to-run noise (learned from {noise_runs} runs)"
    return SAMPLING_ONLY


# --- the Mann–Whitney U test (validation's per-call test) ------------------------------------------


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) and the sizes of tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _u_distribution(n1: int, n2: int) -> list[int]:
    """Counts of arrangements giving each U in ``0..n1*n2`` (Gaussian binomial coefficients)."""
    poly = [1]
    for i in range(1, n1 + 1):
        # times (1 - q^(n2+i)), then divided by (1 - q^i): stays an exact polynomial.
        m = n2 + i
        grown = poly + [0] * m
        for k in range(len(grown) - 1, m - 1, -1):
            grown[k] -= grown[k - m]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        while len(grown) > 1 and grown[-1] == 0:
            grown.pop()
        poly = grown
    return poly + [0] * (n1 * n2 + 1 - len(poly))


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the exact U test can give for samples of ``n1`` and ``n2``.

    Examples
    --------
    >>> round(min_p_value(5, 5), 4)
    0.0079
    """
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def mann_whitney_u(x: Sequence[float], y: Sequence[float], method: str = "auto") -> tuple[float, float]:
    """Two-sided Mann–Whitney U test: ``(U of x, p-value)``.

    Parameters
    ----------
    x, y : sequences of float
    method : {"auto", "exact", "asymptotic"}
        ``exact`` counts the distribution of U (valid without ties); ``asymptotic`` is the normal
        approximation with tie and continuity corrections; ``auto`` (as scipy's ``mannwhitneyu``)
        is exact when there are no ties and both samples have at most 50 values.

    Examples
    --------
    >>> mann_whitney_u([1, 2, 3], [4, 5, 6])
    (0.0, 0.1)
    >>> u, p = mann_whitney_u([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6])
    >>> u, round(p, 5)
    (0.0, 0.00058)
    """
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    n1, n2 = len(x), len(y)
    if n1 < 1 or n2 < 1:
        raise ValueError(f"both samples need at least one value, got {n1} and {n2}")
    values = [float(v) for v in x] + [float(v) for v in y]
    if any(math.isnan(v) for v in values):
        raise ValueError("samples contain NaN")
    ranks, ties = _ranks(values)
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u_small = min(u1, n1 * n2 - u1)
    if method == "exact" and ties:
        raise ValueError(f"the exact test needs samples without ties, got {len(ties)} tied group(s)")
    if method == "exact" or (method == "auto" and not ties and max(n1, n2) <= 50):
        counts = _u_distribution(n1, n2)
        total = math.comb(n1 + n2, n1)
        p = 2 * sum(counts[: int(round(u_small)) + 1]) / total
        return u1, min(1.0, p)
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:
        return u1, 1.0
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))

