"""kit.compress / kit.decompress: frames, codecs, levels, auto, bounds, damage."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
import zlib

import pytest

import kit
from kit import registry as _registry
from kit.registry.codecs import CODECS, LEVEL_NAMES
from kit.compression import (CODEC_IDS, HEADER_SIZE, MAGIC, ChecksumError, DecompressionBombError, FrameError,
                          choose_codec, compress, decompress, frame_info)
from kit.errors import BackendUnavailable
from kit.payloads import numeric, random_bytes, text


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
    _, standard_decompress = __import__("kit.registry.codecs", fromlist=["codec_pair"]).codec_pair(codec)
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
    from kit.compression import streams

    backs = [_registry.backend("compress", "lz4"), _registry.backend("decompress", "lz4")]

    def reset():
        for b in backs:
            b._cache.clear()
        streams.forget("lz4")

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
    import kit.compression.core as kc

    frame = bytearray(compress(text(5000, 2), codec=codec))
    frame[HEADER_SIZE + 10] ^= 1
    called = []
    monkeypatch.setattr(kc, "bounded_decode", lambda *a: called.append(a))
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
    import kit.compression.frame as kc

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


# --- dictionaries (frame format version 2) ----------------------------------------------------


def _records(n: int, seed: int = 0) -> list[bytes]:
    """Small, similar JSON records: what a dictionary is for."""
    import random

    rng = random.Random(seed)
    return [(b'{"user": %d, "plan": "%s", "country": "%s", "tags": ["alpha", "beta"], "active": %s}'
             % (rng.randrange(10**6), rng.choice([b"free", b"pro", b"team"]), rng.choice([b"FR", b"DE", b"JP"]),
                rng.choice([b"true", b"false"]))) for _ in range(n)]


@pytest.fixture(scope="module")
def dictionary():
    _codec("zstd")
    from kit.compression import Dictionary

    return Dictionary.train(_records(400), size=2048)


def test_dictionary_round_trip_and_frame_names_it(dictionary):
    from kit.compression import DICTIONARY_ID_SIZE, FLAG_DICTIONARY

    for record in _records(20, seed=1):
        frame = compress(record, codec="zstd", dictionary=dictionary)
        plain = compress(record, codec="zstd")
        assert len(frame) < len(plain)
        info = frame_info(frame)
        assert (info.codec, info.version, info.dictionary) == ("zstd", 2, dictionary.id.hex())
        assert frame[4] == 2 and frame[9] == FLAG_DICTIONARY
        assert frame[HEADER_SIZE: HEADER_SIZE + DICTIONARY_ID_SIZE] == dictionary.id
        # one dictionary, an iterable, or a mapping by id
        for given in (dictionary, [dictionary], {dictionary.id: dictionary}):
            assert decompress(frame, dictionaries=given) == record
        # the codec payload is a standard zstd frame naming the dictionary by zstd's own id
        import zstandard

        body = frame[HEADER_SIZE + DICTIONARY_ID_SIZE:]
        assert zstandard.get_frame_parameters(body).dict_id == dictionary.zstd_id


def test_frames_without_a_dictionary_stay_version_1(dictionary):
    assert compress(b"abc" * 100, codec="zstd")[4] == 1
    assert compress(b"abc", codec="raw")[4] == 1
    tiny = compress(b"x", codec="zstd", dictionary=dictionary)  # does not shrink: raw, version 1
    assert frame_info(tiny).codec == "raw" and tiny[4] == 1


def test_a_frame_needing_a_missing_dictionary_raises_clearly(dictionary):
    from kit.compression import Dictionary, MissingDictionaryError

    frame = compress(_records(1, seed=2)[0], codec="zstd", dictionary=dictionary)
    other = Dictionary(b"some other dictionary content " * 40)
    for given in (None, other, [other], {}):
        with pytest.raises(MissingDictionaryError, match=dictionary.id.hex()) as exc:
            decompress(frame, dictionaries=given)
        assert exc.value.dictionary_id == dictionary.id
    assert issubclass(MissingDictionaryError, FrameError)


def test_a_dictionary_frame_decoded_in_a_new_process_without_it_raises(dictionary):
    frame = compress(_records(1, seed=3)[0], codec="zstd", dictionary=dictionary)
    code = ("import sys; from kit.compression import decompress, MissingDictionaryError\n"
            "try:\n    decompress(sys.stdin.buffer.read())\nexcept MissingDictionaryError as e:\n"
            "    print('missing', e.dictionary_id.hex())\n")
    out = subprocess.run([sys.executable, "-c", code], input=frame, capture_output=True)
    assert out.stdout.decode().split() == ["missing", dictionary.id.hex()], out.stderr


def test_any_flipped_byte_of_a_dictionary_frame_raises_or_returns_the_original(dictionary):
    data = _records(1, seed=4)[0]
    frame = compress(data, codec="zstd", dictionary=dictionary)
    for pos in range(len(frame)):
        damaged = bytearray(frame)
        damaged[pos] ^= 0x10
        try:
            out = decompress(bytes(damaged), dictionaries=[dictionary])
        except FrameError:
            continue
        assert out == data, f"byte {pos} flipped gave wrong data"


def test_dictionary_flag_rules():
    _codec("zstd")
    # version 1 has no flags; in version 2 only zstd frames may use a dictionary
    with pytest.raises(FrameError, match="flags 0x1 are not supported by format version 1"):
        decompress(_frame(0, 255, 0, b"", flags=1))
    with pytest.raises(FrameError, match="only zstd frames can use a dictionary"):
        decompress(_frame(CODEC_IDS["zlib"], 1, 3, b"\0" * 8 + zlib.compress(b"abc"), version=2, flags=1))
    with pytest.raises(FrameError, match="flags 0x2"):
        decompress(_frame(CODEC_IDS["zstd"], 1, 3, b"\0" * 20, version=2, flags=2))
    with pytest.raises(FrameError, match="too short to name it"):
        decompress(_frame(CODEC_IDS["zstd"], 1, 3, b"\0" * 4, version=2, flags=1))


def test_dictionary_arguments_are_checked(dictionary):
    from kit.compression import Dictionary

    with pytest.raises(ValueError, match="codec must be 'zstd' or 'auto'"):
        compress(b"abc" * 100, codec="zlib", dictionary=dictionary)
    with pytest.raises(TypeError, match="kit.compression.Dictionary"):
        compress(b"abc" * 100, codec="zstd", dictionary=b"not a dictionary")
    with pytest.raises(ValueError, match="could not train"):
        Dictionary.train([b"x"], size=1024)
    auto = compress(_records(1, seed=5)[0], dictionary=dictionary)
    assert frame_info(auto).dictionary == dictionary.id.hex()


# --- codec="auto": the typed-data trial --------------------------------------------------------


def test_blosc2_block_size_is_the_one_blosc2_uses():
    _codec("blosc2")
    np = pytest.importorskip("numpy")
    import blosc2

    from kit.compression.auto import _blosc2_block

    for n, ts in ((300_000, 8), (1 << 20, 8), (1 << 20, 4), (50_000, 2)):
        data = np.arange(n // ts, dtype=f"<i{ts}").tobytes()
        chunk = compress(data, codec="blosc2", typesize=ts)[HEADER_SIZE:]
        assert _blosc2_block(len(data), "balanced", ts) == blosc2.get_cbuffer_sizes(chunk)[2]


def test_block_ratio_extrapolation_predicts_the_whole_better_than_the_sample():
    """int64 counts: blosc2's ratio on 512 KiB blocks (0.094) is far below a 16 KiB sample's (0.132)."""
    _codec("blosc2")
    np = pytest.importorskip("numpy")
    from kit.compression.auto import _blosc2_block, _block_ratio, _trial_size
    from kit.compression.streams import compressor as _codec_compressor

    rng = np.random.default_rng(0)
    data = (1000 + rng.poisson(3, size=1 << 17).cumsum()).astype("<i8").tobytes()
    n, ts = len(data), 8
    fn = _codec_compressor("blosc2")
    m = _trial_size(n, ts)
    start = (n - m) // 2 - (n - m) // 2 % ts
    trial = data[start: start + m]
    sample_ratio = len(fn(trial, "balanced", ts)) / m
    predicted = _block_ratio(fn, trial, sample_ratio, "balanced", ts, _blosc2_block(n, "balanced", ts))
    actual = (len(compress(data, codec="blosc2", typesize=ts)) - HEADER_SIZE) / n
    assert abs(predicted - actual) < 0.5 * abs(sample_ratio - actual)
    # a block no larger than the sample: the sample's own ratio
    assert _block_ratio(fn, trial, sample_ratio, "balanced", ts, m) == sample_ratio


def test_random_small_input_is_screened_without_trying_zstd(monkeypatch):
    import kit.compression.auto as kc

    if not _registry.backend("compress", "lz4").available:
        pytest.skip("the small-input screen needs lz4")
    calls = []
    real = kc.compressor
    monkeypatch.setattr(kc, "compressor", lambda c: calls.append(c) or real(c))
    assert frame_info(compress(random_bytes(4096, 4))).codec == "raw" and calls == []
    # repeats of random bytes are not random: lz4 finds them, zstd is tried and kept
    repeated = random_bytes(1024, 5) * 4
    assert frame_info(compress(repeated)).codec != "raw"
    assert frame_info(compress(text(4000, 1))).codec != "raw"


def test_auto_estimates_ratios_with_a_probe_from_16_kib(monkeypatch):
    """With the injected model: 64 KiB of JSON is compressed; 64 KiB with no repeats and a 40-symbol
    alphabet (zstd ~0.67, which the calibration text's 0.26 would hide) is stored raw without trying a codec."""
    import random

    import kit.compression.auto as kc

    if not _registry.backend("compress", "lz4").available:
        pytest.skip("the probe needs lz4")
    rng = random.Random(3)
    doc = b"".join(b'{"id":%d,"name":"item %d","tags":["a","b"],"price":%d.%02d},' % (
        i, rng.randrange(1000), rng.randrange(100), rng.randrange(100)) for i in range(1500))[: 64 << 10]
    plain = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN") for _ in range(64 << 10))
    calls = []
    real = kc.compressor
    monkeypatch.setattr(kc, "compressor", lambda c: calls.append(c) or real(c))
    assert choose_codec(doc) == "zstd"
    assert frame_info(compress(plain)).codec == "raw" and calls == []
    assert choose_codec(plain, objective="ratio") != "raw"  # where size dominates, it still pays
    assert choose_codec(random_bytes(64 << 10, 9)) == "raw"
    # Below 16 KiB the prior decides (a probe would cost too large a part of the call).
    assert choose_codec(plain[: 8 << 10]) == "zstd"


def test_without_lz4_auto_decides_by_the_model_alone(blocked_lz4):
    import kit.compression.auto as kc

    monkey = kc._lz4_block
    kc._lz4_block = None
    try:
        assert choose_codec(text(64 << 10, 2)) == "zstd"
    finally:
        kc._lz4_block = monkey


def test_every_codec_from_many_threads_at_once_round_trips():
    # zstandard contexts must not be shared between threads: shared ones corrupted frames and crashed the
    # interpreter (a segmentation fault), so this runs in a child process.
    code = """
import random, threading
from kit import registry
from kit.compression import compress, decompress
codecs = [c for c in ("zstd", "lz4", "blosc2", "zlib") if registry.backend("compress", c).available]
data = [random.Random(i).randbytes(1000) * (50 + 13 * i) for i in range(8)]
barrier, errors = threading.Barrier(4), []
def work(k):
    barrier.wait()
    try:
        for i in range(300):
            x = data[(i + k) % len(data)]
            codec = codecs[(i + k) % len(codecs)]
            assert decompress(compress(x, codec)) == x, codec
    except Exception as exc:
        errors.append(repr(exc)[:200])
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", (out.returncode, out.stdout, out.stderr[-500:])
