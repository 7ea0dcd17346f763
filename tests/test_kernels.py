"""kit.kernels: every backend against the numpy reference, the official vectors, bad input, dispatch.

Backends come from the registry; one that cannot run here skips with its
reason. Tests that need a capability skip on the missing *feature*, never on
a backend name. The CUDA kernels run under numba's simulator in
``test_kernels_cudasim.py``.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import subprocess
import sys
import types

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

import kit
import kit.kernels
from kit import registry as _registry
from kit import stats
from kit.errors import BackendUnavailable
from kit.kernels import _api, _inputs, _numpy, _xxh
from kit.kernels._surface import FEATURES, KERNELS

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _params(kernel: str) -> list:
    return [pytest.param(b.name, id=f"{kernel}:{b.name}") for b in _registry.backends(f"kernel.{kernel}")]


def _impl(kernel: str, backend: str, feature: str | None = None):
    b = _registry.backend(f"kernel.{kernel}", backend)
    reason = b.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{b.key}: {reason}")
    if feature is not None and feature not in b.features:
        pytest.skip(f"{b.key} lacks feature {feature!r}")
    return _api.implementation(kernel, backend)


ALL = [pytest.param(k, b.name, id=f"{k}:{b.name}") for k in KERNELS for b in _registry.backends(f"kernel.{k}")]


# --- one surface ------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel", KERNELS)
def test_every_backend_has_the_same_signature_and_features(kernel):
    public = inspect.signature(getattr(kit.kernels, kernel))
    expected = public.replace(parameters=[p for n, p in public.parameters.items() if n != "backend"])
    available = 0
    for b in _registry.backends(f"kernel.{kernel}"):
        assert b.features == FEATURES[kernel], f"{b.key} declares {sorted(b.features)}"
        if not b.available:
            continue
        fn = b.implementation()
        available += 1
        assert inspect.signature(fn) == expected, f"{b.key}: {inspect.signature(fn)} != {expected}"
        assert fn.features == b.features and fn.backend == b.name
    assert available >= 1  # numpy, the baseline, is always there


def test_gpu_backends_are_declared_for_every_kernel():
    for kernel in KERNELS:
        devices = {b.name: b.device for b in _registry.backends(f"kernel.{kernel}")}
        assert devices["numpy"] == "cpu" and devices["cuda"] == "gpu"


@pytest.mark.parametrize("kernel,backend", ALL)
def test_backend_passes_the_engines_verification(kernel, backend):
    """The registry's corpus (vs the numpy reference or exact values) and check (official vectors)."""
    from kit.engine import verify_backend

    b = _registry.backend(f"kernel.{kernel}", backend)
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    v = verify_backend(_registry.operation(b.operation), b)
    assert v.cases >= 10
    assert v.problems == [] and v.gives_way == []


def test_fingerprint_check_catches_a_wrong_implementation():
    op = _registry.operation("kernel.batch_fingerprint")
    good = _api.implementation("batch_fingerprint", "numpy")

    def off_by_one(keys, seed=0, algorithm="xxh64"):
        return good(keys, seed, algorithm) + np.uint64(1)

    problems = op.check("numpy", off_by_one)
    assert any("vector" in p for p in problems) and any("xxhash library" in p for p in problems)


# --- entropy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_known_values(backend):
    fn = _impl("entropy", backend)
    assert fn(b"") == 0.0 and isinstance(fn(b""), float)
    assert fn(b"zzzz") == 0.0
    assert fn(b"ab" * 10) == pytest.approx(1.0, abs=1e-12)
    assert fn(bytes(range(256)) * 3) == pytest.approx(8.0, abs=1e-12)
    p = 0.25
    assert fn(b"abbb" * 5) == pytest.approx(-(p * math.log2(p) + (1 - p) * math.log2(1 - p)), abs=1e-12)


