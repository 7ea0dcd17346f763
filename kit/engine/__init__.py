"""The engine: detect → verify → measure → select, with wisdom persisted per machine.

For each operation of the registry the engine

1. *detects* the backends whose libraries are installed (no import),
2. *verifies* each against the baseline on the operation's fixed corpus
   (a backend that fails is marked and never selected),
3. *measures* the verified ones side by side on seeded payloads of each size
   class (:mod:`kit.engine.measure`),
4. *selects* per size class and stores the choice as *wisdom* keyed by the
   machine fingerprint and library versions, so a new process reuses it
   without measuring; a version or machine change makes it stale. It moves
   away from the baseline, or from the stored choice, only for a significant
   win of at least 5% (:func:`choose`), and never to a backend measured slower
   than the baseline; why is recorded beside the choice.

A backend forced by the user (argument, :func:`kit.config_context`,
``KIT_BACKENDS``) is used as named or raises; it is never swapped.

Examples
--------
>>> import kit
>>> with kit.config_context(backends={"fingerprint": "hashlib.blake2b"}):
...     kit.backend_for("fingerprint")
'hashlib.blake2b'
"""

from __future__ import annotations

import collections
import datetime
import logging
import math
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from kit import config as _config
from kit import registry as _registry
from kit._display import Table
from kit.engine.wisdom import Wisdom
from kit.errors import BackendUnavailable, KitError, KitWarning

log = logging.getLogger("kit")

SIZE_NAMES = tuple(_registry.SIZE_CLASSES)
# Boundaries between classes: geometric midpoints of the class sizes.
_SMALL_MAX = int(math.sqrt(_registry.SIZE_CLASSES["small"] * _registry.SIZE_CLASSES["medium"]))
_MEDIUM_MAX = int(math.sqrt(_registry.SIZE_CLASSES["medium"] * _registry.SIZE_CLASSES["large"]))


def size_class(nbytes: int | None) -> str:
    """The payload class of an input of ``nbytes`` (``medium`` when unknown).

    Examples
    --------
    >>> size_class(100), size_class(100_000), size_class(10**7)
    ('small', 'medium', 'large')
    """
    if nbytes is None:
        return "medium"
    return "small" if nbytes < _SMALL_MAX else "medium" if nbytes < _MEDIUM_MAX else "large"


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


def _declined_then(fn: Callable, base: Callable, args: tuple) -> Any:
    try:
        return fn(*args)
    except _registry.Declined:
        return base(*args)


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= 60 else s[:57] + "..."


@dataclass
class Row:
    """One measured backend on one payload class."""

    operation: str
    size: str
    kind: str
    backend: str
    measurement: Any  # kit.measure.Measurement
    speedup: tuple[float, float, float]  # ratio, CI low, CI high
    baseline: bool

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "size": self.size, "kind": self.kind, "backend": self.backend,
                "baseline": self.baseline, "speedup": self.speedup[0], "speedup_ci": list(self.speedup[1:]),
                **{k: v for k, v in self.measurement.summary().items() if k != "name"}}


#: A contender replaces the baseline or the stored choice only when the 95% CI of its speed-up over
#: it lies wholly above this.
MIN_GAIN = 1.05


@dataclass
class Choice:
    """The outcome of :func:`choose` for one operation and size class."""

    backend: str
    reason: str
    #: The chosen backend's speed-up over the baseline: geometric mean over the payload kinds, 95% CI.
    speedup: tuple[float, float, float]
    switched: bool


def _versus(ref: list[Row], other: list[Row], seed: int) -> tuple[float, float, float]:
    """Speed-up of ``other`` over ``ref`` (same kinds): geometric mean over kinds, joint bootstrap CI."""
    import numpy as np

    from kit.engine.measure import ratio_log_draws

    by_kind = {r.kind: r.measurement for r in ref}
    pairs = [(by_kind[r.kind], r.measurement) for r in other if r.kind in by_kind]
    if not pairs:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    points = [math.log(a.median / b.median) for a, b in pairs]
    draws = np.mean([ratio_log_draws(a.samples, b.samples, rng) if len(a.samples) > 1 and len(b.samples) > 1
                     else np.full(2000, math.log(a.median / b.median)) for a, b in pairs], axis=0)
    lo, hi = np.exp(np.percentile(draws, [2.5, 97.5]))
    return math.exp(sum(points) / len(points)), float(lo), float(hi)


