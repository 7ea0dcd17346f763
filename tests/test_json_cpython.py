"""CPython's own JSON test cases that apply to kit's contract, run against kit.json with each backend forced.

The cases follow CPython's ``Lib/test/test_json`` (test_fail, test_decode,
test_unicode, test_float, test_enum, test_dump, test_recursion,
test_pass1-3) and the JSON_checker documents of json.org they use. Cases
about options kit does not offer (``parse_float``, ``object_hook``,
``indent``, ``sort_keys``, ``allow_nan=True``, ``check_circular=False``) do
not apply. Where CPython's default differs from kit's contract (non-finite
floats: ``NaN`` there, ``null`` here), the contract's answer is asserted.

``None`` in the parameters is the default selection, which must give the
baseline's answer exactly, errors included (a backend that raises falls back
and the baseline raises its own error). A forced backend is used as named: it
gives the baseline's answer or raises (an input it gives way on), never a
different answer; a backend that fails verification is never selected and
is skipped here.
"""

from __future__ import annotations

import codecs
import enum
import json
import math
import sys

import pytest

import kit
from kit import registry as _registry
from kit.registry.json import same_value, stdlib_decode, stdlib_encode


def _backends(op: str) -> list:
    return [pytest.param(None, id="default")] + [pytest.param(b.name, id=b.name) for b in _registry.backends(op)]


DECODERS = _backends("json.decode")
ENCODERS = _backends("json.encode")


def _usable(op: str, name: str | None) -> None:
    if name is None:
        return
    b = _registry.backend(op, name)
    if not b.available:
        pytest.skip(f"{name}: {b.unavailable_reason()}")
    from kit.engine import get_engine

    v = get_engine().verification(op, name)
    if not v.ok:
        pytest.skip(f"{name} fails verification for {op} ({v.problems[0][:60]}...) and is never selected for it")


def _loads(doc, name):
    return kit.json.loads(doc, backend=name)


def _dumps(obj, name, **kw):
    return kit.json.dumps(obj, backend=name, **kw)


def _agrees_on_valid(doc, name) -> None:
    expected = stdlib_decode(doc)
    try:
        got = _loads(doc, name)
    except Exception:
        assert name is not None, f"the default selection raised on valid {doc!r:.60}"
        return  # a forced backend may give way; it must not answer differently
    assert same_value(got, expected), doc


def _rejects(doc, name) -> None:
    with pytest.raises(ValueError):  # every backend's decode error is a ValueError (msgspec's, orjson's too)
        _loads(doc, name)


# --- json.org JSON_checker: fail1-33 and the control-character case (test_fail) ---------------------

MUST_REJECT = [
    '["Unclosed array"', '{unquoted_key: "keys must be quoted"}', '["extra comma",]', '["double extra comma",,]',
    '[   , "<-- missing value"]', '["Comma after the close"],', '["Extra close"]]', '{"Extra comma": true,}',
    '{"Extra value after close": true} "misplaced quoted value"', '{"Illegal expression": 1 + 2}',
    '{"Illegal invocation": alert()}', '{"Numbers cannot have leading zeroes": 013}',
    '{"Numbers cannot be hex": 0x14}', '["Illegal backslash escape: \\x15"]', '[\\naked]',
    '["Illegal backslash escape: \\017"]', '{"Missing colon" null}', '{"Double colon":: null}',
    '{"Comma instead of colon", null}', '["Colon instead of comma": false]', '["Bad value", truth]',
    "['single quote']", '["\ttab\tcharacter\tin\tstring\t"]', '["tab\\   character\\   in\\  string\\  "]',
    '["line\nbreak"]', '["line\\\nbreak"]', "[0e]", "[0e+]", "[0e+-1]", '{"Comma instead if closing brace": true,',
    '["mismatch"}', '["A\u001fZ control characters in string"]',
    # test_decode: non-ASCII digits, constants in the wrong case (and kit rejects the constants too), extra
    # data, an invalid escape, a str that starts with a BOM
    "1\uff10", "0.\uff10", "0e\uff10", "nan", "NAN", "naN", "infinity", "INFINITY", "inFiniTy", "NaN", "Infinity",
    "-Infinity", "[1, 2, 3]5", '["abc\\y"]', "\ufeff[1,2,3]",
]