@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_per_block(backend):
    fn = _impl("entropy", backend, "block")
    out = fn(b"aaaa" + b"abab" + b"ab", 4)
    assert out.dtype == np.float64 and out.tolist() == pytest.approx([0.0, 1.0, 1.0])
    empty = fn(b"", 4)
    assert empty.shape == (0,) and empty.dtype == np.float64
    data = np.random.default_rng(1).integers(0, 256, 3 * 1024 + 7, dtype=np.uint8)
    ref = _api.implementation("entropy", "numpy")(data, 1024)
    np.testing.assert_allclose(fn(data, 1024), ref, rtol=1e-12)
    assert fn(data, 10**6).tolist() == pytest.approx([fn(data)])


@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_equals_reference_on_large_buffers(backend):
    """Crosses numba's serial/parallel threshold (1 MiB)."""
    fn = _impl("entropy", backend)
    ref = _api.implementation("entropy", "numpy")
    rng = np.random.default_rng(2)
    skewed = rng.geometric(0.05, (1 << 20) + 13).clip(0, 255).astype(np.uint8)
    for data in (skewed, skewed[: (1 << 20) - 1]):
        assert fn(data) == pytest.approx(ref(data), rel=1e-12)
        np.testing.assert_allclose(fn(data, 65536), ref(data, 65536), rtol=1e-12)
    # Blocks of 1 MiB and more are counted one at a time by the reference.
    big = fn(skewed, 1 << 20)
    assert big.shape == (2,)
    assert big.tolist() == pytest.approx([ref(skewed[: 1 << 20]), ref(skewed[1 << 20:])], rel=1e-12)


@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_accepts_buffers(backend):
    fn = _impl("entropy", backend, "bytes-like")
    data = b"kit measures entropy" * 10
    expected = fn(data)
    for form in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8), np.frombuffer(data, np.int8),
                 np.frombuffer(bytes(x for pair in zip(data, data) for x in pair), np.uint8)[::2],
                 memoryview(np.frombuffer(data, np.uint32))):
        assert fn(form) == pytest.approx(expected, abs=1e-12)
    strided = np.frombuffer(data * 2, np.uint8)[::2]
    assert fn(strided) == pytest.approx(fn(strided.copy()), abs=1e-12)


@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_bad_input(backend):
    fn = _impl("entropy", backend)
    with pytest.raises(TypeError, match=r"uint8 numpy array, got a float64 array of shape \(3,\)"):
        fn(np.zeros(3))
    with pytest.raises(ValueError, match=r"must be 1-D, got shape \(2, 2\)"):
        fn(np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match="got str"):
        fn("text")
    with pytest.raises(TypeError, match="got int"):
        fn(12)
    with pytest.raises(ValueError, match="block must be a positive number of bytes, got 0"):
        fn(b"abc", 0)
    with pytest.raises(TypeError, match="block must be None or a positive int, got float"):
        fn(b"abc", 2.0)
    with pytest.raises(ValueError, match="contiguous"):
        fn(memoryview(np.zeros((4, 4), np.uint8)[:, 1]))


# --- batch fingerprint ------------------------------------------------------------------------

def _lib(algorithm: str):
    return xxhash.xxh64_intdigest if algorithm == "xxh64" else xxhash.xxh3_64_intdigest


@pytest.mark.parametrize("algorithm", ["xxh64", "xxh3_64"])
@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_official_vectors(backend, algorithm, shared_data):
    from kit.registry import vectors

    fn = _impl("batch_fingerprint", backend, algorithm)
    cases = vectors.xxhash_vectors(algorithm)
    assert len(cases) >= 9
    for data, seed, expected in cases:
        got = fn([data], seed, algorithm)
        assert got.dtype == np.uint64 and int(got[0]) == expected, (len(data), hex(seed))


@pytest.mark.parametrize("algorithm", ["xxh64", "xxh3_64"])
@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_equals_xxhash_library(backend, algorithm):
    fn = _impl("batch_fingerprint", backend, algorithm)
    rng = np.random.default_rng(3)
    blob = rng.bytes(40_000)
    # All lengths to 300 and a few long ones, at every offset alignment.
    keys = [blob[i % 13:i % 13 + n] for i, n in enumerate(list(range(301)) + [1023, 1024, 1025, 3000])]
    for seed in (0, 1, 0xFFFFFFFF, 2**63, 2**64 - 1):
        expected = np.array([_lib(algorithm)(k, seed) for k in keys], dtype=np.uint64)
        np.testing.assert_array_equal(fn(keys, seed, algorithm), expected)


