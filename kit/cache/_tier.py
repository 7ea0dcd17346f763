"""What every cache tier shares: the mapping protocol, counters, sampled latencies, sizes.

A tier is a small :class:`~collections.abc.MutableMapping` (as in cachetools)
with:

* ``get(key, default)``, ``set(key, value, ttl=None)``, ``lookup(key)`` ->
  ``(value, remaining_ttl)`` or ``None`` (the composed cache promotes with the
  remaining TTL, a duration, so tiers with different clocks agree);
* one eviction hook, ``popitem()``, which removes the entry the policy picks;
* counters (hits, misses, sets, deletes, evictions, expirations, errors) and
  latency percentiles from a sample of operations, in :meth:`Tier.stats`.

Examples
--------
>>> from kit.cache import LRUTier
>>> t = LRUTier(maxsize=2)
>>> t["a"] = 1; t["b"] = 2; t["c"] = 3
>>> sorted(t), t.stats()["evictions"]
(['b', 'c'], 1)
"""

from __future__ import annotations

import sys
import time
from array import array
from collections.abc import MutableMapping
from typing import Any, Callable

MISSING: Any = object()


def check_ttl(ttl: Any) -> Any:
    """A ``ttl`` given to a write: ``None`` or a finite number of seconds (zero or less: expired at once).

    NaN would compare false with everything and live forever in one tier and
    not at all in another; infinity cannot be a Redis expiry.

    Examples
    --------
    >>> check_ttl(1.5), check_ttl(None)
    (1.5, None)
    """
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl != ttl or ttl in (float("inf"), float("-inf")):
        raise ValueError(f"ttl must be None or a finite number of seconds, got {ttl!r}")
    return ttl

#: One operation in this many is timed for the latency percentiles.
SAMPLE_EVERY = 32
_RESERVOIR = 512


class Latency:
    """Ring buffer of the most recent sampled latencies (seconds).

    Examples
    --------
    >>> lat = Latency()
    >>> for x in (1e-6, 2e-6, 3e-6):
    ...     lat.add(x)
    >>> lat.summary()["p50_us"]
    2.0
    """

    __slots__ = ("_buf", "_n")

    def __init__(self) -> None:
        self._buf = array("d", bytes(8 * _RESERVOIR))
        self._n = 0

    def add(self, seconds: float) -> None:
        self._buf[self._n % _RESERVOIR] = seconds
        self._n += 1

    def summary(self) -> dict[str, float | int | None]:
        n = min(self._n, _RESERVOIR)
        if n == 0:
            return {"samples": 0, "p50_us": None, "p90_us": None, "p99_us": None}
        s = sorted(self._buf[:n])

        def q(p: float) -> float:
            return round(s[min(n - 1, int(p * n))] * 1e6, 3)

        return {"samples": self._n, "p50_us": q(0.5), "p90_us": q(0.9), "p99_us": q(0.99)}


#: Containers deeper than this are counted by their own size only (no recursion limit is reached).
_SIZEOF_DEPTH = 64


