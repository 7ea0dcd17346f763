"""kit.memoize: content keys, invalidation, concurrency, results on arrays and tables."""

from __future__ import annotations

import os
import threading
import time
import warnings

import pytest

import kit
from kit.cache import Cache
from kit.cache.fingerprint import FingerprintError, fingerprint
from kit.errors import KitWarning

np = pytest.importorskip("numpy")


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path)
    yield c
    c.close()


def counted(cache, **options):
    calls = []

    def f(a, b=1, *, scale=1.0, verbose=False):
        calls.append((a, b))
        return np.asarray(a, dtype=float).sum() * b * scale

    return kit.memoize(cache=cache, **options)(f), calls


def test_lazy_public_name():
    assert kit.memoize is kit.cache.memoize


def test_hit_after_miss_and_info(cache):
    f, calls = counted(cache)
    assert f([1, 2, 3]) == 6.0 and f([1, 2, 3]) == 6.0
    assert len(calls) == 1
    info = f.info()
    assert (info["hits"], info["misses"], info["computes"]) == (1, 1, 1)
    assert info["key_hash"] in ("xxh3_128", "blake2b_128") and info["key_prefix"].startswith("kit.memoize:")


def test_arguments_are_bound_to_the_signature(cache):
    f, calls = counted(cache)
    f([1], 2)
    f([1], b=2)
    f(a=[1], b=2, scale=1.0)
    assert len(calls) == 1
    f([1], 3)
    assert len(calls) == 2


def test_arrays_by_content_dtype_shape_and_layout(cache):
    f, calls = counted(cache)
    a = np.arange(1000.0)
    f(a)
    f(a.copy())
    assert len(calls) == 1
    f(a.astype(np.float32))
    f(a.reshape(10, 100))
    f(a[::2])
    f(np.asfortranarray(a.reshape(10, 100)))
    assert len(calls) == 5
    b = a.copy()
    b[500] += 1
    f(b)
    assert len(calls) == 6


def test_fingerprint_distinguishes_types_and_keeps_order():
    assert fingerprint(1) != fingerprint(1.0) != fingerprint(True)
    assert fingerprint((1, 2)) != fingerprint([1, 2])
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"b": 2, "a": 1})
    assert fingerprint({1, 2, 3}) == fingerprint({3, 2, 1})
    assert fingerprint(np.array([1, 2])) != fingerprint(np.array([1, 2], dtype=np.int32))
    assert fingerprint(np.datetime64("2024-01-01")) == fingerprint(np.datetime64("2024-01-01"))


def test_tables_by_their_buffers(cache):
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    calls = []

    @kit.memoize(cache=cache)
    def rows(t):
        calls.append(1)
        return t.num_rows if hasattr(t, "num_rows") else t.height

    t = pa.table({"x": [1, 2, 3], "s": ["a", "b", "c"]})
    assert rows(t) == 3 and rows(pa.table({"x": [1, 2, 3], "s": ["a", "b", "c"]})) == 3
    assert rows(t.slice(1)) == 2
    df = pl.DataFrame({"x": [1.0, 2.0]})
    rows(df)
    rows(pl.DataFrame({"x": [1.0, 2.0]}))
    rows(pl.DataFrame({"x": [1.0, 3.0]}))
    assert len(calls) == 4


def test_editing_the_source_is_a_miss(cache):
    ns: dict = {}
    exec("def g(x):\n    return x + 1\n", ns)
    g1 = kit.memoize(cache=cache)(ns["g"])
    exec("def g(x):\n    return x + 2\n", ns)
    g2 = kit.memoize(cache=cache)(ns["g"])
    assert g1.key(1) != g2.key(1)
    assert g1(1) == 2 and g2(1) == 3


def test_version_ignore_and_clear(cache):
    f, calls = counted(cache, ignore=["verbose"])
    f([1], verbose=True)
    f([1], verbose=False)
    assert len(calls) == 1
    v2, calls2 = counted(cache, version=2)
    v3, _ = counted(cache, version=3)
    assert v2.key([1]) != v3.key([1]) != f.key([1])
    f.clear()
    f([1])
    assert len(calls) == 2
    with pytest.raises(ValueError, match="'nope'"):
        kit.memoize(cache=cache, ignore=["nope"])(lambda x: x)


def test_clear_removes_only_this_function(cache):
    f, calls_f = counted(cache)
    g_calls = []

    @kit.memoize(cache=cache)
    def g(x):
        g_calls.append(x)
        return x

    f([1])
    g(1)
    f.clear()
    f([1])
    g(1)
    assert len(calls_f) == 2 and len(g_calls) == 1


