"""kit.stats' bootstraps: the interval of a median and of a ratio of medians, seeded, numpy only.

Measurement, selection and the score take their intervals from here; the kernels' numpy reference
is the same computation, so ``kit.kernels.bootstrap`` (every backend) gives the same intervals.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit import stats

samples = st.lists(st.floats(1e-6, 1e3, allow_nan=False), min_size=2, max_size=40)


@settings(max_examples=40, deadline=None)
@given(samples, st.sampled_from(["median", "mean"]), st.integers(10, 3000), st.integers(0, 2**64 - 1))
def test_the_median_interval_is_the_kernels_numpy_reference(xs, statistic, resamples, seed):
    import kit.kernels

    mine = stats.bootstrap_ci(xs, statistic=statistic, resamples=resamples, seed=seed)
    kernel = kit.kernels.bootstrap(xs, statistic=statistic, resamples=resamples, seed=seed, backend="numpy")
    assert mine == kernel


def test_the_median_interval_is_seeded_and_brackets_the_median():
    rng = np.random.default_rng(3)
    xs = list(rng.lognormal(0.0, 0.2, 25))
    lo, hi = stats.bootstrap_ci(xs)
    assert lo <= float(np.median(xs)) <= hi
    assert stats.bootstrap_ci(xs) == (lo, hi)
    sorted_xs = np.sort(np.asarray(xs))
    assert not np.array_equal(stats.resampled_statistics(sorted_xs, 100, stats.splitmix_key(0)),
                              stats.resampled_statistics(sorted_xs, 100, stats.splitmix_key(1)))
    assert stats.bootstrap_ci([2.5]) == (2.5, 2.5) and stats.bootstrap_ci([]) == (0.0, 0.0)


def test_resampled_medians_draw_indices_from_the_counter_stream():
    key = stats.splitmix_key(7)
    xs = np.arange(10, dtype=np.float64)  # sorted: a resample's median is the median of its indices
    meds = stats.resampled_statistics(xs, 5, key)
    idx = stats.resample_indices(key, 0, 50, 10).reshape(5, 10)
    assert np.array_equal(meds, np.median(idx, axis=1))
    # Any run of the stream is the same draws however it is cut.
    assert np.array_equal(stats.resample_indices(key, 3, 20, 10), stats.resample_indices(key, 0, 23, 10)[3:])
    assert hex(stats.splitmix_mix(stats.SPLITMIX_GAMMA)) == "0xe220a8397b1dcdaf"  # SplitMix64 seeded with 0


def test_a_ratio_of_medians_and_its_interval():
    rng = np.random.default_rng(0)
    slow, fast = list(2.0 * rng.lognormal(0, 0.05, 15)), list(rng.lognormal(0, 0.05, 15))
    r, lo, hi = stats.ratio_ci(slow, fast)
    assert r == pytest.approx(float(np.median(slow) / np.median(fast)))
    assert lo < r < hi and 1.5 < lo and hi < 2.7
    assert stats.ratio_ci(slow, fast) == (r, lo, hi)  # seeded
    assert stats.ratio_ci([2.0], [1.0, 1.0]) == (2.0, 2.0, 2.0)  # one sample: no interval


def test_the_geometric_mean_of_ratios_draws_them_jointly():
    rng = np.random.default_rng(1)
    pairs = [(list(k * rng.lognormal(0, 0.03, 9)), list(rng.lognormal(0, 0.03, 9))) for k in (2.0, 8.0)]
    v, lo, hi = stats.geomean_ratio_ci(pairs)
    points = [float(np.median(a) / np.median(b)) for a, b in pairs]
    assert v == pytest.approx(math.sqrt(points[0] * points[1]))
    assert lo < v < hi
    # One pair: the draws of the ratio itself, from the same seeded generator.
    draws = stats.ratio_log_draws(*pairs[0], np.random.default_rng(0))
    one = stats.geomean_ratio_ci(pairs[:1])
    assert one[1:] == pytest.approx(tuple(np.exp(np.percentile(draws, [2.5, 97.5]))))
    # A pair timed once contributes its ratio to every draw.
    assert stats.geomean_ratio_ci([([4.0], [1.0])]) == pytest.approx((4.0, 4.0, 4.0))
    assert all(math.isnan(x) for x in stats.geomean_ratio_ci([]))


def test_measurement_does_not_go_through_the_kernels():
    # The engine's measurements must not depend on the dispatch layer they serve: with the kernels
    # unimportable, a measurement still has its intervals and a speed-up its CI.
    code = ("import sys; sys.modules['kit.kernels'] = None\n"
            "from kit.engine.measure import Measurement, bootstrap_ci, speedup\n"
            "a = Measurement('a', [2.0, 2.1, 1.9, 2.05, 1.95], 1); b = Measurement('b', [1.0, 1.05, 0.95], 1)\n"
            "lo, hi = a.sampling_ci; r = speedup(a, b)\n"
            "print(lo <= a.median <= hi, r[1] <= r[0] <= r[2], 'kit.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "True"]
