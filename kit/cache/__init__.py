"""The multi-level cache: tiers, ``Cache``, ``memoize``.

==========  =============================================  ==========================
tier        what                                           class
==========  =============================================  ==========================
L1          objects in memory: LRU, LFU or TTL             :class:`LRUTier` ...
L2          compressed frames in memory                    :class:`CompressedTier`
L3          SQLite (WAL) on disk, several processes        :class:`DiskTier`
shared      Redis, behind a circuit breaker (optional)     :class:`RedisTier`
==========  =============================================  ==========================

Every tier is a small mutable mapping with one eviction hook, an injectable
clock and statistics; :class:`Cache` composes them and :func:`memoize` caches
functions on it. Submodules load on first use.

Examples
--------
>>> from kit.cache import Cache
>>> c = Cache(disk=False, max_entries=100)
>>> c["k"] = (1, 2)
>>> c["k"]
(1, 2)
"""

from __future__ import annotations

from kit._lazy import attach

_LAZY = {
    "Cache": "kit.cache.core:Cache",
    "default_path": "kit.cache.core:default_path",
    "memoize": "kit.cache.memo:memoize",
    "Memoized": "kit.cache.memo:Memoized",
    "default_cache": "kit.cache.memo:default_cache",
    "MemoryTier": "kit.cache.memory:MemoryTier",
    "LRUTier": "kit.cache.memory:LRUTier",
    "LFUTier": "kit.cache.memory:LFUTier",
    "TTLTier": "kit.cache.memory:TTLTier",
    "POLICIES": "kit.cache.memory:POLICIES",
    "CompressedTier": "kit.cache.compressed:CompressedTier",
    "DiskTier": "kit.cache.disk:DiskTier",
    "RedisTier": "kit.cache.redis_tier:RedisTier",
    "CircuitBreaker": "kit.cache.breaker:CircuitBreaker",
    "Serializer": "kit.cache.values:Serializer",
    "UnsupportedValue": "kit.cache.values:UnsupportedValue",
    "CorruptEntryWarning": "kit.cache._corrupt:CorruptEntryWarning",
    "CacheBusyError": "kit.cache.disk:CacheBusyError",
    "sizeof": "kit.cache._tier:sizeof",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__, _ = attach("kit.cache", _LAZY)
