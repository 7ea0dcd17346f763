"""kit.Cache: a small frame read from disk goes into L2 when L1 evicts the value (the deferred promotion).

The deferral must never put an older frame into L2 after a newer value was
written, deleted or cleared, nor an expired one; larger frames, and values L1
cannot hold, are promoted at once as before.
"""

from __future__ import annotations

import os

import pytest

from kit.cache import Cache
from kit.cache.core import LAZY_L2_BYTES


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _read_from_disk(c: Cache, key: str) -> object:
    c.l1.clear()
    c.l2.clear()
    return c.get(key)


@pytest.fixture
def cache(tmp_path):
    clock = Clock()
    c = Cache(tmp_path / "c", max_entries=2, timer=clock)
    c.clock = clock  # the test's handle on the memory tiers' clock
    yield c
    c.close()


def test_a_small_disk_hit_goes_into_l2_when_l1_evicts_it_with_its_remaining_ttl(cache):
    cache.set("k", {"v": 1}, ttl=100)
    assert _read_from_disk(cache, "k") == {"v": 1}
    assert "k" in cache.l1 and "k" not in cache.l2
    cache.clock.now += 30
    cache["a"], cache["b"] = 1, 2  # L1 (2 entries) evicts "k"
    assert "k" not in cache.l1
    value, remaining = cache.l2.lookup("k")
    assert value == {"v": 1} and remaining == pytest.approx(70, abs=0.5)  # L3 counts on the wall clock
    assert cache.get("k") == {"v": 1}  # answered by L2 now
    assert cache.stats()["tiers"]["l2"]["hits"] >= 2


@pytest.mark.parametrize("write", ["set", "set_memory", "delete", "clear", "clear_prefix", "set_many"])
def test_a_write_after_the_hit_voids_the_deferred_promotion(cache, write):
    cache.set("k:1", "old")
    assert _read_from_disk(cache, "k:1") == "old"
    if write == "set":
        cache.set("k:1", "new")
    elif write == "set_memory":
        cache.set_memory("k:1", "new")
    elif write == "set_many":
        cache.set_many({"k:1": "new"})
    elif write == "delete":
        cache.delete("k:1")
    elif write == "clear":
        cache.clear()
    else:
        cache.clear(prefix="k:")
    cache["a"], cache["b"] = 1, 2  # evicts "k:1" from L1 if it is there
    assert "k:1" not in cache.l1
    # L2 holds the newer value (written through) or nothing; never the older frame.
    through = write in ("set", "set_many")
    assert cache.l2.get("k:1", "absent") == ("new" if through else "absent")
    assert cache.get("k:1", "absent") == ("new" if through else "absent")


def test_an_entry_that_expired_in_l1_is_not_promoted_on_eviction(cache):
    cache.set("k", "v", ttl=10)
    assert _read_from_disk(cache, "k") == "v"
    cache.clock.now += 11
    cache._l1_evicted("k", cache.l1.peek("k"))  # the hook L1 calls, with the expired value
    assert "k" not in cache.l2


def test_a_value_l1_holds_as_another_object_is_not_promoted(cache):
    # A deferred promotion stands for the value L1 got from that read, compared by identity.
    cache.set("k", [1])
    assert _read_from_disk(cache, "k") == [1]
    cache._l1_evicted("k", [1])  # an equal, other object: not the promoted value
    assert "k" not in cache.l2


def test_a_large_frame_is_promoted_into_l2_at_once(cache):
    big = os.urandom(LAZY_L2_BYTES + 1)  # does not compress: its frame is larger than LAZY_L2_BYTES
    cache.set("big", big)
    assert _read_from_disk(cache, "big") == big
    assert "big" in cache.l1 and cache.l2.get("big") == big


def test_a_value_too_large_for_l1_is_promoted_into_l2_at_once(tmp_path):
    with Cache(tmp_path, max_bytes=64) as c:
        c.set("k", b"x" * 1000)
        assert _read_from_disk(c, "k") == b"x" * 1000
        assert "k" not in c.l1 and c.l2.get("k") == b"x" * 1000


def test_deferred_promotions_stay_bounded_when_l1_is_emptied_behind_the_cache(tmp_path):
    with Cache(tmp_path, max_entries=10) as c:
        c.set_many({f"k{i}": i for i in range(500)})
        for i in range(500):
            c.l1.clear()  # not through the cache: the deferred promotions cannot know
            assert c.get(f"k{i}") == i
        assert len(c._l2_due) <= 64 + 1
