"""``kit score``, ``kit validate`` and ``kit report`` from the command line: output, exit status, bad input."""

from __future__ import annotations

import json
import statistics

import pytest

from kit.cli import main

SMALL = ["--op", "fingerprint", "--size", "small", "--no-claims", "--no-progress"]


@pytest.fixture
def results(tmp_path, monkeypatch, fresh_engine):
    """An empty results folder that the commands use by default."""
    folder = tmp_path / "results" / "kit"
    monkeypatch.setenv("KIT_RESULTS_DIR", str(folder))
    return folder


@pytest.fixture
def reference(results, capsys):
    assert main(["score", *SMALL, "--as-reference", "--retries", "0"]) == 0
    capsys.readouterr()
    (path,) = results.glob("reference-*.json")
    data = json.loads(path.read_text())
    assert data["runs"] == 5 and all(len(m["run_medians_s"]) == 5 for m in data["measurements"])
    return path


def test_score_prints_the_tables_and_writes_a_record(results, capsys):
    assert main(["score", *SMALL, "--retries", "0"]) == 0
    out = capsys.readouterr().out
    for text in ("kit score", "score", "tier", "backends available", "hardware index", "subscores",
                 "record written:"):
        assert text in out
    (path,) = results.glob("*.json")
    assert (results / "records.parquet").is_file()
    assert str(path) in out


