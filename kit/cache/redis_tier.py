"""Optional shared tier on Redis, behind a circuit breaker.

Every call goes through a :class:`~kit.cache.breaker.CircuitBreaker`: after
``failures`` consecutive errors (connection refused, timeout) the tier stops
calling Redis and answers misses at once, so the composed cache keeps
serving from its other tiers; after ``reset_timeout`` seconds one trial call
goes through and a success closes the circuit. ``stats()`` says which state
it is in (and the composed cache lists it under ``degraded``).

Entries are ``prefix + key`` -> 1-byte algorithm id + 8-byte check (xxh3_64,
or BLAKE2b-64 without xxhash, of key and frame) + frame, with Redis' own TTL (``PX``). Short socket timeouts (0.5 s by default)
bound what a dead server costs before the breaker opens.

``redis`` (redis-py) is imported on first use.

Examples
--------
>>> t = RedisTier("redis://127.0.0.1:6399/0")  # doctest: +SKIP
>>> t["k"] = [1, 2]; t["k"]  # doctest: +SKIP
[1, 2]
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Iterator

from kit.cache._blob import BlobTier
from kit.cache._tier import check_ttl
from kit.cache.breaker import OPEN, CircuitBreaker
from kit.cache.values import Serializer, decode_key, encode_key
from kit.errors import BackendUnavailable, KitWarning

__all__ = ["RedisTier"]


_CHECK_IDS = {"xxh3_64": 1, "blake2b_64": 2}


def _check(alg: int, rkey: bytes, blob: bytes) -> bytes:
    """9 bytes: the algorithm id, then a 64-bit hash of (key, frame). Pinned, never the engine's choice."""
    if alg == 1:
        import xxhash

        return b"\x01" + xxhash.xxh3_64_digest(blob, seed=xxhash.xxh3_64_intdigest(rkey))
    if alg == 2:
        import hashlib

        d = hashlib.blake2b(len(rkey).to_bytes(8, "little") + rkey, digest_size=8)
        d.update(blob)
        return b"\x02" + d.digest()
    raise ValueError(f"unknown check algorithm id {alg}")


