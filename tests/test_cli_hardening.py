"""The CLI on hostile input: one clear line and a non-zero exit, never a traceback, a hang or lost work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--op", "fingerprint", "--size", "small", "--no-claims", "--no-progress", "--retries", "0"]


@pytest.fixture
def record_data():
    found = sorted((ROOT / "results" / "kit").glob("reference-*.json"))
    if not found:
        pytest.skip("no reference record in results/kit of this checkout")
    return json.loads(found[0].read_text())


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _one_line_error(capsys, code, *needles):
    out, err = capsys.readouterr()
    err = err.strip()
    assert code not in (0, None), (code, out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return out, err


# --- kit validate ------------------------------------------------------------------------------

@pytest.mark.parametrize("damage,needle", [
    (lambda d: d["score"].update(value=float("nan")), "score.value must be a finite number, got nan"),
    (lambda d: d.update(score="high"), "'score' must be an object with 'value' and 'tier', got 'high'"),
    (lambda d: d["score"].update(value="98.5"), "score.value must be a finite number, got '98.5'"),
    (lambda d: d.update(measurements=[]), "has no measurements"),
    (lambda d: d["measurements"][0].update(raw_s=[True] * 5), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(raw_s=[1e-6, False]), "no valid raw samples"),
])
def test_validate_a_damaged_record_is_one_line(tmp_path, capsys, record_data, damage, needle):
    good = _write(tmp_path / "good.json", record_data)
    damage(record_data)
    bad = _write(tmp_path / "bad.json", record_data)
    for args in (["validate", str(bad), "--against", str(good)], ["validate", str(good), "--against", str(bad)]):
        _one_line_error(capsys, main(args), str(bad), needle)


def test_validate_a_record_nested_100000_deep(tmp_path, capsys, record_data):
    deep = _write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    good = _write(tmp_path / "good.json", record_data)
    _one_line_error(capsys, main(["validate", str(deep), "--against", str(good)]), "nested too deeply")


def test_validate_dev_zero_is_refused_without_reading(tmp_path, capsys, record_data):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    good = _write(tmp_path / "good.json", record_data)
    _one_line_error(capsys, main(["validate", "/dev/zero", "--against", str(good)]), "is a character device")


def test_validate_a_fifo_does_not_hang(tmp_path, record_data):
    good = _write(tmp_path / "good.json", record_data)
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)
    # In a subprocess with a timeout: opening a FIFO that no one writes would block forever.
    proc = subprocess.run([sys.executable, "-m", "kit.cli", "validate", str(fifo), "--against", str(good)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "named pipe (FIFO)" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- kit load ----------------------------------------------------------------------------------

@pytest.mark.parametrize("flag,allowed", [("--requests", "from 1 to 10,000,000"),
                                          ("--distinct", "from 1 to 1,000,000")])
def test_load_bounds_its_sizes_with_the_allowed_range(capsys, flag, allowed):
    _one_line_error(capsys, main(["load", flag, str(10**12), "--no-progress"]), flag, allowed,
                    "got 1,000,000,000,000")


def test_load_library_bounds_before_allocating():
    from kit.workloads import copy_requests, trace
    from kit.workloads.service import CopyService

    with pytest.raises(ValueError, match="n must be an integer from 0 to 10,000,000"):
        trace(10**12)
    with pytest.raises(ValueError, match="distinct must be an integer from 1 to 1,000,000"):
        trace(10, distinct=10**12)
    with pytest.raises(ValueError, match="distinct must be an integer from 0 to 1,000,000"):
        copy_requests(10**12)
    with pytest.raises(ValueError, match="n must be an integer"):
        CopyService().replay(n=10**12, distinct=10)


# --- kit report --------------------------------------------------------------------------------

def test_report_on_a_damaged_record_is_one_clear_line(tmp_path, capsys, record_data):
    record_data["score"] = None
    bad = _write(tmp_path / "bad.json", record_data)
    out_dir = tmp_path / "out"
    _one_line_error(capsys, main(["report", str(bad), "--out", str(out_dir)]), str(bad), "'score' must be an object")
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_report_a_field_it_cannot_draw_names_the_file(tmp_path, capsys, record_data):
    if not record_data.get("claims"):
        pytest.skip("the reference record has no claims")
    record_data["claims"][0]["seeds"] = [1, 2]  # passes the loader's checks; not drawable
    odd = _write(tmp_path / "odd.json", record_data)
    out_dir = tmp_path / "out"
    _one_line_error(capsys, main(["report", str(odd), "--out", str(out_dir)]), str(odd), "cannot be shown",
                    "is the file damaged?")
    assert not any(out_dir.iterdir())  # nothing half-written


def test_report_against_a_missing_file_writes_nothing(tmp_path, capsys, record_data):
    good = _write(tmp_path / "good.json", record_data)
    out_dir = tmp_path / "out"
    _one_line_error(capsys, main(["report", str(good), "--against", str(tmp_path / "missing.json"),
                                  "--out", str(out_dir)]), "missing.json", "no such file")
    assert not (out_dir / "report.png").exists() and not (out_dir / "report.html").exists()
    assert not out_dir.exists() or not any(out_dir.iterdir())


# --- kit score into a folder it cannot write ---------------------------------------------------

def test_score_prints_the_result_then_fails_to_save_with_one_line(tmp_path, capsys, fresh_engine, monkeypatch):
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
    else:  # root writes through permissions: a folder that cannot exist (under a file) instead
        (tmp_path / "a-file").write_text("x")
        folder = tmp_path / "a-file" / "results"
    monkeypatch.setenv("KIT_RESULTS_DIR", str(tmp_path / "elsewhere"))
    code = main(["score", *SMALL, "--no-reference", "--results", str(folder)])
    out, err = capsys.readouterr()
    assert code != 0
    assert "score" in out and "tier" in out  # the run measured is shown
    lines = [line for line in err.strip().splitlines() if "error" in line]
    assert len(lines) == 1 and "the result above was not saved" in lines[0] and str(folder) in lines[0]
    assert "Traceback" not in err


# --- Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_while_the_subcommands_are_imported_is_one_line(tmp_path, monkeypatch, capsys):
    import kit.cli

    (tmp_path / "kit_interrupted_import.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(kit.cli, "COMMANDS", ("kit.cli.engine", "kit_interrupted_import"))
    code = main(["info"])
    out, err = capsys.readouterr()
    assert code == 130 and err.strip() == "kit: interrupted" and "Traceback" not in err


def test_ctrl_c_during_a_command_is_one_line(monkeypatch, capsys):
    import kit.cli.cache

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(kit.cli.cache, "collect", lambda db: interrupted(None))
    code = main(["cache", "stats", "--path", "/nonexistent-kit-cache"])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_generate_request_file_that_is_not_a_file_is_one_line(tmp_path, capsys):
    fifo = tmp_path / "request.json"
    os.mkfifo(fifo)
    _one_line_error(capsys, main(["generate", "--request", str(fifo)]), "not a regular file")
    deep = _write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    _one_line_error(capsys, main(["generate", "--request", str(deep)]), "nested too deeply")
