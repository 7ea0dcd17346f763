"""``kit generate`` and ``kit load``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from kit.cli import main
from kit.workloads import generate_copy


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_generate_from_flags_writes_one_json_line(capsys):
    rc = main(["generate", "--product", "Aurora", "--language", "es", "--tone", "casual", "--feature", "ligera",
               "--feature", "resistente", "--variants", "2", "--gender", "feminine"])
    out = capsys.readouterr().out
    assert rc == 0
    [rec] = _lines(out)
    assert rec["line"] == 1 and rec["request"]["language"] == "es" and rec["request"]["features"] == ["ligera", "resistente"]
    expected = generate_copy({"product": "Aurora", "language": "es", "tone": "casual", "gender": "feminine",
                              "features": ["ligera", "resistente"], "variants": 2}).variants
    assert rec["variants"] == expected


def test_generate_from_a_request_file_with_flag_override(tmp_path, capsys):
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"product": "Nimbus", "language": "pt", "use_case": "newsletter", "variants": 4}))
    assert main(["generate", "--request", str(req), "--variants", "1"]) == 0
    [rec] = _lines(capsys.readouterr().out)
    assert rec["request"]["use_case"] == "newsletter" and len(rec["variants"]) == 1


def test_generate_invalid_flags_is_one_line_and_exit_2(capsys):
    rc = main(["generate", "--product", "Aurora", "--tone", "loud", "--language", "de"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "tone must be one of professional, casual" in err and "language must be one of en, es, pt, fr; got 'de'" in err


def test_generate_needs_some_input(capsys):
    assert main(["generate"]) == 2
    assert "give --product" in capsys.readouterr().err


def test_batch_reports_bad_lines_and_writes_the_rest_atomically(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"product": "Aurora", "language": "fr"}),
        json.dumps({"product": "Nimbus", "tone": "angry"}),
        '{"product": "Broken", ',
        "",
        json.dumps({"product": "Cirrus", "language": "pt", "variants": 2}),
        json.dumps(["not", "an", "object"]),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc = main(["generate", "--batch", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    recs = _lines(out.read_text(encoding="utf-8"))
    assert [r["line"] for r in recs] == [1, 5]
    assert [r["request"]["product"] for r in recs] == ["Aurora", "Cirrus"]
    assert re.search(r"in\.jsonl:2: invalid copy request: tone must be one of .*got 'angry'", err)
    assert re.search(r"in\.jsonl:3: not valid JSON: Expecting .* \(column \d+\)", err)
    assert re.search(r"in\.jsonl:6: invalid copy request: a request must be a JSON object, got list", err)
    assert "3 of 5 lines not generated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary file left


def test_batch_on_threads_keeps_line_order(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"product": f"P{i}", "variants": 1}) + "\n" for i in range(30)))
    assert main(["generate", "--batch", str(src), "--strategy", "threads", "--workers", "4"]) == 0
    recs = _lines(capsys.readouterr().out)
    assert [r["line"] for r in recs] == list(range(1, 31))
    assert [r["request"]["product"] for r in recs] == [f"P{i}" for i in range(30)]


def test_batch_with_request_flags_is_refused(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    assert main(["generate", "--batch", str(src), "--product", "X"]) == 2
    assert "do not combine" in capsys.readouterr().err


def test_a_failed_write_leaves_the_old_output(tmp_path, monkeypatch):

    out = tmp_path / "out.jsonl"
    out.write_text("old\n")

    def boom(*a, **k):
        raise OSError("disk full")

    from kit import _paths

    monkeypatch.setattr(_paths.os, "replace", boom)
    with pytest.raises(OSError):
        _paths.atomic_write(str(out), "new\n", fsync=True)
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_load_prints_a_metrics_table(capsys):
    rc = main(["load", "--requests", "3000", "--distinct", "300", "--l1", "50", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    for word in ("requests", "3000", "throughput", "latency p50 / p95 / p99", "l1 hit rate", "l2 hit rate"):
        assert word in out


def test_load_json_and_prometheus(capsys, tmp_path):
    assert main(["load", "--requests", "2000", "--distinct", "200", "--l1", "20", "--json",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    data = json.loads(capsys.readouterr().out)
    m = data["metrics"]
    assert m["requests"] == 2000 and m["cache"]["hits"] + m["cache"]["misses"] == 2000
    assert set(m["cache"]["tiers"]) >= {"l1", "l2", "l3"}
    assert 0 < m["cache"]["tiers"]["l1"]["hit_rate"] < 1 and data["health"]["status"] in ("ok", "degraded")
    assert main(["load", "--requests", "500", "--distinct", "50", "--prometheus"]) == 0
    text = capsys.readouterr().out
    assert "kit_copy_requests_total 500" in text and '# TYPE kit_copy_request_duration_seconds summary' in text


def test_load_rejects_bad_arguments(capsys):
    assert main(["load", "--distribution", "pareto"]) == 2
    assert "unknown distribution 'pareto'; valid: zipf, uniform, hotset, scan" in capsys.readouterr().err
    assert main(["load", "--requests", "0"]) == 2


def test_cli_in_a_subprocess(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"product": "Aurora", "language": "en"}) + "\n{oops\n")
    proc = subprocess.run([sys.executable, "-m", "kit.cli", "generate", "--batch", str(src)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 1
    assert len(_lines(proc.stdout)) == 1 and "in.jsonl:2: not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr
