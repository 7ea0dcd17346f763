"""Timing statistics: calibration, interleaving, CIs and the instability flags.

Every test that times something reads an injected clock (:class:`FakeClock`): a contender "takes"
the time it advances the clock by, so sample counts and flags are the same on a busy machine.
"""

from __future__ import annotations

import pytest

import kit.measure
from kit.measure import Measurement, bootstrap_ci, calibrate, compare, geometric_mean, speedup


class FakeClock:
    """A clock that moves only when a contender says it worked: ``clock.work(s)``."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def work(self, seconds: float):
        def call() -> None:
            self.now += seconds
        return call


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(kit.measure, "_timer", c)
    return c


def test_calibrate_reaches_min_time(clock):
    loops, first, per_call = calibrate(clock.work(1e-5), 0.002)
    assert first == pytest.approx(1e-5) and per_call == pytest.approx(1e-5)
    assert loops * per_call >= 0.002 and (loops // 2) * per_call < 0.002 * 1.2
    # a call slower than the target is one loop
    assert calibrate(clock.work(0.01), 0.002) == (1, pytest.approx(0.01), pytest.approx(0.01))


def test_compare_interleaves_and_reports(clock):
    calls = []
    res = compare({"a": lambda: calls.append("a") or clock.work(1e-5)(), "b": lambda: calls.append("b") or clock.work(2e-5)()},
                  nbytes=10, min_time=0.0005, samples=5)
    assert set(res) == {"a", "b"}
    for m in res.values():
        assert len(m.samples) >= 3 and m.loops >= 1
        lo, hi = m.ci
        assert lo <= m.median <= hi
        assert m.throughput > 0
        s = m.summary()
        assert {"median_s", "ci_low_s", "ci_high_s", "cv", "samples", "throughput_Bps"} <= set(s)


def test_slow_contender_gets_fewer_samples_within_budget(clock):
    res = compare({"slow": clock.work(0.01), "fast": clock.work(1e-4)}, min_time=0.001, samples=50, budget=0.05)
    assert len(res["slow"].samples) == 5  # 0.05 s of budget / 0.01 s per sample
    fast = res["fast"]
    assert fast.loops * 1e-4 >= 0.001 and len(fast.samples) == int(0.05 / (fast.loops * 1e-4)) < 50
    assert res["slow"].median == pytest.approx(0.01) and res["fast"].median == pytest.approx(1e-4)
    tiny = compare({"slow": clock.work(0.04)}, min_time=0.001, samples=50, budget=0.05)
    assert len(tiny["slow"].samples) == 3  # never fewer than min_samples


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


def test_a_hopelessly_slow_contender_is_timed_once(monkeypatch, clock):
    monkeypatch.setattr(kit.measure, "SLOW_CALL", 0.005)
    fast, slow = clock.work(1e-5), clock.work(0.01)
    res = compare({"fast": fast, "slow": slow}, min_time=0.0005, samples=5, reference="fast")
    assert len(res["slow"].samples) == 1 and res["slow"].timed_once
    assert any("timed once" in w for w in res["slow"].warnings)
    assert len(res["fast"].samples) == 5
    res = compare({"fast": fast, "slow": slow}, min_time=0.0005, samples=5, reference="slow")
    assert len(res["slow"].samples) == 5 and not res["slow"].timed_once
    res = compare({"fast": fast, "slow": slow}, min_time=0.0005, samples=4)
    assert len(res["slow"].samples) == 4  # no reference: everyone fully sampled
    # over SLOW_CALL but within SLOW_FACTOR of the fastest: fully sampled
    res = compare({"a": clock.work(0.006), "b": clock.work(0.01)}, min_time=0.0005, samples=4, reference="a")
    assert len(res["b"].samples) == 4 and not res["b"].timed_once


def test_compare_interleaves_the_contenders_round_by_round(clock):
    order = []

    def contender(name):
        def call():
            order.append(name)
            clock.now += 0.001
        return call

    compare({n: contender(n) for n in "abc"}, min_time=0.001, samples=3, budget=1.0)
    timed = order[3:]  # after one calibration call each
    assert timed == list("abc" "bca" "cab")  # each round starts one further on
