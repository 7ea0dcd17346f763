"""The machine a figure was measured on: fingerprint, load, contention probes, GPU presence.

Everything here reads files and metadata; nothing imports a heavy library.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import weakref
from functools import lru_cache
from typing import Any, Callable


@lru_cache(maxsize=None)
def cpu_model() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC 7B13"``.

    Examples
    --------
    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_per_core() -> float | None:
    """One-minute load average divided by the core count (``None`` where unknown)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):
        return None


def runnable_tasks() -> int | None:
    """Tasks runnable at this moment, machine-wide, the caller included (``None`` where unknown).

    The first number of ``/proc/loadavg``'s fourth field: unlike the load averages, which take a minute
    to follow a load that has just begun, it sees a competing busy loop at once.

    Examples
    --------
    >>> n = runnable_tasks()
    >>> n is None or n >= 1
    True
    """
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


# --- contention probes: how much CPU the measuring thread gets -------------------------------------


def _schedstat_reader() -> Callable[[], tuple[float, float] | None]:
    """A reader of this thread's ``(seconds on a CPU, seconds runnable but waiting)`` since it started.

    Linux's ``/proc/thread-self/schedstat`` (opened once per thread that asks, read with ``pread``:
    a few microseconds). Elsewhere, or where the scheduler keeps no statistics, the reader returns
    ``None``.
    """
    try:
        fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except (OSError, AttributeError):
        return lambda: None

    def read() -> tuple[float, float] | None:
        try:
            on_cpu, waiting = os.pread(fd, 128, 0).split()[:2]
            return int(on_cpu) / 1e9, int(waiting) / 1e9
        except (OSError, ValueError):
            return None

    weakref.finalize(read, os.close, fd)  # the descriptor lives as long as the reader
    return read


def runqueue_clock() -> Callable[[], float]:
    """A clock of the seconds the calling thread has waited for a CPU while runnable.

    Read from Linux's ``/proc/thread-self/schedstat``; a clock that stays at 0 elsewhere. On a
    busy machine CPU-bound work also spends wall time waiting for a core; subtracting that wait
    keeps it from looking like I/O (:mod:`kit.batch`), and dividing it by the wall time says how
    much of a sample the measuring thread lost (:mod:`kit.engine.measure`).

    Examples
    --------
    >>> clock = runqueue_clock()
    >>> clock() >= 0.0
    True
    """
    read = _schedstat_reader()

    def clock() -> float:
        got = read()
        return 0.0 if got is None else got[1]

    return clock


_local = threading.local()


def thread_schedstat() -> tuple[float, float] | None:
    """This thread's ``(seconds on a CPU, seconds waiting in the run queue)``, or ``None`` where unknown.

    Examples
    --------
    >>> s = thread_schedstat()
    >>> s is None or (s[0] > 0 and s[1] >= 0)
    True
    """
    read = getattr(_local, "schedstat", None)
    if read is None:
        read = _local.schedstat = _schedstat_reader()
    return read()


def psi_cpu_some() -> float | None:
    """CPU pressure: the share of the last 10 s in which some runnable task waited for a CPU, in %.

    ``some avg10`` of Linux's ``/proc/pressure/cpu`` (PSI, kernel 4.20 and later); ``None`` where
    the file is absent or unreadable.

    Examples
    --------
    >>> p = psi_cpu_some()
    >>> p is None or 0.0 <= p <= 100.0
    True
    """
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            for line in f:
                if line.startswith("some"):
                    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
                    return float(fields["avg10"])
    except (OSError, ValueError, KeyError):
        return None
    return None


def cpu_times() -> tuple[float, float] | None:
    """Machine-wide ``(total, steal)`` CPU time in clock ticks since boot (``/proc/stat``), or ``None``.

    Two readings give the share of the CPUs that the hypervisor gave to other guests meanwhile
    (:func:`steal_share`).

    Examples
    --------
    >>> t = cpu_times()
    >>> t is None or t[0] >= t[1] >= 0
    True
    """
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    try:
        ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    except ValueError:
        return None
    return float(sum(ticks)), float(ticks[7] if len(ticks) > 7 else 0)


def steal_share(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """The share of CPU time stolen by the hypervisor between two :func:`cpu_times` readings.

    Examples
    --------
    >>> steal_share((1000.0, 10.0), (1100.0, 15.0))
    0.05
    >>> steal_share(None, (1.0, 0.0)) is None
    True
    """
    if before is None or after is None or after[0] <= before[0]:
        return None
    return max(0.0, (after[1] - before[1]) / (after[0] - before[0]))


@lru_cache(maxsize=None)
def gpu() -> dict[str, Any] | None:
    """Name, memory and driver of the first NVIDIA GPU, or ``None`` without one.

    Read from ``nvidia-smi`` so that no CUDA library is imported.
    """
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    if not out:
        return None
    name, mem, driver = (x.strip() for x in out[0].split(",")[:3])
    return {"name": name, "memory_mib": int(float(mem)), "driver": driver, "count": len(out)}


def fingerprint() -> dict[str, Any]:
    """What identifies this machine for wisdom and records.

    Examples
    --------
    >>> sorted(fingerprint())[:3]
    ['cores', 'cpu', 'gpu']
    """
    g = gpu()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 1,
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gpu": g["name"] if g else None,
    }


def fingerprint_id(fp: dict[str, Any] | None = None) -> str:
    """A short stable id of a fingerprint (12 hex digits)."""
    fp = fingerprint() if fp is None else fp
    return hashlib.blake2b(json.dumps(fp, sort_keys=True).encode(), digest_size=6).hexdigest()


def memory_total() -> int | None:
    """Physical memory in bytes, where known."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def describe() -> dict[str, Any]:
    """Fingerprint plus the details a report shows (memory, load, executable)."""
    return {**fingerprint(), "memory_bytes": memory_total(), "load_per_core": load_per_core(),
            "executable": sys.executable, "gpu_detail": gpu()}
