"""The workloads' performance targets, measured in one run.

``python -m kit.targets workloads`` prints:

* generation of one request (3 variants), uncached: median under 1 ms
  (``generate_copy`` alone, and a miss through :class:`CopyService`: validate,
  key, generate, store in every tier);
* a cached answer through L1: median under 50 µs;
* replay of a 100,000-request Zipf(1.1) trace over 10,000 distinct requests
  with an L1 of 1,000 entries: hit rate per tier and throughput (three
  replays from a cold cache; median and range);
* cache keys of 100,000 requests: :meth:`CopyService.keys` (one batch of
  ``kit.kernels.batch_fingerprint``) against :meth:`CopyService.key` per
  request, and the hashing alone (reported, no target);
* the ``adaptive`` batch strategy against the best fixed strategy
  (``sequential``, ``threads``, ``processes`` with their defaults) on a
  CPU-bound and an I/O-bound batch: within 10%.

Timings are interleaved, repeated samples (:func:`kit.engine.measure.compare`);
``--json`` prints the rows as JSON; ``--only GROUP`` (repeatable) measures
some of :data:`GROUPS`.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from kit._display import Table
from kit.targets._common import Parser, all_met, description, machine_line, parser, positive_int, print_json

#: Sizes of the batches the adaptive strategy is judged on.
CPU_ITEMS, CPU_WORK = 1200, 20_000
IO_ITEMS, IO_WAIT = 400, 0.002


def _cpu_item(n: int) -> int:
    # pure Python: holds the GIL, so only processes run it in parallel
    s = 0
    for i in range(n):
        s += i * i
    return s


def _io_item(seconds: float) -> float:
    time.sleep(seconds)  # stands for a network or disk wait
    return seconds


def _generation_rows(preset: str) -> list[list[Any]]:
    from kit.engine.measure import compare, format_time
    from kit.workloads import generate_copy
    from kit.workloads.service import CopyService

    req = {"product": "Aurora", "description": "Wireless earbuds with a 30-hour battery.",
           "features": ["noise cancelling", "water resistance", "fast charging"], "audience": "runners",
           "tone": "professional", "use_case": "product_launch", "language": "es", "variants": 3}
    svc = CopyService(l1_size=1000)
    counter = itertools.count()

    def miss() -> Any:
        # a request the cache has never seen: a new product name each call
        return svc.generate({**req, "product": f"Aurora {next(counter)}"})

    svc.generate(req)  # now cached in L1
    res = compare({
        "generate_copy": lambda: generate_copy(req),
        "service miss": miss,
        "service L1 hit": lambda: svc.generate(req),
    }, preset=preset, samples=15)
    assert svc.generate(req).tier == "l1"
    svc.close()
    rows = []
    for name, label, limit in (("generate_copy", "generate_copy, one request, 3 variants (uncached)", 1e-3),
                               ("service miss", "CopyService miss: validate, key, generate, cache", 1e-3),
                               ("service L1 hit", "CopyService hit through L1", 50e-6)):
        m = res[name]
        lo, hi = m.ci
        rows.append([label, format_time(m.median), f"95% CI {format_time(lo)}–{format_time(hi)}",
                     f"< {format_time(limit)}", m.median < limit])
    return rows


def _replay_rows(runs: int = 3) -> list[list[Any]]:
    from kit.workloads import copy_requests, trace
    from kit.workloads.service import CopyService

    requests = copy_requests(10_000, seed=0)
    keys = trace(100_000, "zipf", distinct=10_000, skew=1.1, seed=0)
    results = []
    for _ in range(runs):
        with CopyService(l1_size=1000) as svc:
            results.append(svc.replay(requests, keys))
    tput = sorted(m["throughput_rps"] for m in results)
    m = results[len(results) // 2]
    rows = [["replay 100k Zipf(1.1) / 10k distinct, L1 1000: throughput",
             f"{tput[len(tput) // 2]:,.0f} req/s", f"{runs} cold replays: {tput[0]:,.0f}–{tput[-1]:,.0f} req/s",
             "report", True],
            ["  hit rate, all tiers", f"{m['cache']['hit_rate']:.1%}",
             f"{m['cache']['hits']:,} hits, {m['cache']['misses']:,} misses", "report", True]]
    for name, tier in m["cache"]["tiers"].items():
        rows.append([f"  hit rate, {name}", f"{tier['hit_rate']:.1%}",
                     f"{tier['local_hit_rate']:.1%} of the lookups reaching {name}", "report", True])
    lat = m["latency_s"]
    rows.append(["  latency p50 / p95 / p99", f"{lat['p50'] * 1e6:.1f} / {lat['p95'] * 1e6:.0f} / "
                 f"{lat['p99'] * 1e6:.0f} µs", "over the replay", "report", True])
    return rows


#: Requests keyed by the keying rows (the ``kit load`` default trace's size).
KEY_REQUESTS = 100_000


def _keying_rows(preset: str, n: int = KEY_REQUESTS) -> list[list[Any]]:
    """Cache keys of ``n`` distinct requests: :meth:`CopyService.keys` against :meth:`CopyService.key` per request.

    The canonical forms are made before timing (a replay makes each once,
    then reuses it), so the rows compare keying, not JSON encoding. Two
    more rows isolate the hashing: the two ``batch_fingerprint`` calls on
    the packed forms against the xxhash library called per form.
    """
    import xxhash

    import kit.kernels
    from kit.engine.measure import compare, format_time
    from kit.workloads import copy_requests
    from kit.workloads.copy import CopyRequest
    from kit.workloads.service import CopyService

    svc = CopyService(l1_size=10)
    reqs = copy_requests(n, seed=7)
    forms = list(map(CopyRequest.canonical, reqs))
    packed = kit.kernels.pack_keys(forms)
    backend = kit.kernels.choose("batch_fingerprint", int(packed[0][-1]))
    if svc.keys(reqs) != [svc.key(r) for r in reqs]:
        raise AssertionError("batch keys differ from single keys")
    a, b = xxhash.xxh3_64_intdigest, xxhash.xxh64_intdigest
    from kit.workloads import trace
    from kit.workloads.service import REPLAY_STEP

    # One step of `replay`: REPLAY_STEP arrivals of the Zipf(1.1) trace over 10,000 requests.
    step = [reqs[k] for k in trace(REPLAY_STEP, "zipf", distinct=10_000, skew=1.1, seed=0)]
    res = compare({
        "step: key() per request": lambda: [svc.key(r) for r in step],
        "step: keys(requests)": lambda: svc.keys(step),
        "key() per request": lambda: [svc.key(r) for r in reqs],
        "keys(requests)": lambda: svc.keys(reqs),
        "hashing only, xxhash per form": lambda: ([a(f) for f in forms], [b(f) for f in forms]),
        "hashing only, batch_fingerprint": lambda: (kit.kernels.batch_fingerprint(packed, algorithm="xxh3_64"),
                                                    kit.kernels.batch_fingerprint(packed, algorithm="xxh64")),
    }, preset=preset, samples=9)
    svc.close()
    one, many = res["key() per request"], res["keys(requests)"]
    h1, h2 = res["hashing only, xxhash per form"], res["hashing only, batch_fingerprint"]
    size = int(packed[0][-1]) / n

    def rate(m: Any) -> str:
        return f"{n / m.median:,.0f} keys/s"

    s1, s2 = res["step: key() per request"], res["step: keys(requests)"]
    return [
        [f"cache keys of a replay step ({REPLAY_STEP:,} Zipf(1.1) arrivals, {len(set(map(id, step)))} distinct): "
         "keys() vs key() each", f"{s1.median / s2.median:.2f}x",
         f"batch {format_time(s2.median)}, one by one {format_time(s1.median)}", "report", True],
        [f"cache keys of {n:,} requests ({size:.0f} B canonical forms): keys() vs key() each",
         f"{one.median / many.median:.2f}x", f"batch {format_time(many.median)} ({rate(many)}), one by one "
         f"{format_time(one.median)} ({rate(one)})", "report", True],
        [f"  hashing only: batch_fingerprint ({backend}) vs xxhash per form, 2 hashes",
         f"{h1.median / h2.median:.2f}x", f"batch {format_time(h2.median)} ({rate(h2)}), loop "
         f"{format_time(h1.median)} ({rate(h1)})", "report", True],
    ]


def _batch_rows(preset: str) -> list[list[Any]]:
    from kit import batch
    from kit.engine.measure import compare, format_time

    rows = []
    for label, fn, items in (("CPU-bound", _cpu_item, [CPU_WORK] * CPU_ITEMS),
                             ("I/O-bound", _io_item, [IO_WAIT] * IO_ITEMS)):
        plans: list[dict] = []

        def contender(strategy: str):
            def call() -> None:
                r = batch.run(fn, items, strategy, progress=False)
                if strategy == "adaptive":
                    plans.append(r.plan)
            return call

        res = compare({s: contender(s) for s in ("sequential", "threads", "processes", "adaptive")},
                      preset=preset, samples=5, min_samples=5, budget=60.0)
        fixed = {s: res[s].median for s in ("sequential", "threads", "processes")}
        best = min(fixed, key=fixed.get)
        ratio = res["adaptive"].median / fixed[best]
        plan = plans[-1]
        rows.append([f"adaptive batch, {label} ({len(items)} items)", format_time(res["adaptive"].median),
                     f"best fixed: {best} {format_time(fixed[best])} ({ratio:.2f}x); "
                     f"adaptive chose {plan['chose']}: {plan['reason']}", "<= 1.10x best fixed", ratio <= 1.10])
        rows.append([f"  fixed strategies, {label}",
                     ", ".join(f"{s} {format_time(t)}" for s, t in fixed.items()), "", "", True])
    return rows


#: The groups of rows, in the order they run (``--only`` picks some).
GROUPS = ("generation", "replay", "keys", "batch")


def workload_targets(preset: str = "quick", replays: int = 3, only: Any = None) -> Table:
    """Measure the workloads' targets; returns a table of figures and verdicts.

    Parameters
    ----------
    preset : {"quick", "full"}
    replays : int
        Cold replays of the 100k trace.
    only : iterable of str, optional
        Some of :data:`GROUPS` (default: all).

    Examples
    --------
    >>> print(workload_targets(only=["keys"]))  # doctest: +SKIP
    """
    from kit.batch import available_cores

    groups = list(GROUPS if only is None else only)
    for g in groups:
        if g not in GROUPS:
            raise ValueError(f"unknown group {g!r}; valid groups: {', '.join(GROUPS)}")
    make = {"generation": lambda: _generation_rows(preset), "replay": lambda: _replay_rows(replays),
            "keys": lambda: _keying_rows(preset), "batch": lambda: _batch_rows(preset)}
    rows = [row for g in GROUPS if g in groups for row in make[g]()]
    return Table("workload targets", ["target", "measured", "detail", "goal", "met"], rows,
                 [machine_line(), f"{available_cores()} cores available to this process; medians of "
                  "interleaved samples (kit.engine.measure.compare)"])


def build_parser() -> Parser:
    """The options of ``python -m kit.targets workloads``."""
    p = parser("workloads", description(__doc__))
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--full", action="store_true", help="longer samples")
    p.add_argument("--replays", type=positive_int, default=3, help="cold replays of the 100k trace (default 3)")
    p.add_argument("--only", action="append", choices=GROUPS, help="measure only these groups (repeatable)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Print the workloads' targets; exit status 0 when all are met, 1 otherwise, 2 on a bad option.

    Examples
    --------
    >>> main(["--only", "keys"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    table = workload_targets("full" if args.full else "quick", args.replays, args.only)
    if args.json:
        print_json(table.records())
    else:
        print(table)
    return 0 if all_met(table.rows) else 1
