"""Crafted rows in the on-disk and Redis tiers: a miss and a warning, never a crash.

Whoever can write the cache's store can forge a row: its check is a plain hash
anyone can compute. The rows here are such forgeries, seeded: encoded values of
every kind (Arrow tables with strings, dictionaries, lists and structs; polars
frames and series with categoricals; numpy arrays; the tagged tree; JSON; bytes;
pickles) mutated (bits flipped, integers set to extremes at aligned offsets,
spans deleted, duplicated or spliced from another value), wrapped in frames
whose header, checksums and row check are all valid, so that every one reaches
the decoders. A subprocess reads them through ``kit.Cache.get`` and *uses* each
value it gets (an Arrow table that was not validated crashes on use, not on
read); a crash (a signal) fails the test with the row that caused it instead of
killing pytest.

``KIT_FUZZ_ROWS`` (default 300 in CI, a few seconds) and ``KIT_FUZZ_SEED`` set
the sample; the issue's figure is ``KIT_FUZZ_ROWS=3000`` (the drill runs it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

ROWS = int(os.environ.get("KIT_FUZZ_ROWS", "300"))
SEED = int(os.environ.get("KIT_FUZZ_SEED", "16"))
CODECS = ("raw", "zlib", "zstd", "lz4", "blosc2", "bz2", "lzma")


def seed_values() -> list:
    """One value of every kind the serializer stores, in shapes where damage is interesting."""
    import datetime
    import decimal

    import numpy as np

    values: list = [
        {"a": [1, 2.5, None, True, "x" * 20], "b": {"c": "d"}},
        b"raw bytes" * 10,
        (1, "two", 3.0, b"four", {5, 6}, frozenset({7}), 2**100, complex(1, 2)),
        [datetime.datetime(2024, 1, 2, 3, 4, 5, 6), datetime.date(2024, 1, 2), datetime.timedelta(3),
         decimal.Decimal("1.25"), datetime.time(1, 2)],
        {(1, 2): [np.arange(5), np.float32(1.5)], "s": {"x", "y"}},
        np.arange(24, dtype="<f8").reshape(4, 6),
        np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4)),
        np.array([("a", 1), ("b", 2)], dtype=[("name", "U3"), ("n", "<i2")]),
        np.array(["2024-01-01", "2025-06-30"], dtype="M8[D]"),
    ]
    try:
        import pyarrow as pa

        values += [
            pa.table({"s": ["alpha", "beta", None, "delta"] * 4, "i": list(range(16))}),
            pa.table({"d": pa.array(["x", "y", "x", "z"] * 4).dictionary_encode(),
                      "l": pa.array([[1, 2], [], None, [3]] * 4, pa.list_(pa.int32()))}),
            pa.table({"st": pa.array([{"a": 1, "b": "u"}, {"a": None, "b": "v"}] * 4),
                      "ls": pa.array([["p", "q"], ["r"]] * 4, pa.large_list(pa.string())),
                      "bin": pa.array([b"\x00\x01", b"", None, b"zz"] * 2, pa.binary())}),
        ]
    except ImportError:
        pass
    try:
        import polars as pl

        values += [
            pl.DataFrame({"c": pl.Series(["a", "b", "a", "c"] * 4, dtype=pl.Categorical),
                          "s": ["one", "two", None, "four"] * 4, "f": [1.5, None, 2.5, 3.5] * 4}),
            pl.DataFrame({"l": [[1, 2], [3], [], None] * 3, "e": pl.Series(["x", "y", "x"] * 4,
                                                                          dtype=pl.Enum(["x", "y"]))}),
            pl.Series("t", ["text"] * 8 + [None]),
        ]
    except ImportError:
        pass
    return values


_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1)


def mutate(data: bytes, rng: random.Random, other: bytes) -> bytes:
    """One to four random damages of ``data`` (the first byte, the value's kind, is mostly kept)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        n = len(b)
        if n < 2:
            b += rng.randbytes(8)
            continue
        at = rng.randrange(1, n)
        if op == 0:  # flip bits
            b[at] ^= 1 << rng.randrange(8)
        elif op == 1:  # an extreme integer where offsets and lengths live (aligned)
            width = rng.choice((4, 8))
            at = max(1, at - at % width)
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            b[at:at + width] = value.to_bytes(width, "little")[: max(0, n - at)]
        elif op == 2:  # a byte set to an extreme
            b[at] = rng.choice((0, 0xFF, 0x7F, 0x80))
        elif op == 3:  # delete a span
            del b[at:at + rng.randint(1, 16)]
        elif op == 4:  # duplicate a span
            span = b[at:at + rng.randint(1, 32)]
            b[at:at] = span
        elif op == 5:  # truncate
            del b[at:]
        else:  # splice a piece of another value
            j = rng.randrange(1, max(2, len(other)))
            b[at:at + rng.randint(1, 64)] = other[j:j + rng.randint(1, 64)]
    if rng.random() < 0.05:  # sometimes another kind byte
        b[0] = rng.choice(b"JBNAPSRKg")
    return bytes(b)


def crafted_frames(n: int, seed: int) -> list[bytes]:
    """``n`` forged frames: mutated encodings in valid frames (header CRC and checksums recomputed)."""
    from kit import registry as _registry
    from kit.cache.values import encode
    from kit.compression import compress

    rng = random.Random(seed)
    encoded = [encode(v) for v in seed_values()]
    codecs = [c for c in CODECS if c == "raw" or _registry.backend("compress", c).available]
    frames = []
    for _ in range(n):
        data = mutate(rng.choice(encoded), rng, rng.choice(encoded))
        frames.append(compress(data, codec=rng.choice(codecs), level="fast"))
    return frames


_CHILD = textwrap.dedent(r"""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import numpy, pyarrow, polars  # the decoders a value may need, loaded before the first row
    from kit.cache import Cache
    from kit.cache._tier import MISSING

    spec = json.loads(sys.argv[1])

    def use(v):
        # Touch every element: a table that was not validated crashes here, not at read.
        if isinstance(v, pyarrow.Table):
            v.to_pylist(); str(v)
        elif isinstance(v, (polars.DataFrame, polars.Series)):
            v.to_arrow(); str(v); (v.to_dicts() if isinstance(v, polars.DataFrame) else v.to_list())
        elif isinstance(v, numpy.ndarray):
            v.tolist(); repr(v)
        elif isinstance(v, (list, tuple, set, frozenset)):
            for x in v: use(x)
        elif isinstance(v, dict):
            for k, x in v.items(): use(k); use(x)
        else:
            repr(v)

    if spec["tier"] == "redis":
        c = Cache(disk=False, compressed_bytes=0, redis=spec["url"])
    else:
        c = Cache(spec["path"], compressed_bytes=0)
    for i in range(spec["start"], spec["stop"]):
        print(f"row {i}", flush=True)
        try:
            v = c.get(f"row{i}", MISSING)
            if v is MISSING:
                print("miss", flush=True)
            else:
                use(v)
                print("hit", flush=True)
        except Exception as exc:
            print(f"escaped {type(exc).__name__}: {str(exc)[:150]}", flush=True)
    print("done", flush=True)
""")


def read_crafted(spec: dict, n: int, timeout: float = 120.0) -> dict:
    """Read rows 0..n-1 in subprocesses; a crash is recorded with its row and the next process goes on."""
    out = {"rows": n, "hits": 0, "misses": 0, "escaped": [], "crashes": [], "hangs": []}
    start = 0
    while start < n:
        run = {**spec, "start": start, "stop": n}
        try:
            proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(run)], capture_output=True,
                                  text=True, timeout=timeout)
            stdout, code = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            stdout, code = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), None
        last = start - 1
        for line in stdout.splitlines():
            if line.startswith("row "):
                last = int(line[4:])
            elif line in ("hit", "miss"):
                out["hits" if line == "hit" else "misses"] += 1
            elif line.startswith("escaped "):
                out["escaped"].append((last, line[8:]))
        if code == 0 and stdout.rstrip().endswith("done"):
            break
        (out["hangs"] if code is None else out["crashes"]).append((last, code))
        start = max(last, start) + 1
    return out


