"""kit.batch: ordered results, per-item errors, bounded retries, cancellation, adaptive choices, dask."""

from __future__ import annotations

import os
import threading
import time

import pytest

from kit import batch
from kit.batch import STRATEGIES, BatchError, available_cores, run, start
from kit.errors import KitError

LOCAL = ("sequential", "threads", "processes", "adaptive")


def fail_on_sevens(x):
    if x % 7 == 0:
        raise ValueError(f"bad item {x!r}")
    return x * x


def sleep_inverse(x):
    # later items finish first on a pool: the results must still come back in order
    time.sleep(0.001 * (20 - x % 20))
    return -x


_seen: dict = {}


def fails_twice_per_item(x):
    # counts attempts per item in the process that runs it (retries happen where the item runs)
    _seen[x] = _seen.get(x, 0) + 1
    if _seen[x] <= 2:
        raise OSError(f"transient failure {_seen[x]} for {x}")
    return x


def spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


@pytest.mark.parametrize("strategy", LOCAL)
def test_results_in_order_with_errors_collected(strategy):
    res = run(fail_on_sevens, range(30), strategy, workers=2, progress=False)
    assert len(res) == 30
    assert [e.index for e in res.errors] == [0, 7, 14, 21, 28]
    assert all(e.type == "ValueError" and e.message == f"bad item {e.index!r}" for e in res.errors)
    assert all("Traceback" in e.traceback and e.attempts == 1 for e in res.errors)
    assert [r for i, r in enumerate(res) if i % 7] == [i * i for i in range(30) if i % 7]
    assert all(res[i] is None for i in range(0, 30, 7))
    assert not res.ok and not res.cancelled and res.pending == []
    with pytest.raises(BatchError, match=r"5 of 30 items failed: item 0: ValueError: bad item 0; item 7"):
        res.raise_for_errors()


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_order_kept_when_later_items_finish_first(strategy):
    res = run(sleep_inverse, range(40), strategy, workers=4, chunksize=1, progress=False)
    assert res.ok and res.results == [-x for x in range(40)]


def test_local_errors_keep_the_exception_and_processes_the_text():
    local = run(fail_on_sevens, [7], "threads", progress=False)
    assert isinstance(local.errors[0].exception, ValueError)
    remote = run(fail_on_sevens, [7, 8], "processes", workers=1, progress=False)
    assert remote.errors[0].exception is None and remote.errors[0].message == "bad item 7"


@pytest.mark.parametrize("strategy", ["sequential", "threads", "processes"])
def test_retries_are_bounded(strategy):
    _seen.clear()
    ok = run(fails_twice_per_item, range(6), strategy, workers=2, retries=2, progress=False)
    assert ok.ok and ok.results == list(range(6)) and ok.attempts == [3] * 6
    _seen.clear()
    short = run(fails_twice_per_item, range(6), strategy, workers=2, retries=1, progress=False)
    assert len(short.errors) == 6 and all(e.attempts == 2 and e.type == "OSError" for e in short.errors)
    assert "after 2 attempts" in str(short.errors[0])


def test_retry_on_and_backoff():
    calls = []

    def bad_type(x):
        calls.append(x)
        raise TypeError("not retried")

    res = run(bad_type, [1], retries=5, retry_on=OSError, progress=False)
    assert res.attempts == [1] and len(calls) == 1
    _seen.clear()
    t0 = time.perf_counter()
    res = run(fails_twice_per_item, [99], retries=2, backoff=0.02, progress=False)
    assert res.ok and time.perf_counter() - t0 >= 0.02 + 0.04


def test_cancel_with_an_event_keeps_what_ran():
    ev = threading.Event()

    def work(x):
        if x == 5:
            ev.set()
        return x

    res = run(work, range(20), cancel=ev, progress=False)
    assert res.cancelled and not res.ok
    assert res.results[:6] == list(range(6)) and res.pending == list(range(6, 20))
    assert res.attempts[:6] == [1] * 6


def test_cancel_threads_from_another_thread():
    ev = threading.Event()

    def work(x):
        if x == 10:
            ev.set()  # from a worker thread, not the one that runs the batch
        return x

    res = run(work, range(200), "threads", workers=2, chunksize=1, cancel=ev, progress=False)
    # at most the bounded window of queued items (2 per worker) runs after the cancel
    ran = [i for i, a in enumerate(res.attempts) if a]
    assert res.cancelled and 10 in ran and len(res.pending) >= 200 - 11 - 2 * 2 - 2
    assert res.results[:11] == list(range(11))


def test_cancel_through_the_handle():
    started, gate = threading.Event(), threading.Event()

    def work(x):
        if x == 5:
            started.set()
        if x >= 5:
            gate.wait(30)  # hold the workers until the test has cancelled
        return x

    handle = start(work, range(200), "threads", workers=2, progress=False)
    assert started.wait(30)
    handle.cancel()
    gate.set()
    res = handle.result(timeout=30)
    assert handle.done() and handle.cancelled
    assert res.cancelled and len(res.pending) > 150
    finished = start(abs, [-1, -2], progress=False).result(timeout=5)
    assert finished.ok and finished.results == [1, 2] and not finished.cancelled


