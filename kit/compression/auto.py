"""``codec="auto"``: the codec chosen per payload, and the cost model it decides with.

``codec="auto"`` chooses per payload under an *objective*: the expected time
to compress, move the result through a channel of bandwidth ``B`` and
decompress it once, ``t_c + t_d + compressed_size / B``. ``"speed"`` is
``B = 1 GB/s`` (memory), ``"balanced"`` 100 MB/s (disk, network), ``"ratio"``
1 MB/s (size dominates); a number is ``B`` in bytes/s. The probe: a per-codec
cost model measured once per machine (kept beside the engine's wisdom);
for untyped input from 1 KiB to 256 KiB a decision per payload *shape*
(level, objective, size octave, first byte, ASCII or not), made by a timed
trial on the whole input and reused, without a probe, for the next 127
calls of that shape (:class:`_Decisions`); for untyped input from 256 KiB
an lz4 probe for the ratios and a timed piece for the leading codec's speed;
for typed data from 256 KiB a trial of the contenders on a contiguous sample
(n/256, at least 16 KiB), with blosc2's ratio carried from the sample to the
block size it will use, within a budget of 3% of the predicted cost; then the
chosen codec runs on the whole input and its stream is kept only if it pays.
See ``docs/compression.md`` for the details and the measured figures.

The cost model can be read (:func:`cost_model`) and set (:func:`set_cost_model`):
tests decide with a fixed one, whatever the machine's load while it calibrated.

Examples
--------
>>> choose_codec(b"x")
'raw'
>>> choose_codec(bytes(100_000)) != "raw"
True
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from typing import Any, Callable

from kit._paths import atomic_write
from kit.config import CLOCKS
from kit.compression.frame import make_frame
from kit.compression.streams import (
    BLOSC2_MAX,
    available_codecs,
    byte_view,
    check_level,
    codec_names,
    compressor,
    decoder,
)

__all__ = ["AUTO_RAW_BELOW", "OBJECTIVES", "calibration_seconds", "choose_codec", "compress_auto",
           "cost_model", "decision_cache", "objective_bandwidth", "set_cost_model"]

#: Named objectives: channel bandwidth in bytes/s in ``t_c + t_d + size / B``.
OBJECTIVES: dict[str, float] = {"speed": 1.0e9, "balanced": 1.0e8, "ratio": 1.0e6}


def objective_bandwidth(objective: Any) -> float:
    """The channel bandwidth in bytes/s an objective stands for (a name of :data:`OBJECTIVES`, or a number).

    Raises
    ------
    ValueError
        Neither a named objective nor a finite positive number.

    Examples
    --------
    >>> objective_bandwidth("speed"), objective_bandwidth(5e7)
    (1000000000.0, 50000000.0)
    """
    if isinstance(objective, str):
        try:
            return OBJECTIVES[objective]
        except KeyError:
            raise ValueError(
                f"objective must be one of {', '.join(OBJECTIVES)} or a bandwidth in bytes/s, "
                f"got {objective!r}") from None
    if isinstance(objective, (int, float)) and not isinstance(objective, bool) and objective > 0 \
            and math.isfinite(objective):
        return float(objective)
    raise ValueError(
        f"objective must be one of {', '.join(OBJECTIVES)} or a positive bandwidth in bytes/s, "
        f"got {objective!r}")

# Inputs below this are stored raw: no codec's header and call overhead pays.
AUTO_RAW_BELOW = 64
# From _ENTROPY_FROM on, a byte-entropy screen on a 4 KiB sample spares a wasted
# compression of incompressible data (typesize 1); from _SCREEN_FROM to there, a
# cheaper screen does (_looks_random). From _TRIAL_FROM on, typed data's close
# contenders are tried on a contiguous sample (_trial).
_ENTROPY_FROM = 64 << 10
_SCREEN_FROM = 1 << 10
_TRIAL_FROM = 256 << 10
_SAMPLE = 4 << 10
_TRIAL_SAMPLE = 16 << 10
_TRIAL_FRACTION = 256
# Trials stop once they have cost this fraction of the best predicted cost.
_PROBE_BUDGET = 0.03
_STRIPES = 4
# From here to _TRIAL_FROM, untyped input's codec ratios are estimated with an lz4 probe (_probe_plan)
# when the decision cache is off (see _Decisions).
_PROBE_FROM = 16 << 10
# From here to _TRIAL_FROM, untyped input is decided per payload shape, by a timed trial on the whole
# input cached for the next calls of that shape (_Decisions); below it, the model alone decides.
_LEARN_FROM = 1 << 10
#: How many times ``retry_every`` a decision its trials keep confirming can stand before the next trial.
BACKOFF = 8


def _looks_random(mv: memoryview, n: int) -> bool:
    """Under 64 KiB: a screen for random bytes cheaper than trying zstd (~1 µs against ~5 µs for 4 KiB).

    True when the 64 bytes in the middle hold at least 48 distinct values
    (uniform random bytes hold 56.7 on average, standard deviation 2.6; text
    about 25) and lz4 (block, acceleration 16) finds no match anywhere in the
    input: no repeats to
    exploit and a locally flat byte distribution leave an entropy coder
    nothing worth a frame. Text fails the first test in ~0.7 µs; hex (16
    symbols) never passes it, base64 (64 symbols: 40.6 distinct in 64 bytes
    on average, standard deviation 2.5) about once in 350, a window of 32
    bytes half the time (simulated), hence 64; when it does, lz4 finding no
    match stores it raw (zstd would have saved ~20%).
    Without lz4 there is no screen.
    """
    mid = n // 2 - 32
    if len(set(mv[mid: mid + 64].tobytes())) < 48:
        return False
    if _lz4_probe() is False:
        return False
    # Acceleration 16: a third faster on random input; the long repeats that matter are still found.
    return len(_lz4_block(mv, mode="fast", acceleration=16, store_size=False)) >= n


_lz4_block: Any = None


def _byte_entropy(sample: Any) -> float:
    """Shannon entropy of the byte histogram, in bits per byte: the entropy kernel's numpy core.

    The probe's sample is 4 KiB: at that size the engine's dispatch of
    ``kit.kernels.entropy`` would cost more than the histogram (~7 µs), so the
    kernel's numpy implementation is called directly.

    Examples
    --------
    >>> round(_byte_entropy(bytes(range(256)) * 4), 6)
    8.0
    """
    import numpy as np

    from kit.kernels._numpy import entropy

    return entropy(np.frombuffer(sample, dtype=np.uint8), None)


def _sample(mv: memoryview, n: int, size: int = _SAMPLE) -> bytes:
    """``size`` bytes from ``_STRIPES`` evenly spaced stripes (whole elements kept when size % 64 == 0)."""
    if n <= size:
        return mv.tobytes()
    part = size // _STRIPES
    part -= part % 64
    step = (n - part) // (_STRIPES - 1)
    step -= step % 64
    return b"".join(mv[i * step: i * step + part] for i in range(_STRIPES))


class _Model:
    """Per-process cost model of each codec: ``t(n) = a + b * n`` for compress and decompress.

    Measured once per (level, shuffle) on seeded synthetic payloads (text for
    typesize 1, smooth float64 otherwise), the minimum of several runs, and
    kept beside the engine's wisdom. It is not updated by later calls: one
    call's time says as much about the machine's load at that moment as
    about the codec, and a codec's speed depends on the data (blosc2 is 8x
    slower on some arrays than on others), which the sample trial of a large
    input measures directly. The calibration also gives each codec's ratio on
    its payload: the prior when the input is too small to try on a sample.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (codec, level, shuffle) -> [a_c, b_c, a_d, b_d, ratio]
        self.table: dict[tuple[str, str, bool], list[float]] = {}
        self.calibrated: set[tuple[str, bool]] = set()
        self.calibration_seconds = 0.0
        self._decisions: dict[tuple, tuple[str, ...]] = {}
        self.warm: set[tuple[str, str]] = set()

    def ensure(self, level: str, shuffle: bool) -> None:
        if (level, shuffle) in self.calibrated:
            return
        with self._lock:
            if (level, shuffle) not in self.calibrated:
                if not self._load(level, shuffle):
                    self._calibrate(level, shuffle)
                    self._save(level, shuffle)
                self.calibrated.add((level, shuffle))
                self._decisions.clear()
                _decisions.clear()

    # The calibration is kept beside the engine's wisdom, keyed by what it
    # depends on (CPU, Python, codec library versions), so a new process on
    # the same machine starts with it instead of spending ~0.1-0.3 s.
    def _file(self) -> Any:
        import platform
        from pathlib import Path

        from kit import registry as _registry
        from kit._paths import cache_dir
        from kit.machine import cpu_model

        base = cache_dir()
        ident = json.dumps([cpu_model(), os.cpu_count(), platform.machine(), platform.python_version(),
                            {c: _registry.backend("compress", c).version for c in codec_names()}])
        return Path(base) / f"compress-model-{hashlib.blake2b(ident.encode(), digest_size=6).hexdigest()}.json"

    def _load(self, level: str, shuffle: bool) -> bool:
        try:
            rows = json.loads(self._file().read_text())[f"{level}/{int(shuffle)}"]
            available = set(available_codecs())
            for codec, row in rows.items():
                if codec in available and len(row) == 5 and all(isinstance(x, (int, float)) for x in row):
                    self.table[(codec, level, shuffle)] = [float(x) for x in row]
            return bool(rows)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def _save(self, level: str, shuffle: bool) -> None:
        try:
            path = self._file()
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
            data[f"{level}/{int(shuffle)}"] = {c: row for (c, lvl, sh), row in self.table.items()
                                               if lvl == level and sh == shuffle}
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(data))
        except OSError:
            pass  # a read-only cache dir: calibrate again next time

    def _calibrate(self, level: str, shuffle: bool) -> None:
        from kit.payloads import numeric, text

        t_start = time.perf_counter()
        big, small = 32 << 10, 1 << 10
        make = (lambda size: numeric(size, 7)) if shuffle else (lambda size: text(size, 7))
        samples = {big: make(big), small: make(small)}
        ts = 8 if shuffle else 1
        for codec in available_codecs():
            if codec == "blosc2" and not shuffle:
                # blosc2's gain is its shuffle filter, which needs a typesize; without
                # one it is LZ4 or ZSTD in blocks, and those are candidates themselves
                # (and its import costs ~0.7 s).
                continue
            c = compressor(codec)
            d = decoder(codec)
            times: dict[int, tuple[float, float, int]] = {}
            for size, data in samples.items():
                best_c = best_d = math.inf
                out = b""
                spent, reps = 0.0, 0
                # The minimum of several runs (until 2 ms are spent, at most 15):
                # one run of a fast codec on a busy machine can be off by several
                # times; a slow one (lzma) is measured once.
                while reps < 1 or (spent < 0.002 and reps < 15):
                    t0 = time.perf_counter()
                    out = c(data, level, ts)
                    t1 = time.perf_counter()
                    d(out)
                    t2 = time.perf_counter()
                    best_c, best_d = min(best_c, t1 - t0), min(best_d, t2 - t1)
                    spent += t2 - t0
                    reps += 1
                times[size] = (best_c, best_d, len(out))
            self.warm.add((codec, level))
            (cb, db, lb), (cs, ds, _) = times[big], times[small]
            b_c = max((cb - cs) / (big - small), 1e-12)
            b_d = max((db - ds) / (big - small), 1e-12)
            a_c = max(cs - b_c * small, 0.0)
            a_d = max(ds - b_d * small, 0.0)
            self.table[(codec, level, shuffle)] = [a_c, b_c, a_d, b_d, lb / big]
        self.calibration_seconds += time.perf_counter() - t_start

    def cost(self, codec: str, level: str, shuffle: bool, n: int, ratio: float | None, bandwidth: float) -> float:
        a_c, b_c, a_d, b_d, prior = self.table[(codec, level, shuffle)]
        r = prior if ratio is None else ratio
        return a_c + b_c * n + a_d + b_d * n + n * r / bandwidth

    def time_bound(self, codec: str, level: str, shuffle: bool, n: int) -> float:
        a_c, b_c, a_d, b_d, _ = self.table[(codec, level, shuffle)]
        return a_c + b_c * n + a_d + b_d * n

    def ranked(self, level: str, shuffle: bool, n: int, bandwidth: float) -> tuple[str, ...]:
        """Codecs that can beat raw at this size, by predicted cost (memoised per size octave)."""
        bucket = (level, shuffle, bandwidth, n.bit_length())
        hit = self._decisions.get(bucket)
        if hit is not None:  # memoised per size octave: the model is fixed once calibrated
            return hit
        raw = n / bandwidth
        codecs = [c for (c, lvl, sh) in self.table if lvl == level and sh == shuffle
                  and not (c == "blosc2" and n > BLOSC2_MAX)]
        viable = [c for c in codecs if self.time_bound(c, level, shuffle, n) < raw]
        viable.sort(key=lambda c: self.cost(c, level, shuffle, n, None, bandwidth))
        out = tuple(viable)
        self._decisions[bucket] = out
        return out


