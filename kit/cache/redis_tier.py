"""Optional shared tier on Redis, behind a circuit breaker; versioned entries, so an outage leaves nothing stale.

Every call goes through a :class:`~kit.cache.breaker.CircuitBreaker`: after
``failures`` consecutive errors (connection refused, timeout) the tier stops
calling Redis and answers misses at once, so the composed cache keeps
serving from its other tiers; after ``reset_timeout`` seconds one trial call
goes through and a success closes the circuit. ``stats()`` says which state
it is in (and the composed cache lists it under ``degraded``).

An outage must not leave an older value behind for anyone to read:

* **Versions.** Each entry is a Redis hash ``prefix + key`` -> ``{v: version,
  d: check + frame}``; the version is the writer's wall clock in nanoseconds
  (made strictly increasing per process) and a random writer id, and a write
  is a small Lua script that applies only if its version is newer than the
  one stored. A write that timed out and reaches the server later (a paused
  or partitioned server processes its input when it resumes) cannot replace
  a newer value.
* **Tombstones.** A delete writes ``{v: version, t: 1}`` (kept for
  ``tombstone_ttl`` seconds, a day by default), so a late write of an older
  value cannot bring a deleted key back.
* **Missed writes.** A set or delete that did not reach Redis (the circuit was
  open, or the call failed: it may or may not have landed) is remembered; the
  first call that reaches Redis again first writes a tombstone for each of
  those keys, and until that succeeds no read is answered from Redis. Past
  ``max_pending`` such keys the tier forgets them and, instead, drops its
  whole namespace when Redis is back.

Values are checked as before: 1-byte algorithm id + 8-byte check (xxh3_64, or
BLAKE2b-64 without xxhash, of key and frame) + frame, with Redis' own TTL
(``PX``). Short socket timeouts (0.5 s by default) bound what a dead server
costs before the breaker opens.

``redis`` (redis-py) is imported on first use.

Examples
--------
>>> t = RedisTier("redis://127.0.0.1:6399/0")  # doctest: +SKIP
>>> t["k"] = [1, 2]; t["k"]  # doctest: +SKIP
[1, 2]
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any, Callable, Iterator

from kit.cache._blob import BlobTier, row_check_algorithm
from kit.cache._tier import check_ttl
from kit.cache.breaker import OPEN, CircuitBreaker
from kit.cache.values import Serializer, decode_key, encode_key
from kit.errors import BackendUnavailable, KitWarning

__all__ = ["RedisTier"]


_CHECK_IDS = {"xxh3_64": 1, "blake2b_64": 2}

# Applies a value only over an older version (or nothing, or an entry of an earlier format).
_SET = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'hash' then
  local cur = redis.call('HGET', KEYS[1], 'v')
  if cur and cur >= ARGV[1] then return 0 end
end
if kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""

# A tombstone over an older version; returns 1 if a value was there.
_DELETE = """
local kind = redis.call('TYPE', KEYS[1]).ok
local had = 0
if kind == 'hash' then
  local cur = redis.call('HGET', KEYS[1], 'v')
  if cur and cur >= ARGV[1] then return 0 end
  had = redis.call('HEXISTS', KEYS[1], 'd')
elseif kind ~= 'none' then
  had = 1
