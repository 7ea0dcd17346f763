"""kit.Cache: the tiers composed (promotion, TTL, write-through/back, failures), and ``kit cache``."""

from __future__ import annotations

import json
import sqlite3
import warnings

import pytest

import kit
from kit.cache import Cache, CorruptEntryWarning, LFUTier, UnsupportedValue
from kit.errors import KitWarning


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "c", max_entries=100)
    yield c
    c.close()


def test_lazy_public_name():
    assert kit.Cache is Cache


def test_mapping_protocol(cache):
    cache["a"] = 1
    cache.set("b", [1, 2])
    assert cache["a"] == 1 and cache.get("b") == [1, 2] and cache.get("c", "d") == "d"
    assert "a" in cache and "c" not in cache
    assert sorted(cache) == ["a", "b"] and len(cache) == 2
    del cache["a"]
    with pytest.raises(KeyError):
        del cache["a"]
    with pytest.raises(KeyError):
        cache["a"]
    assert cache.delete("b") is True and cache.delete("b") is False


def test_write_through_reaches_every_tier(cache):
    cache["k"] = {"v": 1}
    assert cache.l1.get("k") == {"v": 1}
    assert cache.l2.get("k") == {"v": 1}
    assert cache.l3.get("k") == {"v": 1}


def test_a_hit_below_is_promoted_with_its_remaining_ttl(tmp_path):
    c = Cache(tmp_path, max_entries=2)
    c.set("k", "v", ttl=100)
    c.l1.clear()
    c.l2.clear()
    assert c.get("k") == "v"
    s = c.stats()
    assert s["tiers"]["l3"]["hits"] == 1 and s["tiers"]["l1"]["misses"] == 1 and s["hits"] == 1
    value, remaining = c.l1.lookup("k")
    assert value == "v" and 95 < remaining <= 100
    # A small frame reaches L2 when L1 evicts the value (LAZY_L2_BYTES), with its remaining TTL then.
    assert "k" not in c.l2
    c["a"], c["b"] = 1, 2
    assert "k" not in c.l1 and c.l2.lookup("k")[1] <= 100


def test_a_new_process_reads_what_another_wrote(tmp_path):
    a = Cache(tmp_path)
    a["shared"] = ("tuple", 1)
    a.close()
    b = Cache(tmp_path)
    assert b["shared"] == ("tuple", 1)
    b.close()


def test_ttl_in_memory_with_an_injected_clock(tmp_path):
    clock = Clock()
    c = Cache(disk=False, timer=clock, ttl=10)
    c["k"] = 1
    c.set("long", 2, ttl=1000)
    clock.now += 11
    assert c.get("k") is None and c["long"] == 2


def test_ttl_reaches_the_disk_tier(tmp_path):
    c = Cache(tmp_path)
    c.set("k", 1, ttl=50)
    _, remaining = c.l3.lookup("k")
    assert 45 < remaining <= 50
    c.set("gone", 1, ttl=-1)
    assert "gone" not in c


def test_invalid_arguments_list_the_choices(tmp_path):
    with pytest.raises(ValueError, match="through, back"):
        Cache(disk=False, write="around")
    with pytest.raises(ValueError, match="lru, lfu, ttl"):
        Cache(disk=False, memory="fifo")
    with pytest.raises(ValueError, match="ttl"):
        Cache(disk=False, ttl=0)


def test_memory_tier_object_and_policies(tmp_path):
    c = Cache(disk=False, memory=LFUTier(maxsize=2))
    assert c.l1.policy == "lfu"
    c["a"] = 1
    c.get("a")
    c["b"] = 2
    c["c"] = 3
    assert "b" not in c.l1 and c["b"] == 2  # evicted from L1, still in L2


def test_write_back_defers_until_eviction_flush_or_close(tmp_path):
    c = Cache(tmp_path, write="back", max_entries=2)
    c["a"] = 1
    assert c.l3.get("a") is None and c.stats()["dirty"] == 1
    c["b"] = 2
    c["c"] = 3  # evicts "a" from L1: written back
    assert c.l3.get("a") == 1 and c.l3.get("b") is None
    assert c.flush() == 2
    assert c.l3.get("c") == 3
    c["d"] = 4
    c.close()
    assert Cache(tmp_path)["d"] == 4


def test_value_too_large_for_l1_still_reaches_the_lower_tiers(tmp_path):
    c = Cache(tmp_path, max_bytes=1000)
    c["big"] = b"x" * 5000
    assert "big" not in c.l1 and c["big"] == b"x" * 5000
    c2 = Cache(tmp_path, max_bytes=1000, write="back")
    c2["big2"] = b"y" * 5000
    assert c2.l3.get("big2") == b"y" * 5000


def test_unsupported_values_raise_and_store_nothing(cache):
    class Opaque:
        pass

    with pytest.raises(UnsupportedValue, match="pickle=True"):
        cache["o"] = Opaque()
    assert "o" not in cache
    cache.set_memory("o", Opaque())
    assert isinstance(cache["o"], Opaque) and cache.l3.get("o") is None


