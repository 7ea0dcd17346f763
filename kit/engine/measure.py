"""Calibrated, interleaved timing and its statistics, in the manner of pyperf.

One *sample* is the mean time per call over a calibrated inner loop of at
least ``min_time`` seconds. Contenders are measured interleaved, round by
round, in rotating order, so a burst of load hits all of them alike. Results
carry the median, a 95% interval of the median, the coefficient of variation,
the throughput in bytes/s, and warnings when they look unstable.

Each sample also records how much CPU the measuring thread got while it ran
(``cpu_share``: CPU time over CPU time plus run-queue wait, from Linux's
``/proc/thread-self/schedstat``; thread CPU time over wall time elsewhere). On
the wall clock a sample whose thread got less than :data:`LOST_SHARE` of a CPU
*lost the CPU* to another task: it is left out of the statistics and kept
apart (``lost``), and its round is taken again, within a bound; when too few
samples keep the CPU, each counts less its run-queue wait. Measured on a 2-core
machine beside a busy loop, this kept the median of a single-threaded
operation within 1–3% of its quiet value where the plain wall-clock median
moved by 80% or more (``docs/measurement.md`` gives the figures and the
command). A contender's own worker threads are seen (the process's CPU time
outgrows the thread's) and its samples are then left as they are.

Examples
--------
>>> from kit.engine.measure import compare
>>> res = compare({"sum": lambda: sum(range(100))}, nbytes=800, min_time=0.001, samples=5)
>>> res["sum"].median > 0
True
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

# The clocks a measurement can read (``wall``, ``thread``; ``KIT_CLOCK`` picks one). The table is the
# configuration's, which checks the variable; it is the same dict here (kit.engine.measure.CLOCKS).
from kit import stats as _stats
from kit.config import CLOCKS, ConfigError

CV_LIMIT = 0.10
OUTLIER_LIMIT = 0.50
BUSY_LOAD = 0.8
#: Other runnable tasks per core (:func:`other_tasks`) from which a run's machine reads as lightly loaded.
OTHERS_LIGHT = 0.5
#: A sample whose thread got less of a CPU than this lost it to another task (see the module notes).
LOST_SHARE = 0.9
#: A median whose 95% sampling interval reaches further than this from it is flagged unstable.
UNSTABLE_HALF_WIDTH = 0.05
#: Fewest samples statistics use; with fewer that kept the CPU, a measurement uses all of them.
MIN_KEPT = 3

#: (min_time per sample in s, samples, time budget per contender in s)
PRESETS = {"quick": (0.004, 7, 0.25), "full": (0.02, 15, 1.5)}


def _clock_from_env() -> Callable[[], float]:
    """The clock ``KIT_CLOCK`` names (``wall`` when unset).

    A name kit does not know is refused when a measurement reads the clock, with the
    configuration's one-line :class:`kit.config.ConfigError`, not here: importing this module
    (which the CLI does while it builds its parser) never fails.
    """
    import os

    name = os.environ.get("KIT_CLOCK") or "wall"
    clock = CLOCKS.get(name)
    if clock is None:
        def refuse() -> float:
            raise ConfigError.for_value("KIT_CLOCK", name, f"expected one of {', '.join(CLOCKS)}")

        return refuse
    return clock


_timer = _clock_from_env()


def clock_name() -> str:
    """The name of the clock measurements read now (``wall`` unless ``KIT_CLOCK`` or a test changed it).

    Examples
    --------
    >>> clock_name()
    'wall'
    """
    return next((n for n, c in CLOCKS.items() if c is _timer), "custom")


@dataclass
class Measurement:
    """Repeated timing of one contender on one payload.

    Attributes
    ----------
    samples : list of float
        Seconds per call, one per sample: the samples the statistics use.
    loops : int
        Calls per sample (calibrated).
    nbytes : int
        Bytes processed per call (0 when throughput does not apply).
    cpu_shares : list of float or None
        The share of a CPU the measuring thread got during each sample (``None`` where unknown).
    lost : list of float
        Samples left out because the thread lost the CPU during them (wall clock only).
    lost_shares : list of float or None
        Their shares of a CPU.
    contended : bool
        Too few samples kept the CPU to leave the others out: ``samples`` holds all of them, each
        less the time its thread waited in the run queue.
    run_medians : list of float, optional
        The median of each run pooled into ``samples`` (several runs: the interval is theirs).
    run_noise : tuple of float, optional
        ``(sd, df)``: this machine's run-to-run spread of the log median beyond sampling, learned
        from its own repeated runs (:mod:`kit.engine.wisdom`); widens a single run's interval.
    """

    name: str
    samples: list[float]
    loops: int
    nbytes: int = 0
    warmup: list[float] = field(default_factory=list)
    load: float | None = None
    timed_once: bool = False
    cpu_shares: list[float | None] = field(default_factory=list)
    lost: list[float] = field(default_factory=list)
    lost_shares: list[float | None] = field(default_factory=list)
    run_medians: list[float] | None = None
    run_noise: tuple[float, float] | None = None
    contended: bool = False
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def median(self) -> float:
        s = sorted(self.samples)
        n = len(s)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)

    @property
    def cv(self) -> float:
        n = len(self.samples)
        if n < 2:
            return 0.0
        m = self.mean
        var = sum((x - m) ** 2 for x in self.samples) / (n - 1)
        return math.sqrt(var) / m if m > 0 else 0.0

    @property
    def sampling_ci(self) -> tuple[float, float]:
        """Bootstrap 95% interval of the median time per call: the spread of this run's samples only."""
        key = tuple(self.samples)
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = bootstrap_ci(self.samples)
        return self._cache[key]

    @property
    def ci_basis(self) -> str:
        """What the interval :attr:`ci` covers: ``runs``, ``machine`` or ``sampling``.

        ``runs``: the spread of several runs' medians; ``machine``: one run's samples and this
        machine's learned run-to-run spread; ``sampling``: one run's samples only (an interval
        that the next run's median may well miss).
        """
        if self.run_medians is not None and len(self.run_medians) >= 2:
            return "runs"
        if self.run_noise is not None:
            return "machine"
        return "sampling"

    @property
    def ci(self) -> tuple[float, float]:
        """95% interval of the median time per call, run-to-run variation included where known.

        See :attr:`ci_basis`; the construction is :func:`kit.stats.runs_interval` and
        :func:`kit.stats.widen`.
        """
        basis = self.ci_basis
        lo, hi = self.sampling_ci
        med = self.median
        if basis == "sampling" or med <= 0:
            return lo, hi
        if basis == "machine":
            return _stats.widen(med, (lo, hi), self.run_noise)
        runs = [math.log(x) for x in self.run_medians if x > 0]  # type: ignore[union-attr]
        prior = None
        if self.run_noise is not None:
            per_run = _stats.median_se_log(self.samples, len(runs))
            prior = (self.run_noise[0] ** 2 + per_run ** 2, self.run_noise[1])
        half = _stats.runs_halfwidth(runs, prior)
        # Centred on the runs' geometric mean, where their spread is; the pooled median stays inside.
        centre = math.exp(sum(runs) / len(runs))
        return min(centre * math.exp(-half), med), max(centre * math.exp(half), med)

    @property
    def throughput(self) -> float:
        """Bytes per second at the median (0 when ``nbytes`` is 0)."""
        return self.nbytes / self.median if self.nbytes and self.median > 0 else 0.0

    @property
    def throughput_ci(self) -> tuple[float, float]:
        lo, hi = self.ci
        return (self.nbytes / hi if hi else 0.0, self.nbytes / lo if lo else 0.0)

    @property
    def outliers(self) -> int:
        med = self.median
        return sum(1 for x in self.samples if abs(x - med) > OUTLIER_LIMIT * med)

    @property
    def cpu_share(self) -> float | None:
        """Median share of a CPU the measuring thread got over all samples, kept and lost (``None``: unknown)."""
        known = [x for x in list(self.cpu_shares) + list(self.lost_shares) if x is not None]
        return statistics.median(known) if known else None

    @property
    def unstable(self) -> bool:
        """Whether the median is too uncertain for kit's decisions.

        True when the 95% sampling interval of the median reaches more than
        :data:`UNSTABLE_HALF_WIDTH` (5%) from it on either side. A CV above 10%, the old rule,
        flagged 45–70% of the measurements of a quiet run (one late sample of seven is enough);
        this rule asks whether the figure itself is uncertain, which is what a reader needs to know.
        """
        if len(self.samples) < 2 or self.median <= 0:
            return False
        lo, hi = self.sampling_ci
        med = self.median
        return max(hi / med - 1.0, 1.0 - lo / med) > UNSTABLE_HALF_WIDTH

    @property
    def warnings(self) -> list[str]:
        """Why this result should not be trusted blindly (empty when stable)."""
        out = []
        if self.timed_once:
            out.append(f"timed once: over {SLOW_FACTOR:g}x slower than the fastest contender")
        if self.unstable:
            lo, hi = self.sampling_ci
            med = self.median
            out.append(f"unstable: the median's 95% interval reaches {max(hi / med - 1, 1 - lo / med):.0%} "
                       f"from it (> {UNSTABLE_HALF_WIDTH:.0%})")
        if self.outliers:
            out.append(f"{self.outliers} of {len(self.samples)} samples >{OUTLIER_LIMIT:.0%} from the median")
        if self.contended:  # too few samples kept the CPU to leave the others out
            lost_in = sum(1 for x in self.cpu_shares if x is not None and x < LOST_SHARE)
            out.append(f"contended: {lost_in} of {len(self.samples)} samples lost the CPU; times are wall time "
                       "less run-queue wait")
        return out

    @property
    def busy(self) -> bool:
        """Whether the machine was busy (load above 0.8 per core) while this was measured.

        Reported once per run by the callers rather than per result: a busy
        machine shifts absolute times, while ratios measured side by side in
        the same run stay comparable.
        """
        return self.load is not None and self.load > BUSY_LOAD

    @property
    def stable(self) -> bool:
        return not self.warnings

    def summary(self) -> dict[str, Any]:
        """Plain-data summary for records and ``--json``."""
        lo, hi = self.ci
        slo, shi = self.sampling_ci
        share = self.cpu_share
        return {
            "name": self.name,
            "median_s": self.median,
            "ci_low_s": lo,
            "ci_high_s": hi,
            "ci_basis": self.ci_basis,
            "sampling_ci_s": [slo, shi],
            "cv": self.cv,
            "samples": len(self.samples),
            "loops": self.loops,
            "nbytes": self.nbytes,
            "throughput_Bps": self.throughput,
            "warnings": self.warnings,
            "load_per_core": self.load,
            "cpu_share": None if share is None else round(share, 4),
            "raw_s": list(self.samples),
            "raw_cpu_share": _rounded(self.cpu_shares),
            "lost_s": list(self.lost),
            "lost_cpu_share": _rounded(self.lost_shares),
        }