_model = _Model()


class _Decisions:
    """The decision per payload shape for untyped input from 1 KiB to 256 KiB, learned by a timed trial.

    At these sizes a call costs 40 µs to 2.6 ms at the balanced objective and
    what decides between zstd and raw is zstd's speed *on this data* (English
    prose runs 6-12 ns/B, the calibration text 4 ns/B, HTML 3.7) and its
    ratio (a shared library 0.54-0.60, JSON 0.12-0.20): a probe cheap enough
    to run on every call (an lz4 sample: 2-6 µs, 5-15% of a 4 KiB call) sees
    the ratio roughly and the speed not at all. So the first call of a
    *shape* runs a trial: the model's leading codec compresses the whole
    input twice and decodes it twice, timed (:meth:`clock_for`: CPU time of
    this thread; the faster of each pair, since a context's first call at a
    new size grows its tables), and the cheaper of that and storing raw is
    kept for the shape; the trial's stream is the call's frame when it wins,
    so a trial costs a compression and two decodes more than compressing. Later calls of the shape reuse the decision without a probe
    (a dictionary lookup) and the ``retry_every``-th call of a shape runs
    the trial again, so that a decision made under load, or for other data of
    the same shape, does not stand for long. A trial that confirms the
    standing decision doubles the calls until the next one, up to
    :data:`BACKOFF` times ``retry_every`` (1024 calls: at 4 KiB a trial costs
    ~140 µs, 1.1 µs a call of ~50 when repeated every 128); one that changes
    it starts again from ``retry_every``.

    A shape is (level, objective, size octave, the first byte, whether the
    middle 64 bytes are ASCII, and the octave of how many of them are none
    of their first 16): what a stream of values of one kind keeps constant
    (the first byte is a format's magic number or a document's opening
    bracket; the fresh bytes tell repetitive, textual and random-looking
    data apart), computed in 0.6-1.3 µs (measured at 4 KiB). Different data of one shape share a
    decision until the next trial; a stale decision costs at most what a
    wrong guess costs, for at most ``BACKOFF * retry_every`` calls. The decision
    depends on measured times, as the typed-data trial's does: the frames'
    contents (never what they decode to) can differ between runs and
    machines. Lookups take no lock (a count lost to a race only delays a
    trial); recording and clearing do. ``clear()`` forgets every decision
    (so does :func:`set_cost_model`, and a new calibration); ``enabled =
    False`` turns the cache off (then the lz4 probe and the model decide, as
    below 1 KiB).
    """

    def __init__(self, clock: Callable[[], float] | None = None, retry_every: int = 128,
                 max_entries: int = 1024) -> None:
        self._lock = threading.Lock()
        self.clock = clock
        self.retry_every = retry_every
        self.max_entries = max_entries
        self.enabled = True
        self.trials = 0  # trials recorded since the last clear()
        # shape -> [codec or None (raw), calls since its trial, calls until the next trial]
        self._table: dict[tuple, list[Any]] = {}

    @staticmethod
    def shape(mv: memoryview, n: int, level: str, bandwidth: float) -> tuple:
        mid = n // 2 - 32
        window = mv[mid: mid + 64].tobytes()
        # How many of the window's bytes are none of its first 16 (in octaves; 0.35 µs, where counting the
        # distinct bytes took 1.2) tells repetitive, textual and random-looking data apart where a shared
        # header makes the first byte the same (a cache's values all begin with their serializer's tag:
        # random and repetitive ones once shared one decision, and 10 values of repeated words went to L2
        # uncompressed).
        fresh = len(window.translate(None, window[:16])).bit_length()
        return (level, bandwidth, n.bit_length(), mv[0], window.isascii(), fresh)

    def clock_for(self, codec: str) -> Callable[[], float]:
        """The clock a trial of ``codec`` reads: the one set (tests), else this thread's CPU time, or wall
        time for blosc2, which compresses on threads of its own.

        Not the process's CPU time: worker threads of other libraries spinning after their own work
        count in it (measured: 167 µs for a zstd call of 14 µs, which stored repetitive text raw).
        """
        if self.clock is not None:
            return self.clock
        return CLOCKS["wall"] if codec == "blosc2" else CLOCKS["thread"]

    def lookup(self, key: tuple) -> tuple[bool, str | None]:
        """``(True, codec or None)`` for a standing decision; ``(False, None)`` when a trial is due."""
        entry = self._table.get(key)
        if entry is None or entry[1] >= entry[2]:
            return False, None
        entry[1] += 1
        return True, entry[0]

    def record(self, key: tuple, codec: str | None) -> None:
        """Record a trial's decision: a decision the trial confirmed stands twice as many calls as
        before (up to ``BACKOFF`` times ``retry_every``), a new one ``retry_every`` calls."""
        with self._lock:
            old = self._table.get(key)
            if old is None and len(self._table) >= self.max_entries:
                self._table.pop(next(iter(self._table)))  # the oldest shape
            confirmed = old is not None and old[0] == codec
            interval = min(2 * old[2], BACKOFF * self.retry_every) if confirmed else self.retry_every
            # [codec or None (raw), calls since its trial, calls until the next trial]
            self._table[key] = [codec, 1, interval]
            self.trials += 1

    def clear(self) -> None:
        """Forget every decision (and the count of trials)."""
        with self._lock:
            self._table.clear()
            self.trials = 0

    def snapshot(self) -> dict[tuple, str | None]:
        """The standing decisions, shape -> codec (``None``: raw)."""
        with self._lock:
            return {k: v[0] for k, v in self._table.items()}

    def trial(self, mv: memoryview, n: int, level: str, bandwidth: float) -> tuple[str | None, bytes | None]:
        """The model's leading codec on the whole input, timed, against raw: ``(codec, its stream)`` or ``(None, None)``."""
        _model.ensure(level, False)
        ranked = _model.ranked(level, False, n, bandwidth)
        if not ranked:
            return None, None
        codec = ranked[0]
        fn, dec = compressor(codec), decoder(codec)
        # A 1 KiB round trip first: a codec's first call in a process pays its set-up (zstd: ~5 ms),
        # and one whose code and tables other work has pushed out of the caches runs a 4 KiB call
        # 2-4x slower than back to back (measured: 25-100 µs against 12 for 4 KiB of JSON), which
        # is not a property of the data.
        dec(fn(mv[:1024], level, 1))
        _model.warm.add((codec, level))
        # Then the faster of two whole calls: a context's first call at a larger size than it has seen
        # grows its tables (measured: 297 µs, then 23 and 14 µs, for 15 KB of repetitive text, which
        # alone stored it raw); one extra call each way per trial, once per retry_every calls of a shape.
        clock = self.clock_for(codec)
        spent = math.inf
        for _ in range(2):
            t0 = clock()
            out = fn(mv, level, 1)
            spent = min(spent, clock() - t0)
        decode = math.inf
        for _ in range(2):  # likewise (65 µs, then 22)
            t1 = clock()
            dec(out)
            decode = min(decode, clock() - t1)
        spent += decode
        if len(out) < n and spent + len(out) / bandwidth < n / bandwidth:
            return codec, out
        return None, None