def test_set_memory_hides_an_older_value_below(cache):
    cache["k"] = "old"
    cache.set_memory("k", "new")
    cache.l1.clear()
    assert cache.get("k") is None


class Point:
    def __init__(self, x):
        self.x = x


def test_pickle_is_opt_in_and_signed(tmp_path):
    key = b"s" * 32
    c = Cache(tmp_path, pickle=True, pickle_key=key)
    c["p"] = Point(3)
    c.close()
    assert Cache(tmp_path, pickle=True, pickle_key=key)["p"].x == 3
    plain = Cache(tmp_path)  # no pickle: never unpickled, a miss and a warning
    with pytest.warns(CorruptEntryWarning, match="pickle=True"):
        assert plain.get("p") is None
    other = Cache(tmp_path, pickle=True, pickle_key=b"o" * 32)
    other["q"] = Point(1)
    other.close()
    with pytest.warns(CorruptEntryWarning, match="signature"):
        assert Cache(tmp_path, pickle=True, pickle_key=key).get("q") is None


def test_damaged_disk_entry_is_a_miss_and_a_warning_never_wrong_data(tmp_path):
    c = Cache(tmp_path)
    c["k"] = "the right value " * 10
    c.close()
    con = sqlite3.connect(tmp_path / "cache.sqlite3")
    (blob,) = con.execute("SELECT value FROM kit_entries").fetchone()
    damaged = bytearray(blob)
    damaged[-3] ^= 0x20
    con.execute("UPDATE kit_entries SET value = ?", (bytes(damaged),))
    con.commit()
    con.close()
    c = Cache(tmp_path)
    with pytest.warns(CorruptEntryWarning):
        assert c.get("k") is None
    assert c.stats()["tiers"]["l3"]["errors"] == 1


def test_a_failing_disk_tier_warns_and_the_cache_keeps_serving(tmp_path, monkeypatch):
    c = Cache(tmp_path)
    c["k"] = 1

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(c.l3, "store_blob", broken)
    monkeypatch.setattr(c.l3, "lookup_blob", broken)
    monkeypatch.setattr(c.l3, "discard", broken)
    with pytest.warns(KitWarning, match="l3: write failed"):
        c["j"] = 2
    assert c["j"] == 2 and c["k"] == 1
    c.l1.clear()
    c.l2.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert c.get("k") is None
    assert c.stats()["tiers"]["l3"]["errors"] >= 2


def test_clear_by_prefix_and_all(cache):
    for k in ("kit.memoize:m.f:1", "kit.memoize:m.f:2", "kit.memoize:m.g:1", "user"):
        cache[k] = k
    cache.clear(prefix="kit.memoize:m.f:")
    assert sorted(cache) == ["kit.memoize:m.g:1", "user"]
    cache.l1.clear()
    assert sorted(cache) == ["kit.memoize:m.g:1", "user"]
    cache.clear()
    assert list(cache) == [] and len(cache.l3) == 0


def test_stats_report_every_tier_and_compression(cache):
    for i in range(10):
        cache[i] = {"text": "repeated words " * 1000}
    for i in range(12):
        cache.get(i)
    s = cache.stats()
    assert set(s["tiers"]) == {"l1", "l2", "l3"}
    assert s["hits"] == 10 and s["misses"] == 2 and s["hit_rate"] == round(10 / 12, 4)
    assert s["tiers"]["l2"]["reduction"] > 0.6
    assert s["degraded"] == []
    for t in s["tiers"].values():
        assert {"hits", "misses", "evictions", "bytes", "latency_get"} <= set(t)


def test_default_path_follows_kit_cache_dir(tmp_path):
    from kit.cache import default_path

    # one meaning of a cache folder: KIT_CACHE_DIR=D, Cache(D), `kit cache stats --path D` all use D itself
    with kit.config_context(cache_dir=str(tmp_path / "base")):
        assert default_path() == tmp_path / "base"
        c = Cache()
        assert c.l3.path.parent == tmp_path / "base"
        c.close()
    explicit = Cache(tmp_path / "base")
    assert explicit.l3.path == c.l3.path
    explicit.close()


