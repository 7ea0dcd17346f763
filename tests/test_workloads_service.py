"""CopyService: cache keys, hits per tier, metrics, health, Prometheus exposition."""

from __future__ import annotations

import re

import pytest

from kit import batch
from kit.workloads import CopyRequest, InvalidRequest, copy_requests, generate_copy
from kit.workloads.service import CopyService, metrics_table


class FakeClock:
    """Advances ``step`` seconds on every reading."""

    def __init__(self, step: float = 0.001):
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


class DictCache:
    def __init__(self):
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, ttl=None):
        self.data[key] = value


@pytest.fixture
def svc():
    s = CopyService(l1_size=2)
    yield s
    s.close()


def test_miss_then_l1_hit_with_the_same_copy(svc):
    a = svc.generate({"product": "Aurora", "language": "fr", "tone": "casual"})
    b = svc.generate(CopyRequest("Aurora", language="fr", tone="casual"))
    assert (a.hit, a.tier, b.hit, b.tier) == (False, None, True, "l1")
    assert a.variants == b.variants == generate_copy({"product": "Aurora", "language": "fr", "tone": "casual"}).variants
    assert a.key == b.key and re.fullmatch(r"copy:g2:xxh3_64\+xxh64:[0-9a-f]{32}", a.key)
    assert b.latency > 0 and b.to_dict()["cache"] == "hit"


def test_evicted_from_l1_is_answered_by_l2(svc):
    for p in ("A", "B", "C"):  # L1 holds 2: "A" goes down to L2
        svc.generate({"product": p})
    r = svc.generate({"product": "A"})
    assert r.hit and r.tier == "l2"
    again = svc.generate({"product": "A"})  # promoted back into L1
    assert again.tier == "l1"


def test_on_disk_tier_survives_the_service(tmp_path):
    with CopyService(l1_size=10, path=tmp_path) as first:
        first.generate({"product": "Aurora"})
    with CopyService(l1_size=10, path=tmp_path) as second:
        r = second.generate({"product": "Aurora"})
        assert r.hit and r.tier == "l3"
        assert second.metrics()["cache"]["tiers"]["l3"]["hits"] == 1


def test_the_key_is_the_request_not_its_spelling(svc):
    k = svc.key(CopyRequest("Aurora", use_case="product_launch"))
    assert k == svc.key(CopyRequest(" Aurora", use_case="Product launch"))
    assert k != svc.key(CopyRequest("Aurora", variants=2)) != svc.key(CopyRequest("Aurora", language="es"))


def test_invalid_requests_are_counted_and_reported(svc):
    with pytest.raises(InvalidRequest):
        svc.generate({"product": "Aurora", "tone": "loud"})
    res = svc.handle({"product": "", "colour": "red"})
    assert res["ok"] is False and "unknown field 'colour'" in res["error"] and len(res["problems"]) == 2
    assert svc.handle({"product": "Aurora"})["ok"] is True
    m = svc.metrics()
    assert m["requests"] == 3 and m["errors"] == {"invalid": 2, "internal": 0, "total": 2}
    assert m["cache"]["lookups"] == 1 and svc.health()["status"] == "ok"  # clients' errors, not the service's


def test_metrics_with_a_fake_clock():
    with CopyService(l1_size=100, clock=FakeClock(0.001)) as s:
        for p in ["A", "B", "A", "A", "C", "B"]:
            s.generate({"product": p})
        m = s.metrics()
    assert m["requests"] == 6 and m["cache"]["hits"] == 3 and m["cache"]["misses"] == 3
    assert m["cache"]["hit_rate"] == 0.5 and m["cache"]["tiers"]["l1"]["hit_rate"] == 0.5
    assert m["latency_s"]["p50"] == pytest.approx(0.001) and m["latency_s"]["p99"] == pytest.approx(0.001)
    assert m["latency_by_outcome_s"]["l1"]["count"] == 3 and m["latency_by_outcome_s"]["miss"]["count"] == 3
    assert m["throughput_rps"] == pytest.approx(6 / m["elapsed_s"])


