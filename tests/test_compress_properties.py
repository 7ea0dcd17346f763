"""Property-based round trips: every codec, every level, auto under any objective."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import _registry
from kit.backends.codecs import CODECS, LEVEL_NAMES
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
