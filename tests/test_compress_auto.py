"""codec="auto": the per-shape decision cache and the untyped trial from 256 KiB (clock injected, logic only)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit.compression.auto as kc
from kit import registry as _registry
from kit.compression import choose_codec, compress, decompress, frame_info
from kit.compression.auto import decision_cache
from kit.payloads import random_bytes, text


class StepClock:
    """A clock that advances ``step`` seconds per reading: every timed call looks ``step`` long."""

    def __init__(self, step: float) -> None:
        self.step, self.now, self.readings = step, 0.0, 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += self.step
        return self.now


@pytest.fixture
def cache(monkeypatch):
    """The decision cache, emptied, with a clock the test sets (and restored after)."""
    d = decision_cache()
    d.clear()
    monkeypatch.setattr(d, "clock", StepClock(1e-9))
    monkeypatch.setattr(d, "retry_every", 128)
    monkeypatch.setattr(d, "enabled", True)
    yield d
    d.clear()


@pytest.fixture
def calls(monkeypatch):
    """The codecs auto's module asks for (each trial or compression asks once)."""
    seen: list[str] = []
    real = kc.compressor
    monkeypatch.setattr(kc, "compressor", lambda c: seen.append(c) or real(c))
    return seen


def test_shape_key_is_level_objective_octave_first_byte_ascii_and_fresh_bytes(cache):
    a = text(8000, 1)
    mv = memoryview(a)
    key = cache.shape(mv, len(a), "balanced", 1e8)
    mid = len(a) // 2 - 32
    window = a[mid:mid + 64]
    assert key == ("balanced", 1e8, (8000).bit_length(), a[0], True,
                   len(window.translate(None, window[:16])).bit_length())
    # One serializer tag in front of repetitive and of random-looking values: two shapes, not one.
    tag = b"\x01"
    repetitive, noisy = tag + b"repeated words " * 1000, tag + bytes((i * 97) % 251 for i in range(15000))
    assert cache.shape(memoryview(repetitive), len(repetitive), "balanced", 1e8) != cache.shape(
        memoryview(noisy), len(noisy), "balanced", 1e8)
    # same octave, other text of the same kind: the same shape
    b = text(6000, 2)
    assert cache.shape(memoryview(b), len(b), "balanced", 1e8)[2:] == key[2:] or b[0] != a[0]
    assert cache.shape(mv, len(a), "fast", 1e8) != key
    assert cache.shape(mv, len(a), "balanced", 1e9) != key
    assert cache.shape(memoryview(a * 3), 3 * len(a), "balanced", 1e8) != key
    binary = bytes(range(256)) * 32
    assert cache.shape(memoryview(binary), len(binary), "balanced", 1e8)[4] is False


def test_a_fast_trial_is_kept_and_reused_without_another_trial(cache, calls):
    data = text(8000, 1)
    frame = compress(data)
    assert frame_info(frame).codec == "zstd" and decompress(frame) == data
    assert cache.trials == 1 and calls == ["zstd"]
    assert list(cache.snapshot().values()) == ["zstd"]
    readings = cache.clock.readings
    for _ in range(5):
        assert frame_info(compress(data)).codec == "zstd"
    assert cache.trials == 1 and cache.clock.readings == readings  # no trial, no timing


def test_a_standing_decision_is_answered_without_the_general_path(cache, monkeypatch):
    # The shape is computed once per call and its decision read in place: _learned (the general
    # path, which also looks the shape up) runs only for the trial.
    data = text(8000, 1)
    compress(data)
    seen = []
    real = kc._learned
    monkeypatch.setattr(kc, "_learned", lambda *a: seen.append(a) or real(*a))
    for _ in range(5):
        assert decompress(compress(data)) == data
    assert seen == [] and cache.trials == 1
    assert sum(e[1] for e in cache._table.values()) == 6  # the trial's call and five answered in place


def test_a_slow_trial_stores_raw_for_the_shape(cache, calls):
    cache.clock = StepClock(1.0)  # compressing looks like a second: raw always wins
    data = text(8000, 1)
    assert frame_info(compress(data)).codec == "raw"
    assert list(cache.snapshot().values()) == [None]
    del calls[:]
    assert frame_info(compress(data)).codec == "raw" and calls == []  # decided: no codec is called
    assert choose_codec(data) == "raw"


def test_a_slow_first_call_alone_does_not_store_raw(cache):
    # A context's first call at a new size grows its tables: only that call looks slow. The faster of two
    # calls each way decides, so the first call's second alone does not make raw win.
    class FirstCallSlow(StepClock):
        def __call__(self) -> float:
            self.readings += 1
            self.now += 1.0 if self.readings == 2 else 1e-9
            return self.now

    cache.clock = FirstCallSlow(0.0)
    data = text(8000, 1)
    assert frame_info(compress(data)).codec == "zstd" and cache.clock.readings == 8
    assert decompress(compress(data)) == data


def test_the_trial_clock_is_this_threads_cpu_time_or_wall_time_for_blosc2():
    # Which of kit's named clocks (kit.config.CLOCKS) is chosen, by identity: nothing here reads a clock.
    from kit.compression.auto import _Decisions
    from kit.config import CLOCKS

    d = _Decisions()
    assert d.clock_for("zstd") is CLOCKS["thread"] and d.clock_for("blosc2") is CLOCKS["wall"]
    injected = StepClock(1e-9)
    d.clock = injected  # a clock set (tests) is read for every codec
    assert d.clock_for("zstd") is injected and d.clock_for("blosc2") is injected and injected.readings == 0


