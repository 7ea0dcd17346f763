"""Run a function over many items: sequentially, on threads, on processes, adaptively or on dask.

:func:`run` returns a :class:`BatchResult`: the results in the items' order,
the errors of the items that failed (collected, never raised mid-batch), how
many attempts each took, and what the strategy decided. Retries are bounded;
a batch can be cancelled with an :class:`threading.Event` or through the
handle :func:`start` returns; progress is shown with tqdm's auto mode (a
widget in Jupyter, text in a terminal).

=============  ================================================================
strategy       what it does
=============  ================================================================
``sequential`` one item after the other in the calling thread
``threads``    a thread pool; right when items wait (I/O, sleep) or release
               the GIL (numpy, compression, hashing)
``processes``  a process pool; right for pure-Python CPU work. ``fn`` and
               the items must pickle (closures and lambdas do when
               ``cloudpickle`` is installed)
``adaptive``   runs a few items, measures their time, how much of it is CPU
               and how long they waited for a busy core, tries threads on a
               small chunk when the work is CPU-bound, then picks the
               strategy, worker count and chunk size; its choices and
               measurements are in ``result.plan``
``dask``       submits chunks to a ``dask.distributed`` client (optional:
               ``pip install "dask[distributed]"``)
=============  ================================================================

Examples
--------
>>> from kit.batch import run
>>> res = run(lambda x: 10 // x, [1, 2, 0, 5], progress=False)
>>> list(res)
[10, 5, None, 2]
>>> res.errors[0].index, res.errors[0].type
(2, 'ZeroDivisionError')
"""

from __future__ import annotations

import math
import os
import pickle
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from kit.errors import KitError
from kit.machine import runqueue_clock as _runqueue_clock  # shared with kit.measure

__all__ = ["STRATEGIES", "Batch", "BatchError", "BatchResult", "ItemError", "run", "start"]

#: Strategy names :func:`run` accepts.
STRATEGIES = ("sequential", "threads", "processes", "adaptive", "dask")

#: Adaptive: time spent measuring items one by one before choosing (seconds).
PILOT_TIME = 0.02
#: Adaptive: time the thread probe of CPU-bound work should take (seconds, at least 2 items per worker).
PROBE_TIME = 0.01
#: Adaptive: time one chunk should take, so per-chunk overhead stays small (seconds).
CHUNK_TIME = 0.02
#: Adaptive: below this estimated remaining time a pool is not worth starting (seconds).
SEQUENTIAL_BELOW = 0.02
#: Adaptive: below this estimated remaining time a process pool is not worth starting (seconds).
PROCESSES_ABOVE = 0.3
#: Adaptive: the most threads it will use for waiting work.
MAX_THREADS = 64
#: Largest number of retries per item.
MAX_RETRIES = 100


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores(cores: int, busy: float) -> int:
    """Cores a CPU-bound batch can expect, when a thread waited ``busy`` of its time for one.

    A thread that is ready to run but waits for a core means other programs
    keep the cores busy; the share of time it got a core estimates the share
    of the machine that is free. This sees saturation only (one free core
    among many busy ones shows as no wait), which is when more workers would
    only queue up.

    Examples
    --------
    >>> free_cores(8, 0.0), free_cores(8, 0.5), free_cores(2, 0.7)
    (8, 4, 1)
    """
    return max(1, min(cores, int(cores * (1.0 - min(max(busy, 0.0), 1.0)) + 0.5)))


@dataclass
class ItemError:
    """Why one item failed: its index, the exception's type and message, attempts made.

    ``exception`` is the exception object when the item ran in this process
    (``None`` from worker processes and dask, where only its text comes back).
    """

    index: int
    type: str
    message: str
    traceback: str
    attempts: int
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"item {self.index}: {self.type}: {self.message}{tries}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "type": self.type, "message": self.message, "attempts": self.attempts,
                "traceback": self.traceback}


class BatchError(KitError):
    """Raised by :meth:`BatchResult.raise_for_errors` when items failed."""

    def __init__(self, result: "BatchResult"):
        self.result = result
        shown = "; ".join(str(e) for e in result.errors[:3])
        more = f" (and {len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
        super().__init__(f"{len(result.errors)} of {len(result)} items failed: {shown}{more}")


