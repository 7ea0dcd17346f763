"""kit.profile: the one "vs size" profiler behind kit.kernels.scaling and the notebooks' profiling panel.

The functions profiled here are tiny and the timing short; nothing asserts how fast anything is: what
is checked is which backends are measured at which sizes, what is left out and why, and what is drawn.
"""

from __future__ import annotations

import pytest

from kit import profile as P

#: Short samples: these tests check bookkeeping, not figures.
FAST = {"min_time": 0.0002, "samples": 3, "budget": 0.01}


def _inputs(size: int):
    data = bytes(size)
    return size, (lambda backend: (data,))


def test_profile_measures_every_backend_at_every_size_against_the_baseline():
    s = P.profile({"len": len, "bytes": bytes}, [16, 256], _inputs, operation="demo", baseline="len", timing=FAST)
    assert s.sizes == [16, 256] and s.backends == ["len", "bytes"] and s.skipped == {}
    assert [(p.backend, p.size, p.nbytes) for p in s.points] == [
        ("len", 16, 16), ("bytes", 16, 16), ("len", 256, 256), ("bytes", 256, 256)]
    for p in s.points:
        assert p.speedup is not None and p.speedup[1] <= p.speedup[0] <= p.speedup[2]
    assert all(p.speedup[0] == 1.0 for p in s.points if p.backend == "len")
    xs, ys, lo, hi = s.series("bytes", "time")
    assert xs == [16, 256] and all(a <= m <= b for a, m, b in zip(lo, ys, hi))
    _, tput, _, _ = s.series("bytes", "throughput")
    assert all(t > 0 for t in tput)
    d = s.to_dict()
    assert d["baseline"] == "len" and len(d["points"]) == 4 and d["points"][0]["speedup"] == 1.0


def test_a_backend_that_raises_is_left_out_with_the_reason_unless_strict():
    def picky(data: bytes) -> int:
        if len(data) > 100:
            raise ValueError("too long for me")
        return len(data)

    s = P.profile({"len": len, "picky": picky}, [16, 256], _inputs, operation="demo", baseline="len", timing=FAST)
    assert s.backends == ["len"]  # its points at 16 bytes go too: a curve with a hole would mislead
    assert s.skipped == {"picky": "raised ValueError at 256 B: too long for me"}
    with pytest.raises(ValueError, match="too long"):
        P.profile({"len": len, "picky": picky}, [256], _inputs, operation="demo", baseline="len", timing=FAST,
                  strict=True)
    with pytest.raises(ValueError, match="too long"):  # the baseline is never left out
        P.profile({"picky": picky}, [256], _inputs, operation="demo", baseline="picky", timing=FAST)


def test_without_a_baseline_there_are_times_and_no_speed_ups():
    s = P.profile({"len": len}, [8], _inputs, operation="demo", unit="keys", timing=FAST)
    assert s.baseline is None and s.points[0].speedup is None
    table = str(s.table())
    assert "median time per call" in table and "size (keys)" in table


def test_progress_and_on_step_follow_the_sizes():
    steps = []
    P.profile({"len": len}, [8, 16, 32], _inputs, operation="demo", timing=FAST,
              on_step=lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_draw_is_log_log_with_one_line_per_backend_and_relative_times():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    series = {"numpy": ([10, 100], [2e-6, 4e-6], [1.9e-6, 3.8e-6], [2.1e-6, 4.2e-6]),
              "numba": ([10, 100], [1e-6, 1e-6], [0.9e-6, 0.9e-6], [1.1e-6, 1.1e-6])}
    ax = P.draw(Figure().subplots(), series, unit="keys", baseline="numpy", relative_to="numpy", title="t")
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["numpy (baseline)", "numba"]
    assert list(ax.lines[0].get_ydata()) == [1.0, 1.0] and list(ax.lines[1].get_ydata()) == [0.5, 0.25]
    assert ax.get_ylabel() == "time relative to numpy" and ax.get_xlabel() == "input size (keys)"
    with pytest.raises(ValueError, match="relative_to must be one of numpy, numba"):
        P.draw(Figure().subplots(), series, relative_to="cuda")
    with pytest.raises(ValueError, match="metric must be one of time, throughput"):
        P.draw(Figure().subplots(), series, metric="speed")


def test_scaling_plot_labels_bytes_and_throughput():
    pytest.importorskip("matplotlib")
    s = P.profile({"len": len, "bytes": bytes}, [1024, 4096], _inputs, operation="demo", kind="random",
                  baseline="len", timing=FAST)
    fig = s.plot("throughput")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "throughput" and ax.get_xlabel() == "payload size"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 KiB", "4 KiB"]
    assert ax.get_title() == "demo on random payloads: throughput (median, 95% CI band)"


def test_sizes_come_from_the_registry_classes():
    from kit import registry

    assert set(registry.SIZE_CLASSES.values()) <= set(P.size_steps())
    assert P.sizes_between("small", 4096) == [200, 1024, 4096]
    assert P.size_label(registry.SIZE_CLASSES["medium"]) == "64 KiB (medium)"
    with pytest.raises(ValueError, match="unknown size class 'huge'; valid: small, medium, large"):
        P.as_size("huge")
    with pytest.raises(ValueError, match="low <= high"):
        P.sizes_between("large", "small")
