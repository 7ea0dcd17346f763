"""Test configuration: kit's wisdom goes to a temporary folder, never the user's cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="kit-tests-"))
os.environ["KIT_CACHE_DIR"] = str(_TMP / "cache")
os.environ.setdefault("KIT_QUICK", "1")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def fixed_codec_cost_model():
    """codec="auto" decides with a stored cost model, not one measured while the tests load the machine."""
    import json

    from kit import compression

    compression.set_cost_model(json.loads((ROOT / "tests" / "data" / "compress_cost_model.json").read_text())["model"])
    yield
    compression.set_cost_model(None)


@pytest.fixture(autouse=True)
def auto_decides_without_timing(monkeypatch):
    """Everywhere but where a test sets it, codec="auto" decides without timing anything: the per-shape
    decision cache is off and the untyped trial from 256 KiB reads a clock that never moves (the leading
    codec looks as fast as the model allows), so that what the tests see does not depend on the load.
    tests/test_compress_auto.py tests the timed parts with clocks it sets."""
    from kit.compression.auto import decision_cache

    monkeypatch.setattr(decision_cache(), "enabled", False)
    monkeypatch.setattr(decision_cache(), "clock", lambda: 0.0)


@pytest.fixture
def shared_data() -> Path:
    """The shared conformance data, or skip with the reason."""
    from kit._paths import shared_data as find

    p = find()
    if p is None:
        pytest.skip("../shared/data is absent (set KIT_SHARED_DATA to its path)")
    return p


@pytest.fixture
def fresh_engine(tmp_path, monkeypatch):
    """An engine with its own empty wisdom folder, installed as the process engine."""
    import kit
    from kit import config as _config
    from kit import registry as _registry
    from kit import engine

    original = kit.get_config()["cache_dir"]
    kit.set_config(cache_dir=str(tmp_path / "wisdom"))
    _registry.reset_probes()
    eng = engine.get_engine()
    yield eng
    kit.set_config(cache_dir=original)
    _registry.reset_probes()
    _config.mark_changed()
