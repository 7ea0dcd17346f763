"""Unit tests of kit.notebook: set widget values, trigger handlers, check the outputs change.

The panels run outside a kernel here; their widgets are plain ipywidgets
objects whose values the tests set, and whose outputs (``Image.value``,
``HTML.value``) the tests read.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import kit

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def png(image) -> bytes:
    """The PNG an ``ipywidgets.Image`` shows (its value may be a memoryview)."""
    data = bytes(image.value)
    assert data.startswith(PNG), f"expected a PNG in the chart widget, got {data[:16]!r}"
    return data


@pytest.fixture(autouse=True)
def _quick():
    with kit.config_context(quick=True):
        yield


def test_import_kit_loads_no_widget_or_plotting_library():
    code = ("import sys, kit, kit.notebook; "
            "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_panel_name_lists_the_available_ones():
    import kit.notebook as nb

    with pytest.raises(AttributeError, match="ProfilingPanel"):
        _ = nb.NoSuchPanel


# --- profiling ------------------------------------------------------------------------------


def test_profiling_menus_come_from_the_registry():
    from kit import registry as _registry
    from kit.notebook import ProfilingPanel

    panel = ProfilingPanel()
    assert list(panel.operation.options) == _registry.operation_names()
    panel.operation.value = "compress"
    assert list(panel.kind.options) == list(_registry.operation("compress").kinds)
    available = [b.name for b in _registry.backends("compress") if b.available]
    assert list(panel.backends.options) == available
    panel.category.value = "hashing"
    assert set(panel.operation.options) == {op.name for op in _registry.operations() if op.category == "hashing"}
    assert panel.operation.value in panel.operation.options


def test_profiling_measure_button_draws_chart_and_table():
    from kit.notebook import ProfilingPanel

    panel = ProfilingPanel(operation="digest", size_range=("small", 4096))
    assert bytes(panel.chart.value) == b"" and panel.table.value == ""
    panel.button.click()
    assert panel.error is None
    png(panel.chart)
    r = panel.result
    assert r.sizes == [200, 1024, 4096]  # from the small class on
    assert set(r.backends) == set(panel.backends.value)
    assert "hashlib.sha256" in panel.table.value and "× [" in panel.table.value
    for b in r.backends:
        xs, ys, lo, hi = r.series(b, "time")
        assert xs == r.sizes and all(a <= m <= z for a, m, z in zip(lo, ys, hi))


def test_profiling_metric_toggle_redraws_without_measuring_again():
    from kit.notebook import ProfilingPanel

    panel = ProfilingPanel(operation="fingerprint", size_range=(200, 1024))
    panel.run()
    result, before = panel.result, png(panel.chart)
    panel.metric.value = "throughput"
    assert panel.result is result  # no new measurement
    assert png(panel.chart) != before
    assert "throughput" in panel.figure.axes[0].get_ylabel()


def test_profiling_size_slider_and_backend_choice_change_what_is_measured():
    from kit.notebook import ProfilingPanel

    panel = ProfilingPanel(operation="digest", size_range=(200, 1024))
    others = [b for b in panel.backends.options if b != "hashlib.sha256"]
    panel.backends.value = tuple(others[:1])
    panel.sizes.value = (1024, 16384)
    panel.button.click()
    assert panel.error is None
    assert panel.result.sizes == [1024, 4096, 16384]
    # the baseline is always measured: speed-ups need it
    assert panel.result.backends == ["hashlib.sha256", others[0]]


def test_profiling_handler_error_is_shown_not_raised(monkeypatch):
    from kit.notebook import profiling

    panel = profiling.ProfilingPanel(operation="digest", size_range=("small", "small"))

    def boom(*a, **k):
        raise RuntimeError("measurement exploded")

    monkeypatch.setattr(profiling, "measure_scaling", boom)
    panel.button.click()  # must not raise into the kernel
    assert isinstance(panel.error, RuntimeError)
    assert "measurement exploded" in panel.status.value


def test_measure_scaling_rejects_bad_input_with_the_valid_choices():
    from kit.notebook.profiling import measure_scaling

    with pytest.raises(ValueError, match="valid operations"):
        measure_scaling("json.nope")
    with pytest.raises(ValueError, match="measured on kinds json"):
        measure_scaling("json.decode", kind="random")
    with pytest.raises(ValueError, match="valid backends"):
        measure_scaling("digest", backends=["nope"], sizes=[200])
    with pytest.raises(ValueError, match="positive"):
        measure_scaling("digest", sizes=[0])


def test_profiling_panel_rejects_bad_arguments():
    from kit.notebook import ProfilingPanel

    with pytest.raises(ValueError, match="category must be one of"):
        ProfilingPanel(category="nope")
    with pytest.raises(ValueError, match="operation must be one of"):
        ProfilingPanel(operation="json.nope")
    with pytest.raises(ValueError, match="size_range"):
        ProfilingPanel(size_range=(100, 1000))
    with pytest.raises(ValueError, match="unknown size class 'huge'; valid: small, medium, large"):
        ProfilingPanel(size_range=("small", "huge"))


# --- cache explorer ---------------------------------------------------------------------------


def test_hit_rate_curves_on_known_traces():
    from kit.notebook.cache import hit_rate_curves

    r = hit_rate_curves([0, 1, 0, 1, 2, 0], ["lru", "lfu"], [2], progress_bar=False)
    assert r.rates == {"lru": [2 / 6], "lfu": [2 / 6]}
    assert r.ceiling == pytest.approx(1 - 3 / 6)
    scan = [k % 10 for k in range(200)]  # a loop larger than the cache defeats LRU
    r = hit_rate_curves(scan, ["lru"], [5, 10], progress_bar=False)
    assert r.rates["lru"] == [0.0, 190 / 200]
    # ttl counted in requests: a key re-read after more than ttl requests is a miss
    r = hit_rate_curves(scan, ["ttl"], [10], ttl=5, progress_bar=False)
    assert r.rates["ttl"] == [0.0]
    with pytest.raises(ValueError, match="lru, lfu, ttl"):
        hit_rate_curves(scan, ["fifo"], [5])


def test_cache_explorer_widgets_change_the_curves_and_charts():
    from kit.notebook import CacheExplorer

    ex = CacheExplorer(length=2000, distinct=300, sizes=(10, 100), tier_requests=400)
    assert ex.skew.disabled is False
    ex.button.click()
    assert ex.error is None, ex.error
    zipf_rates, zipf_png = dict(ex.curves.rates), png(ex.hit_chart)
    png(ex.tier_chart)
    assert set(zipf_rates) == set(ex.policies.options)
    assert "hit rate by L1 policy" in ex.table.value and "which tier" not in ex.table.value
    ex.distribution.value = "uniform"
    assert ex.skew.disabled is True  # skew only shapes zipf
    ex.button.click()
    assert ex.error is None, ex.error
    # uniform popularity: a small cache hits far less than under zipf
    assert ex.curves.rates["lru"][0] < zipf_rates["lru"][0]
    assert png(ex.hit_chart) != zipf_png


def test_cache_explorer_skew_and_policy_selection():
    from kit.notebook import CacheExplorer

    ex = CacheExplorer(length=2000, distinct=300, sizes=(10, 20), skew=0.6, tier_requests=200)
    ex.policies.value = ("lfu",)
    ex.run()
    low = ex.curves.rates["lfu"][0]
    assert list(ex.curves.rates) == ["lfu"]
    ex.skew.value = 1.6
    ex.run()
    assert ex.curves.rates["lfu"][0] > low  # more skew, more hits
    ex.policies.value = ()
    ex.button.click()
    assert "select at least one policy" in ex.status.value


def test_tier_breakdown_accounts_for_every_request():
    from kit.notebook.cache import tier_breakdown
    from kit.workloads import trace

    b = tier_breakdown(trace(600, distinct=120, seed=2), [5, 60], value_size=4096, progress_bar=False)
    for i in range(2):
        assert sum(b.served[t][i] for t in b.served) == 600
        # codec="auto" decides from measured costs (it may store raw on a busy machine), never expands by more
        # than a frame header per entry
        assert b.stored_bytes[i] <= b.raw_bytes[i] + 64 * b.stats[i]["tiers"]["l2"]["entries"]
    assert b.served["l1"][1] > b.served["l1"][0]
    assert b.served["miss"][0] == b.served["miss"][1] == len(set(trace(600, distinct=120, seed=2).tolist()))


def test_compression_savings_by_kind():
    from kit.notebook.cache import compression_savings

    from kit.registry.codecs import CODECS

    rows = {r["kind"]: r for r in compression_savings(16 << 10, ["json", "text", "random"])}
    assert list(rows) == ["json", "text", "random"]
    for r in rows.values():
        assert r["raw"] == 16 << 10 or r["kind"] == "json"
        assert r["saved"] == pytest.approx(1 - r["frame"] / r["raw"])
        assert r["frame"] <= r["raw"] + 64  # never more than a header larger
    # random bytes do not compress: stored raw, whatever the machine's load
    assert rows["random"]["codec"] == "raw"
    assert all(r["codec"] in (*CODECS, "raw") for r in rows.values())


def test_memoize_panel_hit_miss_and_clear():
    from kit.notebook import MemoizePanel

    m = MemoizePanel(size=1 << 14, window=11)
    m.button.click()
    m.button.click()
    assert [c["result"] for c in m.calls] == ["miss", "hit"]
    first = png(m.chart)
    m.window.value = 21  # another argument: a miss
    m.button.click()
    m.clear_button.click()
    m.button.click()
    assert [c["result"] for c in m.calls] == ["miss", "hit", "miss", "miss"]
    assert m.error is None
    assert png(m.chart) != first and m.table.value.count("<tr>") == 5


# --- generation --------------------------------------------------------------------------------


@pytest.fixture
def generation_panel():
    from kit.notebook import GenerationPanel

    panel = GenerationPanel()
    yield panel
    panel.close()


def test_generation_menus_come_from_the_workloads():
    from kit.notebook import GenerationPanel
    from kit.workloads import LANGUAGES, TONES, USE_CASES

    panel = GenerationPanel()
    try:
        assert list(panel.tone.options) == list(TONES)
        assert [v for _, v in panel.use_case.options] == list(USE_CASES)
        assert [v for _, v in panel.language.options] == list(LANGUAGES)
    finally:
        panel.close()
    with pytest.raises(ValueError, match="tone must be one of professional"):
        GenerationPanel(tone="angry")


def test_generate_button_shows_variants_then_a_cache_hit(generation_panel):
    g = generation_panel
    g.variants.value = 2
    g.button.click()
    assert g.error is None, g.error
    first = g.output.value
    assert g.last.hit is False and "cache miss" in first and first.count("<li") == 2
    assert "Aurora" in first
    generated, chart = list(g.last.variants), png(g.chart)
    g.button.click()
    assert g.last.hit is True and g.last.tier == "l1" and "cache hit: L1" in g.output.value
    assert g.last.variants == generated  # same request, same copy
    assert png(g.chart) != chart
    assert [h["outcome"] for h in g.history] == ["miss", "l1"]
    assert "hit rate" in g.metrics.value


def test_changing_a_dropdown_changes_the_copy(generation_panel):
    g = generation_panel
    g.button.click()
    english = list(g.last.variants)
    g.language.value = "es"
    g.tone.value = "casual"
    g.features.value = "luz suave\nsin ruido"
    g.button.click()
    assert g.last.hit is False  # another request, another key
    assert g.last.variants != english
    assert g.last.result.request.language == "es" and g.last.result.request.features == ("luz suave", "sin ruido")


def test_invalid_request_is_shown_with_what_is_allowed(generation_panel):
    g = generation_panel
    g.product.value = "   "
    g.button.click()
    assert g.error is not None
    assert "product must be a non-empty string" in g.status.value
    assert g.history == []


def test_burst_reaches_the_lower_tiers_and_fills_the_chart(generation_panel):
    g = generation_panel
    m = g.burst(150)
    assert m["requests"] == 150 and len(g.history) == 150
    outcomes = {h["outcome"] for h in g.history}
    assert {"miss", "l1"} <= outcomes and outcomes & {"l2", "l3"}  # small L1: lower tiers answer too
    png(g.chart)
    with pytest.raises(ValueError, match="positive int"):
        g.burst(0)


# --- tiers and validation ----------------------------------------------------------------------


def test_tiers_menus_come_from_the_registry(tmp_path):
    from kit import registry as _registry
    from kit.notebook import TiersPanel
    from kit.notebook.tiers import quick_operations

    panel = TiersPanel(results=tmp_path)
    assert list(panel.operations.options) == _registry.operation_names()
    # quick mode: the first operation of each category, so that every category keeps a subscore
    assert list(panel.operations.value) == quick_operations()
    assert {_registry.operation(o).category for o in quick_operations()} == {
        op.category for op in _registry.operations()}
    assert panel.references == [] and panel.validate_button.disabled
    with pytest.raises(ValueError, match="operations must be"):
        TiersPanel(results=tmp_path, operations=["json.nope"])


def test_tiers_score_save_and_validate(tmp_path):
    from kit.notebook import TiersPanel

    panel = TiersPanel(results=tmp_path, operations=["fingerprint", "digest"], sizes=["small"])
    panel.claims.value = False
    panel.validate_button.click()  # nothing scored yet: said on the status line
    assert "score this machine first" in panel.status.value
    panel.button.click()
    assert panel.error is None, panel.error
    r = panel.result
    assert r.tier in panel.headline.value and f"{r.score:.1f}" in panel.headline.value
    assert "backends available" in panel.headline.value
    png(panel.chart)
    assert "subscores" in panel.tables.value
    panel.save_button.click()
    assert panel.saved is not None and panel.saved.parent == tmp_path and panel.saved.exists()
    assert panel.references == [panel.saved] and not panel.validate_button.disabled
    panel.validate_button.click()
    v = panel.validation
    assert panel.error is None, panel.error
    # a run against its own record; relative: every backend but the baselines, which are the yardstick
    # (INCONCLUSIVE rather than PASS where this machine was contended while it scored)
    assert v.verdict != "FAIL" and not v.regressions and v.same_machine and len(v.comparisons) >= 3
    assert v.verdict in panel.status.value
    before = png(panel.validation_chart)
    assert "kit validate" in panel.validation_tables.value
    assert v.relative  # as kit validate: relative to each run's baseline by default
    panel.relative.value = False  # re-validates, in absolute times
    assert panel.validation is not v and not panel.validation.relative
    assert png(panel.validation_chart) != before


def test_record_files_lists_references_first(tmp_path):
    from kit.notebook.tiers import record_files

    (tmp_path / "20260101T000000Z-a.json").write_text("{}")
    (tmp_path / "reference-b.json").write_text("{}")
    (tmp_path / ".tmp-x.json").write_text("{}")
    assert [p.name for p in record_files(tmp_path)] == ["reference-b.json", "20260101T000000Z-a.json"]


# --- outputs a person reads ----------------------------------------------------------------------


def test_changing_a_menu_alone_answers_the_new_request(generation_panel):
    g = generation_panel
    g.button.click()
    assert len(g.history) == 1
    g.tone.value = "luxury"  # no button pressed
    assert g.error is None, g.error
    assert len(g.history) == 2 and g.last.result.request.tone == "luxury" and g.last.hit is False
    g.language.value = "fr"
    assert len(g.history) == 3 and g.last.result.request.language == "fr"
    assert "answer" in g.shown and "chart" in g.shown


def test_throughput_counts_the_time_spent_serving_not_the_pauses(generation_panel):
    g = generation_panel
    m = g.burst(30)
    served = g.service.metrics()
    assert m["elapsed_s"] == pytest.approx(served["latency_s"]["sum"])
    assert m["throughput_rps"] == pytest.approx(30 / served["latency_s"]["sum"])
    assert "time spent serving" in g.metrics.value


def test_buttons_are_as_wide_as_their_labels(generation_panel):
    from kit.notebook import MemoizePanel

    assert generation_panel.burst_button.layout.width == "auto"
    assert generation_panel.button.layout.width == "auto"
    assert MemoizePanel(size=1 << 14).button.layout.width == "auto"


def test_every_chart_and_table_is_kept_for_the_cells_outputs():
    from kit.notebook import ProfilingPanel

    panel = ProfilingPanel(operation="digest", size_range=("small", "small"))
    panel.run()
    assert set(panel.shown) == {"chart", "table"}
    assert panel.shown["chart"].data.startswith(PNG)
    assert "<table>" in panel.shown["table"].data and "kit-table" in panel.shown["table"].data
    # outside a kernel there is no cell output, so the widgets keep showing the results
    assert panel.result_boxes.layout.display != "none"


def test_a_quick_score_says_it_is_a_subset(tmp_path):
    from kit.notebook import TiersPanel
    from kit.notebook.tiers import headline_html

    panel = TiersPanel(results=tmp_path, operations=["digest"], sizes=["small"])
    panel.claims.value = False
    r = panel.run()
    assert "a subset" in headline_html(r) and "1 of " in headline_html(r)
    assert "a subset" in panel.tables.value  # the score table says it too
    from kit.notebook.tiers import plot_score

    assert "a subset" in plot_score(r)._suptitle.get_text()  # and the chart