def test_threads_share_a_cache(cache):
    import threading

    errors = []

    def work(n):
        try:
            for i in range(100):
                cache[(n, i % 10)] = i
                cache.get((n, (i + 3) % 10))
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) == 40


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_stats_and_clear(tmp_path, capsys):
    from kit.cli import main

    c = Cache(tmp_path)
    for i in range(3):
        c[f"kit.memoize:x:{i}"] = i
    c["keep"] = "me"
    c.get("keep")
    c.l1.clear()
    c.l2.clear()
    c.get("keep")
    c.close()
    assert main(["cache", "stats", "--path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "l3" in out and "4" in out and "lifetime" in out
    assert main(["cache", "stats", "--path", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tiers"]["l3"]["entries"] == 4 and info["lifetime"]["hits"] == 1
    assert main(["cache", "clear", "--path", str(tmp_path), "--prefix", "kit.memoize:"]) == 0
    assert "removed 3 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--path", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 1
    assert main(["cache", "stats", "--path", str(tmp_path / "nowhere")]) == 0
    assert "no on-disk cache" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    from kit.cli import main

    Cache(tmp_path).close()
    assert main(["cache", "clear", "--path", str(tmp_path), "--prefix", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "prefix" in err


# --- many keys at once --------------------------------------------------------------------------

def test_set_many_and_get_many_equal_a_loop_of_set_and_get(tmp_path):
    values = {f"k{i}": {"i": i, "s": "x" * i} for i in range(50)}
    with Cache(tmp_path / "many", max_entries=10) as c:
        c.set_many(values)
        assert c.get_many(list(values) + ["absent"]) == values
        assert c.get_many([]) == {} and c.get_many(["k1", "k1"]) == {"k1": values["k1"]}
        assert c.l3.lookup_many(["k3", "absent"])["k3"][1] is None  # no ttl
    with Cache(tmp_path / "many", max_entries=10) as c:  # the disk tier holds them all
        c.l2.clear()
        assert c.get_many(values) == values
        # promoted: into L1, and into L2 as L1 evicted them (small frames, LAZY_L2_BYTES)
        assert "k49" in c.l1 and "k0" not in c.l1 and "k0" in c.l2
        assert c.stats()["misses"] == 0


def test_set_many_is_one_transaction_on_disk(tmp_path, monkeypatch):
    c = Cache(tmp_path)
    writes = []
    real = c.l3._write
    monkeypatch.setattr(c.l3, "_write", lambda body: writes.append(1) or real(body))
    c.set_many((f"k{i}", i) for i in range(100))
    assert writes == [1] and c.l3.sets == 100
    c.close()


def test_set_many_ttl_and_write_back(tmp_path):
    clock = Clock()
    c = Cache(tmp_path / "ttl", timer=clock)
    c.l3.clock = clock
    c.set_many({"a": 1, "b": 2}, ttl=10)
    clock.now += 11
    assert c.get_many(["a", "b"]) == {} and c.l3.lookup_many(["a"]) == {}
    c.set_many({"a": 1}, ttl=-1)  # nothing lives: nothing is stored
    assert c.get_many(["a"]) == {}
    back = Cache(tmp_path / "back", write="back")
    back.set_many({"x": 1, "y": 2})
    assert back.l3.get("x") is None and back.stats()["dirty"] == 2
    back.close()
    assert Cache(tmp_path / "back").get_many(["x", "y"]) == {"x": 1, "y": 2}


def test_set_many_stores_nothing_when_one_value_is_unsupported(cache):
    with pytest.raises(UnsupportedValue):
        cache.set_many({"ok": 1, "bad": object()})
    assert cache.get_many(["ok", "bad"]) == {}


def test_get_many_damaged_row_and_declined_frame(tmp_path):
    c = Cache(tmp_path, disk_bytes=4000)
    assert c.l3.store_many([("small", c.serializer.dumps(1)), ("huge", b"x" * 3000)]) == [True, False]
    c.set_many({"k": "the right value " * 10})
    c.close()
    con = sqlite3.connect(tmp_path / "cache.sqlite3")
    con.execute("UPDATE kit_entries SET chk = chk + 1 WHERE key = ?", (b"sk",))
    con.commit()
    con.close()
    c = Cache(tmp_path)
    with pytest.warns(CorruptEntryWarning):
        assert c.get_many(["k", "small", "huge"]) == {"small": 1}
    c.close()


def test_a_failing_disk_tier_in_the_batch_path(tmp_path, monkeypatch):
    c = Cache(tmp_path)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    for name in ("store_many", "lookup_many", "discard"):
        monkeypatch.setattr(c.l3, name, broken)
    with pytest.warns(KitWarning, match="l3: write failed"):
        c.set_many({"j": 2})
    c.l1.clear()
    c.l2.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert c.get_many(["j"]) == {}
    assert c.stats()["tiers"]["l3"]["errors"] >= 2


def test_a_value_nested_990_deep_is_a_clear_error_and_stores_nothing(tmp_path):
    from kit.cache.values import UnsupportedValue

    deep: list = []
    for _ in range(990):
        deep = [deep]
    nested: dict = {}
    inner = nested
    for _ in range(990):
        inner["a"] = {}
        inner = inner["a"]
    with Cache(tmp_path) as c:
        for value in (deep, nested):
            with pytest.raises(UnsupportedValue, match="nested deeper than 500 levels"):
                c.set("deep", value)
            assert "deep" not in c


def test_a_value_over_max_value_bytes_is_refused_whole(tmp_path):
    from kit.cache.values import ValueTooLarge

    with Cache(tmp_path, max_value_bytes=1000) as c:
        with pytest.raises(ValueTooLarge, match="over this cache's limit of 1000 bytes"):
            c.set("big", b"x" * 5000)
        assert "big" not in c
        c.set("small", b"x" * 100)
        assert c.get("small") == b"x" * 100