_decisions = _Decisions()


def decision_cache() -> _Decisions:
    """The per-shape decision cache of ``codec="auto"`` (untyped input from 1 KiB to 256 KiB).

    Examples
    --------
    >>> decision_cache().clear()
    >>> decision_cache().snapshot()
    {}
    """
    return _decisions


def calibration_seconds() -> float:
    """Seconds this process has spent calibrating the cost model (0.0 when it was loaded or set).

    A caller timing ``codec="auto"`` reports this apart: it is paid once per
    process and machine, not per call.

    Examples
    --------
    >>> calibration_seconds() >= 0.0
    True
    """
    return _model.calibration_seconds


def cost_model() -> dict[str, list[float]]:
    """The codec cost model ``codec="auto"`` decides with, as measured (or set) in this process.

    Keys are ``"codec/level/shuffle"`` (shuffle 0 or 1); values are
    ``[a_c, b_c, a_d, b_d, ratio]``: compression and decompression time as
    ``a + b * n`` seconds for ``n`` bytes, and the ratio on the calibration
    payload. Only the (level, shuffle) pairs used so far are present.

    Examples
    --------
    >>> set_cost_model({"zlib/balanced/0": [1e-6, 1e-8, 1e-6, 3e-9, 0.25]})
    >>> cost_model()
    {'zlib/balanced/0': [1e-06, 1e-08, 1e-06, 3e-09, 0.25]}
    >>> set_cost_model(None)  # measure again on next use
    """
    return {f"{c}/{lvl}/{int(sh)}": list(row) for (c, lvl, sh), row in _model.table.items()}


