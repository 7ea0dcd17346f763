"""kit.json: the contract across every backend, JSONTestSuite, errors, fallbacks."""

from __future__ import annotations

import datetime
import math
import uuid

import pytest

import kit
from kit import registry as _registry
from kit.errors import KitWarning
from kit.registry.json import json_test_suite, same_value, stdlib_decode, stdlib_encode

ENCODERS = [pytest.param(b.name, id=b.name) for b in _registry.backends("json.encode")]
DECODERS = [pytest.param(b.name, id=b.name) for b in _registry.backends("json.decode")]


def _require(op: str, name: str) -> None:
    b = _registry.backend(op, name)
    if not b.available:
        pytest.skip(f"{name}: {b.unavailable_reason()}")


def _verified(op: str, name: str) -> bool:
    from kit.engine import get_engine

    return get_engine().verification(op, name).ok


def _suite(prefix: str) -> list:
    cases = [c for c in json_test_suite() if c[0].startswith(prefix)]
    return cases


@pytest.mark.parametrize("name", DECODERS)
def test_jsontestsuite_must_reject(name, shared_data):
    _require("json.decode", name)
    cases = _suite("n_")
    assert len(cases) > 150
    accepted = []
    for case, data in cases:
        try:
            kit.json.loads(data, backend=name)
        except Exception:
            continue
        accepted.append(case)
    assert accepted == [], f"{name} accepted invalid JSON: {accepted[:5]}"


@pytest.mark.parametrize("name", DECODERS)
def test_jsontestsuite_must_parse_like_the_baseline(name, shared_data):
    _require("json.decode", name)
    if not _verified("json.decode", name):
        pytest.skip(f"{name} fails verification for json.decode and is never selected for it (see kit info)")
    for case, data in _suite("y_"):
        expected = stdlib_decode(data)
        try:
            got = kit.json.loads(data, backend=name)
        except Exception:
            # A forced backend may reject (and the dispatcher then falls back) but
            # must never return something different.
            got = kit.json.loads(data)
        assert same_value(got, expected), case


def test_dispatched_loads_matches_baseline_on_implementation_defined_cases(shared_data):
    for case, data in _suite("i_"):
        try:
            expected = ("ok", stdlib_decode(data))
        except Exception as exc:
            expected = ("error", type(exc))
        try:
            got = ("ok", kit.json.loads(data))
        except Exception as exc:
            got = ("error", type(exc))
        if expected[0] == "ok":
            assert got[0] == "ok" and same_value(got[1], expected[1]), case
        else:
            assert got[0] == "error", case


@pytest.mark.parametrize("doc", ["twitter.json", "citm_catalog.json", "canada.json"])
def test_standard_documents_round_trip_exactly(doc, shared_data):
    data = (shared_data / "json" / doc).read_bytes()
    expected = stdlib_decode(data)
    assert same_value(kit.json.loads(data), expected)
    assert same_value(kit.json.loads(kit.json.dumps(expected)), expected)


@pytest.mark.parametrize("name", ENCODERS)
def test_contract_cases_encode_like_the_baseline(name):
    _require("json.encode", name)
    from kit.registry.json import _encode_cases

    if not _verified("json.encode", name):
        pytest.skip(f"{name} fails verification for json.encode and is never selected for it (see kit info)")
    for label, obj in _encode_cases():
        expected = stdlib_encode(obj)
        try:
            out = kit.json.dumps(obj, backend=name)
        except (TypeError, ValueError, OverflowError):
            continue  # a forced backend may refuse or decline; the dispatcher falls back
        assert out == expected, label  # the same bytes, not only the same value
    for label, obj in _encode_cases():
        assert kit.json.dumps(obj) == stdlib_encode(obj), label


