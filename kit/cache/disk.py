"""L3: a persistent store on disk, with no server: SQLite in WAL mode.

Why SQLite/WAL (measurements in ``docs/cache.md``): one file, transactions
that a killed writer cannot half-apply, readers that never wait for writers,
safe use by several processes, and small-value reads faster than
``diskcache``'s. Each row holds the frame of one value and a check over
(key, frame, expiry), so a damaged row is a miss and a warning, never wrong
data.

Concurrency: one connection per thread (and per process: a forked child
opens its own), writes in ``BEGIN IMMEDIATE`` transactions, and a retry loop
with backoff around SQLite's busy handler, so "database is locked" never
reaches the caller before ``timeout`` seconds of contention.

Eviction: least recently used, by total bytes (kept by triggers in the same
transaction as each write); expired rows go first. Reads do not write: the
access time of a row read is queued and written with the next write, at most
once per ``touch_interval`` seconds per row.

Examples
--------
>>> import tempfile
>>> from kit.cache import DiskTier
>>> with DiskTier(tempfile.mkdtemp(), maxbytes=1 << 20) as t:
...     t["k"] = {"a": [1, 2]}
...     t["k"]
{'a': [1, 2]}
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator

from kit._paths import file_lock
from kit.cache._blob import BlobTier, row_check_algorithm
from kit.cache._tier import SAMPLE_EVERY, check_ttl
from kit.cache.values import Serializer, decode_key, encode_key
from kit.errors import KitError, KitWarning

__all__ = ["DiskTier", "CacheBusyError", "FORMAT"]

#: On-disk format version, stored in the database's ``kit_meta`` table.
FORMAT = 1
FILENAME = "cache.sqlite3"

_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kit_meta (name TEXT PRIMARY KEY, value);
INSERT OR IGNORE INTO kit_meta VALUES ('format', {format}), ('check', '{check}'), ('size', 0),
    ('count', 0), ('hits', 0), ('misses', 0), ('evictions', 0);
CREATE TABLE IF NOT EXISTS kit_entries (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    expires REAL,
    accessed REAL NOT NULL,
    chk INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kit_entries_accessed ON kit_entries (accessed);
CREATE INDEX IF NOT EXISTS kit_entries_expires ON kit_entries (expires) WHERE expires IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS kit_size_insert AFTER INSERT ON kit_entries BEGIN
    UPDATE kit_meta SET value = value + NEW.size WHERE name = 'size';
    UPDATE kit_meta SET value = value + 1 WHERE name = 'count';
END;
CREATE TRIGGER IF NOT EXISTS kit_size_delete AFTER DELETE ON kit_entries BEGIN
    UPDATE kit_meta SET value = value - OLD.size WHERE name = 'size';
    UPDATE kit_meta SET value = value - 1 WHERE name = 'count';
END;
CREATE TRIGGER IF NOT EXISTS kit_size_update AFTER UPDATE OF size ON kit_entries BEGIN
    UPDATE kit_meta SET value = value + NEW.size - OLD.size WHERE name = 'size';
END;
"""

_GET = "SELECT id, value, expires, chk, accessed FROM kit_entries WHERE key = ?"
_GET_MANY = "SELECT key, id, value, expires, chk, accessed FROM kit_entries WHERE key IN ({})"
#: Keys per query of ``lookup_many`` (SQLite allows 32,766 parameters; old builds 999).
_MANY = 500
_PUT = ("INSERT INTO kit_entries (key, size, expires, accessed, chk, value) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET size = excluded.size, expires = excluded.expires, "
        "accessed = excluded.accessed, chk = excluded.chk, value = excluded.value")


# Bumped in a forked child: connections (and cursors) made before the fork are the parent's.
_FORKS = [0]
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))


class CacheBusyError(KitError):
    """The on-disk store stayed locked by other processes for longer than the tier's timeout."""


