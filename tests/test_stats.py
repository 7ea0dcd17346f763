"""Student's t and the moderated run-to-run test (kit.stats), against closed forms and tables."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from kit.stats import betainc, lower_quartile, moderated_run_tests, t_quantile, t_sf


@pytest.mark.parametrize("a,b,x", [(1.0, 1.0, 0.3), (2.5, 1.0, 0.7), (1.0, 3.0, 0.2), (0.5, 0.5, 0.25)])
def test_incomplete_beta_matches_closed_forms(a, b, x):
    if a == b == 0.5:
        expected = 2 / math.pi * math.asin(math.sqrt(x))  # the arcsine distribution
    elif b == 1.0:
        expected = x ** a
    else:
        expected = 1 - (1 - x) ** b
    assert betainc(a, b, x) == pytest.approx(expected, rel=1e-10)
    assert betainc(a, b, x) + betainc(b, a, 1 - x) == pytest.approx(1.0, abs=1e-12)


# Printed t tables (two-sided 0.05 and 0.002 columns).
@pytest.mark.parametrize("df,q975,q999", [(1, 12.706, 318.309), (2, 4.303, 22.327), (4, 2.776, 7.173),
                                          (8, 2.306, 4.501), (30, 2.042, 3.385)])
def test_t_quantiles_match_the_tables(df, q975, q999):
    assert t_quantile(0.975, df) == pytest.approx(q975, abs=5e-4)
    assert t_quantile(0.999, df) == pytest.approx(q999, abs=5e-3)
    assert t_quantile(0.025, df) == pytest.approx(-q975, abs=5e-4)
    assert t_sf(t_quantile(0.99, df), df) == pytest.approx(0.01, rel=1e-8)


def test_t_with_one_degree_of_freedom_is_cauchy():
    for t in (-3.0, -0.5, 0.0, 1.0, 7.0):
        assert t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, abs=1e-12)


@pytest.mark.parametrize("call,match", [(lambda: t_quantile(1.0, 3), "p must be in"),
                                        (lambda: t_sf(1.0, 0), "df must be > 0"),
                                        (lambda: betainc(1.0, 1.0, 1.5), "x must be in")])
def test_bad_arguments_say_what_is_allowed(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_moderated_test_holds_its_false_alarm_rate_and_sees_a_real_shift():
    rng = np.random.default_rng(0)
    alarms, hits, trials = 0, 0, 200
    for _ in range(trials):
        sd = {f"m{i}": s for i, s in enumerate(rng.uniform(0.01, 0.08, 30))}
        ref = {k: list(np.exp(rng.normal(0, s, 5))) for k, s in sd.items()}
        same = {k: list(np.exp(rng.normal(0, s, 1))) for k, s in sd.items()}
        tests, s0 = moderated_run_tests(ref, same, alpha=0.01)
        alarms += sum(t.p < 0.01 for t in tests.values())
        shifted = {k: [v[0] * 1.5] for k, v in same.items()}
        tests, _ = moderated_run_tests(ref, shifted, alpha=0.01)
        hits += sum(t.p < 0.01 and t.shift > 0 for t in tests.values())
    # ~1% of 6000 null tests; the shrinkage towards the typical variance keeps it near the nominal rate.
    assert alarms / (trials * 30) < 0.02
    assert hits / (trials * 30) > 0.9


def test_single_runs_give_no_test():
    assert moderated_run_tests({"a": [1.0]}, {"a": [2.0]}, alpha=0.002) == ({}, None)


def test_digamma_and_trigamma_match_scipy_and_trigamma_inverse_inverts():
    from kit.stats import digamma, trigamma, trigamma_inverse

    special = pytest.importorskip("scipy.special")
    for x in (0.05, 0.5, 1.0, 2.5, 5.9, 6.0, 7.3, 40.0, 1e4):
        assert digamma(x) == pytest.approx(special.digamma(x), rel=1e-9, abs=1e-9)
        assert trigamma(x) == pytest.approx(special.polygamma(1, x), rel=1e-9)
        assert trigamma_inverse(trigamma(x)) == pytest.approx(x, rel=1e-8)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            digamma(bad)


def test_the_prior_pools_alike_variances_and_keeps_unlike_ones_apart():
    import random

    from kit.stats import _median_spread, effective_df, moderation_prior

    def spreads(sds, rng):
        return [(_median_spread([[rng.gauss(0, sd) for _ in range(5)]])[0], (5,)) for sd in sds]

    # Over 20 seeded sets of 30 measurements: alike ones pool (a typical prior weight of several runs' worth),
    # a mix of 1% and 20% hardly at all.
    alike = [moderation_prior(spreads([0.05] * 30, random.Random(seed)))[1] for seed in range(20)]
    unlike = [moderation_prior(spreads([0.01] * 15 + [0.2] * 15, random.Random(seed)))[1] for seed in range(20)]
    assert statistics.median(alike) > 8 and max(unlike) < 1.5, (alike, unlike)
    assert moderation_prior(spreads([0.05, 0.05], random.Random(0))) is None  # two are too few to fit a prior
    # The robust spread of five values is as steady as a sample variance with fewer degrees of freedom.
    assert 2 < effective_df((5,)) < 4 and effective_df((5, 3)) > effective_df((5,))


def test_the_lower_quartile_is_numpys_25th_percentile():
    rng = np.random.default_rng(3)
    for n in range(1, 40):
        xs = rng.lognormal(0, 0.5, n).tolist()
        assert lower_quartile(xs) == pytest.approx(float(np.quantile(xs, 0.25)), rel=1e-12)
    with pytest.raises(ValueError, match="no samples"):
        lower_quartile([])
