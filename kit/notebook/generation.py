"""Generation: build a copy request with widgets, serve it through the cached service, watch latency.

The panel drives :class:`kit.workloads.CopyService` (validation, the
request's fingerprint as cache key in a multi-level :class:`kit.Cache`,
:func:`kit.workloads.generate_copy` on a miss). Each answer shows its
variants, whether it came from the cache and from which tier, and its
latency; a chart follows the latency of every request of the session.

Examples
--------
>>> from kit.notebook.generation import GenerationPanel
>>> gen = GenerationPanel()        # doctest: +SKIP
>>> gen.generate().hit             # a miss: generated    # doctest: +SKIP
False
>>> gen.generate().tier            # the same request: from L1   # doctest: +SKIP
'l1'
"""

from __future__ import annotations

import html
import tempfile
from typing import Any

from kit.notebook._common import Panel, html_output, ipywidgets, new_figure, note_html, png_output, progress, to_png

__all__ = ["GenerationPanel", "busy_metrics", "plot_latency", "split_features"]

_OUTCOME_COLOURS = {"miss": "#d62728", "l1": "#1f77b4", "l2": "#2ca02c", "l3": "#ff7f0e", "redis": "#9467bd"}


def _label(name: str) -> str:
    return name.replace("_", " ")


def split_features(text: str) -> list[str]:
    """Features typed one per line (or separated by ``;``), blanks dropped.

    Examples
    --------
    >>> split_features("fast\\n\\n light ; quiet")
    ['fast', 'light', 'quiet']
    """
    return [f.strip() for line in text.splitlines() for f in line.split(";") if f.strip()]