def test_ttl(cache):
    f, calls = counted(cache, ttl=0.2)
    f([1])
    f([1])
    time.sleep(0.25)
    f([1])
    assert len(calls) == 2


def test_results_persist_across_caches_on_the_same_path(tmp_path):
    def slow(x):
        return {"x": x, "arr": np.arange(x)}

    a = Cache(tmp_path)
    kit.memoize(cache=a)(slow)(5)
    a.close()
    b = Cache(tmp_path)
    m = kit.memoize(cache=b)(slow)
    out = m(5)
    assert m.info()["hits"] == 1 and out["x"] == 5 and out["arr"].tolist() == [0, 1, 2, 3, 4]
    b.close()


def test_array_results_are_read_only(cache):
    @kit.memoize(cache=cache)
    def make(n):
        return np.zeros(n)

    first = make(3)
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1
    assert make(3).tolist() == [0.0, 0.0, 0.0]


def test_unserializable_result_is_kept_in_memory_with_a_warning(cache):
    class Model:
        pass

    @kit.memoize(cache=cache)
    def fit(x):
        return Model()

    with pytest.warns(KitWarning, match="in memory only"):
        m = fit(1)
    assert fit(1) is m and cache.l3.get(fit.key(1)) is None


def test_unfingerprintable_argument_says_how_to_proceed(cache):
    f, _ = counted(cache)

    class Thing:
        pass

    with pytest.raises(FingerprintError, match="ignore="):
        f(Thing())

    class Keyed:
        def __kit_fingerprint__(self):
            return b"v1"

    @kit.memoize(cache=cache)
    def use(x):
        return 1

    assert use(Keyed()) == 1 and use(Keyed()) == 1 and use.info()["hits"] == 1


def test_methods_with_self_ignored(cache):
    class Model:
        def __init__(self):
            self.calls = 0

        @kit.memoize(cache=cache, ignore=["self"])
        def predict(self, x):
            self.calls += 1
            return x * 2

    m = Model()
    assert m.predict(2) == 4 and m.predict(2) == 4 and m.calls == 1


def test_concurrent_threads_compute_once(cache):
    calls = []

    @kit.memoize(cache=cache)
    def slow(x):
        calls.append(x)
        time.sleep(0.3)
        return x * 10

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(7))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [70] * 8 and calls == [7]
    assert slow.info()["waited"] == 7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_concurrent_processes_compute_once(tmp_path):
    marker = tmp_path / "computed"
    marker.mkdir()

    def work(x):
        (marker / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(0.5)
        return x + 1

    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 1
            try:
                c = Cache(tmp_path / "shared")
                code = 0 if kit.memoize(cache=c)(work)(41) == 42 else 1
                c.close()
            finally:
                os._exit(code)
        pids.append(pid)
    codes = [os.waitpid(p, 0)[1] for p in pids]
    assert codes == [0, 0, 0]
    assert len(list(marker.iterdir())) == 1


def test_nested_memoized_calls_do_not_deadlock(cache):
    @kit.memoize(cache=cache)
    def inner(x):
        return x + 1

    @kit.memoize(cache=cache)
    def outer(x):
        return inner(x) * 2

    for x in range(300):  # enough keys that some share a lock stripe
        assert outer(x) == (x + 1) * 2


def test_default_cache_is_created_lazily(tmp_path):
    from kit.cache import memo as mod

    with kit.config_context(cache_dir=str(tmp_path)):
        f = kit.memoize(lambda x: x + 1)
        saved = list(mod._default)
        mod._default.clear()
        try:
            assert f(1) == 2
            assert mod._default[0].l3.path.parent == tmp_path / "cache"
        finally:
            mod._default[0].close()
            mod._default[:] = saved


def test_hit_on_a_large_array_is_at_memory_speed(cache):
    a = np.random.default_rng(0).random(4 << 20)  # 32 MiB

    @kit.memoize(cache=cache)
    def mean(x):
        return float(x.mean())

    mean(a)
    t0 = time.perf_counter()
    for _ in range(5):
        mean(a)
    per_call = (time.perf_counter() - t0) / 5
    assert per_call < 0.05  # ≥ 0.6 GB/s even on a loaded machine; md5 alone is ~0.5 GB/s
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mean.info()["hits"] == 5


def test_kit_memoize_is_the_function_whatever_was_imported_first():
    import subprocess
    import sys

    code = ("import kit.cache.memo, kit.cache.fingerprint, kit.compression, kit; "
            "import kit.cache; assert callable(kit.memoize) and kit.memoize is kit.cache.memoize; "
            "assert type(kit.memoize).__name__ == 'function'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
