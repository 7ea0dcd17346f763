"""Scoring a machine: measure, re-measure the noisy classes, pool runs, apply the formula.

:func:`score` runs the engine's measurements (:meth:`kit.engine.Engine.tune`), re-measures noisy
payload classes, optionally pools runs measured in fresh processes (:func:`extra_runs`) and an
earlier reference, then applies :mod:`kit.scoring.formula` and the run-to-run intervals
(:mod:`kit.scoring._intervals`) and gives a :class:`kit.scoring.result.ScoreResult`.
:func:`summarise` scores a finished :class:`kit.engine.BenchResult` without measuring.

Noisy classes (CV above 10% or a sample more than 50% from the median, for the baseline or the
selected backend) are re-measured, up to ``retries`` times, as the Phoronix Test Suite does: until
an attempt is not noisy; the samples of all attempts are pooled, and a class whose every attempt was
noisy is reported as noisy.

Examples
--------
>>> from kit.scoring.run import availability
>>> a, n = availability()
>>> 0 < a <= n
True
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from kit import registry as _registry
from kit._paths import results_dir
from kit.config import CLOCKS
from kit.engine import Engine, Row, get_engine
from kit.engine.measure import Measurement, clock_name, speedup
from kit.errors import KitError
from kit.machine import fingerprint, fingerprint_id
from kit.records.store import RecordError, as_record, find_reference
from kit.scoring._intervals import honest, record_side, relative_side, side_noise_used, side_part
from kit.scoring.claims import check_claims
from kit.scoring.formula import (Ratio, category_of, hardware_index_of, nested_geomean, score_from_speedup, tier_of,
                                 tier_span)
from kit.scoring.inject import injected_slowdown
from kit.scoring.result import ClassResult, ScoreResult, Subscore, record_from_score
from kit.stats import excess_variance, interval_label, lower_quartile, median_se_log, pool_noise, runs_halfwidth

__all__ = ["MAX_RUNS", "PRESET_NAMES", "availability", "extra_runs", "learn_noise", "score", "stability", "summarise"]

#: The presets a score measures with (the engine's: :data:`kit.engine.measure.PRESETS`).
PRESET_NAMES = ("quick", "full")
#: Most runs one score may pool (each costs a whole measurement).
MAX_RUNS = 20


def _apply_intervals(result: "ScoreResult", noise: Mapping[str, tuple[float, float]], noise_runs: int) -> None:
    """Replace the score's sampling intervals with intervals that cover run-to-run variation."""
    side = relative_side(result, noise)
    if side.runs >= 2:
        # Several runs: each figure is the geometric mean of the runs' figures, the centre of the runs'
        # spread (the median of the pooled samples lies off it by about the width of the interval:
        # centred there, 5-run intervals covered 88% in the simulation instead of 96%).
        result.speedup = math.exp(statistics.fmean(side.overall))
        result.score, result.tier = score_from_speedup(result.speedup), tier_of(result.speedup)
        for cat, sub in result.subscores.items():
            sub.speedup = math.exp(statistics.fmean(side.per_cat[cat]))
        for c in result.classes:
            logs = side.per_class.get((c.operation, c.size, c.kind)) or []
            if c.backend != c.baseline and len(logs) >= 2:
                point, half = math.exp(statistics.fmean(logs)), runs_halfwidth(logs)
                c.speedup = (point, point * math.exp(-half), point * math.exp(half))
    lo, hi, basis = honest(result.speedup, result.speedup_ci, [side_part(side, None)])
    result.speedup_ci = (lo, hi)
    result.score_ci = (score_from_speedup(lo), score_from_speedup(hi))
    result.tier_note = tier_span(lo, hi)
    for cat, sub in result.subscores.items():
        slo, shi, _ = honest(sub.speedup, sub.speedup_ci, [side_part(side, cat)])
        sub.speedup_ci = (slo, shi)
    result.ci_basis = basis
    result.ci_label = interval_label(basis, side.runs, noise_runs if side_noise_used(side) else 0)
    result.run_noise = dict(noise)
    result.noise_runs = noise_runs