@pytest.mark.parametrize("name", DECODERS)
def test_json_checker_failures_are_rejected(name):
    _usable("json.decode", name)
    for doc in MUST_REJECT:
        _rejects(doc, name)
        _rejects(doc.encode("utf-8"), name) if not doc.startswith("\ufeff") else None


PASS1 = r'''
[
    "JSON Test Pattern pass1",
    {"object with 1 member":["array with 1 element"]},
    {}, [], -42, true, false, null,
    {
        "integer": 1234567890, "real": -9876.543210, "e": 0.123456789e-12, "E": 1.234567890E+34,
        "":  23456789012E66, "zero": 0, "one": 1, "space": " ", "quote": "\"", "backslash": "\\",
        "controls": "\b\f\n\r\t", "slash": "/ & \/", "alpha": "abcdefghijklmnopqrstuvwyz",
        "ALPHA": "ABCDEFGHIJKLMNOPQRSTUVWYZ", "digit": "0123456789", "0123456789": "digit",
        "special": "`1~!@#$%^&*()_+-={':[,]}|;.</>?", "hex": "\u0123\u4567\u89AB\uCDEF\uabcd\uef4A",
        "true": true, "false": false, "null": null, "array":[  ], "object":{  },
        "address": "50 St. James Street", "url": "http://www.JSON.org/", "comment": "// /* <!-- --",
        "# -- --> */": " ",
        " s p a c e d " :[1,2 , 3

,

4 , 5        ,          6           ,7        ],"compact":[1,2,3,4,5,6,7],
        "jsontext": "{\"object with 1 member\":[\"array with 1 element\"]}",
        "quotes": "&#34; \u0022 %22 0x22 034 &#x22;",
        "\/\\\"\uCAFE\uBABE\uAB98\uFCDE\ubcda\uef4A\b\f\n\r\t`1~!@#$%^&*()_+-=[]{}|;:',./<>?"
: "A key can be any string"
    },
    0.5 ,98.6
,
99.44
,

1066,
1e1,
0.1e1,
1e-1,
1e00,2e+00,2e-00
,"rosebud"]
'''

MUST_ACCEPT = [
    PASS1,
    '[[[[[[[[[[[[[[[[[[["Not too deep"]]]]]]]]]]]]]]]]]]]',  # pass2
    '{"JSON Test Pattern pass3": {"The outermost value": "must be an object or array.", '
    '"In this test": "It is an object."}}',
    '"A JSON payload should be an object or array, not a string."',  # fail1: RFC 8259 allows it
    '[[[[[[[[[[[[[[[[[[[["Too deep"]]]]]]]]]]]]]]]]]]]]',  # fail18: no nesting limit that low
    "{}", "[]", '""', '{   "key"    :    "value"    ,  "k":"v"    }', '"\ufeff"',  # a BOM inside a string stays
    "[23456789012E666]", "[-23456789012E666]",  # out of range: +-inf, as float() gives
    "1" * 4300,  # Python's int-to-str limit (4300 digits by default)
    '"z\U0001d120x"', '"z\\ud834\\udd20x"',
]


@pytest.mark.parametrize("name", DECODERS)
def test_valid_documents_decode_as_the_baseline(name):
    _usable("json.decode", name)
    for doc in MUST_ACCEPT:
        _agrees_on_valid(doc, name)
        _agrees_on_valid(doc.encode("utf-8"), name)
    res = stdlib_decode(PASS1)
    assert same_value(kit.json.loads(kit.json.dumps(res)), res)  # in/out equivalence (test_pass1)
    assert kit.json.loads("[23456789012E666]") == [math.inf]


@pytest.mark.parametrize("name", DECODERS)
def test_every_bmp_escape_decodes(name):
    _usable("json.decode", name)
    doc = "[" + ",".join(f'"\\u{i:04x}"' for i in range(0xD800)) + "]"
    got = _loads(doc, name)
    assert got == [chr(i) for i in range(0xD800)]


