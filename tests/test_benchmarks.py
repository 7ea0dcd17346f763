"""The asv suite covers the registry: every operation × backend × payload class × kind has a benchmark.

The benchmark module is read as asv reads it (public classes of the module,
methods whose names asv recognises), so a benchmark asv would not find does
not count.
"""

from __future__ import annotations

import importlib
import itertools
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from kit import registry as _registry

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("asv_runner")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT))
    try:
        yield importlib.import_module("benchmarks.bench_registry")
    finally:
        sys.path.remove(str(ROOT))


def asv_benchmarks(module) -> dict[str, tuple[type, list]]:
    """``{"Class.method": (class, params)}`` as asv's discovery sees the module."""
    from asv_runner.benchmarks import benchmark_types

    found = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or not isinstance(obj, type):
            continue
        for attr in dir(obj):
            if any(t.name_regex.match(attr) for t in benchmark_types) and callable(getattr(obj, attr)):
                found[f"{name}.{attr}"] = (obj, getattr(obj, "params", []))
    return found


def covered(module, prefix: str) -> set[tuple]:
    """Registry combinations ``(operation, backend, [size,] kind)`` the ``prefix`` benchmarks of ``module`` take."""
    out = set()
    for key, (cls, params) in asv_benchmarks(module).items():
        names = list(getattr(cls, "param_names", []))
        if not key.split(".")[1].startswith(prefix) or not getattr(cls, "operation", "") \
                or not {"backend", "kind"} <= set(names):
            continue
        wanted = [n for n in ("backend", "size", "kind") if n in names]
        for combo in itertools.product(*params):
            values = dict(zip(names, combo))
            out.add((cls.operation, *(values[n] for n in wanted)))
    return out


def test_every_operation_backend_size_kind_has_a_time_benchmark(bench):
    expected = {(op.name, b.name, size, kind) for op in _registry.operations()
                for b in _registry.backends(op.name) for size in op.sizes for kind in op.kinds}
    got = covered(bench, "time_")
    assert expected <= got, f"registry entries without a time_ benchmark: {sorted(expected - got)}"
    assert got <= expected, f"time_ benchmarks for entries not in the registry: {sorted(got - expected)}"


def test_every_backend_has_a_peakmem_benchmark_on_large_payloads(bench):
    expected = {(op.name, b.name, kind) for op in _registry.operations() if "large" in op.sizes
                for b in _registry.backends(op.name) for kind in op.kinds}
    got = covered(bench, "peakmem_")
    assert expected == got, f"missing: {sorted(expected - got)}; extra: {sorted(got - expected)}"


def test_every_pair_is_named_in_some_benchmark(bench):
    # The wording: every (operation, backend) of the registry has a benchmark.
    pairs = {(op, b) for op, b, *_ in covered(bench, "time_")}
    assert pairs == {(b.operation, b.name) for b in _registry.all_backends()}


def test_dispatch_and_score_benchmarks_exist_with_units(bench):
    found = asv_benchmarks(bench)
    for key in ("DispatchJsonDumps.time_call", "DispatchFingerprint.time_call", "Score.track_score",
                "HardwareIndex.track_hardware_index", "Subscore.track_subscore"):
        assert key in found, f"{key} not found by asv's naming rules; found {sorted(found)}"
    assert found["DispatchJsonDumps.time_call"][1][0] == [b.name for b in _registry.backends("json.encode")]
    assert found["Subscore.track_subscore"][1] == [list(_registry.CATEGORIES)]
    for key in ("Score.track_score", "HardwareIndex.track_hardware_index", "Subscore.track_subscore"):
        cls, _ = found[key]
        assert getattr(getattr(cls, key.split(".")[1]), "unit", None), f"{key} has no unit"


def test_a_new_backend_gets_benchmarks_without_editing_the_suite(bench):
    base = _registry.backend("fingerprint", "hashlib.blake2b")
    extra = replace(base, name="asv-test-extra", _cache={})
    _registry.declare_backend(extra)
    try:
        module = importlib.reload(bench)
        assert ("fingerprint", "asv-test-extra", "small", "random") in covered(module, "time_")
        assert ("fingerprint", "asv-test-extra", "random") in covered(module, "peakmem_")
    finally:
        del _registry._backends["fingerprint"]["asv-test-extra"]
        importlib.reload(bench)
    assert ("fingerprint", "asv-test-extra", "small", "random") not in covered(bench, "time_")


def test_absent_library_skips_with_the_reason(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "xxhash", None)
    _registry.reset_probes()
    try:
        with pytest.raises(NotImplementedError, match="xxhash"):
            bench.Fingerprint().setup(None, "xxh3_128", "small", "random")
    finally:
        monkeypatch.undo()
        _registry.reset_probes()


