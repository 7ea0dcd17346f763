"""kit.json: the contract across every backend, JSONTestSuite, errors, fallbacks."""

from __future__ import annotations

import datetime
import math
import uuid

import pytest

import kit
from kit import _registry
from kit.backends.json import json_test_suite, same_value, stdlib_decode, stdlib_encode

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
        pytest.skip(f"{name} fails verification and is never selected (see kit info)")
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
    from kit.backends.json import _encode_cases

    for label, obj in _encode_cases():
        expected = stdlib_decode(stdlib_encode(obj))
        try:
            out = kit.json.dumps(obj, backend=name)
        except (TypeError, ValueError, OverflowError):
            continue  # a forced backend may refuse; the dispatcher falls back
        assert same_value(stdlib_decode(out), expected), label
    for label, obj in _encode_cases():
        assert same_value(stdlib_decode(kit.json.dumps(obj)), stdlib_decode(stdlib_encode(obj))), label


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


def test_fallback_is_counted(fresh_engine):
    _require("json.encode", "orjson")
    with kit.config_context(tune="off"):
        pass
    fresh_engine.wisdom._entry(_registry.operation("json.encode"))["selected"] = {
        "small": "orjson", "medium": "orjson", "large": "orjson"}
    fresh_engine._invalidate()
    before = fresh_engine.fallbacks[("json.encode", "orjson")]
    assert kit.json.dumps([2**70]) == b"[1180591620717411303424]"
    assert fresh_engine.fallbacks[("json.encode", "orjson")] == before + 1
    row = next(r for r in kit.info().rows if r["operation"] == "json.encode" and r["backend"] == "orjson")
    assert row["fallbacks"] == before + 1


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
