"""kit.compress / kit.decompress: frames, codecs, levels, auto, bounds, damage."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
import zlib

import pytest

import kit
from kit import _registry
from kit.backends.codecs import CODECS, LEVEL_NAMES
from kit.compression import (CODEC_IDS, HEADER_SIZE, MAGIC, ChecksumError, DecompressionBombError, FrameError,
                          choose_codec, compress, decompress, frame_info)
from kit.errors import BackendUnavailable
from kit.workloads.payloads import numeric, random_bytes, text

PAYLOADS = {
    "empty": b"",
    "one byte": b"x",
    "text 20 KiB": text(20_000, 3),
    "numeric 16 KiB": numeric(16_384, 3),
    "random 4 KiB": random_bytes(4096, 3),
    "zeros 64 KiB": bytes(65_536),
}


def _codec(name: str) -> str:
    reason = _registry.backend("compress", name).unavailable_reason()
    if reason is not None:
        pytest.skip(f"codec {name} unavailable: {reason}")
    return name


def _frame(codec_id: int, level: int, size: int, payload: bytes, checksum: bytes = b"\0" * 8,
           alg: int = 1, typesize: int = 1, version: int = 1, flags: int = 0) -> bytes:
    """A frame built by hand from the documented layout (not through kit's helpers).

    The stored-bytes checksum is correct (so the payload reaches the decoder);
    the original's checksum is whatever the caller says.
    """
    import xxhash

    stored = xxhash.xxh3_64_digest(payload)
    prefix = struct.pack("<4sBBBBBBQ8s8s", MAGIC, version, codec_id, level, alg, typesize, flags, size,
                         checksum, stored)
    return prefix + struct.pack("<I", zlib.crc32(prefix)) + payload


def test_header_layout_is_38_bytes_and_documented():
    f = compress(b"abc", codec="raw")
    assert HEADER_SIZE == 38
    assert f[:4] == MAGIC and f[4] == 1 and f[5] == CODEC_IDS["raw"]
    assert struct.unpack_from("<Q", f, 10)[0] == 3
    assert f[HEADER_SIZE:] == b"abc"


def test_every_registry_codec_has_a_stable_id():
    assert set(CODECS) <= set(CODEC_IDS)
    assert len(set(CODEC_IDS.values())) == len(CODEC_IDS)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("level", LEVEL_NAMES)
@pytest.mark.parametrize("label", list(PAYLOADS))
def test_round_trip_every_codec_level_payload(codec, level, label):
    _codec(codec)
    data = PAYLOADS[label]
    frame = compress(data, codec=codec, level=level)
    assert decompress(frame) == data
    info = frame_info(frame)
    assert info.size == len(data)
    assert info.codec in (codec, "raw")
    assert len(frame) <= len(data) + HEADER_SIZE


@pytest.mark.parametrize("codec", CODECS)
def test_codec_payload_is_the_codecs_standard_format(codec):
    _codec(codec)
    data = PAYLOADS["text 20 KiB"]
    frame = compress(data, codec=codec)
    assert frame_info(frame).codec == codec
    _, standard_decompress = __import__("kit.backends.codecs", fromlist=["codec_pair"]).codec_pair(codec)
    assert bytes(standard_decompress(frame[HEADER_SIZE:])) == data


def test_incompressible_data_is_stored_raw():
    data = random_bytes(50_000, 9)
    for codec in ("zlib", "auto"):
        frame = compress(data, codec=codec)
        assert frame_info(frame).codec == "raw"
        assert len(frame) == len(data) + HEADER_SIZE
        assert decompress(frame) == data


@pytest.mark.parametrize("label", list(PAYLOADS))
@pytest.mark.parametrize("objective", ["speed", "balanced", "ratio", 5e7])
def test_auto_never_more_than_64_bytes_larger(label, objective):
    data = PAYLOADS[label]
    frame = compress(data, objective=objective)
    assert len(frame) <= len(data) + 64
    assert decompress(frame) == data


def test_auto_compresses_text_and_stores_tiny_raw():
    assert choose_codec(b"tiny") == "raw"
    big = text(300_000, 5)
    frame = compress(big)
    assert frame_info(frame).codec != "raw"
    assert len(frame) < len(big) / 2


def test_auto_stores_random_data_raw_without_trying_a_codec():
    data = random_bytes(1 << 20, 2)
    assert choose_codec(data) == "raw"


def test_numpy_array_input_records_its_typesize_and_round_trips():
    np = pytest.importorskip("numpy")
    a = np.cumsum(np.random.default_rng(0).normal(size=50_000))
    frame = compress(a, codec="blosc2" if _registry.backend("compress", "blosc2").available else "zlib")
    assert frame_info(frame).typesize == 8
    assert decompress(frame) == a.tobytes()
    strided = a[::3]
    assert decompress(compress(strided, codec="zlib")) == strided.tobytes()


def test_blosc2_shuffle_helps_numeric_data():
    _codec("blosc2")
    np = pytest.importorskip("numpy")
    a = np.arange(100_000, dtype=np.int64) * 7
    shuffled = compress(a, codec="blosc2", typesize=8)
    plain = compress(a, codec="blosc2", typesize=1)
    assert len(shuffled) < len(plain)


def test_unknown_codec_lists_the_registry_codecs():
    with pytest.raises(ValueError) as exc:
        compress(b"x", codec="snappy")
    for name in ("auto", "raw", *CODECS):
        assert name in str(exc.value)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"level": "turbo"}, "'turbo'"),
    ({"objective": "fastest"}, "'fastest'"),
    ({"objective": -1.0}, "-1.0"),
    ({"typesize": 0}, "0"),
])
def test_invalid_arguments_say_what_was_expected_and_received(kwargs, fragment):
    with pytest.raises(ValueError) as exc:
        compress(b"x" * 100, **kwargs)
    assert fragment in str(exc.value)


def test_non_buffer_input_is_a_type_error():
    with pytest.raises(TypeError, match="'str'"):
        compress("text")


@pytest.fixture
def blocked_lz4(monkeypatch):
    """Simulate lz4 missing: sys.modules['lz4'] = None, with the registry's probes reset."""
    _codec("lz4")
    import kit.compression as kc

    backs = [_registry.backend("compress", "lz4"), _registry.backend("decompress", "lz4")]

    def reset():
        for b in backs:
            b._cache.clear()
        kc._compressors.pop("lz4", None)
        kc._decoders.pop("lz4", None)

    frame = compress(PAYLOADS["text 20 KiB"], codec="lz4")
    monkeypatch.setitem(sys.modules, "lz4", None)
    monkeypatch.setitem(sys.modules, "lz4.frame", None)
    reset()
    yield frame
    monkeypatch.undo()
    reset()


def test_named_unavailable_codec_raises_with_the_reason(blocked_lz4):
    with pytest.raises(BackendUnavailable, match="lz4.*blocked"):
        compress(b"x" * 1000, codec="lz4")
    with pytest.raises(BackendUnavailable, match="lz4"):
        decompress(blocked_lz4)
    # auto never picks it
    assert frame_info(compress(text(100_000, 1))).codec != "lz4"


# --- bounded decompression ---------------------------------------------------------------------


def test_declared_size_over_max_size_is_refused():
    frame = compress(bytes(1 << 20), codec="zlib")
    with pytest.raises(DecompressionBombError, match="max_size=1000"):
        decompress(frame, max_size=1000)
    assert len(decompress(frame, max_size=1 << 20)) == 1 << 20


@pytest.mark.parametrize("codec", ["zlib", "zstd", "lz4", "bz2", "lzma"])
def test_tiny_frame_declaring_terabytes_is_refused_without_allocating(codec):
    _codec(codec)
    payload = compress(b"x" * 100, codec=codec)[HEADER_SIZE:]
    bomb = _frame(CODEC_IDS[codec], 1, 1 << 40, payload)
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionBombError):
            decompress(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_blosc2_bomb_is_refused_by_the_memory_bound():
    _codec("blosc2")
    import blosc2

    chunk = blosc2.compress(bytes(1 << 16))
    bomb = _frame(CODEC_IDS["blosc2"], 1, 1 << 45, chunk)
    with pytest.raises(DecompressionBombError, match="memory available"):
        decompress(bomb)


@pytest.mark.parametrize("codec", ["zlib", "lz4", "bz2", "lzma"])
def test_stream_longer_than_declared_is_cut_off(codec):
    """A header that under-declares: decoding stops at the declared size; nothing large is allocated."""
    _codec(codec)
    real = bytes(8 << 20)
    payload = compress(real, codec=codec, level="fast")[HEADER_SIZE:]
    lying = _frame(CODEC_IDS[codec], 0, 1000, payload)
    tracemalloc.start()
    try:
        with pytest.raises(FrameError):
            decompress(lying)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20


def test_zstd_content_size_must_match_the_frame():
    _codec("zstd")
    payload = compress(bytes(100_000), codec="zstd")[HEADER_SIZE:]
    with pytest.raises(FrameError, match="zstd frame declares 100000"):
        decompress(_frame(CODEC_IDS["zstd"], 1, 2000, payload))


def test_raw_frame_size_mismatch():
    with pytest.raises(FrameError, match="declares 10 bytes but holds 3"):
        decompress(_frame(0, 255, 10, b"abc"))


# --- damage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["raw", *CODECS])
def test_any_flipped_byte_raises_or_returns_the_original(codec):
    if codec != "raw":
        _codec(codec)
    data = text(3000, 11)
    frame = compress(data, codec=codec)
    for pos in range(len(frame)):
        damaged = bytearray(frame)
        damaged[pos] ^= 0x40
        try:
            out = decompress(bytes(damaged))
        except FrameError:
            continue
        assert out == data, f"{codec}: byte {pos} flipped gave wrong data"


@pytest.mark.parametrize("codec", ["raw", *CODECS])
def test_flipped_payload_byte_is_caught_before_any_decoder_runs(codec, monkeypatch):
    if codec != "raw":
        _codec(codec)
    import kit.compression as kc

    frame = bytearray(compress(text(5000, 2), codec=codec))
    frame[HEADER_SIZE + 10] ^= 1
    called = []
    monkeypatch.setattr(kc, "_bounded_decode", lambda *a: called.append(a))
    with pytest.raises(ChecksumError, match="damaged" if codec != "raw" else "decoded"):
        decompress(bytes(frame))
    assert called == []


def test_header_damage_and_truncation_messages():
    frame = compress(text(5000, 1), codec="zlib")
    with pytest.raises(FrameError, match="at least 38 bytes"):
        decompress(frame[:10])
    with pytest.raises(FrameError, match="not a kit frame"):
        decompress(b"XXXX" + frame[4:])
    damaged = bytearray(frame)
    damaged[12] ^= 1
    with pytest.raises(FrameError, match="header is damaged"):
        decompress(bytes(damaged))
    with pytest.raises(FrameError):
        decompress(frame[:-5])
    with pytest.raises(FrameError, match="version 9"):
        decompress(_frame(0, 255, 0, b"", version=9))
    with pytest.raises(FrameError, match="flags"):
        decompress(_frame(0, 255, 0, b"", flags=1))


def test_checksum_algorithm_is_pinned_in_the_frame(monkeypatch):
    import kit.compression as kc

    monkeypatch.setattr(kc, "_default_alg", [2])
    frame = compress(b"hello" * 100, codec="zlib")
    assert frame_info(frame).checksum == "blake2b_64"
    monkeypatch.undo()
    assert decompress(frame) == b"hello" * 100
    assert frame_info(compress(b"hello")).checksum in ("xxh3_64", "blake2b_64")


@pytest.mark.parametrize("first", ["import kit", "import kit.compression", "from kit.compression import frame_info"])
def test_kit_compress_is_the_function_whatever_was_imported_first(first):
    code = (f"{first}; import kit; f = kit.compress(b'abc' * 100, codec='zlib'); "
            "assert kit.decompress(f) == b'abc' * 100; import kit.compression as m; "
            "assert kit.compress is m.compress; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
    assert kit.decompress is decompress


def test_import_stays_light():
    code = ("import sys, kit, kit.compression, kit.cache, kit.cache.core, kit.cache.memo; "
            "print(sorted(m for m in ('numpy', 'polars', 'pyarrow', 'redis', 'blosc2', 'zstandard') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
