"""Intervals that mean what they say: seeded simulations whose truth is known.

A simulated machine measures four payload classes in two categories. Each run shifts every
measurement's log time by its own run-to-run effect (3%, which does not cancel in a speed-up) and
every category's by a common drift (8%, which cancels in a speed-up but not in an absolute figure);
each run then draws 7 samples with 3% spread around its shifted times. The target of an interval is
the median of the runs' estimates (the figure a run gives, in the middle of where runs land), found
from 20,000 simulated runs. Coverage is counted over hundreds of seeded trials: the intervals built
from several runs, or from one run and the machine's learned run-to-run noise, cover it about 95%
of the time; one run's sampling interval alone does not.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from kit import registry as _registry
from kit.engine.wisdom import Wisdom
from kit.engine import BenchResult, Row
from kit.engine.measure import Measurement, speedup

sc = importlib.import_module("kit.scoring")
sr = importlib.import_module("kit.scoring.run")

#: (operation, selected backend, true speed-up); two hashing and two compression classes.
CLASSES = [("digest", "blake3", 3.0), ("fingerprint", "xxh3_128", 5.0), ("compress", "lz4", 2.0),
           ("decompress", "lz4", 1.5)]
SAMPLES, SAMPLE_SD, RUN_SD, DRIFT_SD = 7, 0.03, 0.03, 0.08
KEYS = [(op, "small", "random", b) for op, sel, _ in CLASSES for b in (_registry.operation(op).baseline, sel)]
TRUE = {k: math.log(1e-3) - (math.log(r) if k[3] == sel else 0.0) for op, sel, r in CLASSES
        for k in KEYS if k[0] == op}
CATEGORY = {k: _registry.operation(k[0]).category for k in KEYS}


def _run(rng):
    """One run's samples per measurement (seconds), with its run-to-run shifts."""
    drift = {c: rng.normal(0, DRIFT_SD) for c in sorted(set(CATEGORY.values()))}
    return {k: list(np.exp(TRUE[k] + drift[CATEGORY[k]] + rng.normal(0, RUN_SD) + rng.normal(0, SAMPLE_SD, SAMPLES)))
            for k in KEYS}


def _bench(runs):
    """The first run as the engine's measurements, the others pooled as fresh processes' records are."""
    rows = []
    for k in KEYS:
        m = Measurement(k[3], runs[0][k], 1, 1000)
        rows.append(Row(*k, m, (1.0, 1.0, 1.0), k[3] == _registry.operation(k[0]).baseline))
    base = {(r.operation, r.size, r.kind): r.measurement for r in rows if r.baseline}
    rows = [Row(r.operation, r.size, r.kind, r.backend, r.measurement,
                speedup(base[(r.operation, r.size, r.kind)], r.measurement), r.baseline) for r in rows]
    selected = {op: {"small": sel} for op, sel, _ in CLASSES}
    return BenchResult(rows, selected, {"cpu": "simulated"}, "quick", 0.0, {})


def _score(runs, noise=None, noise_runs=0):
    from kit.stats import median_se_log

    bench = _bench(runs)
    medians = {k: [float(np.median(runs[0][k]))] for k in KEYS}
    ses = {k: [median_se_log(runs[0][k])] for k in KEYS}
    children = [{"measurements": [{"operation": k[0], "size": k[1], "kind": k[2], "backend": k[3], "raw_s": r[k]}
                                  for k in KEYS]} for r in runs[1:]]
    if children:
        sr._pool_runs(bench, children, medians, ses)
    return sr._finish(bench, {}, 0, 0, medians, ses, noise or {}, noise_runs)


def _population(seed=99, n=20_000):
    """The median of many single runs' estimates: overall speed-up and absolute figure (vectorised)."""
    rng = np.random.default_rng(seed)
    cats = sorted(set(CATEGORY.values()))
    drift = {c: rng.normal(0, DRIFT_SD, n) for c in cats}
    med = {k: np.median(TRUE[k] + drift[CATEGORY[k]][:, None] + rng.normal(0, RUN_SD, n)[:, None]
                        + rng.normal(0, SAMPLE_SD, (n, SAMPLES)), axis=1) for k in KEYS}
    rel, ab = [], []
    for c in cats:
        ops = [(op, sel) for op, sel, _ in CLASSES if _registry.operation(op).category == c]
        rel.append(np.mean([med[(op, "small", "random", _registry.operation(op).baseline)]
                            - med[(op, "small", "random", sel)] for op, sel in ops], axis=0))
        ab.append(np.mean([med[(op, "small", "random", sel)] for op, sel in ops], axis=0))
    return math.exp(float(np.median(np.mean(rel, axis=0)))), float(np.median(np.mean(ab, axis=0)))


@pytest.fixture(scope="module")
def truth():
    return _population()


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """This machine's run-to-run noise, learned as kit score --runs 5 does, four times, through the wisdom file."""
    rng = np.random.default_rng(7)
    w = Wisdom(tmp_path_factory.mktemp("wisdom"))
    for _ in range(4):
        res = _score([_run(rng) for _ in range(5)])
        w.store_run_noise("quick/wall", sc.learn_noise(res), res.runs)
    w.save()
    return Wisdom(w.dir).run_noise("quick/wall"), Wisdom(w.dir).noise_runs("quick/wall")


def _covers(ci, value):
    return ci[0] <= value <= ci[1]


