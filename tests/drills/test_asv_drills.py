"""Drills of the asv tooling: the whole suite once, and the regression drill.

Neither is a gate: the first takes minutes, the second builds asv's virtualenv from the package
index the first time and measures a real slowdown live. ``bash dev/drills.sh`` runs them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.drill
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "dev" / "asv_ci.sh"

pytest.importorskip("asv")
if shutil.which("bash") is None or shutil.which("git") is None:
    pytest.skip("the asv drills need bash and git", allow_module_level=True)


def test_asv_ci_runs_the_whole_suite_without_errors():
    t0 = time.perf_counter()
    res = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    seconds = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert " 0 failed" in res.stdout
    summary = [line for line in res.stdout.splitlines() if line.startswith("asv_ci:")]
    print("\n" + "\n".join(summary) + f"\ndev/asv_ci.sh: {seconds:.0f} s")


def test_regression_drill_flags_a_25_percent_slowdown_and_nothing_else():
    # Builds (once) asv's virtualenv from the lock file under .asv/env-drill: minutes and PyPI the first time.
    res = subprocess.run(["bash", str(ROOT / "dev" / "regression_drill.sh")], cwd=ROOT, capture_output=True,
                         text=True, timeout=3600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    assert "OK: asv continuous flags the 25% slower commit" in out
    assert "OK: asv continuous does not flag the unchanged commit" in out
    print("\n" + "\n".join(line for line in out.splitlines() if line.startswith(("OK", "FAIL", "drill"))))
