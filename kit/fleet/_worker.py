"""What runs on each worker: one ``kit score`` with its own wisdom folder, returned as a record.

Kept apart from the client's code so that the function dask ships by reference imports only what
the worker needs (no dask here: the worker already runs it).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from typing import Any, Mapping


def identify() -> dict[str, Any]:
    """The worker's host name, process id and measuring clock (asked before the runs start)."""
    from kit.machine import fingerprint_id
    from kit.engine.measure import clock_name

    return {"hostname": socket.gethostname(), "pid": os.getpid(), "clock": clock_name(),
            "machine_id": fingerprint_id()}


def score_here(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Score the machine this runs on and return its record (a dict) with where it was made.

    ``spec`` holds :func:`kit.scoring.score`'s arguments (``preset``, ``operations``, ``sizes``,
    ``retries``, ``claims``, ``runs``) and this worker's ``slowdown`` (see :mod:`kit.fleet.faults`).
    The wisdom goes to a fresh temporary folder (as ``KIT_CACHE_DIR`` would send it), removed
    afterwards: every machine measures from scratch, and nothing is read from or written to its
    user's cache.

    Examples
    --------
    >>> out = score_here({"operations": ["fingerprint"], "sizes": ["small"]})  # doctest: +SKIP
    >>> out["record"]["schema"]  # doctest: +SKIP
    'kit.record'
    """
    from kit import registry as _registry
    from kit.config import config_context
    from kit.engine import Engine
    from kit.fleet.faults import expand
    from kit.scoring import score

    t0 = time.perf_counter()
    ops = list(spec.get("operations") or _registry.operation_names())
    slowdown = expand(spec.get("slowdown") or {}, ops)
    with tempfile.TemporaryDirectory(prefix="kit-fleet-") as tmp, config_context(cache_dir=tmp):
        res = score(spec.get("preset", "quick"), ops, sizes=spec.get("sizes"), retries=spec.get("retries", 2),
                    claims=bool(spec.get("claims", False)), slowdown=slowdown or None, engine=Engine(tmp),
                    runs=int(spec.get("runs", 1)), reference=None, progress=None)
        record = res.to_record().data
    return {"record": record, "seconds": time.perf_counter() - t0, **identify()}
