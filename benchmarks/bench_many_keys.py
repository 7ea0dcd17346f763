"""asv benchmarks of many keys at once: ``kit.Cache.set_many``/``get_many`` and ``CopyService.keys``.

Each batch path is timed beside the loop it replaces, on the same data:

* ``CacheMany``: 10,000 copy-service values (lists of three generated
  texts) written through L1, L2 and the on-disk L3 with ``set_many`` (one
  SQLite transaction) or a loop of ``set`` (one commit per key); read back
  from L3 (no L2, a one-entry L1) with ``get_many`` (one query per 500 keys)
  or a loop of ``get``.
* ``CopyKeys``: the cache keys of 100,000 distinct requests, and of one
  replay step (10,000 Zipf(1.1) arrivals over 10,000 requests), with
  ``CopyService.keys`` (``kit.kernels.batch_fingerprint``) or ``key`` per
  request. The canonical forms are made in ``setup``, as a replay makes
  each once.

``python benchmarks/bench_many_keys.py`` prints the same comparisons
measured side by side (:func:`kit.engine.measure.compare`), with ``/proc/loadavg``.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

ENTRIES = 10_000
REQUESTS = 100_000


def _values(n: int) -> dict[str, list[str]]:
    from kit.workloads import copy_requests, generate_copy

    return {f"copy:{i}": generate_copy(r).variants for i, r in enumerate(copy_requests(n, seed=1))}


class CacheMany:
    params = [["set loop", "set_many", "get loop (L3)", "get_many (L3)"]]
    param_names = ["path"]
    timeout = 300

    def setup(self, path: str) -> None:
        from kit.cache.core import Cache

        self.dir = tempfile.mkdtemp(prefix="kit-bench-")
        self.values = _values(ENTRIES)
        self.keys = list(self.values)
        if path.startswith("set"):
            self.cache = Cache(self.dir, max_entries=ENTRIES)
        else:
            with Cache(self.dir) as c:
                c.set_many(self.values)
            self.cache = Cache(self.dir, max_entries=1, compressed_bytes=0)

    def teardown(self, path: str) -> None:
        self.cache.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_many(self, path: str) -> None:
        c = self.cache
        if path == "set loop":
            for k, v in self.values.items():
                c.set(k, v)
        elif path == "set_many":
            c.set_many(self.values)
        elif path == "get loop (L3)":
            for k in self.keys:
                c.get(k)
        else:
            c.get_many(self.keys)


class CopyKeys:
    params = [["key() per request", "keys()"], ["100k distinct", "replay step"]]
    param_names = ["path", "requests"]
    timeout = 300

    def setup(self, path: str, requests: str) -> None:
        from kit.workloads import copy_requests, trace
        from kit.workloads.service import REPLAY_STEP, CopyService

        self.svc = CopyService(l1_size=10)
        if requests == "100k distinct":
            self.reqs = copy_requests(REQUESTS, seed=7)
        else:
            catalogue = copy_requests(10_000, seed=7)
            self.reqs = [catalogue[k] for k in trace(REPLAY_STEP, "zipf", distinct=10_000, skew=1.1, seed=0)]
        self.svc.keys(self.reqs)  # canonical forms, the engine's choice and the JIT: not timed

    def teardown(self, path: str, requests: str) -> None:
        self.svc.close()

    def time_keys(self, path: str, requests: str) -> None:
        if path == "keys()":
            self.svc.keys(self.reqs)
        else:
            key = self.svc.key
            for r in self.reqs:
                key(r)


def main() -> None:
    """Print the batch paths against their loops, measured side by side."""
    from kit.engine.measure import compare, format_time

    def show(title: str, res: dict[str, Any], n: int, unit: str) -> None:
        print(title)
        for name, m in res.items():
            warn = f"  [{'; '.join(m.warnings)}]" if m.warnings else ""
            print(f"  {name:<26} {format_time(m.median):>10}  (95% CI {format_time(m.ci[0])} - "
                  f"{format_time(m.ci[1])})  {n / m.median:>12,.0f} {unit}/s{warn}")

    with open("/proc/loadavg") as f:
        print("/proc/loadavg before:", f.read().strip())
    for pair, title in ((("set loop", "set_many"), f"kit.Cache, {ENTRIES:,} values written through L1, L2, L3"),
                        (("get loop (L3)", "get_many (L3)"), f"kit.Cache, {ENTRIES:,} values read from L3")):
        benches = {}
        for p in pair:
            b = CacheMany()
            b.setup(p)
            benches[p] = b
        try:
            res = compare({p: (lambda b=b, p=p: b.time_many(p)) for p, b in benches.items()},
                          preset="quick", samples=7, min_samples=5, budget=60)
        finally:
            for p, b in benches.items():
                b.teardown(p)
        show(title, res, ENTRIES, "entries")
        print(f"  -> {pair[1]}: {res[pair[0]].median / res[pair[1]].median:.2f}x the loop")
    for requests in ("100k distinct", "replay step"):
        benches = {}
        for p in ("key() per request", "keys()"):
            b = CopyKeys()
            b.setup(p, requests)
            benches[p] = b
        n = len(benches["keys()"].reqs)
        res = compare({p: (lambda b=b, p=p: b.time_keys(p, requests)) for p, b in benches.items()},
                      preset="quick", samples=9)
        for p, b in benches.items():
            b.teardown(p, requests)
        show(f"CopyService cache keys, {requests} ({n:,} requests)", res, n, "keys")
        print(f"  -> keys(): {res['key() per request'].median / res['keys()'].median:.2f}x key() per request")
    with open("/proc/loadavg") as f:
        print("/proc/loadavg after:", f.read().strip())


if __name__ == "__main__":
    main()
