"""The registry: one table, derived choices, the same surface for every backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit import registry as _registry

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


def test_every_operation_declares_its_output_contract():
    for op in _registry.operations():
        assert op.output in _registry.OUTPUTS
        if op.output == _registry.ALGORITHM:
            # Different algorithms: each backend names its own, once in the whole registry, OCI-style.
            names = [b.algorithm for b in op.backends()]
            assert all(n and n == n.lower() for n in names) and len(set(names)) == len(names)
            assert _registry.default_algorithm(op.name) == op.backends()[0].algorithm
        else:
            assert all(b.algorithm is None for b in op.backends())
            with pytest.raises(ValueError, match="implementation choice"):
                _registry.default_algorithm(op.name)
    assert {op.name for op in _registry.operations() if not op.interchangeable} == {"fingerprint", "digest"}
    with pytest.raises(ValueError, match="output 'bytes' not in"):
        _registry.declare_operation(_registry.Operation(
            "x.bad", "json", "", "json", "", (), lambda d, b: (d,), lambda a, b: True, "", lambda b: [],
            output="bytes"))


def test_fallback_classes_name_the_input_not_its_position():
    assert _registry.input_class(_registry.Declined("floats 1e-9 <= |x| < 1e-4", "why")) == "floats 1e-9 <= |x| < 1e-4"
    assert _registry.input_class(ValueError("Expecting value: line 1 column 5 (char 4)")) == "ValueError: Expecting value"
    assert _registry.input_class(RuntimeError("BIGINT_ERROR")) == "RuntimeError: BIGINT_ERROR"
    try:
        "\ud800".encode("utf-8")
    except UnicodeEncodeError as exc:
        assert _registry.input_class(exc) == "UnicodeEncodeError: surrogates not allowed"
    assert isinstance(_registry.Declined("c"), ValueError)  # callers that catch ValueError see it


def _fake(op: str, name: str, fn) -> _registry.Backend:
    return _registry.Backend(op, name, (), None, lambda: fn, frozenset({"bytes-output"}))


def test_verification_reports_differences_and_fallbacks_by_generated_input_class():
    import datetime

    from kit.registry.json import stdlib_encode
    from kit.engine import verify_backend

    op = _registry.operation("json.encode")

    def drops_leading_zeros(obj, default=None):  # the orjson 3.x bug the issue found, as a backend
        out = stdlib_encode(obj, default)
        if isinstance(obj, datetime.time) and 10_000 <= obj.microsecond < 100_000:
            out = out.replace(f".{obj.microsecond:06d}".encode(), f".{obj.microsecond}".encode())
        return out

    v = verify_backend(op, _fake("json.encode", "buggy", drops_leading_zeros))
    assert not v.ok
    assert any(p.startswith("times (microseconds, offsets) (generated): ") and "differ from the baseline" in p
               for p in v.problems), v.problems
    assert v.cases > 400  # the fixed corpus and the generated one

    def declines_small_floats(obj, default=None):
        out = stdlib_encode(obj, default)
        if b"e-0" in out:
            raise _registry.Declined("floats 1e-9 <= |x| < 1e-4")
        return out

    v = verify_backend(op, _fake("json.encode", "careful", declines_small_floats))
    assert v.ok, v.problems
    assert any(g.startswith("floats 1e-9 <= |x| < 1e-4 (generated): 25 of 25 fall back") for g in v.gives_way)


def test_decode_verification_catches_a_backend_that_accepts_what_the_baseline_rejects():
    from kit.registry.json import stdlib_decode
    from kit.engine import verify_backend

    def skips_bom(data):
        if isinstance(data, str):
            data = data.lstrip("\ufeff")
        return stdlib_decode(data)

    v = verify_backend(_registry.operation("json.decode"), _fake("json.decode", "lenient", skips_bom))
    assert any("U+FEFF" in p and "returned a result where the baseline raises" in p for p in v.problems), v.problems


def test_available_lists_the_backends_that_can_run_here_baseline_first(monkeypatch):
    for op in _registry.operations():
        names = _registry.available(op.name)
        assert names[0] == op.baseline
        assert names == [b.name for b in op.backends() if b.available]
    monkeypatch.setitem(sys.modules, "blake3", None)
    _registry.reset_probes()
    try:
        assert "blake3" not in _registry.available("digest")
        assert _registry.available("digest")[0] == "hashlib.sha256"
    finally:
        monkeypatch.undo()
        _registry.reset_probes()
    with pytest.raises(ValueError, match="valid operations"):
        _registry.available("digestt")


def test_size_classes_meet_at_the_geometric_midpoints():
    sizes = _registry.SIZE_CLASSES
    assert _registry.SMALL_MAX == int((sizes["small"] * sizes["medium"]) ** 0.5)
    assert _registry.MEDIUM_MAX == int((sizes["medium"] * sizes["large"]) ** 0.5)
    for name, n in sizes.items():
        assert _registry.size_class(n) == name
    assert [_registry.size_class(n) for n in (_registry.SMALL_MAX - 1, _registry.SMALL_MAX,
                                              _registry.MEDIUM_MAX - 1, _registry.MEDIUM_MAX)] == \
        ["small", "medium", "medium", "large"]
    assert _registry.size_class(None) == "medium"


def test_the_first_use_from_many_threads_at_once_sees_every_operation():
    # In a fresh interpreter, 8 threads ask for the last-declared operations at the same moment: none may
    # see a half-filled table.
    import subprocess
    import sys

    code = """
import threading
from kit import registry
names = ["fingerprint", "compress", "decompress", "json.decode", "digest"]
barrier, errors = threading.Barrier(8), []
def ask():
    barrier.wait()
    try:
        for n in names:
            registry.operation(n)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=ask) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
"""
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.strip() == "[]", (out.stdout, out.stderr)