def _check_fn(name: str) -> Callable[[bytes, bytes, float | None], int]:
    """The row check: a 64-bit hash of (key, expiry, frame), pinned by name in the database."""
    if name == "xxh3_64":
        import xxhash

        h = xxhash.xxh3_64_intdigest

        def check(key: bytes, value: bytes, expires: float | None) -> int:
            v = h(value, h(key + (b"-" if expires is None else repr(expires).encode())))
            return v - (1 << 64) if v >= 1 << 63 else v

        return check
    if name == "blake2b_64":
        import hashlib

        def check(key: bytes, value: bytes, expires: float | None) -> int:
            d = hashlib.blake2b(digest_size=8)
            d.update(len(key).to_bytes(8, "little"))
            d.update(key)
            d.update(b"-" if expires is None else repr(expires).encode())
            d.update(value)
            return int.from_bytes(d.digest(), "little", signed=True)

        return check
    raise KitError(f"unknown row check {name!r} in the cache database; this kit knows xxh3_64, blake2b_64")


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_busy(exc: BaseException) -> bool:
    code = _code(exc)
    if code is not None:
        return code in _BUSY_CODES
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


# SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_AUTH: the file
# system refuses the file; moving it aside would not help (and may be refused as well).
_REFUSED_CODES = {3, 8, 10, 13, 14, 23}


def _file_refused(exc: BaseException) -> bool:
    code = _code(exc)
    if code is not None:
        return code in _REFUSED_CODES
    msg = str(exc).lower()
    return isinstance(exc, sqlite3.Error) and ("unable to open" in msg or "readonly" in msg
                                               or "disk i/o" in msg or "disk is full" in msg)


