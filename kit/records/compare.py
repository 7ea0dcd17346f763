"""Comparing a run with a reference record: :func:`validate` and its answer, PASS, FAIL or INCONCLUSIVE.

:func:`validate` answers, with the reason, one of two questions: on the same machine, *did its
software regress?* (operation by operation: a two-sided Mann–Whitney U test on the raw per-call
times, p below ``alpha``, 0.002 as in asv, a run-to-run test where a record pooled several runs, and a
minimum effect size, median time ratio beyond ``1 + min_effect``; where the samples are too few for
the U test to reach ``alpha`` at all, non-overlapping 95% CIs of the medians replace it); on another
machine, *does it perform like the reference?* (the hardware index, :mod:`kit.scoring.formula`,
against a tolerance). The verdict and its tables are :class:`kit.records.verdict.Validation`; the
exit status of ``kit validate`` is 0, 1, 3.

Examples
--------
>>> from kit.records.compare import validate
>>> v = validate("results/kit/latest.json", against="results/kit/reference.json")  # doctest: +SKIP
>>> v.verdict, v.exit_code  # doctest: +SKIP
('PASS', 0)
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Mapping, Sequence

from kit._paths import results_dir
from kit.errors import KitError
from kit.records.contention import contention_of, was_busy
from kit.records.store import SCHEMA_VERSION, Record, RecordError, as_record, find_reference
from kit.records.verdict import (ALPHA, FASTER_HERE, IMPROVEMENT, MIN_EFFECT, QUESTIONS, REGRESSION, RUN_ALPHA,
                                 SAME, SLOWER_HERE, TOLERANCE, Comparison, Validation)
from kit.scoring.formula import hardware_index_of
from kit.stats import (bootstrap_ci, lower_quartile, mann_whitney_u, min_p_value, moderated_run_tests, run_shift_test,
                       sitting_tests)

__all__ = ["SCOPES", "validate"]


def _key(m: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (m["operation"], m["size"], m["kind"], m["backend"])


def _run_medians(m: Mapping[str, Any]) -> list[float]:
    """The median of each run of a stored measurement (one run for records without ``run_medians_s``)."""
    runs = m.get("run_medians_s")
    return list(runs) if runs else [statistics.median(m["raw_s"])]


def _run_lows(m: Mapping[str, Any]) -> list[float] | None:
    """The lower quartile of each run's samples of a stored measurement; ``None`` where a record of
    several runs did not keep them (made before ``run_q25_s``)."""
    if m.get("run_q25_s"):
        return list(m["run_q25_s"])
    return None if m.get("run_medians_s") else [lower_quartile(m["raw_s"])]


def _keeps_lows(rec: Record) -> bool:
    return all(_run_lows(m) is not None for m in rec.measurements)


def _run_figures(m: Mapping[str, Any], lows: bool) -> list[float]:
    return (_run_lows(m) or []) if lows else _run_medians(m)


def _normalised(rec: Record, lows: bool = False) -> tuple[dict[tuple[str, str, str, str], list[float]],
                                                             dict[tuple[str, str, str, str], list[float]]]:
    """Each backend's samples divided by its class's baseline median in the same run, and its run
    figures (medians, or lower quartiles) by the baseline's."""
    base = {(m["operation"], m["size"], m["kind"]): m for m in rec.measurements if m.get("baseline")}
    samples, runs = {}, {}
    for m in rec.measurements:
        b = base.get((m["operation"], m["size"], m["kind"]))
        if b and not m.get("baseline"):
            bm = statistics.median(b["raw_s"])
            samples[_key(m)] = [x / bm for x in m["raw_s"]]
            mine, theirs = _run_figures(m, lows), _run_figures(b, lows)
            runs[_key(m)] = ([x / y for x, y in zip(mine, theirs)] if len(mine) == len(theirs)
                             else [statistics.median(samples[_key(m)])])
    return samples, runs


def _selected_classes(rec: Record) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """``{(operation, size, kind): the selected backend's measurement}`` of the classes with a baseline."""
    base = {(m["operation"], m["size"], m["kind"]) for m in rec.measurements if m.get("baseline")}
    return {(m["operation"], m["size"], m["kind"]): m for m in rec.measurements
            if m.get("selected") and (m["operation"], m["size"], m["kind"]) in base}


