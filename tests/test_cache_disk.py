"""L3 (SQLite/WAL): crash safety, several processes, damage, eviction, locking.

``KIT_RELIABILITY_SECONDS`` sets how long the multi-process test runs (the
issue asks 20 s, the default when ``CI`` is set; 3 s otherwise, to keep local
runs short; the whole suite takes ~40 s with 20 s here). ``KIT_RELIABILITY_KILLS``
sets how many times a writer is killed (default 50).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import struct
import threading
import time
import warnings

import pytest

from kit.cache import CorruptEntryWarning, DiskTier
from kit.cache.disk import CacheBusyError
from kit.errors import KitWarning

# The issue asks 20 s; CI (CI=1) runs that, local runs 3 s unless told otherwise.
SECONDS = float(os.environ.get("KIT_RELIABILITY_SECONDS", "20" if os.environ.get("CI") else "3"))
KILLS = int(os.environ.get("KIT_RELIABILITY_KILLS", "50"))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _value(key: str, writer: int, seq: int) -> bytes:
    """A self-checking value: header (key, writer, seq, length) + bytes derived from it."""
    rng = random.Random(f"{key}/{writer}/{seq}")
    n = rng.randrange(10, 40_000)
    head = json.dumps([key, writer, seq, n]).encode()
    body = rng.randbytes(n // 2) * 2  # half random, half repeated: some compress, some do not
    return struct.pack("<I", len(head)) + head + body


def _parse(key: str, blob: bytes) -> tuple[int, int]:
    """(writer, seq) of a value, after checking it is exactly what that writer wrote for ``key``."""
    hlen = struct.unpack_from("<I", blob)[0]
    k, writer, seq, _ = json.loads(blob[4: 4 + hlen])
    assert k == key, f"value of {k!r} read under {key!r}"
    assert blob == _value(key, writer, seq), f"{key}: value of writer {writer} seq {seq} is not what was written"
    return writer, seq


def _child(fn) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            fn()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    return pid


def test_sigkill_during_writes_leaves_every_key_exact_or_missing(tmp_path):
    """A writer killed at random points, KILLS times: reads give the exact value or a miss; acknowledged writes stay."""
    path = tmp_path / "store"
    warm = DiskTier(path, 1 << 30)
    warm.serializer.dumps(_value("warm-up", 0, 0))  # imports and calibration once, before forking
    warm.close()
    keys = [f"k{i}" for i in range(40)]
    acked: dict[str, int] = {}
    rng = random.Random(1)
    for round_ in range(KILLS):
        r, w = os.pipe()

        def writer(round_=round_, w=w, r=r):
            os.close(r)
            t = DiskTier(path, 1 << 30)
            t.serializer.dumps(_value("warm-up", 0, 0))  # imports and codec calibration, before the clock starts
            os.write(w, b"ready\n")
            seq = round_ * 1_000_000
            i = 0
            while True:
                key = keys[(i * 7 + round_) % len(keys)]
                seq += 1
                i += 1
                t[key] = _value(key, 0, seq)
                os.write(w, f"{key} {seq}\n".encode())  # acknowledged

        pid = _child(writer)
        os.close(w)
        head = b""
        while not head.endswith(b"ready\n"):
            chunk = os.read(r, 1)
            assert chunk, "the writer died before it was ready"
            head += chunk
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(r) as fh:
            for line in fh.read().splitlines():
                if line.count(" ") == 1 and line.split(" ")[1].isdigit():  # a line cut by the kill is not an ack
                    key, seq = line.split(" ")
                    acked[key] = int(seq)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no repair, no damaged entry
            t = DiskTier(path, 1 << 30)
            for key in keys:
                blob = t.get(key)
                if blob is None:
                    assert key not in acked, f"acknowledged write of {key} lost after kill {round_}"
                    continue
                _, seq = _parse(key, blob)
                assert seq >= acked.get(key, 0), f"{key}: read seq {seq} older than acknowledged {acked[key]}"
            t.close()
    con = sqlite3.connect(path / "cache.sqlite3")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert acked, "the writer never got a write in"


@pytest.mark.slow
def test_four_processes_overlapping_keys(tmp_path):
    """4 processes read and write overlapping keys: no damage, no lost acknowledged write, no lock error."""
    path = tmp_path / "store"
    DiskTier(path, 1 << 30).close()
    shared = [f"s{i}" for i in range(12)]
    deadline = time.time() + SECONDS
    results = tmp_path / "results"
    results.mkdir()

    def worker(n: int) -> None:
        rng = random.Random(n)
        t = DiskTier(path, 1 << 30, timeout=60)
        last: dict[str, int] = {}
        ops = {"read": 0, "write": 0}
        own = [f"p{n}:{i}" for i in range(4)]
        seq = 0
        while time.time() < deadline:
            x = rng.random()
            if x < 0.45:
                key = rng.choice(shared)
                seq += 1
                t[key] = _value(key, n, seq)
                last[key] = seq
                ops["write"] += 1
            elif x < 0.6:
                key = rng.choice(own)
                seq += 1
                t[key] = _value(key, n, seq)
                last[key] = seq
                got = t[key]
                assert _parse(key, got) == (n, seq), "read-your-write failed"
                ops["write"] += 1
            else:
                key = rng.choice(shared + own)
                blob = t.get(key)
                if blob is not None:
                    _parse(key, blob)
                ops["read"] += 1
        t.close()
        (results / f"{n}.json").write_text(json.dumps({"last": last, "ops": ops, "retries": t.busy_retries}))

    DiskTier(path, 1 << 30).serializer.dumps(_value("warm-up", 0, 0))  # imports, calibration: before forking
    deadline = time.time() + SECONDS
    pids = [_child(lambda n=n: worker(n)) for n in range(4)]
    codes = [os.waitpid(pid, 0)[1] for pid in pids]
    assert codes == [0, 0, 0, 0], "a worker raised (see its traceback above)"
    reports = {n: json.loads((results / f"{n}.json").read_text()) for n in range(4)}
    t = DiskTier(path, 1 << 30)
    for key in shared + [f"p{n}:{i}" for n in range(4) for i in range(4)]:
        writers = {n: r["last"][key] for n, r in reports.items() if key in r["last"]}
        blob = t.get(key)
        if not writers:
            assert blob is None
            continue
        writer, seq = _parse(key, blob)
        # The final value is some writer's last acknowledged write: nothing acknowledged was lost behind it.
        assert writers.get(writer) == seq, f"{key}: final value is writer {writer} seq {seq}, last acks {writers}"
    t.close()
    total = sum(r["ops"]["read"] + r["ops"]["write"] for r in reports.values())
    assert all(r["ops"]["write"] > 0 and r["ops"]["read"] > 0 for r in reports.values())  # each worker got in
    print(f"\n4 processes, {SECONDS:.0f} s: {total} operations, "
          f"{sum(r['retries'] for r in reports.values())} busy retries")


def test_flipped_byte_in_any_column_is_a_miss_and_a_warning(tmp_path):
    t = DiskTier(tmp_path, 1 << 20, touch_interval=0)
    for i in range(6):
        t[f"k{i}"] = {"i": i, "text": "payload " * 50}
    con = sqlite3.connect(t.path)
    edits = {
        "k0": "UPDATE kit_entries SET value = ? WHERE key = ?",
        "k1": "UPDATE kit_entries SET key = ? WHERE key = ?",
        "k2": "UPDATE kit_entries SET expires = 1e12 WHERE key = ?",
        "k3": "UPDATE kit_entries SET chk = chk + 1 WHERE key = ?",
    }
    row = con.execute("SELECT value FROM kit_entries WHERE key = ?", (b"sk0",)).fetchone()[0]
    flipped = bytearray(row)
    flipped[len(flipped) // 2] ^= 0x10
    con.execute(edits["k0"], (bytes(flipped), b"sk0"))
    con.execute(edits["k1"], (b"sk1-renamed", b"sk1"))
    con.execute(edits["k2"], (b"sk2",))
    con.execute(edits["k3"], (b"sk3",))
    con.commit()
    con.close()
    for key in ("k0", "k2", "k3"):
        with pytest.warns(CorruptEntryWarning, match="damaged"):
            assert t.get(key) is None
        assert key not in t  # removed
    assert t.get("k1") is None  # its key changed: nobody can ask for the damaged row
    assert t["k4"]["i"] == 4 and t["k5"]["i"] == 5
    assert t.stats()["corrupted"] == 3
    t.close()


def test_flipped_byte_in_the_database_file(tmp_path):
    """Bit rot inside a stored value, found in the file itself: a miss and a warning."""
    payload = random.Random(3).randbytes(20_000)
    t = DiskTier(tmp_path, 1 << 20)
    t["victim"] = payload
    t["other"] = b"fine"
    t._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t.close()
    data = bytearray(t.path.read_bytes())
    window = payload[10_000:10_064]
    at = data.find(window)
    assert at > 0
    data[at + 10] ^= 0x01
    t.path.write_bytes(bytes(data))
    t = DiskTier(tmp_path, 1 << 20)
    with pytest.warns(CorruptEntryWarning):
        assert t.get("victim") is None
    assert t["other"] == b"fine"
    t.close()


def test_unreadable_database_is_moved_aside_and_the_store_starts_empty(tmp_path):
    t = DiskTier(tmp_path, 1 << 20)
    t["k"] = 1
    t.close()
    (tmp_path / "cache.sqlite3").write_bytes(b"this is not a database" * 100)
    for side in ("cache.sqlite3-wal", "cache.sqlite3-shm"):
        (tmp_path / side).unlink(missing_ok=True)
    with pytest.warns(KitWarning, match="moved to"):
        t = DiskTier(tmp_path, 1 << 20)
    assert t.get("k") is None
    t["k"] = 2
    assert t["k"] == 2
    assert list(tmp_path.glob("cache.sqlite3.corrupt-*"))
    t.close()


def test_eviction_is_lru_by_bytes(tmp_path):
    clock = [1000.0]
    t = DiskTier(tmp_path, 20_000, clock=lambda: clock[0], touch_interval=0)
    blob = lambda i: random.Random(i).randbytes(3000)  # noqa: E731
    for i in range(5):
        clock[0] += 1
        t[f"k{i}"] = blob(i)
    clock[0] += 1
    t.get("k0")  # touched: k1 is now the least recently used
    t.set("flush", b"x")  # queued access times are written with the next write
    for i in range(5, 8):
        clock[0] += 1
        t[f"k{i}"] = blob(i)
    assert t.currsize <= 20_000
    assert "k0" in t and "k1" not in t
    assert t.stats()["evictions"] >= 1
    assert t.stats()["lifetime"]["evictions"] >= 1


def test_declines_values_over_the_entry_limit(tmp_path):
    t = DiskTier(tmp_path, 1 << 20, max_entry_bytes=1000)
    assert t.store_blob("big", b"x" * 2000) is False
    assert "big" not in t and t.stats()["declined"] == 1


def test_discard_prefix_is_a_range(tmp_path):
    t = DiskTier(tmp_path)
    for k in ("memo:a:1", "memo:a:2", "memo:b:1", "memo:a", "other"):
        t[k] = k
    assert t.discard_prefix("memo:a:") == 2
    assert sorted(t) == ["memo:a", "memo:b:1", "other"]


def test_writer_waits_for_a_lock_then_succeeds_and_times_out_cleanly(tmp_path):
    t = DiskTier(tmp_path, timeout=5)
    t["warm"] = 1
    holder = sqlite3.connect(t.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    events = []

    def release():
        events.append("committed")
        holder.execute("COMMIT")

    threading.Timer(0.3, release).start()
    t["k"] = "after the lock"
    events.append("written")
    assert events == ["committed", "written"]  # the write waited for the lock, however long it took
    assert t["k"] == "after the lock"
    holder.execute("BEGIN IMMEDIATE")
    quick = DiskTier(tmp_path, timeout=0.2)
    with pytest.raises(CacheBusyError, match="stayed locked"):
        quick["k2"] = 1
    holder.execute("COMMIT")
    holder.close()
    quick["k2"] = 1
    assert t["k2"] == 1


def test_lifetime_counters_survive_close(tmp_path):
    t = DiskTier(tmp_path)
    t["a"] = 1
    t.get("a")
    t.get("b")
    t.close()
    t2 = DiskTier(tmp_path)
    assert t2.stats()["lifetime"] == {"hits": 1, "misses": 1, "evictions": 0}
    with pytest.raises(Exception, match="closed"):
        t.get("a")


def test_threads_share_a_store(tmp_path):
    t = DiskTier(tmp_path)
    errors = []

    def work(n):
        try:
            for i in range(50):
                t[f"{n}:{i}"] = i
                assert t[f"{n}:{i}"] == i
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(t) == 200


def test_forked_child_opens_its_own_connection(tmp_path):
    t = DiskTier(tmp_path)
    t["parent"] = 1

    def child():
        assert t["parent"] == 1
        t["child"] = 2

    pid = _child(child)
    assert os.waitpid(pid, 0)[1] == 0
    assert t["child"] == 2


# --- a damaged database at open: quarantined, one warning, an empty store ------------------------

def _write_meta(path, sql, *params):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(sql, params)
    con.close()


def _flip_header_byte(path, offset, bit=0x01):
    data = bytearray(path.read_bytes())
    data[offset] ^= bit
    path.write_bytes(bytes(data))


DAMAGE = {
    "header byte 47 (schema format)": lambda p: _flip_header_byte(p, 47),
    "header magic": lambda p: _flip_header_byte(p, 3),
    "not a database": lambda p: p.write_bytes(b"this is not a database" * 100),
    "no check row": lambda p: _write_meta(p, "DELETE FROM kit_meta WHERE name = 'check'"),
    "check row not UTF-8": lambda p: _write_meta(p, "UPDATE kit_meta SET value = CAST(? AS TEXT) "
                                                   "WHERE name = 'check'", b"\xff\xfe\x80"),
    "check row a blob": lambda p: _write_meta(p, "UPDATE kit_meta SET value = ? WHERE name = 'check'", b"xxh3_64"),
    "unknown check": lambda p: _write_meta(p, "UPDATE kit_meta SET value = 'md5' WHERE name = 'check'"),
    "no format row": lambda p: _write_meta(p, "DELETE FROM kit_meta WHERE name = 'format'"),
    "newer format": lambda p: _write_meta(p, "UPDATE kit_meta SET value = 99 WHERE name = 'format'"),
    "size row text": lambda p: _write_meta(p, "UPDATE kit_meta SET value = 'x' WHERE name = 'size'"),
    "no kit_meta": lambda p: _write_meta(p, "DROP TABLE kit_meta"),
    "entries lack a column": lambda p: (_write_meta(p, "DROP TABLE kit_entries"),
                                        _write_meta(p, "CREATE TABLE kit_entries (id INTEGER PRIMARY KEY)")),
}


def _damaged_store(tmp_path, damage):
    t = DiskTier(tmp_path, 1 << 20)
    t["k"] = "old"
    t._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t.close()
    for side in ("cache.sqlite3-wal", "cache.sqlite3-shm"):
        (tmp_path / side).unlink(missing_ok=True)
    DAMAGE[damage](tmp_path / "cache.sqlite3")


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_database_is_quarantined_with_one_warning_and_starts_empty(tmp_path, damage):
    import kit

    _damaged_store(tmp_path, damage)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = kit.Cache(tmp_path)
        assert c.get("k") is None
        c.set("k", "new")
        assert c.get("k") == "new"
        c.close()
        again = kit.Cache(tmp_path)  # the fresh store is kept: no second quarantine
        assert again.get("k") == "new"
        again.close()
    moved = [w for w in caught if "moved to" in str(w.message)]
    assert len(moved) == 1, [str(w.message) for w in caught]
    assert len(list(tmp_path.glob("cache.sqlite3.corrupt-*"))) == 1


@pytest.mark.parametrize("damage", ["header byte 47 (schema format)", "check row not UTF-8", "no check row"])
def test_cache_stats_and_clear_work_on_a_damaged_database(tmp_path, damage, capsys):
    from kit.cli import main

    _damaged_store(tmp_path, damage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["cache", "stats", "--path", str(tmp_path)]) == 0
        assert main(["cache", "clear", "--path", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "l3" in out and "removed" in out


def test_a_store_that_cannot_be_opened_leaves_the_cache_serving_from_memory(tmp_path):
    import kit

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(KitWarning, match="on-disk tier unavailable"):
        c = kit.Cache(blocker / "cache")
    c.set("k", 1)
    assert c.get("k") == 1 and c.l3 is None and any("l3" in d for d in c.stats()["degraded"])


def test_the_wal_is_bounded_by_the_store_size(tmp_path):
    rng = random.Random(0)
    t = DiskTier(tmp_path, 4 << 20)
    wal = tmp_path / "cache.sqlite3-wal"
    largest = 0
    for i in range(2000):
        t[f"k{i}"] = rng.randbytes(rng.randint(100, 20_000))
        t.get(f"k{rng.randint(0, i)}")
        largest = max(largest, wal.stat().st_size)
    assert largest <= 1 << 20, largest  # twice the limit at most; SQLite alone lets it reach 4 MiB here
    assert t.wal_bytes == 512 << 10  # the limit: an eighth of the 4 MiB store
    t.close()