def test_contract_examples():
    assert kit.json.dumps({"a": float("nan"), "b": [2**70]}) == b'{"a":null,"b":[1180591620717411303424]}'
    assert kit.json.dumps({1: "x", None: "y"}) == b'{"1":"x","null":"y"}'
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    assert kit.json.dumps([when, uuid.UUID(int=1)]) == b'["2024-05-06T07:08:09Z","00000000-0000-0000-0000-000000000001"]'
    assert kit.json.dumps("é日") == "\"é日\"".encode()
    assert kit.json.loads(b"123456789012345678901234567890") == 123456789012345678901234567890
    assert kit.json.loads("1e400") == math.inf
    assert kit.json.loads(b'{"a": 1, "a": 2}') == {"a": 2}


def test_unserializable_names_type_and_path():
    with pytest.raises(TypeError, match=r"type set is not JSON serializable at \$\.items\[3\]"):
        kit.json.dumps({"items": [1, 2, 3, {4}]})
    with pytest.raises(TypeError, match=r"type bytes .* at \$\[0\]\.k"):
        kit.json.dumps([{"k": b"x"}])
    assert kit.json.dumps({"s": {1, 2}}, default=sorted) == b'{"s":[1,2]}'
    with pytest.raises(TypeError, match=r"keys must be str, int, float, bool or None, not tuple, at \$\.a \(key"):
        kit.json.dumps({"a": {(1, 2): 3}})
    with pytest.raises(UnicodeEncodeError, match=r"lone surrogate in the str at \$\[1\]\.k"):
        kit.json.dumps([1, {"k": "x\ud800"}])
    with pytest.raises(ValueError, match=r"non-finite floats cannot be keys"):
        kit.json.dumps({float("nan"): 1})


def test_circular_reference_names_where_the_cycle_closes():
    loop: dict = {"a": [1, {"b": None}]}
    loop["a"][1]["b"] = loop["a"]
    with pytest.raises(ValueError, match=r"Circular reference detected at \$\.a\[1\]\.b: it is the object at \$\.a "):
        kit.json.dumps(loop)
    # A shared sub-object met before the cycle is not blamed: it is written twice, as the baseline does.
    shared = [1, 2]
    doc = [shared, shared, {"self": None}]
    doc[2]["self"] = doc[2]
    with pytest.raises(ValueError, match=r"at \$\[2\]\.self: it is the object at \$\[2\] again"):
        kit.json.dumps(doc)
    assert kit.json.dumps([shared, {"x": shared}]) == b"[[1,2],{\"x\":[1,2]}]"
    me: list = []
    me.append(me)
    with pytest.raises(ValueError, match=r"at \$\[0\]: it is the object at \$ again"):
        kit.json.dumps(me)
    # Through a dataclass (the hook's conversion is marked too, as the json module marks it).
    import dataclasses

    @dataclasses.dataclass
    class Node:
        next: object = None

    n = Node()
    n.next = n
    with pytest.raises(ValueError, match=r"Circular reference detected at \$\.next"):
        kit.json.dumps(n)


def test_invalid_json_gives_position():
    with pytest.raises(ValueError, match=r"line 1 column 8 \(char 7\)"):
        kit.json.loads(b'{"a": 1')
    with pytest.raises(ValueError, match="NaN"):
        kit.json.loads(b"[NaN]")
    with pytest.raises(TypeError, match="expects bytes"):
        kit.json.loads(12)


def test_forced_backend_is_never_swapped():
    _require("json.encode", "orjson")
    with pytest.raises(TypeError):
        kit.json.dumps([2**70], backend="orjson")  # orjson cannot; it is not replaced
    with kit.config_context(backends={"json.encode": "orjson"}):
        with pytest.raises(TypeError):
            kit.json.dumps([2**70])
    with pytest.raises(ValueError, match="valid backends"):
        kit.json.dumps([1], backend="ujson")


def _select(engine, op: str, name: str) -> None:
    engine.wisdom.store_selection(_registry.operation(op), {s: name for s in _registry.SIZE_CLASSES}, [], "quick")
    engine._invalidate()


