"""The score: the formula, the tiers, the bootstrap, re-measurement of noisy classes, the hardware index."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

# ``kit.score`` is also the name of the function in kit's lazy table: take the module explicitly.
sc = importlib.import_module("kit.scoring")
sr = importlib.import_module("kit.scoring.run")  # the score's orchestration, whose private steps are tested here

from kit.engine import BenchResult, Row
from kit.errors import KitError
from kit.engine.measure import Measurement, compare
from kit.scoring import (
    TIERS,
    Ratio,
    hardware_index,
    injected_slowdown,
    nested_geomean,
    score_from_speedup,
    tier_of,
    tier_span,
)


# --- the formula -----------------------------------------------------------------------------------


def test_formula_anchors_on_the_tier_table():
    assert score_from_speedup(1.0) == pytest.approx(10.0)
    assert score_from_speedup(50.0) == pytest.approx(90.0)
    assert score_from_speedup(math.sqrt(50.0)) == pytest.approx(50.0)


def test_formula_is_the_documented_log_logistic():
    a = 2 * math.log(9) / math.log(50)
    m = math.sqrt(50)
    for x in (0.01, 0.3, 1.0, 3.0, 8.0, 15.0, 25.0, 123.0, 1e4):
        assert score_from_speedup(x) == pytest.approx(100 * x**a / (x**a + m**a), rel=1e-12)


def test_formula_is_monotone_and_saturating():
    xs = np.logspace(-4, 8, 2000)
    ys = [score_from_speedup(float(x)) for x in xs]
    assert all(b > a for a, b in zip(ys, ys[1:]))
    assert all(0.0 < y < 100.0 for y in ys)
    assert ys[0] < 0.1 and ys[-1] > 99.9
    # Saturation: the same tenfold gain is worth less and less at the top.
    gains = [score_from_speedup(10.0 ** (k + 1)) - score_from_speedup(10.0**k) for k in range(1, 6)]
    assert all(b < a for a, b in zip(gains, gains[1:]))
    assert score_from_speedup(math.inf) == 100.0
    assert score_from_speedup(1e-300) == 0.0


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, "2", None, True])
def test_formula_rejects_what_is_not_a_speedup(bad):
    with pytest.raises(ValueError, match="positive number, got"):
        score_from_speedup(bad)


# --- tiers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier,threshold", TIERS)
def test_tier_thresholds(tier, threshold):
    assert tier_of(threshold) == tier
    assert tier_of(threshold * 1.0001) == tier
    below = tier_of(threshold * 0.9999)
    assert below != tier
    names = ["BELOW STANDARD"] + [t for t, _ in TIERS]
    assert names.index(below) == names.index(tier) - 1


def test_tier_thresholds_are_those_of_the_design():
    assert TIERS == (("STANDARD", 1.0), ("ENHANCED", 8.0), ("OPTIMIZED", 15.0), ("ULTRA", 25.0), ("MAXIMUM", 50.0))
    assert tier_of(0.5) == "BELOW STANDARD"
    assert tier_of(1e6) == "MAXIMUM"


def test_straddling_a_threshold_is_said():
    note = tier_span(14.0, 16.0)
    assert "OPTIMIZED threshold (15x)" in note and "ENHANCED or OPTIMIZED" in note
    many = tier_span(7.0, 30.0)
    assert "ENHANCED" in many and "OPTIMIZED" in many and "ULTRA" in many
    assert tier_span(9.0, 14.0) is None
    assert tier_span(15.0, 16.0) is None  # the lower bound on the threshold is inside the tier
    with pytest.raises(ValueError, match=r"low <= high, got \[3, 2\]"):
        tier_span(3, 2)


# --- the bootstrap -----------------------------------------------------------------------------------


def _samples(median: float, n: int = 9, cv: float = 0.02, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(median * np.exp(rng.normal(0, cv, n)))


def test_nested_geomean_weighs_each_group_equally():
    ratios = [Ratio("a", [2.0] * 5, [1.0] * 5), Ratio("a", [2.0] * 5, [1.0] * 5), Ratio("a", [2.0] * 5, [1.0] * 5),
              Ratio("b", [8.0] * 5, [1.0] * 5)]
    value, (lo, hi), per = nested_geomean(ratios)
    assert value == pytest.approx(4.0)  # sqrt(2 * 8), not the mean over four classes
    assert per["a"][0] == pytest.approx(2.0) and per["b"][0] == pytest.approx(8.0)
    assert lo == pytest.approx(4.0) and hi == pytest.approx(4.0)
    assert Ratio("c", [1.0, 9.0], [5.0, 7.0], identity=True).value == 1.0


def test_bootstrap_ci_brackets_the_point_and_narrows_with_samples():
    wide = [Ratio("x", _samples(3.0, 5, 0.1, 1), _samples(1.0, 5, 0.1, 2))]
    narrow = [Ratio("x", _samples(3.0, 60, 0.1, 1), _samples(1.0, 60, 0.1, 2))]
    v1, (lo1, hi1), _ = nested_geomean(wide)
    v2, (lo2, hi2), _ = nested_geomean(narrow)
    assert lo1 <= v1 <= hi1 and lo2 <= v2 <= hi2
    assert hi2 / lo2 < hi1 / lo1
    with pytest.raises(ValueError, match="no ratios"):
        nested_geomean([])


# --- a real (small) run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    import kit
    from kit import config as _config
    from kit import registry as _registry

    original = kit.get_config()["cache_dir"]
    kit.set_config(cache_dir=str(tmp_path_factory.mktemp("wisdom")))
    _registry.reset_probes()
    try:
        yield sc.score(operations=["fingerprint", "digest"], sizes=["small"], claims=False, retries=1)
    finally:
        kit.set_config(cache_dir=original)
        _registry.reset_probes()
        _config.mark_changed()


def test_score_of_a_real_run_follows_the_formula(small_result):
    r = small_result
    assert set(r.subscores) == {"hashing"}
    assert r.score == pytest.approx(score_from_speedup(r.speedup))
    assert r.score_ci[0] <= r.score <= r.score_ci[1]
    assert r.speedup_ci[0] <= r.speedup <= r.speedup_ci[1]
    assert r.tier == tier_of(r.speedup)
    assert {(c.operation, c.size) for c in r.classes} == {("fingerprint", "small"), ("digest", "small")}
    for c in r.classes:
        assert c.backend == r.bench.selected[c.operation][c.size]
        if c.backend == c.baseline:
            assert c.speedup == (1.0, 1.0, 1.0)
    sub = r.subscores["hashing"]
    assert sub.speedup == pytest.approx(r.speedup)  # one category: the overall is the category
    assert sub.score == pytest.approx(r.score)


def test_a_single_run_says_its_intervals_cover_sampling_only_and_states_its_contention(small_result):
    r = small_result
    assert r.ci_basis == "sampling" and r.ci_label == "one run: sampling noise only"
    rec = r.to_record().data
    assert rec["intervals"] == {"basis": "sampling", "label": "one run: sampling noise only", "runs": 1}
    c = rec["contention"]
    assert c["level"] in ("quiet", "light", "contended", "unknown") and c["summary"].startswith("contention: ")
    assert {"cpu_share_median", "cpu_share_min", "psi_cpu_some", "load_per_core"} <= set(c)
    for m in rec["measurements"]:
        assert m["cpu_share"] is None or 0 < m["cpu_share"] <= 1
    notes = r.notes().splitlines()
    assert notes[0] == "95% intervals: one run: sampling noise only" and notes[-1].startswith("contention: ")
    assert all(len(line) <= 100 for line in notes)
    html = r._repr_html_()
    assert "one run: sampling noise only" in html and "contention" in html
    assert "one run: sampling noise only" in str(r)


def test_availability_is_beside_the_score_not_in_it(small_result):
    a, n = small_result.availability
    assert small_result.availability_text == f"{a}/{n} backends available"
    text = str(small_result)
    assert f"{a}/{n} backends available (not scored)" in text
    html = small_result._repr_html_()
    assert "<table" in html and "subscores" in html


def test_unknown_preset_operation_and_retries_are_refused():
    with pytest.raises(KitError, match="preset must be one of quick, full, got 'fast'"):
        sc.score(preset="fast")
    with pytest.raises(ValueError, match="unknown operation 'nope'"):
        sc.score(operations=["nope"])
    with pytest.raises(KitError, match="retries must be a non-negative integer, got -1"):
        sc.score(retries=-1)
    with pytest.raises(KitError, match="at least 2 runs, got 1"):
        sc.stability(1)
    for bad in (0, 21, 2.0, True):
        with pytest.raises(KitError, match=f"runs must be an integer from 1 to 20, got {bad!r}"):
            sc.score(runs=bad)


def test_runs_pool_fresh_processes_and_keep_each_runs_median(tmp_path):
    import kit

    with kit.config_context(cache_dir=str(tmp_path)):
        r = sc.score(operations=["fingerprint"], sizes=["small"], claims=False, retries=0, runs=2)
    rec = r.to_record().data
    assert r.runs == rec["runs"] == 2
    for m in rec["measurements"]:
        assert len(m["run_medians_s"]) == 2, m["backend"]
        # The pooled samples hold both runs (those that lost the CPU apart): 7 or more taken in each.
        assert m["samples"] == len(m["raw_s"]) and m["samples"] + len(m["lost_s"]) > 7
        assert min(m["run_medians_s"]) <= m["median_s"] <= max(m["run_medians_s"])
        assert m["ci_basis"] == "runs"
    assert r.ci_basis == "runs" and rec["intervals"]["label"].startswith("2 runs: the spread of the runs")
    # The two runs taught this machine its run-to-run noise, which a later single run's intervals use.
    from kit.engine.wisdom import Wisdom

    learned = Wisdom(tmp_path).run_noise("quick/wall")
    assert {"relative/hashing", "relative/overall", "absolute/hashing", "measurement/hashing"} <= set(learned)
    assert all(sd >= 0 and df >= 1 for sd, df in learned.values())


def test_runs_refuse_a_clock_fresh_processes_cannot_share(monkeypatch):
    import time

    import kit.engine.measure

    monkeypatch.setattr(kit.measure, "_timer", time.monotonic)
    with pytest.raises(KitError, match="runs in fresh processes read a named clock .wall, thread."):
        sc.extra_runs(1, operations=["fingerprint"], sizes=["small"])


def test_a_failing_run_says_which_and_why(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(KitError, match=r"run 2 \(a fresh `kit score` process\) failed with exit status 1"):
        sc.extra_runs(1, operations=["fingerprint"], sizes=["small"])


# --- the score reports the engine's choice ------------------------------------------------------------


def _seeded(name, median, n=15, seed=0):
    rng = np.random.default_rng(seed)
    return Measurement(name, list(median * np.exp(rng.normal(0, 0.01, n))), 1, 100)


@pytest.fixture
def scripted_engine(tmp_path, monkeypatch):
    """An engine whose measurements are scripted: ``plan`` maps a backend to its median time per call."""
    from kit.engine import Engine
    from kit.engine.measure import speedup

    eng = Engine(tmp_path / "wisdom")
    plan = {}

    def measure(op_name, size, kind, backends=None, preset="quick", seed=0):
        names = list(backends) if backends is not None else list(plan)
        ms = {n: _seeded(n, plan[n], seed=i + 10 * measure.calls) for i, n in enumerate(names)}
        measure.calls += 1
        base = ms["hashlib.sha256"]
        return [Row(op_name, size, kind, n, m, speedup(base, m), n == "hashlib.sha256") for n, m in ms.items()]

    measure.calls = 0
    monkeypatch.setattr(eng, "measure", measure)
    return eng, plan


def test_the_score_reports_the_engines_choice_not_the_best_of_its_own_run(scripted_engine):
    eng, plan = scripted_engine
    plan.update({"hashlib.sha256": 3.0, "blake3": 1.0, "hashlib.blake2b": 1.9})
    first = sc.score(operations=["digest"], sizes=["small"], claims=False, retries=0, engine=eng)
    assert [c.backend for c in first.classes] == ["blake3"]
    # blake2b now measures 3% faster than blake3: within noise of the stored choice, which stays.
    plan.update({"hashlib.blake2b": 0.97})
    again = sc.score(operations=["digest"], sizes=["small"], claims=False, retries=0, engine=eng)
    (c,) = again.classes
    assert c.backend == "blake3" and c.speedup[0] == pytest.approx(3.0, rel=0.03)
    assert again.to_record().data["selected"]["digest"]["small"] == "blake3"


def test_the_score_never_reports_a_selected_backend_slower_than_the_baseline(scripted_engine):
    eng, plan = scripted_engine
    plan.update({"hashlib.sha256": 1.0, "hashlib.blake2b": 0.5})
    assert sc.score(operations=["digest"], sizes=["small"], claims=False, retries=0,
                    engine=eng).classes[0].backend == "hashlib.blake2b"
    plan.update({"hashlib.blake2b": 1.0 / 0.82})  # the stored choice now measures 0.82x the baseline
    (c,) = sc.score(operations=["digest"], sizes=["small"], claims=False, retries=0, engine=eng).classes
    assert c.backend == "hashlib.sha256" and c.speedup == (1.0, 1.0, 1.0)


# --- noisy classes ---------------------------------------------------------------------------------


class _FakeEngine:
    """Returns prepared measurements, one list per call, and counts the calls."""

    def __init__(self, attempts):
        self.attempts = list(attempts)
        self.calls = 0

    def measure(self, op, size, kind, backends, preset):
        base, sel = self.attempts[min(self.calls, len(self.attempts) - 1)]
        self.calls += 1
        return _rows(op, size, kind, backends, base, sel)


def _rows(op, size, kind, names, base_samples, sel_samples):
    from kit.engine.measure import speedup

    mb = Measurement(names[0], base_samples, 1)
    ms = Measurement(names[1], sel_samples, 1)
    return [Row(op, size, kind, names[0], mb, speedup(mb, mb), True),
            Row(op, size, kind, names[1], ms, speedup(mb, ms), False)]


NOISY = ([1.0, 1.0, 1.0, 1.0, 3.0], [0.5, 0.5, 0.5, 0.5, 0.5])
STEADY = ([1.0, 1.01, 0.99, 1.0, 1.0], [0.25, 0.25, 0.251, 0.249, 0.25])


def _bench(first):
    rows = _rows("digest", "small", "random", ["hashlib.sha256", "blake3"], *first)
    return BenchResult(rows, {"digest": {"small": "blake3"}}, {"cpu": "test"}, "quick", 0.0, {})


def test_a_noisy_class_is_remeasured_until_steady_and_the_attempts_pooled():
    bench = _bench(NOISY)
    eng = _FakeEngine([STEADY])
    state = sr._remeasure(eng, bench, retries=2, preset="quick", progress=lambda s: None)
    assert eng.calls == 1
    assert state[("digest", "small", "random")] == (2, False)
    base, sel = (r.measurement.samples for r in bench.rows)
    assert base == NOISY[0] + STEADY[0] and sel == NOISY[1] + STEADY[1]
    res = sr._summarise(bench, state, 2, 0)
    assert res.speedup == pytest.approx(float(np.median(base)) / float(np.median(sel)))
    assert res.classes[0].speedup[0] == pytest.approx(res.speedup)
    assert res.noisy == []


def test_a_class_that_stays_noisy_is_remeasured_up_to_the_bound_and_reported():
    bench = _bench(NOISY)
    eng = _FakeEngine([NOISY])
    state = sr._remeasure(eng, bench, retries=2, preset="quick", progress=lambda s: None)
    assert eng.calls == 2
    assert state[("digest", "small", "random")] == (3, True)
    res = sr._summarise(bench, state, 2, 0)
    assert res.noisy == ["digest small random"]
    assert res.classes[0].attempts == 3


def test_no_remeasurement_when_steady_or_when_the_baseline_is_selected():
    eng = _FakeEngine([STEADY])
    assert sr._remeasure(eng, _bench(STEADY), 2, "quick", lambda s: None)[("digest", "small", "random")] == (1, False)
    bench = _bench(NOISY)
    bench.selected = {"digest": {"small": "hashlib.sha256"}}
    assert sr._remeasure(eng, bench, 2, "quick", lambda s: None) == {}
    assert eng.calls == 0


# --- injected slowdown -----------------------------------------------------------------------------


class _TickClock:
    """A clock that moves 1 µs at each read and as far as a fake backend says it worked."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now