def choose(baseline: str, rows: list[Row], stored: str | None = None, *, min_gain: float = MIN_GAIN,
           seed: int = 0) -> Choice:
    """The backend for one operation and size class, from this run's rows, and why.

    The *incumbent* is the stored choice (``stored``) when this run measured it and found it no
    slower than the baseline, else the baseline. A contender replaces it only with a significant win
    of at least ``min_gain``: the 95% bootstrap CI of its speed-up over the incumbent (geometric mean
    over the payload kinds, as the rows were measured interleaved) lies wholly above ``min_gain``,
    and it is no slower than the baseline; among several, the fastest. Otherwise the incumbent stays.
    A contender timed once (far too slow to sample) is never chosen.

    Parameters
    ----------
    baseline : str
        The operation's baseline backend.
    rows : list of Row
        This run's measurements of one operation and size class (every backend, every kind).
    stored : str, optional
        The choice stored in this machine's wisdom.

    Examples
    --------
    >>> from kit.engine.measure import Measurement
    >>> m = lambda name, t: Measurement(name, [t * f for f in (0.98, 1.0, 1.02, 0.99, 1.01)], 1)
    >>> rows = [Row("digest", "small", "random", "sha", m("sha", 2.0), (1, 1, 1), True),
    ...         Row("digest", "small", "random", "b3", m("b3", 1.0), (2, 2, 2), False)]
    >>> choose("sha", rows).backend
    'b3'
    >>> rows[1] = Row("digest", "small", "random", "b3", m("b3", 1.96), (1.02, 1, 1), False)
    >>> choose("sha", rows).backend
    'sha'
    """
    per: dict[str, list[Row]] = collections.defaultdict(list)
    for r in rows:
        if not r.measurement.timed_once:
            per[r.backend].append(r)
    if baseline not in per:
        return Choice(baseline, "the baseline was not measured: kept", (1.0, 1.0, 1.0), False)
    vs_base = {n: (1.0, 1.0, 1.0) if n == baseline else _versus(per[baseline], rs, seed) for n, rs in per.items()}
    incumbent, why_not = baseline, ""
    if stored is not None and stored != baseline:
        if stored not in per:
            why_not = f"the stored {stored} was not measured here; "
        elif not vs_base[stored][0] >= 1.0:
            why_not = f"the stored {stored} measured {vs_base[stored][0]:.2f}x the baseline; "
        else:
            incumbent = stored
    role = "the baseline" if incumbent == baseline else "the stored choice"
    others = {n: _versus(per[incumbent], rs, seed) for n, rs in per.items() if n != incumbent}
    winners = [n for n, (v, lo, _) in others.items() if lo > min_gain and vs_base[n][0] >= 1.0]
    if winners:
        best = max(winners, key=lambda n: (vs_base[n][0], n))
        v, lo, hi = others[best]
        return Choice(best, f"{why_not}{v:.2f}x [{lo:.2f}, {hi:.2f}] over {incumbent} ({role}): a significant win "
                            f"of over {min_gain - 1:.0%}", vs_base[best], True)
    if not others:
        return Choice(incumbent, f"{why_not}kept {incumbent} ({role}): no other backend measured", vs_base[incumbent],
                      False)
    best = max(others, key=lambda n: (others[n][0], n))
    v, lo, hi = others[best]
    if not vs_base[best][0] >= 1.0 and lo > min_gain:
        detail = f"{best} is {v:.2f}x over it but {vs_base[best][0]:.2f}x the baseline"
    else:
        detail = f"best other {best} {v:.2f}x [{lo:.2f}, {hi:.2f}], not a significant {min_gain - 1:.0%} win"
    return Choice(incumbent, f"{why_not}kept {incumbent} ({role}): {detail}", vs_base[incumbent], False)