def _speed_per_run(classes: Sequence[Mapping[str, Any]]) -> list[float]:
    """The machine's time per byte in each run: geometric mean over ``classes`` of their run medians.

    The runs of one record line up (run ``i`` of every measurement came from the same process);
    where they do not, the record counts as one run.
    """
    series = [[t / (m.get("nbytes") or 1) for t in _run_medians(m)] for m in classes]
    lengths = {len(s) for s in series}
    if len(lengths) != 1:
        series = [[statistics.median(s)] for s in series]
    n = len(series[0])
    return [math.exp(statistics.fmean(math.log(s[i]) for s in series)) for i in range(n)]


def _per_sitting(rec: Record, values: list[float]) -> list[float]:
    """Per-run figures reduced to one per sitting (the geometric mean of its runs)."""
    return [math.exp(statistics.fmean(math.log(x) for x in g)) for g in rec.run_groups(values)]


def _machine_runs(rec: Record, ref: Record, run_alpha: float) -> tuple[Any, str | None]:
    """The machine's overall speed here against the reference (``RunTest`` or None), and its unit.

    Sitting by sitting where either record spans several sittings, else run by run.
    """
    here, there = _selected_classes(rec), _selected_classes(ref)
    common = sorted(set(here) & set(there))
    if not common:
        return None, None
    a, b = _speed_per_run([there[k] for k in common]), _speed_per_run([here[k] for k in common])
    sa, sb = _per_sitting(ref, a), _per_sitting(rec, b)
    if len(sa) > 1 or len(sb) > 1:
        return run_shift_test(sa, sb, run_alpha), "sitting"
    test = run_shift_test(a, b, run_alpha)
    return test, None if test is None else "run"


def _samples_differ(ref: Sequence[float], new: Sequence[float], alpha: float,
                    ref_ci: tuple[float, float] | None, new_ci: tuple[float, float] | None) -> tuple[bool, float | None, str]:
    """Whether two runs' per-call samples differ: Mann–Whitney U, or CIs apart when too few for U."""
    if min_p_value(len(ref), len(new)) < alpha:
        _, p = mann_whitney_u(new, ref)
        return p < alpha, p, "Mann-Whitney U"
    a = ref_ci or bootstrap_ci(list(ref))
    b = new_ci or bootstrap_ci(list(new))
    return (b[0] > a[1] or b[1] < a[0]), None, "95% CIs apart (too few samples for U)"


def _verdict(significant: bool, ratio: float, min_effect: float, counted: bool = True) -> str:
    if significant and ratio >= 1 + min_effect:
        return REGRESSION if counted else SLOWER_HERE
    if significant and ratio <= 1 / (1 + min_effect):
        return IMPROVEMENT if counted else FASTER_HERE
    return SAME


_MACHINE_FIELDS = ("cpu", "cores", "machine", "os", "python", "gpu")


SCOPES = ("selected", "all")