def learn_noise(result: "ScoreResult") -> dict[str, tuple[float, int]]:
    """This run's observation of the machine's run-to-run components (for :mod:`kit.engine.wisdom`).

    For every category and overall, the excess variance (:func:`kit.stats.excess_variance`) across
    the runs of the log speed-up figure (``relative/...``), of the log time figure of the selected
    backends (``absolute/...``), and, pooled over the category's measurements, of each measurement's
    log median (``measurement/...``). Empty with fewer than two runs.

    Examples
    --------
    >>> learn_noise(score(operations=["digest"], sizes=["small"], runs=3, claims=False))  # doctest: +SKIP
    {'relative/hashing': (1.2e-05, 2), 'relative/overall': ..., 'absolute/hashing': ..., ...}
    """
    out: dict[str, tuple[float, int]] = {}
    rel = relative_side(result, {})
    sel = {(c.operation, c.size, c.kind): c for c in result.classes}
    times = {k: {"run_medians_s": result.run_medians.get((*k, c.backend)) or [],
                 "raw_s": [x for r in result.bench.rows if (r.operation, r.size, r.kind, r.backend) == (*k, c.backend)
                           for x in r.measurement.samples]} for k, c in sel.items()}
    ab = record_side(times, {k: c.category for k, c in sel.items()}, {})
    for side in (rel, ab):
        if side.runs < 2:
            continue
        for cat, values in [(None, side.overall)] + list(side.per_cat.items()):
            samp = side.sampling[0] if cat is None else side.sampling[1].get(cat, 0.0)
            got = excess_variance(values, [samp] * len(values))
            if got is not None:
                out[f"{side.kind}/{cat or 'overall'}"] = got
    per_cat: dict[str, list[tuple[float, float]]] = {}
    for key, medians in result.run_medians.items():
        runs = [math.log(x) for x in medians if x > 0]
        ses = result.run_se.get(key) or []
        got = excess_variance(runs, [x * x for x in ses[:len(runs)]])
        if got is not None:
            per_cat.setdefault(category_of(key[0]), []).append(got)
    for cat, obs in per_cat.items():
        pooled = pool_noise(obs)
        if pooled is not None:
            # The measurements of a category share the run's drift, so they are not independent
            # observations of it: the degrees of freedom are the runs', not the runs' times the keys'.
            out[f"measurement/{cat}"] = (pooled[0] ** 2, max(d for _, d in obs))
    return out


# --- measuring ---------------------------------------------------------------------------------------


def _is_noisy(m: Any) -> bool:
    """Whether a measurement is too uncertain to stand (its median's interval, see ``Measurement.unstable``)."""
    return m.unstable or m.outliers > 0


def availability() -> tuple[int, int]:
    """``(available, declared)`` backends of the registry on this machine.

    Examples
    --------
    >>> a, n = availability()
    >>> 0 < a <= n
    True
    """
    available = sum(len(_registry.available(op.name)) for op in _registry.operations())
    return available, len(_registry.all_backends())


def _classes_of(bench: Any) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys((r.operation, r.size, r.kind) for r in bench.rows))


