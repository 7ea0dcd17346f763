"""Cache exploration: hit-rate curves per policy and tier, bytes saved by compression, memoize.

A seeded request trace (:func:`kit.workloads.trace`) is replayed

* through each L1 policy of :data:`kit.cache.POLICIES` at several sizes
  (:func:`hit_rate_curves`), on a simulated clock that ticks once per request,
  so the ``ttl`` policy's time to live is counted in requests;
* through a composed :class:`kit.Cache` (L1 memory, L2 compressed memory, L3
  SQLite on disk) at several L1 sizes (:func:`tier_breakdown`), to show which
  tier answers each request and how many bytes L2's compression saves.

:func:`compression_savings` compresses one payload of each kind with
``kit.compress(codec="auto")``; :class:`MemoizePanel` calls a memoized array
function and shows hits, misses and the time each call took.

Examples
--------
>>> from kit.workloads import trace
>>> curves = hit_rate_curves(trace(2000, distinct=200, seed=1), ["lru"], [10, 100], progress_bar=False)
>>> 0 <= curves.rates["lru"][0] <= curves.rates["lru"][1] <= curves.ceiling
True
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from kit.notebook._common import (Panel, format_bytes, html_output, ipywidgets, new_figure, note_html, png_output,
                                  progress, quick, to_png)

__all__ = ["CacheExplorer", "HitRates", "MemoizePanel", "TierBreakdown", "compression_savings", "hit_rate_curves",
           "plot_hit_rates", "plot_tiers", "smooth", "tier_breakdown"]

#: Cache sizes (entries) offered by the size-range slider.
CACHE_SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
DISTINCT_STEPS = (100, 300, 1000, 3000, 10000, 30000)
LENGTH_STEPS = (1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000)
TTL_STEPS = (100, 300, 1000, 3000, 10000, 30000, 100000)
VALUE_SIZES = (256, 1 << 10, 4 << 10, 16 << 10)
#: Defaults by mode (quick: seconds; otherwise the issue's 100,000-request replay).
DEFAULTS = {
    True: {"length": 5000, "distinct": 1000, "sizes": (10, 500), "tier_length": 2000},
    False: {"length": 100000, "distinct": 10000, "sizes": (10, 5000), "tier_length": 20000},
}
_TIER_COLOURS = {"l1": "#1f77b4", "l2": "#2ca02c", "l3": "#ff7f0e", "redis": "#9467bd", "miss": "#bbbbbb"}


def _policies() -> dict[str, Any]:
    from kit.cache import POLICIES

    return POLICIES


@dataclass
class HitRates:
    """Hit rate of each policy at each cache size on one trace.

    ``ceiling`` is the best any cache can do on the trace: every request but
    the first of each key is a hit (an unbounded cache).

    Examples
    --------
    >>> r = hit_rate_curves([0, 1, 0, 0], ["lru"], [1], progress_bar=False)
    >>> r.rates, r.ceiling
    ({'lru': [0.25]}, 0.5)
    """

    sizes: list[int]
    rates: dict[str, list[float]]
    ceiling: float
    requests: int
    distinct_seen: int
    ttl: float | None = None
    seconds: float = 0.0

    def table(self) -> Any:
        from kit._display import Table

        rows = [[s, *(f"{self.rates[p][i]:.1%}" for p in self.rates)] for i, s in enumerate(self.sizes)]
        notes = [f"{self.requests} requests over {self.distinct_seen} distinct keys; an unbounded cache would "
                 f"hit {self.ceiling:.1%}."]
        if self.ttl is not None and "ttl" in self.rates:
            notes.append(f"ttl policy: entries live {self.ttl:g} requests (the clock ticks once per request).")
        return Table("hit rate by L1 policy and size (entries)", ["entries", *self.rates], rows, notes)


@dataclass
class TierBreakdown:
    """Which tier of a composed :class:`kit.Cache` answered the requests, per L1 size.

    Examples
    --------
    >>> b = tier_breakdown([0, 1, 0], [1], value_size=256, progress_bar=False)  # doctest: +SKIP
    >>> b.served                                                                 # doctest: +SKIP
    {'l1': [0], 'l2': [1], 'l3': [0], 'miss': [2]}
    """

    l1_sizes: list[int]
    served: dict[str, list[int]]  # "l1", "l2", "l3", "miss" -> counts aligned with l1_sizes
    raw_bytes: list[int]  # L2: encoded bytes before compression
    stored_bytes: list[int]  # L2: compressed bytes held
    requests: int
    value_size: int
    seconds: float = 0.0
    stats: list[dict[str, Any]] = field(default_factory=list)

    def hit_rates(self) -> dict[str, list[float]]:
        return {t: [n / self.requests for n in counts] for t, counts in self.served.items()}

    def table(self) -> Any:
        from kit._display import Table

        rows = []
        for i, s in enumerate(self.l1_sizes):
            saved = 1 - self.stored_bytes[i] / self.raw_bytes[i] if self.raw_bytes[i] else float("nan")
            rows.append([s, *(f"{self.served[t][i] / self.requests:.1%}" for t in self.served),
                         format_bytes(self.raw_bytes[i]), format_bytes(self.stored_bytes[i]), f"{saved:.0%}"])
        return Table("where requests were served (kit.Cache: L1 memory, L2 compressed, L3 disk)",
                     ["L1 entries", *self.served, "L2 raw", "L2 stored", "saved"], rows,
                     [f"{self.requests} requests, values of ~{format_bytes(self.value_size)} (serialized JSON); "
                      "L2 holds as many compressed bytes as L1 holds entries x value size."])


def hit_rate_curves(keys: Sequence[int], policies: Sequence[str], sizes: Sequence[int], ttl: float | None = None,
                    progress_bar: bool = True) -> HitRates:
    """Replay a trace through each L1 policy at each size; the hit rate of each.

    Parameters
    ----------
    keys : sequence of int
        The trace (e.g. :func:`kit.workloads.trace`).
    policies : sequence of str
        Names in :data:`kit.cache.POLICIES` (``lru``, ``lfu``, ``ttl``).
    sizes : sequence of int
        Cache sizes in entries.
    ttl : float, optional
        Time to live in requests for the ``ttl`` policy (default: the trace length / 10).
    progress_bar : bool
        Show a ``tqdm.auto`` bar.

    Returns
    -------
    HitRates

    Examples
    --------
    >>> r = hit_rate_curves([0, 1, 0, 1, 2, 0], ["lru"], [2], progress_bar=False)
    >>> r.rates["lru"]
    [0.3333333333333333]
    """
    from kit.cache import POLICIES

    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise ValueError(f"policies must be a non-empty selection of {', '.join(POLICIES)}; got {list(policies)!r}")
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"sizes must be positive entry counts, got {sizes!r}")
    keys = [int(k) for k in keys]
    if not keys:
        raise ValueError("the trace is empty (expected at least one request)")
    if ttl is None:
        ttl = max(1.0, len(keys) / 10)
    t0 = time.perf_counter()
    bar = progress(len(policies) * len(sizes), "replaying the trace") if progress_bar else None
    rates: dict[str, list[float]] = {}
    try:
        for policy in policies:
            rates[policy] = []
            for size in sizes:
                rates[policy].append(_replay(keys, policy, size, ttl))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    distinct = len(set(keys))
    return HitRates(sizes, rates, 1 - distinct / len(keys), len(keys), distinct,
                    ttl if "ttl" in policies else None, time.perf_counter() - t0)


def _replay(keys: list[int], policy: str, size: int, ttl: float) -> float:
    from kit.cache import POLICIES

    clock = [0.0]
    kwargs: dict[str, Any] = {"maxsize": size, "maxbytes": None, "timer": lambda: clock[0]}
    if policy == "ttl":
        kwargs["ttl"] = ttl
    tier = POLICIES[policy](**kwargs)
    missing = object()
    get, put = tier.get, tier.set
    for k in keys:
        clock[0] += 1.0
        if get(k, missing) is missing:
            put(k, True)
    return tier.hits / len(keys)


def tier_breakdown(keys: Sequence[int], l1_sizes: Sequence[int], value_size: int = 4096, policy: str = "lru",
                   path: Any = None, progress_bar: bool = True) -> TierBreakdown:
    """Replay a trace through a composed :class:`kit.Cache` at each L1 size; who answered.

    A miss stores the key's value (a seeded JSON document of about
    ``value_size`` bytes, serialized) write-through in L1, L2 and L3. L2 is bounded to
    ``l1 entries x value_size`` compressed bytes; L3 is a fresh SQLite store
    under ``path`` (a temporary folder by default).

    Examples
    --------
    >>> from kit.workloads import trace
    >>> b = tier_breakdown(trace(300, distinct=50), [5], value_size=256, progress_bar=False)  # doctest: +SKIP
    >>> sum(b.served[t][0] for t in b.served) == 300                                           # doctest: +SKIP
    True
    """
    import kit
    from kit.cache import Cache
    from kit.workloads import payload

    if value_size not in VALUE_SIZES:
        raise ValueError(f"value_size must be one of {', '.join(map(str, VALUE_SIZES))}; got {value_size!r}")
    if policy not in _policies():
        raise ValueError(f"policy must be one of {', '.join(_policies())}; got {policy!r}")
    l1_sizes = sorted({int(s) for s in l1_sizes})
    keys = [int(k) for k in keys]
    if not keys or not l1_sizes or l1_sizes[0] < 1:
        raise ValueError(f"need a non-empty trace and positive L1 sizes, got {len(keys)} requests, {l1_sizes!r}")
    values: dict[int, Any] = {}
    t0 = time.perf_counter()
    served: dict[str, list[int]] = {"l1": [], "l2": [], "l3": [], "miss": []}
    raw, stored, all_stats = [], [], []
    bar = progress(len(l1_sizes), "kit.Cache tiers") if progress_bar else None
    with tempfile.TemporaryDirectory(prefix="kit-cache-explorer-", dir=path) as tmp:
        try:
            for size in l1_sizes:
                cache = Cache(Path(tmp) / f"l1-{size}", memory=policy, max_entries=size, max_bytes=None,
                              compressed_bytes=size * value_size, disk=True, disk_bytes=256 << 20)
                missing = object()
                try:
                    for k in keys:
                        key = f"request:{k}"
                        if cache.get(key, missing) is missing:
                            if k not in values:
                                # a serialized response, as a service caches it
                                values[k] = kit.json.dumps(payload("json", value_size, seed=k))
                            cache.set(key, values[k])
                    s = cache.stats()
                finally:
                    cache.close()
                tiers = s["tiers"]
                for t in ("l1", "l2", "l3"):
                    served[t].append(int(tiers.get(t, {}).get("hits") or 0))
                served["miss"].append(int(s["misses"]))
                raw.append(int(tiers.get("l2", {}).get("raw_bytes") or 0))
                stored.append(int(tiers.get("l2", {}).get("bytes") or 0))
                all_stats.append(s)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    return TierBreakdown(l1_sizes, served, raw, stored, len(keys), value_size, time.perf_counter() - t0, all_stats)


def compression_savings(size: int = 64 << 10, kinds: Sequence[str] | None = None,
                        seed: int = 0) -> list[dict[str, Any]]:
    """Compress one seeded payload of each kind with ``kit.compress(codec="auto")``.

    Returns one dict per kind: ``kind``, ``raw``, ``frame`` (bytes), ``codec``
    the engine chose (``raw`` when the data would not shrink), ``saved``
    (fraction).

    Examples
    --------
    >>> rows = compression_savings(4096, ["text", "random"])
    >>> rows[0]["frame"] < rows[0]["raw"], rows[1]["codec"]
    (True, 'raw')
    """
    from kit.compression import compress, frame_info
    from kit.engine import payload_nbytes
    from kit.workloads import KINDS, payload

    kinds = list(kinds) if kinds is not None else [k for k in KINDS if k != "table"]
    out = []
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown payload kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        data = payload(kind, size, seed=seed)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            import kit

            data = kit.json.dumps(data) if kind == "json" else None
            if data is None:
                raise ValueError(f"payload kind {kind!r} is not bytes; compression_savings takes bytes-like kinds")
        frame = compress(data)
        info = frame_info(frame)
        raw_n = payload_nbytes(data)
        out.append({"kind": kind, "raw": raw_n, "frame": len(frame), "codec": info.codec,
                    "saved": 1 - len(frame) / raw_n if raw_n else 0.0})
    return out


def plot_hit_rates(curves: HitRates, keys: Sequence[int] | None = None) -> Any:
    """Two panels: the trace's popularity (rank vs requests, log-log) and hit rate vs size per policy.

    Examples
    --------
    >>> keys = [0, 1, 0, 2, 0]
    >>> len(plot_hit_rates(hit_rate_curves(keys, ["lru"], [1, 2], progress_bar=False), keys).axes)
    2
    """
    import numpy as np

    fig, (ax0, ax1) = new_figure(10.5, 4.0, ncols=2)
    if keys is not None and len(keys):
        counts = np.sort(np.bincount(np.asarray(keys, dtype=np.int64)))[::-1]
        counts = counts[counts > 0]
        ax0.loglog(np.arange(1, len(counts) + 1), counts, ".", ms=3)
        ax0.set_xlabel("key rank")
        ax0.set_ylabel("requests")
        ax0.set_title(f"trace: {len(keys)} requests, {len(counts)} keys")
        ax0.grid(True, alpha=0.3)
    for policy, rates in curves.rates.items():
        ax1.plot(curves.sizes, rates, marker="o", ms=4, label=policy)
    ax1.axhline(curves.ceiling, color="k", ls=":", lw=1, label="unbounded cache")
    ax1.set_xscale("log")
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("L1 size (entries)")
    ax1.set_ylabel("hit rate")
    ax1.set_title("hit rate by policy")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize="small", loc="upper left")
    return fig


def plot_tiers(breakdown: TierBreakdown, savings: list[dict[str, Any]]) -> Any:
    """Two panels: stacked share of requests per tier by L1 size, and bytes before/after compression.

    Examples
    --------
    >>> fig = plot_tiers(tier_breakdown([0, 1, 0], [1], 256, progress_bar=False),  # doctest: +SKIP
    ...                  compression_savings(4096))
    """
    fig, (ax0, ax1) = new_figure(10.5, 4.0, ncols=2)
    labels = [str(s) for s in breakdown.l1_sizes]
    bottom = [0.0] * len(labels)
    for tier, rates in breakdown.hit_rates().items():
        ax0.bar(labels, rates, bottom=bottom, label=tier if tier == "miss" else tier.upper() + " hit",
                color=_TIER_COLOURS.get(tier))
        bottom = [b + r for b, r in zip(bottom, rates)]
    ax0.set_ylim(0, 1)
    ax0.set_xlabel("L1 size (entries)")
    ax0.set_ylabel("share of requests")
    ax0.set_title("kit.Cache: which tier answered")
    ax0.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    names = [f"{r['kind']}\n({r['codec']})" for r in savings]
    xs = range(len(savings))
    ax1.bar([x - 0.2 for x in xs], [r["raw"] for r in savings], width=0.4, label="original", color="#bbbbbb")
    ax1.bar([x + 0.2 for x in xs], [r["frame"] for r in savings], width=0.4, label="kit.compress frame",
            color="#2ca02c")
    for x, r in zip(xs, savings):
        ax1.annotate(f"{r['saved']:.0%}", (x + 0.2, r["frame"]), ha="center", va="bottom", fontsize="small")
    if breakdown.raw_bytes and breakdown.raw_bytes[-1]:
        saved = 1 - breakdown.stored_bytes[-1] / breakdown.raw_bytes[-1]
        ax1.set_title(f"compression: kit.compress per kind; L2 held {saved:.0%} fewer bytes", fontsize="medium")
    else:
        ax1.set_title("compression: kit.compress per kind", fontsize="medium")
    ax1.set_xticks(list(xs), names)
    ax1.set_ylabel("bytes")
    ax1.legend(fontsize="small")
    return fig


class CacheExplorer(Panel):
    """Generate a trace, pick policies and sizes, and see hit rates, tiers and compression.

    Attributes
    ----------
    distribution, skew, distinct, length : widgets
        The trace (:func:`kit.workloads.trace`).
    policies : ipywidgets.SelectMultiple
        L1 policies (from :data:`kit.cache.POLICIES`).
    sizes : ipywidgets.SelectionRangeSlider
        L1 sizes in entries.
    ttl : ipywidgets.SelectionSlider
        Time to live of the ``ttl`` policy, in requests.
    value_size : ipywidgets.SelectionSlider
        Size of the values stored in the composed cache (replayed through it:
        the first ``tier_requests`` requests of the trace).
    button : ipywidgets.Button
        Runs :meth:`run`.
    hit_chart, tier_chart : ipywidgets.Image
        PNG charts; ``table`` the numbers.
    curves, breakdown, savings, keys
        The last results.

    Examples
    --------
    >>> ex = CacheExplorer()          # doctest: +SKIP
    >>> ex.skew.value = 0.8           # doctest: +SKIP
    >>> ex.run()                      # same as pressing Simulate   # doctest: +SKIP
    """

    def __init__(self, distribution: str = "zipf", skew: float = 1.1, distinct: int | None = None,
                 length: int | None = None, policies: Sequence[str] | None = None,
                 sizes: tuple[int, int] | None = None, tier_requests: int | None = None) -> None:
        super().__init__()
        from kit.workloads import DISTRIBUTIONS

        w = ipywidgets()
        d = DEFAULTS[quick()]
        distinct = d["distinct"] if distinct is None else distinct
        length = d["length"] if length is None else length
        lo, hi = sizes or d["sizes"]
        pols = list(_policies())
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}; got {distribution!r}")
        for name, value, steps in (("distinct", distinct, DISTINCT_STEPS), ("length", length, LENGTH_STEPS)):
            if value not in steps:
                raise ValueError(f"{name} must be one of {', '.join(map(str, steps))}; got {value!r}")
        if lo not in CACHE_SIZES or hi not in CACHE_SIZES or lo > hi:
            raise ValueError(f"sizes must be (low, high) among {', '.join(map(str, CACHE_SIZES))}; got {(lo, hi)!r}")
        chosen = list(policies) if policies is not None else pols
        if not chosen or any(p not in pols for p in chosen):
            raise ValueError(f"policies must be a non-empty selection of {', '.join(pols)}; got {chosen!r}")
        self.tier_requests = d["tier_length"] if tier_requests is None else int(tier_requests)
        if self.tier_requests < 1:
            raise ValueError(f"tier_requests must be a positive int, got {tier_requests!r}")
        self.keys: Any = None
        self.curves: HitRates | None = None
        self.breakdown: TierBreakdown | None = None
        self.savings: list[dict[str, Any]] | None = None
        style = {"description_width": "90px"}
        self.distribution = w.Dropdown(options=list(DISTRIBUTIONS), value=distribution, description="distribution",
                                       style=style)
        self.skew = w.FloatSlider(value=skew, min=0.0, max=2.0, step=0.05, description="skew (zipf)",
                                  continuous_update=False, style=style)
        self.distinct = w.SelectionSlider(options=list(DISTINCT_STEPS), value=distinct, description="distinct keys",
                                          continuous_update=False, style=style)
        self.length = w.SelectionSlider(options=list(LENGTH_STEPS), value=length, description="requests",
                                        continuous_update=False, style=style)
        self.policies = w.SelectMultiple(options=pols, value=tuple(chosen), description="policies", rows=3,
                                         style=style)
        self.sizes = w.SelectionRangeSlider(options=list(CACHE_SIZES), index=(CACHE_SIZES.index(lo),
                                            CACHE_SIZES.index(hi)), description="L1 entries",
                                            continuous_update=False, style=style, layout=w.Layout(width="420px"))
        default_ttl = min(TTL_STEPS, key=lambda t: abs(t - length / 10))
        self.ttl = w.SelectionSlider(options=list(TTL_STEPS), value=default_ttl, description="ttl (requests)",
                                     continuous_update=False, style=style)
        self.value_size = w.SelectionSlider(options=[(format_bytes(v), v) for v in VALUE_SIZES], value=4096,
                                            description="value size", continuous_update=False, style=style)
        self.button = w.Button(description="Simulate", button_style="primary", icon="play")
        self.hit_chart = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.tier_chart = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.table = w.HTML()
        self.button.on_click(self._guarded(self.run))
        self.distribution.observe(lambda ch: self._sync_skew(), names="value")
        self._sync_skew()
        self.result_boxes = w.VBox([self.hit_chart, self.tier_chart, self.table])
        self.widget = w.VBox([
            w.HBox([w.VBox([self.distribution, self.skew, self.distinct, self.length]),
                    w.VBox([self.policies, self.sizes, self.ttl, self.value_size])]),
            self.button, self.status, self.log, self.result_boxes,
        ])
        self.widget.add_class("kit-cache-explorer")
        self.status.value = note_html("Set the trace and the caches, then press Simulate.")

    def _sync_skew(self) -> None:
        self.skew.disabled = self.distribution.value != "zipf"

    def make_trace(self) -> Any:
        """The trace the widgets describe (seeded: same widgets, same trace)."""
        from kit.workloads import trace

        return trace(int(self.length.value), self.distribution.value, distinct=int(self.distinct.value),
                     skew=float(self.skew.value), seed=0)

    def selected_sizes(self) -> list[int]:
        lo, hi = self.sizes.value
        return [s for s in CACHE_SIZES if lo <= s <= hi]

    def run(self) -> HitRates:
        """Replay the trace through the policies and through kit.Cache; redraw everything."""
        if not self.policies.value:
            raise ValueError(f"select at least one policy (of {', '.join(self.policies.options)})")
        self.status.value = note_html("replaying ...")
        self.log.clear_output()
        self.keys = self.make_trace()
        sizes = self.selected_sizes()
        with self.log:
            self.curves = hit_rate_curves(self.keys, list(self.policies.value), sizes, ttl=float(self.ttl.value))
            n = self.tier_requests
            tier_sizes = sizes if len(sizes) <= 4 else [sizes[round(i * (len(sizes) - 1) / 3)] for i in range(4)]
            policy = "lru" if "lru" in self.policies.value else self.policies.value[0]
            self.breakdown = tier_breakdown(self.keys[:n], tier_sizes, int(self.value_size.value), policy=policy)
        self.savings = compression_savings(int(self.value_size.value))
        self.hit_chart.value = to_png(plot_hit_rates(self.curves, self.keys))
        self.tier_chart.value = to_png(plot_tiers(self.breakdown, self.savings))
        self.table.value = self.curves.table()._repr_html_() + self.breakdown.table()._repr_html_()
        self.show("hit_chart", png_output(self.hit_chart.value))
        self.show("tier_chart", png_output(self.tier_chart.value))
        self.show("table", html_output(self.table.value))
        self.status.value = note_html(
            f"{self.curves.requests} requests x {len(self.curves.rates)} policies x {len(sizes)} sizes in "
            f"{self.curves.seconds:.1f} s; kit.Cache replay of {self.breakdown.requests} requests in "
            f"{self.breakdown.seconds:.1f} s")
        return self.curves


# --- memoize ---------------------------------------------------------------------------------


def smooth(signal: Any, window: int) -> Any:
    """Moving average of ``signal`` over ``window`` samples (direct convolution: O(n x window)).

    The function :class:`MemoizePanel` memoizes.

    Examples
    --------
    >>> import numpy as np
    >>> smooth(np.ones(5), 3).round(3).tolist()
    [0.667, 1.0, 1.0, 1.0, 0.667]
    """
    import numpy as np

    if window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    return np.convolve(np.asarray(signal, dtype=np.float64), np.ones(window) / window, mode="same")


class MemoizePanel(Panel):
    """``kit.memoize`` in action: call a memoized array function, see hits, misses and times.

    Each press of **Call** builds the seeded array the sliders describe and
    calls the memoized :func:`smooth` on it. The first call of an array and
    window computes; the next ones are answered from the cache (the key is the
    array's content, dtype and shape, at memory speed). Moving a slider makes
    a new array, hence a miss.

    Parameters
    ----------
    cache : kit.Cache, optional
        Where results go (default: a fresh cache in a temporary folder, so
        the demonstration starts with misses).

    Examples
    --------
    >>> m = MemoizePanel()            # doctest: +SKIP
    >>> m.call(); m.call()            # a miss, then a hit   # doctest: +SKIP
    >>> [c["result"] for c in m.calls]  # doctest: +SKIP
    ['miss', 'hit']
    """

    SIZES = (1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22)

    def __init__(self, cache: Any = None, size: int | None = None, window: int = 101) -> None:
        super().__init__()
        import kit

        w = ipywidgets()
        size = size if size is not None else (1 << 18 if quick() else 1 << 20)
        if size not in self.SIZES:
            raise ValueError(f"size must be one of {', '.join(map(str, self.SIZES))}; got {size!r}")
        self._tmp = None
        if cache is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kit-memoize-demo-")
            cache = kit.Cache(self._tmp.name)
        self.cache = cache
        self.fn = kit.memoize(smooth, cache=cache)
        self.calls: list[dict[str, Any]] = []
        self.size = w.SelectionSlider(options=[(f"{s:,} float64 ({format_bytes(s * 8)})", s) for s in self.SIZES],
                                      value=size, description="array", continuous_update=False,
                                      layout=w.Layout(width="480px"))
        self.window = w.IntSlider(value=window, min=1, max=401, step=10, description="window",
                                  continuous_update=False)
        self.button = w.Button(description="Call smooth(array, window)", button_style="primary",
                               layout=w.Layout(width="auto"))
        self.clear_button = w.Button(description="Clear its cache", layout=w.Layout(width="auto"))
        self.table = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.button.on_click(self._guarded(self.call))
        self.clear_button.on_click(self._guarded(self.clear))
        self.result_boxes = w.VBox([self.chart, self.table])
        self.widget = w.VBox([self.size, self.window, w.HBox([self.button, self.clear_button]), self.status,
                              self.result_boxes])
        self.widget.add_class("kit-memoize")

    def call(self) -> Any:
        """Call the memoized function once on the sliders' array; record hit or miss and the time."""
        import numpy as np

        n, window = int(self.size.value), int(self.window.value)
        signal = np.random.default_rng(n).normal(size=n).cumsum()
        hits = self.fn.hits
        t0 = time.perf_counter()
        out = self.fn(signal, window)
        dt = time.perf_counter() - t0
        result = "hit" if self.fn.hits > hits else "miss"
        self.calls.append({"call": len(self.calls) + 1, "elements": n, "window": window, "result": result,
                           "seconds": dt})
        self._draw()
        return out

    def clear(self) -> None:
        """Remove the function's results from every tier (the next call computes)."""
        self.fn.clear()
        self.status.value = note_html("cleared: the next call computes")

    def _draw(self) -> None:
        from kit._display import Table
        from kit.engine.measure import format_time

        info = self.fn.info()
        rows = [[c["call"], f"{c['elements']:,}", c["window"], c["result"], format_time(c["seconds"])]
                for c in self.calls]
        self.table.value = Table("calls of the memoized smooth()", ["call", "elements", "window", "result", "time"],
                                 rows, [f"hits {info['hits']}, misses {info['misses']}, compute time "
                                        f"{info['compute_seconds']:.3f} s"])._repr_html_()
        fig, ax = new_figure(6.5, 2.8)
        colours = ["#2ca02c" if c["result"] == "hit" else "#d62728" for c in self.calls]
        ax.bar([str(c["call"]) for c in self.calls], [c["seconds"] for c in self.calls], color=colours)
        ax.set_yscale("log")
        ax.set_ylim(bottom=min(c["seconds"] for c in self.calls) / 3)
        ax.set_xlabel("call (green: hit, red: miss)")
        ax.set_ylabel("seconds")
        ax.set_title("memoize: time per call")
        self.chart.value = to_png(fig)
        self.show("chart", png_output(self.chart.value))
        self.show("table", html_output(self.table.value))
        last = self.calls[-1]
        self.status.value = note_html(f"call {last['call']}: {last['result']} in {format_time(last['seconds'])}")
