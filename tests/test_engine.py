"""The engine: verification, selection, wisdom, overrides, missing libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kit
from kit import registry as _registry
from kit.engine import Engine, Row, choose, size_class, verify_backend
from kit.engine.measure import Measurement, speedup


def test_size_classes_bracket_the_payload_sizes():
    for name, n in _registry.SIZE_CLASSES.items():
        assert size_class(n) == name
    assert size_class(None) == "medium"


def test_the_engine_face_reexports_its_parts():
    import kit.engine
    from kit.engine import core, results, select, verify

    for name in kit.engine.__all__:
        assert getattr(kit.engine, name) is not None, name
    assert kit.engine.Engine is core.Engine and kit.engine.choose is select.choose
    assert kit.engine.BenchResult is results.BenchResult and kit.engine.Verification is verify.Verification
    assert (kit.tune, kit.bench, kit.info, kit.backend_for, kit.get_engine) == \
        (core.tune, core.bench, core.info, core.backend_for, core.get_engine)
    assert size_class is _registry.size_class


# --- selection: a significant win of at least 5%, from injected measurements ----------------------------


def _m(name, median, sd=0.01, n=15, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return Measurement(name, list(median * np.exp(rng.normal(0, sd, n))), 1, 100, **kw)


def _rows(times, kind="random", size="small", op="digest", sd=0.01, seed=0):
    """Rows of one class from ``{backend: median time}``; the baseline is the operation's."""
    baseline = _registry.operation(op).baseline
    ms = {n: _m(n, t, sd, seed=seed + i) for i, (n, t) in enumerate(times.items())}
    return [Row(op, size, kind, n, m, speedup(ms[baseline], m), n == baseline) for n, m in ms.items()]


def test_a_significant_win_of_at_least_5_percent_switches():
    c = choose("hashlib.sha256", _rows({"hashlib.sha256": 2.0, "blake3": 1.0}))
    assert c.backend == "blake3" and c.switched
    assert c.speedup[0] == pytest.approx(2.0, rel=0.03)
    assert "over hashlib.sha256 (the baseline): a significant win of over 5%" in c.reason


@pytest.mark.parametrize("other,sd", [(1.0 / 1.02, 0.08), (1.0 / 1.04, 0.002), (1.0 / 1.045, 0.01)])
def test_a_win_within_noise_or_under_5_percent_keeps_the_baseline(other, sd):
    c = choose("hashlib.sha256", _rows({"hashlib.sha256": 1.0, "hashlib.blake2b": other}, sd=sd))
    assert c.backend == "hashlib.sha256" and not c.switched
    assert c.reason.startswith("kept hashlib.sha256 (the baseline): best other hashlib.blake2b")
    assert "not a significant 5% win" in c.reason


def test_the_stored_choice_stays_unless_beaten_significantly():
    rows = _rows({"hashlib.sha256": 3.0, "blake3": 1.0, "hashlib.blake2b": 0.97})  # blake2b 3% faster than blake3
    c = choose("hashlib.sha256", rows, stored="blake3")
    assert c.backend == "blake3" and not c.switched
    assert c.reason.startswith("kept blake3 (the stored choice): best other hashlib.blake2b 1.0")
    assert choose("hashlib.sha256", rows).backend in {"blake3", "hashlib.blake2b"}  # both win over the baseline
    beaten = _rows({"hashlib.sha256": 3.0, "blake3": 1.0, "hashlib.blake2b": 0.8})
    c = choose("hashlib.sha256", beaten, stored="blake3")
    assert c.backend == "hashlib.blake2b" and "over blake3 (the stored choice)" in c.reason


def test_never_a_backend_measured_slower_than_the_baseline():
    rows = _rows({"hashlib.sha256": 1.0, "hashlib.blake2b": 1.0 / 0.82})  # the 0.82x
    c = choose("hashlib.sha256", rows, stored="hashlib.blake2b")
    assert c.backend == "hashlib.sha256"
    assert c.reason.startswith("the stored hashlib.blake2b measured 0.82x the baseline; kept hashlib.sha256")
    assert choose("hashlib.sha256", rows).backend == "hashlib.sha256"
    gone = choose("hashlib.sha256", _rows({"hashlib.sha256": 1.0}), stored="blake3")
    assert gone.backend == "hashlib.sha256" and "the stored blake3 was not measured here" in gone.reason