@pytest.mark.parametrize("name", DECODERS)
def test_bytes_in_every_unicode_encoding_json_detects(name):
    _usable("json.decode", name)
    data = ["a\xb5\u20ac\U0001d120"]
    text = json.dumps(data)
    for encoding, bom in [("utf-8", codecs.BOM_UTF8), ("utf-16be", codecs.BOM_UTF16_BE),
                          ("utf-16le", codecs.BOM_UTF16_LE), ("utf-32be", codecs.BOM_UTF32_BE),
                          ("utf-32le", codecs.BOM_UTF32_LE)]:
        _agrees_on_valid(bom + text.encode(encoding), name)
        _agrees_on_valid(text.encode(encoding), name)
    for doc in ['"\u2600"'.encode("utf-16-le"), b"5\x00", b"\x007", b"57", b"1"]:
        _agrees_on_valid(doc, name)
    _rejects(b'["\x80"]', name)
    if name is None:  # the default selection decodes them all, as the json module does
        assert kit.json.loads(b"5\x00") == 5 and kit.json.loads(b"\x007") == 7
        assert kit.json.loads(codecs.BOM_UTF16_LE + text.encode("utf-16le")) == data


def test_decode_errors_are_the_baselines_with_message_and_position():
    """test_fail's truncated, unexpected and extra data: the default selection raises the json module's error."""
    docs = ["", "[", "[42", "[42,", '["', '["spam', '["spam"', '["spam",', "{", '{"', '{"spam', '{"spam"',
            '{"spam":', '{"spam":42', '{"spam":42,', '"', '"spam', "[,", '{"spam":[}', "[42:", '[42 "spam"',
            "[42,]", '{"spam":[42}', '["]', '["spam":', '["spam",]', "{:", "{,", "{42", "[{]", '{"spam",',
            '{"spam"}', '[{"spam"]', '{"spam":}', '[{"spam":]', '{"spam":42 "ham"', '[{"spam":42]',
            '{"spam":42,}', '{"spam":42 , }', "[123  , ]", "[]]", "{}}", "[],[]", "{},{}", '42,"spam"',
            '"spam",42', "!", " !", "\n!", "\n  \n\n     !"]
    for doc in docs:
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(doc)
        for data in (doc, doc.encode()):
            with pytest.raises(json.JSONDecodeError) as got:
                kit.json.loads(data)
            e, g = expected.value, got.value
            assert (g.msg, g.pos, g.lineno, g.colno, str(g)) == (e.msg, e.pos, e.lineno, e.colno, str(e)), doc


def test_int_limit_is_pythons():
    with pytest.raises(ValueError):
        kit.json.loads("1" * (sys.get_int_max_str_digits() + 1))
    assert kit.json.loads("1" * sys.get_int_max_str_digits()) == int("1" * sys.get_int_max_str_digits())


@pytest.mark.parametrize("name", DECODERS)
def test_highly_nested_documents_raise(name):
    _usable("json.decode", name)
    for doc in ('{"a":' * 100000 + "1" + "}" * 100000, '{"a":' * 100000 + "[1]" + "}" * 100000,
                "[" * 100000 + "1" + "]" * 100000):
        with pytest.raises((RecursionError, ValueError, RuntimeError)):  # a limit, never a crash
            _loads(doc, name)


# --- encoding (test_float, test_enum, test_dump, test_unicode, test_recursion, test_fail) ------------


class BigNum(enum.IntEnum):
    small = 1
    big = 1 << 32
    huge = 1 << 64
    really_huge = 1 << 96


class FloatNum(float, enum.Enum):
    e = 2.718281
    pi = 3.141593
    tau = 2 * 3.141593


class WeirdNum(float, enum.Enum):
    inf = math.inf
    neg_inf = -math.inf
    nan = math.nan


class StrSubclass(str):
    def __str__(self) -> str:
        return "StrSubclass"


def _encodes_as(obj, expected: bytes, name) -> None:
    assert stdlib_encode(obj) == expected, "the baseline itself"
    try:
        got = _dumps(obj, name)
    except (TypeError, ValueError, OverflowError):
        assert name is not None, f"the default selection raised on {obj!r:.60}"
        return  # a forced backend may give way (or decline)
    assert got == expected, obj


@pytest.mark.parametrize("name", ENCODERS)
def test_numbers_encode_as_the_baseline(name):
    _usable("json.encode", name)
    for num in [1617161771.7650001, math.pi, math.pi ** 100, math.pi ** -100, 3.1]:
        _encodes_as(num, repr(num).encode(), name)
        assert float(kit.json.dumps(num)) == num and kit.json.loads(kit.json.dumps(num)) == num
    for num in [1, 1 << 32, 1 << 64]:
        _encodes_as(num, str(num).encode(), name)
    for val in (math.inf, -math.inf, math.nan):  # CPython writes Infinity/NaN; kit's contract writes null
        _encodes_as([val], b"[null]", name)


