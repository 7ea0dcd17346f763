"""The machine a figure was measured on: fingerprint, load, GPU presence.

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
from functools import lru_cache
from typing import Any


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