def test_injected_slowdown_makes_a_backend_really_slower_and_is_undone(monkeypatch):
    import kit.config
    import kit.engine.measure
    from kit import registry as _registry

    # The slowdown waits in the clock that measurements read; an injected one makes the wait the same
    # on a busy machine as on a quiet one (each read is 1 µs, the backend 100 µs).
    clock = _TickClock()
    monkeypatch.setitem(kit.config.CLOCKS, "ticks", clock)
    monkeypatch.setattr(kit.measure, "_timer", clock)

    b = _registry.backend("digest", "hashlib.sha256")
    original = b.implementation()
    data = bytes(256 * 1024)
    with injected_slowdown({"digest:hashlib.sha256": 1.5}):
        slowed = b.implementation()
        assert slowed is not original and slowed(data) == original(data)
    assert b.implementation() is original

    def work(x):
        clock.now += 100e-6
        return x

    with b.replaced(work), injected_slowdown({"digest:hashlib.sha256": 1.5}):
        fn = b.implementation()
        t0 = clock()
        assert fn(data) is data
        took = clock() - t0 - 1e-6
    # The call: its two reads of the clock and 100 µs of work (101 µs between the reads), then half
    # of that again waiting, to the first read past it (51 reads).
    assert took == pytest.approx(102e-6 + 51e-6, abs=0.5e-6), took
    assert b.implementation() is original