def test_fallback_is_counted_per_input_class(fresh_engine):
    _require("json.encode", "orjson")
    _select(fresh_engine, "json.encode", "orjson")
    before = fresh_engine.fallbacks[("json.encode", "orjson")]
    assert kit.json.dumps([2**70]) == b"[1180591620717411303424]"
    assert kit.json.dumps({"p": 1e-7}) == b'{"p":1e-07}'
    assert kit.json.dumps([1e-5, -3.2e-9]) == b"[1e-05,-3.2e-09]"
    assert kit.json.dumps({"p": 1e-7}, default=str) == b'{"p":1e-07}'  # the default= path falls back too
    assert fresh_engine.fallbacks[("json.encode", "orjson")] == before + 4
    row = next(r for r in kit.info().rows if r["operation"] == "json.encode" and r["backend"] == "orjson")
    assert row["fallbacks"] == before + 4
    assert row["fallback_classes"]["floats 1e-9 <= |x| < 1e-4"] == 3
    assert row["fallback_classes"]["TypeError: Integer exceeds 64-bit range"] == 1
    assert "fallbacks of orjson (json.encode): " in str(kit.info())


def test_the_issue_reproducers_encode_as_the_baseline_with_orjson_selected(fresh_engine):
    """Each class the differential fuzzing found, through the default call with orjson as the engine's choice."""
    _require("json.encode", "orjson")
    import collections
    import dataclasses

    @dataclasses.dataclass
    class Record:
        id: int
        _etag: str

    od = collections.OrderedDict(a=1, b=2)
    od.move_to_end("a")
    amsterdam_1900 = datetime.timezone(datetime.timedelta(minutes=19, seconds=32))
    cases = {
        "time with 5-digit microseconds": datetime.time(8, 28, 15, 48930),
        "dataclass field with _": Record(1, "x"),
        "offset with seconds": datetime.datetime(1900, 1, 1, tzinfo=amsterdam_1900),
        "offset of 30 s": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(seconds=30))),
        "small float": -1e-7,
        "OrderedDict order": od,
        "non-finite in a dataclass": Record(1, float("nan")),  # the baseline itself wrote null here
    }
    _select(fresh_engine, "json.encode", "orjson")
    expected = {
        "time with 5-digit microseconds": b'"08:28:15.048930"',
        "dataclass field with _": b'{"id":1,"_etag":"x"}',
        "offset with seconds": b'"1900-01-01T00:00:00+00:19:32"',
        "offset of 30 s": b'"2024-01-01T00:00:00+00:00:30"',
        "small float": b"-1e-07",
        "OrderedDict order": b'{"b":2,"a":1}',
        "non-finite in a dataclass": b'{"id":1,"_etag":null}',
    }
    for label, obj in cases.items():
        assert kit.json.dumps(obj) == stdlib_encode(obj) == expected[label], label


def test_simdjson_declines_a_str_with_a_leading_bom(fresh_engine):
    _require("json.decode", "simdjson")
    from kit.registry import Declined

    _select(fresh_engine, "json.decode", "simdjson")
    with pytest.raises(ValueError, match="Unexpected UTF-8 BOM"):  # the baseline's answer
        kit.json.loads("\ufeff[1]")
    assert kit.json.loads(b"\xef\xbb\xbf[1]") == [1]  # in bytes, the baseline skips it
    with pytest.raises(Declined, match="str starting with U\\+FEFF"):
        kit.json.loads("\ufeff[1]", backend="simdjson")  # named: never swapped


def test_the_float_guard_catches_exactly_the_forms_orjson_writes_differently():
    _require("json.encode", "orjson")
    import orjson
    import random

    from kit.registry.json import small_float_written

    rng = random.Random(5)
    for exponent in range(-325, 309):
        for _ in range(4):
            x = rng.choice((1, -1)) * rng.uniform(1, 10) * 10.0 ** exponent
            if not math.isfinite(x):
                continue
            out = orjson.dumps([x, "e-mail 0.0000"])
            assert small_float_written(out) == (out != stdlib_encode([x, "e-mail 0.0000"])), (x, out)
    assert not small_float_written(b'["1e-07", 10.00001, 2e-10, 0.0001, "re-run"]')
    assert small_float_written(b"-0.00001") and small_float_written(b'{"a":5e-9}')


