"""The copywriting service: validated requests, answered from ``kit.Cache`` or generated, measured.

:class:`CopyService` is what the seeds' "production copywriting service"
was, kept honest and offline: each request is validated
(:class:`~kit.workloads.CopyRequest`), keyed by the fingerprint of its
canonical form, looked up in a multi-level :class:`kit.Cache` and generated
(:func:`~kit.workloads.generate_copy`) on a miss. Every request's latency,
hit or miss and the tier that answered are recorded; :meth:`CopyService.metrics`
summarises them (count, errors, p50/p95/p99, throughput, hit rate per tier),
:meth:`CopyService.prometheus` writes them in the Prometheus text exposition
format and :meth:`CopyService.health` says whether the service is well.

Examples
--------
>>> from kit.workloads.service import CopyService
>>> svc = CopyService(l1_size=100)
>>> first = svc.generate({"product": "Aurora", "language": "es"})
>>> again = svc.generate({"product": "Aurora", "language": "es"})
>>> first.hit, again.hit, again.tier, again.variants == first.variants
(False, True, 'l1', True)
>>> svc.metrics()["requests"]
2
>>> svc.close()
"""

from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from kit.workloads.copy import GENERATOR_VERSION, CopyRequest, CopyResult, InvalidRequest, generate_copy

__all__ = ["CopyService", "Response", "metrics_table", "batch_keys", "KEY_ALGORITHM"]

_MISSING = object()
_MISS = "miss"
#: Default bound of the recent-latency window the percentiles are computed over.
WINDOW = 100_000
#: ``health()``: error rate (internal failures) above which the service is degraded, failing.
ERROR_RATE_DEGRADED = 0.01
ERROR_RATE_FAILING = 0.25


@dataclass(frozen=True)
class Response:
    """One answered request.

    Attributes
    ----------
    result : CopyResult
        The copy (``variants``) and the validated request.
    latency : float
        Seconds from receiving the request to the answer.
    hit : bool
        Answered from the cache.
    tier : str or None
        The cache tier that answered (``"l1"``, ``"l2"``, ``"l3"``,
        ``"redis"``), ``None`` on a miss.
    key : str
        The cache key: ``"copy:g<generator version>:<algorithm>:"`` and the hex fingerprint of the request.
    """

    result: CopyResult
    latency: float
    hit: bool
    tier: str | None
    key: str

    @property
    def variants(self) -> list[str]:
        return self.result.variants

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "latency_s": self.latency, "cache": "hit" if self.hit else "miss",
                "tier": self.tier, "key": self.key}


#: The hash of the cache keys, named in every key (``copy:g<version>:<algorithm>:<hex>``, the version
#: being :data:`kit.workloads.copy.GENERATOR_VERSION`, so that no older generator's text is served): XXH3-64 and XXH64
#: of the request's canonical form, 128 bits in all. Keys are stored (the on-disk tier outlives
#: the process), so the algorithm is pinned rather than left to the engine's per-machine choice,
#: and it is one that :func:`kit.kernels.batch_fingerprint` computes bit for bit, so many keys are
#: made at once. Why two 64-bit hashes: a collision serves one request's copy for another, and
#: with one 64-bit hash the chance reaches ~n**2 / 2**65 over n distinct requests (3e-8 at a
#: million, 3e-4 at 100 million, in a cache that persists); with two unrelated 64-bit functions
#: it is ~n**2 / 2**129 (non-adversarial input: these are not cryptographic hashes).
KEY_ALGORITHM = "xxh3_64+xxh64"
#: Requests keyed per batch by :meth:`CopyService.replay`: batches of a Zipf trace this long repeat
#: most requests, and the batch hashes each distinct one once (measured: `--only keys` of the workload targets).
REPLAY_STEP = 10_000


def _one_key() -> Callable[[bytes], str]:
    """The 32 hex digits of one canonical form: the xxhash library, or the numpy kernel without it."""
    try:
        from xxhash import xxh3_64_digest, xxh64_digest
    except ImportError:
        return lambda data: batch_keys([data], "")[0]

    def one(data: bytes) -> str:
        # digest() is the big-endian canonical form: its hex is the integer's 16 hex digits.
        return (xxh3_64_digest(data) + xxh64_digest(data)).hex()

    return one


