"""Property-based differential tests of the other implementation choices: codecs, tables, kernels.

Every operation whose output contract is ``implementation`` (derived from the
registry) has a strategy here, and a test checks that none is missing. Each
generated input runs through every available backend; the backend must give
the baseline's result by the operation's own ``equal``, or both must raise,
or the backend must fail the engine's verification (then it is never
selected). For the codecs the contract is on the decoded bytes: each codec's
round trip returns the input, as the baseline's does. Seeded and
derandomized, like the JSON differential tests.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import registry as _registry

EXAMPLES = 1000
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

np = pytest.importorskip("numpy")


def _outcome(fn, args):
    try:
        return "ok", fn(*args)
    except Exception as exc:  # generated inputs probe failure modes on purpose
        return "error", exc


def _differential(op_name: str, args: tuple) -> None:
    from kit.engine import get_engine

    op = _registry.operation(op_name)
    base = _registry.backend(op_name, op.baseline).implementation()
    kind, expected = _outcome(base, args)
    for b in _registry.backends(op_name)[1:]:
        if not b.available:
            continue
        got_kind, got = _outcome(b.implementation(), args)
        if got_kind == "error":
            continue  # gives way: the dispatcher falls back to the baseline
        same = kind == "ok" and op.equal(got, expected)
        if not same:
            assert not get_engine().verification(op_name, b.name).ok, (
                f"{b.key} passes verification but differs from the baseline on {args!r:.200}: "
                f"{got!r:.120} vs {expected if kind == 'ok' else 'an error: ' + repr(expected)!r:.120}")


# --- codecs: decoded bytes ----------------------------------------------------------------------------

data = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda chunk, n: chunk * n, st.binary(min_size=1, max_size=8), st.integers(1, 3000)),
    st.text(max_size=500).map(lambda s: s.encode("utf-8")),
    st.integers(0, 3).map(lambda k: bytes(range(256)) * k),
)


@SETTINGS
@given(data, st.sampled_from(["fast", "balanced", "max"]))
def test_every_codec_round_trips_to_the_baselines_bytes(blob, level):
    from kit.engine import get_engine

    for b in _registry.backends("compress"):
        if not b.available:
            continue
        # lzma's max preset allocates a 674 MiB encoder per call (~50 ms): its levels share the code path.
        lvl = "fast" if b.name == "lzma" else level
        compressed = b.implementation()(blob, lvl)
        back = _registry.backend("decompress", b.name).implementation()(compressed)
        if bytes(back) != blob:
            assert not get_engine().verification("decompress", b.name).ok, (b.name, lvl, blob[:60])


# --- tables ---------------------------------------------------------------------------------------------

# Values are multiples of 1/8 below 2**40: sums are exact in any order, so the backends must agree exactly;
# the extremes (1e308, the smallest subnormal, -0.0) come alone in their own group.
values = st.one_of(st.integers(-(2 ** 40), 2 ** 40).map(lambda i: i / 8),
                   st.sampled_from([1e308, -1e308, 5e-324, -0.0, 0.0]))
keys = st.one_of(st.integers(-5, 5), st.sampled_from([-(2 ** 63), 2 ** 63 - 1, 0]))


def _table(rows):
    return {"key": np.array([k for k, _ in rows], dtype=np.int64), "value": np.array([v for _, v in rows], dtype=np.float64)}


tables = st.lists(st.tuples(keys, st.integers(-(2 ** 40), 2 ** 40).map(lambda i: i / 8)), max_size=60).map(_table)
extreme_tables = st.lists(st.tuples(st.integers(100, 110), values), min_size=1, max_size=6, unique_by=lambda r: r[0]).map(_table)


@settings(SETTINGS, max_examples=600)  # ~1 ms per polars call: the table tests are the slowest per example
@given(st.one_of(tables, tables, extreme_tables))
def test_every_table_backend_groups_as_the_baseline(table):
    _differential("table.groupby", (table,))


@settings(SETTINGS, max_examples=400)
@given(st.one_of(tables, extreme_tables))
def test_every_table_backend_round_trips_as_the_baseline(table):
    _differential("table.roundtrip", (table,))


# --- kernels ----------------------------------------------------------------------------------------------

buffers = st.one_of(st.binary(max_size=4000), st.binary(max_size=300).map(bytearray),
                    st.binary(max_size=2000).map(lambda b: np.frombuffer(b, dtype=np.uint8)),
                    st.builds(lambda c, n: c * n, st.binary(min_size=1, max_size=3), st.integers(1, 5000)))


@SETTINGS
@given(buffers, st.none() | st.integers(1, 700))
def test_every_entropy_kernel_agrees_with_numpy(buf, block):
    _differential("kernel.entropy", (buf,) if block is None else (buf, block))


@SETTINGS
@given(st.lists(st.binary(max_size=300), max_size=40), st.integers(0, 2 ** 64 - 1), st.sampled_from(["xxh64", "xxh3_64"]))
def test_every_batch_fingerprint_kernel_agrees_with_numpy(keys_, seed, algorithm):
    _differential("kernel.batch_fingerprint", (keys_, seed, algorithm))


# Samples of one sign: with mixed signs a resampled mean can be small against the samples' magnitudes, and
# then summation order alone moves it beyond the contract's 1e-12 (see the known difference below).
@settings(SETTINGS, max_examples=700)
@given(st.lists(st.floats(0, 1e6), max_size=40).map(lambda xs: [-x for x in xs]) | st.lists(st.floats(0, 1e6), max_size=40),
       st.sampled_from(["median", "mean"]), st.integers(1, 300), st.sampled_from([0.5, 0.9, 0.95, 0.99]),
       st.integers(0, 2 ** 32), st.booleans())
def test_every_bootstrap_kernel_agrees_with_numpy(samples, statistic, resamples, level, seed, distribution):
    _differential("kernel.bootstrap", (samples, statistic, resamples, level, seed, distribution))


# Found by the property above with mixed-sign samples: the numba kernels' resampled means differ from numpy's
# by 1.5e-10 on means of order 1e4 (summation order on values of order 1e6), beyond the contract's 1e-12, and
# verification passes them. The kernels and their contract belong to kit.kernels; until one changes (a summation
# both sides share, or a tolerance relative to the samples' magnitude), this records the difference.
MIXED_SIGNS = [-245652.699, -377705.175, 24969.978, -695417.423, 214150.768, -82246.407, 896454.309, -35056.902,
               -985859.499, 873119.189, -457087.887, -624680.808, 836001.777, 15985.653, 995411.089, -652834.643,
               179143.066, 964293.857, 254591.029, -516523.029, 545752.98, -948391.491, 96418.485, -184873.81,
               -831361.595, 900040.16, 278872.943]


@pytest.mark.xfail(strict=True, reason="bootstrap means with mixed-sign samples differ beyond 1e-12 (kit.kernels)")
def test_bootstrap_means_of_mixed_sign_samples_agree_with_numpy():
    op = _registry.operation("kernel.bootstrap")
    args = (MIXED_SIGNS, "mean", 272, 0.95, 138, True)
    expected = _registry.backend(op.name, op.baseline).implementation()(*args)
    for b in op.backends()[1:]:
        if b.available:
            assert op.equal(b.implementation()(*args), expected), b.name


COVERED = {"compress", "decompress", "table.groupby", "table.roundtrip", "kernel.entropy",
           "kernel.batch_fingerprint", "kernel.bootstrap", "json.encode", "json.decode"}


def test_every_implementation_choice_has_a_differential_test():
    ops = {op.name for op in _registry.operations() if op.interchangeable}
    assert ops - COVERED == set(), "an implementation choice without a differential test"
    assert not any(_registry.operation(n).output == _registry.ALGORITHM for n in COVERED)