@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_many_short_keys_and_buffer_end(backend):
    """Many 8-64 byte keys (numba's vectorised blocks and parallel path), keys ending at the buffer's end."""
    fn = _impl("batch_fingerprint", backend)
    rng = np.random.default_rng(4)
    n = 40_000 if backend != "numpy" else 3000
    lengths = rng.integers(0, 80, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(rng.bytes(int(offsets[-1])), np.uint8)
    expected = np.array([xxhash.xxh64_intdigest(data[offsets[i]:offsets[i + 1]].tobytes(), 7) for i in range(n)],
                        dtype=np.uint64)
    np.testing.assert_array_equal(fn((offsets, data), 7), expected)
    for total in range(0, 40):  # tiny buffers: every read must stay inside them
        tiny = np.frombuffer(bytes(range(total)), np.uint8)
        offs = np.array([0, total // 3, total], np.int64)
        for alg in ("xxh64", "xxh3_64"):
            got = fn((offs, tiny), 0, alg)
            assert got.tolist() == [_lib(alg)(tiny[:total // 3].tobytes()), _lib(alg)(tiny[total // 3:].tobytes())]


@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_mixed_lengths_in_one_batch(backend):
    """Every length 0-200 shuffled among random ones: numba's blocks mix no-stripe, one- and two-stripe keys
    and keys long enough for the scalar path (40,000 keys: the parallel path too), and the last keys' reads reach
    the buffer's end."""
    fn = _impl("batch_fingerprint", backend)
    rng = np.random.default_rng(12)
    lengths = np.concatenate([np.arange(201), rng.integers(0, 201, 40_000 if backend != "numpy" else 300)])
    rng.shuffle(lengths)
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(rng.bytes(int(offsets[-1])), np.uint8)
    for seed in (0, 2**64 - 1):
        expected = np.array([xxhash.xxh64_intdigest(data[offsets[i]:offsets[i + 1]].tobytes(), seed)
                             for i in range(lengths.size)], dtype=np.uint64)
        np.testing.assert_array_equal(fn((offsets, data), seed), expected)
        np.testing.assert_array_equal(fn((offsets.astype(np.int32), data), seed), expected)


@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_key_layouts(backend):
    fn = _impl("batch_fingerprint", backend, "arrow")
    keys = [b"alpha", b"", b"\x00" * 40, "naïve".encode(), bytes(range(100))]
    expected = [xxhash.xxh64_intdigest(k) for k in keys]
    assert fn(keys).tolist() == expected
    assert fn(tuple(keys)).tolist() == expected
    assert fn(np.array(keys, dtype=object)).tolist() == expected
    assert fn(iter(keys)).tolist() == expected
    assert fn([bytearray(k) for k in keys]).tolist() == expected
    offsets = np.concatenate([[0], np.cumsum([len(k) for k in keys])])
    data = np.frombuffer(b"".join(keys), np.uint8)
    for dtype in (np.int32, np.int64, np.uint32):
        assert fn((offsets.astype(dtype), data)).tolist() == expected
    if importlib.util.find_spec("pyarrow") is None:
        pytest.skip("pyarrow is not installed")
    import pyarrow as pa

    for typ in (pa.binary(), pa.large_binary()):
        arr = pa.array(keys, type=typ)
        assert fn(arr).tolist() == expected
        assert fn(arr.slice(1, 3)).tolist() == expected[1:4]
        assert fn(pa.chunked_array([arr.slice(0, 2), arr.slice(2)])).tolist() == expected
    assert fn(pa.array(["naïve", "kit"])).tolist() == [xxhash.xxh64_intdigest(s.encode()) for s in ("naïve", "kit")]
    assert fn(pa.array([], type=pa.binary())).shape == (0,)


@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_property(backend):
    fn = _impl("batch_fingerprint", backend)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.binary(max_size=300), max_size=12), st.integers(0, 2**64 - 1),
           st.sampled_from(["xxh64", "xxh3_64"]))
    def check(keys, seed, algorithm):
        assert fn(keys, seed, algorithm).tolist() == [_lib(algorithm)(k, seed) for k in keys]

    check()


@pytest.mark.parametrize("backend", _params("entropy"))
def test_entropy_property(backend):
    fn = _impl("entropy", backend)
    ref = _api.implementation("entropy", "numpy")

    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=2000), st.one_of(st.none(), st.integers(1, 300)))
    def check(data, block):
        got, exp = fn(data, block), ref(data, block)
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)
        assert np.all((np.asarray(got) >= 0) & (np.asarray(got) <= 8 + 1e-12))

    check()


def test_long_lists_convert_through_pyarrow_like_join():
    if importlib.util.find_spec("pyarrow") is None:
        pytest.skip("pyarrow is not installed")
    rng = np.random.default_rng(5)
    keys = [rng.bytes(int(n)) for n in rng.integers(0, 70, _inputs.ARROW_MIN_KEYS + 10)]
    via_arrow = _inputs.as_keys(keys)
    via_join = _inputs.as_keys(keys[:-1] + [bytearray(keys[-1])])  # a non-bytes key takes the join path
    np.testing.assert_array_equal(via_arrow[0], via_join[0])
    np.testing.assert_array_equal(via_arrow[1][: via_arrow[0][-1]], via_join[1][: via_join[0][-1]])
    with pytest.raises(TypeError, match=r"keys\[4100\] must be bytes-like or str, got int 7"):
        _inputs.as_keys(keys[:4100] + [7] + keys[4100:])
    with pytest.raises(TypeError, match=r"keys\[4100\] must be bytes-like or str, got NoneType"):
        _inputs.as_keys(keys[:4100] + [None] + keys[4100:])
    with_text = keys[:4100] + ["naïve"] + keys[4100:]
    encoded = [k.encode() if isinstance(k, str) else k for k in with_text]
    np.testing.assert_array_equal(_api.implementation("batch_fingerprint", "xxhash")(with_text),
                                  [xxhash.xxh64_intdigest(k) for k in encoded])


@pytest.mark.parametrize("backend", _params("batch_fingerprint"))
def test_fingerprint_empty_and_bad_input(backend):
    fn = _impl("batch_fingerprint", backend)
    empty = fn([])
    assert empty.dtype == np.uint64 and empty.shape == (0,)
    assert fn((np.zeros(1, np.int64), np.zeros(0, np.uint8))).shape == (0,)
    assert fn([b"a", "é"]).tolist() == [xxhash.xxh64_intdigest(b"a"), xxhash.xxh64_intdigest("é".encode())]
    with pytest.raises(TypeError, match=r"keys\[1\] must be bytes-like or str, got float 1.5"):
        fn([b"a", 1.5])
    with pytest.raises(TypeError, match="single bytes"):
        fn(b"abc")
    with pytest.raises(TypeError, match="got int"):
        fn(5)
    with pytest.raises(TypeError, match="dtype object"):
        fn(np.zeros(3))
    with pytest.raises(ValueError, match=r"non-decreasing, got offsets\[1\]=5 > offsets\[2\]=2"):
        fn((np.array([0, 5, 2]), np.zeros(8, np.uint8)))
    with pytest.raises(ValueError, match=r"offsets must lie in \[0, len\(data\)=8\], got .*offsets\[-1\]=9"):
        fn((np.array([0, 9]), np.zeros(8, np.uint8)))
    with pytest.raises(TypeError, match="data must be bytes-like or a uint8 numpy array, got a float64"):
        fn((np.array([0, 1]), np.zeros(8)))
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got -1"):
        fn([b"a"], -1)
    with pytest.raises(ValueError, match="seed must be in"):
        fn([b"a"], 2**64)
    with pytest.raises(TypeError, match="seed must be an int"):
        fn([b"a"], 1.5)
    with pytest.raises(ValueError, match="unknown algorithm 'xxh32'; valid algorithms: xxh64, xxh3_64"):
        fn([b"a"], 0, "xxh32")
    if importlib.util.find_spec("pyarrow") is not None:
        import pyarrow as pa

        with pytest.raises(ValueError, match="1 null"):
            fn(pa.array([b"a", None]))
        with pytest.raises(TypeError, match="must be binary, large_binary, string or large_string, got int64"):
            fn(pa.array([1, 2]))


def test_custom_secret_matches_xxhash_on_long_seeded_keys():
    # Inputs over 240 bytes hash with the seed's secret: checked through the reference.
    assert _xxh.custom_secret(0) == _xxh.KSECRET
    data = bytes(range(256)) * 2
    offsets, buf = _inputs.as_keys([data])
    assert int(_numpy.fingerprint(offsets, buf, 12345, "xxh3_64")[0]) == xxhash.xxh3_64_intdigest(data, 12345)


# --- bootstrap ----------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", _params("bootstrap"))
def test_bootstrap_equals_reference(backend):
    fn = _impl("bootstrap", backend, "return_distribution")
    ref = _api.implementation("bootstrap", "numpy")
    rng = np.random.default_rng(6)
    for n, resamples in ((1, 10), (2, 50), (15, 2000), (16, 333), (1000, 1100)):
        xs = rng.normal(size=n)
        np.testing.assert_array_equal(fn(xs, "median", resamples, 0.95, 9, True),
                                      ref(xs, "median", resamples, 0.95, 9, True))
        # Means differ only by summation order: within a few ulps of the samples' scale.
        np.testing.assert_allclose(fn(xs, "mean", resamples, 0.95, 9, True),
                                   ref(xs, "mean", resamples, 0.95, 9, True), rtol=0, atol=1e-13 * np.abs(xs).max())
        assert fn(xs, "median", resamples, 0.9, 9) == ref(xs, "median", resamples, 0.9, 9)


@pytest.mark.parametrize("backend", _params("bootstrap"))
def test_bootstrap_intervals(backend):
    fn = _impl("bootstrap", backend)
    rng = np.random.default_rng(7)
    xs = rng.normal(50.0, 5.0, 400)
    lo, hi = fn(xs, "median", 4000)
    assert lo < np.median(xs) < hi
    lo95, hi95 = fn(xs, "mean", 4000, 0.95)
    lo50, hi50 = fn(xs, "mean", 4000, 0.50)
    assert lo95 < lo50 < xs.mean() < hi50 < hi95
    # The standard error of the mean is sd/sqrt(n); a 95% interval is about 3.92 of them wide.
    assert (hi95 - lo95) == pytest.approx(3.92 * xs.std(ddof=1) / math.sqrt(xs.size), rel=0.15)
    assert fn(xs, "median", 500, 0.95, 1) == fn(xs, "median", 500, 0.95, 1)
    assert not np.array_equal(fn(xs, "median", 500, 0.95, 1, True), fn(xs, "median", 500, 0.95, 2, True))
    assert fn([4.0], "median", 100) == (4.0, 4.0)
    assert fn(np.arange(10), "median", 100) == fn(np.arange(10.0), "median", 100)


def test_bootstrap_interval_width_matches_numpys_generator():
    """The counter-based stream resamples like numpy.random: similar interval widths."""
    rng = np.random.default_rng(8)
    xs = rng.lognormal(0.0, 1.0, 200)
    draws = xs[np.random.default_rng(0).integers(0, xs.size, (4000, xs.size))]
    medians = np.median(draws, axis=1)
    width_numpy = np.subtract(*np.percentile(medians, [97.5, 2.5]))
    lo, hi = kit.kernels.bootstrap(xs, resamples=4000, backend="numpy")
    assert (hi - lo) == pytest.approx(width_numpy, rel=0.15)


def test_splitmix_draws_are_uniform():
    counts = np.bincount(stats.resample_indices(stats.splitmix_key(0), 1, 70_001, 7), minlength=7)
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert counts.sum() == 70_001 and chi2 < 22.5  # p = 0.001 with 6 degrees of freedom
    # Draw d is the same wherever a batch starts: the stream is counter-based.
    whole = stats.resample_indices(123, 0, 100, 1000)
    np.testing.assert_array_equal(whole[37:], stats.resample_indices(123, 37, 63, 1000))


def test_compiled_splitmix_equals_the_reference():
    """The numba kernels keep a jitted copy of kit.stats' SplitMix64 (uint64 wrapping arithmetic)."""
    if not _registry.backend("kernel.bootstrap", "numba").available:
        pytest.skip("numba is not installed")
    import numba

    from kit.kernels import _numba

    word = numba.njit(lambda key, w: _numba.splitmix_word(key, w))
    for seed in (0, 1, 7, 2**63 + 5, 2**64 - 1):
        key = stats.splitmix_key(seed)
        for w in (0, 1, 2**31, 2**64 - 2):
            expected = stats.splitmix_mix(key + (w + 1) * stats.SPLITMIX_GAMMA)
            assert int(word(np.uint64(key), np.uint64(w))) == expected, (seed, w)


@pytest.mark.parametrize("backend", _params("bootstrap"))
def test_bootstrap_empty_and_bad_input(backend):
    fn = _impl("bootstrap", backend)
    lo, hi = fn([], "median", 10)
    assert math.isnan(lo) and math.isnan(hi)
    assert np.isnan(fn([], "mean", 5, 0.95, 0, True)).all()
    with pytest.raises(ValueError, match="must not contain NaN, got 1 NaN"):
        fn([1.0, float("nan")])
    with pytest.raises(ValueError, match=r"1-D, got shape \(2, 2\)"):
        fn(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        fn(["a", "b"])
    with pytest.raises(TypeError, match="real numbers, got a complex128"):
        fn(np.zeros(3, complex))
    with pytest.raises(ValueError, match="unknown statistic 'mode'; valid statistics: median, mean"):
        fn([1.0, 2.0], "mode")
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\), got 1.5"):
        fn([1.0, 2.0], "median", 10, 1.5)
    with pytest.raises(ValueError, match="resamples must be at least 1, got 0"):
        fn([1.0, 2.0], "median", 0)
    with pytest.raises(TypeError, match="resamples must be a positive int, got float"):
        fn([1.0, 2.0], "median", 10.0)


def test_measure_bootstrap_ci_uses_the_kernel():
    from kit.engine.measure import bootstrap_ci

    xs = [1.0, 1.2, 0.9, 1.1, 1.05, 0.97, 1.01]
    assert bootstrap_ci(xs) == kit.kernels.bootstrap(xs, resamples=2000, backend="numpy")
    assert bootstrap_ci(xs, statistic="mean", level=0.9, seed=3) == \
        kit.kernels.bootstrap(xs, "mean", 2000, 0.9, 3, backend="numpy")
    assert bootstrap_ci([2.0]) == (2.0, 2.0) and bootstrap_ci([]) == (0.0, 0.0)


# --- the numpy code's array-module path (what the cupy backend runs) ----------------------------

class _Shim(types.SimpleNamespace):
    """numpy under another name, so the ``xp is not np`` branches run on the CPU."""

    def __getattr__(self, name):
        return getattr(np, name)

    def asnumpy(self, a):
        return np.asarray(a)


def test_array_module_path_equals_numpy_path():
    xp = _Shim()
    data = np.random.default_rng(9).integers(0, 50, 10_000, dtype=np.uint8)
    assert _numpy.entropy(data, None, xp) == pytest.approx(_numpy.entropy(data, None), rel=1e-12)
    np.testing.assert_allclose(_numpy.entropy(data, 999, xp), _numpy.entropy(data, 999), rtol=1e-12)
    xs = np.sort(np.random.default_rng(10).normal(size=31))
    for stat in ("median", "mean"):
        np.testing.assert_array_equal(_numpy.bootstrap_stats(xs, 300, 5, stat, xp), _numpy.bootstrap_stats(xs, 300, 5, stat))


# --- dispatch ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel", KERNELS)
def test_gpu_backend_named_without_a_device_raises(kernel):
    for name in ("cuda", "cupy"):
        try:
            b = _registry.backend(f"kernel.{kernel}", name)
        except ValueError:
            continue
        if b.available:
            pytest.skip(f"{b.key} is available here")
        args = {"entropy": (b"abc",), "batch_fingerprint": ([b"abc"],), "bootstrap": ([1.0, 2.0],)}[kernel]
        with pytest.raises(BackendUnavailable, match="no CUDA device"):
            getattr(kit.kernels, kernel)(*args, backend=name)
        with kit.config_context(backends={f"kernel.{kernel}": name}):
            with pytest.raises(BackendUnavailable, match="no CUDA device"):
                getattr(kit.kernels, kernel)(*args)


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid backends: numpy, numba, numba.parallel, cuda, cupy"):
        kit.kernels.entropy(b"abc", backend="opencl")
    with pytest.raises(ValueError, match="valid kernels: entropy, batch_fingerprint, bootstrap"):
        kit.kernels.backends("fft")


def test_forced_backend_is_used():
    with kit.config_context(backends={"kernel.entropy": "numpy", "kernel.bootstrap": "numba"}):
        assert kit.kernels.choose("entropy", 10**8) == "numpy"
        assert kit.kernels.choose("bootstrap", 10) == "numba"  # not replaced by numpy for tiny work


def test_tiny_bootstrap_work_stays_on_numpy_without_asking_the_engine(monkeypatch):
    import kit.engine

    def boom(*a, **k):
        raise AssertionError("the engine was asked")

    monkeypatch.setattr(kit.engine, "backend_for", boom)
    assert kit.kernels.choose("bootstrap", _api.bootstrap_size(15, 2000)) == "numpy"
    assert kit.kernels.bootstrap([1.0, 2.0, 3.0], resamples=2000) is not None


def test_engine_selects_with_tuning_off(fresh_engine):
    with kit.config_context(tune="off"):
        assert kit.kernels.choose("entropy", 1000) == "numpy"  # the baseline, said so in kit info
        assert kit.kernels.entropy(b"aabb") == 1.0


def test_bootstrap_size_maps_work_to_the_measured_classes():
    for cls, nbytes in _registry.SIZE_CLASSES.items():
        n, resamples = _api.bootstrap_params(nbytes)
        assert _api.bootstrap_size(n, resamples) == nbytes, cls


def test_import_is_light_and_compiles_nothing():
    code = ("import sys, kit, kit.kernels\n"
            "kit.kernels.entropy(b'abc', backend='numpy')\n"
            "kit.kernels.bootstrap([1.0, 2.0, 3.0], resamples=100)\n"
            "kit.kernels.compile_times()\n"
            "print(','.join(m for m in ('numba', 'pyarrow', 'cupy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
    code = "import sys, kit, kit.kernels; print('numpy' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_concurrent_and_forked_calls_are_safe():
    """Parallel kernels run one at a time per process; other threads, and forked children, run serially."""
    b = _registry.backend("kernel.batch_fingerprint", "numba.parallel")
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    import concurrent.futures
    import multiprocessing

    rng = np.random.default_rng(11)
    lengths = rng.integers(8, 65, 50_000)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    data = np.frombuffer(rng.bytes(int(offsets[-1])), np.uint8)
    expected = _api.implementation("batch_fingerprint", "numpy")((offsets[:2001], data))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: kit.kernels.batch_fingerprint((offsets, data), backend="numba.parallel"),
                                range(8)))
    for r in results:
        np.testing.assert_array_equal(r[:2000], expected)
    buf = rng.bytes(3 << 20)
    parent = kit.kernels.entropy(buf, backend="numba.parallel")
    with multiprocessing.get_context("fork").Pool(1) as child:
        assert child.apply_async(_entropy_numba, (buf,)).get(timeout=120) == parent