def sizeof(value: Any, _budget: int = 2000, _depth: int = 0) -> int:
    """Approximate memory held by a value, in bytes (the default ``getsizeof``).

    Arrays and tables report their buffers (``nbytes``, polars'
    ``estimated_size``); containers add their items, visiting at most
    ``_budget`` of them and extrapolating beyond.

    Examples
    --------
    >>> sizeof(b"x" * 1000) >= 1000
    True
    >>> sizeof([b"x" * 1000] * 10) > 10_000
    True
    """
    t = type(value)
    if t is bytes or t is str or t is bytearray or t is int or t is float or value is None:
        return sys.getsizeof(value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int) and not isinstance(value, (list, tuple, dict, set, frozenset)):
        return nbytes + 112
    est = getattr(value, "estimated_size", None)
    if callable(est) and type(value).__module__.startswith("polars"):
        try:
            return int(est()) + 112
        except Exception:
            pass
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        total = sys.getsizeof(value)
        if _depth >= _SIZEOF_DEPTH:
            return total
        items = value.items() if isinstance(value, dict) else value
        n = len(value)
        if n == 0:
            return total
        seen = 0
        part = 0
        per = max(_budget // max(n, 1), 1)
        for item in items:
            if seen >= _budget:
                break
            if isinstance(value, dict):
                part += sizeof(item[0], per, _depth + 1) + sizeof(item[1], per, _depth + 1)
            else:
                part += sizeof(item, per, _depth + 1)
            seen += 1
        return total + (part * n // seen if seen else 0)
    return sys.getsizeof(value)


class Tier(MutableMapping):
    """Base of every tier: counters, sampled latencies and the mapping protocol.

    Subclasses implement ``lookup``, ``set``, ``__delitem__``, ``__iter__``,
    ``__len__`` and ``popitem`` (the eviction hook); ``get``/``__getitem__``
    and the counters come from here. Tiers are not thread-safe on their own
    (as cachetools' are not): :class:`kit.Cache` serialises access.
    """

    name = "tier"
    policy = "-"

    def __init__(self, *, timer: Callable[[], float] = time.monotonic) -> None:
        self.timer = timer
        self.hits = self.misses = self.sets = self.deletes = 0
        self.evictions = self.expirations = self.errors = 0
        self._lat_get = Latency()
        self._lat_set = Latency()
        self._tick = self._tick_set = SAMPLE_EVERY

    # -- to implement --------------------------------------------------------------------------

    def lookup(self, key: Any) -> tuple[Any, float | None] | None:
        """``(value, remaining ttl in seconds or None)``, or ``None`` on a miss (counted)."""
        raise NotImplementedError

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` seconds of life (``None``: the tier's default, if any)."""
        raise NotImplementedError

    def popitem(self) -> tuple[Any, Any]:
        """The eviction hook: remove and return the entry the policy evicts first."""
        raise NotImplementedError

    # -- derived -------------------------------------------------------------------------------

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for ``key``, or ``default`` (a miss, counted).

        Examples
        --------
        >>> from kit.cache import LRUTier
        >>> LRUTier().get("absent", 0)
        0
        """
        self._tick -= 1
        if self._tick:
            found = self.lookup(key)
        else:
            self._tick = SAMPLE_EVERY
            t0 = time.perf_counter()
            found = self.lookup(key)
            self._lat_get.add(time.perf_counter() - t0)
        return default if found is None else found[0]

    def __getitem__(self, key: Any) -> Any:
        found = self.get(key, MISSING)
        if found is MISSING:
            raise KeyError(key)
        return found

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set(key, value)

    def _timed_set(self, key: Any, value: Any, ttl: float | None, store: Callable) -> None:
        self._tick_set -= 1
        if self._tick_set:
            store(key, value, ttl)
        else:
            self._tick_set = SAMPLE_EVERY
            t0 = time.perf_counter()
            store(key, value, ttl)
            self._lat_set.add(time.perf_counter() - t0)

    def __contains__(self, key: Any) -> bool:
        hits, misses = self.hits, self.misses
        try:
            return self.lookup(key) is not None
        finally:
            self.hits, self.misses = hits, misses

    @property
    def currsize(self) -> int:
        """Bytes held, as the tier counts them."""
        return 0

    @property
    def maxbytes(self) -> int | None:
        return None

    @property
    def maxsize(self) -> int | None:
        return None

    def stats(self) -> dict[str, Any]:
        """Counters, sizes and latency percentiles (microseconds) of this tier.

        Examples
        --------
        >>> from kit.cache import LRUTier
        >>> t = LRUTier(); t["k"] = 1; _ = t.get("k"); _ = t.get("x")
        >>> s = t.stats(); (s["hits"], s["misses"], s["hit_rate"])
        (1, 1, 0.5)
        """
        lookups = self.hits + self.misses
        return {
            "tier": self.name, "policy": self.policy,
            "entries": self._entries_for_stats(), "bytes": self.currsize,
            "max_entries": self.maxsize, "max_bytes": self.maxbytes,
            "hits": self.hits, "misses": self.misses,
            "hit_rate": round(self.hits / lookups, 4) if lookups else None,
            "sets": self.sets, "deletes": self.deletes, "evictions": self.evictions,
            "expirations": self.expirations, "errors": self.errors,
            "latency_get": self._lat_get.summary(), "latency_set": self._lat_set.summary(),
        }

    def _entries_for_stats(self) -> int:
        return len(self)

    def reset_stats(self) -> None:
        """Zero the counters and latency samples."""
        self.hits = self.misses = self.sets = self.deletes = 0
        self.evictions = self.expirations = self.errors = 0
        self._lat_get, self._lat_set = Latency(), Latency()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self)}, bytes={self.currsize})"
