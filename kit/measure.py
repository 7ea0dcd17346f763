"""Calibrated, interleaved timing and its statistics, in the manner of pyperf.

One *sample* is the mean time per call over a calibrated inner loop of at
least ``min_time`` seconds. Contenders are measured interleaved, round by
round, in rotating order, so a burst of load hits all of them alike. Results
carry the median, a bootstrap 95% CI of the median, the coefficient of
variation, the throughput in bytes/s, and warnings when they look unstable
(CV over 10%, samples more than 50% away from the median); the system load
is recorded with each measurement (``busy`` above 0.8 per core).

Examples
--------
>>> from kit.measure import compare
>>> res = compare({"sum": lambda: sum(range(100))}, nbytes=800, min_time=0.001, samples=5)
>>> res["sum"].median > 0
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

CV_LIMIT = 0.10
OUTLIER_LIMIT = 0.50
BUSY_LOAD = 0.8

#: (min_time per sample in s, samples, time budget per contender in s)
PRESETS = {"quick": (0.004, 7, 0.25), "full": (0.02, 15, 1.5)}

#: Clocks a measurement can read. ``wall`` (the default) is what a user waits; ``thread`` is the CPU
#: time of the measuring thread, which other processes' load does not inflate, but which misses the
#: work of any thread a backend starts (numba.parallel, blosc2, polars, pyarrow): only for comparing
#: single-threaded code on a shared machine, as kit's own tests do. ``KIT_CLOCK`` picks it.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}


def _clock_from_env() -> Callable[[], float]:
    import os

    name = os.environ.get("KIT_CLOCK", "wall")
    if name not in CLOCKS:
        from kit.errors import KitError

        raise KitError(f"KIT_CLOCK must be one of {', '.join(CLOCKS)}, got {name!r}")
    return CLOCKS[name]


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
        Seconds per call, one per sample.
    loops : int
        Calls per sample (calibrated).
    nbytes : int
        Bytes processed per call (0 when throughput does not apply).
    """

    name: str
    samples: list[float]
    loops: int
    nbytes: int = 0
    warmup: list[float] = field(default_factory=list)
    load: float | None = None
    timed_once: bool = False

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
    def ci(self) -> tuple[float, float]:
        """Bootstrap 95% confidence interval of the median time per call."""
        return bootstrap_ci(self.samples)

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
    def warnings(self) -> list[str]:
        """Why this result should not be trusted blindly (empty when stable)."""
        out = []
        if self.timed_once:
            out.append(f"timed once: over {SLOW_FACTOR:g}x slower than the fastest contender")
        if self.cv > CV_LIMIT:
            out.append(f"unstable: CV {self.cv:.0%} > {CV_LIMIT:.0%}")
        if self.outliers:
            out.append(f"{self.outliers} of {len(self.samples)} samples >{OUTLIER_LIMIT:.0%} from the median")
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
        return {
            "name": self.name,
            "median_s": self.median,
            "ci_low_s": lo,
            "ci_high_s": hi,
            "cv": self.cv,
            "samples": len(self.samples),
            "loops": self.loops,
            "nbytes": self.nbytes,
            "throughput_Bps": self.throughput,
            "warnings": self.warnings,
            "load_per_core": self.load,
            "raw_s": list(self.samples),
        }


def bootstrap_ci(samples: list[float], resamples: int = 2000, level: float = 0.95, seed: int = 0,
                 statistic: str = "median") -> tuple[float, float]:
    """Percentile bootstrap CI of the median (or mean) of ``samples``.

    Computed by :func:`kit.kernels.bootstrap`, which keeps numpy for work
    this small (a compiled backend would cost more to start than it saves)
    and takes a compiled or GPU backend for large resampling.

    Examples
    --------
    >>> lo, hi = bootstrap_ci([1.0, 1.1, 0.9, 1.05, 0.95])
    >>> lo <= 1.0 <= hi
    True
    """
    if len(samples) < 2:
        v = samples[0] if samples else 0.0
        return (v, v)
    from kit.kernels import bootstrap

    return bootstrap(samples, statistic=statistic, resamples=resamples, level=level, seed=seed)


def speedup(base: Measurement, other: Measurement, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Speed-up of ``other`` over ``base`` (ratio of median times) with a bootstrap 95% CI.

    Examples
    --------
    >>> a = Measurement("a", [2.0, 2.1, 1.9], 1)
    >>> b = Measurement("b", [1.0, 1.05, 0.95], 1)
    >>> round(speedup(a, b)[0], 2)
    2.0
    """
    import numpy as np

    ratio = base.median / other.median if other.median > 0 else math.inf
    a, b = np.asarray(base.samples), np.asarray(other.samples)
    if len(a) < 2 or len(b) < 2:
        return ratio, ratio, ratio
    rng = np.random.default_rng(seed)
    ma = np.median(a[rng.integers(0, len(a), (resamples, len(a)))], axis=1)
    mb = np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
    r = ma / mb
    return ratio, float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def _time_loop(fn: Callable[[], Any], loops: int) -> float:
    t0 = _timer()
    for _ in range(loops):
        fn()
    return (_timer() - t0) / loops


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
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(max(wanted.values())):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            if r < wanted[name]:
                times[name].append(_time_loop(contenders[name], loops[name]))
    load = max(x for x in (load_before, load_per_core()) if x is not None) if load_before is not None else None
    out = {}
    for n in names:
        once = wanted[n] == 0
        out[n] = Measurement(n, times[n] or [per_call[n]], loops[n], nbytes, warm[n], load, timed_once=once)
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
