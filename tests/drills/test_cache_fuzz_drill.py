"""Drill: 3,000 crafted rows through the on-disk and Redis tiers (the issue's figure), per seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.drill


@pytest.mark.parametrize("seed", [16, 1, 2])
def test_three_thousand_crafted_rows_no_crash(seed):
    tests = Path(__file__).resolve().parent.parent
    env = {**os.environ, "KIT_FUZZ_ROWS": "3000", "KIT_FUZZ_SEED": str(seed)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                          str(tests / "test_cache_fuzz.py"), "-k", "crafted_disk or crafted_redis"],
                         capture_output=True, text=True, env=env, cwd=tests.parent)
    figures = [line for line in out.stdout.splitlines() if line.startswith("crafted L3 rows")]
    print("\n" + "\n".join(figures))
    assert out.returncode == 0, out.stdout[-3000:]