def set_cost_model(table: dict[str, Any] | None) -> None:
    """Decide with ``table`` (the form :func:`cost_model` returns) instead of measuring; ``None`` resets.

    What ``codec="auto"`` chooses then no longer depends on how busy the
    machine was while it calibrated: tests use it, and so can a user who
    wants one model on several machines. Where auto times a trial (untyped
    input from 1 KiB, typed input from 256 KiB) the choice still depends on
    that timing too. Rows of codecs not installed here are ignored; a
    (level, shuffle) pair the table does not cover is measured on first use
    as usual. Setting or resetting the model forgets the per-shape decisions
    (:func:`decision_cache`).

    Examples
    --------
    >>> set_cost_model({"zstd/fast/0": [4e-6, 3e-9, 2e-6, 1e-9, 0.27]})
    >>> choose_codec(b"a line of text that repeats. " * 30, level="fast", objective="ratio")
    'zstd'
    >>> set_cost_model(None)
    """
    with _model._lock:
        _model.table.clear()
        _model.calibrated.clear()
        _model._decisions.clear()
        _decisions.clear()
        if table is None:
            return
        available = set(available_codecs())
        rows: dict[tuple[str, str, bool], list[float]] = {}
        for key, row in table.items():
            try:
                codec, level, shuffle = key.split("/")
                values = [float(x) for x in row]
            except (AttributeError, ValueError, TypeError):
                raise ValueError(f"a cost model row is 'codec/level/shuffle': [a_c, b_c, a_d, b_d, ratio], "
                                 f"got {key!r}: {row!r}") from None
            check_level(level)
            if shuffle not in ("0", "1") or len(values) != 5 or not all(math.isfinite(v) and v >= 0 for v in values):
                raise ValueError(f"a cost model row is 'codec/level/shuffle' (shuffle 0 or 1): five finite "
                                 f"numbers >= 0, got {key!r}: {row!r}")
            if codec in available:
                rows[(codec, level, shuffle == "1")] = values
        _model.table.update(rows)
        _model.calibrated.update((lvl, sh) for (_, lvl, sh) in rows)


