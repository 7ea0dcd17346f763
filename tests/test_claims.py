"""The claims check: the table as data, the verdict rule, and "not measurable here" with a reason."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from kit import registry as _registry
from kit.scoring.claims import CLAIMS, SEEDS, Claim, check_claims, claims_table
from kit.engine import BenchResult, Row
from kit.engine.measure import Measurement, speedup


def test_the_claims_table_of_the_design_is_data():
    titles = {c.title for c in CLAIMS}
    assert titles == {
        "orjson vs json", "msgspec vs json", "simdjson vs json (parse)", "blake3 vs sha256", "xxhash vs sha256",
        "lz4 vs gzip", "zstandard vs gzip", "blosc2 vs gzip", "numba (JIT)", "polars", "pyarrow", "cupy (GPU)",
        "cached vs uncached response", "compressed cache size reduction"}
    figures = {(c.title, c.claimed, tuple(s[:3] for s in c.seeds)) for c in CLAIMS}
    assert ("blake3 vs sha256", 8.0, ("000", "001")) in figures and ("blake3 vs sha256", 5.0, ("002",)) in figures
    assert ("lz4 vs gzip", 10.0, ("000", "001")) in figures and ("lz4 vs gzip", 4.0, ("002",)) in figures
    assert ("cached vs uncached response", 296.2, ("001", "000")) in figures
    for c in CLAIMS:
        assert set(c.seeds) <= set(SEEDS.values())
        for op, backend, base_op, base in c.pairs:
            _registry.backend(op, backend)  # every named pair exists in the registry
            _registry.operation(base_op)
            if base:
                _registry.backend(base_op, base)


def _bench(ratio: float) -> BenchResult:
    base = Measurement("hashlib.sha256", [4e-5, 4.1e-5, 3.9e-5, 4e-5, 4e-5], 1)
    fast = Measurement("blake3", [x / ratio for x in base.samples], 1)
    rows = [Row("digest", "medium", "random", "hashlib.sha256", base, speedup(base, base), True),
            Row("digest", "medium", "random", "blake3", fast, speedup(base, fast), False)]
    return BenchResult(rows, {"digest": {"medium": "blake3"}}, {}, "quick", 0.0, {})


@pytest.mark.parametrize("claimed,verdict", [(3.0, "holds"), (4.0, "holds"), (5.0, "does not hold")])
def test_verdict_holds_when_the_ci_reaches_the_claim(claimed, verdict):
    claim = Claim("blake3", "blake3 vs sha256", claimed, "x", (SEEDS["002"],), (("digest", "blake3", "digest", ""),))
    (r,) = check_claims(_bench(4.0), claims=[claim])
    assert r.verdict == verdict
    v, lo, hi = r.measured
    assert v == pytest.approx(4.0) and lo <= v <= hi and r.classes == 1
    assert verdict in str(claims_table([r]))


def test_claims_outside_the_run_are_not_measurable_with_the_reason():
    (r,) = check_claims(_bench(4.0), claims=[c for c in CLAIMS if c.key == "polars"])
    assert r.verdict == "not measurable here"
    assert "table.groupby, table.roundtrip not measured in this run" in r.reason


def test_a_missing_library_makes_a_claim_not_measurable(monkeypatch):
    monkeypatch.setitem(sys.modules, "blake3", None)
    _registry.reset_probes()
    try:
        results = check_claims(claims=[c for c in CLAIMS if c.key == "blake3"])
    finally:
        monkeypatch.delitem(sys.modules, "blake3")
        _registry.reset_probes()
    assert [r.verdict for r in results] == ["not measurable here"] * 2
    assert all("blake3 is blocked" in r.reason for r in results)


def test_parts_of_kit_not_built_yet_are_not_measurable(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "kit.cache" else real_find_spec(name, *a))
    monkeypatch.setattr(_registry, "operations",
                        lambda: [op for op in _registry._operations.values() if op.category != "kernels"])
    wanted = [c for c in CLAIMS if c.needs]
    results = {r.claim.key: r for r in check_claims(claims=wanted)}
    assert {r.verdict for r in results.values()} == {"not measurable here"}
    assert "kit.Cache (kit.cache) is not built yet" in results["cache"].reason
    assert "kit.Cache (kit.cache) is not built yet" in results["compressed-cache"].reason
    assert "no kernel operations" in results["numba"].reason and "no kernel operations" in results["cupy"].reason


def test_a_gpu_claim_without_a_gpu_says_why():
    gpu = [b for op in _registry.operations() if op.category == "kernels"
           for b in _registry.backends(op.name) if b.device == "gpu"]
    if not gpu:
        pytest.skip("no GPU backend is declared in the registry")
    (r,) = check_claims(claims=[c for c in CLAIMS if c.key == "cupy"], sizes=["small"])
    if any(b.available for b in gpu):
        assert r.verdict in ("holds", "does not hold")
    else:
        assert r.verdict == "not measurable here" and r.reason


def test_a_comparison_across_operations_is_measured_interleaved():
    (r,) = check_claims(claims=[c for c in CLAIMS if c.key == "xxhash"], sizes=["small"])
    assert r.verdict in ("holds", "does not hold")
    v, lo, hi = r.measured
    assert lo <= v <= hi and r.classes == 1 and set(r.per_operation) == {"fingerprint"}


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="unknown size class 'huge'"):
        check_claims(claims=CLAIMS[:1], sizes=["huge"])


def test_the_cache_claims_are_measured_when_the_cache_exists():
    pytest.importorskip("kit.cache")
    results = {r.claim.key: r for r in check_claims(claims=[c for c in CLAIMS if c.key.endswith("cache")])}
    hit = results["cache"]
    assert hit.verdict in ("holds", "does not hold"), hit.reason
    assert hit.measured[1] <= hit.measured[0] <= hit.measured[2] and "ms cached" in hit.reason
    assert "hit rate" not in hit.reason  # every timed request of the cached service was a hit
    size = results["compressed-cache"]
    assert size.verdict in ("holds", "does not hold"), size.reason
    v, lo, hi = size.measured
    assert v == lo == hi and v < 100 and "bytes encoded" in size.reason
    # Enough responses that the tier trains its dictionary, as a user's would; its bytes are counted.
    from kit.scoring.claims import COMPRESSED_CACHE_RESPONSES

    assert size.classes == COMPRESSED_CACHE_RESPONSES and "zstd dictionary" in size.reason
