"""What the commands print fits 100 columns: kit score, bench, validate, info, cache stats, versions, report.

The commands run for real, on the smallest inputs that still show every kind of table: a score of
two operations on one payload class, a bench of two operations, the committed reference record
rendered as a score and validated against a copy of itself with some measurements made slower and
faster (so that the change tables and their footnotes appear), a cache with entries. ``COLUMNS`` is
set wide, as a wide terminal would: kit still stops at 100.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = next(iter(sorted((ROOT / "results" / "kit").glob("reference-*.json"))), None)
WIDTH = 100


def kit(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import os

    full = {**os.environ, "COLUMNS": "250", **(env or {})}
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, timeout=600,
                          env=full, cwd=cwd)


def assert_fits(text: str, what: str) -> None:
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, f"{what}: {len(long)} lines over {WIDTH} columns, e.g. {long[0]!r}"
    assert text.strip(), f"{what} printed nothing"


@pytest.fixture
def short_tmp():
    """A folder with a short path: a path is printed whole, and pytest's own are long."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="kw"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def results(short_tmp, monkeypatch):
    folder = short_tmp / "results"
    monkeypatch.setenv("KIT_RESULTS_DIR", str(folder))
    return folder


def _changed_copy(reference: Path, folder: Path) -> Path:
    """The reference with a few selected backends slower and one faster, by scaling their samples."""
    data = json.loads(reference.read_text())
    factors = {}
    for m in data["measurements"]:
        if m.get("selected") and not m.get("baseline") and len(factors) < 6:
            factors[(m["operation"], m["size"], m["kind"], m["backend"])] = 0.6 if not factors else 1.6
    for m in data["measurements"]:
        f = factors.get((m["operation"], m["size"], m["kind"], m["backend"]))
        if f:
            for key in ("raw_s", "run_medians_s"):
                m[key] = [x * f for x in m[key]]
            for key in ("median_s", "ci_low_s", "ci_high_s"):
                m[key] *= f
    data["id"] = "changed"
    path = folder / "changed.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.skipif(REFERENCE is None, reason="no reference record in results/kit")
def test_validate_and_a_stored_score_fit(results, short_tmp):
    tmp_path = short_tmp
    changed = _changed_copy(REFERENCE, tmp_path)
    r = kit("validate", str(changed), "--against", str(REFERENCE))
    # The committed reference's runs were made in one sitting: what it sees is INCONCLUSIVE, not FAIL.
    assert r.returncode == 3, r.stderr
    assert "slower" in r.stdout and "faster" in r.stdout and "significant changes" in r.stdout
    assert "drift between sittings is unknown" in r.stdout
    assert_fits(r.stdout, "kit validate")
    r = kit("validate", str(changed), "--against", str(REFERENCE), "--absolute", "--all")
    assert_fits(r.stdout, "kit validate --absolute --all")
    # the stored reference rendered as kit score prints it: claims with their footnotes, every table
    r = kit("report", str(REFERENCE), "--out", str(tmp_path / "report"))
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout, "kit report")
    from kit.report.tables import score_tables

    text = "\n\n".join(str(t) for t in score_tables(REFERENCE))
    assert "claims check" in text and "[1]" in text
    assert_fits(text, "kit score (stored record)")


def test_score_bench_info_versions_fit(results):
    r = kit("score", "--op", "fingerprint", "--op", "compress", "--size", "small", "--retries", "0",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "subscores" in r.stdout and "record written" in r.stdout
    assert_fits(r.stdout, "kit score")
    r = kit("bench", "--quick", "--op", "json.encode", "--op", "kernel.batch_fingerprint", "--size", "small",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "engine choices" in r.stdout and "median (95% CI)" in r.stdout
    assert_fits(r.stdout, "kit bench --quick")
    for args in (["info"], ["info", "--no-verify"], ["versions"]):
        r = kit(*args)
        assert r.returncode == 0, r.stderr
        assert_fits(r.stdout, "kit " + " ".join(args))


def test_cache_stats_fits(short_tmp):
    tmp_path = short_tmp
    import os

    env = {"KIT_CACHE_DIR": str(tmp_path / "kit-cache")}
    code = "import kit; c = kit.Cache(); c.set_many({f'key-{i}': 'x' * i for i in range(200)}); c.close()"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env})
    r = kit("cache", "stats", env=env)
    assert r.returncode == 0, r.stderr
    assert "hit rate" in r.stdout and "None" not in r.stdout
    assert_fits(r.stdout, "kit cache stats")
    r = kit("cache", "clear", env=env)
    assert r.returncode == 0 and "200 entries" in r.stdout
