"""Property-based round trips: every codec, every level, auto under any objective."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import registry as _registry
from kit.registry.codecs import CODECS, LEVEL_NAMES
from kit.compression import HEADER_SIZE, FrameError, compress, decompress, frame_info

AVAILABLE = [c for c in CODECS if _registry.backend("compress", c).available]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Binary data with structure: repeats of short pieces, so that codecs have
# something to find, mixed with arbitrary bytes.
data_st = st.one_of(
    st.binary(max_size=5000),
    st.lists(st.binary(min_size=1, max_size=40), max_size=50).flatmap(
        lambda parts: st.integers(1, 40).map(lambda k: b"".join(parts) * k)),
)


@pytest.mark.parametrize("codec", ["raw", *AVAILABLE])
@SETTINGS
@given(data=data_st, level=st.sampled_from(LEVEL_NAMES), typesize=st.integers(1, 16))
def test_round_trip_any_bytes(codec, data, level, typesize):
    frame = compress(data, codec=codec, level=level, typesize=typesize)
    assert decompress(frame) == data
    assert len(frame) <= len(data) + HEADER_SIZE
    assert frame_info(frame).size == len(data)


@SETTINGS
@given(data=data_st, objective=st.one_of(st.sampled_from(["speed", "balanced", "ratio"]),
                                         st.floats(1e3, 1e11)),
       level=st.sampled_from(LEVEL_NAMES))
def test_auto_round_trip_and_bound(data, objective, level):
    frame = compress(data, level=level, objective=objective)
    assert decompress(frame) == data
    assert len(frame) <= len(data) + 64


@SETTINGS
@given(data=st.binary(min_size=1, max_size=3000), codec=st.sampled_from(["raw", *AVAILABLE]),
       pos=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_flipped_bit_never_gives_wrong_data(data, codec, pos, bit):
    frame = bytearray(compress(data, codec=codec))
    frame[pos % len(frame)] ^= 1 << bit
    try:
        out = decompress(bytes(frame))
    except FrameError:
        return
    assert out == data


@SETTINGS
@given(frame=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly(frame):
    try:
        decompress(frame)
    except FrameError:
        pass


def _typed_array(dtype: str, shape: str, count: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    if shape == "walk":
        a = np.cumsum(rng.normal(size=count)) * 100
    elif shape == "counts":
        a = 1000 + rng.poisson(3, size=count).cumsum()
    elif shape == "ramp":
        a = np.arange(count) * 3
    elif shape == "constant":
        a = np.full(count, 7)
    else:
        a = rng.normal(size=count) * 1000
    return a.astype(dtype)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dtype=st.sampled_from(["<i8", "<f8", "<i4", "<f4", "<i2"]),
       shape=st.sampled_from(["walk", "counts", "ramp", "constant", "noise"]),
       nbytes=st.integers(256 << 10, 1 << 20), seed=st.integers(0, 2**32 - 1),
       objective=st.one_of(st.sampled_from(["speed", "balanced", "ratio"]), st.floats(1e5, 1e10)))
def test_auto_on_typed_arrays_round_trips_within_the_bound(dtype, shape, nbytes, seed, objective):
    """Large enough for the typed-data trial (sample, block-ratio model, probe budget)."""
    pytest.importorskip("numpy")
    a = _typed_array(dtype, shape, nbytes // int(dtype[-1]), seed)
    frame = compress(a, objective=objective)
    assert decompress(frame) == a.tobytes()
    assert len(frame) <= a.nbytes + 64
    info = frame_info(frame)
    assert info.typesize == a.itemsize and info.version == 1 and info.dictionary is None
    if info.codec != "raw":
        assert len(frame) < a.nbytes