def validate(record: Any, against: Any = None, *, alpha: float = ALPHA, min_effect: float = MIN_EFFECT,
             relative: bool = True, scope: str = "selected", run_alpha: float = RUN_ALPHA,
             question: str | None = None, tolerance: float = TOLERANCE) -> Validation:
    """Compare a run with a reference record and answer PASS, FAIL or INCONCLUSIVE, with the reason.

    The verdict answers one of two questions, chosen from the two records' machine fingerprints
    (CPU, cores, architecture, OS, Python, GPU: one differing field makes another machine, as a
    cloud VM's CPU model alone does not tell two hosts apart) unless ``question`` names it:

    **software** (the same machine): *did this machine's software regress?* A measurement
    (operation × size × kind × backend) is a **regression** when both hold:

    1. its per-call times in this run are significantly slower than the reference's (two-sided
       Mann–Whitney U, ``p < alpha``, as asv) — or, where either record pooled several runs
       (``kit score --runs``; a reference made with ``--as-reference`` has 5), instead of that,
       the shift of the run figures is significant against the measurement's run-to-run noise
       (moderated t test on log run figures, ``p < run_alpha``, see
       :func:`kit.stats.moderated_run_tests`): calls within one process agree with each other
       more than processes do, so the per-call test flags the difference between two processes
       as a regression, and where runs are known the run is the unit. Where either record spans
       several sittings (a reference extended with ``kit score --as-reference --extend``), the
       **sitting** is the unit instead (:func:`kit.stats.sitting_tests`): a shared machine drifts by
       tens of percent for minutes, which runs made in one go cannot show; where both records were
       made in one sitting each, a shift beyond the run-to-run noise makes the verdict INCONCLUSIVE
       with that reason, not FAIL;
    2. its median is at least ``1 + min_effect`` times the reference's (where runs or sittings
       decide, its run figure is).

    A run's figure is the lower quartile of its samples over its class baseline's
    (``run_q25_s``, :func:`kit.stats.lower_quartile`): it moves less between runs and sittings than the
    median (docs/measurement.md). Records made before it was kept compare run medians, and say so.

    An **improvement** likewise the other way. FAIL on a regression that counts, or on the machine
    slower overall (hardware index's CI wholly below ``1 / (1 + min_effect)``, and the machine's
    speed run by run significantly slower, :func:`kit.stats.run_shift_test`). INCONCLUSIVE, never
    FAIL, when the run-to-run noise is unknown (neither record pooled several runs) and something
    looks slower, and whenever either record was measured under contention
    (:func:`contention_of` says ``"contended"``): a slowdown cannot then be told from the load, and
    the reason names it. Otherwise PASS.

    **hardware** (another machine): *does this machine perform like the reference?* The hardware
    index (throughput here over the reference's, per category and overall; its interval widened to
    the run-to-run noise where the records pooled runs) against ``tolerance``: FAIL when the
    overall interval, or a category's, lies wholly below ``1 - tolerance``, or when the tiers
    differ with the scores' CIs apart; INCONCLUSIVE when the overall interval straddles
    ``1 - tolerance`` or a contended record could explain a shortfall; else PASS. Speed-ups differ
    between machines by design, so every per-operation difference is shown (:attr:`Validation.differences`),
    never counted.

    By default only the measurements kit's score is made of count (``scope="selected"``: every
    baseline and every backend selected in either record); the other backends are compared and
    listed as other changes, and count with ``scope="all"``. Measurements present in only one
    record are listed, not compared.

    Parameters
    ----------
    record : Record, ScoreResult, dict or path
        The run to check.
    against : Record, dict or path, optional
        The reference (default: :func:`find_reference`).
    alpha : float
        Significance level (asv's 0.002 by default).
    min_effect : float
        Minimum relative change of the median that counts (0.10: 10%).
    relative : bool
        Compare each backend's time relative to its class's baseline in the same run (the default):
        is each library as far ahead of the standard library as in the reference? A shift of the
        machine's state that slows a whole payload class (measured here: a memory-heavy class 35%
        slower a few minutes after the reference, on an unchanged kit) cancels, as does the hardware
        difference between two machines; the machine's overall speed is checked by the hardware
        index instead. ``False`` compares absolute times per measurement, baselines included, for a
        dedicated quiet machine.
    scope : {"selected", "all"}
        Which measurements decide the verdict (see above).
    run_alpha : float
        Significance level of the run-to-run tests (0.01).
    question : {"software", "hardware"}, optional
        Which question to answer (default: from the machine fingerprints).
    tolerance : float
        The hardware question's tolerance (:data:`TOLERANCE`, 0.20: at most 20% slower).

    Returns
    -------
    Validation
        ``.verdict`` (PASS, FAIL, INCONCLUSIVE), ``.reason``, ``.question``, ``.exit_code`` (0, 1, 3).

    Examples
    --------
    >>> import kit
    >>> v = kit.validate("results/kit/latest.json", against="results/kit/reference.json")  # doctest: +SKIP
    >>> v.verdict, v.exit_code, v.reason  # doctest: +SKIP
    ('PASS', 0, 'no measurement slower beyond the sitting-to-sitting noise (24 compared, typical ...)')
    """
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a float in (0, 1), got {alpha!r}")
    if not (isinstance(min_effect, (int, float)) and min_effect >= 0):
        raise ValueError(f"min_effect must be a number >= 0, got {min_effect!r}")
    if not (isinstance(run_alpha, float) and 0 < run_alpha < 1):
        raise ValueError(f"run_alpha must be a float in (0, 1), got {run_alpha!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if question is not None and question not in QUESTIONS:
        raise ValueError(f"question must be one of {', '.join(QUESTIONS)}, got {question!r}")
    if not (isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and 0 <= tolerance < 1):
        raise ValueError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
    rec = as_record(record)
    if against is None:
        found = find_reference(machine_id=rec.machine_id, preset=rec.data.get("preset"))
        if found is None:
            raise RecordError(f"{results_dir()}: no reference record (reference-*.json) to validate against; "
                              f"give one with against=")
        against = found
    ref = as_record(against)
    md = [(f, ref.machine.get(f), rec.machine.get(f)) for f in _MACHINE_FIELDS
          if ref.machine.get(f) != rec.machine.get(f)]
    asked = question or ("hardware" if md else "software")
    notes: list[str] = []
    for r, label in ((rec, "record"), (ref, "reference")):
        if r.migrated_from is not None:
            notes.append(f"the {label} was migrated from schema version {r.migrated_from} to {SCHEMA_VERSION}")
        if r.data.get("injected_slowdown"):
            notes.append(f"the {label} was measured with an injected slowdown: {r.data['injected_slowdown']}")
    if rec.data.get("preset") != ref.data.get("preset"):
        notes.append(f"presets differ (reference {ref.data.get('preset')!r}, here {rec.data.get('preset')!r}): "
                     "times per call are compared, but the scores and tiers cover different payload classes")
    contention = {"record": contention_of(rec), "reference": contention_of(ref)}
    busy = [(sum(1 for m in r.measurements if was_busy(m)),
             len(r.measurements), label) for r, label in ((ref, "the reference"), (rec, "this record"))]
    if any(b for b, _, _ in busy) and not relative:
        notes.append("busy machine (load above 0.8 per core) during "
                     + " and ".join(f"{b}/{n} measurements of {label}" for b, n, label in busy)
                     + ": absolute times then say more about the load than about the code")
    # The run-to-run tests compare each run's lower quartile where both records kept it: time lost to
    # other work only ever adds, so a low quantile of a run's samples moves less between runs and
    # sittings than their median (docs/measurement.md); older records compare run medians.
    lows = _keeps_lows(rec) and _keeps_lows(ref)
    if relative:
        (mine, runs_mine), (theirs, runs_theirs) = _normalised(rec, lows), _normalised(ref, lows)
        notes.append("times relative to each run's baseline (the baselines themselves are not compared)")
    else:
        mine = {_key(m): m["raw_s"] for m in rec.measurements}
        theirs = {_key(m): m["raw_s"] for m in ref.measurements}
        runs_mine = {_key(m): _run_figures(m, lows) for m in rec.measurements}
        runs_theirs = {_key(m): _run_figures(m, lows) for m in ref.measurements}
    info_here = {_key(m): m for m in rec.measurements}
    info_ref = {_key(m): m for m in ref.measurements}
    common = sorted(set(mine) & set(theirs))
    # The unit is the sitting where one record spans several (drift that lasts minutes is then known),
    # else the run; per call only where neither record pooled runs.
    run_tests, run_noise = sitting_tests({" ".join(k): ref.run_groups(runs_theirs[k]) for k in common},
                                         {" ".join(k): rec.run_groups(runs_mine[k]) for k in common}, run_alpha)
    unit = "sitting" if run_tests else None
    if not run_tests:
        run_tests, run_noise = moderated_run_tests({" ".join(k): runs_theirs[k] for k in common},
                                                   {" ".join(k): runs_mine[k] for k in common}, run_alpha)
        unit = "run" if run_tests else None
    if unit is not None and not lows and asked == "software":
        notes.append(f"{unit} by {unit}, run medians are compared: a record predates the runs' lower quartiles, "
                     "which move less between sittings (re-make the reference to compare them)")
    if unit == "run" and asked == "software":
        notes.append("each record was made in one sitting, so how far the machine drifts between sittings is "
                     "unknown: a measurement slower beyond the run-to-run noise makes the verdict INCONCLUSIVE, "
                     "not FAIL; extend the reference in a later session (`kit score --as-reference --extend`)")
    if not run_tests and asked == "software":
        notes.append("neither record pooled several runs, so the run-to-run noise is unknown: a measurement "
                     "slower per call makes the verdict INCONCLUSIVE, not FAIL (two processes differ by more "
                     "than their calls do); record the reference with `kit score --as-reference` (5 runs)")
    if asked == "hardware":
        counted_keys: set[tuple[str, str, str, str]] = set()
        notes.append("another machine: speed-ups differ between machines by design, so per-operation "
                     "differences are shown as information; the hardware index decides")
    else:
        counted_keys = {k for k in common if scope == "all" or info_here[k].get("baseline")
                        or info_here[k].get("selected") or info_ref[k].get("selected")}
    comps = []
    for key in common:
        a, b = theirs[key], mine[key]
        ci_a = ci_b = None
        if not relative:
            ci_a = _ci_of(info_ref[key])
            ci_b = _ci_of(info_here[key])
        ratio = statistics.median(b) / statistics.median(a)
        significant, p, method = _samples_differ(a, b, alpha, ci_a, ci_b)
        rt = run_tests.get(" ".join(key))
        if rt is not None:
            # The unit is the run: with runs on either side, their test decides, not the per-call test
            # (the calls of one process share its state, so their p says little either way).
            significant = rt.p < run_alpha
            method = f"{unit}-to-{unit} t"
            if lows:  # the effect is measured as it is tested: on each run's lower quartile
                ratio = math.exp(rt.shift)
                method += " on each run's lower quartile"
        counted = key in counted_keys
        comps.append(Comparison(*key, ref_median=statistics.median(a), median=statistics.median(b), ratio=ratio,
                                p_value=p, method=method,
                                verdict=_verdict(significant, ratio, min_effect, counted or asked == "software"),
                                n_ref=len(a), n=len(b), selected=bool(info_here[key].get("selected")),
                                counted=counted, run_p=None if rt is None else rt.p,
                                detectable=None if rt is None else rt.detectable,
                                runs_ref=len(runs_theirs[key]), runs=len(runs_mine[key])))
    only_here = sorted(" ".join(k) for k in set(mine) - set(theirs))
    only_ref = sorted(" ".join(k) for k in set(theirs) - set(mine))
    libs_a, libs_b = ref.data.get("libraries") or {}, rec.data.get("libraries") or {}
    ld = [(k, libs_a.get(k), libs_b.get(k)) for k in sorted(set(libs_a) | set(libs_b)) if libs_a.get(k) != libs_b.get(k)]
    if ref.data.get("kit_version") != rec.data.get("kit_version"):
        ld.insert(0, ("kit", ref.data.get("kit_version"), rec.data.get("kit_version")))
    if md and asked == "software":
        notes.append("the machines differ (" + ", ".join(f for f, _, _ in md) + ") and the software question is "
                     "asked: per measurement; the machine's overall speed is not judged")
    elif md and all(f in ("os", "python") for f, _, _ in md):
        notes.append("only the " + " and ".join(f for f, _, _ in md) + (" differ" if len(md) > 1 else " differs")
                     + ": to ask whether an upgrade "
                     "slowed kit's libraries, validate with question='software' (--question software)")
    elif not md and asked == "hardware":
        notes.append("the same machine, and the hardware question is asked: the hardware index decides")
    hw = None
    try:
        hw = hardware_index_of(rec, ref)
    except KitError as exc:
        notes.append(str(exc))
    machine_runs, machine_unit = _machine_runs(rec, ref, run_alpha)
    machine_slower = bool(hw is not None and not md and asked == "software" and hw.ci[1] < 1 / (1 + min_effect))
    if machine_slower:
        notes.append(f"this machine is slower overall than when the reference was made: hardware index "
                     f"{hw.value:.2f} [{hw.ci[0]:.2f}, {hw.ci[1]:.2f}], below {1 / (1 + min_effect):.2f}"
                     + ("" if machine_runs is None else f" ({machine_unit} by {machine_unit}: p = {machine_runs.p:.2g})"))
    return Validation(rec.name, ref.name, comps, only_here, only_ref, alpha, float(min_effect), relative,
                      rec.tier, ref.tier, rec.score, ref.score, md, ld, hw, notes, scope, run_noise, run_alpha,
                      machine_slower, question=asked, question_given=question is not None,
                      tolerance=float(tolerance), contention=contention, machine_runs=machine_runs,
                      unit=unit, machine_unit=machine_unit, sittings_ref=len(ref.sittings),
                      sittings=len(rec.sittings),
                      score_ci=_score_ci(rec), reference_score_ci=_score_ci(ref))


def _score_ci(rec: Record) -> tuple[float, float] | None:
    ci = (rec.data.get("score") or {}).get("ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        return (float(ci[0]), float(ci[1]))
    return None


def _ci_of(m: Mapping[str, Any]) -> tuple[float, float] | None:
    lo, hi = m.get("ci_low_s"), m.get("ci_high_s")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        return (float(lo), float(hi))
    return None