def test_the_one_frame_dumps_screens_small_floats_with_and_without_a_minus_elsewhere(fresh_engine):
    """The screen inlined in the bound ``dumps`` (``45 in out`` gates the ``e-`` search), exponent by exponent."""
    _require("json.encode", "orjson")
    import random

    _select(fresh_engine, "json.encode", "orjson")
    kit.json.dumps([1])  # binds the one-frame path
    assert "lib" in kit.json.dumps.__code__.co_freevars  # orjson called inline, its screen with it
    rng = random.Random(18)
    for exponent in range(-12, 1):
        for sign in (1, -1):
            x = sign * rng.uniform(1, 10) * 10.0 ** exponent
            for doc in (x, [x], {"a": x, "b": "no minus"}, {"a": x, "b": "x-y"}, [1.5, x, 2**40]):
                assert kit.json.dumps(doc) == stdlib_encode(doc), (exponent, doc)


def test_orjson_decode_is_rejected_for_rounding_big_integers():
    _require("json.decode", "orjson")
    from kit.engine import get_engine

    v = get_engine().verification("json.decode", "orjson")
    assert not v.ok and any("big integers" in p for p in v.problems)
    assert kit.backend_for("json.decode", size=10**6) != "orjson"


def test_a_kept_reference_follows_configuration_changes():
    _require("json.encode", "orjson")
    kit.json.dumps([1])
    from kit.json import dumps as kept

    with kit.config_context(backends={"json.encode": "orjson"}):
        with pytest.raises(TypeError):
            kept([2**70])  # forced orjson: never swapped, even through an old reference
    assert kept([2**70]) == b"[1180591620717411303424]"
    assert kit.json.dumps([2**70]) == b"[1180591620717411303424]"


def test_the_one_frame_paths_follow_changes_and_check_input_types(fresh_engine):
    """The specialised dumps/loads: a kept copy re-dispatches after a change; loads rejects other buffers."""
    import array

    _require("json.encode", "orjson")
    _select(fresh_engine, "json.encode", "orjson")
    kit.json.dumps([1])
    kit.json.loads(b"[1]")
    kept_dumps, kept_loads = kit.json.dumps, kit.json.loads
    assert kept_dumps({"p": -1e-7, "q": "e-mail"}) == b'{"p":-1e-07,"q":"e-mail"}'  # declined, baseline's bytes
    assert kept_dumps({1: 3e-5}) == b'{"1":3e-05}'  # raised (non-str key), baseline's bytes
    with pytest.raises(TypeError, match="expects bytes"):
        kept_loads(array.array("B", b"[1]"))  # a library may read any buffer; the contract does not
    assert kept_loads(bytearray(b"[2]")) == [2] and kept_loads(memoryview(b"[3]")) == [3]
    assert kit.json.decode(b"[4]") == [4] and kit.json.encode([5]) == b"[5]"
    with kit.config_context(backends={"json.encode": "orjson", "json.decode": "json"}):
        with pytest.raises(TypeError):
            kept_dumps([2**70])  # forced: never swapped, through the old copy too
        assert kept_loads(b"[6]") == [6]
    big = b"[18446744073709551616]"
    with kit.config_context(backends={"json.decode": "orjson"}), pytest.warns(KitWarning, match="forced"):
        assert kept_loads(big) == [float(2**64)]  # the forced backend (floats beyond 64 bits), through the old copy
    assert kept_loads(big) == [2**64] and kit.json.loads is not kept_loads
    assert kept_dumps([2**70]) == b"[1180591620717411303424]"
    assert kit.json.dumps is not kept_dumps  # rebound after the change
    assert kept_dumps([1], default=str) == b"[1]"


def test_the_small_float_screen_is_a_superset_of_what_it_confirms():
    from kit.registry.json import small_float_screen, small_float_written

    samples = [b'{"a":45.385}', b"[1e-7]", b"[-1]", b"[0.00001]", b'["x-y","0.0000"]', b"[1e-07]", b"[-1e-10]",
               b"[10.00001]", b'{"k":"e-"}']
    for out in samples:
        assert small_float_screen(out) or not small_float_written(out), out
    assert not small_float_screen(b'{"a":45.385,"b":"x"}') and small_float_screen(b'"0.0000"')
