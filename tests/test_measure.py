"""Timing statistics: calibration, interleaving, CIs and the instability flags."""

from __future__ import annotations

import time

from kit.measure import Measurement, bootstrap_ci, calibrate, compare, geometric_mean, speedup


def test_calibrate_reaches_min_time():
    loops, first, per_call = calibrate(lambda: sum(range(50)), 0.002)
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(50))
    assert time.perf_counter() - t0 >= 0.001  # at least half the target, on a noisy machine
    assert first > 0 and per_call > 0


def test_compare_interleaves_and_reports():
    calls = []
    res = compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                  nbytes=10, min_time=0.0005, samples=5)
    assert set(res) == {"a", "b"}
    for m in res.values():
        assert len(m.samples) >= 3 and m.loops >= 1
        lo, hi = m.ci
        assert lo <= m.median <= hi
        assert m.throughput > 0
        s = m.summary()
        assert {"median_s", "ci_low_s", "ci_high_s", "cv", "samples", "throughput_Bps"} <= set(s)


def test_slow_contender_gets_fewer_samples_within_budget():
    res = compare({"slow": lambda: time.sleep(0.01)}, min_time=0.001, samples=50, budget=0.05)
    assert 3 <= len(res["slow"].samples) <= 6


def test_unstable_results_are_flagged():
    m = Measurement("x", [1.0, 1.0, 1.0, 1.0, 3.0], 1)
    assert not m.stable
    assert any("CV" in w for w in m.warnings)
    assert any("from the median" in w for w in m.warnings)
    assert Measurement("y", [1.0, 1.01, 0.99, 1.0], 1).stable


def test_speedup_ci_brackets_the_ratio():
    a = Measurement("a", [2.0, 2.1, 1.9, 2.05, 1.95], 1)
    b = Measurement("b", [1.0, 1.05, 0.95, 1.02, 0.98], 1)
    r, lo, hi = speedup(a, b)
    assert lo <= r <= hi and 1.8 < r < 2.2


def test_bootstrap_and_geometric_mean():
    lo, hi = bootstrap_ci([5.0] * 10)
    assert lo == hi == 5.0
    assert abs(geometric_mean([2, 8]) - 4) < 1e-12


def test_a_hopelessly_slow_contender_is_timed_once(monkeypatch):
    import kit.measure as m

    monkeypatch.setattr(m, "SLOW_CALL", 0.005)
    res = compare({"fast": lambda: None, "slow": lambda: time.sleep(0.01)}, min_time=0.0005, samples=5,
                  reference="fast")
    assert len(res["slow"].samples) == 1 and res["slow"].timed_once
    assert any("timed once" in w for w in res["slow"].warnings)
    assert len(res["fast"].samples) == 5
    res = compare({"fast": lambda: None, "slow": lambda: time.sleep(0.01)}, min_time=0.0005, samples=5,
                  reference="slow")
    assert len(res["slow"].samples) == 5 and not res["slow"].timed_once
    res = compare({"fast": lambda: None, "slow": lambda: time.sleep(0.01)}, min_time=0.0005, samples=4)
    assert len(res["slow"].samples) == 4  # no reference: everyone fully sampled