def _write(tier, frames: list[bytes]) -> None:
    for i, frame in enumerate(frames):
        assert tier.store_blob(f"row{i}", frame) is not False


def test_crafted_disk_rows_are_misses_never_crashes(tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    from kit.cache import DiskTier

    frames = crafted_frames(ROWS, SEED)
    with DiskTier(tmp_path, 1 << 30) as t:
        _write(t, frames)
    res = read_crafted({"tier": "l3", "path": str(tmp_path)}, ROWS)
    print(f"\ncrafted L3 rows (seed {SEED}): {res['rows']} rows, {res['hits']} read as some valid value, "
          f"{res['misses']} misses, {len(res['crashes'])} crashes, {len(res['escaped'])} exceptions escaped")
    assert not res["crashes"] and not res["hangs"], res
    assert not res["escaped"], res["escaped"][:5]
    assert res["hits"] + res["misses"] == ROWS and res["misses"] > ROWS // 3


def test_crafted_redis_rows_are_misses_never_crashes():
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    pytest.importorskip("redis")
    from kit.cache import RedisTier
    from kit.cache._redis_server import RedisServer, find_redis_server

    if find_redis_server()[0] is None:
        pytest.skip(find_redis_server()[1])
    n = max(ROWS // 3, 30)
    frames = crafted_frames(n, SEED + 1)
    with RedisServer() as srv:
        tier = RedisTier(srv.url)
        _write(tier, frames)
        tier.close()
        res = read_crafted({"tier": "redis", "url": srv.url}, n)
    assert not res["crashes"] and not res["hangs"] and not res["escaped"], res
    assert res["hits"] + res["misses"] == n


def test_the_sample_is_seeded():
    pytest.importorskip("pyarrow")
    assert crafted_frames(20, SEED) == crafted_frames(20, SEED)


@pytest.mark.parametrize("name", ["crafted_polars_panic.bin", "crafted_polars_panic_categories.bin"])
def test_a_polars_panic_on_a_crafted_row_is_a_miss_and_a_warning(tmp_path, name):
    """Found by the fuzzer: Arrow-valid IPC streams on which polars' reader panics (a BaseException)."""
    pl = pytest.importorskip("polars")
    import warnings

    from kit.cache import Cache
    from kit.cache._tier import MISSING
    from kit.compression import compress

    encoded = (os.path.dirname(__file__) + "/data/" + name)
    with open(encoded, "rb") as f:
        frame = compress(f.read(), codec="raw")
    with Cache(tmp_path, compressed_bytes=0) as c:
        c.l3.store_blob("crafted", frame)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = c.get("crafted", MISSING)  # polars prints its panic on stderr; nothing escapes
    assert got is MISSING or isinstance(got, pl.DataFrame)  # a later polars may read it
    if got is MISSING:
        assert any("damaged" in str(w.message) for w in caught)


def test_a_decoder_interrupted_by_ctrl_c_is_not_swallowed(monkeypatch, tmp_path):
    from kit.cache import Cache, values

    class Panic(BaseException):
        pass

    with Cache(tmp_path, compressed_bytes=0) as c:
        c.set("t", (1, 2))
        c.l1.clear()
        for exc, expect in ((Panic("rust"), None), (KeyboardInterrupt(), KeyboardInterrupt),
                            (SystemExit(3), SystemExit)):
            def boom(*a, **k):
                raise exc

            monkeypatch.setattr(values, "_decode", boom)
            if expect is None:
                with pytest.warns(Warning, match="damaged"):
                    assert c.get("t", "miss") == "miss"
                c.set("t", (1, 2))
                c.l1.clear()
            else:
                with pytest.raises(expect):
                    c.get("t")


def _table_with_bad_offsets() -> bytes:
    """An Arrow stream (kind ``A``) that reads without error but whose string offsets point 1 MiB past the data."""
    import numpy as np
    import pyarrow as pa

    t = pa.table({"s": pa.array(["abcd", "efgh"])})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    raw = sink.getvalue().to_pybytes()
    good = np.array([0, 4, 8], dtype="<i4").tobytes()
    assert raw.count(good) == 1
    return b"A" + raw.replace(good, np.array([0, 4, 1 << 20], dtype="<i4").tobytes())


def test_an_arrow_row_with_offsets_past_its_data_is_a_miss_not_a_crash(tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    from kit.cache import DiskTier
    from kit.compression import compress

    with DiskTier(tmp_path) as t:
        _write(t, [compress(_table_with_bad_offsets(), codec="raw")])
    res = read_crafted({"tier": "l3", "path": str(tmp_path)}, 1)
    assert res["misses"] == 1 and not res["crashes"] and not res["escaped"], res