def busy_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The service's metrics with throughput over the time spent serving, not the time between requests.

    :meth:`kit.workloads.CopyService.metrics` divides by the wall time from the first request to the
    last, which in a notebook includes every pause between two clicks.

    Examples
    --------
    >>> m = busy_metrics({"requests": 4, "elapsed_s": 60.0, "throughput_rps": 0.07, "latency_s": {"sum": 0.002}})
    >>> m["throughput_rps"], m["elapsed_s"]
    (2000.0, 0.002)
    """
    busy = (metrics.get("latency_s") or {}).get("sum") or 0.0
    return {**metrics, "elapsed_s": busy, "throughput_rps": metrics["requests"] / busy if busy > 0 else None}


def plot_latency(history: list[dict[str, Any]]) -> Any:
    """Latency of each request of the session (log scale), coloured by who answered.

    Examples
    --------
    >>> fig = plot_latency([{"n": 1, "outcome": "miss", "latency": 2e-4}, {"n": 2, "outcome": "l1", "latency": 3e-6}])
    >>> fig.axes[0].get_ylabel()
    'latency (µs)'
    """
    fig, ax = new_figure(7.5, 3.2)
    for outcome, colour in _OUTCOME_COLOURS.items():
        pts = [(h["n"], h["latency"] * 1e6) for h in history if h["outcome"] == outcome]
        if pts:
            xs, ys = zip(*pts)
            label = "miss (generated)" if outcome == "miss" else f"{outcome.upper()} hit"
            ax.scatter(xs, ys, s=14, color=colour, label=f"{label} ({len(pts)})")
    ax.set_yscale("log")
    ax.set_xlabel("request of this session")
    ax.set_ylabel("latency (µs)")
    ax.set_title("latency per request")
    ax.grid(True, alpha=0.3)
    if history:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


class GenerationPanel(Panel):
    """Widgets for a copy request; answers from the cached service with tier and latency.

    Parameters
    ----------
    service : kit.workloads.CopyService, optional
        Default: a service over a ``kit.Cache`` with an L1 of ``l1_size``
        entries, a compressed L2 of ``l2_bytes`` and an on-disk L3 in a
        temporary folder (small, so that all three tiers answer in a burst).
    l1_size, l2_bytes : int
        Bounds of the default service's L1 (entries) and L2 (compressed bytes).

    Attributes
    ----------
    tone, use_case, language : ipywidgets.Dropdown
        Menus from :data:`kit.workloads.TONES`, ``USE_CASES``, ``LANGUAGES``.
    product, audience : ipywidgets.Text
    description, features : ipywidgets.Textarea
        Features one per line.
    variants : ipywidgets.IntSlider
    button : ipywidgets.Button
        Runs :meth:`generate`; ``burst_button`` runs :meth:`burst`.
    output : ipywidgets.HTML
        The variants of the last answer; ``chart`` the latency chart;
        ``metrics`` the service's metrics table.
    history : list of dict
        One entry per request: ``n``, ``request``, ``outcome`` (``miss``,
        ``l1``, ``l2``, ``l3``), ``latency``.

    Examples
    --------
    >>> gen = GenerationPanel()            # doctest: +SKIP
    >>> gen.language.value = "es"          # doctest: +SKIP
    >>> gen.generate().variants[0]         # doctest: +SKIP
    '¡Presentamos Aurora! ...'
    >>> gen.close()                        # doctest: +SKIP
    """

    def __init__(self, service: Any = None, l1_size: int = 16, l2_bytes: int = 16 << 10, product: str = "Aurora",
                 description: str = "A lamp that wakes you with the sunrise.",
                 features: tuple[str, ...] = ("dawn simulation", "quiet fan-free design"), audience: str = "",
                 tone: str = "professional", use_case: str = "product_launch", language: str = "en",
                 variants: int = 3) -> None:
        super().__init__()
        from kit.workloads import LANGUAGE_NAMES, LANGUAGES, LIMITS, TONES, USE_CASES, CopyService

        w = ipywidgets()
        for name, value, allowed in (("tone", tone, TONES), ("use_case", use_case, USE_CASES),
                                     ("language", language, LANGUAGES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        self._tmp = None
        self._own_cache = None
        if service is None:
            import kit

            # small L1 and L2 so that a burst of requests reaches all three tiers
            self._tmp = tempfile.TemporaryDirectory(prefix="kit-generation-")
            self._own_cache = kit.Cache(self._tmp.name, max_entries=l1_size, compressed_bytes=l2_bytes)
            service = CopyService(cache=self._own_cache)
        self.service = service
        self.history: list[dict[str, Any]] = []
        self.last: Any = None
        style = {"description_width": "90px"}
        self.product = w.Text(value=product, description="product", style=style)
        self.audience = w.Text(value=audience, description="audience", placeholder="optional", style=style)
        self.description = w.Textarea(value=description, description="description", style=style,
                                      layout=w.Layout(width="420px", height="60px"))
        self.features = w.Textarea(value="\n".join(features), description="features", style=style,
                                   placeholder="one per line", layout=w.Layout(width="420px", height="60px"))
        self.tone = w.Dropdown(options=list(TONES), value=tone, description="tone", style=style)
        self.use_case = w.Dropdown(options=[(_label(u), u) for u in USE_CASES], value=use_case,
                                   description="use case", style=style)
        self.language = w.Dropdown(options=[(f"{LANGUAGE_NAMES[c]} ({c})", c) for c in LANGUAGES], value=language,
                                   description="language", style=style)
        self.variants = w.IntSlider(value=variants, min=1, max=LIMITS["variants"], description="variants",
                                    style=style)
        # width "auto": a button as wide as its label (a fixed default width cuts it)
        self.button = w.Button(description="Generate", button_style="primary", icon="pencil",
                               layout=w.Layout(width="auto"))
        self.burst_button = w.Button(description="Send 200 requests (Zipf trace)", icon="forward",
                                     layout=w.Layout(width="auto"))
        self.output = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="760px"))
        self.metrics = w.HTML()
        self.button.on_click(self._guarded(self.generate))
        self.burst_button.on_click(self._guarded(lambda: self.burst(200)))
        for menu in (self.tone, self.use_case, self.language):  # a new choice is a new request: answer it
            menu.observe(lambda ch: self._guarded(self.generate)(), names="value")
        self.result_boxes = w.VBox([self.output, self.chart, self.metrics])
        self.widget = w.VBox([
            w.HBox([w.VBox([self.product, self.audience, self.tone, self.use_case, self.language, self.variants]),
                    w.VBox([self.description, self.features])]),
            w.HBox([self.button, self.burst_button]),
            self.status, self.log, self.result_boxes,
        ])
        self.widget.add_class("kit-generation")
        self.status.value = note_html("Fill in the request and press Generate.")

    def request(self) -> dict[str, Any]:
        """The request the widgets describe, as the service takes it."""
        return {"product": self.product.value, "description": self.description.value,
                "features": split_features(self.features.value), "audience": self.audience.value,
                "tone": self.tone.value, "use_case": self.use_case.value, "language": self.language.value,
                "variants": int(self.variants.value)}

    def generate(self) -> Any:
        """Send the widgets' request to the service; show variants, hit/tier, latency; update the chart.

        Returns the service's ``Response``. An invalid request raises
        ``InvalidRequest`` listing what is allowed (the button shows it on the
        status line instead).
        """
        from kit.engine.measure import format_time

        resp = self._send(self.request())
        self.last = resp
        where = f"from the cache ({resp.tier.upper()})" if resp.hit else "generated (cache miss)"
        self.status.value = note_html(f"request {len(self.history)}: {where} in {format_time(resp.latency)}")
        items = "".join(f"<li style='margin-bottom:6px'>{html.escape(v).replace(chr(10), '<br>')}</li>"
                        for v in resp.variants)
        badge = ("#2ca02c", f"cache hit: {resp.tier.upper()}") if resp.hit else ("#d62728", "cache miss: generated")
        self.output.value = (f"<div class='kit-variants'><span style='background:{badge[0]};color:white;"
                             f"padding:1px 6px;border-radius:3px'>{badge[1]}</span> "
                             f"<b>{format_time(resp.latency)}</b><ol>{items}</ol></div>")
        self.show("answer", html_output(self.output.value))
        self._draw()
        return resp

    def burst(self, n: int = 200, distinct: int = 60, skew: float = 1.1, seed: int = 0) -> dict[str, Any]:
        """Send ``n`` requests drawn from a Zipf trace over ``distinct`` generated requests.

        Shows a progress bar; returns the service's metrics.

        Examples
        --------
        >>> GenerationPanel().burst(50)["requests"] >= 50     # doctest: +SKIP
        True
        """
        from kit.workloads import copy_requests, trace

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        catalogue = copy_requests(distinct, seed)
        keys = trace(n, "zipf", distinct=distinct, skew=skew, seed=seed)
        self.log.clear_output()
        with self.log:
            bar = progress(n, "requests")
            try:
                for k in keys:
                    self._send(catalogue[int(k)])
                    bar.update(1)
            finally:
                bar.close()
        self._draw()
        m = busy_metrics(self.service.metrics())
        self.status.value = note_html(f"{n} requests sent; session hit rate {m['cache']['hit_rate']:.0%}")
        return m

    def _send(self, request: Any) -> Any:
        resp = self.service.generate(request)
        req = resp.result.request
        self.history.append({"n": len(self.history) + 1, "request": f"{req.product} · {req.tone} · "
                             f"{_label(req.use_case)} · {req.language}",
                             "outcome": resp.tier if resp.hit else "miss", "latency": resp.latency})
        return resp

    def _draw(self) -> None:
        from kit.workloads import metrics_table

        self.chart.value = to_png(plot_latency(self.history))
        table = metrics_table(busy_metrics(self.service.metrics()), "copy service, this session")
        table.notes.append("Throughput over the time spent serving requests, not the pauses between them.")
        self.metrics.value = table._repr_html_()
        self.show("chart", png_output(self.chart.value))
        self.show("metrics", html_output(self.metrics.value))

    def close(self) -> None:
        """Close the service's cache and remove the default temporary folder."""
        self.service.close()
        if self._own_cache is not None:
            self._own_cache.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