@dataclass
class BatchResult(Sequence):
    """Results in the items' order (``None`` where an item failed or did not run).

    Attributes
    ----------
    results : list
        One entry per item.
    errors : list of ItemError
        Failed items, by index.
    attempts : list of int
        Attempts per item (0: not run, because the batch was cancelled).
    cancelled : bool
        The batch was cancelled before every item ran.
    strategy, workers, chunksize : str, int, int
        What ran (for ``adaptive``: what it chose).
    elapsed : float
        Wall-clock seconds.
    plan : dict
        ``adaptive``'s measurements and the reason for its choice.
    """

    results: list
    errors: list[ItemError]
    attempts: list[int]
    cancelled: bool
    strategy: str
    workers: int
    chunksize: int
    elapsed: float
    plan: dict = field(default_factory=dict)

    def __getitem__(self, i):  # type: ignore[override]
        return self.results[i]

    def __len__(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        """Every item ran and none failed."""
        return not self.errors and not self.cancelled

    @property
    def pending(self) -> list[int]:
        """Indices of items that never ran (after a cancellation)."""
        return [i for i, a in enumerate(self.attempts) if a == 0]

    def raise_for_errors(self) -> "BatchResult":
        """Raise :class:`BatchError` if any item failed; else return ``self``.

        Examples
        --------
        >>> run(abs, [-1, 2], progress=False).raise_for_errors().results
        [1, 2]
        """
        if self.errors:
            raise BatchError(self)
        return self

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json`` and logs."""
        return {"items": len(self), "errors": len(self.errors), "cancelled": self.cancelled,
                "pending": len(self.pending), "strategy": self.strategy, "workers": self.workers,
                "chunksize": self.chunksize, "elapsed_s": self.elapsed, "plan": self.plan}


# --- running one chunk (in this process, a worker process, or a dask worker) ----------------

def _error_info(exc: BaseException) -> tuple[str, str, str]:
    return type(exc).__name__, str(exc), "".join(traceback.format_exception(exc))


def _run_chunk(fn: Callable, chunk: list[tuple[int, Any]], retries: int, retry_on: tuple,
               backoff: float, cancel: Any = None, keep_exceptions: bool = False) -> list[tuple]:
    """Run ``fn`` on each ``(index, item)``; returns ``(index, ok, value, attempts)`` tuples.

    A failed item's value is ``(type, message, traceback[, exception])``.
    Stops early (returning what ran) when ``cancel`` is set.
    """
    out = []
    for idx, item in chunk:
        if cancel is not None and cancel.is_set():
            break
        attempts = 0
        while True:
            attempts += 1
            try:
                out.append((idx, True, fn(item), attempts))
                break
            except Exception as exc:  # noqa: BLE001 (collected per item, by design)
                if attempts > retries or not isinstance(exc, retry_on) or (cancel is not None and cancel.is_set()):
                    info = _error_info(exc) + ((exc,) if keep_exceptions else ())
                    out.append((idx, False, info, attempts))
                    break
                if backoff:
                    time.sleep(backoff * 2 ** (attempts - 1))
    return out


class _Cloud:
    """Carry a function that pickle cannot (lambda, closure) to worker processes via cloudpickle."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __reduce__(self):
        import cloudpickle

        return (_from_cloud, (cloudpickle.dumps(self.fn),))

    def __call__(self, item: Any) -> Any:
        return self.fn(item)


def _from_cloud(data: bytes) -> _Cloud:
    return _Cloud(pickle.loads(data))


def _picklable(fn: Callable, sample: Any) -> tuple[Callable | None, str]:
    """``fn`` ready to send to processes (wrapped for cloudpickle if needed), or ``None`` and why not."""
    try:
        pickle.dumps(sample)
    except Exception as exc:  # noqa: BLE001
        return None, f"items do not pickle ({type(exc).__name__}: {exc})"
    try:
        pickle.dumps(fn)
        return fn, ""
    except Exception as exc:  # noqa: BLE001
        try:
            import cloudpickle  # noqa: F401
        except ImportError:
            return None, f"fn does not pickle ({type(exc).__name__}: {exc}); install cloudpickle or use a module-level function"
        try:
            pickle.dumps(_Cloud(fn))
        except Exception as exc2:  # noqa: BLE001
            return None, f"fn does not pickle, even with cloudpickle ({type(exc2).__name__}: {exc2})"
        return _Cloud(fn), ""


# --- the runner ---------------------------------------------------------------------------

class _State:
    """Results being filled in, the progress bar, and the cancel flag."""

    def __init__(self, n: int, progress: bool, desc: str | None, cancel: Any):
        self.results: list = [None] * n
        self.attempts = [0] * n
        self.errors: dict[int, ItemError] = {}
        self.cancel = cancel
        self.done = 0
        self.bar = None
        if progress and n:
            from kit._display import progress_bar

            self.bar = progress_bar(n, desc or "batch", "item")

    def take(self, rows: list[tuple]) -> None:
        for idx, ok, value, attempts in rows:
            self.attempts[idx] = attempts
            if ok:
                self.results[idx] = value
            else:
                exc = value[3] if len(value) > 3 else None
                self.errors[idx] = ItemError(idx, value[0], value[1], value[2], attempts, exc)
        self.done += len(rows)
        if self.bar is not None and rows:
            self.bar.update(len(rows))

    def fail_chunk(self, chunk: list[tuple[int, Any]], exc: BaseException) -> None:
        # the chunk as a whole failed (a worker died, a result did not pickle)
        t, m, tb = _error_info(exc)
        self.take([(i, False, (t, f"chunk failed: {m}", tb, exc), 1) for i, _ in chunk])

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _chunks(indexed: list[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    for i in range(0, len(indexed), size):
        yield indexed[i:i + size]


def _default_chunksize(n: int, workers: int) -> int:
    # as multiprocessing.Pool.map: about four chunks per worker
    return max(1, math.ceil(n / (workers * 4)))


def _run_sequential(fn, indexed, st: _State, retries, retry_on, backoff) -> None:
    for idx, item in indexed:
        if st.cancelled:
            return
        st.take(_run_chunk(fn, [(idx, item)], retries, retry_on, backoff, st.cancel, True))


def _run_pool(kind: str, fn, indexed, st: _State, workers: int, chunksize: int, retries, retry_on, backoff,
              mp_context=None) -> None:
    import concurrent.futures as cf

    local = kind == "threads"
    if local:
        pool: cf.Executor = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kit-batch")
    else:
        import multiprocessing

        ctx = multiprocessing.get_context(mp_context) if isinstance(mp_context, str) else mp_context
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    chunks = _chunks(indexed, chunksize)
    inflight: dict[cf.Future, list] = {}
    window = workers * 2  # bounded, so cancelling leaves little queued work
    try:
        while True:
            while len(inflight) < window and not st.cancelled:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                args = (fn, chunk, retries, retry_on, backoff) + ((st.cancel, True) if local else ())
                try:
                    inflight[pool.submit(_run_chunk, *args)] = chunk
                except Exception as exc:  # noqa: BLE001 (a broken pool takes no more work)
                    for c in (chunk, *chunks):
                        st.fail_chunk(c, exc)
            if not inflight:
                break
            finished, _ = cf.wait(inflight, timeout=0.1 if st.cancel is not None else None,
                                  return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                chunk = inflight.pop(fut)
                if fut.cancelled():
                    continue
                try:
                    st.take(fut.result())
                except Exception as exc:  # noqa: BLE001 (e.g. BrokenProcessPool, an unpicklable result)
                    st.fail_chunk(chunk, exc)
            if st.cancelled:
                for fut in list(inflight):
                    if fut.cancel():
                        inflight.pop(fut)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(fn, indexed, st: _State, client, chunksize: int, retries, retry_on, backoff) -> int:
    try:
        import distributed
    except ImportError:
        raise KitError('strategy="dask" needs dask.distributed: pip install "dask[distributed]"') from None
    own = None
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError:
            raise KitError('strategy="dask" needs a dask.distributed Client: pass client=Client(...) '
                           "(or its scheduler address), or create a Client first") from None
    elif isinstance(client, str):
        client = own = distributed.Client(client)
    try:
        threads = sum(client.nthreads().values()) or 1
        size = chunksize or _default_chunksize(len(indexed), threads)
        futures = {}
        for chunk in _chunks(indexed, size):
            fut = client.submit(_run_chunk, fn, chunk, retries, retry_on, backoff, pure=False)
            futures[fut] = chunk
        done = distributed.as_completed(list(futures))
        for fut in done:
            chunk = futures.pop(fut)
            try:
                st.take(fut.result())
            except Exception as exc:  # noqa: BLE001
                st.fail_chunk(chunk, exc)
            if st.cancelled:
                client.cancel(list(futures))
                break
        return threads
    finally:
        if own is not None:
            own.close()


def _adaptive(fn, indexed, st: _State, retries, retry_on, backoff, workers, chunksize, mp_context) -> tuple:
    """Measure, choose, run the rest; returns (strategy, workers, chunksize, plan)."""
    cores = available_cores()
    plan: dict[str, Any] = {"cores": cores}
    # 1. pilot: items one by one, wall and CPU time (these results are kept)
    runqueue = _runqueue_clock()
    pos, wall, cpu, queued = 0, 0.0, 0.0, 0.0
    while pos < len(indexed) and not st.cancelled:
        q0, w0, c0 = runqueue(), time.perf_counter(), time.thread_time()
        st.take(_run_chunk(fn, [indexed[pos]], retries, retry_on, backoff, st.cancel, True))
        wall += time.perf_counter() - w0
        cpu += time.thread_time() - c0
        queued += runqueue() - q0
        pos += 1
        # two items suffice to see waiting work (it parallelises on threads whatever its length);
        # CPU-bound work is timed for PILOT_TIME to size the chunks
        if pos >= 2 and (wall >= PILOT_TIME or cpu < 0.5 * (wall - queued)):
            break
    rest = indexed[pos:]
    per_item = wall / pos if pos else 0.0
    running = wall - queued  # time not spent waiting for a core
    cpu_frac = min(1.0, cpu / running) if running > 0 else 1.0
    plan.update(pilot_items=pos, per_item_s=per_item, cpu_fraction=cpu_frac, runqueue_wait_s=queued)
    if not rest or st.cancelled:
        plan["reason"] = "all items ran in the pilot"
        return "sequential", 1, 1, plan
    remaining = per_item * len(rest)
    plan["estimated_sequential_s"] = remaining
    if remaining < SEQUENTIAL_BELOW or (cores == 1 and cpu_frac >= 0.5):
        plan["reason"] = (f"{remaining * 1e3:.1f} ms of work left: a pool would cost more than it saves"
                          if remaining < SEQUENTIAL_BELOW else "one core and CPU-bound work")
        _run_sequential(fn, rest, st, retries, retry_on, backoff)
        return "sequential", 1, 1, plan
    if cpu_frac < 0.5:
        # waiting dominates: enough threads to keep the cores busy while the others wait
        n = workers or max(cores, min(MAX_THREADS, math.ceil(cores / max(cpu_frac, 1.0 / MAX_THREADS))))
        n = min(n, len(rest))
        size = chunksize or max(1, min(math.ceil(CHUNK_TIME / max(per_item, 1e-9)), len(rest) // (n * 4)))
        plan["reason"] = f"items spend {1 - cpu_frac:.0%} of their time waiting: threads"
        _run_pool("threads", fn, rest, st, n, size, retries, retry_on, backoff)
        return "threads", n, size, plan
    # CPU-bound. When other programs keep the cores busy (the pilot waited for a core a good part
    # of its time), more workers only queue up: count the cores the pilot effectively had.
    busy = queued / wall if wall > 0 else 0.0
    free = free_cores(cores, busy)
    plan.update(runqueue_fraction=busy, free_cores=free)
    n = workers or free
    if n == 1 and cores > 1:
        plan["reason"] = (f"CPU-bound, and the cores are busy (the pilot waited {busy:.0%} of its time for one): "
                          "sequential")
        _run_sequential(fn, rest, st, retries, retry_on, backoff)
        return "sequential", 1, 1, plan
    # 2. Do threads run in parallel (the GIL released)? Try a small chunk on threads.
    k = min(len(rest), max(2 * n, math.ceil(PROBE_TIME / max(per_item, 1e-9))))
    probe, rest = rest[:k], rest[k:]
    t0 = time.perf_counter()
    _run_pool("threads", fn, probe, st, n, 1, retries, retry_on, backoff)
    speedup = (per_item * k) / max(time.perf_counter() - t0, 1e-9)
    plan.update(thread_probe_items=k, thread_speedup=speedup)
    if not rest or st.cancelled:
        plan["reason"] = "all items ran in the pilot and the thread probe"
        return "threads", n, 1, plan
    remaining = per_item * len(rest)
    if speedup >= 0.7 * min(n, k):
        size = chunksize or max(1, min(math.ceil(CHUNK_TIME / max(per_item, 1e-9)), len(rest) // (n * 4)))
        plan["reason"] = f"CPU-bound, but threads ran {speedup:.1f}x faster (the GIL is released): threads"
        _run_pool("threads", fn, rest, st, n, size, retries, retry_on, backoff)
        return "threads", n, size, plan
    # 3. Holds the GIL: processes, when the work left pays for starting them.
    sendable, why = _picklable(fn, rest[0][1])
    if sendable is not None and remaining >= PROCESSES_ABOVE:
        size = chunksize or max(1, min(math.ceil(CHUNK_TIME / max(per_item, 1e-9)),
                                       math.ceil(len(rest) / (n * 4))))
        plan["reason"] = (f"CPU-bound and holds the GIL (threads {speedup:.1f}x); "
                          f"{remaining:.2f} s of work left: processes")
        _run_pool("processes", sendable, rest, st, n, size, retries, retry_on, backoff, mp_context)
        return "processes", n, size, plan
    plan["reason"] = ("CPU-bound and holds the GIL; " +
                      (why if sendable is None else f"only {remaining:.2f} s left: not worth a process pool"))
    _run_sequential(fn, rest, st, retries, retry_on, backoff)
    return "sequential", 1, 1, plan


def run(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    strategy: str = "sequential",
    *,
    workers: int | None = None,
    chunksize: int | None = None,
    retries: int = 0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    backoff: float = 0.0,
    progress: bool = True,
    desc: str | None = None,
    cancel: Any = None,
    client: Any = None,
    mp_context: Any = None,
) -> BatchResult:
    """Apply ``fn`` to every item; results in order, per-item errors collected.

    Parameters
    ----------
    fn : callable
        ``fn(item) -> result``.
    items : iterable
        Read once into a list (the results keep its order).
    strategy : str
        One of :data:`STRATEGIES`.
    workers : int, optional
        Threads or processes (default: ``min(32, cores + 4)`` threads, one
        process per available core; ``adaptive`` chooses).
    chunksize : int, optional
        Items sent to a worker at once (default: about four chunks per worker;
        ``adaptive`` chooses).
    retries : int
        Extra attempts for an item whose ``fn`` raised one of ``retry_on``
        (0 to 100); ``backoff`` seconds before the first retry, doubling.
    progress : bool
        Show a tqdm progress bar (``desc`` is its label).
    cancel : threading.Event, optional
        When set, no new item starts; items already running finish, the
        others stay ``None`` with 0 attempts (``result.pending``). Worker
        processes finish the chunk they hold.
    client : dask.distributed.Client or str, optional
        For ``strategy="dask"``: the client or a scheduler address (default:
        the current client).
    mp_context : str or multiprocessing context, optional
        Start method of worker processes (``"spawn"``, ``"forkserver"``, ...).

    Returns
    -------
    BatchResult

    Examples
    --------
    >>> r = run(str.upper, ["a", "b"], "threads", workers=2, progress=False)
    >>> r.results, r.ok
    (['A', 'B'], True)
    >>> calls = []
    >>> def flaky(x):
    ...     calls.append(x)
    ...     if len(calls) < 3:
    ...         raise OSError("busy")
    ...     return x
    >>> run(flaky, [7], retries=2, progress=False).attempts
    [3]
    """
    if strategy not in STRATEGIES:
        raise KitError(f"unknown batch strategy {strategy!r}; valid strategies: {', '.join(STRATEGIES)}")
    for name, value, low in (("workers", workers, 1), ("chunksize", chunksize, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise KitError(f"{name} must be a positive int or None, got {value!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise KitError(f"retries must be an int from 0 to {MAX_RETRIES}, got {retries!r}")
    if not callable(fn):
        raise KitError(f"fn must be callable, got {type(fn).__name__} {fn!r}")
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise KitError(f"cancel must be a threading.Event (anything with is_set()), got {cancel!r}")
    retry_types = retry_on if isinstance(retry_on, tuple) else (retry_on,)
    items = list(items)
    indexed = list(enumerate(items))
    n = len(items)
    st = _State(n, progress, desc, cancel)
    t0 = time.perf_counter()
    plan: dict[str, Any] = {}
    used_workers, used_chunk = 1, 1
    try:
        if strategy == "sequential" or not n:
            _run_sequential(fn, indexed, st, retries, retry_types, backoff)
        elif strategy == "threads":
            used_workers = workers or min(32, available_cores() + 4)
            used_chunk = chunksize or _default_chunksize(n, used_workers)
            _run_pool("threads", fn, indexed, st, used_workers, used_chunk, retries, retry_types, backoff)
        elif strategy == "processes":
            sendable, why = _picklable(fn, items[0])
            if sendable is None:
                raise KitError(f'strategy="processes" cannot send the work to other processes: {why}')
            used_workers = workers or available_cores()
            used_chunk = chunksize or _default_chunksize(n, used_workers)
            _run_pool("processes", sendable, indexed, st, used_workers, used_chunk, retries, retry_types,
                      backoff, mp_context)
        elif strategy == "dask":
            used_workers = _run_dask(fn, indexed, st, client, chunksize or 0, retries, retry_types, backoff)
            used_chunk = chunksize or _default_chunksize(n, used_workers)
        else:
            strategy, used_workers, used_chunk, plan = _adaptive(
                fn, indexed, st, retries, retry_types, backoff, workers, chunksize, mp_context)
            plan["chose"] = strategy
            strategy = "adaptive"
    finally:
        st.close()
    return BatchResult(
        results=st.results,
        errors=[st.errors[i] for i in sorted(st.errors)],
        attempts=st.attempts,
        cancelled=st.cancelled and any(a == 0 for a in st.attempts),
        strategy=strategy,
        workers=used_workers,
        chunksize=used_chunk,
        elapsed=time.perf_counter() - t0,
        plan=plan,
    )


class Batch:
    """A batch running in the background: :meth:`cancel`, :meth:`done`, :meth:`result`.

    Examples
    --------
    >>> b = start(abs, [-1, -2], progress=False)
    >>> b.result(timeout=10).results
    [1, 2]
    """

    def __init__(self, fn: Callable, items: Iterable, kwargs: dict):
        self._event = threading.Event()
        outer = kwargs.pop("cancel", None)
        if outer is not None:
            raise KitError("start() makes its own cancel event; call .cancel() on the handle")
        self._result: BatchResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(fn, list(items), kwargs), daemon=True,
                                        name="kit-batch")
        self._thread.start()

    def _main(self, fn, items, kwargs) -> None:
        try:
            self._result = run(fn, items, cancel=self._event, **kwargs)
        except BaseException as exc:  # noqa: BLE001 (handed to result())
            self._error = exc

    def cancel(self) -> None:
        """Start no new item; running ones finish. :meth:`result` then returns what ran."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> BatchResult:
        """Wait for the batch; raises ``TimeoutError`` after ``timeout`` seconds."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"batch still running after {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def start(fn: Callable[[Any], Any], items: Iterable[Any], strategy: str = "sequential", **kwargs: Any) -> Batch:
    """Run :func:`run` in a background thread; returns a :class:`Batch` handle.

    Examples
    --------
    >>> import time
    >>> b = start(time.sleep, [0.05] * 100, progress=False)
    >>> b.cancel()
    >>> r = b.result(timeout=10)
    >>> r.cancelled, len(r.pending) > 0
    (True, True)
    """
    kwargs["strategy"] = strategy
    return Batch(fn, items, kwargs)
