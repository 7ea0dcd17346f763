"""Which time estimator stays put beside a competing process? A short live experiment (a drill).

A single-threaded operation (``hashlib.sha256`` of 64 KiB) is timed in samples of a calibrated
loop, each sample with the wall clock, the measuring thread's CPU time and (Linux) its run-queue
wait. Conditions, interleaved block by block so that slow drifts hit them alike:

* ``quiet``: nothing started by the experiment;
* ``busy``: beside ``python3 -c "while True: pass"``, placed by the scheduler;
* ``pinned``: the busy loop and the measuring process pinned to the same core (the worst case);
* ``apart``: the busy loop pinned to another core than the measuring process (load without
  contention for this thread).

Estimators, per block: the wall-clock median, its 10th percentile and minimum, the thread-CPU
median, the median of wall time less run-queue wait, the wall-clock median of the samples whose
thread kept at least 90% of a CPU, and kit's own ``compare`` (quick preset) as it runs.

For each estimator it prints the shift from its own quiet value and its block-to-block spread.
The figures depend on the machine and its load: it is a drill, never a test.

Usage: ``python3 dev/estimator_experiment.py [--blocks 6] [--samples 31] [--sample-ms 5]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time

from kit.machine import psi_cpu_some, thread_schedstat
from kit.engine.measure import compare

BUSY = [sys.executable, "-c", "while True: pass"]
LOST = 0.9  # a sample whose thread got less than this share of the CPU lost it


def sample(fn, loops: int) -> tuple[float, float, float, float]:
    """One sample, per call: wall s, thread CPU s, share of the CPU the thread got, wall minus run-queue wait.

    The share and the wait are taken over an outer window holding both ``schedstat`` reads: a
    read of ``/proc`` is itself a point where the scheduler may preempt the thread, and a wait
    there must not be set against the inner (timed) window.
    """
    o0, oc0 = time.perf_counter(), time.thread_time()
    s0 = thread_schedstat()
    w0 = time.perf_counter()
    for _ in range(loops):
        fn()
    w1 = time.perf_counter()
    s1 = thread_schedstat()
    o1, oc1 = time.perf_counter(), time.thread_time()
    cpu, outer = oc1 - oc0, o1 - o0
    waited = (s1[1] - s0[1]) if s0 is not None and s1 is not None else None
    if waited is not None:
        share = cpu / (cpu + waited) if cpu + waited > 0 else 1.0
    else:
        share, waited = (cpu / outer if outer > 0 else 1.0), 0.0
    return (w1 - w0) / loops, cpu / loops, min(1.0, share), (outer - waited) / loops


def estimators(block: list[tuple[float, float, float, float]]) -> dict[str, float | None]:
    walls = sorted(w for w, _, _, _ in block)
    kept = [w for w, _, s, _ in block if s >= LOST]
    return {
        "wall median": statistics.median(walls),
        "wall p10": walls[len(walls) // 10],
        "wall min": walls[0],
        "thread-CPU median": statistics.median(c for _, c, _, _ in block),
        "wall - run-queue wait median": statistics.median(q for _, _, _, q in block),
        f"wall median, share>={LOST:g}": statistics.median(kept) if len(kept) >= 3 else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--samples", type=int, default=31)
    ap.add_argument("--sample-ms", type=float, default=5.0)
    ap.add_argument("--op", choices=["sha256", "blosc2", "blosc2-threads"], default="sha256",
                    help="sha256 of 64 KiB (single-threaded), blosc2 compression of 4 MiB on the calling thread, "
                         "or on two blosc2 worker threads")
    args = ap.parse_args()
    if args.op == "sha256":
        data = bytes(range(256)) * 256  # 64 KiB

        def fn():
            return hashlib.sha256(data).digest()
    else:
        import blosc2
        import numpy as np

        arr = np.random.default_rng(0).integers(0, 1000, 512 * 1024).astype(np.int64)  # 4 MiB
        if args.op == "blosc2-threads":
            blosc2.set_nthreads(2)  # the work moves to two worker threads; the caller waits for them

        def fn():
            return blosc2.compress(arr, typesize=8)

    t0 = time.perf_counter()
    for _ in range(200):
        fn()
    per_call = (time.perf_counter() - t0) / 200
    loops = max(1, int(args.sample_ms / 1e3 / per_call))
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    conditions = ["quiet", "busy"] + (["pinned", "apart"] if len(cores) >= 2 else [])
    results: dict[str, list[dict[str, float | None]]] = {c: [] for c in conditions}
    shares: dict[str, list[float]] = {c: [] for c in conditions}
    psi: dict[str, list[float]] = {c: [] for c in conditions}
    kit_lost: dict[str, list[tuple[int, int, bool]]] = {c: [] for c in conditions}
    what = {"sha256": "sha256 of 64 KiB", "blosc2": "blosc2.compress of 4 MiB",
            "blosc2-threads": "blosc2.compress of 4 MiB on 2 worker threads"}[args.op]
    print(f"{what}: {loops} calls per sample (~{args.sample_ms:g} ms), {args.samples} samples per "
          f"block, {args.blocks} blocks per condition; cores {cores}; load {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(args.blocks):
        for cond in conditions:
            proc = None
            if cond != "quiet":
                proc = subprocess.Popen(BUSY)
                if cond in ("pinned", "apart"):
                    os.sched_setaffinity(0, {cores[0]})
                    os.sched_setaffinity(proc.pid, {cores[0] if cond == "pinned" else cores[1]})
                time.sleep(0.2)  # let the loop start spinning
            try:
                block = [sample(fn, loops) for _ in range(args.samples)]
                kit_m = compare({"op": fn}, preset="quick")["op"]  # kit as it measures (wall clock)
            finally:
                if proc is not None:
                    proc.kill()
                    proc.wait()
                if cores:
                    os.sched_setaffinity(0, set(cores))
            results[cond].append({**estimators(block), "kit compare (quick)": kit_m.median})
            kit_lost[cond].append((len(kit_m.lost), len(kit_m.samples), kit_m.contended))
            shares[cond] += [s for _, _, s, _ in block]
            p = psi_cpu_some()
            if p is not None:
                psi[cond].append(p)
    names = list(results["quiet"][0])
    print(f"\n{'condition':<8} {'CPU share (median, min)':>24} {'lost samples':>13} {'PSI some avg10':>15} "
          f"{'kit: left out / kept, all kept':>31}")
    for cond in conditions:
        sh = shares[cond]
        lost = sum(s < LOST for s in sh) / len(sh)
        p = f"{statistics.median(psi[cond]):.0f}%" if psi[cond] else "n/a"
        left, kept = sum(x[0] for x in kit_lost[cond]), sum(x[1] for x in kit_lost[cond])
        forced = sum(x[2] for x in kit_lost[cond])
        print(f"{cond:<8} {statistics.median(sh):>17.2f}, {min(sh):.2f} {lost:>13.0%} {p:>15} "
              f"{f'{left} / {kept}, {forced} of {len(kit_lost[cond])} blocks':>31}")
    print(f"\n{'estimator':<26} " + " ".join(f"{c + ' shift':>13}" for c in conditions[1:])
          + " " + " ".join(f"{c + ' CV':>10}" for c in conditions))
    for name in names:
        def vals(cond):
            return [b[name] for b in results[cond] if b[name] is not None]

        quiet = vals("quiet")
        base = statistics.median(quiet) if quiet else None
        cells = []
        for cond in conditions[1:]:
            v = vals(cond)
            cells.append(f"{statistics.median(v) / base - 1:>+13.1%}" if v and base else f"{'n/a':>13}")
        cvs = []
        for cond in conditions:
            v = vals(cond)
            cvs.append(f"{statistics.stdev(v) / statistics.fmean(v):>10.1%}" if len(v) >= 2 else f"{'n/a':>10}")
        print(f"{name:<26} " + " ".join(cells) + " " + " ".join(cvs))
    print("\nshift: median over blocks against the same estimator's quiet median; CV: block-to-block spread;"
          "\nkit compare: kit.measure.compare on the wall clock, quick preset (samples that lost the CPU left out"
          "\nand retaken; all kept when too few kept it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
