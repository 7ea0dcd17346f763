"""The CUDA kernels, run on the CPU by numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).

The simulator must be chosen before numba is imported, so the checks run in
a subprocess. It executes the kernels as Python, one simulated thread at a
time: inputs stay small. The device code is the same ``register_jitable``
hashing and sampling code the CPU kernels compile, so this checks the launch
code (grids, shared memory, atomics, scratch) and the device paths; on a
machine with a GPU the ordinary suite runs the ``cuda`` backend for real.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import math
    import numpy as np
    import xxhash
    import kit.kernels as K
    from kit.registry import vectors
    from kit.errors import BackendUnavailable

    for kernel in K.KERNELS:
        assert K.backends(kernel)["cuda"] is None, K.backends(kernel)
    entropy = lambda *a: K.entropy(*a, backend="cuda")
    ref = lambda *a: K.entropy(*a, backend="numpy")

    # entropy: whole buffer, per block (last block short), edge cases
    data = np.random.default_rng(1).integers(0, 40, 3001, dtype=np.uint8)
    assert abs(entropy(data) - ref(data)) < 1e-12
    np.testing.assert_allclose(entropy(data, 700), ref(data, 700), rtol=1e-12)
    from kit.kernels import _cuda
    _cuda.GROUP_BLOCKS = 2  # several launches, the last one partial
    np.testing.assert_allclose(entropy(data, 600), ref(data, 600), rtol=1e-12)
    assert entropy(b"") == 0.0 and entropy(b"", 8).shape == (0,)
    assert abs(entropy(b"ab" * 8) - 1.0) < 1e-12 and entropy(b"zzz") == 0.0
    assert abs(entropy(bytes(range(256))) - 8.0) < 1e-12

    # batch fingerprint: official vectors, and the library on keys of every short length
    fp = lambda keys, seed=0, alg="xxh64": K.batch_fingerprint(keys, seed, alg, backend="cuda")
    lib = {"xxh64": xxhash.xxh64_intdigest, "xxh3_64": xxhash.xxh3_64_intdigest}
    for alg in ("xxh64", "xxh3_64"):
        cases = vectors.xxhash_vectors(alg)
        assert cases, "official vectors absent"
        by_seed = {}
        for d, seed, expected in cases:
            by_seed.setdefault(seed, []).append((d, expected))
        for seed, items in by_seed.items():
            got = fp([d for d, _ in items], seed, alg).tolist()
            assert got == [e for _, e in items], (alg, seed)
        blob = np.random.default_rng(2).bytes(5000)
        keys = [blob[i:i + n] for i, n in enumerate(list(range(0, 70)) + [129, 200, 241, 300])]
        for seed in (0, 2**64 - 1):
            assert fp(keys, seed, alg).tolist() == [lib[alg](k, seed) for k in keys], (alg, seed)
        assert fp([b"a", b"bc"], 0, alg).tolist() == [lib[alg](b"a"), lib[alg](b"bc")]  # data under 8 bytes
    assert fp([]).shape == (0,) and fp([]).dtype == np.uint64

    # bootstrap: the same resamples as numpy, bit for bit (median), to rounding (mean)
    xs = np.random.default_rng(3).normal(size=21)
    for stat in ("median", "mean"):
        got = K.bootstrap(xs, stat, 64, 0.95, 5, True, backend="cuda")
        exp = K.bootstrap(xs, stat, 64, 0.95, 5, True, backend="numpy")
        if stat == "median":
            assert np.array_equal(got, exp)
        else:
            np.testing.assert_allclose(got, exp, rtol=0, atol=1e-13 * np.abs(xs).max())
    assert K.bootstrap(xs[:4], "median", 33, backend="cuda") == K.bootstrap(xs[:4], "median", 33, backend="numpy")
    lo, hi = K.bootstrap([], "median", 5, backend="cuda")
    assert math.isnan(lo) and math.isnan(hi)

    # bad input is rejected before any launch, as on every backend
    try:
        entropy(np.zeros(3))
    except TypeError as exc:
        assert "float64" in str(exc)
    else:
        raise AssertionError("float input accepted")

    times = K.compile_times()
    assert {"cuda:entropy", "cuda:batch_fingerprint", "cuda:bootstrap"} <= set(times), times
    assert all(times[k]["source"] == "simulator" for k in times if k.startswith("cuda:"))
    print("OK")
    """
)


def test_cuda_kernels_under_the_simulator():
    if importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip().endswith("OK")


def test_without_the_simulator_cuda_is_unavailable_and_says_why():
    """Outside the simulator, and without a GPU, the same call refuses to run on the CPU."""
    from kit import registry as _registry
    from kit.errors import BackendUnavailable

    b = _registry.backend("kernel.entropy", "cuda")
    if b.available:
        pytest.skip("a CUDA device is present")
    import kit.kernels

    with pytest.raises(BackendUnavailable, match="no CUDA device"):
        kit.kernels.entropy(b"abc", backend="cuda")
