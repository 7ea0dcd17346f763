"""kit.memoize: content keys, invalidation, concurrency, results on arrays and tables."""

from __future__ import annotations

import dataclasses
import functools
import math
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
    # The call log changes with every call: it is left out of the key (every other closure cell counts).
    options["ignore"] = [*options.get("ignore", ()), "calls"]

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

    @kit.memoize(cache=cache, ignore=["calls"])
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

    @kit.memoize(cache=cache, ignore=["g_calls"])
    def g(x):
        g_calls.append(x)
        return x

    f([1])
    g(1)
    f.clear()
    f([1])
    g(1)
    assert len(calls_f) == 2 and len(g_calls) == 1


def test_ttl():
    clock = [0.0]
    c = Cache(disk=False, timer=lambda: clock[0])
    f, calls = counted(c, ttl=0.2)
    f([1])
    clock[0] = 0.19
    f([1])
    assert len(calls) == 1
    clock[0] = 0.21
    f([1])
    assert len(calls) == 2


@pytest.mark.parametrize("ttl", [math.nan, math.inf, -1, 0, "1", True])
def test_ttl_must_be_a_finite_positive_number(cache, ttl):
    with pytest.raises(ValueError, match="ttl must be None or a finite positive number"):
        kit.memoize(cache=cache, ttl=ttl)(lambda x: x)


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


def _waiters(key):
    from kit.cache.memo import _locks

    entry = _locks._locks.get(key)
    return 0 if entry is None else entry[1]