def _rounded(shares: Sequence[float | None]) -> list[float | None] | None:
    if not shares or all(x is None for x in shares):
        return None
    return [None if x is None else round(x, 4) for x in shares]


def bootstrap_ci(samples: list[float], resamples: int = 2000, level: float = 0.95, seed: int = 0,
                 statistic: str = "median") -> tuple[float, float]:
    """Percentile bootstrap CI of the median (or mean) of ``samples`` (:func:`kit.stats.bootstrap_ci`).

    Computed by numpy in :mod:`kit.stats`, not through a dispatched kernel: measurement does not
    depend on the selection it serves. The interval is the one ``kit.kernels.bootstrap`` gives.

    Examples
    --------
    >>> lo, hi = bootstrap_ci([1.0, 1.1, 0.9, 1.05, 0.95])
    >>> lo <= 1.0 <= hi
    True
    """
    return _stats.bootstrap_ci(samples, statistic=statistic, resamples=resamples, level=level, seed=seed)


def speedup(base: Measurement, other: Measurement, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Speed-up of ``other`` over ``base`` (ratio of median times) with a bootstrap 95% CI.

    :func:`kit.stats.ratio_ci` of the two measurements' samples.

    Examples
    --------
    >>> a = Measurement("a", [2.0, 2.1, 1.9], 1)
    >>> b = Measurement("b", [1.0, 1.05, 0.95], 1)
    >>> round(speedup(a, b)[0], 2)
    2.0
    """
    return _stats.ratio_ci(base.samples, other.samples, resamples=resamples, seed=seed)


# --- contention: how much of a CPU the measurements got ------------------------------------------------

#: Levels of :func:`contention_summary`, from the measuring thread's median share of a CPU, the share
#: of samples that lost it, CPU pressure (PSI ``some avg10``, %) and load per core.
CONTENTION_LEVELS = ("quiet", "light", "contended", "unknown")


def _field(m: Any, name: str) -> Any:
    return m.get(name) if isinstance(m, dict) else getattr(m, name, None)


def other_tasks(runnable: Iterable[int], cores: int) -> float | None:
    """Other tasks runnable per core during a run: the median of the run-queue counts read between its
    measurements (:func:`kit.machine.runnable_tasks`), less the measuring task, over the core count.

    The 1-minute load average takes a minute to follow a load that has just begun (beside a busy loop
    started a second before a run on a 2-core VM it read 0.17 per core, while this read 0.75); the run
    queue sees it at once, and its median leaves out a moment's burst.

    Examples
    --------
    >>> other_tasks([2, 2, 1, 2], cores=2)
    0.5
    >>> other_tasks([], cores=2) is None
    True
    """
    queue = [max(n - 1, 0) for n in runnable]
    return statistics.median(queue) / max(cores, 1) if queue else None


def contention_summary(measurements: Iterable[Any], psi: float | None = None, load: float | None = None,
                       steal: float | None = None, others: float | None = None) -> dict[str, Any]:
    """One run's contention: what the measuring thread got of a CPU, and the machine's pressure.

    Parameters
    ----------
    measurements : iterable of Measurement or record measurement dicts
        Each with ``cpu_share`` (the median share of its samples), and its kept and lost samples.
    psi : float, optional
        The highest CPU pressure seen during the run (``/proc/pressure/cpu`` ``some avg10``, in %).
    load : float, optional
        The highest load per core seen during the run.
    steal : float, optional
        The share of CPU time the hypervisor gave to other guests during the run.
    others : float, optional
        Other tasks runnable per core during the run (:func:`other_tasks`).

    Returns
    -------
    dict
        ``cpu_share_median`` and ``cpu_share_min`` (over the measurements' medians),
        ``lost_share`` (samples that lost the CPU, of all samples), ``psi_cpu_some``,
        ``load_per_core``, ``steal``, ``others_per_core``, ``level`` (``quiet``, ``light``, ``contended`` or ``unknown``)
        and ``summary``, one line that says it.

        ``contended``: the thread got under 90% of a CPU (median), or over a quarter of its samples
        lost it; ``light``: under 98%, over 5% of the samples lost, CPU pressure of 10% or more,
        load over 0.8 per core, 2% steal, or other tasks runnable on half the cores or more (a busy
        loop beside the run on a 2-core machine: the thread kept its CPU, the machine was loaded);
        ``quiet`` otherwise. Without shares, pressure and load
        alone decide (``contended`` from 40% pressure or a load over 1 per core).

    Examples
    --------
    >>> c = contention_summary([{"cpu_share": 0.99, "samples": 7}, {"cpu_share": 0.93, "samples": 7}], psi=1.0)
    >>> c["level"], c["cpu_share_median"]
    ('light', 0.96)
    >>> contention_summary([])["level"]
    'unknown'
    """
    shares, kept, lost, forced = [], 0, 0, 0
    for m in measurements:
        share = _field(m, "cpu_share")
        if share is not None:
            shares.append(float(share))
        raw = _field(m, "samples")
        kept += len(raw) if isinstance(raw, list) else int(raw or 0)
        left = _field(m, "lost") if not isinstance(m, dict) else m.get("lost_s")
        lost += len(left or [])
        forced += bool(_field(m, "contended"))
    med = statistics.median(shares) if shares else None
    low = min(shares) if shares else None
    lost_share = lost / (kept + lost) if shares and kept + lost else None
    if med is not None:
        if med < 0.90 or (lost_share or 0) > 0.25:
            level = "contended"
        elif (med < 0.98 or (lost_share or 0) > 0.05 or (psi is not None and psi >= 10)
              or (load is not None and load > BUSY_LOAD) or (steal is not None and steal >= 0.02)
              or (others is not None and others >= OTHERS_LIGHT)):
            level = "light"
        else:
            level = "quiet"
    elif psi is not None or load is not None or others is not None:
        if (psi is not None and psi >= 40) or (load is not None and load > 1.0):
            level = "contended"
        elif ((psi is not None and psi >= 10) or (load is not None and load > BUSY_LOAD)
              or (others is not None and others >= OTHERS_LIGHT)):
            level = "light"
        else:
            level = "quiet"
    else:
        level = "unknown"
    out = {"cpu_share_median": None if med is None else round(med, 4),
           "cpu_share_min": None if low is None else round(low, 4),
           "lost_share": None if lost_share is None else round(lost_share, 4),
           "psi_cpu_some": psi, "load_per_core": None if load is None else round(load, 3),
           "steal": None if steal is None else round(steal, 4),
           "others_per_core": None if others is None else round(others, 3), "level": level}
    out["summary"] = contention_line(out)
    if forced:
        out["kept_all"] = forced  # measurements where too few samples kept the CPU to leave any out
    return out


def contention_line(c: dict[str, Any] | None) -> str:
    """The one line (at most 100 characters) that states a run's contention (see :func:`contention_summary`).

    ``CPU share``: of the time the measuring thread wanted a CPU, the part it got (median over the
    measurements, and the lowest); the share of samples that lost the CPU and were left out; CPU
    pressure (PSI ``some avg10``), load per core and hypervisor steal where known.

    Examples
    --------
    >>> print(contention_line({"level": "quiet", "cpu_share_median": 1.0, "cpu_share_min": 0.99,
    ...                        "lost_share": 0.0, "psi_cpu_some": 0.5, "load_per_core": 0.2}))
    contention: quiet: CPU share 100% (min 99%); CPU pressure 0.5%, load 0.20/core
    """
    if not c or c.get("level") in (None, "unknown"):
        return "contention: unknown (no CPU share, pressure or load could be read here)"
    share = []
    if c.get("cpu_share_median") is not None:
        share.append(f"CPU share {c['cpu_share_median']:.0%} (min {c['cpu_share_min']:.0%})")
    if c.get("lost_share"):
        share.append(f"{c['lost_share']:.0%} of samples lost")
    machine = []
    if c.get("psi_cpu_some") is not None:
        machine.append(f"CPU pressure {c['psi_cpu_some']:.2g}%")
    if c.get("load_per_core") is not None:
        machine.append(f"load {c['load_per_core']:.2f}/core")
    if c.get("others_per_core"):  # the most telling of these: it goes last when the line is long
        machine.insert(0, f"other tasks {c['others_per_core']:.2f}/core")
    if c.get("steal"):
        machine.append(f"steal {c['steal']:.0%}")
    line = ""
    while True:  # the least telling parts go first when the line would pass 100 characters
        line = f"contention: {c['level']}: " + "; ".join(x for x in (", ".join(share), ", ".join(machine)) if x)
        if len(line) <= 100 or not (machine or len(share) > 1):
            return line[:100]
        (machine if machine else share).pop()


def _time_loop(fn: Callable[[], Any], loops: int) -> float:
    t0 = _timer()
    for _ in range(loops):
        fn()
    return (_timer() - t0) / loops


class _Probes:
    """Where a sample's share of the CPU is read from; tests replace these with fakes."""

    wall: Callable[[], float] = staticmethod(time.perf_counter)
    cpu: Callable[[], float] = staticmethod(time.thread_time)
    process: Callable[[], float] = staticmethod(time.process_time)

    @staticmethod
    def schedstat() -> tuple[float, float] | None:
        from kit.machine import thread_schedstat

        return thread_schedstat()


_probes = _Probes()


#: Other threads of this process that use more than this share of a sample's wall time mean the
#: contender runs its own threads (blosc2, polars, pyarrow, numba.parallel).
OWN_THREADS = 0.05


def _sample(fn: Callable[[], Any], loops: int) -> tuple[float, float | None, bool, float]:
    """One sample: ``(s per call, CPU share, whether the share is schedstat's, s per call less run-queue wait)``.

    The share is taken over a window that holds the timed loop and both ``schedstat`` reads: a
    read of ``/proc`` is itself a point where the scheduler may preempt the thread, and that wait
    must count. Of the time the thread wanted a CPU (its CPU time plus its run-queue wait) the share
    is the part it ran; without ``schedstat`` it is CPU time over wall time. The last figure is that
    window's wall time less the thread's run-queue wait, per call: what the sample would have taken
    had the thread not waited for a CPU.

    When other threads of this process ran during the sample (a backend's own worker threads), the
    measuring thread also waits for the cores its own workers use, which is no loss to another task:
    the share is then unknown (``None``) and the sample is never left out or corrected.
    """
    probes = _probes
    w0, c0, p0 = probes.wall(), probes.cpu(), probes.process()
    q0 = probes.schedstat()
    per_call = _time_loop(fn, loops)
    q1 = probes.schedstat()
    p1, c1, w1 = probes.process(), probes.cpu(), probes.wall()
    cpu, wall = c1 - c0, w1 - w0
    if (p1 - p0) - cpu > OWN_THREADS * max(wall, 1e-9):
        return per_call, None, False, per_call
    if q0 is not None and q1 is not None:
        waited = max(0.0, q1[1] - q0[1])
        share = cpu / (cpu + waited) if cpu + waited > 0 else None
        ran = (wall - waited) / loops
        return per_call, None if share is None else min(1.0, share), True, ran if ran > 0 else per_call
    share = cpu / wall if wall > 0 else None
    return per_call, None if share is None else min(1.0, share), False, per_call


def calibrate(fn: Callable[[], Any], min_time: float) -> tuple[int, float, float]:
    """Loop count so that one sample lasts at least ``min_time``.

    Returns ``(loops, first, per_call)``: the loop count, the first (cold)
    call's time, and the time per call measured at that loop count.
    """
    first = _time_loop(fn, 1)
    if first >= min_time:
        return 1, first, first
    loops = 1
    t = first
    while t * loops < min_time:
        loops = max(loops * 2, int(min_time / max(t, 1e-9) * 1.2))
        t = _time_loop(fn, loops)
    return loops, first, t


#: A contender this many times slower than the fastest one, and slower than
#: SLOW_CALL seconds per call, is timed once: it cannot be selected, and more
#: samples of a multi-second call would only lengthen the run.
SLOW_FACTOR = 10.0
SLOW_CALL = 0.25


def compare(
    contenders: dict[str, Callable[[], Any]],
    nbytes: int = 0,
    *,
    min_time: float | None = None,
    samples: int | None = None,
    budget: float | None = None,
    preset: str = "quick",
    min_samples: int = 3,
    reference: str | None = None,
) -> dict[str, Measurement]:
    """Measure contenders interleaved; returns one :class:`Measurement` each.

    Parameters
    ----------
    contenders : dict of name -> zero-argument callable
    nbytes : int
        Bytes processed per call, for throughput.
    min_time, samples, budget : float, int, float
        Minimum sample time, samples wanted and the time budget per contender
        (a slow contender gets fewer samples, never fewer than
        ``min_samples``); defaults from ``PRESETS[preset]``.
    reference : str, optional
        The contender the others are compared with (the baseline). When
        given, a contender over :data:`SLOW_FACTOR` times slower than the
        fastest, at more than :data:`SLOW_CALL` s per call, is timed once and
        says so in its warnings (it cannot be selected); the reference itself
        is always fully sampled.

    Examples
    --------
    >>> r = compare({"a": lambda: None, "b": lambda: None}, min_time=0.0005, samples=3)
    >>> sorted(r)
    ['a', 'b']
    """
    from kit.machine import load_per_core

    p_min, p_samples, p_budget = PRESETS[preset]
    min_time = p_min if min_time is None else min_time
    samples = p_samples if samples is None else samples
    budget = p_budget if budget is None else budget
    names = list(contenders)
    loops: dict[str, int] = {}
    warm: dict[str, list[float]] = {}
    per_call: dict[str, float] = {}
    for name in names:
        loops[name], first, per_call[name] = calibrate(contenders[name], min_time)
        warm[name] = [first]
    fastest = min(per_call.values())
    wanted: dict[str, int] = {}
    for n in names:
        if reference is not None and n != reference and per_call[n] > SLOW_CALL and per_call[n] > SLOW_FACTOR * fastest:
            wanted[n] = 0  # its calibration call is its one sample
        else:
            # Fewer samples for a slow contender, so one slow codec cannot eat the run.
            wanted[n] = max(min_samples, min(samples, int(budget / max(per_call[n] * loops[n], 1e-9))))
    load_before = load_per_core()
    # Samples that lost the CPU are left out only on the wall clock (the thread-CPU clock does not
    # count the lost time, and an injected clock has no such thing) and only with schedstat's share.
    discard = _timer is CLOCKS["wall"]
    times: dict[str, list[float]] = {n: [] for n in names}
    shares: dict[str, list[float | None]] = {n: [] for n in names}
    lost: dict[str, list[tuple[float, float | None]]] = {n: [] for n in names}
    # Every sample less its run-queue wait, and its share, in the order taken.
    ran: dict[str, list[tuple[float, float | None]]] = {n: [] for n in names}

    def take(name: str) -> None:
        t, share, exact, less_wait = _sample(contenders[name], loops[name])
        ran[name].append((less_wait, share))
        if discard and exact and share is not None and share < LOST_SHARE:
            lost[name].append((t, share))
        else:
            times[name].append(t)
            shares[name].append(share)

    rounds = max(wanted.values())
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            if r < wanted[name]:
                take(name)
    # Rounds that lost the CPU are taken again, interleaved as before, up to as many again.
    for r in range(rounds, 2 * rounds):
        short = [n for n in names if len(times[n]) < wanted[n] and r - rounds < wanted[n]]
        if not short:
            break
        k = r % len(short)
        for name in short[k:] + short[:k]:
            take(name)
    load = max(x for x in (load_before, load_per_core()) if x is not None) if load_before is not None else None
    out = {}
    for n in names:
        once = wanted[n] == 0
        kept, kept_shares = times[n], shares[n]
        left = lost[n]
        contended = bool(left) and len(kept) < min(MIN_KEPT, max(wanted[n], 1))
        if contended:
            # Too few samples kept the CPU to leave the others out. Every sample counts, less the time
            # its thread waited for a CPU: on a core shared all along this stayed within ~1% of the
            # quiet figure where the wall clock moved by 80% (docs/measurement.md). It cannot see the
            # waits of a backend's own worker threads; the warning says so.
            kept, kept_shares, left = [t for t, _ in ran[n]], [x for _, x in ran[n]], []
        out[n] = Measurement(n, kept or [per_call[n]], loops[n], nbytes, warm[n], load, timed_once=once,
                             cpu_shares=kept_shares if kept else [], lost=[t for t, _ in left],
                             lost_shares=[x for _, x in left], contended=contended)
    return out


def format_time(seconds: float) -> str:
    """Human-readable duration.

    Examples
    --------
    >>> format_time(0.0000123)
    '12.3 µs'
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:.3g} s"


def format_rate(bps: float) -> str:
    """Human-readable throughput.

    Examples
    --------
    >>> format_rate(1.5e9)
    '1.5 GB/s'
    """
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g} {unit}"
    return f"{bps:.3g} B/s"


def geometric_mean(values: Iterable[float]) -> float:
    """Geometric mean of positive values (``nan`` for none).

    Examples
    --------
    >>> geometric_mean([1, 4])
    2.0
    """
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