@pytest.mark.parametrize("name", ENCODERS)
def test_enums_encode_as_their_values(name):
    _usable("json.encode", name)
    for member in BigNum:
        _encodes_as(member, str(member.value).encode(), name)
    for member in FloatNum:
        _encodes_as(member, repr(member.value).encode(), name)
    _encodes_as(list(BigNum), str([m.value for m in BigNum]).replace(" ", "").encode(), name)
    _encodes_as(list(WeirdNum), b"[null,null,null]", name)
    _encodes_as({m: m.name for m in list(BigNum) + list(FloatNum)},
                ("{" + ",".join(f'"{m.value!r}":"{m.name}"' for m in list(BigNum) + list(FloatNum)) + "}").encode(),
                name)
    with pytest.raises(ValueError):
        kit.json.dumps({WeirdNum.nan: 1})  # a non-finite key has no JSON form


@pytest.mark.parametrize("name", ENCODERS)
def test_keys_and_str_subclasses_encode_as_the_baseline(name):
    _usable("json.encode", name)
    _encodes_as({}, b"{}", name)
    _encodes_as({True: False, False: True}, b'{"true":false,"false":true}', name)
    _encodes_as({2: 3.0, 4.0: 5, False: 1, 6: True}, b'{"2":3.0,"4.0":5,"false":1,"6":true}', name)
    for obj, out in [(StrSubclass("ascii"), b'"ascii"'), ([StrSubclass("escape\n")], b'["escape\\n"]'),
                     ({"key": StrSubclass("nonascii:é")}, '{"key":"nonascii:é"}'.encode())]:
        _encodes_as(obj, out, name)
    for u in ("\N{GREEK SMALL LETTER ALPHA}\N{GREEK CAPITAL LETTER OMEGA}", "\U0001d120"):
        _encodes_as([u, u + "\n"], f'["{u}","{u}\\n"]'.encode(), name)


@pytest.mark.parametrize("name", ENCODERS)
def test_unsupported_objects_and_keys_raise_typeerror(name):
    _usable("json.encode", name)
    for obj in (b"hi", [b"hi"], sys, [1, [2, 3, sys]], (1, (2, 3, sys)), {"a": {"b": sys}}, {"a": 1, (1, 2): 2}):
        with pytest.raises(TypeError):
            _dumps(obj, name)
    with pytest.raises(TypeError, match=r"Object of type module is not JSON serializable at \$\[1\]\[2\]"):
        kit.json.dumps([1, [2, 3, sys]])
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        kit.json.dumps({"a": 1, (1, 2): 2})


@pytest.mark.parametrize("name", ENCODERS)
def test_recursion_raises_valueerror_and_shared_objects_do_not(name):
    _usable("json.encode", name)
    x: list = []
    x.append(x)
    y: list = []
    z = [y]
    y.append(z)
    d: dict = {}
    d["test"] = d
    for obj in (x, y, d):
        with pytest.raises((ValueError, TypeError)):  # a forced orjson raises its own recursion TypeError
            _dumps(obj, name)
        with pytest.raises(ValueError, match="Circular reference detected at"):
            kit.json.dumps(obj)
    shared: list = []
    _encodes_as([shared, shared], b"[[],[]]", name)
    e: dict = {}
    _encodes_as({"a": e, "b": e}, b'{"a":{},"b":{}}', name)

    class Thing:
        pass

    with pytest.raises(ValueError, match=r"Circular reference detected at \$: it contains itself|at \$\[0\]"):
        kit.json.dumps(Thing(), default=lambda o: [o])  # the default hook's answer leads back to its input


def test_highly_nested_objects_encoding_raises_recursionerror():
    nested_list: list = []
    nested_dict: dict = {}
    for _ in range(100000):
        nested_list, nested_dict = [nested_list], {"k": nested_dict}
    for obj in (nested_list, nested_dict):
        with pytest.raises(RecursionError):
            kit.json.dumps(obj)
