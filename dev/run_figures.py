"""Which run figure moves least between runs and sittings? A short live experiment (a drill).

The software question's verdict (``kit validate``) tests a figure per run: each selected backend's
time relative to its class's baseline in the same run. This runs ``kit score --quick`` in fresh
processes, in two batches with a pause between (two sittings), and for each selected measurement
prints, per estimator of a run's figure (the median of its samples, their lower quartile, their
minimum, their mean):

* the standard deviation of ``log(backend figure / baseline figure)`` over all runs;
* the shift of its mean from the first batch to the second (drift between sittings).

Records go to a throw-away folder; this machine's wisdom and results are not touched. The figures
depend on the machine and its load: it is a drill, never a test.

Usage: ``python3 dev/run_figures.py [--runs 8] [--pause 30] [--op digest --op compress ...]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kit.stats import lower_quartile

ESTIMATORS = {"median": statistics.median, "q25": lower_quartile, "min": min, "mean": statistics.fmean}


def one_run(folder: Path, ops: list[str]) -> dict:
    out = folder / f"run-{len(list(folder.glob('run-*')))}"
    argv = [sys.executable, "-m", "kit.cli", "score", "--quick", "--json", "--no-claims", "--no-reference",
            "--retries", "0", "--no-progress", "--results", str(out)]
    for op in ops:
        argv += ["--op", op]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "KIT_CACHE_DIR": str(folder / "w")})
    if done.returncode != 0:
        sys.exit(f"kit score failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def figures(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """``{"operation size kind backend": {estimator: [log ratio per run]}}`` of the selected backends."""
    rows: dict[str, dict[str, list[float]]] = {}
    for r in records:
        base = {(m["operation"], m["size"], m["kind"]): m for m in r["measurements"] if m.get("baseline")}
        for m in r["measurements"]:
            b = base.get((m["operation"], m["size"], m["kind"]))
            if m.get("baseline") or not m.get("selected") or b is None:
                continue
            row = rows.setdefault(" ".join((m["operation"], m["size"], m["kind"], m["backend"])),
                                  {e: [] for e in ESTIMATORS})
            for e, f in ESTIMATORS.items():
                row[e].append(math.log(f(m["raw_s"]) / f(b["raw_s"])))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=8, help="runs per batch (default 8)")
    p.add_argument("--pause", type=float, default=30.0, help="seconds between the two batches (default 30)")
    p.add_argument("--op", action="append", help="operations (default: digest, compress, json.encode)")
    a = p.parse_args()
    ops = a.op or ["digest", "compress", "json.encode"]
    with tempfile.TemporaryDirectory(prefix="kit-run-figures-") as tmp:
        first = [one_run(Path(tmp), ops) for _ in range(a.runs)]
        time.sleep(a.pause)
        second = [one_run(Path(tmp), ops) for _ in range(a.runs)]
    rows = figures(first + second)
    n = a.runs
    print(f"{2 * n} runs of `kit score --quick --op {' --op '.join(ops)}`, {n} then {n} after {a.pause:g} s")
    print("log(backend / baseline) per run, by the estimator of a run's figure from its samples")
    head = " ".join(f"{e:>7s}" for e in ESTIMATORS)
    print(f"{'measurement':42s} {'sd over all runs':>31s}   {'shift between batches':>31s}")
    print(f"{'':42s} {head}   {head}")
    sds: dict[str, list[float]] = {e: [] for e in ESTIMATORS}
    for key, row in sorted(rows.items()):
        sd = {e: statistics.stdev(v) for e, v in row.items()}
        shift = {e: statistics.fmean(v[n:]) - statistics.fmean(v[:n]) for e, v in row.items()}
        for e in ESTIMATORS:
            sds[e].append(sd[e])
        print(f"{key[:42]:42s} " + " ".join(f"{sd[e] * 100:6.1f}%" for e in ESTIMATORS) + "   "
              + " ".join(f"{shift[e] * 100:6.1f}%" for e in ESTIMATORS))
    print("median sd: " + ", ".join(f"{e} {statistics.median(v) * 100:.1f}%" for e, v in sds.items()))


if __name__ == "__main__":
    main()
