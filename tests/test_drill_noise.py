"""The noise drill's logic: its figures from seeded simulated runs, the busy loop always stopped, the
command's options. No timing here: the drill itself measures (``kit drill noise``)."""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from kit.records import noise_drill as nd
from kit.cli import main
from kit.records import SCHEMA, SCHEMA_VERSION

# --- the computations ---------------------------------------------------------------------------------


def test_coverage_counts_the_intervals_that_hold_the_median_of_the_estimates():
    est = [(1.00, 0.98, 1.02), (1.05, 1.01, 1.09), (0.90, 0.88, 0.99), (1.02, 0.99, 1.03), (1.10, 1.06, 1.14)]
    frac, center = nd.coverage(est)
    assert center == 1.02 and frac == pytest.approx(3 / 5)  # the first, second and fourth hold 1.02
    assert nd.coverage([(2.0, 2.0, 2.0)]) == (1.0, 2.0)  # an interval's ends count as inside
    with pytest.raises(ValueError, match="at least one"):
        nd.coverage([])


def test_rates_and_shifts():
    assert nd.rate([True] * 19 + [False]) == (19, 20)
    assert nd.rate([]) == (0, 0)
    assert nd.shift([50.0, 52.0, 48.0], [46.0, 45.0, 47.0]) == pytest.approx(46 / 50 - 1)
    assert nd.shift([1.0], []) is None


def _cls(backend, t_selected, t_other, speedup=2.0, baseline="hashlib.sha256", key=("digest", "small", "random")):
    op, size, kind = key
    return {"classes": [{"operation": op, "size": size, "kind": kind, "baseline": baseline, "backend": backend,
                         "speedup": speedup}],
            "measurements": [{"operation": op, "size": size, "kind": kind, "backend": backend, "median_s": t_selected},
                             {"operation": op, "size": size, "kind": kind, "backend": "x", "median_s": t_other}]}


def test_selection_changes_tell_close_calls_from_clear_ones():
    close = [_cls("a", 1.0, 1.03), _cls("b", 1.0, 1.02), _cls("a", 1.0, 1.04)]
    s = nd.selection_changes(close)
    assert s["classes"] == 1 and s["changes"] == 2 and s["changed"] == {"digest small random": ["a", "b", "a"]}
    assert s["clear_changed"] == [] and s["below_one"] == []
    clear = [_cls("a", 1.0, 1.5), _cls("b", 1.0, 1.4), _cls("b", 1.0, 1.6)]
    assert nd.selection_changes(clear)["clear_changed"] == ["digest small random"]
    slow = [_cls("blake2b", 1.0, 1.2, speedup=0.82), _cls("hashlib.sha256", 1.0, 1.2, speedup=1.0)]
    assert nd.selection_changes(slow)["below_one"] == ["digest small random: blake2b 0.82x"]
    assert nd.selection_changes([])["classes"] == 0


# --- the busy loop ------------------------------------------------------------------------------------


def test_the_busy_loop_spins_one_process_and_is_always_stopped():
    with nd.busy_loop() as procs:
        assert len(procs) == 1 and procs[0].poll() is None
        assert procs[0].args == [sys.executable, "-c", "while True: pass"]
    assert procs[0].poll() is not None  # killed and reaped
    with pytest.raises(RuntimeError, match="boom"):
        with nd.busy_loop(cores=2) as procs:
            raise RuntimeError("boom")
    assert len(procs) == 2 and all(p.poll() is not None for p in procs)


def test_a_busy_loop_that_fails_to_start_its_second_process_stops_the_first():
    started = []

    class Proc:
        def __init__(self):
            self.killed = self.waited = False

        def kill(self):
            self.killed = True

        def wait(self, timeout=None):
            self.waited = True

    def popen(cmd, **kw):
        if started:
            raise OSError("no more processes")
        started.append(Proc())
        return started[0]

    with pytest.raises(OSError, match="no more processes"):
        with nd.busy_loop(cores=2, popen=popen):
            pass  # never reached
    assert started[0].killed and started[0].waited


# --- the drill, on seeded simulated runs ---------------------------------------------------------------

TIMES = {("digest", "hashlib.sha256", True): 1e-4, ("digest", "blake3", False): 2e-5,
         ("fingerprint", "hashlib.blake2b", True): 5e-5, ("fingerprint", "xxh3_128", False): 1e-6}


