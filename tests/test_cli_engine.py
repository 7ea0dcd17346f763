"""`kit info`, `kit bench`, `kit versions`: tables, --json, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys


def kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, timeout=300)


def test_info_table_and_json():
    r = kit("info", "--no-verify")
    assert r.returncode == 0 and "json.decode" in r.stdout and "backends available" in r.stdout
    r = kit("info", "--json")
    data = json.loads(r.stdout)
    rows = {(b["operation"], b["backend"]): b for b in data["backends"]}
    assert rows[("json.decode", "orjson")]["verified"] is False
    assert rows[("digest", "hashlib.sha256")]["verified"] is True


def test_bench_quick_restricted_json():
    r = kit("bench", "--op", "fingerprint", "--size", "small", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["selected"]["fingerprint"]["small"] in {"hashlib.blake2b", "xxh3_128"}
    row = data["rows"][0]
    assert row["baseline"] and row["samples"] >= 3 and row["ci_low_s"] <= row["median_s"] <= row["ci_high_s"]


def test_bench_table():
    r = kit("bench", "--op", "digest", "--size", "small")
    assert r.returncode == 0
    assert "speed-up" in r.stdout and "engine choices" in r.stdout


def test_user_errors_are_one_line_without_traceback():
    for args, needle in ((["bench", "--op", "json.encodee"], "valid operations: json.encode"),
                         (["bench", "--size", "huge"], "valid: small, medium, large")):
        r = kit(*args)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr and needle in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_versions():
    r = kit("versions", "--json")
    assert json.loads(r.stdout)["kit"]