def test_adaptive_runs_waiting_work_on_many_threads():
    # What it gains in time is a drill (tests/drills/test_batch_drill.py); here, what it decides.
    res = run(time.sleep, [0.004] * 80, "adaptive", progress=False)
    assert res.ok and res.results == [None] * 80
    assert res.plan["chose"] == "threads", res.plan
    assert res.workers > available_cores() and res.plan["cpu_fraction"] < 0.5


def test_adaptive_keeps_tiny_work_sequential():
    res = run(abs, range(-500, 500), "adaptive", progress=False)
    assert res.ok and res.results == [abs(x) for x in range(-500, 500)]
    assert res.plan["chose"] == "sequential", res.plan


def test_adaptive_sends_gil_bound_cpu_work_to_processes(monkeypatch):
    monkeypatch.setattr(batch, "PROCESSES_ABOVE", 0.05)
    res = run(spin, [20_000] * 400, "adaptive", progress=False)
    assert res.ok and res.results == [spin(20_000)] * 400
    if available_cores() == 1 or res.plan["free_cores"] == 1:
        # one core, or other programs keep every core busy (measured): no parallel speed-up to gain
        assert res.plan["chose"] == "sequential", res.plan
    else:
        assert res.plan["chose"] == "processes", res.plan
        assert res.plan["cpu_fraction"] > 0.5 and res.plan["thread_speedup"] < 1.4
        assert res.workers == available_cores() and res.chunksize >= 1
    assert {"pilot_items", "per_item_s", "reason"} <= set(res.plan)


def test_free_cores_from_the_time_spent_waiting_for_one():
    assert batch.free_cores(16, 0.0) == 16
    assert batch.free_cores(16, 0.25) == 12
    assert batch.free_cores(2, 0.6) == 1 and batch.free_cores(2, 1.5) == 1 and batch.free_cores(4, -0.1) == 4
    # the measurement behind it: a thread that only computes waits for a core no longer than it runs
    clock = batch._runqueue_clock()
    t0, q0 = time.thread_time(), clock()
    spin(200_000)
    assert 0 <= clock() - q0 <= max(1.0, 20 * (time.thread_time() - t0))


def test_processes_take_lambdas_through_cloudpickle():
    pytest.importorskip("cloudpickle")
    offset = 10
    res = run(lambda x: x + offset, range(8), "processes", workers=2, progress=False)
    assert res.ok and res.results == list(range(10, 18))


def test_processes_refuse_items_that_do_not_pickle():
    with pytest.raises(KitError, match="cannot send the work to other processes: items do not pickle"):
        run(id, [threading.Lock()], "processes", progress=False)


def test_a_dead_worker_fails_its_items_not_the_batch():
    res = run(os._exit, [1, 1, 1], "processes", workers=1, chunksize=1, progress=False)
    assert len(res.errors) == 3 and res.errors[0].type == "BrokenProcessPool"
    assert "chunk failed" in res.errors[0].message


def test_progress_bar(capsys):
    run(abs, range(10), progress=True, desc="unit test")
    err = capsys.readouterr().err
    assert "unit test" in err and "10/10" in err


def test_arguments_are_checked():
    with pytest.raises(KitError, match="unknown batch strategy 'gpu'; valid strategies: " + ", ".join(STRATEGIES)):
        run(abs, [1], "gpu")
    with pytest.raises(KitError, match="retries must be an int from 0 to 100, got -1"):
        run(abs, [1], retries=-1)
    with pytest.raises(KitError, match="workers must be a positive int or None, got 0"):
        run(abs, [1], "threads", workers=0)
    with pytest.raises(KitError, match="cancel must be a threading.Event"):
        run(abs, [1], cancel=True)
    assert run(abs, [], "processes", progress=False).results == []


def test_dask_on_a_local_cluster():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (optional extra)")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        res = run(fail_on_sevens, range(20), "dask", client=client, progress=False)
        assert [e.index for e in res.errors] == [0, 7, 14]
        assert [r for i, r in enumerate(res) if i % 7] == [i * i for i in range(20) if i % 7]
        assert res.workers == 2
        _seen.clear()
        assert run(fails_twice_per_item, range(4), "dask", retries=2, progress=False).ok  # the current client
        by_address = run(abs, [-3, -4], "dask", client=cluster.scheduler_address, progress=False)
        assert by_address.results == [3, 4]


def test_dask_without_a_client_says_how_to_get_one():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (optional extra)")
    try:
        distributed.get_client()
        pytest.skip("a dask client is already running in this process")
    except ValueError:
        pass
    with pytest.raises(KitError, match="needs a dask.distributed Client"):
        run(abs, [1], "dask", progress=False)
