"""L2: compressed frames in memory, bounded by compressed bytes, LRU.

Holds more than L1 in the same memory, at the price of a decode on each hit;
the composed cache promotes an L2 hit to L1 and demotes L1's victims here.
The codec is the engine's choice, ``kit.compress(codec="auto")``, unless the
serializer says otherwise. ``stats()`` adds ``raw_bytes`` (the encoded
values' size before compression) and ``reduction`` (1 - bytes / raw_bytes).

Examples
--------
>>> from kit.cache import CompressedTier
>>> t = CompressedTier(maxbytes=1 << 20)
>>> t["doc"] = {"text": "word " * 2000}
>>> t["doc"]["text"][:5], t.currsize < 2000
('word ', True)
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from kit.cache._blob import BlobTier
from kit.cache.memory import LRUTier
from kit.cache.values import Serializer
from kit.compression import HEADER_SIZE

__all__ = ["CompressedTier"]


class _FrameLRU(LRUTier):
    """The frames' LRU; tells its owner whenever an entry leaves (delete, expiry, eviction)."""

    def __init__(self, owner: "CompressedTier", *args: Any, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(*args, **kwargs)

    def _removed(self, key: Any) -> None:
        self._owner._forget(key)


class CompressedTier(BlobTier):
    """L2 tier: frames in an LRU bounded by their compressed size.

    Parameters
    ----------
    maxbytes : int
        Most compressed bytes held.
    maxsize : int, optional
        Most entries held.
    serializer : Serializer, optional
        Encoding and codec (default ``Serializer()``: no pickle, codec auto).
    timer : callable
        Clock for expiry.
    on_evict : callable, optional
        ``on_evict(key, frame)`` after an eviction.
    """

    name = "l2"
    policy = "lru"

    def __init__(self, maxbytes: int = 64 << 20, maxsize: int | None = None, *,
                 serializer: Serializer | None = None, timer: Callable[[], float] = time.monotonic,
                 on_evict: Callable[[Any, bytes], None] | None = None) -> None:
        super().__init__(serializer=serializer, timer=timer)
        self._raw: dict[Any, int] = {}
        self._raw_total = 0
        self._frames = _FrameLRU(self, maxsize, maxbytes, getsizeof=len, timer=timer, on_evict=self._evicted)
        self.on_evict = on_evict

    def _evicted(self, key: Any, blob: bytes) -> None:
        self.evictions += 1
        if self.on_evict is not None:
            self.on_evict(key, blob)

    def _forget(self, key: Any) -> None:
        self._raw_total -= self._raw.pop(key, 0)

    @property
    def currsize(self) -> int:
        return self._frames.currsize

    @property
    def maxbytes(self) -> int | None:
        return self._frames.maxbytes

    @property
    def maxsize(self) -> int | None:
        return self._frames.maxsize

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        frames = self._frames
        expirations = frames.expirations
        found = frames.lookup(key)
        if frames.expirations != expirations:
            self.expirations += frames.expirations - expirations
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        return found

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        if self._frames.maxbytes is not None and len(blob) > self._frames.maxbytes:
            return False
        self._forget(key)
        self._frames.set(key, blob, ttl)
        if key in self._frames._data:
            raw = int.from_bytes(blob[10:18], "little") + HEADER_SIZE if len(blob) >= HEADER_SIZE else len(blob)
            self._raw[key] = raw
            self._raw_total += raw
        self.sets += 1
        return True

    def discard(self, key: Any) -> bool:
        if key in self._frames._data:
            self._frames._remove(key)
            return True
        return False

    def __delitem__(self, key: Any) -> None:
        if not self.discard(key):
            raise KeyError(key)
        self.deletes += 1

    def popitem(self) -> tuple[Any, Any]:
        key, blob = self._frames.popitem()
        return key, self.serializer.loads(blob)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def clear(self) -> None:
        self._frames.clear()
        self._raw.clear()
        self._raw_total = 0

    def stats(self) -> dict[str, Any]:
        s = super().stats()
        s["raw_bytes"] = self._raw_total
        s["reduction"] = round(1 - self.currsize / self._raw_total, 4) if self._raw_total else None
        s["corrupted"] = self.corrupted
        return s