def test_tier_hit_rates_add_up():
    with CopyService(l1_size=50) as s:
        m = s.replay(n=5000, distinct=500, seed=2)
    tiers = m["cache"]["tiers"]
    assert sum(t["hits"] for t in tiers.values()) == m["cache"]["hits"]
    assert sum(t["hit_rate"] for t in tiers.values()) == pytest.approx(m["cache"]["hit_rate"])
    # the local rate of L2 is over the lookups L1 missed
    l1, l2 = tiers["l1"], tiers["l2"]
    assert l2["local_hit_rate"] == pytest.approx(l2["hits"] / (m["cache"]["lookups"] - l1["hits"]))
    assert 0 < l1["hit_rate"] < 1 and l2["hits"] > 0


def test_replay_is_reproducible():
    runs = []
    for _ in range(2):
        with CopyService(l1_size=30) as s:
            m = s.replay(n=3000, distinct=300, seed=5)
            runs.append((m["cache"]["hits"], m["cache"]["tiers"]["l1"]["hits"], m["cache"]["misses"]))
    assert runs[0] == runs[1]
    with CopyService(l1_size=30) as s:
        uniform = s.replay(n=3000, distinct=300, seed=5, distribution="uniform")["cache"]["tiers"]["l1"]["hit_rate"]
    assert uniform < runs[0][1] / 3000  # zipf traffic hits L1 more than uniform traffic


def test_a_plain_cache_object_is_one_tier():
    s = CopyService(DictCache())
    s.generate({"product": "Aurora"})
    r = s.generate({"product": "Aurora"})
    assert r.tier == "cache" and list(s.metrics()["cache"]["tiers"]) == ["cache"]
    with pytest.raises(TypeError, match="cache must have get"):
        CopyService(cache=object())
    with pytest.raises(ValueError, match="l1_size must be a positive int, got 0"):
        CopyService(l1_size=0)


def test_health_failing_on_internal_errors():
    def broken(req):
        raise RuntimeError("template store offline")

    s = CopyService(DictCache(), generator=broken)
    for i in range(5):
        with pytest.raises(RuntimeError):
            s.generate({"product": f"P{i}"})
    h = s.health()
    assert h["status"] == "failing" and "internal error rate 100.0%" in h["problems"][0]
    assert s.metrics()["errors"]["internal"] == 5
    assert "kit_copy_up 0" in s.prometheus()


def test_health_degraded_by_latency_and_by_the_cache():
    slow = CopyService(DictCache(), clock=FakeClock(0.2), latency_slo=0.05)
    slow.generate({"product": "A"})
    h = slow.health()
    assert h["status"] == "degraded" and "p99 latency" in h["problems"][0]

    class Degraded(DictCache):
        def stats(self):
            return {"degraded": ["redis: unavailable (circuit open; connection refused)"]}

    h = CopyService(Degraded()).health()
    assert h["status"] == "degraded" and h["cache_degraded"] and "redis" in h["problems"][0]


_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? '
                     r'(-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf)$')


def test_prometheus_text_format():
    with CopyService(l1_size=10) as s:
        s.replay(n=500, distinct=40)
        text = s.prometheus()
    assert text.endswith("\n")
    families = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            families.setdefault(line.split()[2], set()).add("HELP")
        elif line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert kind in ("counter", "gauge", "summary")
            families.setdefault(name, set()).add("TYPE")
        else:
            assert _SAMPLE.match(line), line
            base = re.sub(r"(_sum|_count)$", "", line.split("{")[0].split()[0])
            assert base in families or line.split("{")[0].split()[0] in families, line
    assert all(v == {"HELP", "TYPE"} for v in families.values())
    assert 'kit_copy_cache_requests_total{outcome="hit",tier="l1"}' in text
    assert "kit_copy_request_duration_seconds_count 500" in text