@pytest.mark.parametrize("spec,match", [({"digest": 1.2}, "'operation:backend', got 'digest'"),
                                        ({"digest:hashlib.sha256": 0.5}, "number >= 1, got 0.5"),
                                        ({"digest:nope": 1.5}, "unknown backend 'nope'")])
def test_injected_slowdown_rejects_bad_specs(spec, match):
    with pytest.raises((KitError, ValueError), match=match):
        with injected_slowdown(spec):
            pass


# --- hardware index ----------------------------------------------------------------------------------


def _record(scale: float, ops=(("fingerprint", "hashing"), ("compress", "compression")), cpu="ref-cpu", seed=0):
    from kit.records import SCHEMA, SCHEMA_VERSION, Record

    ms = []
    for i, (op, cat) in enumerate(ops):
        base = _samples(2e-4 * scale, 9, 0.02, seed + 2 * i)
        sel = _samples(1e-4 * scale, 9, 0.02, seed + 2 * i + 1)
        for name, raw, is_base in (("base", base, True), ("fast", sel, False)):
            ms.append({"operation": op, "category": cat, "size": "medium", "kind": "random", "backend": name,
                       "baseline": is_base, "selected": not is_base, "median_s": float(np.median(raw)),
                       "raw_s": raw, "nbytes": 65536})
    return Record({"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "machine": {"cpu": cpu}, "machine_id": cpu,
                   "measurements": ms, "score": {"tier": "STANDARD", "value": 20.0}, "preset": "quick"})


