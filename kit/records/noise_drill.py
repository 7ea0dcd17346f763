"""The noise drill: do kit's intervals, choices and verdicts hold on this machine, quiet and loaded?

``kit drill noise`` scores this machine many times, each run a fresh ``kit score`` process (as a
user's runs are), into a throw-away results folder and wisdom:

1. a reference of ``reference_runs`` pooled runs (``kit score --as-reference``) made in
   ``reference_sittings`` sittings: the first now, the others spread over the trials and pooled in
   with ``--extend``, so that the reference knows how far the machine drifts between sittings;
2. quiet single runs, interleaved with trials: records of ``trial_runs`` pooled runs (3), unchanged
   and with one selected backend slowed by ``slowdown`` (``kit score --inject-slowdown``,
   :func:`kit.scoring.injected_slowdown`);
3. the same, beside a one-core busy loop that the drill starts and always stops
   (:func:`busy_loop`).

It reports, from those records alone:

* **coverage**: the fraction of quiet runs whose 95% interval of the hardware index, and of the
  score, contains the median of all quiet runs' estimates (:func:`coverage`; target at least 90%);
* **shift under load**: how far the median loaded run's score, index and each category's index
  lie from the median quiet run's (:func:`shift`);
* **selection changes**: payload classes whose selected backend changed between quiet runs, those
  among them whose best two contenders are more than 10% apart, and selected backends with a
  speed-up below 1 (:func:`selection_changes`);
* **verdicts**: of each quiet run against the previous one and each loaded run against a quiet one
  (single runs: never FAIL), and, against the reference, the **detection rate** of the slowdown (FAILs
  that name the slowed backend) and
  the **false-alarm rate** on unchanged runs over ``trials`` each (:func:`rate`; targets 19 of 20
  and at most 1 of 20), and the loaded slowed runs' verdicts (never PASS). A detection counts in a
  class whose realised slowdown is the injected one (within :data:`FAITHFUL`): on calls of a few
  microseconds the slowdown wrapper's own clock reads inflate it.

A drill measures; it is never a gating test. On a shared machine, say what else was running.

Examples
--------
>>> coverage([(1.0, 0.9, 1.1), (1.2, 1.15, 1.25), (0.95, 0.9, 1.0)])
(0.6666666666666666, 1.0)
>>> figures = noise_drill(runs=10, trials=20, operations=["digest"])  # doctest: +SKIP
>>> print(format_figures(figures))                                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from kit import registry as _registry
from kit._display import Table
from kit.errors import KitError
from kit.records.compare import validate
from kit.records.contention import contention_of
from kit.records.store import as_record

__all__ = ["DRILL_OPERATIONS", "MIN_TARGET_CALL", "busy_loop", "coverage", "format_figures", "noise_drill", "rate",
           "realised_slowdown", "run_figures", "score_run", "selection_changes", "shift", "steadiest_target"]

#: Three categories (JSON, hashing, compression), about seven seconds a run on a quiet 2-core machine.
DRILL_OPERATIONS = ("json.encode", "digest", "compress")
#: What the busy loop runs: one core, at full tilt, until killed.
BUSY_CODE = "while True: pass"
#: A class of the slowed backend counts for the detection rate where its realised slowdown is at most
#: this much over the factor injected (1.25 x 1.10 = 1.375).
FAITHFUL = 1.10
#: Gap between a class's best two contenders above which its choice must not change.
CLEAR_GAP = 1.10


# --- the computations ---------------------------------------------------------------------------------


def coverage(estimates: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """Fraction of ``(value, low, high)`` intervals that contain the median of the values, and that median.

    Examples
    --------
    >>> coverage([(2.0, 1.9, 2.05), (2.2, 2.1, 2.3), (2.4, 2.3, 2.5)])
    (0.3333333333333333, 2.2)
    """
    if not estimates:
        raise ValueError("coverage needs at least one (value, low, high) estimate, got none")
    center = statistics.median(v for v, _, _ in estimates)
    inside = sum(1 for _, lo, hi in estimates if lo <= center <= hi)
    return inside / len(estimates), center


def rate(flags: Sequence[bool]) -> tuple[int, int]:
    """``(flagged, trials)``.

    Examples
    --------
    >>> rate([True, False, True])
    (2, 3)
    """
    return sum(1 for f in flags if f), len(flags)


def shift(quiet: Sequence[float], loaded: Sequence[float]) -> float | None:
    """Relative shift of the median loaded value from the median quiet one (-0.08: 8% lower under load).

    Examples
    --------
    >>> round(shift([1.0, 1.1, 0.9], [0.92, 0.9]), 3)
    -0.09
    >>> shift([], [1.0]) is None
    True
    """
    if not quiet or not loaded:
        return None
    return statistics.median(loaded) / statistics.median(quiet) - 1.0


def _classes(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"op size kind": {"selected", "speedup", "baseline", "gap"}}`` of one record's dict."""
    out: dict[str, dict[str, Any]] = {}
    medians: dict[str, list[float]] = {}
    for m in record.get("measurements") or []:
        medians.setdefault(f"{m['operation']} {m['size']} {m['kind']}", []).append(float(m["median_s"]))
    for c in record.get("classes") or []:
        key = f"{c['operation']} {c['size']} {c['kind']}"
        ts = sorted(medians.get(key, []))
        out[key] = {"selected": c["backend"], "baseline": c["baseline"], "speedup": c.get("speedup"),
                    "gap": ts[1] / ts[0] if len(ts) > 1 and ts[0] > 0 else None}
    return out


