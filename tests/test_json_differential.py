"""Property-based differential tests: every JSON backend against the baseline, on generated input classes.

Seeded and derandomized (``derandomize=True``, no example database), so CI
sees the same examples on every run. Each example runs through every
available backend *as the dispatcher runs it when selected* (its answer, or
the baseline's after it raises or declines). The property: the outcome is the
baseline's (the same bytes or value, or both raise), or the backend fails the
engine's verification, so that it is never selected. A difference found in
a backend that passes verification is the failure this file exists for.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
from kit import registry as _registry
from kit.registry import jsongen
from kit.registry.json import same_value, stdlib_decode, stdlib_encode

EXAMPLES = 2000  # per operation; every backend sees each one
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def _outcome(fn, x):
    try:
        return "ok", fn(x)
    except RecursionError:
        return "resource", None  # the stack is a resource limit, not an answer
    except Exception as exc:  # generated inputs probe failure modes on purpose
        return "error", exc


def _as_selected(fn, base):
    def run(x):
        try:
            return fn(x)
        except Exception:
            return base(x)

    return run


def _contenders(op: str) -> list[tuple[str, object, bool]]:
    from kit.engine import get_engine

    base = _registry.backend(op, _registry.operation(op).baseline).implementation()
    out = []
    for b in _registry.backends(op)[1:]:
        if b.available:
            out.append((b.name, _as_selected(b.implementation(), base), get_engine().verification(op, b.name).ok))
    return out


def _check(op: str, x, equal) -> None:
    base = _registry.backend(op, _registry.operation(op).baseline).implementation()
    kind, expected = _outcome(base, x)
    if kind == "resource":
        return
    dispatched = kit.json.dumps if op == "json.encode" else kit.json.loads
    for name, fn, verified in [("default selection", dispatched, True)] + CONTENDERS[op]:
        got_kind, got = _outcome(fn, x)
        if got_kind == "resource":
            continue
        same = got_kind == "error" if kind == "error" else got_kind == "ok" and equal(got, expected)
        if not same:
            assert not verified, (f"{name} passes verification but differs from the baseline on {x!r:.200}: "
                                  f"{got!r:.120} vs {expected!r:.120}")


CONTENDERS: dict[str, list] = {}


@pytest.fixture(scope="module", autouse=True)
def contenders():
    for op in ("json.encode", "json.decode"):
        CONTENDERS[op] = _contenders(op)
    yield


# --- strategies --------------------------------------------------------------------------------------

every_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
texts = st.text(every_char, max_size=12) | st.sampled_from(["", "\x00", "\ufeff", "\u2028", '"\\/', "é日😀", "e-7"])
integers = (st.integers() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
            | st.builds(lambda k, d, s: s * (2 ** k + d), st.integers(0, 70), st.integers(-2, 2), st.sampled_from((1, -1))))
floats = (st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
          | st.floats(min_value=1e-9, max_value=1e-4) | st.floats(min_value=-1e-4, max_value=-1e-9)
          | st.sampled_from(jsongen._FLOAT_EDGES))
offsets = st.one_of(
    st.just(datetime.timezone.utc),
    st.builds(datetime.timezone, st.timedeltas(min_value=datetime.timedelta(hours=-23, minutes=-59, seconds=-59,
                                                                            microseconds=-999999),
                                               max_value=datetime.timedelta(hours=23, minutes=59, seconds=59,
                                                                            microseconds=999999))),
)
tzs = st.none() | offsets
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
extension = st.one_of(
    st.datetimes(timezones=tzs), st.times(timezones=tzs), st.dates(), st.uuids(),
    st.sampled_from(list(jsongen._Color) + list(jsongen._Level) + list(jsongen._Mode) + list(jsongen._Ratio)),
    st.builds(jsongen._Str, texts), st.builds(jsongen._Int, integers), st.builds(jsongen._Float, floats),
)
unsupported = st.sampled_from([{1, 2}, frozenset(), b"raw", bytearray(b"x"), 1j, object(), range(2)])
keys = texts | st.sampled_from([1, -7, 2 ** 70, 1.5, 1e-7, 1e16, True, False, None])


def _dataclass(cls_and_values):
    cls, values = cls_and_values
    return cls(*values)


def _reordered(pairs):
    od = collections.OrderedDict(pairs)
    if od:
        od.move_to_end(next(iter(od)))
    return od


def _with_cycle(args):
    container, depth = args
    node = root = container
    for _ in range(depth):
        child: list = []
        node.append(child) if isinstance(node, list) else node.__setitem__("k", child)
        node = child
    node.append(root) if isinstance(node, list) else node.__setitem__("back", root)
    return root


def _extend(children):
    dcs = st.sampled_from(jsongen._DATACLASSES + [jsongen._WithPrivate]).flatmap(
        lambda cls: st.tuples(st.just(cls), st.lists(children, min_size=len(dataclasses.fields(cls)),
                                                     max_size=len(dataclasses.fields(cls)))))
    shared = children.map(lambda c: [c, {"again": c}])
    return st.one_of(
        st.lists(children, max_size=4), st.lists(children, max_size=3).map(tuple),
        st.dictionaries(texts, children, max_size=4), st.dictionaries(keys, children, max_size=3),
        st.lists(st.tuples(texts, children), max_size=3).map(_reordered),
        dcs.map(_dataclass), shared,
    )


values = st.recursive(st.one_of(scalars, extension, unsupported), _extend, max_leaves=16)
cyclic = st.tuples(st.sampled_from([list, dict]).map(lambda t: t()), st.integers(0, 3)).map(_with_cycle)


@SETTINGS
@given(st.one_of(values, values, values, cyclic, st.integers(250, 600).map(lambda n: _nest(n))))
def test_every_encoder_gives_the_baselines_bytes_or_fails_verification(x):
    _check("json.encode", x, lambda a, b: type(a) is bytes and a == b)


def _nest(n: int):
    v: object = 0
    for i in range(n):
        v = [v] if i % 2 else {"k": v}
    return v


# Documents: the baseline's encodings of generated JSON values (every escape and spacing), in bytes (UTF-8,
# UTF-16/32, with and without a BOM) or str, then as they are, cut, spliced or with a byte changed.
plain = st.recursive(st.one_of(st.none(), st.booleans(), integers, st.floats(allow_nan=False, allow_infinity=False), texts),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(texts, c, max_size=4), max_leaves=12)


def _document(args):
    value, ascii_, spaced, form, cut, byte, pos = args
    text = json.dumps(value, ensure_ascii=ascii_, separators=(", ", ": ") if spaced else (",", ":"))
    if form == "str":
        doc: object = text
    elif form == "str+bom":
        doc = "\ufeff" + text
    else:
        enc = {"utf-8": "utf-8", "utf-8-bom": "utf-8-sig", "utf-16": "utf-16", "utf-16-le": "utf-16-le",
               "utf-32-be": "utf-32-be"}[form]
        doc = text.encode(enc, "surrogatepass")
    if cut == "as is":
        return doc
    data = bytearray(doc.encode("utf-8", "surrogatepass") if isinstance(doc, str) else doc)
    i = pos % (len(data) + 1)
    if cut == "truncate":
        del data[i:]
    elif cut == "insert":
        data[i:i] = bytes([byte])
    elif cut == "replace" and data:
        data[min(i, len(data) - 1)] = byte
    elif cut == "splice":
        data[i:i] = data[: i // 2]
    return bytes(data)


documents = st.tuples(plain, st.booleans(), st.booleans(),
                      st.sampled_from(["utf-8", "utf-8", "utf-8", "str", "str+bom", "utf-8-bom", "utf-16",
                                       "utf-16-le", "utf-32-be"]),
                      st.sampled_from(["as is", "as is", "as is", "truncate", "insert", "replace", "splice"]),
                      st.sampled_from(list(b'{}[]",:0123456789.eE+-tfn \\/u\x00\x80\xff\xed')),
                      st.integers(0, 10 ** 6)).map(_document)
json_alphabet = st.text(st.sampled_from(list('{}[]",:0123456789.eE+- \n\ttruefalsnul\\\ufeff\u00a0')), max_size=24)
numbers = st.one_of(
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.sampled_from(["-0", "01", ".5", "1.", "+1", "1e400", "-1e400", "1e-400", "NaN", "Infinity", "1" * 4301]),
).map(lambda s: f"[{s}]")


@SETTINGS
@given(st.one_of(documents, documents, json_alphabet, json_alphabet.map(str.encode), numbers, st.binary(max_size=32)))
def test_every_decoder_gives_the_baselines_value_or_fails_verification(doc):
    _check("json.decode", doc, same_value)


def test_the_contenders_include_every_available_backend():
    for op in ("json.encode", "json.decode"):
        names = {name for name, _, _ in CONTENDERS[op]}
        assert names == {b.name for b in _registry.backends(op)[1:] if b.available}


@pytest.mark.parametrize("op", ["json.encode", "json.decode"])
def test_with_any_backend_in_the_wisdom_kit_json_answers_as_the_baseline(fresh_engine, op):
    """End to end: whatever the wisdom names (a failing backend included), the call gives the baseline's answer."""
    base = stdlib_encode if op == "json.encode" else stdlib_decode
    call = kit.json.dumps if op == "json.encode" else kit.json.loads
    equal = (lambda a, b: a == b) if op == "json.encode" else same_value
    inputs = [x for _, x in jsongen.sample(op, 300, seed=11)]
    for b in _registry.backends(op):
        if not b.available:
            continue
        fresh_engine.wisdom.store_selection(_registry.operation(op), {s: b.name for s in _registry.SIZE_CLASSES},
                                            [], "quick")
        fresh_engine._invalidate()
        for x in inputs:
            kind, expected = _outcome(base, x)
            if kind == "resource":
                continue
            got_kind, got = _outcome(call, x)
            if kind == "error":
                assert got_kind in ("error", "resource"), (b.name, x)
            else:
                assert got_kind == "ok" and equal(got, expected), (b.name, x, got, expected)


def test_generated_corpus_is_the_same_every_run():
    a = [(c, repr(v)) for c, v in jsongen.encode_cases(random.Random(3), 3) if c != "unsupported types"]
    b = [(c, repr(v)) for c, v in jsongen.encode_cases(random.Random(3), 3) if c != "unsupported types"]
    assert a == b
    assert list(jsongen.decode_cases(random.Random(3), 3)) == list(jsongen.decode_cases(random.Random(3), 3))
    assert set(jsongen.classes("json.encode")) >= {
        "datetimes (microseconds, offsets with seconds)", "dataclasses (every kind of field name)",
        "floats 1e-9 <= |x| < 1e-4", "circular references", "shared references", "lone surrogates"}