def test_numba_backends_choose_their_threads_deterministically(monkeypatch):
    """`numba` never goes parallel; `numba.parallel` does from PARALLEL_MIN on, whatever the machine's load."""
    b = _registry.backend("kernel.entropy", "numba.parallel")
    if not b.available:
        pytest.skip(f"{b.key}: {b.unavailable_reason()}")
    from kit.kernels import _numba

    one, par = _api.implementation("entropy", "numba"), _api.implementation("entropy", "numba.parallel")
    calls = []
    real = _numba.entropy_parallel
    monkeypatch.setattr(_numba, "entropy_parallel", lambda *a: calls.append(1) or real(*a))
    big = np.random.default_rng(3).integers(0, 256, _numba.PARALLEL_MIN["entropy"], dtype=np.uint8)
    expected = one(big)
    assert calls == []
    assert par(big[:-1]) == pytest.approx(one(big[:-1]), rel=1e-12) and calls == []  # below the threshold
    for _ in range(3):
        assert par(big) == pytest.approx(expected, rel=1e-12)
    assert calls == [1, 1, 1]
    # Another thread's parallel call in progress: this one runs on one core, same result.
    assert _numba._PARALLEL.acquire(blocking=False)
    try:
        assert par(big) == pytest.approx(expected, rel=1e-12) and calls == [1, 1, 1]
    finally:
        _numba._PARALLEL.release()


