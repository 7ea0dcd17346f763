"""L1: in-memory tiers with LRU, LFU and TTL eviction, bounded by entries and by bytes.

Small mappings in the manner of cachetools: one eviction hook
(:meth:`MemoryTier.popitem`), a pluggable ``getsizeof`` (default
:func:`~kit.cache._tier.sizeof`), an injectable ``timer`` for expiry, and an
optional ``on_evict(key, value)`` callback (the composed cache uses it to
write dirty entries back and to demote victims to L2).

Every policy honours a per-entry ``ttl``; expired entries are misses and are
dropped first when room is needed. The policies differ in what they evict
when full:

``LRUTier``
    the least recently used entry;
``LFUTier``
    the least frequently used (ties: least recently used), in O(1);
``TTLTier``
    the entry that expires soonest (every entry has a TTL, ``ttl`` by default).

Values are stored as given, not copied (as ``functools.lru_cache`` does).

Examples
--------
>>> from kit.cache import LFUTier
>>> t = LFUTier(maxsize=2)
>>> t["a"] = 1; t["b"] = 2
>>> _ = t["a"]; _ = t["a"]
>>> t["c"] = 3          # "b" was used least
>>> sorted(t)
['a', 'c']
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import OrderedDict
from typing import Any, Callable, Iterator

from kit.cache._tier import MISSING, SAMPLE_EVERY, Tier, check_ttl, sizeof

_LAST = SAMPLE_EVERY - 1  # the hits LRUTier's lock-free getter answers untimed after a timed one

__all__ = ["LFUTier", "LRUTier", "MemoryTier", "TTLTier", "POLICIES", "memory_tier"]


def _positive(name: str, value: Any, kind: type = int) -> Any:
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value <= 0
            or value != value or value == float("inf")):  # NaN would pass `<= 0`; inf never expires
        raise ValueError(f"{name} must be None or a finite positive {kind.__name__}, got {value!r}")
    return value


class MemoryTier(Tier):
    """Base of the in-memory policies.

    Parameters
    ----------
    maxsize : int, optional
        Most entries held.
    maxbytes : int, optional
        Most bytes held, as ``getsizeof`` counts them.
    ttl : float, optional
        Default time to live in seconds (``None``: entries do not expire
        unless ``set(..., ttl=)`` says so).
    getsizeof : callable
        ``getsizeof(value) -> int``.
    timer : callable
        Clock for expiry (``time.monotonic``); tests inject a fake one.
    on_evict : callable, optional
        ``on_evict(key, value)`` after an entry is evicted (not after an
        explicit delete or an expiry).
    """

    name = "l1"

    def __init__(self, maxsize: int | None = None, maxbytes: int | None = None, *, ttl: float | None = None,
                 getsizeof: Callable[[Any], int] = sizeof, timer: Callable[[], float] = time.monotonic,
                 on_evict: Callable[[Any, Any], None] | None = None) -> None:
        super().__init__(timer=timer)
        self._maxsize = _positive("maxsize", maxsize)
        self._maxbytes = _positive("maxbytes", maxbytes)
        self.ttl = _positive("ttl", ttl, float)
        self.getsizeof = getsizeof
        self.on_evict = on_evict
        self._data: dict = self._new_store()
        self._sizes: dict[Any, int] = {}
        self._expires: dict[Any, float] = {}
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._bytes = 0

    # -- policy hooks --------------------------------------------------------------------------

    def _new_store(self) -> dict:
        return {}

    def _touch(self, key: Any) -> None:
        """``key`` was read or overwritten."""

    def _added(self, key: Any) -> None:
        """``key`` was inserted."""

    def _removed(self, key: Any) -> None:
        """``key`` was removed (delete, expiry or eviction)."""

    def _victim(self) -> Any:
        raise NotImplementedError

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def currsize(self) -> int:
        return self._bytes

    @property
    def maxbytes(self) -> int | None:
        return self._maxbytes

    @property
    def maxsize(self) -> int | None:
        return self._maxsize

    # The hits that the lock-free getters (LRUTier.getter) answer are counted
    # in their closures (a cell write costs a third of an attribute write on
    # that path); ``hits`` adds them up, so it is exact whenever no getter runs.
    _hit_counts: tuple = ()  # per getter: (read its count, reset it to 0)

    @property
    def hits(self) -> int:
        """Hits: those counted here plus those the :meth:`getter` closures counted."""
        h = self._hits
        for read, _ in self._hit_counts:
            h += read()
        return h

    @hits.setter
    def hits(self, value: int) -> None:
        for _, reset in self._hit_counts:
            reset()
        self._hits = value

    # -- mapping -------------------------------------------------------------------------------

    def lookup(self, key: Any) -> tuple[Any, float | None] | None:
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            return None
        remaining = None
        if self._expires:
            exp = self._expires.get(key)
            if exp is not None:
                remaining = exp - self.timer()
                if remaining <= 0:
                    self._remove(key)
                    self.expirations += 1
                    self.misses += 1
                    return None
        self._touch(key)
        self._hits += 1
        return value, remaining

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, evicting as the policy says to make room.

        Raises
        ------
        ValueError
            The value alone is larger than ``maxbytes``.

        Examples
        --------
        >>> t = LRUTier(maxbytes=100, getsizeof=len)
        >>> t.set("k", b"x" * 60); t.set("j", b"y" * 60)
        >>> list(t)
        ['j']
        """
        # Tier._timed_set, inlined: every promotion into L1 comes through here.
        self._tick_set -= 1
        if self._tick_set:
            self._store(key, value, ttl)
        else:
            self._tick_set = SAMPLE_EVERY
            t0 = time.perf_counter()
            self._store(key, value, ttl)
            self._lat_set.add(time.perf_counter() - t0)

    def _store(self, key: Any, value: Any, ttl: float | None) -> None:
        if ttl is None:
            ttl = self.ttl
        else:
            check_ttl(ttl)
        if ttl is not None and ttl <= 0:
            if key in self._data:
                self._remove(key)
            return
        size = self.getsizeof(value)
        if self._maxbytes is not None and size > self._maxbytes:
            raise ValueError(f"value of {size} bytes for key {key!r} is larger than this tier's "
                             f"maxbytes={self._maxbytes}")
        if self._heap and self._heap[0][0] <= self.timer():
            self.expire()
        data = self._data
        present = key in data
        # Make room first, so the entry being stored is never its own victim.
        while data and ((self._maxsize is not None and len(data) + (not present) > self._maxsize)
                        or (self._maxbytes is not None
                            and self._bytes - self._sizes.get(key, 0) + size > self._maxbytes)):
            victim, _ = self.popitem()
            if victim == key:
                present = False
        if present:
            self._bytes -= self._sizes[key]
            data[key] = value
            self._touch(key)
        else:
            data[key] = value
            self._added(key)
        self._sizes[key] = size
        self._bytes += size
        if ttl is not None:
            exp = self.timer() + ttl
            self._expires[key] = exp
            heapq.heappush(self._heap, (exp, next(self._seq), key))
        elif present:
            self._expires.pop(key, None)
        self.sets += 1

    def _remove(self, key: Any) -> Any:
        value = self._data.pop(key)
        self._bytes -= self._sizes.pop(key)
        self._expires.pop(key, None)
        self._removed(key)
        return value

    def __delitem__(self, key: Any) -> None:
        if key not in self._data:
            raise KeyError(key)
        self._remove(key)
        self.deletes += 1

    def peek(self, key: Any, default: Any = None) -> Any:
        """The value held for ``key``, or ``default``: not counted, recency untouched, expiry not checked.

        For a holder that needs the value as stored (a write-back flush, a
        presence check before a delete), not a read that should count.

        Examples
        --------
        >>> t = LRUTier(); t["a"] = 1
        >>> t.peek("a"), t.peek("b", 0), t.hits
        (1, 0, 0)
        """
        return self._data.get(key, default)

    def discard(self, key: Any) -> bool:
        """Remove ``key`` if present (no error, not counted as a delete); ``True`` if it was.

        Examples
        --------
        >>> t = LRUTier(); t["a"] = 1
        >>> t.discard("a"), t.discard("a"), t.deletes
        (True, False, 0)
        """
        if key in self._data:
            self._remove(key)
            return True
        return False

    def getter(self, lock: Any, below: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        """A ``get(key, default=None)`` for a cache with this tier on top and ``below`` under it.

        A hit is answered by this tier; a miss (counted here) is answered by
        ``below(key, default)``, outside ``lock``. ``lock`` is the caller's
        lock, the one it holds around every other use of this tier; this
        tier's reads take it too. :class:`LRUTier` answers most hits without
        it (see :meth:`LRUTier.getter`).

        Examples
        --------
        >>> import threading
        >>> t = LFUTier(); t["a"] = 1
        >>> get = t.getter(threading.Lock(), lambda key, default: default)
        >>> get("a"), get("b", 0)
        (1, 0)
        """
        tier_get = self.get
        missing = MISSING

        def get(key: Any, default: Any = None) -> Any:
            with lock:
                value = tier_get(key, missing)
            if value is not missing:
                return value
            return below(key, default)

        return get

    def popitem(self) -> tuple[Any, Any]:
        """Evict: expired entries first, then the policy's victim.

        Raises
        ------
        KeyError
            The tier is empty.
        """
        if not self._data:
            raise KeyError(f"{type(self).__name__} is empty")
        if self._heap and self._heap[0][0] <= self.timer():
            expired = self.expire()
            if expired:
                return expired[0]
        key = self._victim()
        value = self._remove(key)
        self.evictions += 1
        if self.on_evict is not None:
            self.on_evict(key, value)
        return key, value

    def expire(self, now: float | None = None) -> list[tuple[Any, Any]]:
        """Drop every entry whose time is up; returns them.

        Examples
        --------
        >>> clock = [0.0]
        >>> t = LRUTier(timer=lambda: clock[0])
        >>> t.set("k", 1, ttl=5)
        >>> clock[0] = 6.0
        >>> t.expire()
        [('k', 1)]
        """
        now = self.timer() if now is None else now
        out = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            exp, _, key = heapq.heappop(heap)
            if self._expires.get(key) == exp:
                out.append((key, self._remove(key)))
                self.expirations += 1
        if len(heap) > 2 * len(self._expires) + 64:  # drop stale heap records
            self._heap = [(e, s, k) for e, s, k in heap if self._expires.get(k) == e]
            heapq.heapify(self._heap)
        return out

    def __iter__(self) -> Iterator[Any]:
        if self._heap:
            self.expire()
        return iter(list(self._data))

    def __len__(self) -> int:
        if self._heap and self._heap[0][0] <= self.timer():
            self.expire()
        return len(self._data)

    def clear(self) -> None:
        """Remove everything (not counted as evictions). In place: the containers stay the same objects."""
        self._data.clear()
        self._sizes.clear()
        self._expires.clear()
        self._heap.clear()
        self._bytes = 0
        self._reset_policy()

    def _reset_policy(self) -> None:
        pass


class LRUTier(MemoryTier):
    """Evicts the least recently used entry.

    Examples
    --------
    >>> t = LRUTier(maxsize=2)
    >>> t["a"] = 1; t["b"] = 2; _ = t["a"]; t["c"] = 3
    >>> sorted(t)
    ['a', 'c']
    """

    policy = "lru"

    def _new_store(self) -> dict:
        store: OrderedDict = OrderedDict()
        self._move = store.move_to_end
        return store

    def _touch(self, key: Any) -> None:
        self._data.move_to_end(key)

    def _victim(self) -> Any:
        return next(iter(self._data))

    def getter(self, lock: Any, below: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        """A ``get(key, default=None)`` for a cache with this tier on top, hits mostly without ``lock``.

        An OrderedDict's ``move_to_end`` and item lookup are each atomic under
        the GIL; if another thread removes the key between them, the lookup
        raises KeyError and this is a miss, which is what it is. Counters may
        lose an increment under contention (statistics, not data); at rest
        ``hits`` is exact (the closure's count is added in). Every 32nd hit
        is the same read, timed (the latency sample). While the tier holds
        entries that expire, reads take the locked path of
        :meth:`MemoryTier.getter`. A subclass that changes how a read works
        (``get``, ``lookup`` or ``_touch``) gets the locked path only.

        Examples
        --------
        >>> import threading
        >>> t = LRUTier(); t["a"] = 1
        >>> get = t.getter(threading.Lock(), lambda key, default: default)
        >>> get("a"), get("b", 0), (t.hits, t.misses)
        (1, 0, (1, 1))
        """
        cls = type(self)
        if cls.get is not LRUTier.get or cls.lookup is not MemoryTier.lookup or cls._touch is not LRUTier._touch:
            return super().getter(lock, below)
        data, move, expires = self._data, self._move, self._expires
        slow_get = self.get
        missing = MISSING
        tier = self
        perf_counter, lat_add = time.perf_counter, self._lat_get.add
        # The hits answered without the lock, not yet in tier._hits, are rounds * SAMPLE_EVERY - n.
        # n counts down the hits left in a round and stays under SAMPLE_EVERY: a small int, which
        # CPython never allocates (a growing counter allocated a new int on every hit), and tested by
        # its truth (cheaper than comparing it with a constant). The hit that finds n == 0 is timed
        # (the latency sample) and starts the next round: the 1st, 33rd, 65th, ... hit.
        n = 0
        rounds = 0

        # The hot closure holds as few cells as it can (five): each one is copied into the frame
        # on every call. It counts a hit before making it, so that the value is returned straight
        # from the lookup; a miss gives the count back. A miss leaves through `other` too, which
        # tells it from the timed turn.
        def get(key: Any, default: Any = None) -> Any:
            nonlocal n
            if n and not expires:
                n -= 1
                try:
                    move(key)
                    return data[key]
                except KeyError:
                    n += 1
                    return other(key, default)
            return other(key, default)

        def other(key: Any, default: Any) -> Any:
            nonlocal n, rounds
            if not expires:
                if n:  # a miss on the lock-free path
                    tier.misses += 1
                    return below(key, default)
                t0 = perf_counter()  # the round's timed turn: the same read
                try:
                    move(key)
                    value = data[key]
                except KeyError:
                    tier.misses += 1
                    return below(key, default)
                n = _LAST
                rounds += 1
                lat_add(perf_counter() - t0)
                return value
            with lock:
                value = slow_get(key, missing)
            if value is not missing:
                return value
            return below(key, default)

        def read() -> int:
            return rounds * SAMPLE_EVERY - n

        def reset() -> None:
            nonlocal n, rounds
            n, rounds = 0, 0

        self._hit_counts = (*self._hit_counts, (read, reset))
        return get

    def get(self, key: Any, default: Any = None) -> Any:
        # The hot path of the whole cache. move_to_end doubles as the lookup
        # (it raises KeyError for an absent key); the hit counter doubles as
        # the sampling clock (every 32nd hit is timed, and misses while it
        # points at a sampling turn), so a hit costs two attribute writes.
        h = self._hits
        if h & 31 and not self._expires:
            try:
                self._move(key)
            except KeyError:
                self.misses += 1
                return default
            self._hits = h + 1
            return self._data[key]
        if h & 31:
            found = self.lookup(key)
        else:
            t0 = time.perf_counter()
            found = self.lookup(key)
            self._lat_get.add(time.perf_counter() - t0)
        return default if found is None else found[0]


class LFUTier(MemoryTier):
    """Evicts the least frequently used entry (ties: the least recently used), in O(1).

    Examples
    --------
    >>> t = LFUTier(maxsize=2)
    >>> t["a"] = 1; t["b"] = 2; _ = t["b"]; t["c"] = 3
    >>> sorted(t)
    ['b', 'c']
    """

    policy = "lfu"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._count: dict[Any, int] = {}
        self._buckets: dict[int, OrderedDict] = {}
        self._min = 0
        super().__init__(*args, **kwargs)

    def _reset_policy(self) -> None:
        self._count.clear()
        self._buckets.clear()
        self._min = 0

    def _added(self, key: Any) -> None:
        self._count[key] = 1
        self._buckets.setdefault(1, OrderedDict())[key] = None
        self._min = 1

    def _touch(self, key: Any) -> None:
        c = self._count[key]
        bucket = self._buckets[c]
        del bucket[key]
        if not bucket:
            del self._buckets[c]
            if self._min == c:
                self._min = c + 1
        self._count[key] = c + 1
        self._buckets.setdefault(c + 1, OrderedDict())[key] = None

    def _removed(self, key: Any) -> None:
        c = self._count.pop(key)
        bucket = self._buckets[c]
        del bucket[key]
        if not bucket:
            del self._buckets[c]
            if self._min == c:
                self._min = min(self._buckets) if self._buckets else 0

    def _victim(self) -> Any:
        return next(iter(self._buckets[self._min]))

    def frequency(self, key: Any) -> int:
        """How many times ``key`` was stored or read since it was inserted."""
        return self._count[key]


class TTLTier(LRUTier):
    """Every entry expires (``ttl`` by default); when full, evicts the entry that expires soonest.

    Parameters
    ----------
    ttl : float
        Default time to live in seconds (required).

    Examples
    --------
    >>> clock = [0.0]
    >>> t = TTLTier(ttl=10, timer=lambda: clock[0])
    >>> t["a"] = 1
    >>> clock[0] = 11
    >>> "a" in t
    False
    """

    policy = "ttl"

    def __init__(self, maxsize: int | None = None, maxbytes: int | None = None, *, ttl: float = 600.0,
                 **kwargs: Any) -> None:
        if ttl is None:
            raise ValueError("TTLTier needs a default ttl in seconds, got None")
        super().__init__(maxsize, maxbytes, ttl=ttl, **kwargs)

    def _victim(self) -> Any:
        heap = self._heap
        while heap:
            exp, _, key = heap[0]
            if self._expires.get(key) == exp:
                return key
            heapq.heappop(heap)
        return next(iter(self._data))


#: Policy name -> tier class (the menu ``kit.Cache(memory=...)`` accepts).
POLICIES: dict[str, type[MemoryTier]] = {"lru": LRUTier, "lfu": LFUTier, "ttl": TTLTier}


def memory_tier(policy: str = "lru", **kwargs: Any) -> MemoryTier:
    """Build an L1 tier by policy name.

    Examples
    --------
    >>> memory_tier("lfu", maxsize=10).policy
    'lfu'
    """
    try:
        cls = POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown memory policy {policy!r}; valid policies: {', '.join(POLICIES)}") from None
    return cls(**kwargs)
