"""Score every worker machine of a dask cluster: one pinned task per worker, one at a time per host.

:func:`score_fleet` asks the scheduler for its workers, groups them by host (workers that share a
host address share its cores), and submits one :func:`kit.fleet._worker.score_here` task pinned to
each worker (``workers=[address]``, ``allow_other_workers=False``: dask neither moves nor steals
it). Hosts run in parallel; the workers of one host run one after another, so two runs never
measure on the same cores at once. Each worker scores its machine with the same preset and
operations, its own throw-away wisdom folder, and its own injected slowdown if any; the records
come back to the client.

A worker that leaves the cluster during its run (its process killed, its machine lost) is reported
as ``died``; one that runs past ``timeout`` as ``timed out`` (its process is then restarted through
its nanny so that it stops measuring before the next worker of its host starts; without a nanny the
rest of that host is ``skipped``); a task that raises as ``failed``. The other machines' records are
kept.

Examples
--------
>>> from kit.fleet import local_cluster, score_fleet
>>> with local_cluster(3) as client:                                     # doctest: +SKIP
...     run = score_fleet(client, operations=["fingerprint"], sizes=["small"])
>>> [m.status for m in run.machines]                                      # doctest: +SKIP
['ok', 'ok', 'ok']
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from kit.errors import KitError

__all__ = ["STATUSES", "FleetRun", "Machine", "check_settings", "connect", "local_cluster", "machine_labels",
           "new_run_id", "score_fleet"]

#: What became of each machine's run.
STATUSES = ("ok", "died", "timed out", "failed", "skipped")
#: Default limit on one machine's run (seconds): a full score on a slow machine fits.
TIMEOUT = 1800.0
#: Most worker processes ``local_cluster`` starts.
MAX_LOCAL = 64


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise KitError('kit fleet needs dask.distributed: pip install "dask[distributed]" '
                       '(kit\'s "dask" extra)') from None
    return distributed


@dataclass
class Machine:
    """One worker of the fleet and what became of its run.

    ``label`` names the machine in the run's folder and dataset; ``host`` is the address the
    scheduler knows it by (workers with the same host run one after another).
    """

    label: str
    address: str
    name: str
    host: str
    hostname: str = ""
    pid: int | None = None
    clock: str = ""
    status: str = "pending"
    reason: str = ""
    seconds: float | None = None
    slowdown: dict[str, float] = field(default_factory=dict)
    record: Any = None  # kit.records.Record when status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "address": self.address, "name": self.name, "host": self.host,
                "hostname": self.hostname, "pid": self.pid, "clock": self.clock, "status": self.status,
                "reason": self.reason, "seconds": self.seconds, "slowdown": dict(self.slowdown)}


@dataclass
class FleetRun:
    """One fleet run: the settings every machine used, and each machine's outcome and record."""

    run_id: str
    created: str
    preset: str
    operations: list[str]
    sizes: list[str] | None
    retries: int
    claims: bool
    runs: int
    timeout: float
    scheduler: str
    machines: list[Machine]
    seconds: float = 0.0
    path: Path | None = None

    @property
    def ok(self) -> list[Machine]:
        """Machines whose record came back."""
        return [m for m in self.machines if m.status == "ok"]

    def machine(self, label: str) -> Machine:
        """The machine labelled ``label`` (``KeyError`` naming the labels otherwise)."""
        for m in self.machines:
            if m.label == label:
                return m
        raise KeyError(f"no machine {label!r} in fleet run {self.run_id}; machines: "
                       + ", ".join(m.label for m in self.machines))

    def settings(self) -> dict[str, Any]:
        return {"preset": self.preset, "operations": self.operations, "sizes": self.sizes,
                "retries": self.retries, "claims": self.claims, "runs": self.runs, "timeout": self.timeout}

    def __repr__(self) -> str:
        counts = collections.Counter(m.status for m in self.machines)
        return (f"FleetRun({self.run_id!r}, {len(self.machines)} machines: "
                + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")


# --- the cluster ---------------------------------------------------------------------------------


@contextlib.contextmanager
def local_cluster(n: int) -> Iterator[Any]:
    """A ``LocalCluster`` of ``n`` single-threaded worker processes on 127.0.0.1, and its client.

    Loopback only: the scheduler, the workers and their nannies listen on 127.0.0.1, no dashboard.

    Examples
    --------
    >>> with local_cluster(2) as client:                      # doctest: +SKIP
    ...     len(client.scheduler_info()["workers"])
    2
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_LOCAL:
        raise KitError(f"--local expects a number of workers from 1 to {MAX_LOCAL}, got {n!r}")
    distributed = _distributed()
    with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  protocol="tcp", dashboard_address="127.0.0.1:0",
                                  worker_dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def connect(address: str, timeout: float = 10.0) -> Iterator[Any]:
    """A client of the scheduler at ``address`` (machines joined it with ``dask worker ADDRESS``).

    Examples
    --------
    >>> with connect("tcp://10.0.0.1:8786") as client:        # doctest: +SKIP
    ...     sorted(client.scheduler_info()["workers"])[:1]
    ['tcp://10.0.0.2:40211']
    """
    if not isinstance(address, str) or not address.strip():
        raise KitError(f"--scheduler expects a scheduler address such as tcp://10.0.0.1:8786, got {address!r}")
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise KitError(f"cannot reach the dask scheduler at {address!r} within {timeout:g} s ({first}); "
                       "start one with `dask scheduler` and join machines with `dask worker ADDRESS`") from None
    try:
        yield client
    finally:
        client.close()


# --- labels and slowdowns ------------------------------------------------------------------------


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "worker"


def machine_labels(workers: Mapping[str, Mapping[str, Any]],
                   hostnames: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{address: label}``: a name safe in a folder and a Parquet partition, unique in the fleet.

    A worker started with ``--name`` keeps it (a number ``n`` becomes ``worker-n``); one named
    after its address is called by its host name; repeats get ``-2``, ``-3``.

    Examples
    --------
    >>> machine_labels({"tcp://127.0.0.1:1": {"name": 0}, "tcp://127.0.0.1:2": {"name": "gpu node"}})
    {'tcp://127.0.0.1:1': 'worker-0', 'tcp://127.0.0.1:2': 'gpu-node'}
    >>> machine_labels({"tcp://10.0.0.5:7": {"name": "tcp://10.0.0.5:7", "host": "10.0.0.5"},
    ...                 "tcp://10.0.0.5:8": {"name": "tcp://10.0.0.5:8", "host": "10.0.0.5"}},
    ...                {"tcp://10.0.0.5:7": "n07", "tcp://10.0.0.5:8": "n07"})
    {'tcp://10.0.0.5:7': 'n07', 'tcp://10.0.0.5:8': 'n07-2'}
    """
    hostnames = hostnames or {}
    out: dict[str, str] = {}
    seen: collections.Counter = collections.Counter()
    for addr in sorted(workers, key=lambda a: (str(workers[a].get("name")), a)):
        name = str(workers[addr].get("name", addr))
        if name != addr:
            base = f"worker-{name}" if name.isdigit() else _safe(name)
        else:
            base = _safe(hostnames.get(addr) or str(workers[addr].get("host") or addr))
        seen[base] += 1
        out[addr] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return out


def _resolve(slowdowns: Mapping[str, Mapping[str, float]], machines: list[Machine]) -> None:
    for who, spec in slowdowns.items():
        match = [m for m in machines if who in (m.label, m.name, m.address)]
        if not match:
            raise KitError(f"--inject-slowdown names worker {who!r}, which is not in this cluster; workers: "
                           + ", ".join(f"{m.label} ({m.address})" for m in machines))
        for m in match:
            m.slowdown.update(spec)


# --- running -------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line if len(line) <= 240 else line[:237] + "..."


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A run id: UTC time and 6 random hex digits, e.g. ``20260102T030405Z-1a2b3c``.

    Examples
    --------
    >>> len(new_run_id())
    23
    """
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def check_settings(preset: str = "quick", operations: Iterable[str] | None = None, sizes: Iterable[str] | None = None,
                   retries: int = 2, runs: int = 1, timeout: float = TIMEOUT) -> tuple[list[str], list[str] | None]:
    """Check a fleet run's settings before any machine starts; returns ``(operations, sizes)``.

    Examples
    --------
    >>> check_settings(operations=["digest"], sizes=["small"])
    (['digest'], ['small'])
    >>> check_settings(sizes=["huge"])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    KitError: size must be one of small, medium, large, got 'huge'
    """
    from kit import registry as _registry
    from kit.scoring import PRESET_NAMES

    if preset not in PRESET_NAMES:
        raise KitError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    ops = list(operations) if operations is not None else _registry.operation_names()
    if not ops:
        raise KitError("no operation to score (expected at least one registry operation)")
    for name in ops:
        try:
            _registry.operation(name)
        except ValueError as exc:  # it lists the valid operations
            raise KitError(str(exc)) from None
    size_list = list(sizes) if sizes is not None else None
    for s in size_list or ():
        if s not in _registry.SIZE_CLASSES:
            raise KitError(f"size must be one of {', '.join(_registry.SIZE_CLASSES)}, got {s!r}")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise KitError(f"retries must be a non-negative integer, got {retries!r}")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise KitError(f"runs must be a positive integer, got {runs!r}")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise KitError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return ops, size_list


def score_fleet(client: Any, *, preset: str = "quick", operations: Iterable[str] | None = None,
                sizes: Iterable[str] | None = None, retries: int = 2, claims: bool = False, runs: int = 1,
                slowdowns: Mapping[str, Mapping[str, float]] | None = None, timeout: float = TIMEOUT,
                workers: Iterable[str] | None = None, progress: Callable[[str, Machine], None] | None = None,
                clock: Callable[[], float] = time.monotonic, poll: float = 0.5, scheduler: str = "") -> FleetRun:
    """Score every worker of ``client``'s cluster; gather their records.

    Parameters
    ----------
    client : distributed.Client
    preset, operations, sizes, retries, runs
        As :func:`kit.scoring.score`, the same for every machine.
    claims : bool
        Also run the claims check on every machine (off: the claims are about libraries, not
        machines, and would lengthen every run).
    slowdowns : mapping, optional
        ``{worker: {"op:backend" or "*": factor}}`` (:func:`kit.fleet.faults.parse_slowdowns`); a
        worker is named by label, dask name or address.
    timeout : float
        Seconds one machine's run may take (from its start, not from the fleet's).
    workers : iterable of str, optional
        Score only these workers (labels, dask names or addresses); default all.
    progress : callable, optional
        ``progress(event, machine)`` with event ``"start"``, or the machine's final status.
    clock : callable
        Reads seconds for the timeout (injectable for tests).
    poll : float
        Seconds between checks for finished, dead and late workers.
    scheduler : str
        How the cluster was reached, for the record (``"local 3"``, an address).

    Returns
    -------
    FleetRun
        Every machine with its status, reason, time and (when ``ok``) record.

    Examples
    --------
    >>> with local_cluster(2) as client:                                               # doctest: +SKIP
    ...     run = score_fleet(client, operations=["fingerprint"], slowdowns={"worker-1": {"*": 3.0}})
    >>> run.machine("worker-1").record.data["injected_slowdown"]                       # doctest: +SKIP
    {'fingerprint:hashlib.blake2b': 3.0, 'fingerprint:xxh3_128': 3.0}
    """
    from kit.fleet._worker import identify, score_here
    from kit.records import RecordError, as_record

    distributed = _distributed()
    ops, size_list = check_settings(preset, operations, sizes, retries, runs, timeout)

    t0 = time.perf_counter()
    info = client.scheduler_info()["workers"]
    if not info:
        raise KitError("the cluster has no worker: join machines with `dask worker ADDRESS`")
    idents = client.run(identify, on_error="return")
    hostnames = {a: i["hostname"] for a, i in idents.items() if isinstance(i, dict)}
    labels = machine_labels(info, hostnames)
    machines = []
    for addr, label in sorted(labels.items(), key=lambda kv: kv[1]):
        ident = idents.get(addr)
        m = Machine(label, addr, str(info[addr].get("name", addr)), str(info[addr].get("host") or addr))
        if isinstance(ident, dict):
            m.hostname, m.pid, m.clock = ident["hostname"], ident["pid"], ident["clock"]
        else:
            m.status, m.reason = "failed", ("could not ask the worker who it is: "
                                            + (_one_line(ident) if isinstance(ident, BaseException) else "no answer"))
        machines.append(m)
    if workers is not None:
        wanted = list(workers)
        unknown = [w for w in wanted if not any(w in (m.label, m.name, m.address) for m in machines)]
        if unknown or not wanted:
            raise KitError("workers to score must be named among this cluster's: "
                           + ", ".join(f"{m.label} ({m.address})" for m in machines) + f"; got {wanted!r}")
        machines = [m for m in machines if any(w in (m.label, m.name, m.address) for w in wanted)]
    _resolve(slowdowns or {}, machines)
    run = FleetRun(new_run_id(), _now(), preset, ops, size_list, retries, bool(claims), runs, float(timeout),
                   scheduler, machines)

    def emit(event: str, m: Machine) -> None:
        if progress is not None:
            progress(event, m)

    queues: dict[str, collections.deque] = {}
    for m in machines:
        queues.setdefault(m.host, collections.deque()).append(m)
    active: dict[Any, Machine] = {}
    started: dict[str, float] = {}

    def finish(m: Machine, status: str, reason: str = "") -> None:
        m.status, m.reason = status, reason
        m.seconds = clock() - started[m.label] if m.label in started else None
        emit(status, m)

    def start_next(host: str) -> None:
        q = queues[host]
        while q:
            m = q.popleft()
            if m.status != "pending":
                continue
            spec = {"preset": preset, "operations": ops, "sizes": size_list, "retries": retries,
                    "claims": bool(claims), "runs": runs, "slowdown": dict(m.slowdown)}
            fut = client.submit(score_here, spec, key=f"kit-fleet-{run.run_id}-{m.label}", workers=[m.address],
                                allow_other_workers=False, pure=False)
            active[fut] = m
            started[m.label] = clock()
            emit("start", m)
            return

    def skip_host(host: str, why: str) -> None:
        while queues[host]:
            m = queues[host].popleft()
            if m.status == "pending":
                finish(m, "skipped", why)

    try:
        for host in queues:
            start_next(host)
        while active:
            try:
                distributed.wait(list(active), timeout=poll, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            alive = set(client.scheduler_info()["workers"])
            for fut, m in list(active.items()):
                if fut.done():
                    del active[fut]
                    try:
                        out = fut.result()
                        rec = as_record(out["record"])
                    except RecordError as exc:
                        finish(m, "failed", f"the worker sent back an unusable record: {exc}")
                    except Exception as exc:  # noqa: BLE001 - a remote failure of any kind is this machine's outcome
                        if m.address not in alive or isinstance(exc, distributed.KilledWorker):
                            finish(m, "died", f"the worker died during its run ({_one_line(exc)})")
                        else:
                            finish(m, "failed", _one_line(exc))
                    else:
                        m.record = rec
                        m.hostname, m.pid, m.clock = out["hostname"], out["pid"], out["clock"]
                        finish(m, "ok")
                    start_next(m.host)
                elif m.address not in alive:
                    del active[fut]
                    fut.cancel()
                    finish(m, "died", "the worker left the cluster during its run (its process was killed or "
                                      "its machine lost)")
                    start_next(m.host)
                elif clock() - started[m.label] > timeout:
                    del active[fut]
                    fut.cancel()
                    finish(m, "timed out", f"no record within {timeout:g} s")
                    try:  # a task cannot be interrupted: stop its process before the next run on this host
                        client.restart_workers([m.address], raise_for_error=True)
                    except Exception as exc:  # noqa: BLE001 - no nanny, or the restart failed
                        m.reason += f"; its process could not be restarted ({_one_line(exc)})"
                        skip_host(m.host, f"{m.label} timed out on this host and may still be measuring: "
                                          "another run there would share its cores")
                    else:
                        m.reason += "; its process was restarted"
                        start_next(m.host)
    finally:
        for fut in active:
            fut.cancel()
    run.seconds = time.perf_counter() - t0
    return run