def test_score_json_is_the_record_and_uses_the_reference(results, reference, capsys):
    assert main(["score", *SMALL, "--json", "--retries", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "kit.record" and data["path"].startswith(str(results))
    hw = data["hardware_index"]
    assert hw["reference"] == str(reference) and hw["compared"] == 1 and hw["ci"][0] <= hw["value"] <= hw["ci"][1]


def _stated_quiet(path):
    """State a record's machine as quiet: the verdict's rule is under test here, not this machine's load
    (under contention the verdict is INCONCLUSIVE, which tests/test_validate.py checks)."""
    data = json.loads(path.read_text())
    data["contention"] = {"level": "quiet", "summary": "stated quiet by the test"}
    path.write_text(json.dumps(data))
    return path


def _resat(path, out, runs_per_sitting, seed, slower=None, lows=True):
    """A copy of a stored record whose samples and run medians are drawn with a seed around each
    measurement's median: sitting by sitting, each sitting's shift (3%) and each run's noise (2%) on the
    log scale, and ``slower`` backends' times multiplied, so the verdict's rule meets the same numbers on
    any machine, quiet or busy. Each run's lower quartile is 0.9 of its median (without ``lows``, the
    record keeps none, as records made before they were kept)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    data = json.loads(path.read_text())
    shifts = [rng.normal(0, 0.03) for _ in runs_per_sitting]
    for m in data["measurements"]:
        factor = (slower or {}).get(m["backend"], 1.0)
        base = statistics.median(m["raw_s"]) * factor
        m["run_medians_s"] = [base * float(np.exp(shift + rng.normal(0, 0.02)))
                              for shift, n in zip(shifts, runs_per_sitting) for _ in range(n)]
        m["raw_s"] = [base * float(np.exp(rng.normal(0, 0.02))) for _ in m["raw_s"]]
        m["median_s"] = statistics.median(m["run_medians_s"])
        m.pop("run_q25_s", None)
        if lows:
            m["run_q25_s"] = [0.9 * x for x in m["run_medians_s"]]
    data["runs"] = sum(runs_per_sitting)
    data["sittings"] = [{"started": f"2026-01-0{i + 1}T12:00:00+00:00", "runs": n}
                        for i, n in enumerate(runs_per_sitting)]
    data["id"] = f"{data['id']}-{seed}"
    if slower:
        data["injected_slowdown"] = {f"fingerprint:{b}": f for b, f in slower.items()}
    out.write_text(json.dumps(data))
    return _stated_quiet(out)


def test_validate_passes_against_itself_and_fails_on_a_slowdown(results, reference, capsys, tmp_path):
    _stated_quiet(reference)
    assert main(["validate", str(reference), "--against", str(reference)]) == 0
    assert "PASS" in capsys.readouterr().out
    # A reference made in two sittings (3 runs, then 2), so that its verdict can FAIL, and a record of
    # one run with xxh3_128 twice as slow: seeded numbers, so this is the rule under test, not the machine.
    ref = _resat(reference, tmp_path / "reference-2.json", [3, 2], seed=1)
    slow = _resat(reference, tmp_path / "slow.json", [1], seed=2, slower={"xxh3_128": 2.0})
    code = main(["validate", str(slow), "--against", str(ref), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and not out["ok"] and out["verdict"] == "FAIL" and out["question"] == "software"
    assert "fingerprint small random xxh3_128" in out["regressions"]
    assert any("injected slowdown" in n for n in out["notes"])
    slowed = next(c for c in out["comparisons"] if c["backend"] == "xxh3_128")
    assert slowed["runs_ref"] == 5 and slowed["runs"] == 1 and slowed["run_p"] < 0.01
    assert out["rule"]["scope"] == "selected" and out["rule"]["run_noise"] is not None
    assert out["rule"]["unit"] == "sitting" and out["rule"]["sittings"] == {"reference": 2, "here": 1}
    assert slowed["method"] == "sitting-to-sitting t on each run's lower quartile"
    assert 1.8 < slowed["ratio"] < 2.2  # the effect as tested: the lower quartiles' shift
    # The same seeded noise without the slowdown is not called a regression.
    same = _resat(reference, tmp_path / "same.json", [1], seed=2)
    assert main(["validate", str(same), "--against", str(ref), "--json"]) in (0, 3)
    assert json.loads(capsys.readouterr().out)["verdict"] != "FAIL"
    # A reference made before runs kept their lower quartiles: run medians are compared, and it says so.
    old = _resat(reference, tmp_path / "reference-3.json", [3, 2], seed=1, lows=False)
    assert main(["validate", str(slow), "--against", str(old), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert next(c for c in out["comparisons"] if c["backend"] == "xxh3_128")["method"] == "sitting-to-sitting t"
    assert any("run medians are compared" in n for n in out["notes"])


def test_score_with_an_injected_slowdown_says_so_in_the_record_and_the_verdict(results, reference, capsys):
    # The slowdown's plumbing only: whether this machine's noise lets a verdict see it is the drill's
    # question (``kit drill noise``), not a gating test's.
    assert main(["score", *SMALL, "--retries", "0", "--inject-slowdown", "fingerprint:xxh3_128=2"]) == 0
    capsys.readouterr()
    path = max(p for p in results.glob("*.json") if not p.name.startswith("reference-"))
    assert json.loads(path.read_text())["injected_slowdown"] == {"fingerprint:xxh3_128": 2.0}
    code = main(["validate", str(path), "--against", str(reference), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}[out["verdict"]]
    assert any("injected slowdown" in n for n in out["notes"])


def test_validate_defaults_to_the_newest_record_and_this_machines_reference(results, reference, capsys):
    assert main(["score", *SMALL, "--no-reference", "--retries", "0"]) == 0
    capsys.readouterr()
    code = main(["validate", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["reference"] == str(reference) and out["record"] != str(reference)
    assert code == {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}[out["verdict"]] and out["reason"]
    # Relative by default: the backend is compared against its baseline, which is the yardstick.
    assert out["tier_agrees"] == (out["tier"] == out["reference_tier"])
    assert out["compared"] == 1 and out["rule"]["relative"]
    main(["validate", "--all", "--json"])
    assert json.loads(capsys.readouterr().out)["rule"]["scope"] == "all"


def test_a_reference_extended_in_a_later_session_pools_its_runs(results, capsys):
    assert main(["score", *SMALL, "--as-reference", "--runs", "2", "--retries", "0"]) == 0
    out = capsys.readouterr().out
    assert "the reference holds 2 runs in 1 sitting: until it is extended" in out.replace("\n", " ")
    said = out[out.index("the reference holds"):]
    assert max(len(line) for line in said.splitlines()) <= 100  # (the path above is as long as it is)
    assert main(["score", *SMALL, "--as-reference", "--extend", "--runs", "2", "--retries", "0", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out[out.index('{\n "schema"'):])
    assert data["runs"] == 4 and all(len(m["run_medians_s"]) == 4 for m in data["measurements"])
    # Each run's lower quartile, kept beside its median through both sittings (the software question's
    # run figure): never above the median of the same run.
    assert all(len(m["run_q25_s"]) == 4 and all(q <= x for q, x in zip(m["run_q25_s"], m["run_medians_s"]))
               for m in data["measurements"])
    # Two sittings, this one first (its runs come first in each run_medians_s).
    assert [x["runs"] for x in data["sittings"]] == [2, 2] and data["sittings"][0]["started"] == data["created"]
    (path,) = results.glob("reference-*.json")
    assert json.loads(path.read_text())["runs"] == 4
    _one_line_error(capsys, main(["score", *SMALL, "--extend"]), "--extend goes with --as-reference")
    _one_line_error(capsys, main(["score", *SMALL, "--full", "--as-reference", "--extend"]),
                    "no reference of this machine and preset to extend")


def test_extending_refuses_a_record_measured_otherwise(tmp_path):
    import kit.scoring.run as sr
    from kit.errors import KitError
    from kit.records import Record, SCHEMA, SCHEMA_VERSION

    rec = Record({"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "machine": {}, "machine_id": "elsewhere",
                  "measurements": [], "score": {}, "preset": "full", "libraries": {"xxhash": "0.1"}})
    with pytest.raises(KitError, match="another machine .elsewhere., preset 'full', not 'quick', other library"):
        sr._extendable(rec, "quick")


def test_score_repeat_prints_the_coefficient_of_variation(results, capsys):
    assert main(["score", *SMALL, "--repeat", "2", "--no-record", "--retries", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("run ") == 2 and "CV " in out
    assert not results.exists() or not list(results.glob("*.json"))


def test_report_writes_a_page_and_a_chart(results, reference, tmp_path, capsys):
    out_dir = tmp_path / "report"
    assert main(["report", str(reference), "--against", str(reference), "--out", str(out_dir)]) == 0
    html = (out_dir / "report.html").read_text()
    assert "<table" in html and "data:image/png;base64," in html and "kit validate" in html
    assert (out_dir / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report written" in capsys.readouterr().out


def _one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for n in needles:
        assert n in err
    return err


def test_bad_records_give_one_line_and_exit_2(results, tmp_path, capsys):
    missing = tmp_path / "missing.json"
    _one_line_error(capsys, main(["validate", str(missing), "--against", str(missing)]), str(missing),
                    "no such file")
    cut = tmp_path / "cut.json"
    cut.write_text('{"schema": "kit.record", "schema_version": 1, "measurements": [{"operation"')
    _one_line_error(capsys, main(["validate", str(cut), "--against", str(cut)]), str(cut), "truncated")
    asv = tmp_path / "asv.json"
    asv.write_text(json.dumps({"commit_hash": "abc", "results": {}, "version": 2}))
    _one_line_error(capsys, main(["report", str(asv), "--out", str(tmp_path / "r")]), str(asv),
                    "not a kit result record", "asv")
    _one_line_error(capsys, main(["validate"]), "no kit record")


def test_bad_options_give_one_line_and_exit_2(results, capsys, tmp_path):
    _one_line_error(capsys, main(["score", *SMALL, "--inject-slowdown", "fingerprint=2"]),
                    "OP:BACKEND=FACTOR", "'fingerprint=2'")
    _one_line_error(capsys, main(["score", *SMALL, "--repeat", "1"]), "at least 2 runs")
    _one_line_error(capsys, main(["score", *SMALL, "--runs", "0"]), "--runs must be at least 1, got 0")
    _one_line_error(capsys, main(["score", "--op", "nope", "--no-progress"]), "unknown operation 'nope'")
    missing = tmp_path / "ref.json"
    _one_line_error(capsys, main(["score", *SMALL, "--reference", str(missing)]), str(missing), "no such file")


def test_a_damaged_reference_found_on_its_own_does_not_stop_the_score(results, capsys):
    results.mkdir(parents=True)
    bad = results / "reference-damaged.json"
    bad.write_text('{"schema": "kit.record", "schema_version": 1, "measure')
    assert main(["score", *SMALL, "--retries", "0", "--no-record"]) == 0
    out = capsys.readouterr().out
    # the path may wrap inside the 100-column table: its name and the reason are what a person needs
    assert "reference not used" in out and bad.name in out and "truncated" in out


def test_records_go_to_the_user_data_dir_unless_run_inside_kits_checkout(tmp_path, monkeypatch):
    from pathlib import Path

    from kit.records import results_dir

    monkeypatch.delenv("KIT_RESULTS_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # platformdirs' user data dir on Linux
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert results_dir() == tmp_path / "data" / "kit" / "results"
    root = Path(__file__).resolve().parent.parent
    if (root / "results" / "kit").is_dir():
        monkeypatch.chdir(root / "docs")
        assert results_dir() == root / "results" / "kit"
    monkeypatch.setenv("KIT_RESULTS_DIR", str(tmp_path / "mine"))
    assert results_dir() == tmp_path / "mine"


def test_report_goes_into_the_results_folder_by_default(results, reference, capsys):
    assert main(["report", str(reference)]) == 0
    out = capsys.readouterr().out
    assert (results / "report" / "report.html").is_file() and str(results / "report") in out