end
if kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return had
"""


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
    tombstone_ttl : float
        Seconds a deleted key's tombstone is kept (longer than any write can
        stay in flight).
    max_pending : int
        Most keys whose writes missed Redis remembered for replay; beyond,
        the namespace is dropped when Redis is back.
    """

    name = "redis"
    policy = "server"
    checks_rows = True

    def __init__(self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, prefix: str = "kit:",
                 serializer: Serializer | None = None, breaker: CircuitBreaker | None = None,
                 socket_timeout: float = 0.5, timer: Callable[[], float] = time.monotonic,
                 tombstone_ttl: float = 86400.0, max_pending: int = 10_000) -> None:
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
        self._alg = _CHECK_IDS[row_check_algorithm()]
        self.tombstone_ttl = float(tombstone_ttl)
        self.max_pending = int(max_pending)
        self._set_script = self.client.register_script(_SET)
        self._delete_script = self.client.register_script(_DELETE)
        self._writer = os.urandom(4).hex()
        self._last_ns = 0
        self._pending: dict[bytes, None] = {}  # keys whose last write or delete may have missed Redis
        self._pending_prefixes: dict[bytes, None] = {}  # prefix clears that missed it
        self._lost_track = False  # more missed keys than max_pending: drop the namespace when back
        self._sync_lock = threading.Lock()
        self._version_lock = threading.Lock()
        self.replayed = 0
        self.superseded = 0

    def _changed(self, old: str, new: str, reason: str) -> None:
        if new == OPEN:
            warnings.warn(KitWarning(f"kit cache redis: {self.url} unavailable ({reason}); circuit open, "
                                     f"serving from the other tiers for {self.breaker.reset_timeout:.0f} s"),
                          stacklevel=5)

    def _rkey(self, key: Any) -> bytes:
        return self.prefix + encode_key(key)

    def _version(self) -> bytes:
        """Fixed width, so Lua compares them as strings: 20 digits of nanoseconds, then the writer's id."""
        with self._version_lock:
            ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = ns
        return f"{ns:020d}{self._writer}".encode()

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

    # -- missed writes ---------------------------------------------------------------------------

    def _missed(self, rkey: bytes) -> None:
        if self._lost_track:
            return
        self._pending[rkey] = None
        if len(self._pending) > self.max_pending:
            self._lost_track = True
            self._pending.clear()
            self._pending_prefixes.clear()

    @property
    def pending(self) -> int:
        """Keys whose writes may have missed Redis, to be tombstoned when it answers again."""
        return len(self._pending)

    def _synced(self) -> bool:
        """Replay what missed Redis; ``True`` once nothing stale can be read from it."""
        if not (self._pending or self._pending_prefixes or self._lost_track):
            return True
        with self._sync_lock:
            if self._lost_track:
                if self._call(lambda: self._unlink_matching(self._escape(self.prefix) + b"*"), None) is None:
                    return False
                self._lost_track = False
                self._pending.clear()
                self._pending_prefixes.clear()
                return True
            for pattern in list(self._pending_prefixes):
                if self._call(lambda: self._unlink_matching(pattern), None) is None:
                    return False
                self._pending_prefixes.pop(pattern, None)
            keys = list(self._pending)
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]

                def tombstones() -> list:
                    pipe = self.client.pipeline(transaction=False)
                    for rkey in part:
                        self._delete_script(keys=[rkey], args=[self._version(), self._tombstone_px()], client=pipe)
                    return pipe.execute()

                if self._call(tombstones, None) is None:
                    return False
                for rkey in part:
                    self._pending.pop(rkey, None)
                self.replayed += len(part)
            return True

    def _tombstone_px(self) -> int:
        return max(1, int(self.tombstone_ttl * 1000))

    @property
    def available(self) -> bool:
        """False while the circuit is open."""
        return self.breaker.state != OPEN

    # -- blobs -------------------------------------------------------------------------------------

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        rkey = self._rkey(key)

        def get() -> Any:
            pipe = self.client.pipeline(transaction=False)
            pipe.hget(rkey, "d")
            pipe.pttl(rkey)
            return pipe.execute(raise_on_error=False)

        res = self._call(get) if self._synced() else None
        if not res or res[0] is None or isinstance(res[0], Exception):
            # Nothing, a tombstone, or an entry of an earlier format (not a hash): a miss.
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
            self.report_damaged(key, ValueError("check mismatch"))
            return None
        self.hits += 1
        return blob, (pttl / 1000.0 if isinstance(pttl, int) and pttl >= 0 else None)

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        rkey = self._rkey(key)
        if ttl is not None and ttl <= 0:
            self.discard(key)
            return False
        px = 0 if ttl is None else max(1, int(ttl * 1000))
        data = _check(self._alg, rkey, blob) + blob
        if not self._synced():
            self._missed(rkey)
            return False
        out = self._call(lambda: self._set_script(keys=[rkey], args=[self._version(), data, px]), None)
        if out is None:  # not sent, or sent and unanswered: it may land later, and must not count then
            self._missed(rkey)
            return False
        if out == 0:  # a newer version is there (another cache wrote after us): that one stands
            self.superseded += 1
        else:
            self.sets += 1
        return True

    def discard(self, key: Any) -> bool:
        rkey = self._rkey(key)
        if not self._synced():
            self._missed(rkey)
            return False
        out = self._call(lambda: self._delete_script(keys=[rkey], args=[self._version(), self._tombstone_px()]),
                         None)
        if out is None:
            self._missed(rkey)
            return False
        return bool(out)

    def _unlink_matching(self, pattern: bytes) -> int:
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

    def discard_prefix(self, prefix: str) -> int:
        """Remove every ``str`` key starting with ``prefix``; returns how many."""
        pattern = self._escape(self.prefix + encode_key(prefix)) + b"*"
        out = self._call(lambda: self._unlink_matching(pattern), None) if self._synced() else None
        if out is None:
            self._pending_prefixes[pattern] = None
            return 0
        return int(out)

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
        """Keys holding a value (tombstones left out)."""
        pattern = self._escape(self.prefix) + b"*"

        def live() -> list[bytes]:
            found = list(self.client.scan_iter(match=pattern, count=500))
            pipe = self.client.pipeline(transaction=False)
            for k in found:
                pipe.hexists(k, "d")
            return [k for k, has in zip(found, pipe.execute(raise_on_error=False)) if has is True]

        return self._call(live, []) if self._synced() else []

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
        pattern = self._escape(self.prefix) + b"*"
        if self._call(lambda: self._unlink_matching(pattern), None) is None:
            self._lost_track = True  # dropped when Redis is back
        else:
            self._pending.clear()
            self._pending_prefixes.clear()
            self._lost_track = False

    @property
    def currsize(self) -> int:
        keys = self._keys()
        if not keys:
            return 0

        def sizes() -> int:
            pipe = self.client.pipeline(transaction=False)
            for k in keys:
                pipe.hstrlen(k, "d")
            return sum(pipe.execute())

        return int(self._call(sizes, 0))

    def stats(self) -> dict[str, Any]:
        s = super().stats() if self.available else {
            **{k: getattr(self, k) for k in ("hits", "misses", "sets", "deletes", "evictions", "expirations",
                                             "errors")},
            "tier": self.name, "policy": self.policy, "entries": None, "bytes": None,
            "latency_get": self._lat_get.summary(), "latency_set": self._lat_set.summary()}
        s.update(url=self.url, available=self.available, breaker=self.breaker.stats(),
                 short_circuits=self.short_circuits, corrupted=self.corrupted, pending=self.pending,
                 replayed=self.replayed, superseded=self.superseded, lost_track=self._lost_track)
        return s

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