def batch_keys(canonical: Sequence[bytes], prefix: str = "") -> list[str]:
    """``prefix`` + the 32 hex digits of :data:`KEY_ALGORITHM` for each canonical form, in one batch.

    Each distinct form is hashed and formatted once: a batch of traffic
    repeats its popular requests, and a ``bytes`` object caches its own
    (Python) hash, so finding the repeats costs one dict insertion per form.

    Examples
    --------
    >>> import xxhash
    >>> k = batch_keys([b"abc", b"abc"], "copy:")
    >>> k[0] == k[1] == f"copy:{xxhash.xxh3_64_intdigest(b'abc'):016x}{xxhash.xxh64_intdigest(b'abc'):016x}"
    True
    """
    if not len(canonical):
        return []
    import numpy as np

    from kit.kernels import batch_fingerprint, pack_keys

    distinct = list(dict.fromkeys(canonical))
    packed = pack_keys(distinct)  # once, for both hashes
    n = len(distinct)
    # Big-endian words: bytes.hex() of the whole array gives every key's digits in order.
    words = np.empty((n, 2), dtype=">u8")
    words[:, 0] = batch_fingerprint(packed, algorithm="xxh3_64")
    words[:, 1] = batch_fingerprint(packed, algorithm="xxh64")
    digits = words.tobytes().hex()
    keys = [prefix + digits[i:i + 32] for i in range(0, 32 * n, 32)]
    if n == len(canonical):
        return keys
    table = dict(zip(distinct, keys))
    return [table[c] for c in canonical]


def _as_request(item: Any) -> CopyRequest | None:
    if isinstance(item, CopyRequest):
        return item
    try:
        return CopyRequest.from_dict(item)
    except InvalidRequest:
        return None


class _Window:
    """Latencies and outcomes of the most recent requests (a ring buffer)."""

    def __init__(self, size: int):
        self.size = size
        self.lat = array("d")
        self.outcome = array("b")
        self.n = 0

    def add(self, seconds: float, outcome: int) -> None:
        if len(self.lat) < self.size:
            self.lat.append(seconds)
            self.outcome.append(outcome)
        else:
            i = self.n % self.size
            self.lat[i] = seconds
            self.outcome[i] = outcome
        self.n += 1


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not len(values):
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    import numpy as np

    a = np.asarray(values)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(a.mean()), "max": float(a.max())}


