"""The engine: verification, selection, wisdom, overrides, missing libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

import kit
from kit import _registry
from kit.engine import Engine, size_class, verify_backend


def test_size_classes_bracket_the_payload_sizes():
    for name, n in _registry.SIZE_CLASSES.items():
        assert size_class(n) == name
    assert size_class(None) == "medium"


def test_tune_selects_the_fastest_verified_and_persists(fresh_engine, tmp_path):
    res = fresh_engine.tune(["fingerprint", "digest"], sizes=["small", "medium"])
    for op in ("fingerprint", "digest"):
        for size in ("small", "medium"):
            rows = [r for r in res.rows if r.operation == op and r.size == size]
            best = max(rows, key=lambda r: r.speedup[0])
            chosen = res.selected[op][size]
            assert fresh_engine.verification(op, chosen).ok
            # the selection is the best of this run (single payload kind)
            assert chosen == best.backend
    assert fresh_engine.wisdom.path.exists()
    # A new engine (new process) reuses the wisdom without measuring.
    again = Engine(fresh_engine.wisdom.dir)
    again.tune = lambda *a, **k: pytest.fail("measured although wisdom was fresh")
    assert again.selection("digest", "medium") == (res.selected["digest"]["medium"], "measured")


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
