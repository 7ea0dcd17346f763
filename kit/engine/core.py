"""The engine: detect, verify, measure and select per operation and size class; bind the handlers.

:class:`Engine` owns this machine's wisdom; :func:`get_engine` is the process-wide one. A
:class:`Binding` is what the handlers call: one callable per size class and the baseline, cached
until :func:`kit.config.generation` moves (a change of the configuration or of the selection).
"""

from __future__ import annotations

import collections
import datetime
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from kit import config as _config
from kit import registry as _registry
from kit.engine.results import BenchResult, Info, clip
from kit.engine.select import Row, choose
from kit.engine.verify import Verification, verify_backend
from kit.engine.wisdom import Wisdom
from kit.errors import BackendUnavailable, KitError, KitWarning

log = logging.getLogger("kit")

#: The size classes, smallest first (:data:`kit.registry.SIZE_CLASSES`).
SIZE_NAMES = tuple(_registry.SIZE_CLASSES)
size_class = _registry.size_class


def payload_nbytes(payload: Any) -> int:
    """Bytes a payload represents: its buffer, its columns, or its compact JSON."""
    if isinstance(payload, (bytes, bytearray)):
        return len(payload)
    if isinstance(payload, memoryview):
        return payload.nbytes
    if isinstance(payload, dict) and payload and all(hasattr(v, "nbytes") for v in payload.values()):
        return sum(int(v.nbytes) for v in payload.values())
    if hasattr(payload, "nbytes"):
        return int(payload.nbytes)
    from kit.registry.json import stdlib_encode

    return len(stdlib_encode(payload))


def _declined_then(fn: Callable, base: Callable, args: tuple) -> Any:
    try:
        return fn(*args)
    except _registry.Declined:
        return base(*args)


