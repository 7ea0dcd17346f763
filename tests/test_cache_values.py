"""kit.cache.values: every value kind round-trips exactly; pickle only signed and only by opt-in."""

from __future__ import annotations

import datetime
import decimal
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.cache.values import (Serializer, SignatureError, Signer, UnsupportedValue, decode, decode_key, encode,
                              encode_key)
from kit.compression import HEADER_SIZE

np = pytest.importorskip("numpy")
SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def same(a, b) -> bool:
    """Equal and of the same types all the way down (NaN equals NaN, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb)
                                        for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (datetime.datetime, datetime.time)):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    return a == b


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.binary(max_size=50),
    st.complex_numbers(allow_nan=False), st.datetimes(timezones=st.sampled_from([None, datetime.timezone.utc])),
    st.dates(), st.times(), st.timedeltas(), st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
)


def _arrays():
    from hypothesis.extra import numpy as hnp

    dtypes = st.sampled_from(["<f8", "<f4", "<i8", "<u2", "|b1", "<c16", "|u1", "<M8[ns]", "<U5", "|S3"])
    return dtypes.flatmap(lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))


hashable = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10),
                                  st.binary(max_size=10)),
                        lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6)
values = st.recursive(
    st.one_of(scalars, _arrays()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
        st.dictionaries(hashable, inner, max_size=4),
        st.sets(st.one_of(st.integers(), st.text(max_size=5)), max_size=5),
        st.frozensets(st.integers(), max_size=5),
    ),
    max_leaves=15,
)


@SETTINGS
@given(value=values)
def test_every_value_kind_round_trips_exactly(value):
    assert same(decode(encode(value)), value)


@SETTINGS
@given(value=values, codec=st.sampled_from(["auto", "raw", "zlib", "zstd", "lz4", "blosc2", "bz2", "lzma"]))
def test_through_frames_of_every_codec(value, codec):
    from kit import registry as _registry

    if codec not in ("auto", "raw") and not _registry.backend("compress", codec).available:
        return
    s = Serializer(codec=codec)
    assert same(s.loads(s.dumps(value)), value)


@SETTINGS
@given(key=hashable)
def test_keys_round_trip(key):
    back = decode_key(encode_key(key))
    assert back == key and hash(back) == hash(key) and encode_key(back) == encode_key(key)


def _numbers():
    return st.one_of(
        st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, math.inf, 1e300]),
        st.floats(allow_nan=False, width=32), st.sampled_from([1 + 0j, 1 - 0j, 0.5 + 0j, 1j, -0.0 + 1j]),
        st.sampled_from([decimal.Decimal("1"), decimal.Decimal("1.0"), decimal.Decimal("0.5"),
                         decimal.Decimal("0.1"), decimal.Decimal("-0"), decimal.Decimal("1E+1")]),
        # (Not numpy integers: Decimal(1) == np.int64(1) raises, so no dict can hold both.)
        st.sampled_from([np.float32(0.5), np.float64(-0.0), np.float64(2.0), np.bool_(True)]),
    )


equal_looking_keys = st.recursive(
    st.one_of(_numbers(), st.sampled_from(["a", "", np.str_("a")]),
              st.datetimes(timezones=st.sampled_from([None, datetime.timezone.utc,
                                                      datetime.timezone(datetime.timedelta(hours=2))]))),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4), max_leaves=6)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(a=equal_looking_keys, b=equal_looking_keys)
def test_keys_equal_in_a_dict_are_one_key_in_every_tier(a, b):
    """One rule for all tiers: keys are equal as in a dict (1 == 1.0 == True, 0.0 == -0.0, any offset)."""
    assert encode_key(np.int64(1)) == encode_key(1) and encode_key(np.uint8(2)) == encode_key(2.0)
    try:  # numpy compares a scalar with a tuple element-wise: not equal keys
        eq = a == b
        eq = bool(eq) if isinstance(eq, (bool, np.bool_)) else False
    except ValueError:
        eq = False
    assert (encode_key(a) == encode_key(b)) == (eq and hash(a) == hash(b))


def test_a_fresh_cache_reads_the_newest_of_equal_keys(tmp_path):
    from kit.cache import Cache

    with Cache(tmp_path) as c:
        c.set(1, "old")
        c.set(1.0, "new")
        c.set(0.0, "zero")
        c.set(-0.0, "minus zero")
        c.set(frozenset({1, "a", (2, 3)}), "set")
        assert (c.get(True), c.get(0)) == ("new", "minus zero")
    with Cache(tmp_path) as fresh:
        assert fresh.get(1) == "new" and fresh.get(True) == "new" and fresh.get(1.0) == "new"
        assert fresh.get(0.0) == "minus zero" and fresh.get(-0.0) == "minus zero"
        assert fresh.get(frozenset({(2, 3), "a", 1.0})) == "set"
        assert set(fresh) == {0, 1, frozenset({1, "a", (2, 3)})} and len(fresh) == 3


def test_json_exact_values_use_json_and_others_do_not():
    assert encode({"a": [1, 2.5, None, True, "x"]})[:1] == b"J"
    for v in ({"a": (1, 2)}, {1: "a"}, [float("nan")], [2**64], {"s": {1}}):
        assert encode(v)[:1] == b"R", v


def test_bytes_and_arrays_are_stored_as_buffers():
    assert encode(b"abc") == b"Babc"
    a = np.arange(12, dtype="<i4").reshape(3, 4)
    blob = encode(a)
    assert blob[:1] == b"N" and blob.endswith(a.tobytes())
    back = decode(blob)
    assert same(back, a) and not back.flags.writeable
    f = np.asfortranarray(a)
    assert same(decode(encode(f)), f) and decode(encode(f)).flags.f_contiguous
    s = a[:, ::2]
    assert same(decode(encode(s)), np.ascontiguousarray(s))


def test_structured_dtype_round_trips():
    dt = np.dtype([("a", "<i4"), ("b", "<f8", (2,))])
    a = np.zeros(3, dtype=dt)
    a["a"] = [1, 2, 3]
    assert same(decode(encode(a)), a)


def test_tables_round_trip_as_arrow_ipc():
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    t = pa.table({"x": [1, 2, None], "s": ["a", "b", "c"]})
    assert encode(t)[:1] == b"A" and decode(encode(t)).equals(t)
    df = pl.DataFrame({"x": [1.5, 2.5], "s": ["é", "ü"]})
    assert encode(df)[:1] == b"P" and decode(encode(df)).equals(df)
    ser = pl.Series("v", [1, 2, 3])
    back = decode(encode(ser))
    assert isinstance(back, pl.Series) and back.name == "v" and back.equals(ser)
    nested = {"table": t, "frame": df}
    out = decode(encode(nested))
    assert out["table"].equals(t) and out["frame"].equals(df)


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Point) and other.x == self.x


@pytest.mark.parametrize("value", [Point(1), {"p": Point(2)}, np.array([Point(1)], dtype=object),
                                   datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2),
                                                                                          "CEST"))])
def test_unsupported_values_raise_without_pickle(value):
    with pytest.raises(UnsupportedValue, match="pickle"):
        encode(value)


def test_zoneinfo_datetimes_need_pickle():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tz = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    with pytest.raises(UnsupportedValue, match="tzinfo"):
        encode(datetime.datetime(2024, 6, 1, tzinfo=tz))


def test_cycles_are_refused():
    a: list = []
    a.append(a)
    with pytest.raises(UnsupportedValue, match="cycle"):
        encode(a)


KEY = b"k" * 32


def test_signed_pickle_round_trip_only_with_the_key():
    s = Signer(KEY)
    blob = encode(Point(3), signer=s)
    assert blob[:1] == b"K"
    assert decode(blob, signer=s) == Point(3)
    with pytest.raises(SignatureError, match="not built with pickle=True"):
        decode(blob)
    with pytest.raises(SignatureError, match="fails its signature"):
        decode(blob, signer=Signer(b"x" * 32))


_UNPICKLED: list = []


def _record(tag):
    _UNPICKLED.append(tag)
    return tag


class Sneaky:
    def __reduce__(self):
        return (_record, ("ran",))


def test_tampered_pickle_is_never_unpickled():
    s = Signer(KEY)
    blob = bytearray(encode(Sneaky(), signer=s))
    assert decode(bytes(blob), signer=s) == "ran" and _UNPICKLED == ["ran"]
    _UNPICKLED.clear()
    blob[-3] ^= 1  # inside the pickle bytes
    with pytest.raises(SignatureError):
        decode(bytes(blob), signer=s)
    blob[-3] ^= 1
    blob[5] ^= 1  # inside the signature
    with pytest.raises(SignatureError):
        decode(bytes(blob), signer=s)
    assert _UNPICKLED == []


def test_hmac_fallback_signatures_verify():
    s = Signer(KEY)
    s.alg = 2
    blob = encode(Point(5), signer=s)
    assert blob[1] == 2
    assert decode(blob, signer=Signer(KEY)) == Point(5)


def test_short_keys_are_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Signer(b"short")


def test_default_pickle_key_lives_outside_the_cache(tmp_path, monkeypatch):
    from kit.cache import values

    monkeypatch.delenv("KIT_CACHE_PICKLE_KEY", raising=False)
    monkeypatch.setattr("platformdirs.user_config_dir", lambda app: str(tmp_path / "config" / app))
    key = values.default_pickle_key()
    path = tmp_path / "config" / "kit" / "cache-pickle.key"
    assert path.read_bytes() == key and len(key) == 32
    assert (path.stat().st_mode & 0o777) == 0o600
    assert values.default_pickle_key() == key
    monkeypatch.setenv("KIT_CACHE_PICKLE_KEY", "e" * 40)
    assert values.default_pickle_key() == b"e" * 40


@pytest.mark.parametrize("data", [b"", b"Z", b"R\x99", b"N\x05\x00\x00\x00{}", b"K\x01", b"Rl\xff\xff\xff\xff\x0f"])
def test_garbage_is_an_error_not_a_value(data):
    with pytest.raises((ValueError, SignatureError, KeyError)):
        decode(data)


def test_serializer_frames_are_bounded():
    from kit.cache.values import ValueTooLarge
    from kit.compression import DecompressionBombError

    s = Serializer(max_size=100)
    with pytest.raises(ValueTooLarge, match="over this cache's limit of 100 bytes"):
        s.dumps(b"x" * 1000)
    blob = Serializer().dumps(b"x" * 1000)
    with pytest.raises(DecompressionBombError):
        s.loads(blob)
    assert len(Serializer().dumps(b"")) == HEADER_SIZE + 1


def _declaring(codec: str, size: int, payload: bytes) -> bytes:
    """A frame whose header and checksums are all valid, declaring ``size`` bytes (anyone can write one)."""
    from kit.compression.frame import checksum_algorithm, checksum_function, make_frame

    alg = checksum_algorithm()
    return make_frame(codec, "balanced", 1, size, checksum_function(alg)(b"?"), alg, payload)


@pytest.mark.parametrize("codec", ["blosc2", "zstd", "zlib", "lzma", "bz2"])
def test_an_unbounded_serializer_still_refuses_a_frame_declaring_gigabytes(codec):
    import tracemalloc

    from kit.cache.values import DEFAULT_MAX_SIZE
    from kit.compression import DecompressionBombError

    s = Serializer()  # max_size=None: the default cap, not "no bound"
    assert s.max_size == DEFAULT_MAX_SIZE
    frame = _declaring(codec, 2**31 - 64, b"\x00" * 32)  # 70 bytes declaring 2 GiB
    assert len(frame) == 70
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionBombError, match="over the limit"):
            s.loads(frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_the_memory_check_counts_what_a_codec_needs_at_peak(monkeypatch):
    from kit.compression import DecompressionBombError, core, decompress

    monkeypatch.setattr(core, "_memory_available", lambda: 300 << 20)
    frame = _declaring("zlib", 200 << 20, b"\x00" * (200 << 10))  # fits in 300 MiB once, not twice
    with pytest.raises(DecompressionBombError, match="needs about 419430400 bytes at peak"):
        decompress(frame, max_size=1 << 40)
    frame = _declaring("zstd", 200 << 20, b"\x00" * 32)  # zstd writes in place: the size once
    with pytest.raises(Exception) as info:
        decompress(frame, max_size=1 << 40)
    assert "at peak" not in str(info.value)


@pytest.mark.parametrize("bad", [{"max_ratio": math.nan}, {"max_ratio": 0}, {"max_ratio": -1.0},
                                 {"max_ratio": "2"}, {"max_size": math.nan}, {"max_size": -1},
                                 {"max_size": 1.5}, {"max_size": True}])
def test_decompress_refuses_bounds_that_are_no_bounds(bad):
    from kit.compression import compress, decompress

    with pytest.raises(ValueError, match="max_ratio must be|max_size must be"):
        decompress(compress(b"abc" * 100, codec="zlib"), **bad)


@pytest.mark.parametrize("ttl", [math.nan, math.inf, -math.inf, "1", True])
def test_cache_writes_refuse_a_ttl_that_is_not_a_finite_number(tmp_path, ttl):
    from kit.cache import Cache, LRUTier

    with Cache(tmp_path) as c:
        for write in (lambda: c.set("k", 1, ttl=ttl), lambda: c.set_many({"k": 1}, ttl=ttl),
                      lambda: c.set_memory("k", 1, ttl=ttl), lambda: c.l3.store_blob("k", b"x", ttl)):
            with pytest.raises(ValueError, match="ttl must be None or a finite"):
                write()
        assert "k" not in c
    with pytest.raises(ValueError, match="finite positive"):
        LRUTier(ttl=math.nan)
    with pytest.raises(ValueError, match="finite positive"):
        Cache(disk=False, ttl=math.nan)


# --- the verified-frame fast path ----------------------------------------------------------------

def _reference_checked_loads(ser: Serializer, blob: bytes):
    """What ``loads(blob, checked=True)`` did before its bytes-only shortcut: raw_payload, else decompress."""
    from kit.compression import decompress, raw_payload

    payload = raw_payload(blob, ser.max_size)
    if payload is not None:
        return decode(payload, signer=ser.signer)
    return decode(decompress(blob, max_size=ser.max_size), signer=ser.signer)


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except Exception as exc:  # the kind of failure is what must match, not its wording
        return "error", type(exc).__name__


@SETTINGS
@given(value=st.one_of(st.binary(max_size=300), st.text(max_size=100), st.integers(),
                       st.lists(st.integers(), max_size=20)),
       at=st.integers(min_value=0, max_value=HEADER_SIZE + 4), byte=st.integers(min_value=0, max_value=255),
       cut=st.integers(min_value=0, max_value=8))
def test_the_checked_shortcut_accepts_and_refuses_exactly_the_frames_raw_payload_does(value, at, byte, cut):
    # loads(checked=True) reads a raw v1 frame's header itself (no view) on the disk tier's hot path:
    # it must give what the raw_payload path gives on every frame, intact, altered or truncated.
    ser = Serializer(max_size=1 << 10)
    blob = ser.dumps(value)
    altered = bytearray(blob)
    if at < len(altered):
        altered[at] = byte
    for b in (blob, bytes(altered), blob[:len(blob) - cut]):
        fast, ref = _outcome(ser.loads, b, True), _outcome(_reference_checked_loads, ser, b)
        assert fast[0] == ref[0]
        if fast[0] == "ok":
            assert same(fast[1], ref[1])


def test_the_checked_shortcut_refuses_a_raw_frame_over_max_size():
    big = Serializer().dumps(b"x" * 2000)
    small = Serializer(max_size=1000)
    with pytest.raises(Exception) as exc:
        small.loads(big, True)
    assert type(exc.value).__name__ == _outcome(_reference_checked_loads, small, big)[1]
