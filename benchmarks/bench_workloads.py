"""asv benchmarks of the workloads: copy generation, the copy service, payloads, traces, batches.

``GenerateCopy.time_generate``
    one request, 3 variants, uncached, per language and use case (target: < 1 ms);
``CopyServiceRequests``
    a hit through L1 (target: < 50 µs), a hit through L2, and a miss (validate,
    key, generate, store);
``Replay``
    a Zipf(1.1) and a uniform trace through the service, with
    ``track_hit_rate_*`` recording the hit rate per tier;
``Payloads`` / ``Traces``
    the seeded generators the engine measures on;
``BatchStrategies``
    a CPU-bound and an I/O-bound batch under each strategy, adaptive included.

Heavy work happens in ``setup``; importing this module imports only kit's
workloads.
"""

from __future__ import annotations

import itertools
import time

from kit.workloads import LANGUAGES, generate_copy

_REQUEST = {"product": "Aurora", "description": "Wireless earbuds with a 30-hour battery.",
            "features": ["noise cancelling", "water resistance", "fast charging"], "audience": "runners",
            "tone": "professional", "use_case": "product_launch", "variants": 3}


class GenerateCopy:
    """One request, three variants, no cache."""

    params = (list(LANGUAGES), ["product_launch", "email", "social_media_post"])
    param_names = ["language", "use_case"]

    def setup(self, language, use_case):
        self.req = {**_REQUEST, "language": language, "use_case": use_case}
        generate_copy(self.req)

    def time_generate(self, language, use_case):
        generate_copy(self.req)


class CopyServiceRequests:
    """Answers through the service: L1 hit, L2 hit, miss."""

    def setup(self):
        from kit.workloads.service import CopyService

        self.svc = CopyService(l1_size=1000)
        self.hot = {**_REQUEST, "language": "fr"}
        self.svc.generate(self.hot)
        self.cold = {**_REQUEST, "language": "es"}
        self.cold_key = self.svc.generate(self.cold).key
        self.counter = itertools.count()

    def teardown(self):
        self.svc.close()

    def time_hit_l1(self):
        self.svc.generate(self.hot)

    def time_hit_l2(self):
        # drop the entry from L1 only, so the lookup goes down to L2 (and promotes it back)
        self.svc.cache.l1.pop(self.cold_key, None)
        self.svc.generate(self.cold)

    def time_miss(self):
        self.svc.generate({**_REQUEST, "product": f"Aurora {next(self.counter)}"})


class Replay:
    """10,000 requests over 1,000 distinct, L1 of 100 entries."""

    params = ["zipf", "uniform"]
    param_names = ["distribution"]
    timeout = 120

    def setup(self, distribution):
        from kit.workloads import copy_requests, trace

        self.requests = copy_requests(1000, seed=0)
        self.keys = trace(10_000, distribution, distinct=1000, skew=1.1, seed=0)
        self._metrics = None

    def _replay(self):
        from kit.workloads.service import CopyService

        with CopyService(l1_size=100) as svc:
            return svc.replay(self.requests, self.keys)

    def time_replay(self, distribution):
        self._replay()

    def _tier(self, name):
        if self._metrics is None:
            self._metrics = self._replay()
        return self._metrics["cache"]["tiers"][name]["hit_rate"]

    def track_hit_rate_l1(self, distribution):
        return self._tier("l1")

    track_hit_rate_l1.unit = "ratio"

    def track_hit_rate_l2(self, distribution):
        return self._tier("l2")

    track_hit_rate_l2.unit = "ratio"


class Payloads:
    """The seeded payload generators at the engine's size classes."""

    params = (["json", "text", "numeric", "random", "table"], [200, 65536])
    param_names = ["kind", "size"]

    def time_payload(self, kind, size):
        from kit.workloads import payload

        payload(kind, size, seed=1)


class Traces:
    params = ["zipf", "uniform", "hotset", "scan"]
    param_names = ["distribution"]

    def time_trace_100k(self, distribution):
        from kit.workloads import trace

        trace(100_000, distribution, distinct=10_000, seed=1)


def _cpu(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def _io(seconds):
    time.sleep(seconds)


class BatchStrategies:
    """A CPU-bound (pure Python) and an I/O-bound (sleep) batch under each strategy."""

    params = (["sequential", "threads", "processes", "adaptive"], ["cpu", "io"])
    param_names = ["strategy", "work"]
    timeout = 180
    number = 1
    repeat = 3

    def setup(self, strategy, work):
        self.fn, self.items = (_cpu, [20_000] * 400) if work == "cpu" else (_io, [0.002] * 200)

    def time_batch(self, strategy, work):
        from kit import batch

        batch.run(self.fn, self.items, strategy, progress=False)