class Simulated:
    """A runner that returns records as `kit score` would, from seeded samples: runs drift 2% apart
    (log-normal), calls 2%; a slowed backend is ``factor`` slower; under the busy loop every time is
    15% longer and the record says it was contended. The index and score carry intervals built so
    that their coverage is known."""

    def __init__(self, seed=0, times=None, run_sd=None, overhead=1.0):
        self.rng = np.random.default_rng(seed)
        self.overhead = overhead  # the slowdown wrapper's own cost, on top of the factor
        self.times = times or TIMES
        self.run_sd = run_sd or {}  # a backend's own run-to-run spread, on top of the shared 2%
        self.busy = False
        self.calls = []

    @contextlib.contextmanager
    def loop(self):
        self.busy = True
        try:
            yield []
        finally:
            self.busy = False

    def __call__(self, runs=1, as_reference=False, slowdown=None, reference=None, extend=False, probe=False):
        data = self._record(runs, as_reference, slowdown, extend, probe)
        if not as_reference:
            return data
        if extend:  # kit score --as-reference --extend: this sitting's runs pooled into the reference
            old = self.reference
            for m, o in zip(data["measurements"], old["measurements"]):
                m["run_medians_s"] = (m.get("run_medians_s") or [m["median_s"]]) + (
                    o.get("run_medians_s") or [o["median_s"]])
                m["raw_s"] += o["raw_s"]
                m["median_s"] = float(np.median(m["raw_s"]))
            data["sittings"] += old["sittings"]
            if old.get("contention"):  # a sitting measured under contention stays in the pooled record
                data.setdefault("contention", old["contention"])
            data["runs"] += old["runs"]
        self.reference = data
        return data

    def _record(self, runs, as_reference, slowdown, extend, probe=False):
        self.calls.append({"runs": runs, "as_reference": as_reference, "slowdown": slowdown, "busy": self.busy,
                           **({"extend": True} if extend else {}), **({"probe": True} if probe else {})})
        i = len(self.calls)
        slow = {k.split(":")[1]: f for k, f in (slowdown or {}).items()}
        ms, classes = [], []
        for (op, backend, base), t in self.times.items():
            t = t * slow.get(backend, 1.0) * (self.overhead if backend in slow else 1.0) * (1.15 if self.busy else 1.0)
            own = self.run_sd.get(backend, 0.0)
            per_run = [t * math.exp(self.rng.normal(0, 0.02) + (self.rng.normal(0, own) if own else 0.0))
                       * np.exp(self.rng.normal(0, 0.02, 9)) for _ in range(runs)]
            raw = [float(x) for r in per_run for x in r]
            m = {"operation": op, "size": "medium", "kind": "random", "backend": backend, "baseline": base,
                 "selected": not base, "median_s": float(np.median(raw)), "raw_s": raw, "nbytes": 1000,
                 "category": "hashing"}
            if runs > 1:
                m["run_medians_s"] = [float(np.median(r)) for r in per_run]
            ms.append(m)
        pairs = {op: [b for (o, b, is_base) in self.times if o == op and is_base][0] for op, _, _ in self.times}
        for op, base, sel in [(op, pairs[op], b) for (op, b, is_base) in self.times if not is_base]:
            b = next(m for m in ms if m["backend"] == base)
            s = next(m for m in ms if m["backend"] == sel)
            classes.append({"operation": op, "size": "medium", "kind": "random", "baseline": base, "backend": sel,
                            "speedup": b["median_s"] / s["median_s"]})
        # Index values 0.95, 0.96, ... with intervals of +-0.025: coverage is known exactly.
        value = 0.95 + 0.01 * (i % 10)
        data = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "machine": {"cpu": "sim", "cores": 2},
                "machine_id": "sim", "measurements": ms, "classes": classes, "preset": "quick", "runs": runs,
                "score": {"value": 50.0 + (i % 10), "ci": [47.0 + (i % 10), 53.0 + (i % 10)], "tier": "ENHANCED"},
                "hardware_index": {"value": value, "ci": [value - 0.025, value + 0.025],
                                   "categories": {"hashing": {"value": value, "ci": [value - 0.025, value + 0.025]}}},
                "libraries": {}, "kit_version": "0.1.0", "sittings": [{"started": f"call {i}", "runs": runs}]}
        if self.busy:
            data["contention"] = {"level": "contended", "summary": "beside a busy core (simulated)"}
        return data