def test_prometheus_parses_with_the_reference_parser():
    parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client is not installed")
    with CopyService(l1_size=10) as s:
        s.replay(n=300, distinct=30)
        fams = {f.name: f for f in parser.text_string_to_metric_families(s.prometheus())}
    assert fams["kit_copy_requests"].samples[0].value == 300


def test_concurrent_requests_are_all_counted():
    reqs = copy_requests(50, seed=1)
    with CopyService(l1_size=20) as s:
        res = batch.run(s.generate, [reqs[i % 50] for i in range(600)], "threads", workers=4, progress=False)
        assert res.ok
        m = s.metrics()
    assert m["requests"] == 600 and m["cache"]["hits"] + m["cache"]["misses"] == 600


def test_metrics_table_and_reset(svc):
    svc.generate({"product": "A"})
    text = str(metrics_table(svc.metrics()))
    assert "cache hit rate" in text and "latency, miss (generated)" in text
    svc.reset_metrics()
    assert svc.metrics()["requests"] == 0 and svc.generate({"product": "A"}).tier == "l1"


# --- many requests at once ------------------------------------------------------------------------

def test_batch_keys_equal_single_keys_and_the_xxhash_library(svc):
    import xxhash

    reqs = copy_requests(300, seed=4)
    reqs = reqs + reqs[:50]  # repeats are keyed once, answered for each
    keys = svc.keys(reqs)
    assert keys == [svc.key(r) for r in reqs] and len(set(keys)) == 300
    c = reqs[7].canonical()
    assert keys[7] == f"copy:g2:xxh3_64+xxh64:{xxhash.xxh3_64_intdigest(c):016x}{xxhash.xxh64_intdigest(c):016x}"
    assert svc.keys([]) == []


@pytest.mark.parametrize("backend", ["numpy", "numba", "numba.parallel", "xxhash"])
def test_batch_keys_on_every_fingerprint_backend(svc, backend):
    import kit
    from kit import registry as _registry

    b = _registry.backend("kernel.batch_fingerprint", backend)
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    reqs = copy_requests(40_000 if backend.startswith("numba") else 500, seed=5)  # numba.parallel: past its threshold
    # Keyed before the context: inside one, every kit.json call resolves its backend afresh (slow).
    expected = [svc.key(r) for r in reqs]
    with kit.config_context(backends={"kernel.batch_fingerprint": backend}):
        assert svc.keys(reqs) == expected


def test_single_key_without_the_xxhash_library(monkeypatch):
    import sys

    import kit
    from kit.workloads import service

    with CopyService(l1_size=2) as s:
        expected = s.key(CopyRequest("Aurora"))
    form = CopyRequest("Aurora").canonical()
    monkeypatch.setitem(sys.modules, "xxhash", None)
    one = service._one_key()
    with kit.config_context(backends={"kernel.batch_fingerprint": "numpy"}):
        assert "copy:g2:xxh3_64+xxh64:" + one(form) == expected


def test_replay_keys_each_step_in_one_batch(monkeypatch):
    from kit.workloads import service

    calls = []
    real = service.batch_keys
    monkeypatch.setattr(service, "batch_keys", lambda forms, prefix="": calls.append(len(forms)) or real(forms, prefix))
    monkeypatch.setattr(service, "REPLAY_STEP", 1000)
    with CopyService(l1_size=30) as s:
        m = s.replay(n=2500, distinct=300, seed=5)
    assert calls == [1000, 1000, 1000, 500]  # the untimed first call, then one per step
    assert m["requests"] == 2500 and m["cache"]["hits"] + m["cache"]["misses"] == 2500


def test_replay_counts_invalid_requests_in_a_step():
    with CopyService(l1_size=10) as s:
        m = s.replay([{"product": "Aurora"}, {"product": ""}, CopyRequest("Nimbus")], [0, 1, 2, 0, 1])
    assert m["requests"] == 5 and m["errors"]["invalid"] == 2
    assert m["cache"]["misses"] == 2 and m["cache"]["hits"] == 1