def test_numba_pair_counts_fold_per_segment():
    """The pair table is folded and cleared per segment (1 GiB in use); small segments check that path."""
    if not _registry.backend("kernel.entropy", "numba").available:
        pytest.skip("numba is not installed")
    from kit.kernels import _numba

    a = _numba.readonly(np.random.default_rng(8).geometric(0.1, 80_000).clip(0, 255).astype(np.uint8))
    for segment in (8, 64, 4096, 1 << 30):
        c = np.zeros(1024, np.int64)
        _numba._count_pairs(a, 16, 16 + 79_976, c, segment)
        np.testing.assert_array_equal(c[:256], np.bincount(a[16:16 + 79_976], minlength=256))
        assert not c[256:].any()


def _entropy_numba(buf: bytes) -> float:
    return kit.kernels.entropy(buf, backend="numba.parallel")


def test_compile_times_are_reported_apart():
    if not _registry.backend("kernel.entropy", "numba").available:
        pytest.skip("numba is not installed")
    kit.kernels.entropy(b"abc", backend="numba")
    t = kit.kernels.compile_times()["numba:entropy"]
    assert t["seconds"] > 0 and t["source"] in ("compiled", "disk cache")


# --- scaling, benchmarks, targets ------------------------------------------------------------------

def test_scaling_and_plot():
    data = kit.kernels.scaling("batch_fingerprint", [10, 100], ["numpy", "xxhash"], preset="quick")
    assert data["unit"] == "keys" and data["sizes"] == [10, 100]
    for row in data["backends"].values():
        assert len(row["median_s"]) == 2 and all(lo <= m <= hi for lo, m, hi in
                                                  zip(row["ci_low_s"], row["median_s"], row["ci_high_s"]))
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = kit.kernels.plot_scaling(data, relative_to="numpy")
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 2
    if not _registry.backend("kernel.entropy", "cuda").available:
        with pytest.raises(BackendUnavailable, match="no CUDA device"):
            kit.kernels.scaling("entropy", [10], ["cuda"])