class Engine:
    """Detects, verifies, measures and selects backends; owns the wisdom.

    Parameters
    ----------
    cache_dir : path-like, optional
        Where wisdom is stored; default from the configuration.
    """

    def __init__(self, cache_dir: Any = None) -> None:
        self._lock = threading.RLock()
        self._verified: dict[tuple[str, str], Verification] = {}
        self._warned: set[tuple[str, str]] = set()
        self.fallbacks: collections.Counter = collections.Counter()
        # (operation, backend, input class) -> calls that fell back (a guard's class, or the error)
        self.fallback_classes: collections.Counter = collections.Counter()
        self.wisdom = Wisdom(cache_dir)
        self._bindings: dict[str, Any] = {}
        self._context_bindings: dict[tuple[str, int], tuple[int, Any]] = {}

    # --- detection and verification -------------------------------------------------

    def verification(self, op_name: str, name: str) -> Verification:
        """Verify a backend (once per process, or reuse fresh wisdom)."""
        key = (op_name, name)
        with self._lock:
            if key in self._verified:
                return self._verified[key]
            op = _registry.operation(op_name)
            b = _registry.backend(op_name, name)
            stored = self.wisdom.verification(op, b)
            v = stored if stored is not None else verify_backend(op, b)
            if stored is None:
                self.wisdom.store_verification(op, b, v)
            self._verified[key] = v
            return v

    def candidates(self, op_name: str) -> list[_registry.Backend]:
        """Available backends that pass verification, baseline first."""
        return [_registry.backend(op_name, name) for name in _registry.available(op_name)
                if self.verification(op_name, name).ok]

    # --- measurement --------------------------------------------------------------------

    def measure(self, op_name: str, size: str, kind: str, backends: Iterable[str] | None = None,
                preset: str = "quick", seed: int = 0) -> list[Row]:
        """Measure backends of one operation on one payload class, interleaved.

        Returns one :class:`Row` per backend, the baseline first.
        """
        from kit.engine.measure import compare, speedup
        from kit.payloads import payload

        op = _registry.operation(op_name)
        names = list(backends) if backends is not None else [b.name for b in self.candidates(op_name)]
        if op.baseline not in names:
            names.insert(0, op.baseline)
        data = payload(kind, _registry.SIZE_CLASSES[size], seed=seed)
        nbytes = payload_nbytes(data)
        contenders = {}
        base_fn = _registry.backend(op_name, op.baseline).implementation()
        for name in names:
            fn = _registry.backend(op_name, name).implementation()
            args = op.prepare(data, name)
            contenders[name] = (lambda fn=fn, args=args: fn(*args))
            if name != op.baseline:
                try:
                    fn(*args)
                except _registry.Declined:  # measured as kit runs it here: the guard, then the baseline
                    contenders[name] = (lambda fn=fn, args=args: _declined_then(fn, base_fn, args))
        res = compare(contenders, nbytes=nbytes, preset=preset, reference=op.baseline)
        noise = self.run_noise(preset).get(f"measurement/{op.category}")
        for m in res.values():
            m.run_noise = noise  # this machine's learned run-to-run spread widens the interval of a time
        base = res[op.baseline]
        return [Row(op_name, size, kind, n, res[n], speedup(base, res[n]), n == op.baseline) for n in names]

    def run_noise(self, preset: str) -> dict[str, tuple[float, float]]:
        """This machine's run-to-run components for ``preset`` and the current clock (see :mod:`kit.engine.wisdom`)."""
        from kit.engine.measure import clock_name

        return self.wisdom.run_noise(f"{preset}/{clock_name()}")

    def tune(self, operations: Iterable[str] | None = None, preset: str = "quick",
             sizes: Iterable[str] | None = None, progress: bool | Callable | None = None) -> BenchResult:
        """Verify, measure and select for the given operations; persist the wisdom.

        Parameters
        ----------
        operations : iterable of str, optional
            Registry names (default: all).
        preset : {"quick", "full"}
            Timing preset of :mod:`kit.engine.measure`.
        sizes : iterable of str, optional
            Size classes (default: all of each operation's).
        progress : bool or callable
            ``True`` shows a tqdm bar; a callable gets ``(done, total, label)``.
        """
        from kit.engine.measure import other_tasks
        from kit.machine import cpu_times, fingerprint, psi_cpu_some, runnable_tasks, steal_share

        if preset not in ("quick", "full"):
            raise KitError(f"preset must be 'quick' or 'full', got {preset!r}")
        ops = [_registry.operation(n) for n in (operations or _registry.operation_names())]
        sizes_wanted = list(sizes) if sizes is not None else None
        if sizes_wanted is not None:
            for s in sizes_wanted:
                if s not in SIZE_NAMES:
                    raise KitError(f"unknown size class {s!r}; valid: {', '.join(SIZE_NAMES)}")
        plan = [(op, s, k) for op in ops for s in op.sizes if sizes_wanted is None or s in sizes_wanted
                for k in op.kinds]
        bar = _progress(progress, len(plan))
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        rows: list[Row] = []
        verification: dict[str, dict[str, Verification]] = {}
        for op in ops:
            verification[op.name] = {name: self.verification(op.name, name) for name in _registry.available(op.name)}
        psi0, ticks0 = psi_cpu_some(), cpu_times()
        runnable: list[int] = []
        for i, (op, s, k) in enumerate(plan):
            bar(i, f"{op.name} {s} {k}")
            n = runnable_tasks()
            if n is not None:
                runnable.append(n)
            rows += self.measure(op.name, s, k, preset=preset)
        bar(len(plan), "done")
        psis = [x for x in (psi0, psi_cpu_some()) if x is not None]
        loads = [r.measurement.load for r in rows if r.measurement.load is not None]
        probes = {"psi": max(psis) if psis else None, "load": max(loads) if loads else None,
                  "steal": steal_share(ticks0, cpu_times()), "others": other_tasks(runnable, os.cpu_count() or 1)}
        selected: dict[str, dict[str, str]] = {}
        reasons: dict[str, dict[str, str]] = {}
        for op in ops:
            stored = self.wisdom.selection(op) or {}
            per: dict[str, str] = {}
            why: dict[str, str] = {}
            for s in op.sizes:
                mine = [r for r in rows if r.operation == op.name and r.size == s]
                if mine:
                    c = choose(op.baseline, mine, stored.get(s))
                    per[s], why[s] = c.backend, c.reason
            selected[op.name], reasons[op.name] = per, why
            self.wisdom.store_selection(op, per, [r for r in rows if r.operation == op.name], preset, why)
        self.wisdom.save()
        self._invalidate()
        from kit.engine.measure import clock_name

        return BenchResult(rows, selected, fingerprint(), preset, time.perf_counter() - t0, verification, started,
                           reasons, probes, self.wisdom.noise_runs(f"{preset}/{clock_name()}"))

    # --- selection ------------------------------------------------------------------------

    def selection(self, op_name: str, size: str) -> tuple[str, str]:
        """``(backend, how)`` for an operation and size class.

        ``how`` is ``forced``, ``measured`` (this machine's wisdom), or
        ``baseline`` (tuning is off and nothing was measured).
        """
        forced = _config.forced_backend(op_name)
        if forced is not None:
            return forced, "forced"
        op = _registry.operation(op_name)
        with self._lock:
            per = self.wisdom.selection(op)
            if per is None:
                mode = _config.get_config()["tune"]
                if mode == "off":
                    return op.baseline, "baseline"
                # On first use: small and medium classes only, to keep it short;
                # `kit bench` measures the large class too. Said before and after, and shown as a
                # progress bar in a notebook, because the call that triggers it stalls meanwhile.
                first = None if mode == "full" else ("small", "medium")
                n_classes = sum(len(op.kinds) for s in op.sizes if first is None or s in first)
                log.info("kit: first use of %s on this machine: timing its %d available backends on %d payload "
                         "classes, once (`kit bench --quick` does it ahead of time); the choice is kept in %s",
                         op_name, len(_registry.available(op_name)), n_classes,
                         self.wisdom.path)
                t0 = time.perf_counter()
                self.tune([op_name], preset="quick", sizes=first, progress="ipykernel" in sys.modules)
                log.info("kit: %s measured in %.1f s", op_name, time.perf_counter() - t0)
                per = self.wisdom.selection(op) or {}
            name = per.get(size) or per.get("medium") or op.baseline
            b = _registry.backend(op_name, name)
            if not b.available or not self.verification(op_name, name).ok:
                return op.baseline, "baseline"
            return name, "measured"

    def backend_for(self, operation: str, size: int | None = None) -> str:
        """The backend a call of ``operation`` on ``size`` bytes would use."""
        return self.selection(operation, size_class(size))[0]

    def implementation(self, op_name: str, name: str) -> Callable:
        """A backend's callable; a named backend that cannot run raises."""
        b = _registry.backend(op_name, name)
        reason = b.unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"backend {name!r} of {op_name!r} is unavailable here: {reason}")
        return b.implementation()

    def binding(self, op_name: str) -> "Binding":
        """Callables per size class for the handlers, with the baseline for fallback."""
        gen = _config.generation()
        b = self._bindings.get(op_name)
        if b is not None and b.gen == gen:
            return b
        # Inside a config_context the configuration is this thread's: cache per configuration object
        # and generation (entering or leaving any context bumps the generation, so a reused id cannot
        # match a stale entry), so that calls in a context cost a lookup, not a resolution.
        ctx_key = (op_name, _config.config_id())
        hit = self._context_bindings.get(ctx_key)
        if hit is not None and hit[0] == gen:
            return hit[1]
        op = _registry.operation(op_name)
        chosen = {s: self.selection(op_name, s) for s in SIZE_NAMES}
        fns = [self.implementation(op_name, chosen[s][0]) for s in SIZE_NAMES]
        forced = any(how == "forced" for _, how in chosen.values())
        if forced:
            self._warn_if_unverified(op_name, next(n for n, how in chosen.values() if how == "forced"))
        base = _registry.backend(op_name, op.baseline).implementation()
        cacheable = not _config.contexts_active()
        b = Binding(gen if cacheable else -1, op_name, fns[0], fns[1], fns[2],
                    tuple(chosen[s][0] for s in SIZE_NAMES), base, forced, self)
        if cacheable:
            self._bindings[op_name] = b
        else:
            if len(self._context_bindings) > 256:
                self._context_bindings.clear()
            self._context_bindings[ctx_key] = (gen, b)
        return b

    def _warn_if_unverified(self, op_name: str, name: str) -> None:
        """A forced backend is used as named (house rule 2); if it failed verification, say why, once."""
        key = (op_name, name)
        if key in self._warned:
            return
        self._warned.add(key)
        v = self.verification(op_name, name)
        if not v.ok:
            more = f" (+{len(v.problems) - 1} more)" if len(v.problems) > 1 else ""
            warnings.warn(f"kit: {name!r} is forced for {op_name!r} but failed verification: {v.problems[0]}{more}; "
                          "its results may differ from the baseline's (kit info lists why)", KitWarning, stacklevel=4)

    def _invalidate(self) -> None:
        self._bindings.clear()
        self._context_bindings.clear()
        _config.mark_changed()

    def count_fallback(self, op_name: str, backend: str, input_class: str | None = None) -> None:
        self.fallbacks[(op_name, backend)] += 1
        if input_class is not None:
            self.fallback_classes[(op_name, backend, input_class)] += 1

    # --- reporting -----------------------------------------------------------------------

    def info(self, verify: bool = True) -> "Info":
        """Operations × backends: available, version, verified, selected, fallbacks."""
        rows = []
        for op in _registry.operations():
            per = self.wisdom.selection(op) or {}
            forced = _config.forced_backend(op.name)
            for b in _registry.backends(op.name):
                reason = b.unavailable_reason()
                ver = self.verification(op.name, b.name) if (reason is None and verify) else None
                if forced:
                    sel = "all (forced)" if forced == b.name else ""
                else:
                    sel = ", ".join(s for s in SIZE_NAMES if per.get(s) == b.name)
                    if not op.interchangeable:  # the default call is the baseline; the measured one is opt-in
                        sel = ", ".join(filter(None, ["default" if b.name == op.baseline else "",
                                                      f"fastest: {sel}" if sel else ""]))
                status = ("unavailable: " + reason) if reason else (
                    "" if ver is None else "verified" if ver.ok else clip("FAILED: " + ver.problems[0], 90)
                    + (f" (+{len(ver.problems) - 1} more)" if len(ver.problems) > 1 else ""))
                if ver is not None and ver.ok and ver.gives_way:
                    status += f"; falls back on {len(ver.gives_way)} kinds of input"
                rows.append({
                    "operation": op.name, "backend": b.name, "baseline": b.name == op.baseline,
                    "available": reason is None, "version": b.version, "device": b.device,
                    "output": op.output, "algorithm": b.algorithm,
                    "verified": None if ver is None else ver.ok, "selected": sel,
                    "fallbacks": self.fallbacks.get((op.name, b.name), 0), "status": status,
                    "fallback_classes": {c: n for (o, n_, c), n in sorted(self.fallback_classes.items())
                                         if o == op.name and n_ == b.name},
                    "gives_way": [] if ver is None else ver.gives_way,
                    "problems": [] if ver is None else ver.problems,
                })
        return Info(rows, self.wisdom.describe())