def test_a_contender_timed_once_is_never_chosen():
    rows = _rows({"hashlib.sha256": 1.0})
    base = rows[0].measurement
    once = Measurement("blake3", [0.1], 1, 100, timed_once=True)
    rows.append(Row("digest", "small", "random", "blake3", once, speedup(base, once), False))
    assert choose("hashlib.sha256", rows).backend == "hashlib.sha256"


def test_the_speedup_is_a_geometric_mean_over_payload_kinds():
    # 1.5x faster on one kind, 1.2x slower on another: 1.118x overall, a significant win of over 5%.
    rows = (_rows({"zlib": 1.5, "lz4": 1.0}, kind="text", op="compress")
            + _rows({"zlib": 1.0, "lz4": 1.2}, kind="random", op="compress", seed=5))
    c = choose("zlib", rows)
    assert c.backend == "lz4" and c.speedup[0] == pytest.approx((1.5 / 1.2) ** 0.5, rel=0.03)
    worse = (_rows({"zlib": 1.2, "lz4": 1.0}, kind="text", op="compress")
             + _rows({"zlib": 1.0, "lz4": 1.2}, kind="random", op="compress", seed=5))
    assert choose("zlib", worse).backend == "zlib"


def test_repeated_runs_never_flip_a_choice_ten_percent_ahead_and_never_select_below_1():
    # 40 seeded runs of a class whose best two contenders differ by 12%, with 4% sample noise and a
    # shared 3% run shift: the first run's choice stays, and no choice is slower than the baseline.
    rng = np.random.default_rng(0)
    stored, choices = None, []
    for run in range(40):
        shift = np.exp(rng.normal(0, 0.03))
        rows = _rows({"hashlib.sha256": 4.0 * shift, "blake3": 1.0 * shift, "hashlib.blake2b": 1.12 * shift},
                     sd=0.04, seed=100 * run)
        c = choose("hashlib.sha256", rows, stored=stored)
        assert c.speedup[0] >= 1.0
        stored = c.backend
        choices.append(c.backend)
    assert set(choices) == {"blake3"}
    # Two contenders within noise of the baseline: the baseline is kept in every run.
    kept = [choose("hashlib.sha256", _rows({"hashlib.sha256": 1.0, "hashlib.blake2b": 0.99}, sd=0.05, seed=7 * r)).backend
            for r in range(40)]
    assert set(kept) == {"hashlib.sha256"}


def test_tune_keeps_the_stored_choice_and_records_why(fresh_engine, monkeypatch):
    plan = {}

    def measure(op_name, size, kind, backends=None, preset="quick", seed=0):
        return _rows(plan[size], kind=kind, size=size, op=op_name)

    monkeypatch.setattr(fresh_engine, "measure", measure)
    plan.update(small={"hashlib.sha256": 2.0, "blake3": 1.0, "hashlib.blake2b": 1.9},
                medium={"hashlib.sha256": 1.0, "blake3": 0.99, "hashlib.blake2b": 0.995})
    res = fresh_engine.tune(["digest"], sizes=["small", "medium"])
    assert res.selected["digest"] == {"small": "blake3", "medium": "hashlib.sha256"}
    assert "a significant win" in res.reasons["digest"]["small"]
    assert res.reasons["digest"]["medium"].startswith("kept hashlib.sha256 (the baseline)")
    # The next run: blake2b now 4% ahead of blake3 on small: not enough to move the stored choice.
    plan["small"] = {"hashlib.sha256": 2.0, "blake3": 1.0, "hashlib.blake2b": 0.96}
    res = fresh_engine.tune(["digest"], sizes=["small"])
    assert res.selected["digest"]["small"] == "blake3"
    assert res.reasons["digest"]["small"].startswith("kept blake3 (the stored choice)")
    assert fresh_engine.wisdom.reasons(_registry.operation("digest"))["small"] == res.reasons["digest"]["small"]
    assert fresh_engine.selection("digest", "small") == ("blake3", "measured")
    data = res.to_dict()
    assert data["reasons"]["digest"]["small"].startswith("kept blake3")
    assert data["contention"]["level"] in ("quiet", "light", "contended", "unknown")
    notes = res.notes()
    assert notes.startswith("contention: ") and "why these choices" in notes
    assert "95% intervals of times: one run: sampling noise only" in notes
    assert data["intervals"]["times"] == "one run: sampling noise only"
    assert all(len(line) <= 100 for line in str(res.why_table()).splitlines())
    # A new engine (new process) reuses the wisdom without measuring.
    again = Engine(fresh_engine.wisdom.dir)
    again.tune = lambda *a, **k: pytest.fail("measured although wisdom was fresh")
    assert again.selection("digest", "small") == ("blake3", "measured")