def selection_changes(records: Sequence[Mapping[str, Any]], clear_gap: float = CLEAR_GAP) -> dict[str, Any]:
    """How the selected backends moved between runs.

    Returns ``classes`` (compared), ``changed`` (classes whose choice changed at least once, with the
    choices in order), ``changes`` (changes between consecutive runs, all classes), ``clear_changed``
    (changed classes whose best two contenders differ by more than ``clear_gap`` in the median run),
    and ``below_one`` (selected non-baseline backends reported with a speed-up below 1, as
    ``"class: backend speed-up"``).

    Examples
    --------
    >>> r = lambda b, t: {"classes": [{"operation": "digest", "size": "small", "kind": "random",
    ...                                "baseline": "sha256", "backend": b, "speedup": 2.0}],
    ...                   "measurements": [{"operation": "digest", "size": "small", "kind": "random",
    ...                                     "median_s": t}, {"operation": "digest", "size": "small",
    ...                                     "kind": "random", "median_s": 1.0}]}
    >>> selection_changes([r("a", 0.5), r("b", 0.5), r("b", 0.5)])["changes"]
    1
    """
    per = [_classes(r) for r in records]
    keys = sorted(set().union(*per)) if per else []
    changed: dict[str, list[str]] = {}
    changes = 0
    clear = []
    below = []
    for k in keys:
        seq = [p[k]["selected"] for p in per if k in p]
        changes += sum(1 for a, b in zip(seq, seq[1:]) if a != b)
        if len(set(seq)) > 1:
            changed[k] = seq
            gaps = [p[k]["gap"] for p in per if k in p and p[k]["gap"] is not None]
            if gaps and statistics.median(gaps) > clear_gap:
                clear.append(k)
        for p in per:
            c = p.get(k)
            if c and c["selected"] != c["baseline"] and c["speedup"] is not None and c["speedup"] < 1:
                below.append(f"{k}: {c['selected']} {c['speedup']:.2f}x")
    return {"classes": len(keys), "changed": changed, "changes": changes, "clear_changed": clear,
            "below_one": below}


def run_figures(record: Any) -> dict[str, Any]:
    """The figures the drill reads from one record: score, hardware index and categories, each
    ``(value, low, high)``, and the contention level.

    Examples
    --------
    >>> run_figures({"schema": "kit.record", "schema_version": 1, "machine": {}, "machine_id": "x",
    ...              "measurements": [{"operation": "digest", "size": "small", "kind": "random",
    ...                                "backend": "hashlib.sha256", "median_s": 1e-6, "raw_s": [1e-6]}],
    ...              "preset": "quick", "score": {"value": 50.0, "ci": [45.0, 55.0], "tier": "STANDARD"},
    ...              "hardware_index": None})["score"]
    (50.0, 45.0, 55.0)
    """
    rec = as_record(record)
    s = rec.data.get("score") or {}
    hw = rec.data.get("hardware_index") or None
    ci = s.get("ci") or [None, None]
    return {
        "score": None if s.get("value") is None else (float(s["value"]), float(ci[0]), float(ci[1])),
        "index": None if hw is None else (float(hw["value"]), float(hw["ci"][0]), float(hw["ci"][1])),
        "categories": {} if hw is None else {k: (float(v["value"]), float(v["ci"][0]), float(v["ci"][1]))
                                             for k, v in (hw.get("categories") or {}).items()},
        "contention": contention_of(rec)["level"],
    }


# --- the busy loop ------------------------------------------------------------------------------------