class CopyService:
    """Validate, cache and generate copy; measure every request.

    Parameters
    ----------
    cache : kit.Cache or mapping-like, optional
        Anything with ``get(key, default)`` and ``set(key, value)``; a
        ``kit.Cache`` also tells which tier answered. Default: a new
        ``kit.Cache`` with an L1 of ``l1_size`` entries, the compressed L2 and,
        when ``path`` is given, the on-disk L3 there (closed by :meth:`close`).
    l1_size : int
        Entries in the default cache's L1.
    path : str or Path, optional
        Directory of the default cache's on-disk tier (none when omitted).
    ttl : float, optional
        Seconds a generated answer stays cached.
    generator : callable
        ``generator(CopyRequest) -> CopyResult`` (default :func:`generate_copy`).
    window : int
        Requests kept for the latency percentiles.
    clock : callable
        Seconds, monotonic (``time.perf_counter``); injectable for tests.
    latency_slo : float
        ``health()`` reports ``degraded`` when p99 latency exceeds it (seconds).

    Examples
    --------
    >>> svc = CopyService(l1_size=10)
    >>> svc.generate({"product": "Aurora", "tone": "loud"})
    Traceback (most recent call last):
    ...
    kit.workloads.copy.InvalidRequest: invalid copy request: tone must be one of professional, casual, urgent, technical, creative, inspirational, friendly, luxury; got 'loud'
    >>> svc.metrics()["errors"]["invalid"]
    1
    """

    def __init__(self, cache: Any = None, *, l1_size: int = 1000, path: Any = None, ttl: float | None = None,
                 generator: Callable[[CopyRequest], CopyResult] = generate_copy, window: int = WINDOW,
                 clock: Callable[[], float] = time.perf_counter, latency_slo: float = 0.05) -> None:
        if isinstance(l1_size, bool) or not isinstance(l1_size, int) or l1_size < 1:
            raise ValueError(f"l1_size must be a positive int, got {l1_size!r}")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        self._own_cache = cache is None
        if cache is None:
            from kit.cache.core import Cache

            cache = Cache(path, max_entries=l1_size, disk=path is not None)
        if not (callable(getattr(cache, "get", None)) and callable(getattr(cache, "set", None))):
            raise TypeError(f"cache must have get(key, default) and set(key, value), got {type(cache).__name__}")
        self.cache = cache
        self.ttl = ttl
        self.generator = generator
        self.clock = clock
        self.latency_slo = latency_slo
        # the tiers whose hit counters tell which one answered (kit.Cache); a plain mapping is one tier
        tiers = getattr(cache, "tiers", None)
        self._tiers = [t for t in tiers if hasattr(t, "hits")] if tiers else []
        self._tier_names = [getattr(t, "name", f"tier{i + 1}") for i, t in enumerate(self._tiers)] or ["cache"]
        self._lock = threading.Lock()
        self._window = window
        self.reset_metrics()
        self._started = time.time()
        from kit import json as kit_json

        self._prefix = f"copy:g{GENERATOR_VERSION}:{KEY_ALGORITHM}:"
        self._one = _one_key()
        # the first call binds the engine's JSON selection (and may measure it): not in a request's latency
        kit_json.dumps({"warm": True})

    # -- serving ---------------------------------------------------------------------------------

    def key(self, request: CopyRequest) -> str:
        """The cache key of a validated request: ``"copy:g2:xxh3_64+xxh64:"`` and 32 hex digits.

        The digits are XXH3-64 then XXH64 of the request's canonical form
        (:meth:`CopyRequest.canonical`), each 16 hex digits: see
        :data:`KEY_ALGORITHM`. :meth:`keys` gives the same keys for many
        requests at once.

        Examples
        --------
        >>> svc = CopyService()
        >>> svc.key(CopyRequest("Aurora")) == svc.key(CopyRequest(" Aurora ", tone="Professional"))
        True
        >>> svc.key(CopyRequest("Aurora")) == svc.keys([CopyRequest("Aurora")])[0]
        True
        """
        return self._prefix + self._one(request.canonical())

    def keys(self, requests: Sequence[CopyRequest]) -> list[str]:
        """The cache keys of many validated requests at once, equal to :meth:`key` of each.

        Both hashes run as batches (:func:`kit.kernels.batch_fingerprint`,
        on the backend the engine selects for this size) over the canonical
        forms packed once into Arrow's layout, and the digits are formatted
        in one pass. ``python -m kit.targets workloads --only keys``
        measures it against calling :meth:`key` on each request: the
        hashing itself is several times faster, but getting each canonical
        form and making each key's ``str`` are Python work per request that
        no batch removes.

        Examples
        --------
        >>> svc = CopyService()
        >>> reqs = [CopyRequest("Aurora"), CopyRequest("Nimbus", language="fr")]
        >>> svc.keys(reqs) == [svc.key(r) for r in reqs]
        True
        """
        return batch_keys(list(map(CopyRequest.canonical, requests)), self._prefix)

    def generate(self, request: CopyRequest | Mapping[str, Any]) -> Response:
        """Answer one request from the cache, or generate and cache it.

        Raises
        ------
        InvalidRequest
            The request is invalid (counted as an error; nothing is cached).

        Examples
        --------
        >>> svc = CopyService()
        >>> r = svc.generate({"product": "Nimbus", "language": "fr", "variants": 2})
        >>> len(r.variants), r.hit, r.tier
        (2, False, None)
        """
        clock = self.clock
        t0 = clock()
        try:
            req = request if isinstance(request, CopyRequest) else CopyRequest.from_dict(request)
        except InvalidRequest:
            self._record(clock() - t0, -1, invalid=True)
            raise
        return self._serve(req, None, t0)

    def _serve(self, req: CopyRequest, key: str | None, t0: float) -> Response:
        """Key (unless ``key`` is given), look up, generate on a miss; record the latency since ``t0``."""
        clock = self.clock
        try:
            if key is None:
                key = self.key(req)
            tiers = self._tiers
            before = [t.hits for t in tiers]
            value = self.cache.get(key, _MISSING)
            if value is _MISSING:
                result = self.generator(req)
                if self.ttl is None:
                    self.cache.set(key, result.variants)
                else:
                    self.cache.set(key, result.variants, ttl=self.ttl)
                outcome = -1
            else:
                result = CopyResult(req, list(value))
                outcome = 0
                for i, t in enumerate(tiers):
                    if t.hits != before[i]:
                        outcome = i
                        break
        except Exception:
            self._record(clock() - t0, -1, failed=True)
            raise
        latency = clock() - t0
        self._record(latency, outcome)
        hit = outcome >= 0
        return Response(result, latency, hit, self._tier_names[outcome] if hit else None, key)

    def generate_many(self, requests: Sequence[CopyRequest | Mapping[str, Any]]) -> list[Response]:
        """Answer many requests at once: one batch of keys, one cache pass, one store of the new copy.

        The requests are validated, keyed together (:meth:`keys`), looked
        up with the cache's ``get_many`` (each tier asked once), the copy of
        each distinct miss generated once, and stored with ``set_many``
        (the on-disk tier in one transaction); a cache without these
        methods is used key by key. A request repeated within the batch is
        answered like its first occurrence. Each response's ``latency`` is
        an equal share of the batch's time, and is what the metrics record.

        Raises
        ------
        InvalidRequest
            A request is invalid: nothing is served (each invalid request
            is counted as an error; the first one's problems are raised).

        Examples
        --------
        >>> svc = CopyService()
        >>> rs = svc.generate_many([{"product": "Aurora"}, {"product": "Nimbus"}, {"product": "Aurora"}])
        >>> [r.hit for r in rs], rs[0].variants == rs[2].variants
        ([False, False, False], True)
        >>> [r.tier for r in svc.generate_many([{"product": "Nimbus"}])]
        ['l1']
        """
        clock = self.clock
        t0 = clock()
        reqs: list[CopyRequest] = []
        first_error: InvalidRequest | None = None
        for item in requests:
            try:
                reqs.append(item if isinstance(item, CopyRequest) else CopyRequest.from_dict(item))
            except InvalidRequest as exc:
                self._record(0.0, -1, invalid=True)
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        if not reqs:
            return []
        try:
            keys = self.keys(reqs)
            found = self._lookup_many(list(dict.fromkeys(keys)))
            new: dict[str, CopyResult] = {}
            for req, key in zip(reqs, keys):
                if key not in found and key not in new:
                    new[key] = self.generator(req)
            if new:
                self._store_many({k: r.variants for k, r in new.items()})
        except Exception:
            share = (clock() - t0) / len(reqs)
            for _ in reqs:
                self._record(share, -1, failed=True)
            raise
        share = (clock() - t0) / len(reqs)
        index = {name: i for i, name in enumerate(self._tier_names)}
        out = []
        for req, key in zip(reqs, keys):
            if key in found:
                value, tier = found[key]
                outcome = index.get(tier, 0)
                out.append(Response(CopyResult(req, list(value)), share, True, self._tier_names[outcome], key))
            else:
                outcome = -1
                out.append(Response(CopyResult(req, list(new[key].variants)), share, False, None, key))
            self._record(share, outcome)
        return out

    def _lookup_many(self, keys: list[str]) -> dict[str, tuple[Any, str]]:
        """``{key: (value, tier name)}`` of the keys the cache holds."""
        cache = self.cache
        if self._tiers and callable(getattr(cache, "get_many", None)):
            return cache.get_many(keys, with_tier=True)
        name = self._tier_names[0]
        if callable(getattr(cache, "get_many", None)):
            return {k: (v, name) for k, v in cache.get_many(keys).items()}
        out = {}
        for k in keys:
            v = cache.get(k, _MISSING)
            if v is not _MISSING:
                out[k] = (v, name)
        return out

    def _store_many(self, values: dict[str, list[str]]) -> None:
        cache = self.cache
        kw = {} if self.ttl is None else {"ttl": self.ttl}
        if callable(getattr(cache, "set_many", None)):
            cache.set_many(values, **kw)
        else:
            for k, v in values.items():
                cache.set(k, v, **kw)

    def handle(self, request: Any) -> dict[str, Any]:
        """Answer one request as JSON-able data; an invalid one gives ``{"ok": False, "error": ...}``.

        Examples
        --------
        >>> CopyService().handle({"product": ""})["error"]
        "invalid copy request: product must be a non-empty string, got ''"
        """
        try:
            return {"ok": True, **self.generate(request).to_dict()}
        except InvalidRequest as exc:
            return {"ok": False, "error": str(exc), "problems": exc.problems}

    def replay(self, requests: Sequence[Any] | None = None, keys: Iterable[int] | None = None, *,
               n: int = 100_000, distinct: int = 10_000, distribution: str = "zipf", skew: float = 1.1,
               seed: int = 0, progress: bool = False) -> dict[str, Any]:
        """Replay a request trace; returns :meth:`metrics`.

        ``requests`` is the catalogue and ``keys`` the trace of indices into
        it; by default both are generated: :func:`~kit.workloads.copy_requests`
        (``distinct``, ``seed``) and :func:`~kit.workloads.trace` (``n``,
        ``distribution``, ``skew``, ``seed``).

        Examples
        --------
        >>> svc = CopyService(l1_size=50)
        >>> m = svc.replay(n=2000, distinct=200)
        >>> m["requests"], m["cache"]["hits"] + m["cache"]["misses"]
        (2000, 2000)
        """
        from kit.workloads.traces import MAX_DISTINCT, MAX_REQUESTS, check_size, copy_requests, trace

        if keys is None:  # checked before the catalogue is built: a bad n fails at once
            check_size("n", n, 0, MAX_REQUESTS)
        if requests is None:
            requests = copy_requests(check_size("distinct", distinct, 1, MAX_DISTINCT), seed)
        if keys is None:
            keys = trace(n, distribution, distinct=len(requests), skew=skew, seed=seed)
        else:
            keys = list(keys)
            check_size("the number of keys", len(keys), 0, MAX_REQUESTS)
        if hasattr(keys, "tolist"):  # a trace: Python ints a step at a time, not all at once
            steps = (keys[i:i + REPLAY_STEP].tolist() for i in range(0, len(keys), REPLAY_STEP))
        else:
            keys = [int(k) for k in keys]
            steps = (keys[i:i + REPLAY_STEP] for i in range(0, len(keys), REPLAY_STEP))
        bar = None
        if progress:
            from kit._display import progress_bar

            bar = progress_bar(len(keys), "replay", "req", mininterval=0.25)
        first = True
        for part in steps:
            if first:
                # The engine's first choice of a fingerprint backend (and a JIT's first call) is not
                # a request's latency: make it on the first step's requests before the clock runs.
                self.keys([r for r in (_as_request(requests[k]) for k in part) if r is not None])
                first = False
            self._serve_step([requests[k] for k in part])
            if bar is not None:
                bar.update(len(part))
        if bar is not None:
            bar.close()
        return self.metrics()

    def _serve_step(self, items: list[Any]) -> None:
        """Serve requests in arrival order, keyed in one batch; invalid ones are counted and skipped.

        Each request's latency is its own lookup (and generation), plus an
        equal share of the step's validation and keying time, so the
        percentiles still include what keying costs.
        """
        clock = self.clock
        t0 = clock()
        valid, rejected = [], 0.0
        for item in items:
            if isinstance(item, CopyRequest):
                valid.append(item)
                continue
            t = clock()
            try:
                valid.append(CopyRequest.from_dict(item))
            except InvalidRequest:
                took = clock() - t
                rejected += took
                self._record(took, -1, invalid=True)
        if not valid:
            return
        keys = self.keys(valid)
        share = (clock() - t0 - rejected) / len(valid)
        for req, key in zip(valid, keys):
            self._serve(req, key, clock() - share)

    # -- metrics -----------------------------------------------------------------------------------

    def _record(self, latency: float, outcome: int, *, invalid: bool = False, failed: bool = False) -> None:
        now = self.clock()
        with self._lock:
            self._count += 1
            self._latency_sum += latency
            if self._first is None:
                self._first = now - latency
            self._last = now
            if invalid:
                self._invalid += 1
                return
            if failed:
                self._failed += 1
                self._recent_failures.append(1)
                return
            self._recent_failures.append(0)
            if outcome >= 0:
                self._hits[outcome] += 1
            else:
                self._misses += 1
            self._lat.add(latency, outcome)

    def reset_metrics(self) -> None:
        """Start counting afresh (the cache keeps its contents)."""
        from collections import deque

        with self._lock:
            self._count = self._invalid = self._failed = self._misses = 0
            self._hits = [0] * len(self._tier_names)
            self._latency_sum = 0.0
            self._first: float | None = None
            self._last: float | None = None
            self._lat = _Window(self._window)
            self._recent_failures: deque = deque(maxlen=1000)

    def metrics(self) -> dict[str, Any]:
        """Count, errors, latency percentiles (overall and per outcome), throughput, hit rate per tier.

        Latency percentiles are over the most recent ``window`` answered
        requests; counts are over all requests since the start (or
        :meth:`reset_metrics`). Throughput is requests per second of wall
        time from the first request to the last.

        Examples
        --------
        >>> svc = CopyService()
        >>> _ = svc.generate({"product": "Aurora"}); _ = svc.generate({"product": "Aurora"})
        >>> m = svc.metrics()
        >>> m["cache"]["hit_rate"], m["cache"]["tiers"]["l1"]["hits"]
        (0.5, 1)
        """
        with self._lock:
            count, invalid, failed = self._count, self._invalid, self._failed
            hits, misses = list(self._hits), self._misses
            lat, outcomes = array("d", self._lat.lat), array("b", self._lat.outcome)
            first, last, total_latency = self._first, self._last, self._latency_sum
        elapsed = (last - first) if first is not None and last is not None else 0.0
        lookups = sum(hits) + misses
        tiers: dict[str, Any] = {}
        reaching = lookups
        for name, h in zip(self._tier_names, hits):
            tiers[name] = {
                "hits": h,
                "hit_rate": h / lookups if lookups else None,  # share of all lookups this tier answered
                "local_hit_rate": h / reaching if reaching else None,  # of the lookups that reached it
            }
            reaching -= h
        by_outcome: dict[str, Any] = {}
        names = {i: n for i, n in enumerate(self._tier_names)} | {-1: _MISS}
        for code, name in names.items():
            sel = [x for x, o in zip(lat, outcomes) if o == code]
            if sel:
                by_outcome[name] = {"count": len(sel), **_percentiles(sel)}
        return {
            "requests": count,
            "errors": {"invalid": invalid, "internal": failed, "total": invalid + failed},
            "error_rate": (invalid + failed) / count if count else 0.0,
            "elapsed_s": elapsed,
            "throughput_rps": count / elapsed if elapsed > 0 else None,
            "latency_s": {**_percentiles(lat), "window": len(lat), "sum": total_latency},
            "latency_by_outcome_s": by_outcome,
            "cache": {"lookups": lookups, "hits": sum(hits), "misses": misses,
                      "hit_rate": sum(hits) / lookups if lookups else None, "tiers": tiers},
        }

    def health(self) -> dict[str, Any]:
        """``status`` (``ok``, ``degraded``, ``failing``) and the checks behind it.

        Checks: the recent internal error rate (last 1000 requests), the
        cache's degraded tiers (``kit.Cache.stats()["degraded"]``) and p99
        latency against ``latency_slo``. Invalid requests are the clients'
        errors and do not count against health.

        Examples
        --------
        >>> CopyService().health()["status"]
        'ok'
        """
        m = self.metrics()
        recent = list(self._recent_failures)
        rate = sum(recent) / len(recent) if recent else 0.0
        problems: list[str] = []
        status = "ok"
        if rate > ERROR_RATE_FAILING:
            status = "failing"
            problems.append(f"internal error rate {rate:.1%} > {ERROR_RATE_FAILING:.0%}")
        elif rate > ERROR_RATE_DEGRADED:
            status = "degraded"
            problems.append(f"internal error rate {rate:.1%} > {ERROR_RATE_DEGRADED:.0%}")
        degraded: list[str] = []
        stats = getattr(self.cache, "stats", None)
        if callable(stats):
            try:
                degraded = list(stats().get("degraded", []))
            except Exception as exc:  # noqa: BLE001 (a cache that cannot report is itself a finding)
                degraded = [f"cache stats failed: {type(exc).__name__}: {exc}"]
        if degraded and status == "ok":
            status = "degraded"
        problems += [f"cache tier {d}" for d in degraded]
        p99 = m["latency_s"]["p99"]
        if p99 is not None and p99 > self.latency_slo:
            if status == "ok":
                status = "degraded"
            problems.append(f"p99 latency {p99 * 1e3:.2f} ms > SLO {self.latency_slo * 1e3:.0f} ms")
        return {
            "status": status,
            "problems": problems,
            "requests": m["requests"],
            "recent_internal_error_rate": rate,
            "p99_latency_s": p99,
            "cache_hit_rate": m["cache"]["hit_rate"],
            "cache_degraded": degraded,
            "uptime_s": time.time() - self._started,
        }

    def prometheus(self, prefix: str = "kit_copy") -> str:
        """The metrics in the Prometheus text exposition format (version 0.0.4).

        Examples
        --------
        >>> svc = CopyService(); _ = svc.generate({"product": "Aurora"})
        >>> print(svc.prometheus().splitlines()[2])
        kit_copy_requests_total 1
        """
        m = self.metrics()
        h = self.health()
        out: list[str] = []

        def family(name: str, kind: str, doc: str, samples: list[tuple[dict[str, str], float | None]]) -> None:
            out.append(f"# HELP {prefix}_{name} {doc}")
            out.append(f"# TYPE {prefix}_{name} {kind}")
            for labels, value in samples:
                if value is None:
                    continue
                lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                out.append(f"{prefix}_{name}{{{lab}}} {_num(value)}" if lab else f"{prefix}_{name} {_num(value)}")

        family("requests_total", "counter", "Copy requests received.", [({}, m["requests"])])
        family("errors_total", "counter", "Requests that failed, by reason.",
               [({"reason": "invalid"}, m["errors"]["invalid"]), ({"reason": "internal"}, m["errors"]["internal"])])
        family("cache_requests_total", "counter", "Answered requests by cache outcome and tier.",
               [({"outcome": "hit", "tier": t}, v["hits"]) for t, v in m["cache"]["tiers"].items()]
               + [({"outcome": "miss", "tier": "none"}, m["cache"]["misses"])])
        family("cache_hit_ratio", "gauge", "Share of lookups answered by each cache tier.",
               [({"tier": t}, v["hit_rate"]) for t, v in m["cache"]["tiers"].items()]
               + [({"tier": "all"}, m["cache"]["hit_rate"])])
        lat = m["latency_s"]
        name = f"{prefix}_request_duration_seconds"
        out.append(f"# HELP {name} Request latency; quantiles over the most recent {lat['window']} requests.")
        out.append(f"# TYPE {name} summary")
        for q, key in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
            if lat[key] is not None:
                out.append(f'{name}{{quantile="{q}"}} {_num(lat[key])}')
        out.append(f"{name}_sum {_num(lat['sum'])}")
        out.append(f"{name}_count {m['requests']}")
        family("throughput_requests_per_second", "gauge", "Requests per second, first to last request.",
               [({}, m["throughput_rps"])])
        family("up", "gauge", "1 unless health() reports failing.", [({}, 0 if h["status"] == "failing" else 1)])
        return "\n".join(out) + "\n"

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the cache if this service created it."""
        if self._own_cache and callable(getattr(self.cache, "close", None)):
            self.cache.close()

    def __enter__(self) -> "CopyService":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def metrics_table(metrics: Mapping[str, Any], title: str = "copy service") -> Any:
    """:meth:`CopyService.metrics` as a table for people (text in a terminal, HTML in Jupyter).

    Examples
    --------
    >>> svc = CopyService(); _ = svc.generate({"product": "Aurora"})
    >>> "throughput" in str(metrics_table(svc.metrics()))
    True
    """
    from kit._display import Table
    from kit.engine.measure import format_time

    def t(x: float | None) -> str:
        return format_time(x) if x is not None else "-"

    def pct(x: float | None) -> str:
        return f"{x:.1%}" if x is not None else "-"

    m = metrics
    lat = m["latency_s"]
    rows: list[list[Any]] = [
        ["requests", m["requests"], ""],
        ["errors", m["errors"]["total"], f"invalid {m['errors']['invalid']}, internal {m['errors']['internal']}"],
        ["throughput", f"{m['throughput_rps']:,.0f} req/s" if m["throughput_rps"] else "-",
         f"over {m['elapsed_s']:.2f} s"],
        ["latency p50 / p95 / p99", f"{t(lat['p50'])} / {t(lat['p95'])} / {t(lat['p99'])}",
         f"last {lat['window']} requests"],
        ["cache hit rate", pct(m["cache"]["hit_rate"]),
         f"{m['cache']['hits']} hits, {m['cache']['misses']} misses"],
    ]
    for name, tier in m["cache"]["tiers"].items():
        rows.append([f"  {name} hit rate", pct(tier["hit_rate"]),
                     f"{tier['hits']} hits; {pct(tier['local_hit_rate'])} of the lookups that reached {name}"])
    for name, o in m["latency_by_outcome_s"].items():
        label = "miss (generated)" if name == _MISS else f"{name} hit"
        rows.append([f"  latency, {label}", f"{t(o['p50'])} / {t(o['p95'])} / {t(o['p99'])}", f"{o['count']} requests"])
    return Table(title, ["metric", "value", "detail"], rows)