def test_the_drill_runs_in_order_and_computes_its_figures():
    sim = Simulated(seed=3)
    lines = []
    f = nd.noise_drill(runs=10, loaded=2, trials=20, operations=["digest", "fingerprint"], run=sim,
                       busy=sim.loop, say=lines.append, trial_runs=1, probe_runs=0)
    calls = sim.calls
    # Single-run trials: the reference's first sitting (1 run), then 20 quiet runs interleaved with 20 slowed
    # ones, with the reference's other 4 sittings before rounds 5, 10 and 15 and after the last, then unchanged
    # and slowed runs beside the busy loop, and only those.
    assert calls[0] == {"runs": 1, "as_reference": True, "slowdown": None, "busy": False}
    assert [i for i, c in enumerate(calls) if c.get("extend")] == [11, 22, 33, 44]
    assert all(calls[i]["as_reference"] and calls[i]["runs"] == 1 for i in (11, 22, 33, 44))
    middle = [c for c in calls[1:45] if not c["as_reference"]]
    assert [c["slowdown"] is not None for c in middle] == [False, True] * 20
    assert not any(c["busy"] for c in calls[:45]) and all(c["busy"] for c in calls[45:]) and len(calls) == 49
    # Without a probe: the selected backend whose calls are longest, digest's blake3 (20 us against xxh3's 1 us).
    assert f["target"] == "digest:blake3" and middle[1]["slowdown"] == {"digest:blake3": 1.25}
    assert f["realised_slowdown"]["medium random"] == pytest.approx(1.25, rel=0.03)
    assert f["runs"] == {"reference": 5, "quiet": 20, "slowed": 20, "loaded": 2, "trial_runs": 1,
                         "reference_sittings": 5}
    # Index values cycle 0.95..1.04 with the call number: median 0.995 or so,
    # and only intervals within 0.025 of it hold it.
    quiet_calls = [n for n, c in enumerate(calls, 1) if not (c["as_reference"] or c["slowdown"] or c["busy"])]
    values = [0.95 + 0.01 * (i % 10) for i in quiet_calls]
    center = float(np.median(values))
    expected = sum(abs(v - center) <= 0.025 + 1e-12 for v in values) / len(values)
    assert f["coverage"]["index"]["coverage"] == pytest.approx(expected)
    assert f["coverage"]["index"]["median"] == pytest.approx(center) and f["coverage"]["score"]["runs"] == 20
    # Under the busy loop every time is 15% longer: scores and indexes as simulated, verdicts by the rule.
    assert set(f["load_shift"]) == {"score", "index", "categories"} and "hashing" in f["load_shift"]["categories"]
    v = f["verdicts"]
    assert v["quiet_vs_quiet"]["n"] == 19 and v["quiet_vs_quiet"]["FAIL"] == 0  # single runs never FAIL
    assert v["loaded_vs_quiet"]["INCONCLUSIVE"] == v["loaded_vs_quiet"]["names_load"] == 2
    assert v["loaded_slowed_vs_reference"]["PASS"] == 0 and v["loaded_slowed_vs_reference"]["n"] == 2
    assert f["detection"]["trials"] == f["false_alarms"]["trials"] == 20
    assert f["detection"]["flagged"] >= 19 and f["false_alarms"]["flagged"] <= 1, (f["detection"], f["false_alarms"])
    seen = v["slowed_vs_reference"]["target_changes"]["medium random"]
    assert seen["ratio"] == pytest.approx(1.25, rel=0.05) and 0 < seen["detectable"] < 0.25
    seeable = v["unchanged_vs_reference"]["detectable"]
    assert set(seeable) == {"digest medium random blake3", "fingerprint medium random xxh3_128"}
    assert all(0 < x < 0.25 for x in seeable.values())  # 2% noise: a 25% change is seen in both
    assert f["contention"]["loaded"] == {"contended": 2} and f["contention"]["reference"] == "unknown"
    assert f["selection"]["classes"] == 2 and f["selection"]["below_one"] == []
    assert lines[0] == "reference: 5 pooled runs in 5 sittings, the first 1 now" and any("beside a busy core" in line for line in lines)
    text = nd.format_figures(f)
    assert max(len(line) for line in text.splitlines()) <= 100
    for needle in ("interval coverage (>= 90%)", "detection, digest:blake3 x1.25", "false alarms", "seen / detectable",
                   "quiet vs quiet (never FAIL)", "slowed under load (never PASS)",
                   "selected classes where x1.25 is detectable", "2 of 2"):
        assert needle in text
    json.dumps(f)  # JSON-ready