def test_concurrent_threads_compute_once(cache):
    calls = []
    release = threading.Event()

    @kit.memoize(cache=cache, ignore=["calls", "release"])
    def slow(x):
        calls.append(x)
        assert release.wait(60)  # until every other thread waits for this key
        return x * 10

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(7))) for _ in range(8)]
    for t in threads:
        t.start()
    key = slow.key(7)
    while _waiters(key) < 8:  # logic, not time: the 7 others are queued on the key's lock
        threading.Event().wait(0.005)
    release.set()
    for t in threads:
        t.join()
    assert results == [70] * 8 and calls == [7]
    assert slow.info()["waited"] == 7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_concurrent_processes_compute_once(tmp_path):
    marker = tmp_path / "computed"
    marker.mkdir()
    ready = tmp_path / "ready"
    ready.mkdir()

    def work(x):
        (marker / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        # Hold the key until the three processes have all asked for it (a file barrier, no clock):
        # the others then either wait on the stripe's file lock or, if they ask after this
        # returns, find the result. Both must give one computation.
        while len(list(ready.iterdir())) < 3:
            threading.Event().wait(0.005)
        return x + 1

    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 1
            try:
                c = Cache(tmp_path / "shared")
                f = kit.memoize(cache=c, ignore=["marker", "ready"])(work)
                (ready / str(os.getpid())).touch()
                code = 0 if f(41) == 42 else 1
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
            assert mod._default[0].l3.path.parent == tmp_path
        finally:
            mod._default[0].close()
            mod._default[:] = saved


def test_hit_on_a_large_array_hashes_it_without_a_copy(cache):
    import tracemalloc

    a = np.random.default_rng(0).random(4 << 20)  # 32 MiB

    @kit.memoize(cache=cache)
    def mean(x):
        return float(x.mean())

    mean(a)
    tracemalloc.start()
    try:
        for _ in range(5):
            mean(a)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the 32 MiB buffer is hashed where it lies, never copied
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


# --- issue: identity, fingerprints and aliasing found by adversarial testing ----------------------

def make_scaler(k):
    return lambda x: x * k


def test_closure_cells_are_part_of_the_key(cache):
    assert kit.memoize(cache=cache)(make_scaler(2))(10) == 20
    assert kit.memoize(cache=cache)(make_scaler(3))(10) == 30


def test_a_closure_cell_assigned_later_changes_the_key(cache):
    k = 2

    @kit.memoize(cache=cache)
    def scale(x):
        return x * k

    assert scale(10) == 20
    k = 5
    assert scale(10) == 50


def test_two_lambdas_on_one_line_have_two_keys(cache):
    inc, dec = kit.memoize(cache=cache)(lambda x: x + 1), kit.memoize(cache=cache)(lambda x: x - 1)
    assert (inc(1), dec(1)) == (2, 0)


def test_closures_and_bound_methods_as_arguments_do_not_collide(cache):
    def make_adder(k):
        return lambda x: x + k

    adders = [make_adder(1), make_adder(100)]

    @kit.memoize(cache=cache)
    def apply(fn, x):
        return fn(x)

    assert apply(adders[0], 1) == 2 and apply(adders[1], 1) == 101

    @dataclasses.dataclass
    class Offset:
        by: int

        def add(self, x):
            return x + self.by

    assert apply(Offset(1).add, 1) == 2 and apply(Offset(100).add, 1) == 101
    def plus(k, x):
        return x + k

    assert apply(functools.partial(plus, 1), 1) == 2 and apply(functools.partial(plus, 100), 1) == 101


def test_a_memoized_bound_method_is_keyed_by_its_object(cache):
    @dataclasses.dataclass
    class Model:
        w: float

        def predict(self, x):
            return self.w * x

    assert kit.memoize(cache=cache)(Model(2.0).predict)(3) == 6.0
    assert kit.memoize(cache=cache)(Model(5.0).predict)(3) == 15.0


def test_a_closure_over_an_object_without_fingerprint_says_what_to_do(cache):
    class Conn:
        pass

    conn = Conn()

    @kit.memoize(cache=cache)
    def query(x):
        return (conn, x)[1]

    with pytest.raises(FingerprintError, match=r"closes over 'conn'.*ignore="):
        query(1)
    assert kit.memoize(cache=cache, ignore=["conn"])(query.func)(1) == 1
    with pytest.raises(ValueError, match="nor variables it closes over"):
        kit.memoize(cache=cache, ignore=["nope"])(query.func)


def test_matrix_and_ndarray_with_the_same_data_differ(cache):
    @kit.memoize(cache=cache)
    def square(a):
        return np.asarray(a * a)

    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert square(np.matrix(a)).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert square(a).tolist() == [[1.0, 4.0], [9.0, 16.0]]


@pytest.mark.parametrize("dtype", ["i1", "u1", "?", "i2", "f2", "i4", "f4", "f8", "c16", "M8[s]", "U3", "S2"])
def test_masked_arrays_are_keyed_by_their_mask_at_every_itemsize(cache, dtype):
    @kit.memoize(cache=cache)
    def count(m):
        return int(m.count())

    data = np.zeros(4, dtype=dtype)
    assert count(np.ma.array(data, mask=[1, 0, 0, 0])) == 3
    assert count(np.ma.array(data, mask=[1, 1, 0, 0])) == 2
    assert count(np.ma.array(data)) == 4
    assert fingerprint(np.ma.array(data)) != fingerprint(data)


def test_masked_arrays_are_keyed_by_their_fill_value(cache):
    @kit.memoize(cache=cache)
    def filled(m):
        return m.filled().tolist()

    m = np.ma.array([1.0, 2.0], mask=[0, 1])
    assert filled(np.ma.array(m, fill_value=0.0)) == [1.0, 0.0]
    assert filled(np.ma.array(m, fill_value=9.0)) == [1.0, 9.0]


def test_object_arrays_are_hashed_in_logical_order(cache):
    c_order = np.array([[1, 3], [2, 4]], dtype=object)
    f_order = np.asfortranarray(np.array([[1, 2], [3, 4]], dtype=object))  # memory holds 1, 3, 2, 4 too
    assert fingerprint(c_order) != fingerprint(f_order)
    f = kit.memoize(cache=cache)(lambda a: a.tolist())
    assert f(c_order) == [[1, 3], [2, 4]] and f(f_order) == [[1, 2], [3, 4]]


def test_bytes_likes_are_tagged_by_type_format_and_shape():
    raw = np.arange(4, dtype="<i4").tobytes()
    views = [raw, bytearray(raw), memoryview(raw), memoryview(raw).cast("i"), memoryview(raw).cast("f"),
             memoryview(raw).cast("B", (4, 4)), memoryview(raw).cast("B", (2, 8))]
    assert len({fingerprint(v) for v in views}) == len(views)


def test_a_numpy_scalar_is_not_the_0d_array(cache):
    assert fingerprint(np.float64(1.5)) != fingerprint(np.array(1.5))
    f = kit.memoize(cache=cache)(lambda x: type(x).__name__)
    assert (f(np.float64(1.5)), f(np.array(1.5))) == ("float64", "ndarray")


def test_arrow_dictionary_arrays_are_keyed_by_their_dictionary(cache):
    pa = pytest.importorskip("pyarrow")

    @kit.memoize(cache=cache)
    def values(t):
        return t.column(0).to_pylist()

    ab = pa.table({"c": pa.array(["a", "b"]).dictionary_encode()})
    xy = pa.table({"c": pa.array(["x", "y"]).dictionary_encode()})
    assert values(ab) == ["a", "b"] and values(xy) == ["x", "y"]


def test_polars_categoricals_are_keyed_by_their_categories(cache):
    pl = pytest.importorskip("polars")

    @kit.memoize(cache=cache)
    def values(df):
        return df["c"].to_list()

    ab = pl.DataFrame({"c": pl.Series(["a", "b"], dtype=pl.Categorical)})
    xy = pl.DataFrame({"c": pl.Series(["x", "y"], dtype=pl.Categorical)})
    assert values(ab) == ["a", "b"] and values(xy) == ["x", "y"]
    assert fingerprint(pl.Series("c", ["a"], dtype=pl.String)) != fingerprint(pl.Series("c", ["a"], dtype=pl.Categorical))


def test_nested_arrow_arrays_are_keyed_by_their_children_offsets():
    pa = pytest.importorskip("pyarrow")
    ints = pa.array([1, 2, 3])
    a = pa.StructArray.from_arrays([ints.slice(0, 2)], ["v"])
    b = pa.StructArray.from_arrays([ints.slice(1, 2)], ["v"])
    assert a.to_pylist() != b.to_pylist() and fingerprint(a) != fingerprint(b)


def test_a_caller_mutating_its_input_cannot_change_a_stored_result(cache):
    head = kit.memoize(cache=cache)(lambda a: a[:3])
    a = np.arange(10.0)
    head(a)
    a[:] = -1
    assert head(np.arange(10.0)).tolist() == [0.0, 1.0, 2.0]
    same = kit.memoize(cache=cache)(lambda a: a)
    b = np.arange(3.0)
    same(b)
    b[0] = 99
    assert same(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]


def test_a_caller_cannot_write_into_a_result_inside_a_container(cache):
    @kit.memoize(cache=cache)
    def parts(n):
        return {"a": np.zeros(n), "pair": (np.ones(n), [np.ones(n)])}

    out = parts(2)
    for arr in (out["a"], out["pair"][0], out["pair"][1][0]):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 5
        with pytest.raises(ValueError):
            arr.flags.writeable = True
    assert parts(2)["a"].tolist() == [0.0, 0.0]


def test_polars_results_are_clones(cache):
    pl = pytest.importorskip("polars")
    f = kit.memoize(cache=cache)(lambda n: pl.DataFrame({"x": list(range(n))}))
    first = f(3)
    first.insert_column(1, pl.Series("y", [0, 0, 0]))
    assert f(3).columns == ["x"]


def test_a_result_nested_too_deeply_to_store_is_still_returned(cache):
    def nest(n):
        v: list = []
        for _ in range(n):
            v = [v]
        return v

    f = kit.memoize(cache=cache)(nest)
    with pytest.warns(KitWarning, match="kept in memory only"):
        out = f(990)
    assert f(990) is out and f.info()["hits"] == 1


# --- a project location and asking whether a call is cached ---------------------------------------

def test_location_keeps_results_in_a_folder_that_outlives_the_process(tmp_path):
    import subprocess
    import sys

    project = tmp_path / "project-cache"
    code = ("import kit, sys\n"
            "@kit.memoize(location=sys.argv[1])\n"
            "def slow(x):\n"
            "    print('computed', flush=True)\n"
            "    return x * 2\n"
            "print(slow.cached(21), slow(21), slow.cached(21))\n")
    first = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True)
    again = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True)
    assert first.stdout.split() == ["computed", "False", "42", "True"], first.stderr
    assert again.stdout.split() == ["True", "42", "True"], again.stderr
    assert (project / "cache.sqlite3").exists()


def test_one_cache_per_location_and_location_or_cache(tmp_path):
    f = kit.memoize(location=tmp_path / "p")(lambda x: x)
    g = kit.memoize(location=str(tmp_path / "p"))(lambda x: -x)
    assert f.cache is g.cache and f.info()["location"] == str((tmp_path / "p").resolve())
    with pytest.raises(ValueError, match="not both"):
        kit.memoize(cache=Cache(disk=False), location=tmp_path)(lambda x: x)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        kit.memoize(location=tmp_path / "file")(lambda x: x)


def test_cached_asks_without_computing_or_counting(cache):
    f, calls = counted(cache)
    assert f.cached([1, 2]) is False and f.check_call_in_cache([1, 2]) is False
    f([1, 2])
    assert f.cached([1, 2]) and f.cached(a=[1, 2], b=1) and not f.cached([1, 2], 3)
    assert len(calls) == 1 and (f.info()["hits"], f.info()["misses"]) == (0, 1)


def test_help_says_results_are_read_only_and_persist():
    doc = kit.memoize.__doc__
    assert "read-only" in doc and "persist" in doc and "location" in doc and ".cached(" in doc