def test_hardware_index_is_the_geometric_mean_of_throughput_ratios():
    ref = _record(1.0)
    twice_as_fast = _record(0.5, cpu="new-cpu", seed=10)
    hw = hardware_index(twice_as_fast, ref)
    assert hw.value == pytest.approx(2.0, rel=0.05)
    assert hw.ci[0] <= hw.value <= hw.ci[1]
    assert set(hw.categories) == {"hashing", "compression"}
    assert hw.compared == 2 and hw.missing == []
    assert hardware_index(ref, ref).value == pytest.approx(1.0)


def test_hardware_index_lists_what_is_not_in_both_and_refuses_nothing_in_common():
    ref = _record(1.0)
    partial = _record(1.0, ops=(("fingerprint", "hashing"),))
    hw = hardware_index(partial, ref)
    assert hw.compared == 1 and hw.missing == ["compress medium random"]
    other = _record(1.0, ops=(("digest", "hashing"),))
    with pytest.raises(KitError, match="no payload class in common"):
        hardware_index(other, partial)


def test_kit_score_stays_callable_and_the_modules_stay_light():
    import subprocess
    import sys

    code = ("import sys, kit\n"
            "from kit.scoring import tier_of\n"
            "import kit.records, kit.scoring.claims, kit.report, kit.cli.score\n"
            "assert callable(kit.score), type(kit.score)\n"
            "assert kit.validate is kit.records.validate\n"
            "heavy = sorted(m for m in ('numpy', 'polars', 'matplotlib', 'pyarrow', 'numba') if m in sys.modules)\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