def test_pooled_trials_are_their_own_records_and_the_quiet_runs_stay_single():
    sim = Simulated(seed=5)
    f = nd.noise_drill(runs=4, loaded=1, trials=6, operations=["digest", "fingerprint"], run=sim, busy=sim.loop,
                       probe_runs=0)
    calls = sim.calls
    # By default each trial pools 3 runs: 4 single quiet runs for the coverage, then per trial an
    # unchanged and a slowed 3-run record; the loaded runs stay single.
    assert calls[0]["runs"] == 1 and calls[0]["as_reference"]
    assert sum(1 for c in calls if c.get("extend")) == 4 and f["runs"]["reference"] == 5
    quiet = [c for c in calls[1:] if c["runs"] == 1 and not c["busy"] and not c["as_reference"]]
    trials = [c for c in calls[1:] if c["runs"] == 3]
    assert len(quiet) == 4 and all(c["slowdown"] is None for c in quiet)
    assert [c["slowdown"] is not None for c in trials] == [False, True] * 6 and not any(c["busy"] for c in trials)
    assert sum(c["busy"] for c in calls) == 2 and len(calls) == 1 + 4 + 4 + 12 + 2
    assert f["runs"]["trial_runs"] == 3 and f["false_alarms"]["trials"] == f["detection"]["trials"] == 6
    assert f["detection"]["flagged"] == 6 and f["false_alarms"]["flagged"] == 0, (f["detection"], f["false_alarms"])
    assert f["coverage"]["index"]["runs"] == 4



def test_the_probe_chooses_the_selected_backend_whose_speed_moves_least_between_runs():
    # blake3 jumps between processes (25% run sd, as blake3 does on some VMs); xxh64's digest is steady;
    # xxh3_128's calls (1 us) are too short for the slowdown wrapper to stay honest.
    times = {**TIMES, ("digest", "xxh64", False): 3e-5}
    sim = Simulated(seed=11, times=times, run_sd={"blake3": 0.25})
    f = nd.noise_drill(runs=3, loaded=0, trials=3, operations=["digest", "fingerprint"], run=sim, busy=sim.loop)
    assert sim.calls[0] == {"runs": 6, "as_reference": False, "slowdown": None, "busy": False, "probe": True}
    assert sim.calls[1]["as_reference"] and not any(c.get("probe") for c in sim.calls[1:])
    tc = f["target_choice"]
    assert f["target"] == "digest:xxh64" and tc["by"] == "steadiest" and tc["probe_runs"] == 6
    assert set(tc["spreads"]) == {"digest:blake3", "digest:xxh64"}  # xxh3_128: calls under 10 us
    assert tc["spreads"]["digest:xxh64"] < tc["spreads"]["digest:blake3"]
    assert all(c["slowdown"] in (None, {"digest:xxh64": 1.25}) for c in sim.calls)
    text = nd.format_figures(f)
    assert "chosen: steadiest of 6 probe runs" in text and max(len(line) for line in text.splitlines()) <= 100


def test_a_detection_counts_only_where_the_slowdown_came_out_as_injected():
    # The wrapper's clock reads made 1.25x into 1.6x (as on calls of a few microseconds): any test sees
    # that, so it is reported, not counted.
    sim = Simulated(seed=3, overhead=1.3)
    f = nd.noise_drill(runs=4, loaded=0, trials=6, operations=["digest", "fingerprint"], run=sim, busy=sim.loop,
                       probe_runs=0)
    assert f["realised_slowdown"]["medium random"] == pytest.approx(1.625, rel=0.03)
    assert f["faithful_classes"] == [] and f["detection"]["flagged"] == 0
    assert f["detection"]["flagged_any_class"] == 6
    assert "counted in the classes slowed as injected" in nd.format_figures(f)
    plain = nd.noise_drill(runs=4, loaded=0, trials=6, operations=["digest", "fingerprint"], run=Simulated(seed=3),
                           busy=sim.loop, probe_runs=0)
    assert plain["faithful_classes"] == ["medium random"] and plain["detection"]["flagged"] == 6


def test_the_realised_slowdown_is_relative_to_each_runs_baseline():
    def rec(base, target):
        return {"classes": [{"operation": "digest", "size": "medium", "kind": "random", "baseline": "sha256",
                             "backend": "blake3"}],
                "measurements": [{"operation": "digest", "size": "medium", "kind": "random", "backend": "sha256",
                                  "median_s": base},
                                 {"operation": "digest", "size": "medium", "kind": "random", "backend": "blake3",
                                  "median_s": target}]}

    # The slowed runs met a machine 30% slower overall: the slowdown realised is still x1.25.
    quiet = [rec(100e-6, 20e-6), rec(100e-6, 20e-6)]
    slowed = [rec(130e-6, 32.5e-6)]
    assert nd.realised_slowdown(quiet, slowed, "digest:blake3") == {"medium random": pytest.approx(1.25)}