@contextlib.contextmanager
def busy_loop(cores: int = 1, popen: Callable[..., Any] = subprocess.Popen) -> Iterator[list[Any]]:
    """Keep ``cores`` cores busy with ``python3 -c "while True: pass"`` while the block runs.

    The processes are killed and reaped when the block ends, however it ends (an error, Ctrl-C).

    Examples
    --------
    >>> with busy_loop() as procs:
    ...     procs[0].poll() is None
    True
    >>> procs[0].poll() is not None
    True
    """
    procs: list[Any] = []
    try:
        for _ in range(cores):
            procs.append(popen([sys.executable, "-c", BUSY_CODE], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield procs
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                p.kill()
        for p in procs:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                p.wait(timeout=30)


# --- one run: a fresh `kit score` process ------------------------------------------------------------


def score_run(folder: Path, operations: Sequence[str], sizes: Sequence[str] | None = None, *,
              reference: Path | None = None, runs: int = 1, as_reference: bool = False, extend: bool = False,
              slowdown: Mapping[str, float] | None = None, timeout: float = 900.0) -> dict[str, Any]:
    """Run ``kit score --quick`` in a fresh process writing into ``folder``; returns its record (a dict).

    The process keeps its wisdom in ``folder/wisdom`` (this machine's stored choices are not touched)
    and inherits this process's environment otherwise (``KIT_CLOCK`` included).

    Examples
    --------
    >>> rec = score_run(Path("/tmp/drill"), ["digest"], ["small"])  # doctest: +SKIP
    >>> rec["score"]["value"]                                         # doctest: +SKIP
    52.1
    """
    cmd = [sys.executable, "-m", "kit.cli", "score", "--quick", "--no-claims", "--no-progress", "--retries", "0",
           "--json", "--results", str(folder / "records")]
    for op in operations:
        cmd += ["--op", op]
    for size in sizes or ():
        cmd += ["--size", size]
    cmd += ["--reference", str(reference)] if reference is not None else ["--no-reference"]
    if as_reference:
        cmd.append("--as-reference")
    if extend:
        cmd.append("--extend")  # pools into the reference this folder already holds
    if runs != 1 or as_reference:
        cmd += ["--runs", str(runs)]
    for key, factor in (slowdown or {}).items():
        cmd += ["--inject-slowdown", f"{key}={factor:g}"]
    env = {**os.environ, "KIT_CACHE_DIR": str(folder / "wisdom")}
    env.pop("KIT_RESULTS_DIR", None)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise KitError(f"a kit score run took longer than {timeout:g} s; try fewer --ops") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise KitError(f"a kit score run failed (exit {done.returncode}): {last}")
    out = done.stdout
    start = out.find('{\n "schema"')
    if start < 0:
        raise KitError("a kit score run printed no record")
    return json.loads(out[start:])


def _auto_target(reference: Mapping[str, Any]) -> str:
    """The selected non-baseline backend whose quickest selected class is slowest: ``"operation:backend"``.

    The slowdown wrapper's own clock reads add a fixed cost to every call, which turns 1.25x into
    about 2x on a call of a few microseconds; the backend whose selected calls are all long keeps the
    injected factor honest (the drill reports the factor it realised).
    """
    quickest: dict[str, float] = {}
    for c in reference.get("classes") or []:
        if c["backend"] == c["baseline"]:
            continue
        t = next((m["median_s"] for m in reference.get("measurements") or []
                  if (m["operation"], m["size"], m["kind"], m["backend"]) ==
                  (c["operation"], c["size"], c["kind"], c["backend"])), 0.0)
        key = f"{c['operation']}:{c['backend']}"
        quickest[key] = min(quickest.get(key, math.inf), t)
    if not quickest:
        raise KitError("the reference selected no backend other than the baselines, so there is nothing to "
                       "slow down; choose --ops with a faster library, or name one with --target")
    return max(sorted(quickest), key=quickest.__getitem__)


#: The shortest selected call a probed target may have: on a call of a few microseconds the slowdown
#: wrapper's own clock reads add a fixed cost (x1.25 was realised as x1.6-2.1 on 1.5-3 µs calls).
MIN_TARGET_CALL = 10e-6


def steadiest_target(probe: Mapping[str, Any], min_call: float = MIN_TARGET_CALL) -> tuple[str | None, dict[str, float]]:
    """The selected backend whose speed relative to its baseline moved least between a probe record's runs.

    For each selected non-baseline class whose call takes at least ``min_call`` seconds, the spread
    (standard deviation) of ``log(backend run figure / baseline run figure)`` over the probe's runs
    (the runs' lower quartiles, ``run_q25_s``, as the verdict tests them; else their medians),
    each a fresh process; a backend's figure is its steadiest class's. A 25% slowdown of a backend
    whose speed jumps between two states from one process to the next (blake3 and blake2b on 2-core
    VMs: 18 or 30 µs per 32 KiB) cannot be told from that noise by any test; the drill's detection
    rate is a figure of the validation, on the backend the noise lets it judge.

    Returns ``(target or None, {"operation:backend": spread})``: ``None`` where no class qualifies
    (probe runs without ``run_medians_s``, or only short calls).

    Examples
    --------
    >>> def m(backend, runs, base=False):
    ...     return {"operation": "digest", "size": "medium", "kind": "random", "backend": backend,
    ...             "baseline": base, "median_s": sorted(runs)[1], "run_medians_s": runs}
    >>> probe = {"classes": [{"operation": "digest", "size": "medium", "kind": "random",
    ...                       "baseline": "sha256", "backend": "blake3"}],
    ...          "measurements": [m("sha256", [1e-4, 1e-4, 1e-4], True), m("blake3", [2e-5, 3.3e-5, 2e-5])]}
    >>> target, spreads = steadiest_target(probe)
    >>> target, round(spreads["digest:blake3"], 3)
    ('digest:blake3', 0.289)
    """
    runs = {(m["operation"], m["size"], m["kind"], m["backend"]): m for m in probe.get("measurements") or []}
    spreads: dict[str, float] = {}
    calls: dict[str, float] = {}
    for c in probe.get("classes") or []:
        if c["backend"] == c["baseline"]:
            continue
        cls = (c["operation"], c["size"], c["kind"])
        mine, base = runs.get((*cls, c["backend"])), runs.get((*cls, c["baseline"]))
        if not mine or not base or float(mine["median_s"]) < min_call:
            continue
        # The run figure the verdict tests: each run's lower quartile where the probe kept it.
        field = "run_q25_s" if mine.get("run_q25_s") and base.get("run_q25_s") else "run_medians_s"
        a, b = mine.get(field) or [], base.get(field) or []
        if len(a) < 2 or len(a) != len(b):
            continue
        sd = statistics.stdev(math.log(x / y) for x, y in zip(a, b))
        key = f"{c['operation']}:{c['backend']}"
        if sd < spreads.get(key, math.inf):
            spreads[key] = sd
        calls[key] = max(calls.get(key, 0.0), float(mine["median_s"]))
    if not spreads:
        return None, {}
    # The steadiest; between equally steady ones, the longer call.
    return min(sorted(spreads), key=lambda k: (spreads[k], -calls[k])), spreads


def realised_slowdown(quiet: Sequence[Mapping[str, Any]], slowed: Sequence[Mapping[str, Any]],
                      target: str) -> dict[str, float]:
    """``{"size kind": median slowed time / median quiet time}`` of the slowed backend, per class.

    Each time is taken relative to its own run's baseline of the class where the record names one
    (as the verdicts compare), so that the machine's speed, which moves by tens of percent between
    runs on a shared VM, does not read as a slowdown; else the time as it is.

    Examples
    --------
    >>> m = lambda t: {"measurements": [{"operation": "digest", "size": "small", "kind": "random",
    ...                                  "backend": "blake3", "median_s": t}]}
    >>> {k: round(v, 4) for k, v in realised_slowdown([m(1.0), m(1.2)], [m(1.4)], "digest:blake3").items()}
    {'small random': 1.2727}
    """
    op, _, backend = target.partition(":")

    def relative(records: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for r in records:
            base = {(c["size"], c["kind"]): c["baseline"] for c in r.get("classes") or [] if c["operation"] == op}
            times = {(m["size"], m["kind"], m["backend"]): float(m["median_s"])
                     for m in r.get("measurements") or [] if m["operation"] == op}
            for (size, kind, name), t in times.items():
                if name != backend:
                    continue
                b = times.get((size, kind, base.get((size, kind), "")))
                out.setdefault(f"{size} {kind}", []).append(t / b if b and name != base.get((size, kind)) else t)
        return out

    q, s = relative(quiet), relative(slowed)
    return {k: statistics.median(s[k]) / statistics.median(q[k]) for k in sorted(set(q) & set(s))}


# --- the drill ----------------------------------------------------------------------------------------


def noise_drill(runs: int = 10, loaded: int = 3, trials: int = 20, operations: Sequence[str] = DRILL_OPERATIONS,
                sizes: Sequence[str] | None = None, reference_runs: int = 5, slowdown: float = 1.25,
                target: str | None = None, reference_attempts: int = 3, trial_runs: int = 3,
                reference_sittings: int = 5, probe_runs: int = 6,
                run: Callable[..., dict[str, Any]] | None = None,
                busy: Callable[[], Any] = busy_loop, folder: Path | None = None,
                say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Score this machine ``max(runs, trials)`` times quiet, ``trials`` times slowed, ``loaded`` times each
    beside a busy core; return the figures (see the module's docstring).

    Parameters
    ----------
    runs : int
        Quiet runs for the coverage (at least 2); the unchanged trials reuse them.
    loaded : int
        Runs beside the busy loop, unchanged and slowed each (0: none).
    trials : int
        Slowed runs and unchanged runs validated against the reference (20 in the issue's targets).
    operations, sizes
        What each run scores (default :data:`DRILL_OPERATIONS`, the quick preset's sizes).
    reference_runs : int
        Runs pooled in the reference (5, as ``kit score --as-reference``).
    reference_sittings : int
        Sittings the reference's runs are made in (default 5, one run each): the first before
        everything, the others spread over the trials and the last after them, each pooled into the
        reference with ``kit score --as-reference --extend``, as a reference extended session after
        session samples the states a machine drifts through. Every validation happens at the end,
        against the whole reference. With 1, the reference is made in one go, so the drift between
        sittings is unknown and the verdicts against it cannot FAIL.
    trial_runs : int
        Runs pooled in each trial's record, slowed and unchanged (``kit score --runs``; default 3). One
        process cannot tell an excursion of its own (a measurement 30-50% off for the whole process,
        seen on 2-core VMs) from a regression; pooled, an excursion must hit most of the trial's runs.
        With 1, the unchanged trials reuse the quiet runs.
    reference_attempts : int
        How many times the reference is made while it comes out contended (every validation against a
        contended reference is INCONCLUSIVE).
    slowdown : float
        Factor injected into ``target`` (``"operation:backend"``).
    probe_runs : int
        Without a ``target``: runs (fresh processes, before the reference, in a folder of their own)
        whose steadiest selected backend becomes the target (:func:`steadiest_target`); with 0, or
        where no backend qualifies, the reference's selected backend in its slowest class. Six, as
        three runs of a backend that takes one of two speeds per process, each half the time, all
        land on one of them a quarter of the time (a drill chose orjson on three runs that agreed
        within 0.8%; its 10-µs class then moved so between sittings that only an 81% change was
        detectable); six, 3% of the time.
    run, busy
        The runner (:func:`score_run` in a temporary folder) and the busy loop (:func:`busy_loop`),
        replaceable for tests.
    say
        Called with a line of progress.

    Returns
    -------
    dict
        JSON-ready figures; :func:`format_figures` prints them.
    """
    for name, value, low in (("runs", runs, 2), ("loaded", loaded, 0), ("trials", trials, 1),
                             ("reference_runs", reference_runs, 2), ("reference_attempts", reference_attempts, 1),
                             ("trial_runs", trial_runs, 1), ("reference_sittings", reference_sittings, 1),
                             ("probe_runs", probe_runs, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise KitError(f"{name} must be an integer >= {low}, got {value!r}")
    if not (isinstance(slowdown, (int, float)) and slowdown > 1):
        raise KitError(f"slowdown must be a number > 1, got {slowdown!r}")
    if reference_sittings > reference_runs:
        raise KitError(f"reference_sittings ({reference_sittings}) cannot exceed reference_runs ({reference_runs}): "
                       "each sitting makes at least one run")
    for op in operations:
        _registry.operation(op)  # ValueError naming the valid operations
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if run is None:
            base = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-drill-")))

            def run(**kw: Any) -> dict[str, Any]:
                # The probe keeps its own results and stored choices, so the reference starts afresh.
                return score_run(base / "probe" if kw.pop("probe", False) else base, operations, sizes, **kw)

            ref_path = base / "reference.json"
        else:
            ref_path = None
        spreads: dict[str, float] = {}
        chosen_by = "given" if target else "slowest call"
        if target is None and probe_runs:
            say(f"probe: {probe_runs} runs, to choose the backend to slow down")
            target, spreads = steadiest_target(run(runs=probe_runs, probe=True))
            chosen_by = "steadiest" if target else chosen_by
        per_sitting = [reference_runs // reference_sittings + (j < reference_runs % reference_sittings)
                       for j in range(reference_sittings)]
        say(f"reference: {reference_runs} pooled runs" + (f" in {reference_sittings} sittings, the first "
                                                            f"{per_sitting[0]} now" if reference_sittings > 1 else ""))
        ref = run(runs=per_sitting[0], as_reference=True)
        attempts = 1
        while attempts < reference_attempts and contention_of(ref)["level"] == "contended":
            attempts += 1
            say(f"the reference was measured under contention; making it again ({attempts}/{reference_attempts})")
            ref = run(runs=per_sitting[0], as_reference=True)
        if ref_path is not None:
            # Each run's hardware index (for the coverage) is against this first sitting, which stays put;
            # the validations, at the end, are against the whole reference.
            ref_path.write_text(json.dumps(ref))
        target = target or _auto_target(ref)
        slowed_spec = {target: float(slowdown)}
        quiet: list[dict[str, Any]] = []
        slowed: list[dict[str, Any]] = []
        unchanged: list[dict[str, Any]] = []
        pooled = {} if trial_runs == 1 else {"runs": trial_runs}
        n_quiet = max(runs, trials) if trial_runs == 1 else runs
        rounds = max(n_quiet, trials)
        # The later sittings, spread evenly over the rounds, the last after them all.
        later = {j: round(j * rounds / (reference_sittings - 1)) for j in range(1, reference_sittings)}

        def sitting(j: int) -> dict[str, Any]:
            say(f"reference sitting {j + 1}/{reference_sittings}: {per_sitting[j]} more run"
                + ("s" if per_sitting[j] > 1 else ""))
            return run(runs=per_sitting[j], as_reference=True, extend=True)

        for i in range(rounds):
            for j in sorted(j for j, at in later.items() if at == i):
                ref = sitting(j)
            if i < n_quiet:
                say(f"quiet run {i + 1}/{n_quiet}")
                quiet.append(run(reference=ref_path))
            if i < trials:
                if trial_runs > 1:
                    say(f"unchanged trial {i + 1}/{trials} ({trial_runs} runs)")
                    unchanged.append(run(reference=ref_path, **pooled))
                say(f"slowed trial {i + 1}/{trials} ({target} x{slowdown:g}"
                    + (f", {trial_runs} runs)" if trial_runs > 1 else ")"))
                slowed.append(run(reference=ref_path, slowdown=slowed_spec, **pooled))
        for j in sorted(j for j, at in later.items() if at >= rounds):
            ref = sitting(j)
        busy_runs: list[dict[str, Any]] = []
        busy_slowed: list[dict[str, Any]] = []
        if loaded:
            with busy():
                for i in range(loaded):
                    say(f"loaded run {i + 1}/{loaded}, beside a busy core")
                    busy_runs.append(run(reference=ref_path))
                    busy_slowed.append(run(reference=ref_path, slowdown=slowed_spec))
    seconds = time.perf_counter() - t0
    figures = _figures(ref, quiet, slowed, busy_runs, busy_slowed, target=target, slowdown=float(slowdown),
                       trials=trials, operations=list(operations), seconds=seconds, validate=validate,
                       unchanged=unchanged or None)
    figures["reference_attempts"] = attempts
    figures["target_choice"] = {"by": chosen_by, "probe_runs": probe_runs if spreads else 0, "spreads": spreads}
    figures["runs"]["trial_runs"] = trial_runs
    figures["runs"]["reference_sittings"] = reference_sittings
    return figures


def _verdicts(pairs: Sequence[tuple[Any, Any]], validate: Callable[..., Any], target: str | None = None,
              faithful: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts of the verdicts of ``validate(a, b)`` for each pair; with ``target`` (``"operation:backend"``),
    ``"target_flagged"`` counts the FAILs among whose regressions the target is, in one of the
    ``faithful`` classes (``"size kind"``; all where ``None``), and ``"target_flagged_any"`` in any class."""
    vs = [validate(a, b) for a, b in pairs]
    count = Counter(v.verdict for v in vs)
    out = {"PASS": count["PASS"], "FAIL": count["FAIL"], "INCONCLUSIVE": count["INCONCLUSIVE"], "n": len(vs),
           "names_load": sum(1 for v in vs if "contention" in v.reason or "load" in v.reason),
           "reasons": [v.summary for v in vs]}
    op, _, backend = (target or "").partition(":")
    # Per selected backend and class, the median change the noise let the test see (the smallest it
    # could call a regression); per class of the target, also the median change seen.
    sees: dict[str, list[float]] = {}
    seen: dict[str, list[tuple[float, float]]] = {}
    for v in vs:
        for c in v.comparisons:
            if c.detectable is None:
                continue
            if c.selected and c.counted:
                sees.setdefault(f"{c.operation} {c.size} {c.kind} {c.backend}", []).append(c.detectable)
            if (c.operation, c.backend) == (op, backend):
                seen.setdefault(f"{c.size} {c.kind}", []).append((c.ratio, c.detectable))
    out["detectable"] = {k: statistics.median(xs) for k, xs in sorted(sees.items())}
    if target is not None:
        def named(v: Any, classes: Sequence[str] | None) -> bool:
            return v.verdict == "FAIL" and any(c.operation == op and c.backend == backend and (
                classes is None or f"{c.size} {c.kind}" in classes) for c in v.regressions)

        out["target_flagged"] = sum(1 for v in vs if named(v, faithful))
        out["target_flagged_any"] = sum(1 for v in vs if named(v, None))
        out["target_changes"] = {k: {"ratio": statistics.median(r for r, _ in xs),
                                     "detectable": statistics.median(d for _, d in xs)} for k, xs in seen.items()}
    return out


def _figures(ref: dict[str, Any], quiet: list[dict[str, Any]], slowed: list[dict[str, Any]],
             busy_runs: list[dict[str, Any]], busy_slowed: list[dict[str, Any]], *, target: str, slowdown: float,
             trials: int, operations: list[str], seconds: float, validate: Callable[..., Any],
             unchanged: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The drill's figures from its records (dicts); see :func:`noise_drill`."""
    fq = [run_figures(r) for r in quiet]
    fl = [run_figures(r) for r in busy_runs]
    out: dict[str, Any] = {"operations": operations, "target": target, "slowdown": slowdown,
                           "clock": os.environ.get("KIT_CLOCK", "wall"), "seconds": seconds,
                           "runs": {"reference": ref.get("runs"), "quiet": len(quiet), "slowed": len(slowed),
                                    "loaded": len(busy_runs)},
                           "contention": {"reference": run_figures(ref)["contention"],
                                          "quiet": dict(Counter(f["contention"] for f in fq)),
                                          "loaded": dict(Counter(f["contention"] for f in fl))}}
    cov = {}
    for what in ("index", "score"):
        est = [f[what] for f in fq if f[what] is not None]
        if est:
            frac, center = coverage(est)
            cov[what] = {"coverage": frac, "median": center, "runs": len(est),
                         "values": [e[0] for e in est]}
    out["coverage"] = cov
    load: dict[str, Any] = {}
    for what in ("score", "index"):
        q = [f[what][0] for f in fq if f[what] is not None]
        b = [f[what][0] for f in fl if f[what] is not None]
        load[what] = shift(q, b)
    cats = sorted({c for f in fq + fl for c in f["categories"]})
    load["categories"] = {c: shift([f["categories"][c][0] for f in fq if c in f["categories"]],
                                   [f["categories"][c][0] for f in fl if c in f["categories"]]) for c in cats}
    out["load_shift"] = load
    out["selection"] = selection_changes(quiet)
    out["realised_slowdown"] = realised = realised_slowdown(quiet, slowed, target)
    # A detection counts in a class where the slowdown came out as injected: on calls of a few
    # microseconds the wrapper's own clock reads make 1.25x into 1.6x, which any test sees.
    faithful = sorted(k for k, x in realised.items() if x <= slowdown * FAITHFUL) if realised else None
    out["faithful_classes"] = faithful
    out["verdicts"] = {
        "quiet_vs_quiet": _verdicts(list(zip(quiet[1:], quiet[:-1])), validate),
        "loaded_vs_quiet": _verdicts(list(zip(busy_runs, quiet)), validate),
        "slowed_vs_reference": _verdicts([(r, ref) for r in slowed[:trials]], validate, target, faithful),
        "unchanged_vs_reference": _verdicts([(r, ref) for r in (unchanged or quiet)[:trials]], validate),
        "loaded_slowed_vs_reference": _verdicts([(r, ref) for r in busy_slowed], validate),
    }
    v = out["verdicts"]
    # A detection is a FAIL that names the slowed backend; a FAIL on another measurement is a false alarm
    # that happened to coincide.
    out["detection"] = {"flagged": v["slowed_vs_reference"]["target_flagged"], "trials": v["slowed_vs_reference"]["n"],
                        "fail": v["slowed_vs_reference"]["FAIL"],
                        "flagged_any_class": v["slowed_vs_reference"]["target_flagged_any"]}
    out["false_alarms"] = {"flagged": v["unchanged_vs_reference"]["FAIL"], "trials": v["unchanged_vs_reference"]["n"]}
    return out


# --- printing -----------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1%}"


def _counts(v: Mapping[str, Any]) -> str:
    return (f"{v['PASS']} PASS, {v['FAIL']} FAIL, {v['INCONCLUSIVE']} INCONCLUSIVE of {v['n']}"
            if v["n"] else "none run")


def format_figures(f: Mapping[str, Any]) -> str:
    """The drill's figures as tables that fit 100 columns.

    Examples
    --------
    >>> print(format_figures(noise_drill(runs=2, trials=1, loaded=0)))  # doctest: +SKIP
    """
    cov = f["coverage"]
    v = f["verdicts"]
    rows = []
    for what, label in (("index", "hardware index"), ("score", "score")):
        c = cov.get(what)
        rows.append([f"{label}: interval coverage (>= 90%)",
                     "n/a" if c is None else f"{c['coverage']:.0%} of {c['runs']} quiet runs; median {c['median']:.3g}, "
                                             f"range {min(c['values']):.3g}-{max(c['values']):.3g}"])
    ls = f["load_shift"]
    rows.append(["shift under load", f"score {_pct(ls['score'])}, hardware index {_pct(ls['index'])}"])
    for c, x in ls["categories"].items():
        rows.append([f"shift under load: {c}", _pct(x)])
    sel = f["selection"]
    rows.append(["selection: classes that changed", f"{len(sel['changed'])} of {sel['classes']} "
                 f"({sel['changes']} changes between consecutive runs)"])
    rows.append(["  of them > 10% apart (0)", str(len(sel["clear_changed"]))])
    rows.append(["selected below 1x (0)", str(len(sel["below_one"]))])
    rows.append(["quiet vs quiet (never FAIL)", _counts(v["quiet_vs_quiet"])])
    lq = v["loaded_vs_quiet"]
    rows.append(["loaded vs quiet (never FAIL)", _counts(lq)])
    rows.append(["  of them naming the load (all)", f"{lq['names_load']} of {lq['n']}"])
    d, fa = f["detection"], f["false_alarms"]
    sv, uv = v["slowed_vs_reference"], v["unchanged_vs_reference"]
    anyc = d.get("flagged_any_class", d["flagged"])  # FAILs naming the target in any class
    rows.append([f"detection, {f['target']} x{f['slowdown']:g} (19 of 20)",
                 f"{d['flagged']} of {d['trials']} FAIL naming it"
                 + (f" ({d['fail'] - anyc} FAIL on others)" if d.get("fail", anyc) > anyc else "")
                 + f"; {sv['PASS']} PASS, {sv['INCONCLUSIVE']} INCONCLUSIVE"])
    if f.get("faithful_classes") is not None:
        rows.append(["  counted in the classes slowed as injected",
                     (", ".join(f["faithful_classes"]) or "none")
                     + f" (x{f['slowdown'] * FAITHFUL:.3g} at most; {d.get('flagged_any_class', d['flagged'])} "
                       "naming it in any class)"])
    tc = f.get("target_choice") or {}
    if tc.get("by") == "steadiest" and tc.get("spreads"):
        others = sorted((k for k in tc["spreads"] if k != f["target"]), key=tc["spreads"].__getitem__)
        rows.append([f"  chosen: steadiest of {tc['probe_runs']} probe runs",
                     "; ".join(f"{k} {tc['spreads'][k]:.1%}" for k in [f["target"], *others][:3])
                     + " run-to-run sd"])
    for cls, x in sorted((sv.get("target_changes") or {}).items()):
        rows.append([f"  {cls}: seen / detectable", f"{x['ratio']:.2f}x slower (median) / {x['detectable']:.0%} "
                     "(the smallest change its noise lets the test see)"])
    real = f.get("realised_slowdown") or {}
    if real:
        rows.append([f"  realised x{f['slowdown']:g} (median times)", ", ".join(f"{k} {x:.2f}x" for k, x in real.items())])
    rows.append(["false alarms, unchanged (1 of 20 at most)",
                 f"{fa['flagged']} of {fa['trials']} FAIL; {uv['PASS']} PASS, {uv['INCONCLUSIVE']} INCONCLUSIVE"])
    rows.append(["slowed under load (never PASS)", _counts(v["loaded_slowed_vs_reference"])])
    seeable = uv.get("detectable") or {}
    if seeable:
        ranked = sorted(seeable.items(), key=lambda kv: kv[1])
        within = sum(1 for _, x in ranked if x <= f["slowdown"] - 1)
        rows.append([f"selected classes where x{f['slowdown']:g} is detectable",
                     f"{within} of {len(ranked)} (the smallest change the noise lets the test see, median)"])
        for k, x in ranked[:3] + (ranked[-2:] if len(ranked) > 5 else ranked[3:]):
            rows.append([f"  {k}", f"{x:.0%}"])
    runs = f["runs"]
    con = f["contention"]
    notes = [f"{len(f['operations'])} operations ({', '.join(f['operations'])}), quick preset, {f['clock']} clock; "
             f"reference of {runs['reference']} runs in {runs.get('reference_sittings', 1)} sitting"
             + ("s" if runs.get("reference_sittings", 1) > 1 else "") + f", {runs['quiet']} quiet runs, {runs['slowed']} slowed and "
             + (f"{runs['slowed']} unchanged trials of {runs['trial_runs']} runs each, "
                if runs.get("trial_runs", 1) > 1 else "")
             + f"{runs['loaded']} + {runs['loaded']} loaded runs, each run a fresh kit score process; "
             f"{f['seconds']:.0f} s.",
             "contention: reference " + con["reference"] + "; quiet runs "
             + (", ".join(f"{n} {k}" for k, n in sorted(con["quiet"].items())) or "none") + "; loaded runs "
             + (", ".join(f"{n} {k}" for k, n in sorted(con["loaded"].items())) or "none") + ".",
             "coverage: the fraction of runs whose 95% interval contains the median of all runs' estimates; "
             "shift: median loaded run against median quiet run."]
    if f.get("reference_attempts", 1) > 1:
        notes.append(f"the reference was made {f['reference_attempts']} times: the earlier ones were contended.")
    if con["reference"] == "contended":
        notes.append("the reference was measured under contention, so every validation against it is "
                     "INCONCLUSIVE: the detection and false-alarm figures need a quieter machine.")
    tables = [Table("kit drill noise", ["figure (target)", "measured"], rows, notes, align="ll")]
    if sel["changed"]:
        tables.append(Table("classes whose choice changed", ["class", "choices, run by run"],
                            [[k, " ".join(seq)] for k, seq in sel["changed"].items()], align="ll"))
    return "\n\n".join(str(t) for t in tables)