def test_a_real_tune_selects_only_verified_backends_and_persists(fresh_engine):
    res = fresh_engine.tune(["fingerprint"], sizes=["small"])
    chosen = res.selected["fingerprint"]["small"]
    assert fresh_engine.verification("fingerprint", chosen).ok
    assert fresh_engine.wisdom.path.exists() and res.reasons["fingerprint"]["small"]
    assert all(r.measurement.cpu_share is None or 0 < r.measurement.cpu_share <= 1 for r in res.rows)
    # Once the machine has learned its run-to-run noise (kit score --runs N), times' intervals carry it.
    fresh_engine.wisdom.store_run_noise("quick/wall", {"measurement/hashing": (0.0025, 4)}, runs=5)
    res = fresh_engine.tune(["fingerprint"], sizes=["small"])
    assert {r.measurement.ci_basis for r in res.rows} == {"machine"}
    assert res.intervals == "one run and this machine's run-to-run noise (learned from 5 runs)"
    m = res.rows[0].measurement
    assert m.ci[0] < m.sampling_ci[0] and m.ci[1] > m.sampling_ci[1]


def test_stale_wisdom_is_remeasured(fresh_engine):
    fresh_engine.tune(["fingerprint"], sizes=["small"])
    data = json.loads(fresh_engine.wisdom.path.read_text())
    data["operations"]["fingerprint"]["versions"]["xxh3_128"] = "0.0.1"  # a library upgrade
    fresh_engine.wisdom.path.write_text(json.dumps(data))
    again = Engine(fresh_engine.wisdom.dir)
    calls = []
    real = again.tune
    again.tune = lambda *a, **k: calls.append(a) or real(*a, **k)
    again.selection("fingerprint", "small")
    assert calls, "stale wisdom was trusted"


def test_damaged_wisdom_is_ignored_with_a_warning(fresh_engine):
    fresh_engine.tune(["digest"], sizes=["small"])
    fresh_engine.wisdom.path.write_text("{ not json")
    with pytest.warns(UserWarning, match="damaged wisdom"):
        again = Engine(fresh_engine.wisdom.dir)
    assert again.wisdom.selection(_registry.operation("digest")) is None


def test_tune_off_uses_the_baseline_and_says_so(fresh_engine):
    with kit.config_context(tune="off"):
        assert fresh_engine.selection("digest", "large") == ("hashlib.sha256", "baseline")


