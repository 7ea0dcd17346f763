"""Timing statistics: calibration, interleaving, CIs and the instability flags.

Every test that times something reads an injected clock (:class:`FakeClock`): a contender "takes"
the time it advances the clock by, so sample counts and flags are the same on a busy machine.
"""

from __future__ import annotations

import numpy as np
import pytest

import kit.engine.measure
from kit.engine.measure import Measurement, bootstrap_ci, calibrate, compare, geometric_mean, speedup


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


def test_unstable_means_an_uncertain_median_not_one_late_sample():
    # One late sample of seven used to make the CV exceed 10% ("unstable"); the median is still sure.
    late = Measurement("x", [1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.6], 1)
    assert late.cv > 0.10 and not late.unstable
    assert not any(w.startswith("unstable") for w in late.warnings)
    assert any("from the median" in w for w in late.warnings)  # the late sample is still reported
    spread = Measurement("y", [1.0, 1.3, 0.8, 1.15, 0.9, 1.25, 0.85], 1)
    assert spread.unstable and any(w.startswith("unstable: the median's 95% interval") for w in spread.warnings)
    assert Measurement("z", [1.0, 1.01, 0.99, 1.0], 1).stable


def _seeded_measurements(sd, n, seed, late=0.0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(300):
        x = list(np.exp(rng.normal(0, sd, n)))
        if late and rng.random() < late:  # now and then one sample hit by a burst of other work
            x[rng.integers(n)] *= 1 + rng.uniform(0.2, 1.5)
        out.append(Measurement("m", x, 1))
    return out


def test_unstable_fires_rarely_on_quiet_runs_and_mostly_on_noisy_ones():
    # Quiet: 2% sample spread, a late sample in a third of the measurements (what a quiet 2-core VM
    # shows); the old CV rule flagged about half of these. Noisy: 15% spread.
    quiet = _seeded_measurements(0.02, 7, 0, late=0.35)
    old_rule = sum(m.cv > 0.10 for m in quiet) / len(quiet)
    new_rule = sum(m.unstable for m in quiet) / len(quiet)
    assert old_rule > 0.25 and new_rule < 0.05, (old_rule, new_rule)
    noisy = _seeded_measurements(0.15, 7, 1)
    assert sum(m.unstable for m in noisy) / len(noisy) > 0.9


class FakeProbes:
    """Reports a scripted share of a CPU for each sample, as schedstat would (CPU time and run-queue wait)."""

    def __init__(self, shares):
        self.shares = list(shares)
        self.cpu_t = self.wait = self.wall_t = 0.0
        self.reads = 0

    def wall(self):
        return self.wall_t

    def cpu(self):
        return self.cpu_t

    def process(self):  # no other thread of the process works
        return self.cpu()

    def schedstat(self):
        self.reads += 1
        if self.reads % 2 == 0:  # the second read of a sample: the sample ran 1 s of CPU and waited
            share = self.shares.pop(0) if self.shares else 1.0
            self.cpu_t += 1.0
            self.wait += (1.0 - share) / share
        return (self.cpu_t, self.wait)


@pytest.fixture
def wall_clock(monkeypatch, clock):
    """The fake clock installed as the wall clock, so that lost samples are left out as on the wall clock."""
    monkeypatch.setitem(kit.measure.CLOCKS, "wall", clock)
    return clock


def test_samples_that_lost_the_cpu_are_left_out_and_taken_again(monkeypatch, wall_clock):
    fn = wall_clock.work(1e-3)
    # The 2nd and 4th samples lose the CPU (30% and 50% of it); they are retaken, so 5 samples remain.
    probes = FakeProbes([1.0, 0.3, 1.0, 0.5, 1.0, 0.99, 1.0])
    monkeypatch.setattr(kit.measure, "_probes", probes)
    m = compare({"a": fn}, min_time=0.001, samples=5)["a"]
    assert len(m.samples) == 5 and len(m.lost) == 2
    assert m.lost_shares == [pytest.approx(0.3), pytest.approx(0.5)]
    assert all(x >= kit.measure.LOST_SHARE for x in m.cpu_shares)
    assert m.cpu_share == pytest.approx(1.0)  # median over kept and lost
    s = m.summary()
    assert s["samples"] == 5 and len(s["lost_s"]) == 2 and len(s["raw_cpu_share"]) == 5
    assert not m.contended and not any(w.startswith("contended") for w in m.warnings)


def test_when_too_few_samples_keep_the_cpu_all_count_less_their_run_queue_wait(monkeypatch, wall_clock):
    class Shared(FakeProbes):
        """A core shared all along: each sample's wall time is its CPU time plus its wait."""

        def schedstat(self):
            got = super().schedstat()
            self.wall_t = self.cpu_t * 1e-3 + self.wait * 1e-3  # 1 ms of CPU per sample, scaled
            return (got[0] * 1e-3, got[1] * 1e-3)

        def cpu(self):
            return self.cpu_t * 1e-3

    monkeypatch.setattr(kit.measure, "_probes", Shared([0.4] * 100))
    m = compare({"a": wall_clock.work(1e-3)}, min_time=0.001, samples=5)["a"]
    assert m.contended and m.lost == [] and len(m.samples) == 10  # 5 rounds, then 5 retaken, all kept
    # Each sample: 1 ms of CPU over 1 loop, 1.5 ms of waiting (40% share) left out.
    assert m.median == pytest.approx(1e-3) and m.cpu_share == pytest.approx(0.4)
    assert any(w.startswith("contended: 10 of 10 samples lost the CPU; times are wall time less run-queue wait")
               for w in m.warnings)


def test_other_clocks_keep_every_sample(monkeypatch, clock):
    # On an injected or thread-CPU clock a lost CPU does not inflate a sample: nothing is left out.
    monkeypatch.setattr(kit.measure, "_probes", FakeProbes([0.3] * 20))
    m = compare({"a": clock.work(1e-3)}, min_time=0.001, samples=5)["a"]
    assert len(m.samples) == 5 and m.lost == [] and not m.contended
    assert m.cpu_share == pytest.approx(0.3)


def test_without_schedstat_the_share_is_cpu_over_wall_and_nothing_is_left_out(monkeypatch, wall_clock):
    class NoSchedstat(FakeProbes):
        def schedstat(self):
            self.wall_t += 2.0  # half the wall time on the CPU (a backend's worker threads do the rest)
            self.cpu_t += 1.0
            return None

    monkeypatch.setattr(kit.measure, "_probes", NoSchedstat([]))
    m = compare({"a": wall_clock.work(1e-3)}, min_time=0.001, samples=5)["a"]
    assert len(m.samples) == 5 and m.lost == []
    assert m.cpu_share == pytest.approx(0.5)


def test_a_backend_running_its_own_threads_keeps_every_sample(monkeypatch, wall_clock):
    class OwnThreads(FakeProbes):
        def process(self):  # worker threads use as much CPU again as the measuring thread
            return 2 * self.cpu_t

    monkeypatch.setattr(kit.measure, "_probes", OwnThreads([0.5] * 20))
    m = compare({"a": wall_clock.work(1e-3)}, min_time=0.001, samples=5)["a"]
    assert len(m.samples) == 5 and m.lost == [] and not m.contended
    assert m.cpu_share is None and m.summary()["raw_cpu_share"] is None  # unknown, not "contended"


def test_contention_levels_and_the_line():
    from kit.engine.measure import contention_summary

    def ms(share, kept=7, lost=0):
        return {"cpu_share": share, "samples": kept, "lost_s": [1.0] * lost}

    quiet = contention_summary([ms(1.0), ms(0.995)], psi=0.0, load=0.1)
    assert quiet["level"] == "quiet" and quiet["summary"].startswith("contention: quiet: CPU share 100% (min 100%)")
    assert contention_summary([ms(0.97), ms(0.96)])["level"] == "light"
    assert contention_summary([ms(1.0)], psi=25.0)["level"] == "light"  # others wait although this thread did not
    assert contention_summary([ms(1.0, 7, 1), ms(1.0, 7, 1)])["level"] == "light"  # 2 of 16 samples lost
    assert contention_summary([ms(0.6), ms(0.7)])["level"] == "contended"
    assert contention_summary([ms(1.0, 5, 3)])["level"] == "contended"  # 3 of 8 samples lost
    assert contention_summary([], psi=50.0)["level"] == "contended"
    assert contention_summary([], load=0.3)["level"] == "quiet"
    # A busy loop beside the run on 2 cores: the thread kept its CPU and the 1-minute load had not
    # caught up, but the run queue held one other task most of the time.
    beside = contention_summary([ms(1.0), ms(0.995)], psi=0.5, load=0.55, others=0.5)
    assert beside["level"] == "light" and "other tasks 0.50/core" in beside["summary"]
    assert contention_summary([ms(1.0)], others=0.0)["level"] == "quiet"
    assert contention_summary([ms(1.0)], others=0.25)["level"] == "quiet"  # one other task on 4 cores
    assert contention_summary([], others=1.0)["level"] == "light"
    unknown = contention_summary([{"cpu_share": None, "samples": 3}])
    assert unknown["level"] == "unknown" and "unknown" in unknown["summary"]
    for c in (quiet, contention_summary([ms(0.6, 5, 4)], psi=55.5, load=1.75, steal=0.04)):
        assert len(c["summary"]) <= 100, c["summary"]
        assert set(c) >= {"cpu_share_median", "cpu_share_min", "psi_cpu_some", "load_per_core", "others_per_core",
                          "level", "summary"}


def test_other_tasks_is_the_median_run_queue_less_the_measuring_task_per_core():
    from kit.engine.measure import other_tasks

    assert other_tasks([1, 1, 1], cores=2) == 0.0
    assert other_tasks([2, 2, 5, 2, 1], cores=2) == 0.5  # a moment's burst (5) does not count
    assert other_tasks([0, 1], cores=1) == 0.0  # never below zero
    assert other_tasks([], cores=4) is None


def test_the_interval_of_a_time_says_what_it_covers():
    samples = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0]
    one = Measurement("a", samples, 1)
    assert one.ci_basis == "sampling" and one.ci == one.sampling_ci
    learned = Measurement("a", samples, 1, run_noise=(0.05, 20))
    lo, hi = learned.ci
    assert learned.ci_basis == "machine" and lo < one.ci[0] and hi > one.ci[1]
    assert hi / learned.median == pytest.approx(np.exp(np.hypot(np.log(one.ci[1]), 2.086 * 0.05)), rel=1e-3)
    runs = Measurement("a", samples, 1, run_medians=[0.9, 1.0, 1.1])
    assert runs.ci_basis == "runs"
    logs = np.log([0.9, 1.0, 1.1])
    half = 4.303 * np.std(logs, ddof=1) / np.sqrt(3)
    centre = np.exp(logs.mean())  # the runs' geometric mean, where their spread is centred
    assert runs.ci == (pytest.approx(centre * np.exp(-half), rel=1e-3), pytest.approx(centre * np.exp(half), rel=1e-3))
    assert runs.summary()["ci_basis"] == "runs"


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


def test_an_unknown_clock_is_refused_when_read_not_when_imported():
    import os
    import subprocess
    import sys

    code = ("import kit.engine.measure as m\n"
            "try:\n    m.compare({'a': lambda: None}, min_time=0.001, samples=3)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "KIT_CLOCK": "cpu"}, timeout=120)
    assert r.stdout.strip() == "ConfigError KIT_CLOCK='cpu': expected one of wall, thread" and not r.stderr