def test_several_runs_cover_the_median_of_the_runs_estimates(truth):
    rng = np.random.default_rng(1)
    hits, trials = 0, 100
    for _ in range(trials):
        res = _score([_run(rng) for _ in range(5)])
        assert res.ci_basis == "runs" and res.ci_label == "5 runs: the spread of the runs"
        hits += _covers(res.speedup_ci, truth[0])
    assert 0.88 <= hits / trials <= 0.99, hits / trials


def test_what_the_machine_learned_is_its_run_to_run_component(learned):
    noise, runs = learned
    assert runs == 20
    # The speed-up's run-to-run part: 3% per measurement, two measurements per class, two classes per
    # category, two categories: sqrt(2) * 3% / 2 / sqrt(2) = 1.5% overall.
    assert 0.007 < noise["relative/overall"][0] < 0.03 and noise["relative/overall"][1] == 16
    # Absolute: the 8% category drift dominates: sqrt(8%² + 3%²/2) / sqrt(2) ≈ 5.9% overall.
    assert 0.035 < noise["absolute/overall"][0] < 0.09
    # One measurement's log median: sqrt(8%² + 3%²) ≈ 8.5%.
    assert 0.06 < noise["measurement/hashing"][0] < 0.12


def test_one_run_with_the_learned_noise_covers_and_sampling_alone_does_not(truth, learned):
    noise, runs = learned
    rng = np.random.default_rng(2)
    honest = naive = 0
    trials = 150
    for _ in range(trials):
        run = [_run(rng)]
        res = _score(run, noise, runs)
        assert res.ci_basis == "machine" and "learned from 20 runs" in res.ci_label
        honest += _covers(res.speedup_ci, truth[0])
        alone = _score(run)
        assert alone.ci_basis == "sampling" and alone.ci_label == "one run: sampling noise only"
        naive += _covers(alone.speedup_ci, truth[0])
    assert 0.88 <= honest / trials <= 0.99, honest / trials
    assert naive / trials < 0.85, naive / trials  # why the label is needed


def test_the_time_of_one_measurement_covers_with_the_learned_noise(learned):
    # The median of a measurement's run medians is its true time (symmetric shifts in log).
    noise, runs = learned
    rng = np.random.default_rng(5)
    honest = naive = total = 0
    for _ in range(60):
        run = _run(rng)
        for k in KEYS:
            m = Measurement(k[3], run[k], 1, run_noise=noise[f"measurement/{CATEGORY[k]}"])
            honest += _covers(m.ci, math.exp(TRUE[k]))
            naive += _covers(m.sampling_ci, math.exp(TRUE[k]))
            total += 1
    assert 0.88 <= honest / total <= 0.99, honest / total
    assert naive / total < 0.5, naive / total


def _record(runs, noise=None):
    """A record's data with the selected backends' samples and run medians, as kit.records writes it."""
    ms = []
    for k in KEYS:
        raw = [x for r in runs for x in r[k]]
        d = {"operation": k[0], "size": k[1], "kind": k[2], "backend": k[3], "category": CATEGORY[k],
             "baseline": k[3] == _registry.operation(k[0]).baseline, "selected": k[3] != _registry.operation(k[0]).baseline,
             "median_s": float(np.median(raw)), "raw_s": raw, "nbytes": 1000}
        if len(runs) > 1:
            d["run_medians_s"] = [float(np.median(r[k])) for r in runs]
        ms.append(d)
    return {"schema": "kit.record", "schema_version": 1, "machine": {"cpu": "simulated"}, "machine_id": "sim",
            "measurements": ms, "score": {"tier": "STANDARD", "value": 20.0}, "preset": "quick",
            "run_noise": {k: list(v) for k, v in (noise or {}).items()} or None}


def test_a_hardware_index_covers_with_runs_or_the_learned_noise(learned):
    # Same machine model on both sides: the median of index estimates (a 5-run reference, one run here)
    # is 1 by symmetry of the simulation.
    noise, _ = learned
    rng = np.random.default_rng(3)
    honest = naive = pooled = 0
    trials = 100
    for _ in range(trials):
        ref = _record([_run(rng) for _ in range(5)], noise)
        run = _run(rng)
        hw = sc.hardware_index(_record([run], noise), ref)
        assert hw.ci_basis == "machine" and hw.ci_label.startswith("here: one run + its machine's run-to-run")
        honest += _covers(hw.ci, 1.0)
        alone = sc.hardware_index(_record([run]), _record([_run(rng)]))
        assert alone.ci_basis == "sampling" and alone.ci_label == "one run: sampling noise only"
        naive += _covers(alone.ci, 1.0)
        both = sc.hardware_index(_record([_run(rng) for _ in range(5)]), ref)
        assert both.ci_basis == "runs" and both.ci_label == "here: 5 runs; reference: 5 runs"
        pooled += _covers(both.ci, 1.0)
    assert 0.88 <= honest / trials <= 0.99, honest / trials
    assert 0.88 <= pooled / trials <= 0.99, pooled / trials
    assert naive / trials < 0.6, naive / trials


def test_records_say_what_their_intervals_cover(learned):
    noise, runs = learned
    rng = np.random.default_rng(4)
    res = _score([_run(rng)], noise, runs)
    rec = res.to_record().data
    assert rec["intervals"] == {"basis": "machine", "label": res.ci_label, "runs": 1}
    assert rec["run_noise"]["absolute/overall"] == list(noise["absolute/overall"])
    assert {m["ci_basis"] for m in rec["measurements"]} == {"machine"}
    assert "contention" in rec and rec["contention"]["level"] in ("quiet", "light", "contended", "unknown")
    plain = _score([_run(rng)]).to_record().data
    assert plain["intervals"]["label"] == "one run: sampling noise only" and plain["run_noise"] is None