def test_the_trial_is_run_again_every_retry_every_calls(cache):
    cache.retry_every = 3
    cache.clock = StepClock(1.0)
    data = text(8000, 1)
    compress(data)
    assert cache.trials == 1
    cache.clock = StepClock(1e-9)  # the machine got faster (or the load went away)
    compress(data)
    compress(data)
    assert cache.trials == 1 and frame_info(compress(data)).codec == "zstd"
    assert cache.trials == 2


def test_a_confirmed_decision_stands_longer_and_a_changed_one_starts_again(cache):
    from kit.compression.auto import BACKOFF

    cache.retry_every = 2
    data = text(8000, 1)
    trials_at = []
    for call in range(1, 80):
        before = cache.trials
        compress(data)
        if cache.trials > before:
            trials_at.append(call)
    # Each trial confirms zstd: 2, 4, 8, then 16 = BACKOFF * 2 calls between trials.
    assert BACKOFF == 8 and trials_at[:6] == [1, 3, 7, 15, 31, 47]
    cache.clock = StepClock(1.0)  # compressing now looks slow: the next trial stores raw
    while frame_info(compress(data)).codec != "raw":
        pass
    assert list(cache._table.values())[0][2] == 2  # a changed decision: back to retry_every


def test_set_cost_model_and_clear_forget_the_decisions(cache):
    import json

    from kit.compression import cost_model, set_cost_model

    compress(text(8000, 1))
    assert cache.snapshot()
    saved = cost_model()
    set_cost_model(json.loads(json.dumps(saved)))
    assert cache.snapshot() == {}
    compress(text(8000, 1))
    cache.clear()
    assert cache.snapshot() == {}


def test_the_cache_is_bounded(cache):
    cache.max_entries = 2
    for level in ("fast", "balanced", "max"):
        compress(text(8000, 1), level=level)
    assert len(cache.snapshot()) == 2
    assert all(k[0] != "fast" for k in cache.snapshot())  # the oldest shape went first


def test_below_1_kib_and_typed_input_never_run_a_trial(cache, calls):
    small = text(1000, 1)
    choose_codec(small)
    compress(small)
    assert cache.snapshot() == {} and cache.clock.readings == 0
    pytest.importorskip("numpy")
    import numpy as np

    compress(np.arange(2000, dtype=np.int64))  # 16 KiB, typesize 8: the model decides
    assert cache.snapshot() == {} and cache.clock.readings == 0


def test_off_the_cache_the_probe_and_model_decide(cache, calls):
    cache.enabled = False
    data = text(20_000, 1)
    choose_codec(data)
    compress(data)
    assert cache.snapshot() == {} and cache.clock.readings == 0


def test_untyped_input_from_256_kib_is_timed_on_a_piece(cache, calls):
    if not _registry.backend("compress", "lz4").available:
        pytest.skip("the untyped trial needs lz4")
    data = text(300_000, 5)
    cache.clock = StepClock(1e-9)
    assert choose_codec(data) == "zstd"
    assert cache.clock.readings == 4  # two timed calls of the piece
    cache.clock = StepClock(1.0)  # zstd looks 4x slower than the model (the cap): raw is cheaper
    assert choose_codec(data) == "raw"
    assert choose_codec(data, objective="ratio") == "zstd"  # where size dominates, it still pays
    assert cache.snapshot() == {}  # no cached decision at these sizes
    del calls[:]
    cache.clock = StepClock(1e-9)
    assert choose_codec(random_bytes(300_000, 3)) == "raw" and calls == []  # the probe: no trial


def test_threads_share_the_cache_safely(cache, monkeypatch):
    """Lookups, trials, records and clears from several threads: every answer is a recorded decision.

    The trial is replaced by one that needs no codec: the codec libraries' shared contexts are a
    separate matter (see the registry), this checks the cache's own bookkeeping.
    """
    cache.retry_every = 3
    decided = {11: "zstd", 12: None, 13: "zstd", 14: None}

    def trial(mv, n, level, bandwidth):
        return decided[n.bit_length()], None

    monkeypatch.setattr(cache, "trial", trial)
    inputs = [text(1100 << i, i) for i in range(4)]  # 1 KiB and up: octaves 11 to 14
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for j in range(300):
                data = inputs[(seed + j) % len(inputs)]
                codec, payload = kc._learned(memoryview(data), len(data), "balanced", 1e8)
                assert codec == decided[len(data).bit_length()] and payload is None
                if j % 97 == 0:
                    cache.clear()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(cache.snapshot().values()) <= {None, "zstd"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(piece=st.binary(min_size=1, max_size=300), repeats=st.integers(4, 200), noise=st.binary(max_size=3000),
       step=st.sampled_from([1e-9, 1e-5, 1.0]), retry=st.integers(1, 5))
def test_round_trip_and_bound_whatever_the_cache_decided(cache, piece, repeats, noise, step, retry):
    cache.clock = StepClock(step)
    cache.retry_every = retry
    data = piece * repeats + noise
    for _ in range(3):
        frame = compress(data)
        assert decompress(frame) == data
        assert len(frame) <= len(data) + 64