def _entropy_limit(m: int) -> float:
    # The plug-in estimate of uniformly random bytes falls short of 8 bits by
    # about 255 / (2 m ln 2); data within twice that of 8 bits is treated as
    # incompressible by any entropy coder.
    return 8.0 - 2 * 255 / (2 * m * math.log(2)) - 0.01


def choose_codec(data: Any, level: str = "balanced", objective: Any = "balanced",
                 typesize: int | None = None) -> str:
    """The codec ``compress(data, codec="auto")`` would try first (``"raw"`` if none pays).

    Examples
    --------
    >>> choose_codec(b"x")
    'raw'
    """
    mv, itemsize = byte_view(data)
    check_level(level)
    ts = itemsize if typesize is None else int(typesize)
    if mv.nbytes % ts:
        ts = 1
    plan = _plan(mv, mv.nbytes, level, objective_bandwidth(objective), ts)
    return plan[0] if plan else "raw"


def _plan(mv: memoryview, n: int, level: str, bandwidth: float, ts: int) -> list[str]:
    """Codecs to try, best first (empty: store raw)."""
    if n < AUTO_RAW_BELOW:
        return []
    shuffle = ts > 1
    if not shuffle and _LEARN_FROM <= n < _TRIAL_FROM and _decisions.enabled:
        codec, _ = _learned(mv, n, level, bandwidth)
        return [] if codec is None else [codec]
    if not shuffle and _PROBE_FROM <= n < _TRIAL_FROM:
        probed = _probe_plan(mv, n, level, bandwidth)
        if probed is not None:
            return probed
    # Before the model: random input is the one case where deciding fast matters most
    # (storing 4 KiB raw costs ~1.3 µs; the screen ~1.8 µs).
    if not shuffle and _SCREEN_FROM <= n < _ENTROPY_FROM and _looks_random(mv, n):
        return []
    _model.ensure(level, shuffle)
    ranked = _model.ranked(level, shuffle, n, bandwidth)
    if not ranked:
        return []
    if n < _ENTROPY_FROM:
        return [ranked[0]]
    if not shuffle and n >= _TRIAL_FROM and _lz4_probe() is not False:
        return _untyped_trial(mv, n, level, bandwidth, ranked)
    sample = _sample(mv, n)
    if not shuffle and _byte_entropy(sample) > _entropy_limit(len(sample)):
        return []
    if n < _TRIAL_FROM or len(ranked) == 1:
        return [ranked[0]]

    # Typed data: blosc2 (shuffle, blocks) and the general codecs compete, and
    # which wins depends on the data, in ratio and in speed (zstd runs 0.7 ns/B
    # on one float array and 11 ns/B on another). Untyped data keeps the
    # model's choice: there zstd leads by a margin that a trial would not change.
    if not shuffle:
        return [ranked[0]]
    best = _trial(mv, n, level, bandwidth, ts, ranked)
    return [] if best is None else [best]


