"""``kit.Cache``: L1 memory, L2 compressed memory, L3 disk and optional Redis, composed.

Reads go down the tiers and promote a hit into every tier above it (with the
entry's remaining TTL); a small frame read from below L2 goes into L2 when L1
evicts the value, not before (:data:`LAZY_L2_BYTES`). Writes go through every
tier (``write="through"``, the default) or stay in L1 until L1 evicts them,
:meth:`Cache.flush` or :meth:`Cache.close` (``write="back"``). A value is
encoded and compressed once and the same frame is stored in L2, L3 and Redis.

Keys follow one rule in every tier: keys a ``dict`` holds equal are one key
(``1``, ``1.0``, ``True`` and ``Decimal(1)``; ``0.0`` and ``-0.0``; equal
frozensets; one instant in two UTC offsets), in memory as on disk and in Redis
(:func:`kit.cache.values.encode_key`); a key read back from disk comes in its
canonical form (``1`` for ``1.0``).

A tier that fails (the disk is full, Redis is down) is reported as a warning
and in :meth:`Cache.stats`, and the cache keeps serving from the others. A
damaged entry is a miss and a warning, never wrong data.

Examples
--------
>>> import kit, tempfile
>>> c = kit.Cache(tempfile.mkdtemp())
>>> c.set("answer", {"value": 42})
>>> c.get("answer")
{'value': 42}
>>> c["missing"] if "missing" in c else "absent"
'absent'
>>> c.close()
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import warnings
import weakref
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Callable, Iterator

from kit.cache._blob import BlobTier
from kit.cache._tier import MISSING, Latency, check_ttl
from kit.cache.compressed import CompressedTier
from kit.cache.memory import MemoryTier, memory_tier
from kit.cache.values import Serializer, UnsupportedValue
from kit.errors import KitWarning

__all__ = ["Cache", "default_path", "WRITE_POLICIES", "LAZY_L2_BYTES"]

WRITE_POLICIES = ("through", "back")

#: A frame of at most this many bytes read from L3 or Redis is promoted into L1 at once and into
#: L2 only when L1 evicts the value (with its remaining TTL then): while L1 holds the value, L1
#: answers every read and an L2 copy would serve none. Storing a small frame in L2 (its lock,
#: LRU, byte counts, dictionary bookkeeping) cost ~4-7 us of a ~28 us disk hit of 100 B through
#: ``Cache.get``. The frames waiting are at most about twice L1's entries (those whose value
#: L1 no longer holds are pruned), so at most ~8 KiB per L1 entry beside the value itself.
#: Larger frames go into L2 at once: their store is small beside their read.
LAZY_L2_BYTES = 4 << 10


def default_path() -> Path:
    """Where the default on-disk tier lives: kit's cache folder, ``KIT_CACHE_DIR`` or the user cache dir.

    One meaning everywhere: ``KIT_CACHE_DIR=D``, ``kit.Cache(D)``, ``kit cache stats --path D`` and
    ``kit load --cache-dir D`` all keep the on-disk tier in ``D`` itself (the engine's wisdom
    files live beside it).

    Examples
    --------
    >>> import kit
    >>> with kit.config_context(cache_dir="kit-demo"):
    ...     str(default_path())
    'kit-demo'
    """
    from kit._paths import cache_dir

    return cache_dir()


class Cache(MutableMapping):
    """A multi-level cache.

    Parameters
    ----------
    path : str or Path, optional
        Directory of the on-disk tier (default: :func:`default_path`).
    memory : {"lru", "lfu", "ttl"} or MemoryTier
        L1 policy, or a tier object.
    max_entries, max_bytes : int
        L1 bounds (entries; bytes as :func:`~kit.cache._tier.sizeof` counts).
    compressed_bytes : int or None
        L2 bound in compressed bytes; ``0``/``None`` disables L2.
    disk : bool
        Whether to have the on-disk tier (L3).
    disk_bytes : int
        L3 bound in bytes.
    redis : str, redis client or RedisTier, optional
        Shared tier (behind a circuit breaker).
    write : {"through", "back"}
    ttl : float, optional
        Default time to live in seconds.
    pickle : bool
        Store values the safe encodings cannot hold as signed pickle.
    pickle_key : bytes, optional
        Key for those signatures (default: ``KIT_CACHE_PICKLE_KEY`` or a key
        file in the user config dir).
    codec, level, objective
        Compression of L2/L3/Redis entries (``kit.compress``).
    timer : callable
        Clock of the memory tiers' expiry (``time.monotonic``).
    max_value_bytes : int, optional
        Largest value (encoded) stored below L1 and decoded from there
        (default :data:`kit.cache.values.DEFAULT_MAX_SIZE`, 1 GiB): frames read
        from disk or Redis are not authenticated, so a frame declaring more
        is refused before anything is allocated; storing a larger value raises
        :class:`~kit.cache.values.ValueTooLarge`.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, memory: str | MemoryTier = "lru",
                 max_entries: int | None = 4096, max_bytes: int | None = 256 << 20,
                 compressed_bytes: int | None = 64 << 20, disk: bool = True, disk_bytes: int = 1 << 30,
                 redis: Any = None, write: str = "through", ttl: float | None = None, pickle: bool = False,
                 pickle_key: bytes | str | None = None, codec: str = "auto", level: str = "balanced",
                 objective: Any = "balanced", timer: Callable[[], float] = time.monotonic,
                 max_value_bytes: int | None = None) -> None:
        if write not in WRITE_POLICIES:
            raise ValueError(f"write must be one of {', '.join(WRITE_POLICIES)}, got {write!r}")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl)
                                or ttl <= 0):
            raise ValueError(f"ttl must be None or a finite positive number of seconds, got {ttl!r}")
        self.write = write
        self.ttl = ttl
        self.serializer = Serializer(pickle=pickle, pickle_key=pickle_key, codec=codec, level=level,
                                     objective=objective, max_size=max_value_bytes)
        self._lock = threading.RLock()
        self._dirty: dict[Any, float | None] = {}  # write-back: key -> absolute expiry on `timer`
        # Promotions into L2 deferred to L1's eviction: key -> (frame, absolute expiry on `timer`,
        # the value L1 got). Dropped whenever the key is written, deleted or cleared, so an older
        # frame never reaches L2 after a newer value; the value is compared by identity at eviction.
        self._l2_due: dict[Any, tuple[bytes, float | None, Any]] = {}
        self.timer = timer
        if isinstance(memory, MemoryTier):
            self.l1 = memory
        else:
            self.l1 = memory_tier(memory, maxsize=max_entries, maxbytes=max_bytes, timer=timer)
        self.l1.on_evict = self._l1_evicted
        self.lower: list[BlobTier] = []
        self.l2: CompressedTier | None = None
        if compressed_bytes:
            self.l2 = CompressedTier(compressed_bytes, serializer=self.serializer, timer=timer)
            self.lower.append(self.l2)
        self.l3 = None
        self._l3_error: str | None = None
        if disk:
            from kit.cache.disk import CacheBusyError, DiskTier

            self.path = Path(path).expanduser() if path is not None else default_path()
            try:
                self.l3 = DiskTier(self.path, disk_bytes, serializer=self.serializer)
                self.lower.append(self.l3)
            except (CacheBusyError, ValueError):
                raise
            except Exception as exc:  # the file system refuses the store: serve from the other tiers
                self._l3_error = f"{type(exc).__name__}: {exc}"
                warnings.warn(KitWarning(f"kit cache l3: on-disk tier unavailable at {str(self.path)!r} "
                                         f"({self._l3_error}); serving from memory"), stacklevel=2)
        else:
            self.path = Path(path).expanduser() if path is not None else None
        self.redis = None
        if redis is not None:
            from kit.cache.redis_tier import RedisTier

            self.redis = redis if isinstance(redis, RedisTier) else RedisTier(redis, serializer=self.serializer)
            self.redis.serializer = self.serializer
            self.lower.append(self.redis)
        self._lower_hits = 0
        self._misses = 0
        self._lat_get = Latency()
        self._lat_set = Latency()
        self._ops = 0
        self._closed = False
        self._warned: set[str] = set()
        ref = weakref.ref(self)
        atexit.register(Cache._at_exit, ref)
        # L1 answers its hits itself (an LRU one mostly without the lock); misses go below.
        get = self.l1.getter(self._lock, self._get_lower)
        get.__doc__ = Cache.get.__doc__
        self.get = get  # type: ignore[method-assign]

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for ``key`` from the first tier that has it, or ``default``.

        A hit below L1 is promoted to the tiers above, with its remaining TTL.

        Examples
        --------
        >>> c = Cache(disk=False)
        >>> c.get("nope", 0)
        0
        """
        with self._lock:
            value = self.l1.get(key, MISSING)
        if value is not MISSING:
            return value
        return self._get_lower(key, default)

    def _get_lower(self, key: Any, default: Any) -> Any:
        self._ops += 1
        if self._ops & 31:
            return self._search_lower(key, default)
        t0 = time.perf_counter()
        try:
            return self._search_lower(key, default)
        finally:
            self._lat_get.add(time.perf_counter() - t0)

    def _search_lower(self, key: Any, default: Any) -> Any:
        for i, tier in enumerate(self.lower):
            try:
                found = tier.lookup_blob(key)
            except Exception as exc:  # a tier failing is a miss there, never an error here
                self._tier_failed(tier, "read", exc)
                continue
            if found is None:
                continue
            value = self._hit_below(tier, i, key, *found)
            if value is not MISSING:
                return value
        self._misses += 1
        return default

    def _hit_below(self, tier: BlobTier, i: int, key: Any, blob: bytes, remaining: float | None) -> Any:
        """Decode a frame tier ``i`` returned and promote it; a damaged one is a miss (``MISSING``) and a warning."""
        try:
            value = self.serializer.loads(blob, tier.checks_rows)
        except Exception as exc:
            tier.report_damaged(key, exc)
            return MISSING
        self._promote(key, value, blob, remaining, i)
        self._lower_hits += 1
        return value

    def _promote(self, key: Any, value: Any, blob: bytes, remaining: float | None, below: int) -> None:
        first = 0  # index in self.lower of the first tier stored now (1: L2's store deferred)
        with self._lock:
            stored = self._store_l1(key, value, remaining)
            if stored and below and self.lower[0] is self.l2 and len(blob) <= LAZY_L2_BYTES:
                due = self._l2_due
                due[key] = (blob, None if remaining is None else self.timer() + remaining, value)
                if len(due) > 64 and len(due) > 2 * len(self.l1):
                    self._prune_l2_due()
                first = 1
        if first < below:
            for tier in self.lower[first:below]:
                self._store_blob(tier, key, blob, remaining)

    def _prune_l2_due(self) -> None:
        """Forget deferred promotions whose value L1 no longer holds (it expired, or L1 was cleared directly)."""
        peek = self.l1.peek
        for k in [k for k, (_, _, v) in self._l2_due.items() if peek(k, MISSING) is not v]:
            del self._l2_due[k]

    def lookup(self, key: Any) -> tuple[Any, float | None] | None:
        """``(value, remaining ttl)`` or ``None``; like :meth:`get`, with the TTL."""
        with self._lock:
            found = self.l1.lookup(key)
        if found is not None:
            return found
        value = self._get_lower(key, MISSING)
        if value is MISSING:
            return None
        with self._lock:
            return self.l1.lookup(key) or (value, None)

    def get_many(self, keys: Any, with_tier: bool = False) -> dict[Any, Any]:
        """``{key: value}`` for those of ``keys`` that some tier holds (absent keys are left out).

        Like :meth:`get` for each key, but each tier below L1 is asked once
        for all the keys it may have (the on-disk tier in one query per 500
        keys, instead of one per key); hits below L1 are promoted as by
        :meth:`get`.

        Parameters
        ----------
        keys : iterable
        with_tier : bool
            Give ``(value, tier name)`` pairs: which tier answered each key
            (``"l1"``, ``"l2"``, ``"l3"``, ``"redis"``).

        Examples
        --------
        >>> c = Cache(disk=False); c.set_many({"a": 1, "b": 2})
        >>> c.get_many(["a", "b", "c"])
        {'a': 1, 'b': 2}
        >>> c.get_many(["a"], with_tier=True)
        {'a': (1, 'l1')}
        """
        out: dict[Any, Any] = {}
        rest: list[Any] = []
        l1 = self.l1.name
        with self._lock:
            for key in keys:
                if key in out:
                    continue
                value = self.l1.get(key, MISSING)
                if value is MISSING:
                    rest.append(key)
                else:
                    out[key] = (value, l1) if with_tier else value
        rest = list(dict.fromkeys(rest))
        for i, tier in enumerate(self.lower):
            if not rest:
                break
            found = self._lookup_many(tier, rest)
            for key, (blob, remaining) in found.items():
                value = self._hit_below(tier, i, key, blob, remaining)
                if value is not MISSING:
                    out[key] = (value, tier.name) if with_tier else value
            rest = [k for k in rest if k not in out]
        self._misses += len(rest)
        return out

    def _lookup_many(self, tier: BlobTier, keys: list[Any]) -> dict[Any, tuple[bytes, float | None]]:
        """One tier's ``{key: (frame, remaining)}``: its own batch lookup if it has one, else key by key."""
        many = getattr(tier, "lookup_many", None)
        try:
            if many is not None:
                return many(keys)
            found = {}
            for key in keys:
                hit = tier.lookup_blob(key)
                if hit is not None:
                    found[key] = hit
            return found
        except Exception as exc:  # a tier failing is a miss there, never an error here
            self._tier_failed(tier, "read", exc)
            return {}

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, MISSING)
        if value is MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            if key in self.l1:
                return True
        for tier in self.lower:
            try:
                if key in tier:
                    return True
            except Exception as exc:
                self._tier_failed(tier, "read", exc)
        return False

    # -- writes --------------------------------------------------------------------------------

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` in every tier (write-through) or in L1 (write-back).

        Parameters
        ----------
        ttl : float, optional
            Seconds to live (default: the cache's ``ttl``).

        Raises
        ------
        UnsupportedValue
            The value cannot be stored without pickle (and the cache has
            persistent tiers and ``pickle=False``); nothing is stored.

        Examples
        --------
        >>> c = Cache(disk=False)
        >>> c.set("k", [1, 2], ttl=60)
        >>> c["k"]
        [1, 2]
        """
        ttl = self.ttl if ttl is None else check_ttl(ttl)
        self._ops += 1
        sample = not self._ops & 31
        t0 = time.perf_counter() if sample else 0.0
        if self.write == "back":
            with self._lock:
                stored = self._store_l1(key, value, ttl)
                if stored:
                    self._dirty[key] = None if ttl is None else self.timer() + ttl
            if not stored:  # too large for L1: write it through rather than lose it
                self._write_lower(key, self._encode(key, value), ttl)
        else:
            blob = self._encode(key, value) if self.lower else None
            with self._lock:
                self._store_l1(key, value, ttl)
            if blob is not None:
                self._write_lower(key, blob, ttl)
        if sample:
            self._lat_set.add(time.perf_counter() - t0)

    def set_many(self, mapping: Any, ttl: float | None = None) -> None:
        """Store many values, as :meth:`set` does each, with one transaction for the on-disk tier.

        Every value is encoded first: if one cannot be stored
        (:class:`UnsupportedValue`), nothing is. Write-through then stores
        the frames in each lower tier, the on-disk tier in one SQLite
        transaction (a loop of :meth:`set` commits once per key);
        write-back keeps them in L1.

        Parameters
        ----------
        mapping : mapping or iterable of (key, value) pairs
        ttl : float, optional
            Seconds to live for all of them (default: the cache's ``ttl``).

        Examples
        --------
        >>> import tempfile
        >>> c = Cache(tempfile.mkdtemp())
        >>> c.set_many({f"k{i}": i for i in range(3)})
        >>> c.get_many(["k0", "k2"])
        {'k0': 0, 'k2': 2}
        >>> c.close()
        """
        items = list(mapping.items()) if hasattr(mapping, "items") else list(mapping)
        if ttl is not None:
            check_ttl(ttl)
        if self.write == "back" or not self.lower:
            for key, value in items:
                self.set(key, value, ttl)
            return
        ttl = self.ttl if ttl is None else ttl
        blobs = [self._encode(key, value) for key, value in items]
        with self._lock:
            for key, value in items:
                self._store_l1(key, value, ttl)
        pairs = [(key, blob) for (key, _), blob in zip(items, blobs)]
        for tier in self.lower:
            many = getattr(tier, "store_many", None)
            if many is None:
                for key, blob in pairs:
                    self._store_blob(tier, key, blob, ttl)
                continue
            try:
                stored = many(pairs, ttl)
            except Exception as exc:
                self._tier_failed(tier, "write", exc)
                stored = [False] * len(pairs)
            for (key, _), ok in zip(pairs, stored):
                if not ok:  # declined or failed: an older value there must not come back later
                    self._discard(tier, key)

    def set_memory(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store in L1 only (values the persistent tiers cannot hold, e.g. without pickle)."""
        ttl = self.ttl if ttl is None else check_ttl(ttl)
        with self._lock:
            self._store_l1(key, value, ttl)
        for tier in self.lower:  # an older value must not outlive this one below
            self._discard(tier, key)

    def _encode(self, key: Any, value: Any) -> bytes:
        return self.serializer.dumps(value)

    def _store_l1(self, key: Any, value: Any, ttl: float | None) -> bool:
        # Called with self._lock held. A newer value: a deferred L2 promotion of the older one is void.
        if self._l2_due:
            self._l2_due.pop(key, None)
        try:
            self.l1.set(key, value, ttl)
            return True
        except ValueError:  # larger than L1 can hold: drop any older value there
            if self.l1.peek(key, MISSING) is not MISSING:
                del self.l1[key]
            return False

    def _write_lower(self, key: Any, blob: bytes, ttl: float | None) -> None:
        for tier in self.lower:
            self._store_blob(tier, key, blob, ttl)

    def _store_blob(self, tier: BlobTier, key: Any, blob: bytes, ttl: float | None) -> None:
        try:
            stored = tier.store_blob(key, blob, ttl)
        except Exception as exc:
            self._tier_failed(tier, "write", exc)
            stored = False
        if not stored:
            # Declined (too large, unavailable): an older value there must not come back later.
            self._discard(tier, key)

    def _discard(self, tier: BlobTier, key: Any) -> None:
        try:
            tier.discard(key)
        except Exception as exc:
            self._tier_failed(tier, "delete", exc)

    def _tier_failed(self, tier: Any, what: str, exc: BaseException) -> None:
        tier.errors += 1
        tag = f"{tier.name}:{type(exc).__name__}"
        if tag not in self._warned:
            self._warned.add(tag)
            warnings.warn(KitWarning(f"kit cache {tier.name}: {what} failed ({type(exc).__name__}: {exc}); "
                                     "serving from the other tiers"), stacklevel=4)

    def _l1_evicted(self, key: Any, value: Any) -> None:
        # Called with self._lock held (L1 evicts inside set).
        due = self._l2_due.pop(key, None) if self._l2_due else None
        if due is not None and due[2] is value and self.l2 is not None:
            # The deferred promotion, under the lock: no write of this key can come in between.
            blob, exp, _ = due
            ttl = None if exp is None else exp - self.timer()
            if ttl is None or ttl > 0:
                self._store_blob(self.l2, key, blob, ttl)
        if key in self._dirty:
            exp = self._dirty.pop(key)
            ttl = None if exp is None else exp - self.timer()
            if ttl is not None and ttl <= 0:
                return
            try:
                blob = self._encode(key, value)
            except UnsupportedValue as exc:
                self._tier_failed(self.l1, "write-back", exc)
                return
            self._write_lower(key, blob, ttl)

    def flush(self) -> int:
        """Write-back: write every dirty L1 entry to the lower tiers; returns how many."""
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            items = []
            for key, exp in dirty.items():
                found = self.l1.peek(key, MISSING)
                if found is not MISSING:
                    items.append((key, found, exp))
        now = self.timer()
        n = 0
        for key, value, exp in items:
            ttl = None if exp is None else exp - now
            if ttl is not None and ttl <= 0:
                continue
            try:
                blob = self._encode(key, value)
            except UnsupportedValue as exc:
                self._tier_failed(self.l1, "write-back", exc)
                continue
            self._write_lower(key, blob, ttl)
            n += 1
        return n

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set(key, value)

    def delete(self, key: Any) -> bool:
        """Remove ``key`` from every tier; ``True`` if some tier had it.

        Examples
        --------
        >>> c = Cache(disk=False); c["k"] = 1
        >>> c.delete("k"), c.delete("k")
        (True, False)
        """
        found = False
        with self._lock:
            self._dirty.pop(key, None)
            self._l2_due.pop(key, None)
            if self.l1.peek(key, MISSING) is not MISSING:
                del self.l1[key]
                found = True
        for tier in self.lower:
            try:
                found = tier.discard(key) or found
            except Exception as exc:
                self._tier_failed(tier, "delete", exc)
        return found

    def __delitem__(self, key: Any) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def clear(self, prefix: str | None = None) -> None:
        """Remove everything, or every ``str`` key that starts with ``prefix``, from every tier.

        Examples
        --------
        >>> c = Cache(disk=False); c["a:1"] = 1; c["b:1"] = 2
        >>> c.clear(prefix="a:"); list(c)
        ['b:1']
        """
        with self._lock:
            if prefix is None:
                self._dirty.clear()
                self._l2_due.clear()
                self.l1.clear()
            else:
                for k in [k for k in self._dirty if isinstance(k, str) and k.startswith(prefix)]:
                    del self._dirty[k]
                for k in [k for k in self._l2_due if isinstance(k, str) and k.startswith(prefix)]:
                    del self._l2_due[k]
                for k in [k for k in self.l1 if isinstance(k, str) and k.startswith(prefix)]:
                    del self.l1[k]
        for tier in self.lower:
            try:
                if prefix is None:
                    tier.clear()
                else:
                    tier.discard_prefix(prefix)
            except Exception as exc:
                self._tier_failed(tier, "clear", exc)

    # -- iteration -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            keys = dict.fromkeys(self.l1)
        for tier in self.lower:
            try:
                keys.update(dict.fromkeys(tier))
            except Exception as exc:
                self._tier_failed(tier, "iterate", exc)
        return iter(list(keys))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # -- statistics, lifecycle ----------------------------------------------------------------

    @property
    def tiers(self) -> list[Any]:
        """The tiers, top first."""
        return [self.l1, *self.lower]

    def stats(self) -> dict[str, Any]:
        """Hits, misses and hit rate overall; per tier: counters, sizes, latency percentiles.

        ``degraded`` lists tiers that are failing or unavailable (e.g. Redis
        with its circuit open).

        Examples
        --------
        >>> c = Cache(disk=False); c["k"] = 1; _ = c.get("k"); _ = c.get("x")
        >>> s = c.stats(); (s["hits"], s["misses"], sorted(s["tiers"]))
        (1, 1, ['l1', 'l2'])
        """
        with self._lock:
            tiers = {self.l1.name: self.l1.stats()}
        for tier in self.lower:
            try:
                tiers[tier.name] = tier.stats()
            except Exception as exc:
                tiers[tier.name] = {"tier": tier.name, "error": f"{type(exc).__name__}: {exc}"}
        hits = self.l1.hits + self._lower_hits
        total = hits + self._misses
        degraded = [] if self._l3_error is None else [f"l3: unavailable ({self._l3_error})"]
        for name, s in tiers.items():
            if s.get("available") is False:
                degraded.append(f"{name}: unavailable (circuit {s['breaker']['state']}; {s['breaker']['last_error']})")
            elif "error" in s:
                degraded.append(f"{name}: {s['error']}")
        return {"hits": hits, "misses": self._misses, "hit_rate": round(hits / total, 4) if total else None,
                "write": self.write, "dirty": len(self._dirty), "degraded": degraded,
                "latency_get_below_l1": self._lat_get.summary(), "latency_set": self._lat_set.summary(),
                "tiers": tiers}

    def close(self) -> None:
        """Flush write-back entries, then close the on-disk and Redis tiers."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self.l3 is not None:
                self.l3.close()
            if self.redis is not None:
                self.redis.close()

    @staticmethod
    def _at_exit(ref: "weakref.ref[Cache]") -> None:
        cache = ref()
        if cache is not None:
            try:
                cache.close()
            except Exception:
                pass

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        names = "+".join(t.name for t in self.tiers)
        return f"Cache({names}, path={str(self.path) if self.path else None!r}, write={self.write!r})"