@dataclass
class BenchResult:
    """Measurements of one run, with the selections they imply.

    ``rows`` holds every backend × payload class measured; ``selected`` maps
    ``operation -> size -> backend``.
    """

    rows: list[Row]
    selected: dict[str, dict[str, str]]
    machine: dict[str, Any]
    preset: str
    seconds: float
    verification: dict[str, dict[str, Verification]]
    started: str = ""
    #: ``operation -> size -> why`` the choice was made or kept (:func:`choose`).
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The run's CPU pressure, load and steal, read around the measurements (see :attr:`contention`).
    probes: dict[str, float | None] = field(default_factory=dict)
    #: How many runs the machine's learned run-to-run noise (which widens the times' intervals) came from.
    noise_runs: int = 0

    @property
    def contention(self) -> dict[str, Any]:
        """What the measuring thread got of a CPU during this run (:func:`kit.engine.measure.contention_summary`)."""
        from kit.engine.measure import contention_summary

        return contention_summary([r.measurement for r in self.rows], **self.probes)

    def why_table(self) -> Table:
        """Why each choice was made or kept: a significant win of at least 5%, or none."""
        rows = [[op, size, name, self.reasons.get(op, {}).get(size, "")]
                for op, per in self.selected.items() for size, name in per.items()]
        return Table("why these choices", ["operation", "size", "selected", "why"], rows,
                     [f"kit moves away from the baseline, or from the stored choice, only when the 95% CI of the "
                      f"speed-up over it lies wholly above {MIN_GAIN:g}x, and never to a backend measured slower "
                      "than the baseline."])

    @property
    def intervals(self) -> str:
        """What the intervals of this run's times cover (speed-ups are ratios measured side by side)."""
        from kit.stats import interval_label

        bases = {r.measurement.ci_basis for r in self.rows}
        if bases == {"machine"}:
            return interval_label("machine", 1, self.noise_runs)
        if bases == {"runs"}:
            return interval_label("runs", min(len(r.measurement.run_medians) for r in self.rows))
        return interval_label("sampling")

    def notes(self) -> str:
        """The lines ``kit bench`` prints under its tables: the run's contention, what its intervals
        cover, then why each choice."""
        return (f"{self.contention['summary']}\n95% intervals of times: {self.intervals}; speed-ups: ratios "
                f"measured side by side\n\n{self.why_table()}")

    def table(self) -> Table:
        from kit.engine.measure import format_rate, format_time

        rows = []
        for r in self.rows:
            m = r.measurement
            sel = self.selected.get(r.operation, {}).get(r.size) == r.backend
            ratio, lo, hi = r.speedup
            rows.append([r.operation, r.size, r.kind, r.backend + (" *" if sel else ""),
                         format_time(m.median), format_rate(m.throughput) if m.nbytes else "",
                         f"{ratio:.2f}x [{lo:.2f}, {hi:.2f}]", f"{m.cv:.1%}", "; ".join(m.warnings)])
        loads = [r.measurement.load for r in self.rows if r.measurement.load is not None]
        peak = max(loads) if loads else None
        notes = [f"* selected. Speed-up = baseline median time / backend median time, 95% bootstrap CI; "
                 f"{self.preset} preset, {self.seconds:.1f} s, {self.machine.get('cpu')} ({self.machine.get('cores')} cores)"
                 + (f", peak load {peak:.2f} per core." if peak is not None else ".")]
        if any(r.measurement.busy for r in self.rows):
            notes.append("WARNING: the machine was busy during the run; ratios measured side by side remain "
                         "comparable, absolute times are not. Re-run on a quiet machine for records.")
        unstable = sum(1 for r in self.rows if r.measurement.warnings)
        if unstable:
            notes.append(f"{unstable} of {len(self.rows)} results flagged (see 'warnings'): treat them with care.")
        return Table("kit bench", ["operation", "size", "kind", "backend", "median", "throughput", "speed-up",
                                   "CV", "warnings"], rows, notes)

    def choices(self) -> Table:
        """The engine's choices: operation × size → backend, with its speed-up."""
        best: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        for r in self.rows:
            if self.selected.get(r.operation, {}).get(r.size) == r.backend:
                best[(r.operation, r.size)].append(r.speedup[0])
        rows = []
        for op, per in self.selected.items():
            for size, name in per.items():
                from kit.engine.measure import geometric_mean

                rows.append([op, size, name, f"{geometric_mean(best[(op, size)]):.2f}x"])
        return Table("engine choices on this machine", ["operation", "size", "selected", "speed-up"], rows)

    def __str__(self) -> str:
        return f"{self.table()}\n\n{self.choices()}"

    def _repr_html_(self) -> str:
        import html

        return (self.table()._repr_html_() + self.choices()._repr_html_()
                + f"<p>{html.escape(self.contention['summary'])}<br>95% intervals of times: "
                  f"{html.escape(self.intervals)}</p>" + self.why_table()._repr_html_())

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "seconds": self.seconds, "started": self.started, "machine": self.machine,
                "selected": self.selected, "reasons": self.reasons, "contention": self.contention,
                "intervals": {"times": self.intervals, "speedups": "one run: ratios measured side by side"},
                "rows": [r.to_dict() for r in self.rows],
                "verification": {op: {b: v.to_dict() for b, v in per.items()}
                                 for op, per in self.verification.items()}}


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
        out = []
        for b in _registry.backends(op_name):
            if b.available and self.verification(op_name, b.name).ok:
                out.append(b)
        return out

    # --- measurement --------------------------------------------------------------------

    def measure(self, op_name: str, size: str, kind: str, backends: Iterable[str] | None = None,
                preset: str = "quick", seed: int = 0) -> list[Row]:
        """Measure backends of one operation on one payload class, interleaved.

        Returns one :class:`Row` per backend, the baseline first.
        """
        from kit.engine.measure import compare, speedup
        from kit.workloads import payload

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
        from kit.machine import cpu_times, fingerprint, psi_cpu_some, steal_share

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
            verification[op.name] = {b.name: self.verification(op.name, b.name)
                                     for b in _registry.backends(op.name) if b.available}
        psi0, ticks0 = psi_cpu_some(), cpu_times()
        for i, (op, s, k) in enumerate(plan):
            bar(i, f"{op.name} {s} {k}")
            rows += self.measure(op.name, s, k, preset=preset)
        bar(len(plan), "done")
        psis = [x for x in (psi0, psi_cpu_some()) if x is not None]
        loads = [r.measurement.load for r in rows if r.measurement.load is not None]
        probes = {"psi": max(psis) if psis else None, "load": max(loads) if loads else None,
                  "steal": steal_share(ticks0, cpu_times())}
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
                         op_name, sum(b.available for b in _registry.backends(op_name)), n_classes,
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
                    "" if ver is None else "verified" if ver.ok else _clip("FAILED: " + ver.problems[0], 90)
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