def _lz4_probe() -> Any:
    """lz4's block compressor, or ``False`` without lz4 (then there is no probe and no small-input screen)."""
    global _lz4_block
    if _lz4_block is None:
        from kit import registry as _registry

        _lz4_block = False
        if "lz4" in _registry.available("compress"):
            try:
                import lz4.block

                _lz4_block = lz4.block.compress
            except ImportError:
                pass
    return _lz4_block


def _probe_ratio(data: Any) -> float:
    """lz4 (block, default acceleration) output size over input size: the repeats a codec can exploit."""
    return len(_lz4_block(data, mode="fast", acceleration=1, store_size=False)) / len(data)


def _reference_ratio(m: int) -> float:
    """The probe's ratio on the model's calibration text at about ``m`` bytes (memoised per size octave)."""
    key = m.bit_length()
    r = _reference.get(key)
    if r is None:
        from kit.payloads import text

        r = _reference[key] = _probe_ratio(text(1 << (key - 1), 7))
    return r


_reference: dict[int, float] = {}


def _probe_plan(mv: memoryview, n: int, level: str, bandwidth: float) -> list[str] | None:
    """Untyped input from 16 KiB to 256 KiB: the model's choice with each codec's ratio estimated from a probe.

    The model's ratios are those of its calibration text, and at these sizes
    a wrong ratio decides: at the balanced objective 64 KiB of a shared
    library (zstd: 0.54) is about as cheap stored raw, 64 KiB of JSON (0.12)
    far cheaper compressed. The probe, lz4 on a 4 KiB sample of 4 stripes
    (4-8 µs: 1-5% of compressing 16 KiB, hence not below), measures the
    repeats there are; each codec's ratio is its calibration ratio scaled by
    the probe's ratio here over the probe's ratio on the calibration text at
    the same size (at most 1), and the cheapest of raw and the viable codecs
    wins. It replaces the byte-entropy screen at these sizes (20-60 µs): a
    probe that finds nothing on bytes that also look random (48 or more
    distinct values among 64; see :func:`_looks_random`) stores raw at once.
    ``None`` (no lz4): the model's prior ratios decide.
    """
    if _lz4_probe() is False:
        return None
    sample = mv if n <= _SAMPLE else _sample(mv, n)
    m = len(sample)
    probe = _probe_ratio(sample)
    if probe >= 1.0:
        mid = m // 2 - 32
        if len(set(sample[mid: mid + 64])) >= 48:
            return []
    _model.ensure(level, False)
    ranked = _model.ranked(level, False, n, bandwidth)
    if not ranked:
        return []
    scale = probe / _reference_ratio(m)
    best, best_cost = None, n / bandwidth
    for codec in ranked:
        prior = _model.table[(codec, level, False)][4]
        cost = _model.cost(codec, level, False, n, min(1.0, prior * scale), bandwidth)
        if cost < best_cost:
            best, best_cost = codec, cost
    return [] if best is None else [best]


def _learned(mv: memoryview, n: int, level: str, bandwidth: float,
             key: tuple | None = None) -> tuple[str | None, bytes | None]:
    """The standing decision for this input's shape (``key``, computed where not given), or a trial's
    (then with its stream): see :class:`_Decisions`."""
    if key is None:
        key = _decisions.shape(mv, n, level, bandwidth)
    known, codec = _decisions.lookup(key)
    if known:
        return codec, None
    codec, payload = _decisions.trial(mv, n, level, bandwidth)
    _decisions.record(key, codec)
    return codec, payload