def _remeasure(engine: Any, bench: Any, retries: int, preset: str,
               progress: Callable[[str], None]) -> dict[tuple[str, str, str], tuple[int, bool]]:
    """Re-measure noisy classes (baseline and selected backend) up to ``retries`` times.

    An attempt is noisy when the baseline or the selected backend is (CV above 10% or a sample more
    than 50% from the median). Re-measuring stops at the first attempt that is not noisy, or after
    ``retries`` more attempts. The samples of all attempts are pooled (per-call times, so attempts
    with different loop counts pool), the rows of ``bench`` are replaced in place with the pooled
    measurements, and the class is reported noisy when every attempt was. Returns
    ``{class: (attempts, noisy)}``.
    """
    out: dict[tuple[str, str, str], tuple[int, bool]] = {}
    for key in _classes_of(bench):
        op_name, size, kind = key
        op = _registry.operation(op_name)
        chosen = bench.selected.get(op_name, {}).get(size, op.baseline)
        if chosen == op.baseline:
            continue  # the ratio is 1 by construction: nothing to re-measure
        names = [op.baseline, chosen]
        first = {r.backend: r for r in bench.rows if (r.operation, r.size, r.kind) == key and r.backend in names}
        if len(first) != len(names):
            continue
        attempts = [first]
        while any(_is_noisy(r.measurement) for r in attempts[-1].values()) and len(attempts) <= retries:
            progress(f"re-measuring {op_name} {size} {kind} (attempt {len(attempts) + 1})")
            attempts.append({r.backend: r for r in engine.measure(op_name, size, kind, backends=names,
                                                                  preset=preset)})
        noisy = all(any(_is_noisy(r.measurement) for r in a.values()) for a in attempts)
        if len(attempts) > 1:
            last = attempts[-1]
            pooled = {n: _pooled([a[n].measurement for a in attempts], last[n].measurement) for n in names}
            _replace_rows(bench, {(*key, n): m for n, m in pooled.items()})
        out[key] = (len(attempts), noisy)
    return out


def _shares(shares: Any, n: int) -> list[float | None]:
    """A stored list of per-sample CPU shares, or ``None`` for each of ``n`` samples where there is none."""
    return list(shares) if isinstance(shares, list) and len(shares) == n else [None] * n


def _pooled(parts: Sequence[Any], last: Any) -> Any:
    """One Measurement holding the samples, shares and lost samples of several (same backend and class)."""
    return Measurement(last.name, [x for m in parts for x in m.samples], last.loops, last.nbytes,
                       [x for m in parts for x in m.warmup], _max_load(m.load for m in parts),
                       cpu_shares=[x for m in parts for x in _shares(m.cpu_shares, len(m.samples))],
                       lost=[x for m in parts for x in m.lost],
                       lost_shares=[x for m in parts for x in _shares(m.lost_shares, len(m.lost))],
                       contended=any(m.contended for m in parts))


def _extendable(extend: Any, preset: str) -> Any:
    """The record to extend, after checking it was measured like this run will be."""
    rec = as_record(extend)
    problems = []
    if rec.machine_id != fingerprint_id(fingerprint()):
        problems.append(f"another machine ({rec.machine_id})")
    if rec.data.get("preset") != preset:
        problems.append(f"preset {rec.data.get('preset')!r}, not {preset!r}")
    if (rec.data.get("libraries") or {}) != _registry.libraries():
        problems.append("other library versions")
    if rec.data.get("injected_slowdown"):
        problems.append("an injected slowdown")
    if problems:
        raise KitError(f"{rec.name}: cannot extend a record measured with " + ", ".join(problems)
                       + "; make a new one (kit score --as-reference)")
    return rec


