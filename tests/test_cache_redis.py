"""The Redis tier on a real redis-server the tests start (and stop mid-test), and its circuit breaker."""

from __future__ import annotations

import time
import warnings

import pytest

from kit.cache import Cache, CircuitBreaker, CorruptEntryWarning, RedisTier
from kit.cache.breaker import CLOSED, HALF_OPEN, OPEN, CircuitOpenError
from kit.errors import KitWarning


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# --- the breaker on a fake clock ------------------------------------------------------------------


def test_breaker_closed_open_half_open_closed():
    clock = Clock()
    changes = []
    b = CircuitBreaker(failures=3, reset_timeout=30, timer=clock, on_change=lambda *c: changes.append(c[:2]))
    for _ in range(2):
        b.failure("boom")
    assert b.state == CLOSED and b.allow()
    b.failure("boom")
    assert b.state == OPEN and not b.allow() and b.stats()["short_circuits"] == 1
    clock.now = 29.9
    assert not b.allow()
    clock.now = 30.0
    assert b.state == HALF_OPEN
    assert b.allow()  # the one trial call
    assert not b.allow()  # no second one while it runs
    b.success()
    assert b.state == CLOSED and changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_breaker_failed_trial_reopens_for_another_timeout():
    clock = Clock()
    b = CircuitBreaker(failures=1, reset_timeout=10, timer=clock)
    b.failure("x")
    clock.now = 10
    assert b.allow()
    b.failure("still down")
    assert b.state == OPEN and b.opened == 2 and b.stats()["last_error"] == "still down"
    clock.now = 19
    assert not b.allow()
    clock.now = 20
    assert b.allow()


def test_breaker_success_resets_the_count():
    b = CircuitBreaker(failures=3)
    b.failure()
    b.failure()
    b.success()
    b.failure()
    b.failure()
    assert b.state == CLOSED


def test_breaker_call_wraps_a_function():
    b = CircuitBreaker(failures=1, reset_timeout=60)
    with pytest.raises(ZeroDivisionError):
        b.call(lambda: 1 / 0)
    with pytest.raises(CircuitOpenError, match="circuit open"):
        b.call(lambda: 1)


@pytest.mark.parametrize("kwargs", [{"failures": 0}, {"reset_timeout": -1}])
def test_breaker_arguments(kwargs):
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture
def server():
    from kit.cache._redis_server import RedisServer

    try:
        srv = RedisServer()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with srv:
        yield srv


def test_round_trip_ttl_and_prefixes(server):
    a = RedisTier(server.url, prefix="a:")
    b = RedisTier(server.url, prefix="b:")
    a["k"] = {"v": [1, 2]}
    b["k"] = "other"
    assert a["k"] == {"v": [1, 2]} and b["k"] == "other"
    assert list(a) == ["k"] and len(b) == 1
    a.set("t", 1, ttl=30)
    assert 29 < a.lookup("t")[1] <= 30
    assert a.discard_prefix("") == 2 and len(a) == 0 and len(b) == 1


def test_damaged_value_in_redis_is_a_miss_and_a_warning(server):
    t = RedisTier(server.url, prefix="d:")
    t["k"] = "value " * 20
    raw = bytearray(t.client.get(t._rkey("k")))
    raw[-4] ^= 0x08
    t.client.set(t._rkey("k"), bytes(raw))
    with pytest.warns(CorruptEntryWarning):
        assert t.get("k") is None
    assert t.client.get(t._rkey("k")) is None


def test_server_stopped_mid_test_the_cache_keeps_serving_and_says_so(server, tmp_path):
    clock = Clock()
    redis = RedisTier(server.url, breaker=CircuitBreaker(failures=3, reset_timeout=30, timer=clock),
                      socket_timeout=0.5)
    cache = Cache(tmp_path, redis=redis)
    cache["before"] = "stored everywhere"
    assert redis.get("before") == "stored everywhere"

    server.stop()
    with pytest.warns(KitWarning, match="circuit open"):
        for i in range(5):
            cache.get(f"absent{i}")
    t0 = time.perf_counter()
    cache["during"] = "still works"
    for _ in range(50):
        assert cache.get("during") == "still works"
        cache.get("nothing")
    assert time.perf_counter() - t0 < 1.0  # open circuit: no call waits on the dead server
    cache.l1.clear()
    cache.l2.clear()
    assert cache["before"] == "stored everywhere"  # from disk
    s = cache.stats()
    assert s["tiers"]["redis"]["available"] is False
    assert s["tiers"]["redis"]["breaker"]["state"] == OPEN
    assert any(d.startswith("redis: unavailable") for d in s["degraded"])
    assert s["tiers"]["redis"]["short_circuits"] > 0

    server.start()
    clock.now += 30  # half open: the next call is the trial
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache["after"] = "back"
    assert redis.breaker.state == CLOSED and cache.stats()["degraded"] == []
    assert redis.get("after") == "back"


def test_unreachable_server_from_the_start(tmp_path):
    from kit.cache._redis_server import free_port

    redis = RedisTier(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2)
    cache = Cache(tmp_path, redis=redis)
    with pytest.warns(KitWarning, match="unavailable"):
        for i in range(4):
            cache[f"k{i}"] = i
    assert [cache[f"k{i}"] for i in range(4)] == [0, 1, 2, 3]
    assert redis.stats()["breaker"]["state"] == OPEN