def _untyped_trial(mv: memoryview, n: int, level: str, bandwidth: float, ranked: tuple[str, ...]) -> list[str]:
    """Untyped input from 256 KiB: each codec's ratio from the lz4 probe, the leading codec's speed from a trial.

    The probe (:func:`_probe_plan`'s, on a 4 KiB sample of four stripes)
    estimates each codec's ratio and stores bytes that look random raw at
    once. The model's leading codec (zstd at balanced) then compresses a
    contiguous piece of n/64 bytes (4-16 KiB) from the middle twice, timed
    (``decision_cache().clock_for(codec)``, CPU time): the faster time over the
    model's for the same size (kept within 4x) scales its compression
    time for the whole input. zstd's speed depends on the data by 3x among
    text files alone (English prose 6-12 ns/B, HTML and C 3.7, the
    calibration text 4.3), which decides between zstd and raw at the
    balanced objective; the sample's ratio would not do (4 KiB of prose
    compresses to 0.50, the whole file to 0.37), the probe's scaled one does.
    About 1.5-3% of the call.
    """
    sample = _sample(mv, n)
    m = len(sample)
    probe = _probe_ratio(sample)
    if probe >= 1.0 and len(set(sample[m // 2 - 32: m // 2 + 32])) >= 48:
        return []
    scale = probe / _reference_ratio(m)
    lead = ranked[0]
    fn = compressor(lead)
    # The speed from a contiguous piece of n/64 bytes (4-16 KiB): four 1 KiB stripes run slower
    # than the whole (a spreadsheet: 6.2 ns/B on 4 KiB, 3.9 on 16 KiB, 3.8 on the whole file).
    k = min(max(n // 64, _SAMPLE), _TRIAL_SAMPLE)
    start = (n - k) // 2
    piece = mv[start: start + k]
    if (lead, level) not in _model.warm:
        fn(piece, level, 1)
        _model.warm.add((lead, level))
    # A 1 KiB call first, as in _trial: code and tables that other work pushed out of the caches
    # are not timed.
    # Even then one call can run 2x slow (a spreadsheet: 60-70 µs for 16 KiB, once in four 140 µs,
    # which stored it raw where zstd costs 0.56 of raw): the faster of two calls.
    fn(piece[:1024], level, 1)
    clock = _decisions.clock_for(lead)
    spent = math.inf
    for _ in range(2):
        t0 = clock()
        fn(piece, level, 1)
        spent = min(spent, clock() - t0)
    best, best_cost = None, n / bandwidth
    for codec in ranked:
        a_c, b_c, a_d, b_d, prior = _model.table[(codec, level, False)]
        factor = min(max(spent / (a_c + b_c * k), 0.25), 4.0) if codec == lead else 1.0
        cost = (a_c + b_c * n) * factor + a_d + b_d * n + n * min(1.0, prior * scale) / bandwidth
        if cost < best_cost:
            best, best_cost = codec, cost
    return [] if best is None else [best]


def _trial_size(n: int, ts: int) -> int:
    """Bytes of the contiguous trial sample: n / 256, at least 16 KiB, whole elements."""
    m = min(max(n // _TRIAL_FRACTION, _TRIAL_SAMPLE), n)
    return m - m % (64 * ts) if m >= 64 * ts else m


def _trial(mv: memoryview, n: int, level: str, bandwidth: float, ts: int,
           ranked: tuple[str, ...]) -> str | None:
    """Try the contenders on a sample of typed data; the cheapest predicted, or ``None`` for raw.

    Each contender compresses one contiguous sample from the middle of the
    input (:func:`_trial_size`). The sample's ratio replaces the prior, and
    its compression time, over the model's time at the same size, scales
    the model's prediction for the whole input (decompression speed stays
    the model's). A block codec's ratio is extrapolated to the block size it
    will use on the whole input (:func:`_block_ratio`). A contender is
    skipped when its predicted time alone, at the model's speed, already
    exceeds 1.5x the best cost so far (raw included): no ratio could make it
    win unless it ran far faster on this data than on the calibration payload.
    Trials stop once they have cost :data:`_PROBE_BUDGET` of the best cost so
    far, so that deciding stays a small part of what it decides about.
    """
    shuffle = True
    m = _trial_size(n, ts)
    start = (n - m) // 2
    start -= start % ts
    trial = mv[start: start + m].tobytes()
    # Raw is the first contender: storing costs n / B.
    best_name, best_cost = None, n / bandwidth
    spent = 0.0
    for codec in ranked:
        if spent > _PROBE_BUDGET * best_cost:
            break  # contenders come best-first by prior: the rest are unlikely to pay for their trial
        # The model's speed is that of its calibration payload; on other data a
        # codec runs up to several times faster (blosc2: 1.6 ns/B on int64 counts,
        # 3.9 on the calibration array), hence the margin.
        if _model.time_bound(codec, level, shuffle, n) > 1.5 * best_cost:
            continue
        a_c, b_c, a_d, b_d, _ = _model.table[(codec, level, shuffle)]
        fn = compressor(codec)
        if (codec, level) not in _model.warm:
            # A codec's first call in a process pays its set-up (zstd 5 ms, blosc2's
            # thread pool 0.4 s here): not a property of this data.
            fn(trial, level, ts)
            _model.warm.add((codec, level))
        # A 1 KiB call first: a codec whose code and tables other work has just pushed
        # out of the caches runs a 16 KiB trial up to 1.5x slower, which made the choice
        # between two close codecs flip from call to call (int64 counts: zstd on 57% of
        # calls interleaved with other codecs' work, 2% with this warm-up).
        w0 = time.process_time()
        fn(trial[:1024], level, ts)
        t0 = time.process_time()
        out = fn(trial, level, ts)
        # How much slower (or faster) this data is than the calibration payload at
        # the same size; the size-dependent part of the model (threads, caches,
        # start-up) cancels out.
        # One timing on a busy machine can be far off: the factor is kept within 4x.
        t1 = time.process_time()
        factor = min(max((t1 - t0) / (a_c + b_c * m), 0.25), 4.0)
        ratio = len(out) / m
        if codec in _BLOCK_CODECS:
            ratio = _block_ratio(fn, trial, ratio, level, ts, _BLOCK_CODECS[codec](n, level, ts))
        spent += time.process_time() - w0
        cost = (a_c + b_c * n) * factor + a_d + b_d * n + n * ratio / bandwidth
        if cost < best_cost:
            best_name, best_cost = codec, cost
    return best_name


def _block_ratio(fn: Callable, trial: bytes, ratio: float, level: str, ts: int, block: int) -> float:
    """A block codec's ratio at ``block`` bytes per block, extrapolated from the trial sample.

    A block codec compresses each block on its own, so its ratio depends on
    the block size, not the input's size: blosc2 at balanced uses 512 KiB
    blocks for 1 MiB of int64 and compresses a random walk of counts to 0.094
    of its size, but a 16 KiB sample (one 16 KiB block) only to 0.132, which
    mis-ranked it behind zstd (0.128). The sample is one block; its middle
    quarter is compressed as well, and the ratio's change per doubling of the
    block between the two is carried on, log-linearly, to the real block size
    (never to less than a quarter of the sample's ratio; a ratio that worsens
    with the block is taken as flat). Measured on 22 typed arrays, the
    extrapolation is within about 0.06 of the real ratio where the sample
    alone was off by up to 0.08 (docs/compression.md).
    """
    m = len(trial)
    if block <= m:
        return ratio
    q = m // 4
    q -= q % ts
    if q < 1024:
        return ratio
    lo = (m - q) // 2
    lo -= lo % ts
    r_quarter = len(fn(trial[lo: lo + q], level, ts)) / q
    per_doubling = max(0.0, (r_quarter - ratio) / math.log2(m / q))
    return max(ratio - per_doubling * math.log2(block / m), ratio / 4)


def _blosc2_block(n: int, level: str, ts: int) -> int:
    """The block size blosc2 will use for ``n`` bytes: ``min(n, cap)``, cap per (level, typesize).

    blosc2 chooses the block size from the level, the typesize and the
    chunk's size, not from the data; the cap is read once per process from
    the chunk of 4 MiB of zeros (a 32-byte chunk that still records its
    block size; about 1 ms).
    """
    cap = _block_caps.get((level, ts))
    if cap is None:
        import blosc2

        chunk = compressor("blosc2")(bytes(_CAP_PROBE), level, ts)
        cap = _block_caps[(level, ts)] = int(blosc2.get_cbuffer_sizes(chunk)[2])
    return min(n, cap)


_block_caps: dict[tuple[str, int], int] = {}
_CAP_PROBE = 4 << 20
#: Codecs that compress in independent blocks -> their block size for an input.
_BLOCK_CODECS: dict[str, Callable[[int, str, int], int]] = {"blosc2": _blosc2_block}


def compress_auto(mv: memoryview, n: int, level: str, bandwidth: float, ts: int, checksum: bytes,
                  alg: int) -> bytes:
    """The frame ``compress(data, codec="auto")`` makes, from the parts ``compress`` has checked.

    Parameters
    ----------
    mv : memoryview
        The input as flat bytes (:func:`~kit.compression.streams.byte_view`), ``n`` of them.
    level : str
        A checked named level.
    bandwidth : float
        The objective's bandwidth (:func:`objective_bandwidth`).
    ts : int
        Typesize (1 to 255, dividing ``n``).
    checksum, alg
        The input's checksum and its algorithm id.

    Examples
    --------
    >>> from kit.compression.frame import checksum_function, frame_info
    >>> data = b"a line of text that repeats. " * 100
    >>> f = compress_auto(memoryview(data), len(data), "balanced", 1e8, 1, checksum_function(2)(data), 2)
    >>> frame_info(f).size
    2900
    """
    if ts == 1 and _LEARN_FROM <= n < _TRIAL_FROM and _decisions.enabled:
        # The shape's standing decision (_Decisions.lookup, inlined: at 4 KiB every microsecond is
        # 2% of the call), or a trial whose stream is this call's when it wins.
        key = _decisions.shape(mv, n, level, bandwidth)
        entry = _decisions._table.get(key)
        if entry is not None and entry[1] < entry[2]:
            entry[1] += 1
            codec = entry[0]
            if codec is None:
                return make_frame("raw", None, ts, n, checksum, alg, mv)
            return make_frame(codec, level, ts, n, checksum, alg, compressor(codec)(mv, level, ts))
        codec, payload = _learned(mv, n, level, bandwidth, key)
        if payload is not None:
            return make_frame(codec, level, ts, n, checksum, alg, payload)
        plan = [] if codec is None else [codec]
    else:
        plan = _plan(mv, n, level, bandwidth, ts)
    if plan:
        codec = plan[0]
        shuffle = ts > 1
        payload = compressor(codec)(mv, level, ts)
        a_c, b_c, a_d, b_d, _ = _model.table[(codec, level, shuffle)]
        # The compression time is spent; keep the stream if reading it back
        # (decode + move the smaller result) is cheaper than moving the input.
        if a_d + b_d * n + len(payload) / bandwidth < n / bandwidth and len(payload) < n:
            return make_frame(codec, level, ts, n, checksum, alg, payload)
    return make_frame("raw", None, ts, n, checksum, alg, mv)