class Info:
    """What ``kit info`` shows; prints as a table, renders as HTML, converts to data."""

    def __init__(self, rows: list[dict[str, Any]], wisdom: dict[str, Any]) -> None:
        self.rows, self.wisdom = rows, wisdom

    def table(self) -> Table:
        from kit.machine import gpu

        g = gpu()
        n_av = sum(r["available"] for r in self.rows)
        notes = [f"{n_av}/{len(self.rows)} backends available; "
                 f"GPU: {g['name'] + ' (' + str(g['memory_mib']) + ' MiB)' if g else 'none detected'}; "
                 f"wisdom: {self.wisdom.get('path')} ({self.wisdom.get('state')})"]
        for r in self.rows:
            if r.get("fallback_classes"):
                per = ", ".join(f"{c} x{n}" for c, n in r["fallback_classes"].items())
                notes.append(_clip(f"fallbacks of {r['backend']} ({r['operation']}): {per}", 100))
        return Table("kit info", ["operation", "backend", "version", "verified", "selected", "fallbacks", "status"],
                     [[r["operation"], r["backend"] + (" (baseline)" if r["baseline"] else ""), r["version"] or "",
                       r["verified"], r["selected"], r["fallbacks"] or "", r["status"]] for r in self.rows], notes)

    def operations(self) -> list[str]:
        """Registry names of the operations listed."""
        return list(dict.fromkeys(r["operation"] for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        from kit.machine import describe

        return {"machine": describe(), "wisdom": self.wisdom, "backends": self.rows}

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


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
