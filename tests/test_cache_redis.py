"""The Redis tier on a real redis-server the tests start (and stop mid-test), and its circuit breaker."""

from __future__ import annotations

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
    raw = bytearray(t.client.hget(t._rkey("k"), "d"))
    raw[-4] ^= 0x08
    t.client.hset(t._rkey("k"), "d", bytes(raw))
    with pytest.warns(CorruptEntryWarning):
        assert t.get("k") is None
    assert t.client.hget(t._rkey("k"), "d") is None  # a tombstone now


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
    errors, refused = redis.errors, redis.short_circuits
    cache["during"] = "still works"
    for _ in range(50):
        assert cache.get("during") == "still works"
        cache.get("nothing")
    # Open circuit: no call reached (and waited on) the dead server; each was refused at once.
    assert redis.errors == errors and redis.short_circuits >= refused + 51
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


# --- after an outage: nothing stale (a real server paused with SIGSTOP, resumed with SIGCONT) ------


def _tier(server, clock, failures=2, prefix="o:"):
    return RedisTier(server.url, prefix=prefix, socket_timeout=0.2,
                     breaker=CircuitBreaker(failures=failures, reset_timeout=30, timer=clock))


def _open_circuit(cache):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while cache.redis.breaker.state != OPEN:
            cache.get("probe")  # each waits for the socket timeout, then counts a failure


def test_a_delete_during_an_outage_is_not_undone_when_redis_is_back(server, tmp_path):
    clock = Clock()
    a = Cache(tmp_path / "a", redis=_tier(server, clock))
    a["k"] = "deleted value"
    server.pause()
    try:
        _open_circuit(a)
        assert a.delete("k")  # L1 and disk had it; Redis was not reached
    finally:
        server.resume()
    clock.now += 30  # half open: the next call is the trial
    assert a.get("k") is None  # the first call back tombstones k before anything is read
    assert a.redis.pending == 0 and a.redis.replayed == 1
    b = Cache(tmp_path / "b", redis=_tier(server, Clock()))
    assert b.get("k") is None


def test_a_set_during_an_outage_leaves_no_older_value_for_another_cache(server, tmp_path):
    clock = Clock()
    a = Cache(tmp_path / "a", redis=_tier(server, clock))
    a["k"] = "v1"
    server.pause()
    try:
        _open_circuit(a)
        a["k"] = "v2"  # skipped in Redis, which still holds v1
    finally:
        server.resume()
    clock.now += 30
    a.get("something else")  # a's first call back replays what it missed
    b = Cache(tmp_path / "b", redis=_tier(server, Clock()))
    assert b.get("k") is None  # not v1: a miss, and b computes it again
    assert a.get("k") == "v2"


def test_writes_that_timed_out_and_land_late_cannot_replace_a_newer_one(server, tmp_path):
    import redis as redis_py

    a = Cache(tmp_path / "a", redis=_tier(server, Clock(), failures=10))
    b = Cache(tmp_path / "b", redis=_tier(server, Clock(), failures=10))
    for c in (a, b):  # connected, scripts loaded: what they send while the server is paused lands later
        c["warm"] = 1
        c.delete("warm")
    a["k"] = "v0"
    server.pause()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a["k"] = "older"  # sent, unanswered: the paused server runs it when it resumes
            b["k"] = "newer"  # sent after it, from another cache
    finally:
        server.resume()
    raw = redis_py.Redis.from_url(server.url)
    for _ in range(3):  # round trips on a new connection: the buffered commands ran before them
        raw.ping()
    c = Cache(tmp_path / "c", redis=_tier(server, Clock()))
    # In whichever order the server ran the late writes (and the writers' tombstones after them),
    # the older value never stands: the newer one or a tombstone does.
    assert c.get("k") in ("newer", None)
    # Both writers know their writes may have missed, and tombstone the key on their next call.
    assert a.redis.pending == 1 and b.redis.pending == 1
    a.get("x")
    b.get("x")
    assert a.redis.pending == 0 and b.redis.pending == 0
    for tier in (c.l1, c.l2, c.l3):
        tier.clear()
    assert c.get("k") is None


def test_an_older_version_never_replaces_a_newer_one(server):
    t = _tier(server, Clock())
    t["k"] = "new"
    rkey = t._rkey("k")
    stale = b"0" * 20 + b"ffffffff"  # older than any version this tier writes
    blob = t.serializer.dumps("old")
    from kit.cache.redis_tier import _check

    assert t._set_script(keys=[rkey], args=[stale, _check(t._alg, rkey, blob) + blob, 0]) == 0
    assert t.get("k") == "new"
    assert t.discard("k")
    assert t._set_script(keys=[rkey], args=[stale, _check(t._alg, rkey, blob) + blob, 0]) == 0
    assert t.get("k") is None and "k" not in list(t) and len(t) == 0  # the tombstone is no key


def test_too_many_missed_writes_drop_the_namespace_when_redis_is_back(server, tmp_path):
    clock = Clock()
    tier = _tier(server, clock)
    tier.max_pending = 3
    a = Cache(tmp_path / "a", redis=tier)
    other = RedisTier(server.url, prefix="other:")
    other["kept"] = 1
    for i in range(5):
        a[f"k{i}"] = i
    server.pause()
    try:
        _open_circuit(a)
        for i in range(5):
            a[f"k{i}"] = -i
    finally:
        server.resume()
    assert tier.stats()["lost_track"] is True
    clock.now += 30
    a.get("x")
    assert len(tier) == 0 and other["kept"] == 1  # this cache's namespace only