def test_steadiest_target_needs_runs_and_long_enough_calls():
    def m(backend, runs, base=False):
        return {"operation": "digest", "size": "medium", "kind": "random", "backend": backend, "baseline": base,
                "median_s": float(np.median(runs)), "run_medians_s": runs}

    def cls(backend):
        return {"operation": "digest", "size": "medium", "kind": "random", "baseline": "sha256", "backend": backend}

    probe = {"classes": [cls("blake3"), cls("xxh64")],
             "measurements": [m("sha256", [1e-4] * 3, True), m("blake3", [2e-5, 3e-5, 2e-5]),
                              m("xxh64", [5e-6, 5.1e-6, 4.9e-6])]}
    assert nd.steadiest_target(probe)[0] == "digest:blake3"  # xxh64's 5 us calls do not count
    assert nd.steadiest_target(probe, min_call=1e-6)[0] == "digest:xxh64"
    single = {**probe, "measurements": [{k: v for k, v in x.items() if k != "run_medians_s"}
                                        for x in probe["measurements"]]}
    assert nd.steadiest_target(single) == (None, {})

def test_a_contended_reference_is_made_again():
    sim = Simulated(seed=4)
    real = sim.__call__

    def run(**kw):
        rec = real(**kw)
        if kw.get("as_reference") and len(sim.calls) < 3:  # the first two references: contended
            rec["contention"] = {"level": "contended", "cpu_share_median": 0.5}
        return rec

    lines = []
    f = nd.noise_drill(runs=2, loaded=0, trials=1, operations=["digest"], run=run, busy=sim.loop, say=lines.append,
                       probe_runs=0)
    assert [c["as_reference"] and "extend" not in c for c in sim.calls[:4]] == [True, True, True, False]
    assert f["reference_attempts"] == 3 and f["contention"]["reference"] == "unknown"
    assert "making it again (3/3)" in lines[2] and "made 3 times" in nd.format_figures(f)
    sim.calls.clear()
    f = nd.noise_drill(runs=2, loaded=0, trials=1, operations=["digest"], run=run, busy=sim.loop,
                       reference_attempts=1)
    assert f["reference_attempts"] == 1 and f["contention"]["reference"] == "contended"
    assert "every validation against it is INCONCLUSIVE" in nd.format_figures(f)


def test_the_drill_refuses_bad_settings_before_running():
    sim = Simulated()
    for kw, match in (({"runs": 1}, "runs must be an integer >= 2, got 1"),
                      ({"trials": 0}, "trials must be an integer >= 1, got 0"),
                      ({"loaded": -1}, "loaded must be an integer >= 0, got -1"),
                      ({"reference_runs": 1}, "reference_runs must be an integer >= 2, got 1"),
                      ({"reference_attempts": 0}, "reference_attempts must be an integer >= 1, got 0"),
                      ({"slowdown": 1.0}, "slowdown must be a number > 1, got 1.0")):
        with pytest.raises(Exception, match=match):
            nd.noise_drill(run=sim, busy=sim.loop, **kw)
    with pytest.raises(ValueError, match="unknown operation 'nope'"):
        nd.noise_drill(operations=["nope"], run=sim, busy=sim.loop)
    assert sim.calls == []


def test_the_target_is_the_backend_whose_quickest_selected_class_is_slowest():
    def c(op, size, backend, t):
        return ({"operation": op, "size": size, "kind": "k", "baseline": "base", "backend": backend},
                {"operation": op, "size": size, "kind": "k", "backend": backend, "median_s": t})

    # orjson's medium class is the slowest of all, but its small one takes 3 us; blake3 is selected
    # only where its calls take 35 us.
    pairs = [c("json.encode", "small", "orjson", 3e-6), c("json.encode", "medium", "orjson", 5e-4),
             c("digest", "small", "base", 2e-6), c("digest", "medium", "blake3", 3.5e-5)]
    ref = {"classes": [p[0] for p in pairs], "measurements": [p[1] for p in pairs]}
    assert nd._auto_target(ref) == "digest:blake3"


def test_a_reference_that_selected_only_baselines_has_nothing_to_slow():
    from kit.errors import KitError

    ref = {"classes": [{"operation": "digest", "size": "small", "kind": "random", "baseline": "hashlib.sha256",
                        "backend": "hashlib.sha256"}], "measurements": []}
    with pytest.raises(KitError, match="nothing to slow down"):
        nd._auto_target(ref)


