"""Verification: every backend against the baseline, on the operation's fixed and generated corpora.

A backend that fails is marked and never selected (a forced one is used as named, with a warning).
A case where a backend raises or declines and the baseline does not is recorded as giving way: the
call falls back to the baseline at run time.

Examples
--------
>>> from kit import registry
>>> v = verify_backend(registry.operation("digest"), registry.backend("digest", "hashlib.sha256"))
>>> v.ok, v.cases > 0
(True, True)
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kit import registry as _registry

__all__ = ["Verification", "verify_backend", "generated_reference", "clear_references"]


@dataclass
class Verification:
    """Outcome of checking one backend against the baseline on the corpus."""

    operation: str
    backend: str
    cases: int = 0
    problems: list[str] = field(default_factory=list)
    gives_way: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "problems": self.problems, "gives_way": self.gives_way,
                "seconds": self.seconds}


def _outcome(fn: Callable, args: tuple) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:  # the corpus probes failure modes on purpose
        return False, exc


def verify_backend(op: _registry.Operation, backend: _registry.Backend) -> Verification:
    """Run the operation's corpus through ``backend`` and compare with the baseline.

    The fixed corpus first, then (for operations that declare one) the seeded
    generated corpus of input classes. A case where the backend raises or
    declines and the baseline does not is recorded in ``gives_way`` (the call
    falls back at run time); a different result, or a result where the
    baseline raises, is a problem. Generated cases are reported per input
    class. A case where the baseline runs out of stack (``RecursionError``) is
    a resource limit, not a reference, and is not compared.
    """
    t0 = time.perf_counter()
    v = Verification(op.name, backend.name)
    try:
        fn = backend.implementation()
        base = _registry.backend(op.name, op.baseline).implementation()
        is_baseline = backend.name == op.baseline
        for label, args, expected in op.corpus(backend.name):
            v.cases += 1
            ok, result = _outcome(fn, args)
            if expected is _registry.FROM_BASELINE:
                # (the baseline is its own reference: one call, not two)
                base_ok, expected = (ok, result) if is_baseline else _outcome(base, args)
            else:
                base_ok = True
            if not ok:
                if base_ok:
                    v.gives_way.append(f"{label}: {_registry.input_class(result)}")
                continue
            if not base_ok:
                v.problems.append(f"{label}: returned a result where the baseline raises {type(expected).__name__}")
                continue
            try:
                same = op.equal(result, expected)
            except Exception as exc:
                same, result = False, exc
            if not same:
                v.problems.append(f"{label}: result differs from the baseline ({_short(result)} vs {_short(expected)})")
        if op.generated is not None and backend.name != op.baseline:
            _verify_generated(op, fn, v)
        if op.check is not None:
            v.problems += op.check(backend.name, fn)
    except Exception as exc:
        v.problems.append(f"verification crashed: {type(exc).__name__}: {exc}")
    v.seconds = time.perf_counter() - t0
    return v


# The generated corpus with the baseline's outcomes, per operation: built once per process.
_references: dict[str, list] = {}
_references_lock = threading.Lock()


def generated_reference(op: _registry.Operation) -> list[tuple[str, tuple, bool, Any]]:
    """The operation's generated corpus with the baseline's outcomes, computed once per process.

    Returns ``(input class, args, baseline ok, baseline result or exception)``
    for every case; the seed is :data:`kit.registry.VERIFY_SEED`.
    """
    import random

    with _references_lock:
        ref = _references.get(op.name)
        if ref is None:
            base = _registry.backend(op.name, op.baseline).implementation()
            ref = []
            for cls, args in op.generated(random.Random(_registry.VERIFY_SEED)):  # type: ignore[misc]
                try:
                    ref.append((cls, args, True, base(*args)))
                except RecursionError:
                    continue  # the baseline's stack ran out: a resource limit, not a reference
                except Exception as exc:
                    ref.append((cls, args, False, exc))
            _references[op.name] = ref
        return ref


def clear_references() -> None:
    """Forget the generated corpora and their baseline outcomes (the next verification builds them again).

    For timing a first use as a fresh process sees it (``python -m kit.engine.json_check --verification``).

    Examples
    --------
    >>> clear_references()
    """
    with _references_lock:
        _references.clear()


def _verify_generated(op: _registry.Operation, fn: Callable, v: Verification) -> None:
    """Compare ``fn`` with the baseline on the generated corpus; aggregate by input class."""
    totals: collections.Counter = collections.Counter()
    differ: dict[str, list] = {}
    gave_way: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for cls, args, base_ok, expected in generated_reference(op):
        totals[cls] += 1
        try:
            result = fn(*args)
        except RecursionError:
            continue
        except Exception as exc:  # the generated inputs probe failure modes on purpose
            if base_ok:
                gave_way[cls][_registry.input_class(exc)] += 1
            continue
        if not base_ok:
            differ.setdefault(cls, []).append((args, result, f"raises {type(expected).__name__}"))
            continue
        try:
            same = op.equal(result, expected)
        except Exception as exc:
            same, result = False, exc
        if not same:
            differ.setdefault(cls, []).append((args, result, expected))
    v.cases += sum(totals.values())
    for cls, cases in differ.items():
        args, result, expected = cases[0]
        v.problems.append(f"{cls} (generated): {len(cases)} of {totals[cls]} differ from the baseline, e.g. "
                          f"{_short(args[0])} gave {_short(result)}, baseline {_short(expected)}")
    for cls, why in gave_way.items():
        reasons = ", ".join(f"{r} x{n}" for r, n in why.most_common(2))
        v.gives_way.append(f"{cls} (generated): {sum(why.values())} of {totals[cls]} fall back ({reasons})")


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= 60 else s[:57] + "..."