@dataclass
class Binding:
    """What the handlers call: one callable per size class, and the baseline."""

    gen: int
    operation: str
    small: Callable
    medium: Callable
    large: Callable
    names: tuple[str, str, str]
    baseline: Callable
    forced: bool
    engine: Engine

    def fallback(self, args: tuple, exc: BaseException, name: str) -> Any:
        """Run the baseline after the selected backend raised; count it if the baseline succeeds."""
        if self.forced:
            raise exc
        result = self.baseline(*args)  # raises the baseline's own error when it rejects too
        self.engine.count_fallback(self.operation, name, _registry.input_class(exc))
        return result


def _progress(progress: bool | Callable | None, total: int) -> Callable[[int, str], None]:
    if callable(progress):
        return lambda i, label: progress(i, total, label)
    if not progress:
        return lambda i, label: None
    from kit._display import progress_bar

    bar = progress_bar(total, "", "class", leave=False)

    def update(i: int, label: str) -> None:
        bar.set_description_str(label[:40])
        bar.n = i
        bar.refresh()
        if i >= total:
            bar.close()

    return update


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine (created on first use).

    Examples
    --------
    >>> get_engine() is get_engine()
    True
    """
    global _engine
    with _engine_lock:
        cache_dir = _config.get_config()["cache_dir"]
        if _engine is None or _engine.wisdom.cache_dir_setting != cache_dir:
            _engine = Engine(cache_dir)
    return _engine


def backend_for(operation: str, size: int | None = None) -> str:
    """Name of the backend kit uses for ``operation`` on an input of ``size`` bytes.

    Examples
    --------
    >>> import kit
    >>> kit.backend_for("json.decode", size=100) in {"json", "orjson", "msgspec", "simdjson"}
    True
    """
    return get_engine().backend_for(operation, size)


def info(verify: bool = True) -> Info:
    """Operations × backends: availability, version, verification, selection.

    Examples
    --------
    >>> import kit
    >>> "json.decode" in kit.info(verify=False).operations()
    True
    """
    return get_engine().info(verify=verify)


def tune(operations: Iterable[str] | None = None, preset: str = "quick", **kw: Any) -> BenchResult:
    """Measure and select for ``operations`` (default all) and store the wisdom.

    Examples
    --------
    >>> import kit
    >>> res = kit.tune(["fingerprint"], sizes=["small"])  # doctest: +SKIP
    """
    return get_engine().tune(operations, preset=preset, **kw)


bench = tune