def test_overrides_argument_context_environment():
    assert kit.digest(b"abc", backend="hashlib.sha256").hex().startswith("ba7816bf")
    with kit.config_context(backends={"digest": "hashlib.blake2b"}):
        assert kit.backend_for("digest") == "hashlib.blake2b"
        assert kit.digest(b"abc") == __import__("hashlib").blake2b(b"abc", digest_size=32).digest()
    env = {**os.environ, "KIT_BACKENDS": "digest=hashlib.sha256,fingerprint=hashlib.blake2b"}
    out = subprocess.run([sys.executable, "-c", "import kit; print(kit.backend_for('digest'), kit.backend_for('fingerprint'))"],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["hashlib.sha256", "hashlib.blake2b"]


def test_contexts_resolve_once_per_configuration_and_threads_keep_their_own():
    import threading

    eng = kit.get_engine()
    with kit.config_context(backends={"digest": "hashlib.blake2b"}):
        first = eng.binding("digest")
        assert eng.binding("digest") is first  # cached for this context: a lookup per call, not a resolution
        assert first.names == ("hashlib.blake2b",) * 3
        seen = {}
        started, done = threading.Event(), threading.Event()

        def other():
            with kit.config_context(backends={"digest": "hashlib.sha256"}):
                seen["inner"] = kit.backend_for("digest"), eng.binding("digest").names[0]
                started.set()
                done.wait(5)
            seen["outside"] = kit.backend_for("digest")

        t = threading.Thread(target=other)
        t.start()
        started.wait(5)
        # The other thread's context bumped the generation: this thread re-resolves, to its own choice.
        assert eng.binding("digest").names[0] == "hashlib.blake2b"
        assert kit.digest(b"abc") == __import__("hashlib").blake2b(b"abc", digest_size=32).digest()
        done.set()
        t.join(5)
    assert seen["inner"] == ("hashlib.sha256", "hashlib.sha256")
    assert seen["outside"] == kit.backend_for("digest")


def test_unknown_override_lists_valid_choices():
    with pytest.raises(ValueError, match="valid backends: hashlib.sha256, blake3, hashlib.blake2b"):
        with kit.config_context(backends={"digest": "md5"}):
            pass
    with pytest.raises(ValueError, match="valid operations"):
        kit.backend_for("digestt")
    env = {**os.environ, "KIT_BACKENDS": "digest"}
    r = subprocess.run([sys.executable, "-c", "import kit; kit.backend_for('digest')"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "operation=backend" in r.stderr


def test_missing_library_falls_back_and_forced_use_raises(fresh_engine, monkeypatch):
    monkeypatch.setitem(sys.modules, "blake3", None)
    _registry.reset_probes()
    fresh_engine._verified.clear()
    res = fresh_engine.tune(["digest"], sizes=["small"])
    assert "blake3" not in {r.backend for r in res.rows}
    assert kit.digest(b"x") and kit.backend_for("digest") != "blake3"
    with pytest.raises(kit.errors.BackendUnavailable, match="blake3 is blocked"):
        kit.digest(b"x", backend="blake3")
    row = next(r for r in kit.info(verify=False).rows if r["backend"] == "blake3")
    assert not row["available"] and "blocked" in row["status"]


def test_failed_verification_is_never_selected(fresh_engine):
    res = fresh_engine.tune(["json.decode"], sizes=["small"])
    assert "orjson" not in {r.backend for r in res.rows}
    assert res.selected["json.decode"]["small"] != "orjson"


def test_a_wrong_backend_fails_verification():
    op = _registry.operation("digest")
    bad = _registry.Backend("digest", "truncated", (), None, lambda: (lambda d: __import__("hashlib").sha256(d).digest()[:16]))
    v = verify_backend(op, bad)
    assert not v.ok and "differs" in v.problems[0]


def test_info_renders_as_text_html_and_data():
    info = kit.info(verify=False)
    assert "json.decode" in str(info) and "<table" in info._repr_html_()
    data = info.to_dict()
    assert {"machine", "wisdom", "backends"} <= set(data)
    assert set(info.operations()) >= {"json.encode", "json.decode", "fingerprint", "digest", "compress",
                                      "decompress", "table.groupby", "table.roundtrip"}
    v = kit.show_versions().to_dict()
    assert v["kit"] == kit.__version__ and "orjson" in v


@pytest.mark.parametrize("b", [pytest.param(b, id=b.key) for b in _registry.all_backends()
                               if not b.operation.startswith("json")])
def test_every_backend_verifies_or_says_why(b):
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    v = kit.get_engine().verification(b.operation, b.name)
    assert v.ok, v.problems
    assert v.cases > 0