def test_asv_benchmarks_run_and_skip_unavailable_backends():
    spec = importlib.util.spec_from_file_location("bench_kernels", ROOT / "benchmarks" / "bench_kernels.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for cls, args in ((bench.Entropy, ("numpy", 1024)), (bench.BatchFingerprint, ("numpy", 100, "xxh3_64")),
                      (bench.Bootstrap, ("numpy", "15x2000", "median")), (bench.EntropyReference, ("numpy.copyto", 1024)),
                      (bench.BatchFingerprintReference, ("list -> (offsets, data)", 100)),
                      (bench.BootstrapReference, ("15x2000",))):
        assert len(cls.params) == len(cls.param_names)
        obj = cls()
        obj.setup(*args)
        for name in dir(obj):
            if name.startswith("time_"):
                getattr(obj, name)(*args)
    assert "cuda" in bench.Entropy.params[0] and 100 << 20 in bench.Entropy.params[1]
    if not _registry.backend("kernel.entropy", "cuda").available:
        with pytest.raises(NotImplementedError, match="no CUDA device"):
            bench.Entropy().setup("cuda", 1024)


def test_targets_command_runs_small():
    from kit.targets import kernels as targets

    for module in ("numba", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")

    rec = targets.run(scale=0.0005, preset="quick")
    assert set(rec["targets"]) == set(targets.TARGETS)
    for value, target in rec["targets"].values():
        assert value > 0 and target > 0
    text = targets.format_record(rec)
    assert "SMOKE RUN" in text and "numpy.copyto" in text and "xxhash.xxh64_intdigest" in text
