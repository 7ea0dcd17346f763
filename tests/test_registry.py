"""The registry: one table, derived choices, the same surface for every backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit import _registry

BACKENDS = [pytest.param(b, id=b.key) for b in _registry.all_backends()]


def test_every_operation_has_its_baseline_first():
    for op in _registry.operations():
        bs = op.backends()
        assert bs[0].name == op.baseline
        assert bs[0].available, f"baseline of {op.name} must always be available"
        assert op.category in _registry.CATEGORIES


@pytest.mark.parametrize("b", BACKENDS)
def test_backend_declares_features_and_same_surface(b):
    assert isinstance(b.features, frozenset)
    op = _registry.operation(b.operation)
    base = _registry.backend(op.name, op.baseline)
    # Every implementation of an operation shares the baseline's feature core.
    assert b.features & base.features, f"{b.key} shares no feature with its baseline"
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    fn = b.implementation()
    assert callable(fn)
    from kit.workloads import payload

    args = op.prepare(payload(op.kinds[0], 256, seed=1), b.name)
    fn(*args)  # the operation's signature is accepted


def test_unknown_names_list_the_valid_choices():
    with pytest.raises(ValueError, match="valid operations: json.encode, json.decode"):
        _registry.operation("json.encodee")
    with pytest.raises(ValueError, match="valid backends: json, orjson, msgspec, simdjson"):
        _registry.backend("json.decode", "ujson")


def test_missing_library_is_unavailable_with_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "orjson", None)
    _registry.reset_probes()
    try:
        b = _registry.backend("json.encode", "orjson")
        assert not b.available
        assert "blocked" in b.unavailable_reason()
        with pytest.raises(ImportError, match="unavailable"):
            b.implementation()
    finally:
        monkeypatch.undo()
        _registry.reset_probes()


def test_import_kit_is_light():
    heavy = ["numba", "polars", "pyarrow", "cupy", "ipywidgets", "matplotlib", "numpy", "orjson", "msgspec"]
    code = ("import sys, kit; kit.__version__; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import kit imported {out}"


def test_libraries_report_versions_without_import():
    libs = _registry.libraries()
    assert "orjson" in libs and "polars" in libs
