"""Drill: what the adaptive batch strategy gains in time on waiting work, measured live."""

from __future__ import annotations

import time

import pytest

from kit.batch import available_cores, run
from kit.machine import load_per_core

pytestmark = pytest.mark.drill


def test_adaptive_threads_beat_one_after_the_other_on_waiting_work():
    items = [0.004] * 80
    t0 = time.perf_counter()
    run(time.sleep, items, "sequential", progress=False)
    sequential = time.perf_counter() - t0
    res = run(time.sleep, items, "adaptive", progress=False)
    load = load_per_core()
    print(f"\nbatch drill: 80 waits of 4 ms on {available_cores()} cores (load "
          f"{'unknown' if load is None else f'{load:.2f} per core'}): sequential {sequential:.3f} s, "
          f"adaptive {res.elapsed:.3f} s ({res.plan['chose']}, {res.workers} workers), "
          f"{sequential / res.elapsed:.1f}x faster")
    assert res.plan["chose"] == "threads" and res.elapsed < sequential / 3
