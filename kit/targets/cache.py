"""The cache's and the compression engine's targets, measured side by side in one run.

``python -m kit.targets cache`` prints, with this machine's description
(``--only cache`` or ``--only compression`` for one group):

* ``memoize`` hit on a function of a 100 MiB float64 array vs ``joblib.Memory``
  hit on the same function (target: at least 20x faster);
* L1 hit vs ``functools.lru_cache`` hit (targets: ``LRUTier.get`` within 3x,
  ``Cache.get`` within 2x) and vs a ``cachetools.LRUCache`` hit, ``ct[k]`` (no slower);
* L3 hit of a small value vs ``diskcache.Cache.get`` on the same data
  (target: no slower; ``DiskTier.get`` of 100 B: 0.7x the time), through
  ``Cache.get`` with L1 and L2 empty (no slower), and in stores of 1k, 100k
  (and, with ``--full`` or ``--entries``, 1M) entries (no slower);
* ``codec="auto"`` at the balanced objective vs the best single codec in
  hindsight, per file of the Canterbury corpus plus numeric arrays and random
  bytes (target: within 10% of the objective; never more than 64 bytes
  larger than the input).

joblib and diskcache are comparisons only (test/bench dependencies). Every
figure is the median of interleaved samples (``kit.engine.measure``), with a
bootstrap 95% CI on the ratios.

Examples
--------
>>> from kit.targets.cache import main
>>> main(["--quick", "--only", "cache"])  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import random
import shutil
import tempfile
import time
import timeit
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit._display import Table
from kit.targets._common import Parser, all_met, description, machine_line, parser, positive_int, print_json, ratio

if TYPE_CHECKING:
    from kit.engine.measure import Measurement


# On a shared machine wall-clock time includes waiting for a core; the CPU time
# this process used does not, so the short, single-threaded comparisons below
# use it (``time.process_time``, which also counts blosc2's worker threads).
_CPU = time.process_time


def _interleaved_timeit(stmts: dict[str, str], namespace: dict[str, Any], repeat: int,
                        min_time: float = 0.02) -> dict[str, Measurement]:
    """``timeit`` of one-line statements (CPU time), repeats interleaved in rotating order (no wrapper call)."""
    from kit.engine.measure import Measurement

    timers = {name: timeit.Timer(stmt, globals=namespace, timer=_CPU) for name, stmt in stmts.items()}
    number = {}
    for name, t in timers.items():
        n, _ = t.autorange()
        per = t.timeit(n) / n
        number[name] = max(1, int(min_time / max(per, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in stmts}
    names = list(stmts)
    for r in range(repeat):
        for name in names[r % len(names):] + names[: r % len(names)]:
            samples[name].append(timers[name].timeit(number[name]) / number[name])
    return {name: Measurement(name, samples[name], number[name]) for name in names}


def memoize_target(preset: str = "quick", mib: int = 100) -> list[list[Any]]:
    """Rows: kit.memoize vs joblib.Memory hits on a ``mib`` MiB float64 array."""
    import numpy as np

    from kit.cache.core import Cache
    from kit.cache.memo import memoize
    from kit.engine.measure import compare, format_time

    try:
        import joblib
    except ImportError:
        return [["memoize hit vs joblib.Memory hit", "joblib absent", "", "", "", "", ">= 20x", None]]
    a = np.random.default_rng(0).random(mib * (1 << 20) // 8)

    def summary(x: Any) -> Any:
        return np.array([x.min(), x.mean(), x.max()])

    tmp = Path(tempfile.mkdtemp(prefix="kit-targets-"))
    try:
        cache = Cache(tmp / "kit")
        kit_f = memoize(cache=cache)(summary)
        job_f = joblib.Memory(str(tmp / "joblib"), verbose=0).cache(summary)
        assert np.array_equal(kit_f(a), job_f(a))  # computed and stored by both
        assert np.array_equal(kit_f(a), job_f(a))  # hits

        def kit_l3() -> Any:
            cache.l1.clear()
            cache.l2.clear()
            return kit_f(a)

        res = compare({"kit.memoize": lambda: kit_f(a), "kit.memoize (L1, L2 cleared)": kit_l3,
                       "joblib.Memory": lambda: job_f(a)}, nbytes=a.nbytes, preset=preset, min_samples=5)
        cache.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for name in ("kit.memoize", "kit.memoize (L1, L2 cleared)"):
        r, lo, hi = ratio(res["joblib.Memory"], res[name])
        rmin = min(res["joblib.Memory"].samples) / min(res[name].samples)
        rows.append([f"hit, {mib} MiB float64 arg: {name} vs joblib.Memory", format_time(res[name].median),
                     format_time(res["joblib.Memory"].median), f"{r:.1f}x", f"[{lo:.1f}, {hi:.1f}]",
                     f"{rmin:.1f}x", ">= 20x", r >= 20])
    return rows


def _row(label: str, res: dict[str, Measurement], name: str, other: str, target: float, unit: str) -> list[Any]:
    """A table row: ``name``'s median over ``other``'s, its interval and the ratio of minima, judged ``<= target``."""
    from kit.engine.measure import format_time

    r, lo, hi = ratio(res[name], res[other])
    rmin = min(res[name].samples) / min(res[other].samples)
    return [label, format_time(res[name].median), format_time(res[other].median), f"{r:.2f}x {unit}",
            f"[{lo:.2f}, {hi:.2f}]", f"{rmin:.2f}x", f"<= {target:g}x", r <= target]


def l1_target(repeat: int = 15) -> list[list[Any]]:
    """Rows: L1 tier hit, and Cache.get served by L1, vs functools.lru_cache and cachetools.LRUCache hits."""
    from kit.cache.core import Cache
    from kit.cache.memory import LRUTier

    tier = LRUTier(maxsize=1024)
    cache = Cache(disk=False, max_entries=1024)

    @functools.lru_cache(maxsize=1024)
    def lru(key: str) -> int:
        return 42

    try:
        import cachetools
    except ImportError:
        cachetools = None
    ct = cachetools.LRUCache(maxsize=1024) if cachetools is not None else None
    for i in range(1000):
        tier[f"k{i}"] = i
        cache[f"k{i}"] = i
        lru(f"k{i}")
        if ct is not None:
            ct[f"k{i}"] = i
    ns = {"tier_get": tier.get, "cache_get": cache.get, "lru": lru, "k": "k500"}
    stmts = {"LRUTier.get": "tier_get(k)", "Cache.get (L1)": "cache_get(k)", "lru_cache": "lru(k)"}
    if ct is not None:
        ns["ct"] = ct
        stmts["cachetools"] = "ct[k]"  # its fastest hit (its get() adds a call and a try)
    res = _interleaved_timeit(stmts, ns, repeat)
    rows = [_row("L1 hit: LRUTier.get vs functools.lru_cache hit", res, "LRUTier.get", "lru_cache", 3, "slower"),
            _row("L1 hit: Cache.get vs functools.lru_cache hit", res, "Cache.get (L1)", "lru_cache", 2, "slower")]
    if ct is not None:
        rows.append(_row("L1 hit: Cache.get vs cachetools.LRUCache[k] hit", res, "Cache.get (L1)", "cachetools",
                         1, "the time"))
    else:
        rows.append(["L1 hit: Cache.get vs cachetools.LRUCache[k] hit", "cachetools absent", "", "", "", "",
                     "<= 1x", None])
    return rows


def l3_target(repeat: int = 15, sizes: tuple[int, ...] = (1000,)) -> list[list[Any]]:
    """Rows: L3 hits vs ``diskcache.Cache.get``: small values, ``Cache.get`` with L1 and L2 empty, store sizes.

    ``DiskTier.get`` reads a 100 B bytes value and a small dict from a store
    of 1000 entries; ``Cache.get`` answers the 100 B value from disk (L1 and
    L2 emptied before each call, the clearing timed alone and subtracted);
    then ``DiskTier.get`` of a 100 B value in stores of each of ``sizes``
    entries (filled in one transaction each).
    """
    from kit.cache.core import Cache
    from kit.cache.disk import DiskTier

    try:
        import diskcache
    except ImportError:
        return [["L3 hit vs diskcache.Cache.get", "diskcache absent", "", "", "", "", "<= 1x", None]]
    tmp = Path(tempfile.mkdtemp(prefix="kit-targets-"))
    rows = []
    try:
        tier = DiskTier(tmp / "kit", touch_interval=3600)
        dc = diskcache.Cache(str(tmp / "diskcache"))
        values = {"100 B bytes": b"x" * 100, "small dict": {"user": 12345, "name": "Ada", "tags": ["a", "b"],
                                                           "score": 0.5}}
        for i in range(1000):  # a store with some entries in it
            tier[f"fill{i}"] = i
            dc.set(f"fill{i}", i)
        for label, value in values.items():
            tier["k"] = value
            dc.set("k", value)
            assert tier["k"] == value and dc.get("k") == value
            ns = {"tier_get": tier.get, "dc_get": dc.get, "k": "k"}
            res = _interleaved_timeit({"kit L3": "tier_get(k)", "diskcache": "dc_get(k)"}, ns, repeat,
                                      min_time=0.01)
            rows.append(_row(f"L3 hit, {label}: DiskTier.get vs diskcache.Cache.get", res, "kit L3", "diskcache",
                             0.7 if label == "100 B bytes" else 1, "the time"))
        tier["k"] = values["100 B bytes"]
        dc.set("k", values["100 B bytes"])
        cache = Cache(tmp / "kit")  # the same store, a new cache: L1 and L2 empty, as in a new kernel
        l1, l2 = cache.l1, cache.l2

        def clear() -> None:
            l1.clear()
            l2.clear()

        def cache_get(key: str) -> Any:
            l1.clear()
            l2.clear()
            return cache.get(key)

        assert cache_get("k") == values["100 B bytes"]
        ns = {"cache_get": cache_get, "clear": clear, "dc_get": dc.get, "k": "k"}
        res = _interleaved_timeit({"Cache.get": "cache_get(k)", "clear": "clear()", "diskcache": "dc_get(k)"}, ns,
                                  repeat, min_time=0.01)
        from kit.engine.measure import Measurement

        cleared = sorted(res["clear"].samples)[len(res["clear"].samples) // 2]
        res["Cache.get"] = Measurement("Cache.get", [x - cleared for x in res["Cache.get"].samples],
                                       res["Cache.get"].loops)
        rows.append(_row("L3 hit, 100 B bytes: Cache.get (L1, L2 empty) vs diskcache.Cache.get", res, "Cache.get",
                         "diskcache", 1, "the time"))
        cache.close()
        tier.close()
        dc.close()
        for n in sizes:
            rows.append(_l3_at(tmp / f"n{n}", n, repeat))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _l3_at(folder: Path, n: int, repeat: int) -> list[Any]:
    """A row: ``DiskTier.get`` vs ``diskcache.Cache.get`` of a 100 B value in stores of ``n`` entries."""
    import diskcache

    from kit.cache.disk import DiskTier

    tier = DiskTier(folder / "kit", 1 << 40, touch_interval=3600)
    dc = diskcache.Cache(str(folder / "diskcache"), size_limit=1 << 40)
    frame = tier.serializer.dumps(b"y" * 100)
    for start in range(0, n, 50_000):
        keys = [f"key:{i:09d}" for i in range(start, min(n, start + 50_000))]
        tier.store_many((k, frame) for k in keys)
        with dc.transact():
            for k in keys:
                dc.set(k, b"y" * 100)
    keys = [f"key:{i:09d}" for i in random.Random(0).sample(range(n), 64)]
    assert all(tier.get(k) == dc.get(k) == b"y" * 100 for k in keys)
    it = itertools.cycle(keys)
    ns = {"tier_get": tier.get, "dc_get": dc.get, "nxt": it.__next__}
    res = _interleaved_timeit({"kit L3": "tier_get(nxt())", "diskcache": "dc_get(nxt())"}, ns, repeat,
                              min_time=0.01)
    tier.close()
    dc.close()
    return _row(f"L3 hit, 100 B, {n:,} entries: DiskTier.get vs diskcache.Cache.get", res, "kit L3", "diskcache",
                1, "the time")


def _corpus() -> list[tuple[str, bytes, int]]:
    import numpy as np

    from kit._paths import shared_file
    from kit.payloads import numeric, random_bytes

    out = []
    folder = shared_file("canterbury")
    if folder is not None:
        for p in sorted(folder.iterdir()):
            if p.is_file() and not p.name.startswith(("COPYING", "LICENSE")):
                out.append((f"canterbury/{p.name}", p.read_bytes(), 1))
    rng = np.random.default_rng(0)
    out.append(("float64 random walk, 1 MiB", np.cumsum(rng.normal(size=1 << 17)).tobytes(), 8))
    out.append(("int64 sensor counts, 1 MiB", (1000 + rng.poisson(3, size=1 << 17).cumsum()).astype("<i8").tobytes(), 8))
    # A smooth 2-D field with noise, quantized (as images and simulations are): no exact repeats.
    field = np.cumsum(np.cumsum(rng.normal(size=(512, 512)), axis=0), axis=1) / 50
    out.append(("float32 smooth field + noise, 1 MiB", np.round(field + rng.normal(scale=0.05, size=field.shape), 2)
                .astype("<f4").tobytes(), 4))
    out.append(("kit numeric payload, 1 MiB", numeric(1 << 20, 3), 8))
    out.append(("random bytes, 1 MiB", random_bytes(1 << 20, 3), 1))
    out.append(("random bytes, 4 KiB", random_bytes(4096, 4), 1))
    return out


def held_out(whole: int = 1 << 20, slices: tuple[int, ...] = (4 << 10, 64 << 10)) -> list[tuple[str, bytes, int]]:
    """Inputs the codec model and its thresholds were never tuned on, built from files on this machine.

    A tar (made in memory) of the standard library's ``.py`` sources, the
    middle of numpy's largest shared library, and the largest JSON file an
    installed package ships (outside ``.dist-info``, at most 2 MiB): each
    whole (its middle ``whole`` bytes) and as slices of ``slices`` bytes from
    its middle. Absent pieces are left out.

    Examples
    --------
    >>> [label for label, _, _ in held_out()][:2]  # doctest: +SKIP
    ['held-out stdlib .py tar, 1 MiB', 'held-out stdlib .py tar, 4 KiB']
    """
    import io
    import sysconfig
    import tarfile

    def middle(data: bytes, n: int) -> bytes:
        start = max(0, (len(data) - n) // 2)
        return data[start: start + n]

    pieces: list[tuple[str, bytes]] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in sorted(stdlib.glob("*.py")):
            tar.add(f, arcname=f.name)
            if buf.tell() > 2 * whole:
                break
    if buf.tell():
        pieces.append(("stdlib .py tar", buf.getvalue()))
    try:
        import numpy

        libs = sorted(Path(numpy.__file__).parent.rglob("*.so"), key=lambda q: (-q.stat().st_size, q.name))
        if libs:
            pieces.append((f"{libs[0].name.split('.')[0]}.so", libs[0].read_bytes()))
    except ImportError:
        pass
    site = Path(sysconfig.get_paths()["purelib"])
    found = [(q.stat().st_size, str(q)) for q in site.rglob("*.json")
             if ".dist-info" not in str(q) and q.stat().st_size <= 2 << 20]
    if found:
        q = Path(max(found)[1])
        pieces.append((f"{q.parent.name}/{q.name}", q.read_bytes()))
    out = []
    for name, data in pieces:
        for n in (whole,) + slices:
            if len(data) >= n:
                size = f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
                out.append((f"held-out {name}, {size}", middle(data, n), 1))
    return out


def objective_samples(fns: dict[str, Any], samples: int, min_time: float, bandwidth: float,
                       decode: Any, codec_of: Any) -> tuple[dict[str, list[float]], dict[str, collections.Counter]]:
    """Samples of the objective per call, ``t_compress + t_decompress + size / B``, for each contender.

    Each call compresses, decompresses what it produced and records its size
    and codec, so that a contender whose output varies from call to call
    (``codec="auto"`` decides each time) is charged for what it actually
    did in the timed calls. CPU time, calibrated loops, samples interleaved
    in rotating order. Returns the samples and, per contender, the codecs
    its timed calls produced.
    """
    sizes: dict[str, list[int]] = {name: [] for name in fns}
    chose: dict[str, collections.Counter] = {name: collections.Counter() for name in fns}

    def round_trip(name: str) -> Any:
        fn, out, seen = fns[name], sizes[name], chose[name]

        def call() -> None:
            frame = fn()
            decode(frame)
            out.append(len(frame))
            seen[codec_of(frame)] += 1
        return call

    calls = {name: round_trip(name) for name in fns}
    loops = {}
    for name, call in calls.items():
        n = 1
        while True:
            t0 = _CPU()
            for _ in range(n):
                call()
            dt = _CPU() - t0
            if dt >= min_time or n >= 1 << 16:
                break
            n *= 2 if dt <= 0 else max(2, min(int(min_time / dt * 1.2), 64))
        loops[name] = n
    for c in chose.values():
        c.clear()
    out: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(samples):
        for name in names[r % len(names):] + names[: r % len(names)]:
            call, n, sz = calls[name], loops[name], sizes[name]
            del sz[:]
            t0 = _CPU()
            for _ in range(n):
                call()
            out[name].append((_CPU() - t0) / n + sum(sz) / len(sz) / bandwidth)
    return out, chose


def compression_target(preset: str = "quick", objective: str = "balanced",
                       level: str = "balanced", inputs: str = "all") -> tuple[Table, dict[str, Any]]:
    """Per input: the objective of ``codec="auto"`` and of each codec, measured; auto vs the best in hindsight.

    ``inputs``: ``"all"`` (Canterbury, the typed arrays and random bytes, then
    the held-out set of :func:`held_out`), ``"tuned"`` (the first part) or
    ``"held-out"``.
    """
    from kit import registry as _registry
    from kit.compression import CODEC_IDS, OBJECTIVES, calibration_seconds, compress, decompress
    from kit.engine.measure import format_time
    from kit.registry.codecs import CODECS

    bandwidth = OBJECTIVES[objective]
    codecs = ["raw"] + [c for c in CODECS if _registry.backend("compress", c).available]
    rows: list[list[Any]] = []
    worst_ratio, worst_excess = 0.0, -math.inf
    calibration = []
    samples, min_time = (5, 0.003) if preset == "quick" else (31, 0.01)
    first = 3
    pruned_any = False

    names = {v: k for k, v in CODEC_IDS.items()}

    def codec_of(frame: bytes) -> str:
        return names[frame[5]]  # the header's codec id: a byte read, not a parse, inside timed calls

    corpus = ([] if inputs == "held-out" else _corpus()) + ([] if inputs == "tuned" else held_out())
    for label, data, ts in corpus:
        # Warm-up: imports and the per-process calibration are reported apart.
        before = calibration_seconds()
        compress(data, typesize=ts, level=level, objective=objective)
        if calibration_seconds() > before:
            calibration.append(calibration_seconds() - before)
        fns = {c: functools.partial(compress, data, c, level, typesize=ts) for c in codecs} | {
            "auto": functools.partial(compress, data, "auto", level, objective=objective, typesize=ts)}
        # First every contender, then only those that can still be best: a codec over
        # 1.5x the best after `first` samples is not sampled further (lzma takes 0.3 s
        # per MiB), and keeps the minimum of its first samples (an upper bound).
        res, chose = objective_samples(fns, min(first, samples), min_time, bandwidth, decompress, codec_of)
        if samples > first:
            lead = min(min(res[c]) for c in codecs)
            keep = [c for c in fns if c == "auto" or c in chose["auto"] or min(res[c]) <= 1.5 * lead]
            pruned_any |= len(keep) < len(fns)
            more, more_chose = objective_samples({c: fns[c] for c in keep}, samples - first, min_time, bandwidth,
                                                  decompress, codec_of)
            for c in keep:
                res[c] += more[c]
            chose["auto"] += more_chose["auto"]
        # The minimum of interleaved samples: on a shared machine, load only ever adds time.
        cost = {c: min(v) for c, v in res.items()}
        votes = chose["auto"]
        calls = sum(votes.values())
        # What auto's timed calls chose, each named explicitly, weighted by how often.
        cost["its choice"] = sum(k / calls * cost[c] for c, k in votes.items())
        best = min(codecs, key=lambda c: cost[c])
        shown = (next(iter(votes)) if len(votes) == 1
                 else ", ".join(f"{c} {k / calls:.0%}" for c, k in votes.most_common()))
        auto_best = cost["auto"] / cost[best]
        auto_frames = {codec_of(f): f for f in (compress(data, typesize=ts, level=level, objective=objective)
                                                for _ in range(5))}
        excess = max(len(fns[c]()) for c in votes) - len(data)
        excess = max(excess, max(len(f) for f in auto_frames.values()) - len(data))
        worst_ratio, worst_excess = max(worst_ratio, auto_best), max(worst_excess, excess)
        # auto = (its choice, named explicitly) x (overhead of deciding); the choice's regret is its choice / best
        rows.append([label, len(data), shown, best, format_time(cost["auto"]), format_time(cost["its choice"]),
                     format_time(cost[best]), f"{cost['auto'] / cost['its choice']:.3f}",
                     f"{cost['its choice'] / cost[best]:.3f}", f"{auto_best:.3f}", excess,
                     auto_best <= 1.10 and excess <= 64])
    notes = [f"objective: t_compress + t_decompress + size / {bandwidth / 1e6:.0f} MB/s ('{objective}'), "
             f"level '{level}'; per call: compress, then decompress what it produced (CPU time, process_time, all "
             f"threads), plus its size / B; the minimum of {samples} interleaved samples of at least "
             f"{min_time * 1e3:.0f} ms each"
             + (f" (a codec over 1.5x the best after {first} samples: the minimum of those)" if pruned_any else "")
             + "; the same kit.compress framing for every column",
             f"worst auto/best = {worst_ratio:.3f} (target <= 1.10); largest auto frame - input = "
             f"{worst_excess} bytes (target <= 64)",
             f"one-off per process: the codec model's calibration took "
             f"{sum(calibration):.3f} s (not counted above; loaded from the cache dir when present)"]
    table = Table("codec='auto' vs the best codec in hindsight",
                  ["input", "bytes", "auto chose", "best", "auto", "its choice", "best", "overhead", "regret",
                   "auto/best", "auto - input (B)", "met"], rows,
                  ["costs: auto = compress(codec='auto'), decoding and moving what it produced; its choice = the "
                   "codecs auto chose in its timed calls, named explicitly, weighted by how often it chose each; "
                   "overhead = auto / its choice; regret = its choice / best"] + notes)
    return table, {"worst_ratio": worst_ratio, "worst_excess": worst_excess, "met": all(r[-1] for r in rows)}


def cache_targets(preset: str = "quick", mib: int = 100, entries: tuple[int, ...] | None = None) -> Table:
    """The cache's targets in one table (``entries``: store sizes of the L3 rows; 1k and 100k, 1M with --full)."""
    repeat = 11 if preset == "quick" else 31
    if entries is None:
        entries = (1000, 100_000) if preset == "quick" else (1000, 100_000, 1_000_000)
    rows = memoize_target(preset, mib) + l1_target(repeat) + l3_target(repeat, entries)
    return Table("cache targets", ["target", "kit", "other", "ratio", "95% CI", "ratio of minima", "target", "met"],
                 rows, ["kit/other: medians of interleaved samples (memoize: wall clock; L1, L3: CPU time, "
                        "process_time); ratio = ratio of medians, CI by bootstrap (kit.stats.ratio_ci); "
                        "'met' judges the ratio of medians"])


