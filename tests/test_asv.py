"""``dev/asv_ci.sh`` (``asv check`` and one quick run of the suite) and ``dev/regression_drill.sh``.

The two small tests run the CI script on a throw-away benchmark folder, to show
that it fails on a benchmark that raises and passes on one that only skips.
The run of the whole suite (about 2 minutes on two cores) and the regression
drill (which builds asv's virtualenv from the package index the first time) are
drills, in tests/drills/test_asv_drills.py (``bash dev/drills.sh``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "dev" / "asv_ci.sh"

pytest.importorskip("asv")
if shutil.which("bash") is None or shutil.which("git") is None:
    pytest.skip("dev/asv_ci.sh needs bash and git", allow_module_level=True)

BENCHMARKS = '''
def time_fine():
    sum(range(100))


class Absent:
    params = [["here", "absent"]]

    def setup(self, where):
        if where == "absent":
            raise NotImplementedError("library not installed")

    def time_call(self, where):
        pass
'''

BROKEN = '''

def time_broken():
    raise RuntimeError("this benchmark is broken")
'''


def run_ci(tmp_path: Path, source: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "bench_sample.py").write_text(source)
    env = dict(os.environ, KIT_ASV_BENCHMARKS=str(folder))
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_asv_ci_passes_when_benchmarks_run_or_skip(tmp_path):
    res = run_ci(tmp_path, BENCHMARKS)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "2 measured, 1 skipped, 0 failed" in res.stdout


def test_asv_ci_fails_on_a_benchmark_that_errors(tmp_path):
    res = run_ci(tmp_path, BENCHMARKS + BROKEN)
    assert res.returncode != 0
    assert "FAILED bench_sample.time_broken" in res.stdout, res.stdout[-3000:]
    assert "this benchmark is broken" in res.stdout  # asv's stderr is shown
