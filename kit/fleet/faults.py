"""Fault injection for a fleet: make one worker's machine (or one backend there) slower.

A slowdown is given per worker and travels to it with its task; the worker applies it with
:func:`kit.scoring.injected_slowdown` around its own measurement, so the slowing happens in the
worker's process, on its cores, and its record says so (``injected_slowdown``).

Two forms, as ``--inject-slowdown`` takes them:

``WORKER=FACTOR``
    The whole machine FACTOR times slower: every available backend of every measured operation,
    baselines included (speed-ups, hence the score, stay; the hardware index drops by FACTOR).
``WORKER=OP:BACKEND=FACTOR``
    One backend on that worker, as ``kit score --inject-slowdown OP:BACKEND=FACTOR`` does.

``WORKER`` is the machine's label in the fleet (``worker-1``), the worker's dask name (``1``) or its
address (``tcp://127.0.0.1:40123``).

Examples
--------
>>> parse_slowdowns(["worker-1=1.5", "worker-2=digest:blake3=3"])
{'worker-1': {'*': 1.5}, 'worker-2': {'digest:blake3': 3.0}}
"""

from __future__ import annotations

from typing import Iterable, Mapping

from kit.errors import KitError

__all__ = ["WHOLE_MACHINE", "expand", "parse_slowdowns"]

#: The key that stands for every backend of the measured operations.
WHOLE_MACHINE = "*"
_FORMS = "WORKER=FACTOR (the whole machine) or WORKER=OP:BACKEND=FACTOR (one backend), e.g. worker-1=1.5"


def _factor(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise KitError(f"--inject-slowdown expects {_FORMS}; got {spec!r} (the factor {text!r} is not a "
                       "number)") from None
    if not value >= 1.0 or value != value or value == float("inf"):
        raise KitError(f"--inject-slowdown: a slowdown factor must be a finite number >= 1, got {text!r} in {spec!r}")
    return value


def parse_slowdowns(specs: Iterable[str]) -> dict[str, dict[str, float]]:
    """Parse ``--inject-slowdown`` values into ``{worker: {"op:backend" or "*": factor}}``.

    Operation and backend names are checked against the registry here, before any machine starts.

    Examples
    --------
    >>> parse_slowdowns(["2=3"])
    {'2': {'*': 3.0}}
    >>> parse_slowdowns(["w=nope:x=2"])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    KitError: --inject-slowdown 'w=nope:x=2': unknown operation 'nope'; ...
    """
    from kit import registry as _registry

    out: dict[str, dict[str, float]] = {}
    for spec in specs:
        if not isinstance(spec, str):
            raise KitError(f"--inject-slowdown expects text of the form {_FORMS}; got {spec!r}")
        worker, sep, rest = spec.partition("=")
        if not sep or not worker.strip() or not rest:
            raise KitError(f"--inject-slowdown expects {_FORMS}; got {spec!r}")
        key, sep2, factor = rest.rpartition("=")
        if not sep2:
            key, factor = WHOLE_MACHINE, rest
        else:
            op, colon, backend = key.partition(":")
            if not colon or not op or not backend:
                raise KitError(f"--inject-slowdown expects {_FORMS}; got {spec!r} ({key!r} is not OP:BACKEND)")
            try:
                _registry.backend(op, backend)
            except ValueError as exc:
                raise KitError(f"--inject-slowdown {spec!r}: {exc}") from None
        out.setdefault(worker.strip(), {})[key] = _factor(factor, spec)
    return out


def expand(slowdown: Mapping[str, float], operations: Iterable[str]) -> dict[str, float]:
    """Turn a worker's slowdown into ``{"op:backend": factor}`` for :func:`kit.scoring.injected_slowdown`.

    :data:`WHOLE_MACHINE` becomes every backend *available on this machine* of ``operations`` (so it
    runs on the worker, where availability is known); a backend named on its own keeps its factor.

    Examples
    --------
    >>> expand({"digest:blake3": 2.0}, ["digest"])
    {'digest:blake3': 2.0}
    >>> sorted(expand({"*": 1.5}, ["fingerprint"]))  # doctest: +SKIP
    ['fingerprint:hashlib.blake2b', 'fingerprint:xxh3_128']
    """
    from kit import registry as _registry

    out: dict[str, float] = {}
    whole = slowdown.get(WHOLE_MACHINE)
    if whole is not None:
        for op in operations:
            for name in _registry.available(op):
                out[f"{op}:{name}"] = float(whole)
    out.update({k: float(v) for k, v in slowdown.items() if k != WHOLE_MACHINE})
    return out