def test_generate_many_through_every_tier(tmp_path):
    reqs = copy_requests(30, seed=6)
    with CopyService(l1_size=5, path=tmp_path) as s:
        first = s.generate_many(reqs + reqs[:3])
        assert [r.hit for r in first] == [False] * 33
        assert [r.variants for r in first[30:]] == [r.variants for r in first[:3]]
        assert all(r.variants == generate_copy(q).variants for r, q in zip(first, reqs))
        again = s.generate_many(reqs)
        tiers = [r.tier for r in again]
        assert set(tiers) <= {"l1", "l2"} and tiers.count("l1") == 5
        m = s.metrics()
        assert m["requests"] == 63 and m["cache"]["misses"] == 33 and m["cache"]["hits"] == 30
        assert m["cache"]["tiers"]["l1"]["hits"] == 5
    with CopyService(l1_size=5, path=tmp_path) as s:  # a new process: the disk tier has them all
        assert {r.tier for r in s.generate_many(reqs[:10])} == {"l3"}
        assert [r.key for r in s.generate_many(reqs[:2])] == [s.key(r) for r in reqs[:2]]


def test_generate_many_with_a_plain_cache_and_invalid_requests():
    s = CopyService(DictCache())
    assert [r.tier for r in s.generate_many([{"product": "A"}, {"product": "A"}])] == [None, None]
    assert [r.tier for r in s.generate_many([{"product": "A"}])] == ["cache"]
    with pytest.raises(InvalidRequest, match="product must be a non-empty string"):
        s.generate_many([{"product": "B"}, {"product": ""}, {"tone": "x"}])
    m = s.metrics()
    assert m["errors"]["invalid"] == 2 and m["requests"] == 5 and s.generate_many([]) == []
    assert len(s.cache.data) == 1  # nothing of the invalid batch was served


def test_generate_many_counts_a_failing_generator():
    def broken(req):
        raise RuntimeError("template engine down")

    s = CopyService(DictCache(), generator=broken)
    with pytest.raises(RuntimeError, match="template engine down"):
        s.generate_many([{"product": "A"}, {"product": "B"}])
    assert s.metrics()["errors"]["internal"] == 2


def test_many_keys_benchmarks_run(monkeypatch):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_many_keys.py"
    spec = importlib.util.spec_from_file_location("bench_many_keys", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "ENTRIES", 40)
    monkeypatch.setattr(bench, "REQUESTS", 200)
    for cls, combos in ((bench.CacheMany, [(p,) for p in bench.CacheMany.params[0]]),
                        (bench.CopyKeys, [(p, "100k distinct") for p in bench.CopyKeys.params[0]])):
        assert len(cls.params) == len(cls.param_names)
        for args in combos:
            obj = cls()
            obj.setup(*args)
            try:
                for name in dir(obj):
                    if name.startswith("time_"):
                        getattr(obj, name)(*args)
            finally:
                obj.teardown(*args)


def test_copy_cached_by_an_older_generator_is_never_served(tmp_path):
    # The on-disk tier outlives the process: a key names the generator's version, so text that an
    # older generator stored under the old key format is not found, and the request is generated anew.
    from kit.workloads import CopyService, generate_copy
    from kit.workloads.copy import GENERATOR_VERSION

    req = CopyRequest("Aurora")
    svc = CopyService(path=tmp_path)
    old_key = svc.key(req).replace(f"copy:g{GENERATOR_VERSION}:", "copy:")
    svc.cache.set(old_key, ["stale text from an older generator"])
    answer = svc.generate(req)
    assert not answer.hit and answer.variants == generate_copy(req).variants
    assert answer.key.startswith(f"copy:g{GENERATOR_VERSION}:") and svc.generate(req).hit