def build_parser() -> Parser:
    """The options of ``python -m kit.targets cache``."""
    p = parser("cache", description(__doc__))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="fewer samples (default)")
    g.add_argument("--full", action="store_true", help="more samples")
    p.add_argument("--only", choices=("cache", "compression"), help="one group of targets")
    p.add_argument("--inputs", choices=("all", "tuned", "held-out"), default="all",
                   help="compression inputs: Canterbury and arrays ('tuned'), 'held-out' ones, or both")
    p.add_argument("--mib", type=positive_int, default=100, help="size of the memoize argument (default 100 MiB)")
    p.add_argument("--entries", type=positive_int, nargs="+", metavar="N",
                   help="store sizes of the L3 rows (default 1000 100000; with --full also 1000000)")
    p.add_argument("--json", action="store_true", help="print the tables' rows as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Print the targets; exit status 0 when every target is met, 1 otherwise, 2 on a bad option."""
    args = build_parser().parse_args(argv)
    preset = "full" if args.full else "quick"
    out: dict[str, Any] = {"machine": machine_line()}
    met = True
    if args.only in (None, "cache"):
        t = cache_targets(preset, args.mib, tuple(args.entries) if args.entries else None)
        out["cache"] = t.records()
        met &= all_met(t.rows)
        if not args.json:
            print(out["machine"])
            print(t)
            print()
    if args.only in (None, "compression"):
        t, summary = compression_target(preset, inputs=args.inputs)
        out["compression"] = {"rows": t.records(), **summary}
        met &= summary["met"]
        if not args.json:
            if args.only == "compression":
                print(out["machine"])
            print(t)
    if args.json:
        print_json(out)
    return 0 if met else 1