def extra_runs(n: int, *, preset: str = "quick", operations: Iterable[str] | None = None,
               sizes: Iterable[str] | None = None, slowdown: Mapping[str, float] | None = None,
               progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Measure ``n`` more times, each in a fresh interpreter; returns their records as dicts.

    Each child runs ``kit score --json --no-record --no-claims --no-reference --retries 0`` with the
    same preset, operations, sizes, injected slowdown and clock (``KIT_CLOCK``), and a throw-away
    ``KIT_CACHE_DIR``, so the runs neither read nor write this machine's wisdom. One process per run, as pyperf spreads its
    samples over processes: what differs between processes (memory layout, hash seeds) then shows
    as run-to-run variation instead of hiding in one process's luck.

    Examples
    --------
    >>> recs = extra_runs(1, operations=["fingerprint"], sizes=["small"])  # doctest: +SKIP
    >>> len(recs), recs[0]["preset"]  # doctest: +SKIP
    (1, 'quick')
    """
    argv = [sys.executable, "-c", "import sys; from kit.cli import main; sys.exit(main())", "score", "--json",
            "--no-record", "--no-claims", "--no-reference", "--retries", "0", "--no-progress"]
    if preset == "full":
        argv.append("--full")
    for name in operations or ():
        argv += ["--op", name]
    for size in sizes or ():
        argv += ["--size", size]
    for key, factor in (slowdown or {}).items():
        argv += ["--inject-slowdown", f"{key}={factor!r}"]
    clock = clock_name()
    if clock not in CLOCKS:
        raise KitError(f"runs in fresh processes read a named clock ({', '.join(CLOCKS)}); this process "
                       "measures with another one, which they could not share")
    out = []
    for i in range(n):
        if progress:
            progress(f"run {i + 2} of {n + 1}, in a fresh process")
        with tempfile.TemporaryDirectory(prefix="kit-run-") as tmp:
            env = {**os.environ, "KIT_CACHE_DIR": tmp, "KIT_CLOCK": clock}  # the clock this process reads
            done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise KitError(f"run {i + 2} (a fresh `kit score` process) failed with exit status "
                           f"{done.returncode}: {tail[0]}")
        out.append(json.loads(done.stdout))
    return out


def _pool_runs(bench: Any, children: list[dict[str, Any]],
               medians: dict[tuple[str, str, str, str], list[float]],
               ses: dict[tuple[str, str, str, str], list[float]] | None = None,
               lows: dict[tuple[str, str, str, str], list[float] | None] | None = None) -> None:
    """Pool the children's samples into ``bench``'s rows in place; append each run's median (and its
    lower quartile to ``lows``: a key whose earlier runs did not keep theirs gets ``None``).

    A child is a record's data: a fresh process's run, or an earlier reference being extended (whose
    own run medians are kept as they are). ``ses`` gets each run's sampling error of the log median
    (for an earlier record of several runs, estimated from its pooled samples).

    Speed-ups are recomputed from the pooled samples; the selection stays the first run's (the
    engine's). A measurement a child lacks (a backend that failed there) keeps what it has. The
    children's CPU pressure, load and steal raise the run's own where higher.
    """
    by_key: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for child in children:
        for c in child["measurements"]:
            if c.get("raw_s"):
                by_key.setdefault((c["operation"], c["size"], c["kind"], c["backend"]), []).append(c)
        seen = child.get("contention") or {}
        for mine, theirs in (("psi", "psi_cpu_some"), ("load", "load_per_core"), ("steal", "steal"),
                             ("others", "others_per_core")):
            known = [x for x in (bench.probes.get(mine), seen.get(theirs)) if x is not None]
            bench.probes[mine] = max(known) if known else None
    pooled: dict[tuple[str, str, str, str], Measurement] = {}
    for r in bench.rows:
        key = (r.operation, r.size, r.kind, r.backend)
        parts = [r.measurement]
        for c in by_key.get(key, ()):
            raw, lost = list(c["raw_s"]), list(c.get("lost_s") or [])
            parts.append(Measurement(r.backend, raw, c.get("loops") or r.measurement.loops, r.measurement.nbytes,
                                     [], c.get("load_per_core"), cpu_shares=_shares(c.get("raw_cpu_share"), len(raw)),
                                     lost=lost, lost_shares=_shares(c.get("lost_cpu_share"), len(lost))))
            runs = c.get("run_medians_s") or [statistics.median(raw)]
            medians[key] += runs
            if lows is not None:
                low = c.get("run_q25_s") or ([lower_quartile(raw)] if len(runs) == 1 else None)
                lows[key] = None if low is None or lows.get(key) is None else lows[key] + low
            if ses is not None:
                ses.setdefault(key, [])
                ses[key] += [median_se_log(raw, len(runs))] * len(runs)
        pooled[key] = _pooled(parts, r.measurement)
    _replace_rows(bench, pooled)


def _replace_rows(bench: Any, pooled: Mapping[tuple[str, str, str, str], Any]) -> None:
    """Put pooled measurements into ``bench``'s rows in place, speed-ups against each class's baseline
    (pooled too when it is among them). Rows not in ``pooled`` are left as they are."""
    current = {(r.operation, r.size, r.kind, r.backend): r.measurement for r in bench.rows}
    current.update(pooled)
    for i, r in enumerate(bench.rows):
        key = (r.operation, r.size, r.kind, r.backend)
        if key in pooled:
            base = current[(r.operation, r.size, r.kind, _registry.operation(r.operation).baseline)]
            bench.rows[i] = Row(*key, pooled[key], speedup(base, pooled[key]), r.baseline)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _max_load(loads: Iterable[float | None]) -> float | None:
    known = [x for x in loads if x is not None]
    return max(known) if known else None


def score(preset: str = "quick", operations: Iterable[str] | None = None,
          progress: bool | Callable | None = None, reference: Any = None, *,
          sizes: Iterable[str] | None = None, retries: int = 2, claims: bool = True,
          slowdown: Mapping[str, float] | None = None, engine: Any = None, seed: int = 0,
          runs: int = 1, extend: Any = None) -> ScoreResult:
    """Measure this machine and score it: subscores, score with its CI, tier, hardware index, claims.

    Parameters
    ----------
    preset : {"quick", "full"}
        ``quick``: short samples on the small and medium payload classes; ``full``: longer samples on
        every class.
    operations : iterable of str, optional
        Registry operations to measure (default: all). Categories without an operation are absent
        from the score, not zero.
    progress : bool or callable, optional
        ``True`` shows a progress bar; a callable gets ``(done, total, label)``.
    reference : Record, dict, path, ``"auto"`` or None
        A reference record for the hardware index; ``"auto"`` looks for ``reference-*.json`` in the
        results folder (see :func:`kit.records.find_reference`); ``None`` computes no index.
    sizes : iterable of str, optional
        Size classes, overriding the preset's.
    retries : int
        How many times a noisy class may be re-measured.
    claims : bool
        Also run the claims check (:mod:`kit.scoring.claims`).
    slowdown : mapping of ``"operation:backend"`` to factor, optional
        Inject a real slowdown (see :func:`injected_slowdown`); the run then uses a throw-away engine
        so that this machine's wisdom is not touched, and the record says so.
    runs : int
        Independent runs to pool (see :func:`extra_runs`): the first in this process, the others each
        in a fresh interpreter, so that what varies from one process to the next (memory layout,
        hash seeds, the machine's state) is part of the record. Every measurement keeps the median
        of each run, which :func:`kit.records.validate` uses as run-to-run noise. A reference record
        should have several (``kit score --as-reference`` makes 5).
    extend : Record, dict or path, optional
        An earlier record of this machine, preset and library versions whose runs are pooled with
        these (``kit score --as-reference --extend``): a reference extended session after session
        learns how much the machine drifts between sessions, not only between processes.

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> import kit
    >>> res = kit.score(operations=["fingerprint"], sizes=["small"], claims=False)  # doctest: +SKIP
    >>> res.tier, round(res.score)  # doctest: +SKIP
    ('ENHANCED', 56)
    """
    if preset not in PRESET_NAMES:
        raise KitError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    if not isinstance(retries, int) or retries < 0:
        raise KitError(f"retries must be a non-negative integer, got {retries!r}")
    if not isinstance(runs, int) or isinstance(runs, bool) or not 1 <= runs <= MAX_RUNS:
        raise KitError(f"runs must be an integer from 1 to {MAX_RUNS}, got {runs!r}")
    ops = list(operations) if operations is not None else _registry.operation_names()
    for name in ops:
        _registry.operation(name)  # ValueError listing the valid operations
    if not ops:
        raise KitError("no operation to score (expected at least one registry operation)")
    size_list = list(sizes) if sizes is not None else (None if preset == "full" else ["small", "medium"])
    earlier = _extendable(extend, preset) if extend is not None else None
    ref = None
    hardware_note = None
    if isinstance(reference, str) and reference == "auto":
        found = find_reference(preset=preset)
        if found is None:
            hardware_note = f"no reference record (reference-*.json) in {results_dir()}"
        else:
            try:
                ref = as_record(found)
            except RecordError as exc:  # a damaged reference found on its own must not stop the score
                hardware_note = f"reference not used: {exc}"
    elif reference is not None:
        ref = as_record(reference)  # a reference the user named: bad input fails before minutes of measuring

    t0 = time.perf_counter()
    say = _say(progress)
    with contextlib.ExitStack() as stack:
        if slowdown:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-slowdown-"))
            engine = Engine(tmp)
            stack.enter_context(injected_slowdown(slowdown))
        eng = engine if engine is not None else get_engine()
        bench = eng.tune(ops, preset=preset, sizes=size_list, progress=progress)
        claim_results = None
        if claims:
            # Before re-measuring: a claim's two rows must come from the same interleaved measurement.
            claim_results = check_claims(bench, engine=eng, preset=preset, progress=say)
        state = _remeasure(eng, bench, retries, preset, say)
    medians = {(r.operation, r.size, r.kind, r.backend): [r.measurement.median] for r in bench.rows}
    ses = {(r.operation, r.size, r.kind, r.backend): [median_se_log(r.measurement.samples)] for r in bench.rows}
    lows = _run_lows(bench)
    if runs > 1:
        children = extra_runs(runs - 1, preset=preset, operations=ops, sizes=size_list, slowdown=slowdown,
                              progress=say)
        _pool_runs(bench, children, medians, ses, lows)
    if earlier is not None:
        _pool_runs(bench, [earlier.data], medians, ses, lows)

    noise_key = f"{preset}/{clock_name()}"
    noise = eng.wisdom.run_noise(noise_key)
    result = _finish(bench, state, retries, seed, medians, ses, noise, eng.wisdom.noise_runs(noise_key))
    result.run_lows = {k: v for k, v in lows.items() if v is not None}
    result.sittings = [{"started": bench.started or _now(), "runs": runs}] + (
        earlier.sittings if earlier is not None else [])
    if result.runs >= 2 and not slowdown:
        # This run's observation of the machine's run-to-run noise, for the intervals of later single runs.
        learned = learn_noise(result)
        if learned:
            eng.wisdom.store_run_noise(noise_key, learned, result.runs)
            eng.wisdom.save()
    result.claims = claim_results
    result.injected = dict(slowdown or {})
    result.hardware_note = hardware_note
    result.seconds = time.perf_counter() - t0
    if ref is not None:
        try:  # the record of the run so far: the one to_record() gives afterwards holds the index too
            result.hardware = hardware_index_of(record_from_score(result), ref, seed=seed)
        except KitError as exc:
            result.hardware_note = str(exc)
    return result


def summarise(bench: Any, seed: int = 0) -> ScoreResult:
    """Score an existing :class:`kit.engine.BenchResult` (e.g. from ``kit.bench``) without measuring again.

    No class is re-measured and no claim is checked; the result converts to a record like any other.

    Examples
    --------
    >>> import kit
    >>> from kit.scoring import summarise
    >>> summarise(kit.bench(["fingerprint"], sizes=["small"])).tier  # doctest: +SKIP
    'STANDARD'
    """
    medians = {(r.operation, r.size, r.kind, r.backend): [r.measurement.median] for r in bench.rows}
    ses = {k: [median_se_log(r.measurement.samples)] for k, r in
           (((r.operation, r.size, r.kind, r.backend), r) for r in bench.rows)}
    wisdom = get_engine().wisdom
    key = f"{bench.preset}/{clock_name()}"
    result = _finish(bench, {}, 0, seed, medians, ses, wisdom.run_noise(key), wisdom.noise_runs(key))
    result.run_lows = _run_lows(bench)
    return result


def _run_lows(bench: Any) -> dict[tuple[str, str, str, str], list[float] | None]:
    """Each row's lower quartile of its samples: the first run's entry of ``ScoreResult.run_lows``."""
    return {(r.operation, r.size, r.kind, r.backend): [lower_quartile(r.measurement.samples)] for r in bench.rows
            if r.measurement.samples}


def _finish(bench: Any, state: Mapping[tuple[str, str, str], tuple[int, bool]], retries: int, seed: int,
            medians: dict[tuple[str, str, str, str], list[float]], ses: dict[tuple[str, str, str, str], list[float]],
            noise: Mapping[str, tuple[float, float]], noise_runs: int) -> "ScoreResult":
    """Score ``bench`` with intervals that cover run-to-run variation (several runs, or the machine's noise)."""
    for r in bench.rows:
        key = (r.operation, r.size, r.kind, r.backend)
        m = r.measurement
        m.run_noise = noise.get(f"measurement/{category_of(r.operation)}")
        m.run_medians = list(medians[key]) if len(medians.get(key) or []) >= 2 else None
    result = _summarise(bench, state, retries, seed)
    result.runs = max(len(v) for v in medians.values()) if medians else 1
    result.run_medians = medians
    result.run_se = ses
    _apply_intervals(result, noise, noise_runs)
    return result


def _say(progress: bool | Callable | None) -> Callable[[str], None]:
    if callable(progress):
        return lambda label: progress(0, 0, label)
    if progress:
        return lambda label: print(f"kit score: {label}", file=sys.stderr)
    return lambda label: None


def _summarise(bench: Any, state: Mapping[tuple[str, str, str], tuple[int, bool]], retries: int,
               seed: int) -> ScoreResult:
    rows = {(r.operation, r.size, r.kind, r.backend): r for r in bench.rows}
    classes: list[ClassResult] = []
    ratios: list[Ratio] = []
    for key in _classes_of(bench):
        op_name, size, kind = key
        op = _registry.operation(op_name)
        chosen = bench.selected.get(op_name, {}).get(size)
        if chosen is None:
            continue
        base, sel = rows[(*key, op.baseline)], rows[(*key, chosen)]
        identity = chosen == op.baseline
        ratio = Ratio(op.category, base.measurement.samples, sel.measurement.samples, identity)
        ratios.append(ratio)
        attempts, noisy = state.get(key, (1, not identity and (_is_noisy(base.measurement)
                                                                or _is_noisy(sel.measurement))))
        sp = (1.0, 1.0, 1.0) if identity else sel.speedup
        classes.append(ClassResult(op_name, op.category, size, kind, op.baseline, chosen, sp, attempts, noisy))
    if not ratios:
        raise KitError("nothing was measured, so there is no score (check `kit info` for available backends)")
    value, ci, per = nested_geomean(ratios, seed=seed)
    subs = {cat: Subscore(cat, v, (lo, hi), sum(1 for c in classes if c.category == cat))
            for cat in _registry.CATEGORIES if cat in per for v, lo, hi in [per[cat]]}
    return ScoreResult(
        score=score_from_speedup(value),
        score_ci=(score_from_speedup(ci[0]), score_from_speedup(ci[1])),
        speedup=value, speedup_ci=ci, tier=tier_of(value), tier_note=tier_span(*ci),
        subscores=subs, classes=classes, availability=availability(), bench=bench, retries=retries,
    )


def stability(repeat: int = 5, **kwargs: Any) -> dict[str, Any]:
    """Run :func:`score` ``repeat`` times and report the coefficient of variation of the score.

    Keyword arguments go to :func:`score` (claims are off unless asked for).

    Returns
    -------
    dict
        ``scores``, ``speedups``, ``mean``, ``stdev``, ``cv`` (sample standard deviation over mean)
        and ``tiers``.

    Examples
    --------
    >>> stability(3, operations=["fingerprint"], sizes=["small"])["cv"] < 0.5  # doctest: +SKIP
    True
    """
    if not isinstance(repeat, int) or repeat < 2:
        raise KitError(f"stability needs at least 2 runs, got {repeat!r}")
    kwargs.setdefault("claims", False)
    results = [score(**kwargs) for _ in range(repeat)]
    scores = [r.score for r in results]
    mean = statistics.fmean(scores)
    sd = statistics.stdev(scores)
    return {"runs": repeat, "scores": scores, "speedups": [r.speedup for r in results],
            "tiers": [r.tier for r in results], "mean": mean, "stdev": sd, "cv": sd / mean if mean else math.nan,
            "noisy": [len(r.noisy) for r in results], "results": results}
