"""Seeded generators of JSON inputs by *input class*, for differential verification.

A fixed corpus checks a handful of values; a backend that differs from the
baseline on a whole class of input (every ``datetime.time`` with 10,000 to
99,999 microseconds, every dataclass field that starts with ``_``, every float
between 1e-9 and 1e-4) passes it. These generators cover the classes instead:
each class is one function ``rng -> value`` and a seed makes every run the
same. The engine's verification draws a few cases per class
(:func:`encode_cases`, :func:`decode_cases`); ``python -m kit.engine.json_check``
draws 100,000 (:func:`sample`).

Encoding classes produce Python objects; decoding classes produce ``bytes`` or
``str`` documents, valid or not (mutated documents, random bytes), since a
backend that accepts what the baseline rejects differs as surely as one that
returns another value.

Examples
--------
>>> import random
>>> cls, value = next(encode_cases(random.Random(0), per_class=1))
>>> cls in ENCODE_CLASSES
True
>>> [c for c, _ in sample("json.decode", 3, seed=1)] == [c for c, _ in sample("json.decode", 3, seed=1)]
True
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import json as _json
import math
import random
import struct
import uuid
from typing import Any, Callable, Iterator

__all__ = ["ENCODE_CLASSES", "DECODE_CLASSES", "encode_cases", "decode_cases", "sample", "classes"]

# --- building blocks ------------------------------------------------------------------------

#: Code points of interest: controls, JSON's escapes, DEL, line/paragraph separators, BOM, noncharacters.
_SPECIAL = [0x00, 0x01, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1F, 0x20, 0x22, 0x2F, 0x5C, 0x7F, 0x80, 0x85, 0xA0,
            0xAD, 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0x10FFFF]
#: Unicode planes with assigned or private-use code points: BMP, SMP, SIP, TIP, SSP, PUA-A, PUA-B.
_PLANES = (0, 1, 2, 3, 14, 15, 16)


def _char(rng: random.Random, surrogates: bool = False) -> str:
    r = rng.random()
    if r < 0.3:
        return chr(rng.randint(0x20, 0x7E))
    if r < 0.45:
        return chr(rng.choice(_SPECIAL))
    plane = rng.choice(_PLANES)
    cp = plane * 0x10000 + rng.randint(0, 0xFFFF)
    if not surrogates and 0xD800 <= cp <= 0xDFFF:
        cp -= 0x800  # into the BMP's CJK compatibility/Hangul range instead
    return chr(cp)


def _text(rng: random.Random, n: int | None = None, surrogates: bool = False) -> str:
    n = rng.choice((0, 1, 2, 5, 17, 40)) if n is None else n
    return "".join(_char(rng, surrogates) for _ in range(n))


def _word(rng: random.Random) -> str:
    return rng.choice(("id", "name", "x", "_etag", "é", "日本", "", "a b", "k\x00", "🎉", "__proto__", "null"))


def _float_bits(rng: random.Random) -> float:
    while True:
        f = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(f):
            return f


_FLOAT_EDGES = (0.0, -0.0, 5e-324, -5e-324, 2.2250738585072009e-308, 2.2250738585072014e-308,
                1.7976931348623157e308, -1.7976931348623157e308, 1e308, 1e-308, 2.0 ** 53, 2.0 ** 53 + 2,
                2.0 ** 53 - 1, -(2.0 ** 53), 2.0 ** 63, 2.0 ** 64, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5,
                1e-7, -1e-7, 0.1, 1 / 3, 100.0, 1e21, 1e22, 123456789012345680.0, 0.30000000000000004)


def _float(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.3:
        return rng.choice(_FLOAT_EDGES)
    if r < 0.55:
        return _float_bits(rng)
    if r < 0.8:  # every decimal exponent, a random mantissa
        return rng.choice((1, -1)) * rng.uniform(1, 10) * 10.0 ** rng.randint(-324, 307)
    return round(rng.uniform(-1e4, 1e4), rng.randint(0, 6))


def _int(rng: random.Random) -> int:
    k = rng.randint(0, 70)
    return rng.choice((1, -1)) * (2 ** k + rng.randint(-2, 2))


class _Color(enum.Enum):
    RED = "red"
    TUPLE = (1, 2)
    SMALL = 1e-7


class _Level(enum.IntEnum):
    LOW = 1
    HUGE = 2 ** 70


class _Mode(str, enum.Enum):
    READ = "r"
    EMPTY = ""


class _Ratio(float, enum.Enum):
    HALF = 0.5
    TINY = 2e-6


class _Str(str):
    def __str__(self) -> str:  # the baseline encodes the str's data, not str(self)
        return "overridden"


class _Int(int):
    def __repr__(self) -> str:
        return "overridden"


class _Float(float):
    def __repr__(self) -> str:
        return "overridden"


class _List(list):
    pass


class _Dict(dict):
    pass


_Pair = collections.namedtuple("_Pair", "left right")

#: Dataclass field names of every kind: plain, leading underscore, dunder, non-ASCII, keyword-like.
_FIELD_NAMES = ("id", "_etag", "__private", "_", "__dunder__", "é", "日本", "class_", "x1", "CamelCase")


def _make_dataclasses() -> list[type]:
    out = []
    rng = random.Random(7)
    for i in range(12):
        names = rng.sample(_FIELD_NAMES, rng.randint(1, 4))
        # type() mangles a private slot name ("__x" -> "_Record0__x"), which breaks dataclasses' slots
        slots = i % 3 == 0 and not any(n.startswith("__") and not n.endswith("__") for n in names)
        out.append(dataclasses.make_dataclass(f"Record{i}", [(n, Any) for n in names], slots=slots,
                                              frozen=i % 4 == 1))
    return out


_DATACLASSES = _make_dataclasses()


@dataclasses.dataclass
class _WithPrivate:
    id: int
    _etag: str
    _hidden: Any = None


def _offset(rng: random.Random) -> datetime.timezone:
    r = rng.random()
    if r < 0.2:
        return datetime.timezone.utc
    if r < 0.4:  # whole minutes
        return datetime.timezone(datetime.timedelta(minutes=rng.randint(-1439, 1439)))
    if r < 0.5:  # Europe/Amsterdam until 1937, and a few seconds off UTC
        return datetime.timezone(datetime.timedelta(
            seconds=rng.choice((1172, 30, -30, 1, -1))))
    if r < 0.9:  # seconds
        return datetime.timezone(datetime.timedelta(seconds=rng.randint(-86399, 86399)))
    return datetime.timezone(datetime.timedelta(seconds=rng.randint(-86399, 86399),
                                                microseconds=rng.randint(1, 999999)))


def _microsecond(rng: random.Random) -> int:
    # Every width of the microsecond field: 0, 1-9, 10-99, ..., 100000-999999.
    return rng.choice((0, rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 999), rng.randint(1000, 9999),
                       rng.randint(10000, 99999), rng.randint(100000, 999999)))


def _datetime(rng: random.Random) -> datetime.datetime:
    d = datetime.datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                          rng.randint(0, 59), rng.randint(0, 59), _microsecond(rng), fold=rng.randint(0, 1))
    return d if rng.random() < 0.3 else d.replace(tzinfo=_offset(rng))


def _time(rng: random.Random) -> datetime.time:
    t = datetime.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), _microsecond(rng))
    return t if rng.random() < 0.5 else t.replace(tzinfo=_offset(rng))


# --- encoding classes -----------------------------------------------------------------------------


def _e_ints(rng: random.Random) -> Any:
    return [_int(rng) for _ in range(rng.randint(1, 4))]


def _e_big_ints(rng: random.Random) -> Any:
    return rng.choice((1, -1)) * rng.getrandbits(rng.randint(65, 600))


def _e_floats(rng: random.Random) -> Any:
    return [_float(rng) for _ in range(rng.randint(1, 3))]


def _e_small_floats(rng: random.Random) -> Any:
    # 1e-9 <= |x| < 1e-4: written with an exponent by Python (1e-07), differently by others.
    return rng.choice((1, -1)) * rng.uniform(1, 10) * 10.0 ** rng.randint(-9, -5)


def _e_non_finite(rng: random.Random) -> Any:
    bad = rng.choice((math.nan, math.inf, -math.inf, _Float("nan")))
    return rng.choice(([bad], {"v": bad}, _WithPrivate(1, "e", bad), (1.5, bad), [[[bad]]]))


def _e_strings(rng: random.Random) -> Any:
    return _text(rng)


def _e_surrogates(rng: random.Random) -> Any:
    s = _text(rng, rng.randint(0, 4)) + chr(rng.randint(0xD800, 0xDFFF)) + _text(rng, rng.randint(0, 4))
    return rng.choice((s, [s], {"k": s}, {s: 1}))


def _e_keys(rng: random.Random) -> Any:
    keys = [_text(rng, rng.randint(0, 6)), _word(rng), rng.choice((1, -7, 2 ** 70, 1.5, 1e-7, True, False, None))]
    return {k: i for i, k in enumerate(keys)}


def _e_datetimes(rng: random.Random) -> Any:
    return _datetime(rng)


def _e_dates(rng: random.Random) -> Any:
    return datetime.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))


def _e_times(rng: random.Random) -> Any:
    return _time(rng)


def _e_uuids(rng: random.Random) -> Any:
    return uuid.UUID(int=rng.getrandbits(128))


def _e_enums(rng: random.Random) -> Any:
    return rng.choice(list(_Color) + list(_Level) + list(_Mode) + list(_Ratio))


def _e_dataclasses(rng: random.Random) -> Any:
    cls = rng.choice(_DATACLASSES + [_WithPrivate])
    values = [_leaf(rng) for _ in dataclasses.fields(cls)]
    return cls(*values)


def _e_subclasses(rng: random.Random) -> Any:
    od = collections.OrderedDict((_word(rng), i) for i in range(3))
    od.move_to_end(next(iter(od)))  # its order is no longer its dict's insertion order
    return rng.choice((_Str(_text(rng, 3)), _Int(rng.randint(-5, 5)), _Float(_float(rng)), _List([1, "a"]),
                       _Dict(a=1), od, _Pair(1, [2]), collections.defaultdict(int, b=2), {"k": _Str("v")}))


def _e_nesting(rng: random.Random) -> Any:
    depth = rng.choice((rng.randint(1, 50), rng.randint(250, 260), rng.randint(400, 600)))
    v: Any = _leaf(rng)
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"k": v}
    return v


def _e_shared(rng: random.Random) -> Any:
    shared = _tree(rng, 2)
    return rng.choice(([shared, shared], {"a": shared, "b": [shared, {"c": shared}]}))


def _e_circular(rng: random.Random) -> Any:
    root: Any = [] if rng.random() < 0.5 else {}
    node = root
    for i in range(rng.randint(0, 4)):
        child: Any = [_leaf(rng)] if rng.random() < 0.5 else {"n": _leaf(rng)}
        if isinstance(node, list):
            node.append(child)
        else:
            node[f"k{i}"] = child
        node = child
    if isinstance(node, list):
        node.append(root)
    else:
        node["back"] = root
    return rng.choice((root, [1, root], {"top": root}))


def _e_unsupported(rng: random.Random) -> Any:
    bad = rng.choice(({1, 2}, frozenset({3}), b"raw", bytearray(b"x"), 1 + 2j, object(), range(3),
                      __import__("decimal").Decimal("1.5")))
    return rng.choice((bad, [1, bad], {"k": {"j": [bad]}}))


def _e_mixed(rng: random.Random) -> Any:
    return _tree(rng, rng.randint(1, 4))


def _leaf(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return _int(rng)
    if kind == 1:
        return _float(rng)
    if kind in (2, 3):
        return _text(rng)
    if kind == 4:
        return rng.choice((True, False, None))
    if kind == 5:
        return _datetime(rng)
    if kind == 6:
        return _time(rng)
    if kind == 7:
        return datetime.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
    if kind == 8:
        return uuid.UUID(int=rng.getrandbits(128))
    if kind == 9:
        return rng.choice(list(_Color) + list(_Mode))
    if kind == 10:
        return _WithPrivate(rng.randint(0, 9), _text(rng, 2))
    return rng.uniform(-1, 1)


def _tree(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.25:
        return _leaf(rng)
    n = rng.randint(0, 4)
    if rng.random() < 0.5:
        return [_tree(rng, depth - 1) for _ in range(n)]
    return {(_word(rng) if rng.random() < 0.5 else _text(rng, 3)): _tree(rng, depth - 1) for _ in range(n)}


#: Encoding input classes: name -> generator of one value.
ENCODE_CLASSES: dict[str, Callable[[random.Random], Any]] = {
    "integers around powers of two": _e_ints,
    "integers beyond 64 bits": _e_big_ints,
    "float edges and bit patterns": _e_floats,
    "floats 1e-9 <= |x| < 1e-4": _e_small_floats,
    "non-finite floats": _e_non_finite,
    "strings of every plane": _e_strings,
    "lone surrogates": _e_surrogates,
    "non-str and odd keys": _e_keys,
    "datetimes (microseconds, offsets with seconds)": _e_datetimes,
    "dates": _e_dates,
    "times (microseconds, offsets)": _e_times,
    "UUIDs": _e_uuids,
    "enums (plain, int, str, float)": _e_enums,
    "dataclasses (every kind of field name)": _e_dataclasses,
    "subclasses of builtins": _e_subclasses,
    "deep nesting": _e_nesting,
    "shared references": _e_shared,
    "circular references": _e_circular,
    "unsupported types": _e_unsupported,
    "mixed documents": _e_mixed,
}


# --- decoding classes ------------------------------------------------------------------------------


def _plain(rng: random.Random, depth: int = 3) -> Any:
    """A JSON-native value (what decoding returns): dict, list, str, int, float, bool, None."""
    if depth <= 0 or rng.random() < 0.3:
        k = rng.randrange(6)
        return (_int(rng) if k == 0 else _float(rng) if k == 1 else _text(rng) if k in (2, 3)
                else rng.choice((True, False, None)) if k == 4 else rng.getrandbits(80))
    if rng.random() < 0.5:
        return [_plain(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng, rng.randint(0, 4)): _plain(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def _dump(v: Any, rng: random.Random) -> str:
    # Both compact and spaced forms, ASCII-escaped or not: decoders see every escape.
    return _json.dumps(v, ensure_ascii=rng.random() < 0.3, separators=rng.choice(((",", ":"), (", ", ": "))))


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def _d_values(rng: random.Random) -> Any:
    s = _dump(_plain(rng), rng)
    return s if rng.random() < 0.3 else _utf8(s)


def _d_numbers(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.25:
        text = repr(_float(rng))
    elif r < 0.45:
        text = str(rng.choice((1, -1)) * (2 ** rng.randint(0, 70) + rng.randint(-2, 2)))
    elif r < 0.55:
        text = rng.choice(("1" * 4300, "1" * 4301, "-" + "9" * 4300, "1" * 640))
    elif r < 0.7:  # mantissas longer than a double holds, and the literal forms JSON allows
        text = (rng.choice(("", "-")) + str(rng.randint(0, 9)) + "." + "".join(rng.choice("0123456789")
                for _ in range(rng.randint(1, 40))) + rng.choice(("", "e", "E", "e+", "e-", "E-"))
                + (str(rng.randint(0, 400)) if r > 0.6 else ""))
    else:
        text = rng.choice(("-0", "-0.0", "0e0", "0E-0", "1E+2", "1e-400", "1e400", "-1e400", "01", ".5", "1.",
                           "+1", "0x10", "1e", "--1", "1_000", "Infinity", "NaN", "-Infinity", "2.2250738585072011e-308",
                           "9007199254740993", "18446744073709551616", "-9223372036854775809", "1.0e+308", "1e-7"))
    doc = rng.choice(("{}", "[{}]", '{{"n": {}}}', "[1, {}]")).format(text)
    return _utf8(doc) if rng.random() < 0.7 else doc


def _d_strings(rng: random.Random) -> Any:
    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.3:
            parts.append(_json.dumps(_text(rng), ensure_ascii=True)[1:-1])
        elif r < 0.5:
            parts.append(_text(rng).replace("\\", "").replace('"', ""))
        elif r < 0.65:  # escaped surrogates: pairs, lone, reversed
            parts.append(rng.choice(("\\ud83d\\ude00", "\\ud800", "\\udfff", "\\ude00\\ud83d", "\\uDBFF\\uDFFF",
                                     "\\ud800x", "\\u0000", "\\u00e9", "\\uFEFF")))
        elif r < 0.8:  # escapes JSON does and does not allow
            parts.append(rng.choice(("\\n", "\\/", "\\b", "\\f", "\\x41", "\\a", "\\u12", "\\U0001F600", "\\'", "\\")))
        else:  # raw control characters and DEL
            parts.append(chr(rng.choice((0, 1, 9, 10, 13, 31, 127))))
    doc = '["' + "".join(parts) + '"]'
    return doc if rng.random() < 0.3 else _utf8(doc)


def _d_bytes_level(rng: random.Random) -> Any:
    # What only bytes can carry: BOMs, UTF-16/32, invalid UTF-8, encoded surrogates, overlong forms.
    body = _dump(_plain(rng, 2), rng)
    return rng.choice((
        b"\xef\xbb\xbf" + body.encode("utf-8", "surrogatepass"),
        body.encode("utf-16-le", "surrogatepass"), body.encode("utf-16", "surrogatepass"),
        body.encode("utf-32-be", "surrogatepass"), body.encode("utf-32", "surrogatepass"),
        b'["' + rng.choice((b"\xed\xa0\x80", b"\xff", b"\xc0\xaf", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80")) + b'"]',
        b"\xef\xbb\xbf\xef\xbb\xbf[1]",
    ))


def _d_str_level(rng: random.Random) -> Any:
    # What only str can carry: a leading U+FEFF (the baseline rejects it), lone surrogates as characters.
    body = _dump(_plain(rng, 2), rng)
    return rng.choice(("\ufeff" + body, body + "\ufeff", '["' + chr(rng.randint(0xD800, 0xDFFF)) + '"]',
                       '{"' + _text(rng, 3, surrogates=True).replace('"', "").replace("\\", "") + '": 1}'))


def _d_whitespace(rng: random.Random) -> Any:
    ws = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\xa0", "\u2028", "\u3000", "\x00", "\x85"]
    pieces = ["[", "1", ",", '"a"', ",", "{", '"k"', ":", "null", "}", "]"]
    doc = "".join(rng.choice(ws) * rng.randint(0, 1) + p for p in pieces) + rng.choice(ws) * rng.randint(0, 2)
    return doc if rng.random() < 0.5 else doc.encode("utf-8")


def _d_duplicates(rng: random.Random) -> Any:
    keys = [rng.choice("abc") for _ in range(rng.randint(2, 6))]
    doc = "{" + ", ".join(f'"{k}": {i}' for i, k in enumerate(keys)) + "}"
    return doc.encode() if rng.random() < 0.5 else doc


def _d_nesting(rng: random.Random) -> Any:
    depth = rng.choice((rng.randint(1, 60), rng.randint(250, 260), rng.randint(500, 520)))
    lists = [rng.random() < 0.5 for _ in range(depth)]
    doc = "".join("[" if k else '{"k":' for k in lists) + "0" + "".join("]" if k else "}" for k in reversed(lists))
    return doc.encode()


def _d_mutated(rng: random.Random) -> Any:
    data = bytearray(_utf8(_dump(_plain(rng), rng)))
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[min(i, len(data) - 1)]
        elif op == 1:
            data[i:i] = bytes([rng.choice(b'{}[]",:0123456789.eE+-tfn \\/u\x00\x80\xff')])
        elif op == 2 and data:
            data[min(i, len(data) - 1)] = rng.randrange(256)
        elif op == 3:
            data = data[:i]
        else:
            j = rng.randrange(len(data) + 1)
            data[i:i] = data[min(i, j):max(i, j)]
    return bytes(data)


def _d_random_bytes(rng: random.Random) -> Any:
    n = rng.randint(0, 24)
    if rng.random() < 0.5:
        return bytes(rng.randrange(256) for _ in range(n))
    alphabet = '{}[]",:0123456789.eE+- \n\ttruefalsnul\\'
    return "".join(rng.choice(alphabet) for _ in range(n)).encode()


#: Decoding input classes: name -> generator of one document (bytes or str).
DECODE_CLASSES: dict[str, Callable[[random.Random], Any]] = {
    "encoded values": _d_values,
    "number literals": _d_numbers,
    "string escapes and raw characters": _d_strings,
    "BOMs, UTF-16/32 and invalid UTF-8 (bytes)": _d_bytes_level,
    "leading U+FEFF and lone surrogates (str)": _d_str_level,
    "whitespace": _d_whitespace,
    "duplicate keys": _d_duplicates,
    "deep nesting": _d_nesting,
    "mutated documents": _d_mutated,
    "random bytes": _d_random_bytes,
}

_CLASSES = {"json.encode": ENCODE_CLASSES, "json.decode": DECODE_CLASSES}


def classes(op_name: str) -> list[str]:
    """Input class names of an operation (``json.encode`` or ``json.decode``).

    Examples
    --------
    >>> "deep nesting" in classes("json.decode")
    True
    """
    return list(_CLASSES[op_name])


def _cases(table: dict[str, Callable], rng: random.Random, per_class: int) -> Iterator[tuple[str, Any]]:
    for name, gen in table.items():
        for _ in range(per_class):
            yield name, gen(rng)


def encode_cases(rng: random.Random, per_class: int = 30) -> Iterator[tuple[str, Any]]:
    """``(input class, value)``: ``per_class`` values of every encoding class, in class order."""
    return _cases(ENCODE_CLASSES, rng, per_class)


def decode_cases(rng: random.Random, per_class: int = 30) -> Iterator[tuple[str, Any]]:
    """``(input class, document)``: ``per_class`` documents of every decoding class, in class order."""
    return _cases(DECODE_CLASSES, rng, per_class)


def sample(op_name: str, n: int, seed: int = 0) -> Iterator[tuple[str, Any]]:
    """``n`` seeded inputs of ``op_name``, the classes taken in turn.

    Examples
    --------
    >>> [c for c, _ in sample("json.encode", 2)]
    ['integers around powers of two', 'integers beyond 64 bits']
    """
    table = _CLASSES[op_name]
    rng = random.Random(seed)
    gens = list(table.items())
    for i in range(n):
        name, gen = gens[i % len(gens)]
        yield name, gen(rng)