class DiskTier(BlobTier):
    """L3 tier: SQLite (WAL) at ``path``, bounded by ``maxbytes``.

    Parameters
    ----------
    path : str or Path
        A directory (the database is ``path/cache.sqlite3``) or a file path
        ending in ``.sqlite3``, ``.sqlite`` or ``.db``.
    maxbytes : int
        Most bytes of frames held; least recently used rows are evicted (to
        90% of the bound, so evictions come in batches).
    serializer : Serializer, optional
    timeout : float
        Seconds a write waits for other writers before :class:`CacheBusyError`.
    touch_interval : float
        A row's access time is refreshed at most this often (seconds).
    max_entry_bytes : int, optional
        Largest frame stored (default: half of ``maxbytes``, at most 900 MB,
        under SQLite's 1 GB blob limit). Larger values are declined.
    clock : callable
        Wall clock shared by processes (``time.time``); expiry times are
        absolute on it.
    """

    name = "l3"
    policy = "lru"
    checks_rows = True

    def __init__(self, path: str | os.PathLike, maxbytes: int = 1 << 30, *, serializer: Serializer | None = None,
                 timeout: float = 60.0, touch_interval: float = 30.0, max_entry_bytes: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(serializer=serializer, timer=clock)
        if isinstance(maxbytes, bool) or not isinstance(maxbytes, int) or maxbytes <= 0:
            raise ValueError(f"maxbytes must be a positive int, got {maxbytes!r}")
        p = Path(path).expanduser()
        if p.suffix.lower() in (".sqlite3", ".sqlite", ".db"):
            self.path = p
        else:
            self.path = p / FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._maxbytes = maxbytes
        # The write-ahead log is part of the footprint: bounded by an eighth of the store
        # (SQLite's journal_size_limit truncates it at each checkpoint, and the automatic
        # checkpoint runs once the log holds half of that), at most 64 MiB, at least 256 KiB.
        self.wal_bytes = max(256 << 10, min(maxbytes // 8, 64 << 20))
        self._checkpoint_pages = max(16, min(1000, self.wal_bytes // 2 // 4096))
        self.max_entry_bytes = min(maxbytes // 2, 900_000_000) if max_entry_bytes is None else max_entry_bytes
        self.timeout = float(timeout)
        self.touch_interval = float(touch_interval)
        self.clock = clock
        self.declined = 0
        self.busy_retries = 0
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._touch: dict[int, float] = {}
        self._closed = False
        self._pid = os.getpid()
        self.quarantined: str | None = None
        self._check_name = "-"
        self._connection()
        self._check = _check_fn(self._check_name)
        self._finalizer = weakref.finalize(self, DiskTier._close_all, self._conns)

    # -- connections -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise KitError(f"the on-disk cache at {str(self.path)!r} is closed")
        con = getattr(self._local, "con", None)
        if con is not None and self._local.forks == _FORKS[0]:
            return con
        self._local.cur = None
        con = self._open()
        self._local.con, self._local.forks = con, _FORKS[0]
        if os.getpid() != self._pid:  # a forked child: the parent's connections are not ours
            self._pid = os.getpid()
            self._conns = []
            self._conns_lock = threading.Lock()
        with self._conns_lock:
            self._conns.append(con)
        return con

    def _open(self) -> sqlite3.Connection:
        """A connection to a database that passed :meth:`_check_db`; a damaged one is moved aside once.

        Any error at open that is not contention (busy) or the file system refusing the
        file itself (permissions, a full disk) means the file is not a kit cache this kit
        can use: a damaged header, a missing or garbled ``kit_meta`` row, another format.
        It is quarantined (moved aside, kept for inspection) with one warning, and the
        tier starts empty, so that ``kit.Cache()``, ``kit cache stats`` and ``kit cache
        clear`` keep working.
        """
        deadline = time.monotonic() + self.timeout
        quarantined = False
        while True:
            con = None
            try:
                con = sqlite3.connect(self.path, timeout=min(self.timeout, 10.0), isolation_level=None,
                                      check_same_thread=False, cached_statements=64)
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("PRAGMA synchronous = NORMAL")
                con.execute(f"PRAGMA journal_size_limit = {self.wal_bytes}")
                con.execute(f"PRAGMA wal_autocheckpoint = {self._checkpoint_pages}")
                con.execute("PRAGMA cache_size = -8192")
                self._check_name = self._check_db(con, create=True)
                return con
            except (sqlite3.Error, KitError, TypeError, ValueError, UnicodeDecodeError) as exc:
                if con is not None:
                    con.close()
                if isinstance(exc, sqlite3.Error) and _is_busy(exc):
                    if time.monotonic() < deadline:
                        self.busy_retries += 1
                        time.sleep(random.uniform(0.001, 0.02))
                        continue
                    raise CacheBusyError(f"the on-disk cache at {str(self.path)!r} stayed locked for "
                                         f"{self.timeout:.0f} s") from exc
                if _file_refused(exc) or quarantined:
                    raise
                self._quarantine(exc)
                quarantined = True

    def _check_db(self, con: sqlite3.Connection, create: bool) -> str:
        """Check the schema, format and row-check name; create the schema in an empty database.

        Returns the row check's name. Raises (``sqlite3.Error``, ``KitError``,
        ``TypeError``) on anything a kit cache of this format would not hold.
        """
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        if "kit_meta" not in tables:
            if tables - {"sqlite_sequence"}:
                raise KitError(f"not a kit cache (tables {', '.join(sorted(tables))}, no kit_meta)")
            if not create:
                return "-"
            self._create_schema(con)
        row = con.execute("SELECT value FROM kit_meta WHERE name = 'format'").fetchone()
        if row is None:
            raise KitError("the kit_meta table has no 'format' row")
        if row[0] != FORMAT:
            raise KitError(f"format {row[0]!r}; this kit reads format {FORMAT}")
        meta = dict(con.execute("SELECT name, value FROM kit_meta").fetchall())
        for name in ("size", "count", "hits", "misses", "evictions"):
            if isinstance(meta.get(name), bool) or not isinstance(meta.get(name), int):
                raise KitError(f"the kit_meta row {name!r} is {meta.get(name)!r}, expected an integer")
        check = meta.get("check")
        if not isinstance(check, str):
            raise KitError(f"the kit_meta row 'check' is {check!r}, expected the name of a row check")
        _check_fn(check)  # an unknown name raises here
        con.execute("SELECT id, key, size, expires, accessed, chk, value FROM kit_entries LIMIT 0").fetchall()
        return check

    def _create_schema(self, con: sqlite3.Connection) -> None:
        sql = _SCHEMA.format(format=FORMAT, check=row_check_algorithm())
        self._retry(lambda: con.executescript("BEGIN IMMEDIATE;" + sql + "COMMIT;"), con)

    def _quarantine(self, exc: BaseException) -> None:
        """Move a database this kit cannot use aside (kept for inspection) and start afresh."""
        lock = file_lock(Path(str(self.path) + ".lock"), timeout=max(self.timeout, 1.0))
        try:
            lock.__enter__()
        except TimeoutError:  # the process that holds it is moving the file aside itself
            raise CacheBusyError(f"another process is moving {str(self.path)!r} aside") from None
        try:
            # Another process may have done it already: only move a file that still fails the checks.
            try:
                probe = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
                try:
                    self._check_db(probe, create=False)
                    return
                finally:
                    probe.close()
            except (sqlite3.Error, KitError, TypeError, ValueError, UnicodeDecodeError) as again:
                if isinstance(again, sqlite3.Error) and (_is_busy(again) or _file_refused(again)):
                    return  # the caller's next attempt reports it
            stamp = time.strftime("%Y%m%d-%H%M%S")
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
            if self.path.exists():
                os.replace(self.path, target)
            for suffix in ("-wal", "-shm", "-journal"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
            self.quarantined = str(target)
            warnings.warn(KitWarning(
                f"kit cache l3: {str(self.path)!r} could not be used ({type(exc).__name__}: {exc}); moved to "
                f"{target.name!r} and started empty"), stacklevel=5)
        finally:
            lock.__exit__(None, None, None)

    def _retry(self, fn: Callable[[], Any], con: sqlite3.Connection | None = None) -> Any:
        """Run ``fn``; on "database is locked/busy", roll back and retry with backoff until ``timeout``."""
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if con is not None and con.in_transaction:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if not _is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise CacheBusyError(f"the on-disk cache at {str(self.path)!r} stayed locked for "
                                         f"{self.timeout:.0f} s") from exc
                self.busy_retries += 1
                time.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, 0.05)

    def _write(self, body: Callable[[sqlite3.Connection], Any]) -> Any:
        con = self._connection()

        def tx() -> Any:
            con.execute("BEGIN IMMEDIATE")
            try:
                out = body(con)
                if self._touch:
                    pending, self._touch = self._touch, {}
                    con.executemany("UPDATE kit_entries SET accessed = ? WHERE id = ? AND accessed < ?",
                                    [(t, i, t) for i, t in pending.items()])
                con.execute("COMMIT")
                return out
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

        return self._retry(tx, con)

    # -- sizes -------------------------------------------------------------------------------------

    def _meta(self, name: str) -> Any:
        con = self._connection()
        row = self._retry(lambda: con.execute("SELECT value FROM kit_meta WHERE name = ?", (name,)).fetchone())
        return row[0] if row else None

    @property
    def currsize(self) -> int:
        return int(self._meta("size") or 0)

    @property
    def maxbytes(self) -> int | None:
        return self._maxbytes

    def _entries_for_stats(self) -> int:
        return int(self._meta("count") or 0)

    # -- blobs -------------------------------------------------------------------------------------

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        # (the read path of a disk hit through kit.Cache: a str key encoded inline, the thread's cursor)
        kb = b"s" + key.encode("utf-8", "surrogatepass") if type(key) is str else encode_key(key)
        loc = self._local
        cur = getattr(loc, "cur", None)
        try:
            if cur is None or loc.forks != _FORKS[0]:
                cur = self._cursor()
            row = cur.execute(_GET, (kb,)).fetchone()
        except sqlite3.DatabaseError as exc:
            return self._read_failed(key, exc)
        if row is None:
            self.misses += 1
            return None
        rowid, value, expires, chk, accessed = row
        if self._check(kb, value, expires) != chk:
            self.hits += 1  # report_damaged turns it into a miss
            self.report_damaged(key, ValueError("row check mismatch"))
            return None
        now = self.clock()
        remaining = None
        if expires is not None:
            remaining = expires - now
            if remaining <= 0:
                self.misses += 1
                self.expirations += 1
                return None
        if now - accessed > self.touch_interval:
            self._touch[rowid] = now
            if len(self._touch) >= 256:
                self._flush_touches()
        self.hits += 1
        return value, remaining

    def lookup_many(self, keys: Any) -> dict[Any, tuple[bytes, float | None]]:
        """``{key: (frame, remaining ttl)}`` for the keys present, checked and unexpired: one query per 500 keys.

        Counted like :meth:`lookup_blob`, key by key (a key asked twice is
        counted twice); a damaged row is a miss and a warning.

        Examples
        --------
        >>> import tempfile
        >>> t = DiskTier(tempfile.mkdtemp())
        >>> t["a"] = 1; t["b"] = 2
        >>> sorted(t.lookup_many(["a", "b", "c"]))
        ['a', 'b']
        """
        wanted: dict[bytes, list[Any]] = {}
        for key in keys:
            wanted.setdefault(encode_key(key), []).append(key)
        kbs = list(wanted)
        rows = []
        try:
            cur = self._cursor()
            for i in range(0, len(kbs), _MANY):
                part = kbs[i:i + _MANY]
                rows += cur.execute(_GET_MANY.format(", ".join("?" * len(part))), part).fetchall()
        except sqlite3.DatabaseError as exc:
            for ks in wanted.values():
                for key in ks:
                    self._read_failed(key, exc)
            return {}
        now = self.clock()
        out: dict[Any, tuple[bytes, float | None]] = {}
        for kb, rowid, value, expires, chk, accessed in rows:
            ks = wanted.pop(kb)
            if self._check(kb, value, expires) != chk:
                self.hits += len(ks)
                for key in ks:
                    self.report_damaged(key, ValueError("row check mismatch"))
                continue
            if expires is not None and expires <= now:
                self.misses += len(ks)
                self.expirations += len(ks)
                continue
            if now - accessed > self.touch_interval:
                self._touch[rowid] = now
            self.hits += len(ks)
            for key in ks:
                out[key] = (value, None if expires is None else expires - now)
        self.misses += sum(map(len, wanted.values()))
        if len(self._touch) >= 256:
            self._flush_touches()
        return out

    def _cursor(self) -> sqlite3.Cursor:
        loc = self._local
        cur = getattr(loc, "cur", None)
        if cur is None or loc.forks != _FORKS[0]:
            cur = self._connection().cursor()
            self._local.cur = cur
        return cur

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for ``key`` or ``default``: one indexed SELECT, the row check, the decode.

        (``lookup_blob`` + ``serializer.loads`` in one frame: this is the read
        path the targets compare with diskcache.)
        """
        self._tick -= 1
        if not self._tick:  # the sampled call: timed, through the general path
            self._tick = SAMPLE_EVERY
            t0 = time.perf_counter()
            found = self.lookup(key)
            self._lat_get.add(time.perf_counter() - t0)
            return default if found is None else found[0]
        kb = b"s" + key.encode("utf-8", "surrogatepass") if type(key) is str else encode_key(key)
        loc = self._local
        cur = getattr(loc, "cur", None)
        try:
            if cur is None or loc.forks != _FORKS[0]:
                cur = self._cursor()
            row = cur.execute(_GET, (kb,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._read_failed(key, exc)
            return default
        if row is None:
            self.misses += 1
            return default
        rowid, value, expires, chk, accessed = row
        now = self.clock()
        if self._check(kb, value, expires) != chk or (expires is not None and expires <= now):
            found = self.lookup(key)  # the general path re-reads it and accounts for it
            return default if found is None else found[0]
        if now - accessed > self.touch_interval:
            self._touch[rowid] = now
            if len(self._touch) >= 256:
                self._flush_touches()
        try:
            # The row check just passed: a raw frame's payload is decoded in place, unchecked again.
            out = self.serializer.loads(value, True)
        except Exception as exc:
            self.hits += 1
            self.report_damaged(key, exc)
            return default
        self.hits += 1
        return out

    def _read_failed(self, key: Any, exc: sqlite3.DatabaseError) -> None:
        self.errors += 1
        self.misses += 1
        warnings.warn(KitWarning(f"kit cache l3: reading {key!r:.80} failed ({exc}); treated as a miss"),
                      stacklevel=3)
        return None

    def _flush_touches(self) -> None:
        try:
            self._write(lambda con: None)
        except (sqlite3.Error, CacheBusyError):
            self._touch.clear()

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        if len(blob) > self.max_entry_bytes:
            self.declined += 1
            return False
        kb = encode_key(key)
        now = self.clock()
        if ttl is not None and ttl <= 0:
            self.discard(key)
            return False
        expires = None if ttl is None else now + ttl
        chk = self._check(kb, blob, expires)

        def body(con: sqlite3.Connection) -> None:
            con.execute(_PUT, (kb, len(blob), expires, now, chk, blob))
            total = con.execute("SELECT value FROM kit_meta WHERE name = 'size'").fetchone()[0]
            if total > self._maxbytes:
                self.evictions += self._evict(con, total - int(self._maxbytes * 0.9), now, exclude=kb)

        self._write(body)
        self.sets += 1
        return True

    def store_many(self, items: Any, ttl: float | None = None) -> list[bool]:
        """Store ``(key, frame)`` pairs in one transaction; one flag per pair, ``False`` where declined.

        One ``BEGIN IMMEDIATE`` ... ``COMMIT`` for all the rows (a loop of
        :meth:`store_blob` pays one commit per row), then one eviction pass
        if the bound is exceeded. A frame over ``max_entry_bytes`` is
        declined, as by :meth:`store_blob`; a ``ttl`` of zero or less
        discards the keys instead.

        Examples
        --------
        >>> import tempfile
        >>> from kit.cache.values import Serializer
        >>> t = DiskTier(tempfile.mkdtemp())
        >>> t.store_many([("a", t.serializer.dumps(1)), ("b", t.serializer.dumps(2))])
        [True, True]
        >>> t["a"], t["b"]
        (1, 2)
        """
        items = list(items)
        check_ttl(ttl)
        if ttl is not None and ttl <= 0:
            kbs = [(encode_key(k),) for k, _ in items]
            self._write(lambda con: con.executemany("DELETE FROM kit_entries WHERE key = ?", kbs))
            return [False] * len(items)
        now = self.clock()
        expires = None if ttl is None else now + ttl
        rows, stored = [], []
        for key, blob in items:
            ok = len(blob) <= self.max_entry_bytes
            stored.append(ok)
            if not ok:
                self.declined += 1
                continue
            kb = encode_key(key)
            rows.append((kb, len(blob), expires, now, self._check(kb, blob, expires), blob))
        if not rows:
            return stored

        def body(con: sqlite3.Connection) -> None:
            con.executemany(_PUT, rows)
            total = con.execute("SELECT value FROM kit_meta WHERE name = 'size'").fetchone()[0]
            if total > self._maxbytes:
                # The new rows were accessed last: least recently used goes first, as row by row.
                self.evictions += self._evict(con, total - int(self._maxbytes * 0.9), now)

        self._write(body)
        self.sets += len(rows)
        return stored

    def _evict(self, con: sqlite3.Connection, need: int, now: float, exclude: bytes | None = None) -> int:
        freed = 0
        evicted = 0
        cur = con.execute("DELETE FROM kit_entries WHERE expires IS NOT NULL AND expires <= ? RETURNING size",
                          (now,))
        for (size,) in cur.fetchall():
            freed += size
            self.expirations += 1
        while freed < need:
            rows = con.execute("SELECT id, size, key FROM kit_entries ORDER BY accessed LIMIT 64").fetchall()
            victims = []
            for rowid, size, key in rows:
                if key == exclude:
                    continue
                victims.append((rowid,))
                freed += size
                if freed >= need:
                    break
            if not victims:
                break
            con.executemany("DELETE FROM kit_entries WHERE id = ?", victims)
            evicted += len(victims)
        if evicted:
            con.execute("UPDATE kit_meta SET value = value + ? WHERE name = 'evictions'", (evicted,))
        return evicted

    def discard(self, key: Any) -> bool:
        kb = encode_key(key)
        return bool(self._write(lambda con: con.execute("DELETE FROM kit_entries WHERE key = ?", (kb,)).rowcount))

    def discard_prefix(self, prefix: str) -> int:
        """Remove every ``str`` key starting with ``prefix`` (one range scan); returns how many.

        Examples
        --------
        >>> import tempfile
        >>> t = DiskTier(tempfile.mkdtemp())
        >>> t["a:1"] = 1; t["a:2"] = 2; t["b:1"] = 3
        >>> t.discard_prefix("a:"), sorted(t)
        (2, ['b:1'])
        """
        lo = encode_key(prefix)
        hi = _successor(lo)
        sql = "DELETE FROM kit_entries WHERE key >= ?" + (" AND key < ?" if hi is not None else "")
        args = (lo, hi) if hi is not None else (lo,)
        return int(self._write(lambda con: con.execute(sql, args).rowcount))

    # -- mapping -------------------------------------------------------------------------------------

    def __delitem__(self, key: Any) -> None:
        if not self.discard(key):
            raise KeyError(key)
        self.deletes += 1

    def __iter__(self) -> Iterator[Any]:
        now = self.clock()
        con = self._connection()
        rows = self._retry(lambda: con.execute(
            "SELECT key FROM kit_entries WHERE expires IS NULL OR expires > ?", (now,)).fetchall())
        for (kb,) in rows:
            try:
                yield decode_key(kb)
            except Exception:  # a damaged key: not a key anyone can ask for
                continue

    def __len__(self) -> int:
        con = self._connection()
        now = self.clock()
        return int(self._retry(lambda: con.execute(
            "SELECT count(*) FROM kit_entries WHERE expires IS NULL OR expires > ?", (now,)).fetchone()[0]))

    def popitem(self) -> tuple[Any, Any]:
        def body(con: sqlite3.Connection) -> Any:
            row = con.execute("SELECT id, key, value FROM kit_entries ORDER BY accessed LIMIT 1").fetchone()
            if row is None:
                return None
            con.execute("DELETE FROM kit_entries WHERE id = ?", (row[0],))
            con.execute("UPDATE kit_meta SET value = value + 1 WHERE name = 'evictions'")
            return row

        row = self._write(body)
        if row is None:
            raise KeyError("DiskTier is empty")
        self.evictions += 1
        return decode_key(row[1]), self.serializer.loads(row[2])

    def clear(self, vacuum: bool = False) -> None:
        """Remove every entry; ``vacuum=True`` also gives the space back to the file system."""
        self._write(lambda con: con.execute("DELETE FROM kit_entries"))
        if vacuum:
            con = self._connection()
            self._retry(lambda: con.execute("VACUUM"))
            self._retry(lambda: con.execute("PRAGMA wal_checkpoint(TRUNCATE)"))

    def expire(self) -> int:
        """Delete expired rows now; returns how many."""
        now = self.clock()
        n = self._write(lambda con: con.execute(
            "DELETE FROM kit_entries WHERE expires IS NOT NULL AND expires <= ?", (now,)).rowcount)
        self.expirations += n
        return int(n)

    # -- lifecycle ---------------------------------------------------------------------------------

    def files(self) -> dict[str, int]:
        """Bytes on disk of the database, its WAL and shared-memory files."""
        out = {}
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            try:
                out[p.name] = p.stat().st_size
            except FileNotFoundError:
                pass
        return out

    def stats(self) -> dict[str, Any]:
        s = super().stats()
        s.update(path=str(self.path), files=self.files(), declined=self.declined, busy_retries=self.busy_retries,
                 corrupted=self.corrupted)
        try:
            con = self._connection()
            meta = dict(con.execute("SELECT name, value FROM kit_meta").fetchall())
            s["lifetime"] = {k: meta.get(k, 0) for k in ("hits", "misses", "evictions")}
            s["check"] = meta.get("check")
        except sqlite3.Error:
            pass
        return s

    def close(self) -> None:
        """Write pending access times and this process's counters, then close every connection."""
        if self._closed:
            return
        if os.getpid() == self._pid:
            hits, misses, evictions = self.hits, self.misses, self.evictions
            try:
                def body(con: sqlite3.Connection) -> None:
                    con.executemany("UPDATE kit_meta SET value = value + ? WHERE name = ?",
                                    [(hits, "hits"), (misses, "misses")])
                self._write(body)
            except (sqlite3.Error, KitError):
                pass
        self._closed = True
        self._local = threading.local()
        DiskTier._close_all(self._conns)

    @staticmethod
    def _close_all(conns: list) -> None:
        for con in list(conns):
            try:
                con.close()
            except sqlite3.Error:
                pass
        conns.clear()

    def __enter__(self) -> "DiskTier":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    b = bytearray(prefix)
    while b:
        if b[-1] < 0xFF:
            b[-1] += 1
            return bytes(b)
        b.pop()
    return None