def test_entries_missing_at_an_older_commit_skip(bench):
    with pytest.raises(NotImplementedError, match="not in the registry"):
        bench.prepare_call("fingerprint", "no-such-backend", "small", "random")
    with pytest.raises(NotImplementedError, match="not in the registry"):
        bench.prepare_call("no.such.operation", "x", "small", "random")
    # asv looks a benchmark up by name: an operation this commit lacks resolves to a stub that skips...
    stub = bench.KernelFromTheFuture
    assert hasattr(stub, "time_call") and hasattr(stub, "peakmem_call")
    with pytest.raises(NotImplementedError):
        stub().setup(7)
    # ...while asv's attribute lookups on the module (setup, timeout, params) still find nothing.
    for name in ("setup", "setup_cache", "timeout", "params", "__path__"):
        assert not hasattr(bench, name)


@pytest.mark.parametrize("op", _registry.operation_names())
def test_every_available_backend_runs_on_the_small_class(bench, op):
    cls = bench.GENERATED[bench.class_name(op)]
    ran = 0
    for backend, size, kind in itertools.product(*cls.params):
        if size != "small":
            continue
        b = cls()
        try:
            b.setup(None, backend, size, kind)
        except NotImplementedError:
            assert not _registry.backend(op, backend).available
            continue
        b.time_call(None, backend, size, kind)
        ran += 1
    assert ran >= 1, f"no backend of {op!r} ran (the baseline always should)"


@pytest.mark.parametrize("cls_name", ["DispatchJsonDumps", "DispatchFingerprint"])
def test_dispatch_benchmarks_call_the_same_backend(bench, cls_name, fresh_engine):
    import kit

    cls = getattr(bench, cls_name)
    before = kit.get_config()
    try:
        for backend in cls.params[0]:
            if not _registry.backend(cls.operation, backend).available:
                continue
            results = {}
            for path in ("kit", "direct"):
                b = cls()
                b.setup(backend, path)
                results[path] = b._call(*b._args)
                b.time_call(backend, path)
            assert results["kit"] == results["direct"], f"{cls_name}[{backend}]: kit and direct differ"
    finally:
        kit.set_config(backends=before["backends"], cache_dir=before["cache_dir"])


def test_asv_conf_is_valid_and_installs_the_lock_file(tmp_path):
    from asv.config import Config

    conf = Config.load(str(ROOT / "asv.conf.json"))
    assert conf.results_dir.endswith("results") and conf.branches == ["main"]
    assert conf.environment_type in ("virtualenv", "uv")
    assert any("requirements.lock" in c for c in conf.install_command)
    raw = json.loads((ROOT / "asv.conf.json").read_text())
    ignored = subprocess.run(["git", "check-ignore", "-q", raw["html_dir"] + "/index.html"], cwd=ROOT)
    assert ignored.returncode == 0, f"html_dir {raw['html_dir']!r} is not ignored by git"
    assert (ROOT / raw["benchmark_dir"] / "bench_registry.py").is_file()


def test_large_inputs_are_prepared_once_and_shared_through_the_folder(bench, tmp_path):
    args = ("fingerprint", "hashlib.blake2b", "large", "random")
    fn, first = bench.prepare_call(*args, folder=str(tmp_path), isolate=True)  # built in a child process
    files = list(tmp_path.glob("*.pickle"))
    assert len(files) == 1 and len(first[0]) == _registry.SIZE_CLASSES["large"]
    mtime = files[0].stat().st_mtime_ns
    _, again = bench.prepare_call(*args, folder=str(tmp_path))
    assert again == first and files[0].stat().st_mtime_ns == mtime  # read back, not rebuilt
    assert fn(*again) == fn(*first)


def test_target_benchmarks_measure_ratios_of_what_they_name():
    """The hot-path targets' asv benchmarks run (tiny where the input allows) and give positive ratios."""
    import math

    targets = importlib.import_module("benchmarks.bench_targets")
    j = targets.JsonDispatch()
    j.setup()
    j.time_kit_dumps(), j.time_direct_dumps(), j.time_kit_loads(), j.time_direct_loads()
    assert j.dumps(j.doc) == j.lib_dumps(j.doc)  # the same bytes: the ratio compares like with like
    for track in (j.track_dumps_over_direct, j.track_loads_over_direct):
        r = track()
        assert r > 0 and math.isfinite(r)
    r = targets.auto_regret(b"a line of text that repeats. " * 200, 1, samples=1, min_time=0.0)
    assert r > 0 and math.isfinite(r)
    assert all(label.startswith("held-out ") for label in targets.AutoRegret.params[0])
