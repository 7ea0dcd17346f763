"""kit.targets without timing anything: the command's dispatch, each area's options, the shared helpers.

The areas measure live (they are drills: ``python -m kit.targets AREA``); these tests check the logic
around the measurements: which areas exist, what a bad command line prints (one line, exit status 2,
before anything is timed), and the ratio, interval and machine line every area prints.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

import pytest

import kit.targets
from kit.targets import _common

AREAS = ["cache", "engine", "kernels", "workloads"]


def _area(name: str):
    import importlib

    return importlib.import_module(f"kit.targets.{name}")


# --- the command -----------------------------------------------------------------------------

def test_the_areas_are_the_packages_public_modules():
    assert kit.targets.areas() == AREAS
    for name in AREAS:
        assert callable(_area(name).main) and callable(_area(name).build_parser)


def test_help_lists_every_area_with_its_summary_in_100_columns(capsys):
    assert kit.targets.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m kit.targets AREA [options]")
    for name in AREAS:
        summary = _common.description(_area(name).__doc__)
        assert f"  {name:<11}{summary[:40]}" in out
    assert max(map(len, out.splitlines())) <= 100


@pytest.mark.parametrize("argv, said", [(["nope"], "unknown area 'nope'"), ([], "name an area"),
                                        (["--quick"], "unknown area '--quick'")])
def test_no_or_an_unknown_area_is_one_line_naming_the_valid_ones(argv, said, capsys):
    assert kit.targets.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python -m kit.targets: error: {said}; valid areas: {', '.join(AREAS)}\n"


def test_an_areas_help_lists_its_own_options(capsys):
    assert kit.targets.main(["cache", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m kit.targets cache")
    assert "--only {cache,compression}" in out and "--mib" in out


def test_the_command_itself_exits_2_with_one_line_and_no_traceback():
    run = [sys.executable, "-m", "kit.targets"]
    ok = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "workloads" in ok.stdout
    for argv, said in ((["nope"], "unknown area 'nope'"), (["kernels", "--bogus"], "unrecognized arguments")):
        bad = subprocess.run([*run, *argv], capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2, bad
        assert bad.stdout == "" and len(bad.stderr.splitlines()) == 1 and said in bad.stderr, bad.stderr


def test_the_engine_targets_stay_importable_from_the_package():
    # kit bench --targets reads them from the package's face
    from kit.targets import engine_targets, selection_quality
    from kit.targets.engine import engine_targets as direct

    assert engine_targets is direct and callable(selection_quality)


# --- each area's options: parsed, never measured ------------------------------------------------

@pytest.mark.parametrize("area", AREAS)
def test_an_unknown_option_is_one_line_and_exit_2_before_anything_runs(area, capsys):
    assert kit.targets.main([area, "--bogus"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"python -m kit.targets {area}: error: unrecognized arguments: --bogus; "
                            "see --help\n")


@pytest.mark.parametrize("area, argv, said", [
    ("cache", ["--only", "nope"], "argument --only: invalid choice: 'nope' (choose from 'cache', 'compression')"),
    ("cache", ["--inputs", "some"], "argument --inputs: invalid choice: 'some'"),
    ("cache", ["--mib", "0"], "argument --mib: expected a positive integer, got 0"),
    ("cache", ["--mib", "lots"], "argument --mib: expected a positive integer, got 'lots'"),
    ("cache", ["--quick", "--full"], "argument --full: not allowed with argument --quick"),
    ("workloads", ["--replays", "-1"], "argument --replays: expected a positive integer, got -1"),
    ("workloads", ["--only", "keys", "--only", "nope"], "argument --only: invalid choice: 'nope'"),
    ("kernels", ["--quick=yes"], "argument --quick: ignored explicit argument 'yes'"),
    ("engine", ["extra"], "unrecognized arguments: extra"),
])
def test_a_bad_value_is_one_line_naming_what_is_allowed(area, argv, said, capsys):
    assert kit.targets.main([area, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"python -m kit.targets {area}: error: ")
    assert said in err


def test_good_options_parse_to_what_each_area_runs():
    cache = _area("cache").build_parser()
    a = cache.parse_args([])
    assert (a.quick, a.full, a.only, a.inputs, a.mib, a.json) == (False, False, None, "all", 100, False)
    a = cache.parse_args(["--full", "--only", "compression", "--inputs", "held-out", "--mib", "8", "--json"])
    assert (a.full, a.only, a.inputs, a.mib, a.json) == (True, "compression", "held-out", 8, True)
    a = _area("workloads").build_parser().parse_args(["--only", "keys", "--only", "batch", "--replays", "5"])
    assert (a.only, a.replays, a.full, a.json) == (["keys", "batch"], 5, False, False)
    assert _area("workloads").build_parser().parse_args([]).only is None
    a = _area("kernels").build_parser().parse_args(["--quick", "--json"])
    assert (a.quick, a.json) == (True, True)
    a = _area("engine").build_parser().parse_args(["--quick"])
    assert (a.quick, a.json) == (True, False)


def test_the_workload_groups_are_checked_by_name():
    with pytest.raises(ValueError, match="unknown group 'nope'; valid groups: generation, replay, keys, batch"):
        _area("workloads").workload_targets(only=["nope"])


# --- shared helpers ----------------------------------------------------------------------------

def _samples(median: float, n: int, seed: int) -> list[float]:
    """Simulated timing samples: log-normal noise (5%) around ``median``, seeded."""
    import numpy as np

    return list(median * np.exp(np.random.default_rng(seed).normal(0.0, 0.05, n)))


def test_ratio_is_the_ratio_of_medians_with_a_bootstrap_interval_around_it():
    slow, fast = _samples(2e-3, 31, 1), _samples(1e-3, 31, 2)
    r = _common.ratio(slow, fast)
    assert r.value == statistics.median(slow) / statistics.median(fast)
    assert r.low < r.value < r.high
    assert r.low < 2.0 < r.high  # the simulated true ratio, for these seeded samples
    assert _common.ratio(slow, fast) == r  # seeded: the same interval every time
    assert _common.ratio(slow, fast, seed=1) != r


def test_ratio_interval_narrows_with_more_samples_and_is_the_ratio_itself_for_one_sample():
    few = _common.ratio(_samples(2e-3, 7, 3), _samples(1e-3, 7, 4))
    many = _common.ratio(_samples(2e-3, 301, 3), _samples(1e-3, 301, 4))
    assert many.high - many.low < (few.high - few.low) / 2
    assert _common.ratio([2.0], [1.0, 1.1]) == (2.0 / 1.05, 2.0 / 1.05, 2.0 / 1.05)


def test_ratio_takes_measurements_as_well_as_samples():
    from kit.engine.measure import Measurement

    slow, fast = _samples(3e-6, 15, 5), _samples(1e-6, 15, 6)
    assert _common.ratio(Measurement("slow", slow, 100), Measurement("fast", fast, 100)) == \
        _common.ratio(slow, fast)


def test_ratio_text_and_dict():
    r = _common.Ratio(1.0345, 0.981, 1.092)
    assert r.text() == "1.034x (0.98-1.09)" and r.text(1) == "1.03x (1.0-1.1)"
    assert r.as_dict() == {"ratio": 1.0345, "ci_low": 0.981, "ci_high": 1.092}


@pytest.mark.parametrize("cpu", ["AMD EPYC 7B13", "Intel(R) Xeon(R) Platinum 8480+ " * 6, ""])
def test_machine_line_fits_100_columns_and_keeps_the_figures(cpu):
    info = {"cpu": cpu, "cores": 224, "python": "CPython 3.11.9", "load_per_core": 12.345,
            "gpu": "NVIDIA H100 80GB HBM3"}
    line = _common.machine_line(info)
    assert len(line) <= 100
    assert line.startswith("machine: ")
    assert line.endswith(", 224 cores, CPython 3.11.9, load/core 12.35, GPU: NVIDIA H100 80GB HBM3")
    if len(cpu) > 40:
        assert "…" in line


def test_machine_line_says_what_is_unknown_and_reads_this_machine():
    info = {"cpu": "x", "cores": 2, "python": "CPython 3.11.9", "load_per_core": None, "gpu": None}
    assert _common.machine_line(info) == "machine: x, 2 cores, CPython 3.11.9, load/core unknown, GPU: none"
    here = _common.machine_line()
    assert here.startswith("machine: ") and len(here) <= 100


def test_parser_errors_are_one_line_with_exit_status_2(capsys):
    p = _common.parser("demo", "A demo.")
    p.add_argument("--n", type=_common.positive_int)
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--n", "zero"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("python -m kit.targets demo: error: argument --n: expected a positive "
                                       "integer, got 'zero'; see --help\n")
    with pytest.raises(argparse.ArgumentTypeError, match="got 0"):
        _common.positive_int("0")


def test_description_and_all_met():
    assert _common.description("  The ``cache``'s targets,\n  in one run.\n\nMore.") == "The cache's targets, in one run."
    assert _common.description(None) == ""
    assert _common.all_met([["a", True], ["b", None]]) and not _common.all_met([["a", True], ["b", False]])


def test_print_json_writes_one_document(capsys):
    _common.print_json({"machine": "m", "rows": [{"µs": 1.5}]})
    import json

    assert json.loads(capsys.readouterr().out) == {"machine": "m", "rows": [{"µs": 1.5}]}


# --- the kernels area's report, from a record made here -------------------------------------------

def _result(median: float, nbytes: int | None, warnings: tuple[str, ...] = ()) -> dict:
    return {"median_s": median, "ci_s": [median * 0.97, median * 1.04], "samples": 7, "loops": 10,
            "throughput_Bps": nbytes / median if nbytes else None, "warnings": list(warnings)}


def _kernels_record() -> dict:
    unstable = ("unstable: the median's 95% interval reaches 14% from it (> 5%)",
                "1 of 7 samples >50% from the median")
    mib = 10 << 20
    r = {"ratio": 5.91, "ci_low": 5.5, "ci_high": 6.35}
    return {
        "scale": 0.1, "preset": "quick", "threads": 2, "load_before": "0.98 1.00 1.21 2/94 14607",
        "load_after": "1.02 1.00 1.21 3/102 14626",
        "machine": {"cpu": "Intel(R) Xeon(R) Platinum 8480+ with a very long model name indeed", "cores": 2,
                    "python": "CPython 3.11.9", "load_per_core": 0.49, "gpu": None},
        "entropy": {"size_bytes": mib, "results": {
            "numba.parallel": _result(2.7e-3, mib, unstable), "numpy (bincount per 1 MiB, reference)":
                _result(16e-3, mib), "numpy.copyto (same size)": _result(0.9e-3, mib)},
            "vs_numpy": {"numba.parallel": r}, "fraction_of_copy": {"numba.parallel": 0.32}},
        "batch_fingerprint": {"keys": 100_000, "key_bytes": 4_000_000, "results": {
            "numba.parallel, pyarrow binary array": _result(2.1e-3, 4_000_000),
            "python loop of xxhash.xxh64_intdigest": _result(8.9e-3, 4_000_000, unstable)},
            "arrow_vs_loop": {"numba.parallel": {"ratio": 4.2, "ci_low": 4.06, "ci_high": 4.51}},
            "list_vs_loop": {"numba.parallel": {"ratio": 1.33, "ci_low": 1.2, "ci_high": 1.4}},
            "ns_per_key_core": {"numba.parallel": 42.3}, "limit_ns_per_key": 10.0, "conversion_s": 4.9e-3},
        "bootstrap": {"samples": 1000, "resamples": 10_000, "results": {
            "numba.parallel": _result(10.4e-3, None), "numpy: rng.choice + median(axis=1)": _result(0.21, None)},
            "vs_numpy": {"numba.parallel": {"ratio": 20.2, "ci_low": 15.3, "ci_high": 22.2}}},
        "targets": {"entropy_vs_bincount": (5.91, 6.0), "fingerprint_vs_loop": (4.2, 15.0),
                    "bootstrap_vs_numpy": (20.2, 3.0), "entropy_vs_copy": (0.32, 0.25)},
        "targets_backend": dict.fromkeys(("entropy_vs_bincount", "fingerprint_vs_loop", "bootstrap_vs_numpy",
                                          "entropy_vs_copy"), "numba.parallel"),
        "compile_times": {"numba.parallel:entropy": {"seconds": 0.024, "source": "disk cache"}},
        "gpu_backends": {"entropy": {"cuda": "no CUDA device (nvidia-smi reports no NVIDIA GPU)"}},
    }


def test_the_kernels_report_fits_100_columns_and_judges_each_target():
    text = _area("kernels").format_record(_kernels_record())
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100, [ln for ln in lines if len(ln) > 100]
    assert lines[0].startswith("kit.kernels targets  (SMOKE RUN")
    assert lines[1].startswith("machine: Intel(R) Xeon(R)") and lines[1].endswith("GPU: none")
    assert "numba.parallel vs numpy bincount reference: 5.91x (CI 5.50-6.35); target 6x: NOT met" in text
    verdicts = {ln.split()[0]: ln.split()[4:6] for ln in lines if ln.startswith("  ") and "target " in ln
                and ln.split()[0] in _area("kernels").TARGETS}
    assert verdicts == {"entropy_vs_bincount": ["NOT", "met"], "fingerprint_vs_loop": ["NOT", "met"],
                        "bootstrap_vs_numpy": ["met", "(numba.parallel)"],
                        "entropy_vs_copy": ["met", "(numba.parallel)"]}
    assert "    [unstable: the median's 95% interval reaches 14% from it (> 5%); 1 of 7" in text


def test_the_held_out_compression_inputs_are_what_their_labels_say():
    held_out = _area("cache").held_out
    found = held_out(whole=1 << 16, slices=(4096,))
    assert found, "the standard library's sources at least are on every machine"
    for label, data, typesize in found:
        assert label.startswith("held-out ") and typesize == 1
        assert len(data) == (64 << 10 if label.endswith(", 64 KiB") else 4096), label