# --- one run: the command it starts -------------------------------------------------------------------


def test_score_run_starts_kit_score_with_the_drills_settings(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, **kw):
        seen["cmd"], seen["env"] = cmd, kw["env"]
        return subprocess.CompletedProcess(cmd, 0, stdout='progress\n{\n "schema": "kit.record", "runs": 5}\n',
                                           stderr="")

    monkeypatch.setattr(nd.subprocess, "run", fake_run)
    monkeypatch.setenv("KIT_RESULTS_DIR", "/elsewhere")
    rec = nd.score_run(tmp_path, ["digest", "json.encode"], ["medium"], runs=5, as_reference=True,
                       slowdown={"digest:blake3": 1.25})
    assert rec == {"schema": "kit.record", "runs": 5}
    cmd = seen["cmd"]
    assert cmd[:5] == [sys.executable, "-m", "kit.cli", "score", "--quick"] and "--no-reference" in cmd
    pairs = set(zip(cmd, cmd[1:]))
    for pair in (("--op", "digest"), ("--op", "json.encode"), ("--size", "medium"), ("--runs", "5"),
                 ("--inject-slowdown", "digest:blake3=1.25"), ("--results", str(tmp_path / "records"))):
        assert pair in pairs, pair
    assert "--as-reference" in cmd and seen["env"]["KIT_CACHE_DIR"] == str(tmp_path / "wisdom")
    assert "KIT_RESULTS_DIR" not in seen["env"]

    def failing(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 2, stdout="", stderr="kit score: error: unknown operation 'x'\n")

    monkeypatch.setattr(nd.subprocess, "run", failing)
    with pytest.raises(Exception, match="a kit score run failed .exit 2.: kit score: error: unknown operation"):
        nd.score_run(tmp_path, ["x"])


# --- the command --------------------------------------------------------------------------------------


def _one_line(capsys, code, *needles):
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err


def test_kit_drill_noise_options_and_output(monkeypatch, capsys, tmp_path):
    sim = Simulated(seed=5)
    monkeypatch.setattr(nd, "score_run", lambda folder, operations, sizes=None, **kw: sim(**kw))
    assert main(["drill", "noise", "--runs", "3", "--trials", "2", "--loaded", "1", "--ops", "digest,fingerprint",
                 "--ops", "json.encode", "--sizes", "medium", "--reference-runs", "3", "--reference-sittings", "1",
                 "--slowdown", "1.5",
                 "--target", "fingerprint:xxh3_128", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    f = json.loads(out.out)
    assert out.err == ""  # --quiet
    assert f["operations"] == ["digest", "fingerprint", "json.encode"] and f["target"] == "fingerprint:xxh3_128"
    assert f["slowdown"] == 1.5 and f["runs"] == {"reference": 3, "quiet": 3, "slowed": 2, "loaded": 1, "trial_runs": 3,
                           "reference_sittings": 1}
    # reference (3 runs in one sitting), quiet run 1, then trial 1: unchanged (3 runs) and slowed (3 runs)
    assert sim.calls[0]["runs"] == 3 and sim.calls[3]["slowdown"] == {"fingerprint:xxh3_128": 1.5}
    assert sim.calls[2]["runs"] == sim.calls[3]["runs"] == 3
    assert main(["drill", "noise", "--runs", "2", "--trials", "1", "--loaded", "0", "--ops", "digest"]) == 0
    out = capsys.readouterr()
    assert "kit drill noise" in out.out and max(len(line) for line in out.out.splitlines()) <= 100
    assert "kit drill noise: reference: 5 pooled runs in 5 sittings" in out.err
    _one_line(capsys, main(["drill", "noise", "--runs", "1"]), "runs must be an integer >= 2, got 1")
    _one_line(capsys, main(["drill", "noise", "--trial-runs", "0"]), "trial_runs must be an integer >= 1, got 0")
    _one_line(capsys, main(["drill", "noise", "--target", "blake3"]), "--target expects OP:BACKEND", "'blake3'")
    _one_line(capsys, main(["drill", "noise", "--ops", "nope"]), "unknown operation 'nope'")
    with pytest.raises(SystemExit) as exc:
        main(["drill", "noise", "--fast"])
    assert exc.value.code == 2 and "kit drill noise" in capsys.readouterr().err
    assert main(["drill"]) == 2 and "noise" in capsys.readouterr().out