class RedisTier(BlobTier):
    """Shared tier on a Redis server.

    Parameters
    ----------
    url_or_client : str or redis.Redis
        ``redis://host:port/db`` URL, or a client.
    prefix : str
        Namespace of this cache's keys.
    serializer : Serializer, optional
    breaker : CircuitBreaker, optional
        Default: 3 failures, 30 s.
    socket_timeout : float
        Seconds per command before it counts as a failure.
    """

    name = "redis"
    policy = "server"
    checks_rows = True

    def __init__(self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, prefix: str = "kit:",
                 serializer: Serializer | None = None, breaker: CircuitBreaker | None = None,
                 socket_timeout: float = 0.5, timer: Callable[[], float] = time.monotonic) -> None:
        super().__init__(serializer=serializer, timer=timer)
        try:
            import redis
        except ImportError as exc:
            raise BackendUnavailable(f"the Redis tier needs redis-py (pip install redis): {exc}") from None
        self._redis = redis
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.ConnectionError,
                                                         redis.exceptions.TimeoutError, OSError)
        if isinstance(url_or_client, str):
            self.url = url_or_client
            self.client = redis.Redis.from_url(url_or_client, socket_timeout=socket_timeout,
                                               socket_connect_timeout=socket_timeout, retry_on_timeout=False)
        else:
            self.url = repr(url_or_client)
            self.client = url_or_client
        self.prefix = prefix.encode()
        self.breaker = breaker if breaker is not None else CircuitBreaker(on_change=self._changed)
        if breaker is not None and breaker.on_change is None:
            breaker.on_change = self._changed
        self.short_circuits = 0
        from kit.cache.disk import _default_check

        self._alg = _CHECK_IDS[_default_check()]

    def _changed(self, old: str, new: str, reason: str) -> None:
        if new == OPEN:
            warnings.warn(KitWarning(f"kit cache redis: {self.url} unavailable ({reason}); circuit open, "
                                     f"serving from the other tiers for {self.breaker.reset_timeout:.0f} s"),
                          stacklevel=5)

    def _rkey(self, key: Any) -> bytes:
        return self.prefix + encode_key(key)

    def _call(self, fn: Callable[[], Any], default: Any = None) -> Any:
        if not self.breaker.allow():
            self.short_circuits += 1
            return default
        try:
            out = fn()
        except self._errors as exc:
            self.errors += 1
            self.breaker.failure(exc)
            return default
        self.breaker.success()
        return out

    @property
    def available(self) -> bool:
        """False while the circuit is open."""
        return self.breaker.state != OPEN

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        rkey = self._rkey(key)

        def get() -> Any:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(rkey)
            pipe.pttl(rkey)
            return pipe.execute()

        res = self._call(get)
        if not res or res[0] is None:
            self.misses += 1
            return None
        raw, pttl = res
        check, blob = raw[:9], raw[9:]
        try:
            ok = len(raw) >= 9 and _check(raw[0], rkey, blob) == check
        except (ValueError, ImportError):
            ok = False
        if not ok:
            self.hits += 1
            self._damaged(key, ValueError("check mismatch"))
            return None
        self.hits += 1
        return blob, (pttl / 1000.0 if pttl is not None and pttl >= 0 else None)

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        rkey = self._rkey(key)
        if ttl is not None and ttl <= 0:
            self.discard(key)
            return False
        px = None if ttl is None else max(1, int(ttl * 1000))
        ok = self._call(lambda: self.client.set(rkey, _check(self._alg, rkey, blob) + blob, px=px), False)
        if ok:
            self.sets += 1
        return bool(ok)

    def discard(self, key: Any) -> bool:
        return bool(self._call(lambda: self.client.delete(self._rkey(key)), 0))

    def discard_prefix(self, prefix: str) -> int:
        """Remove every ``str`` key starting with ``prefix``; returns how many."""
        pattern = self._escape(self.prefix + encode_key(prefix)) + b"*"

        def run() -> int:
            n = 0
            batch = []
            for k in self.client.scan_iter(match=pattern, count=500):
                batch.append(k)
                if len(batch) >= 500:
                    n += self.client.unlink(*batch)
                    batch = []
            if batch:
                n += self.client.unlink(*batch)
            return n

        return int(self._call(run, 0))

    @staticmethod
    def _escape(b: bytes) -> bytes:
        out = bytearray()
        for c in b:
            if c in b"*?[]\\":
                out += b"\\"
            out.append(c)
        return bytes(out)

    def __delitem__(self, key: Any) -> None:
        if not self.discard(key):
            raise KeyError(key)
        self.deletes += 1

    def _keys(self) -> list[bytes]:
        pattern = self._escape(self.prefix) + b"*"
        return self._call(lambda: list(self.client.scan_iter(match=pattern, count=500)), [])

    def __iter__(self) -> Iterator[Any]:
        n = len(self.prefix)
        for k in self._keys():
            try:
                yield decode_key(k[n:])
            except Exception:
                continue

    def __len__(self) -> int:
        return len(self._keys())

    def popitem(self) -> tuple[Any, Any]:
        """Remove some entry (Redis orders eviction itself, by its ``maxmemory-policy``)."""
        for key in self:
            found = self.lookup(key)
            if found is not None and self.discard(key):
                self.evictions += 1
                return key, found[0]
        raise KeyError("RedisTier is empty (or unavailable)")

    def clear(self) -> None:
        keys = self._keys()
        if keys:
            self._call(lambda: self.client.unlink(*keys), 0)

    @property
    def currsize(self) -> int:
        keys = self._keys()
        if not keys:
            return 0

        def sizes() -> int:
            pipe = self.client.pipeline(transaction=False)
            for k in keys:
                pipe.strlen(k)
            return sum(pipe.execute())

        return int(self._call(sizes, 0))

    def stats(self) -> dict[str, Any]:
        s = super().stats() if self.available else {
            **{k: getattr(self, k) for k in ("hits", "misses", "sets", "deletes", "evictions", "expirations",
                                             "errors")},
            "tier": self.name, "policy": self.policy, "entries": None, "bytes": None,
            "latency_get": self._lat_get.summary(), "latency_set": self._lat_set.summary()}
        s.update(url=self.url, available=self.available, breaker=self.breaker.stats(),
                 short_circuits=self.short_circuits, corrupted=self.corrupted)
        return s

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
