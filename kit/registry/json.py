"""JSON encode/decode: stdlib ``json`` (baseline), orjson, msgspec, simdjson.

Both operations are *implementation* choices: every backend gives the
baseline's answer, bridged where a library's native behaviour differs; a
backend that cannot give it for one input raises or *declines* it (a per-call
guard) and the call falls back to the baseline, counted per input class in
``kit info``. A backend that differs anywhere else fails verification and is
never selected. The contract every backend honours:

Encoding (``obj -> bytes``)
    The baseline's bytes exactly: stdlib ``json.dumps`` with compact
    separators and non-ASCII written as is, encoded as UTF-8, key order kept,
    floats as Python's ``repr`` writes them (``1e-07``, ``1e+16``, ``-0.0``).
    Keys: ``str``; ``int``/``float``/``bool``/``None`` keys converted as the
    ``json`` module does. Integers of any size written exactly (up to
    Python's int-to-str limit). Non-finite floats written as ``null`` (as
    JavaScript's ``JSON.stringify``, orjson and msgspec do), also inside
    dataclasses and enums; non-finite keys raise ``ValueError``.
    ``datetime``/``time`` as ``isoformat()`` with UTC as ``Z`` (every
    microsecond digit, offsets with seconds kept), ``date`` as
    ``isoformat()``, ``uuid.UUID`` as its canonical string, ``enum.Enum`` as
    its value, dataclasses as objects of all their fields (``_private`` ones
    too), subclasses of ``str``/``int``/``float``/``list``/``tuple``/``dict``
    as their builtin data (a dict subclass in its ``items()`` order). Shared
    sub-objects are written each time; a circular reference raises
    ``ValueError`` naming the path where the cycle closes. Anything else
    (sets, bytes, ...) raises ``TypeError`` naming the type and its path,
    unless ``default=`` is given; a lone surrogate raises
    ``UnicodeEncodeError`` naming its path.
Decoding (``bytes | str -> object``)
    Strict type equality with the baseline: integers exact at any size,
    numbers too large for a double become ``±inf`` (as ``float()`` does), the
    literals ``NaN``/``Infinity`` are rejected, duplicate keys keep the last
    value at the first key's position, key order is the document's, a UTF-8
    BOM in bytes is skipped and UTF-16/32 input is detected as the ``json``
    module does, a ``str`` that starts with U+FEFF is rejected, escaped lone
    surrogates decode to lone surrogates. Input the baseline rejects is
    rejected. Documents nested deeper than the interpreter's recursion limit
    are a resource limit, not part of the contract: the baseline raises
    ``RecursionError``, a backend may decode them.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json as _json
import math
import random
import sys
import uuid
from typing import Any, Callable, Iterable

from kit.registry import FROM_BASELINE, Backend, Declined, Operation, declare_backend, declare_operation

ENCODE_CONTRACT = __doc__.split("Encoding (``obj -> bytes``)")[1].split("Decoding")[0].strip()
DECODE_CONTRACT = __doc__.split("Decoding (``bytes | str -> object``)")[1].strip()


# --- the contract's extension types, for the baseline ------------------------------------


def _rfc3339(o: datetime.datetime | datetime.time) -> str:
    s = o.isoformat()
    return s[:-6] + "Z" if s.endswith("+00:00") else s


def extension_default(o: Any) -> Any:
    """Encode the contract's extension types; raise ``TypeError`` for others."""
    if isinstance(o, (datetime.datetime, datetime.time)):
        return _rfc3339(o)
    if isinstance(o, datetime.date):
        return o.isoformat()
    if isinstance(o, uuid.UUID):
        return str(o)
    if isinstance(o, enum.Enum):
        return o.value
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
    raise TypeError(f"Type is not JSON serializable: {type(o).__name__}")


def _finite(o: Any, active: set[int] | None = None) -> Any:
    """Replace non-finite floats by ``None`` (the contract's ``null``); a cycle is left for the encoder to report."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, (dict, list, tuple)):
        active = set() if active is None else active
        if id(o) in active:
            return o
        active.add(id(o))
        try:
            if isinstance(o, dict):
                return {k: _finite(v, active) for k, v in o.items()}
            return [_finite(v, active) for v in o]
        finally:
            active.discard(id(o))
    return o


_JSON_KEYS = (str, int, float, bool, type(None))
_JSON_SCALARS = (str, int, float, bool, type(None))
_EXIT = object()


def find_unserializable(obj: Any, default: Callable | None = None, path: str = "$") -> tuple[str, Any] | None:
    """Path and value of the first object the contract cannot encode.

    Examples
    --------
    >>> find_unserializable({"items": [1, 2, 3, {4}]})
    ('$.items[3]', {4})
    >>> shared = [1]
    >>> find_unserializable([shared, shared]) is None  # shared is not circular
    True
    """
    found = find_problem(obj, default, path)
    return None if found is None else (found[0], found[1])


def find_problem(obj: Any, default: Callable | None = None, path: str = "$") -> tuple[str, Any, str, str] | None:
    """``(path, value, kind, detail)`` of the first thing the contract cannot encode, or ``None``.

    ``kind`` is ``type`` (an unsupported object), ``key`` (a key of an
    unsupported type), ``non-finite key``, ``cycle`` (``detail`` is the path
    of the object the cycle returns to), ``surrogate`` (a str with a lone
    surrogate) or ``int`` (more digits than Python converts to str). Walks
    depth first in encoding order, so the first problem is the one the
    encoder meets first; a sub-object met again is a cycle only while it is
    being encoded (on the current path), not when it is merely shared.

    Examples
    --------
    >>> loop = {"a": []}
    >>> loop["a"].append(loop)
    >>> find_problem(loop)[::2]
    ('$.a[0]', 'cycle')
    """
    stack: list[tuple[Any, str, Any]] = [(None, path, obj)]
    active: dict[int, str] = {}  # id -> path of the containers being encoded
    clean: set[int] = set()  # containers fully checked (shared ones are checked once)
    keep: list = []  # objects made by the hook stay alive, so that their ids are not reused
    hook = default or extension_default
    limit = sys.get_int_max_str_digits()
    while stack:
        mark, p, o = stack.pop()
        if mark is _EXIT:
            del active[id(o)]
            clean.add(id(o))
            continue
        if isinstance(o, str):
            if not o.isascii():
                try:
                    o.encode("utf-8")
                except UnicodeEncodeError:
                    return p, o, "surrogate", ""
            continue
        if isinstance(o, int) and not isinstance(o, bool):
            if limit and o.bit_length() > 3.3 * limit:
                try:
                    int.__repr__(o)
                except ValueError:
                    return p, o, "int", ""
            continue
        if isinstance(o, _JSON_SCALARS):
            continue
        i = id(o)
        if i in active:
            return p, o, "cycle", active[i]
        if i in clean:
            continue
        if isinstance(o, dict):
            active[i] = p
            stack.append((_EXIT, p, o))
            for k, v in reversed(list(o.items())):
                if not isinstance(k, _JSON_KEYS):
                    return f"{p} (key {k!r})", k, "key", ""
                if isinstance(k, float) and not math.isfinite(k):
                    return f"{p} (key {k!r})", k, "non-finite key", ""
                stack.append((None, f"{p}.{k}" if isinstance(k, str) and k.isidentifier() else f"{p}[{k!r}]", v))
            continue
        if isinstance(o, (list, tuple)):
            active[i] = p
            stack.append((_EXIT, p, o))
            for j in range(len(o) - 1, -1, -1):
                stack.append((None, f"{p}[{j}]", o[j]))
            continue
        try:
            converted = hook(o)
        except Exception:
            if default is None:
                return p, o, "type", ""
            try:
                converted = extension_default(o)
            except TypeError:
                return p, o, "type", ""
        keep.append(converted)
        # As the json module does, the object handed to the hook is marked while its conversion is encoded.
        active[i] = p
        stack.append((_EXIT, p, o))
        stack.append((None, p, converted))
    return None


def stdlib_encode(obj: Any, default: Callable | None = None) -> bytes:
    hook = extension_default if default is None else _chain(default)
    try:
        s = _json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=hook)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        # Non-finite floats become null: in the document, and in what the hook returns (dataclasses, enums).
        s = _json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                        default=lambda o: _finite(hook(o)))
    return s.encode("utf-8")


def _chain(user_default: Callable) -> Callable:
    def hook(o: Any) -> Any:
        try:
            return extension_default(o)
        except TypeError:
            return user_default(o)

    return hook


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (kit rejects NaN and Infinity literals)")


def stdlib_decode(data: Any) -> Any:
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    return _json.loads(data, parse_constant=_reject_constant)


# --- the fast libraries, bridged to the contract ----------------------------------------------

#: The input class orjson declines: it writes 1e-07 as 1e-7 and 1e-05 as 0.00001 (Python: 1e-05).
SMALL_FLOATS = "floats 1e-9 <= |x| < 1e-4"
_DIGITS = frozenset(b"0123456789")
_DIGITS_DOT = frozenset(b"0123456789.")
_NONZERO = frozenset(b"123456789")


def small_float_written(out: bytes) -> bool:
    """Whether orjson's output holds a float it writes differently from Python's ``repr``.

    orjson and Python write the same shortest digits, but for ``1e-9 <= |x| <
    1e-4`` orjson writes a one-digit exponent (``1e-7``; Python ``1e-07``) or
    positional notation (``0.00001``; Python ``1e-05``); every other float is
    written alike (checked by the tests, exponent by exponent). The screen
    is ``bytes.find`` calls; each hit is then looked at in place. A hit inside a
    string (``"1e-5"``) also declines: the call falls back, the answer stays
    the baseline's.

    Examples
    --------
    >>> small_float_written(b'[1e-7]'), small_float_written(b'[1e-07,"e-mail"]'), small_float_written(b'0.00001')
    (True, False, True)
    """
    n = len(out)
    i = out.find(b"e-")
    while i >= 0:
        if (i and out[i - 1] in _DIGITS and i + 2 < n and out[i + 2] in _NONZERO
                and (i + 3 == n or out[i + 3] not in _DIGITS)):
            return True
        i = out.find(b"e-", i + 2)
    i = out.find(b"0.0000")
    while i >= 0:
        if (i == 0 or out[i - 1] not in _DIGITS_DOT) and i + 6 < n and out[i + 6] in _DIGITS:
            return True
        i = out.find(b"0.0000", i + 1)
    return False


def _builtin_data(o: Any) -> Any:
    """What the json module encodes for a subclass of a builtin: its builtin data, not its overrides."""
    if isinstance(o, str):
        return str.__str__(o)
    if isinstance(o, int):
        return int.__int__(o)
    if isinstance(o, float):
        return float.__float__(o)
    if isinstance(o, dict):
        return dict(o.items())  # json encodes a dict subclass in its items() order (OrderedDict's own)
    if isinstance(o, list):
        return list.copy(o)
    if isinstance(o, tuple):
        return list(tuple.__iter__(o))
    return extension_default(o)


def _orjson_hook(user_default: Callable | None) -> Callable:
    if user_default is None:
        return _builtin_data

    def hook(o: Any) -> Any:
        try:
            return _builtin_data(o)
        except TypeError:
            return user_default(o)

    return hook


def _load_orjson_encode() -> Callable:
    import orjson

    dumps = orjson.dumps
    # Datetimes, dataclasses and subclasses go to the hook, which writes them as the baseline does: orjson's
    # own forms drop a time's leading microsecond zeros (08:28:15.48930), round offsets with seconds
    # (+00:19:32 -> +00:20), skip dataclass fields that start with "_" and ignore OrderedDict's order.
    opts = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
    def encode(obj: Any, default: Callable | None = None) -> bytes:
        # Non-str keys, integers beyond 64 bits, nesting beyond 254 levels and cycles raise here and fall back.
        out = dumps(obj, _builtin_data if default is None else _orjson_hook(default), opts)
        if small_float_screen(out) and small_float_written(out):
            raise Declined(SMALL_FLOATS, SMALL_FLOATS_WHY)
        return out

    # What kit.json inlines into its one-frame ``dumps`` (the screen with it: see small_float_screen).
    encode.inline = (dumps, _builtin_data, opts)  # type: ignore[attr-defined]
    return encode


SMALL_FLOATS_WHY = "orjson writes them with another exponent form (1e-7, not 1e-07)"


def small_float_screen(out: bytes) -> bool:
    """The cheap test in front of :func:`small_float_written`: ``False`` means no float can differ.

    ``True`` whenever the output holds ``0.0000`` or both ``-`` and ``e-``
    (a superset of what :func:`small_float_written` confirms). The
    multi-byte searches use ``bytes.partition``: a one-argument method, so
    its call costs less than ``bytes.find``'s (arguments parsed from a
    tuple) and ``in``'s with a bytes needle (which first tries the needle as
    an integer and clears the error). ``-`` is tested as ``45 in out``: an
    integer needle is a ``memchr`` from the bytecode, with no method call
    and no tuple, about half a ``partition``'s cost; most documents hold no
    ``-``, so the ``e-`` search rarely runs. kit.json inlines the same
    expression in its ``dumps``.

    Examples
    --------
    >>> small_float_screen(b'{"a":45.385}'), small_float_screen(b'[1e-7]'), small_float_screen(b'[-1]')
    (False, True, False)
    """
    return bool(out.partition(b"0.0000")[1] or (45 in out and out.partition(b"e-")[1]))


def _load_orjson_decode() -> Callable:
    import orjson

    return orjson.loads


def _load_msgspec_encode() -> Callable:
    import msgspec

    enc = msgspec.json.Encoder(enc_hook=extension_default, uuid_format="canonical")

    def encode(obj: Any, default: Callable | None = None) -> bytes:
        if default is None:
            return enc.encode(obj)
        return msgspec.json.encode(obj, enc_hook=_chain(default))

    encode.direct = enc.encode  # type: ignore[attr-defined]
    return encode


def _load_msgspec_decode() -> Callable:
    import msgspec

    return msgspec.json.Decoder().decode


#: The input class simdjson declines: a str that starts with U+FEFF (the baseline rejects it).
BOM_STR = "str starting with U+FEFF"


def _load_simdjson_decode() -> Callable:
    import simdjson

    loads = simdjson.loads

    def decode(data: Any) -> Any:
        if isinstance(data, memoryview):
            data = bytes(data)
        elif isinstance(data, str) and data[:1] == "\ufeff":
            raise Declined(BOM_STR, "simdjson skips it; the json module rejects it")
        return loads(data)

    return decode


# --- verification -------------------------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """Strict equality: types (``1`` vs ``1.0`` vs ``True``), key order, ``-0.0``, NaN.

    Examples
    --------
    >>> same_value({"a": 1}, {"a": 1.0})
    False
    >>> same_value([float("nan")], [float("nan")])
    True
    """
    stack = [(a, b)]
    while stack:  # iterative: documents may nest deeper than the recursion limit
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif isinstance(x, dict):
            if len(x) != len(y):
                return False
            for (kx, vx), (ky, vy) in zip(x.items(), y.items()):
                if kx != ky:
                    return False
                stack.append((vx, vy))
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif x != y:
            return False
    return True


def same_bytes(a: Any, b: Any) -> bool:
    """The encoding contract's equality: the same bytes (people diff and hash them).

    Examples
    --------
    >>> same_bytes(b"[1e-07]", b"[1e-7]")
    False
    """
    return type(a) is bytes and a == b


def same_encoding(a: bytes, b: bytes) -> bool:
    """Two encodings decode (by the baseline) to the same value; weaker than :func:`same_bytes`."""
    if not isinstance(a, bytes) or not isinstance(b, bytes):
        return False
    return same_value(stdlib_decode(a), stdlib_decode(b))


class _Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class _Point:
    x: int
    y: float


@dataclasses.dataclass
class _Tagged:
    id: int
    _etag: str


def _encode_cases() -> list[tuple[str, Any]]:
    utc = datetime.timezone.utc
    amsterdam_1900 = datetime.timezone(datetime.timedelta(minutes=19, seconds=32))
    return [
        ("scalars", [0, -1, 1.5, -0.0, 1e16, 1e-7, -1e-7, 1e-5, 0.0001, True, False, None, "", "x"]),
        ("unicode", {"é": "naïve 日本語 😀", "esc": "quote\" back\\ nl\n tab\t \x00 \u2028 \ufeff \U0010ffff"}),
        ("int64 edges", [2**63 - 1, -(2**63), 2**64 - 1]),
        ("big integers", [2**64, -(2**63) - 1, 10**40]),
        ("non-finite", [float("nan"), float("inf"), -float("inf")]),
        ("non-finite in a dataclass", _Point(1, float("nan"))),
        ("non-str keys", {1: "a", 2.5: "b", True: "c", None: "d"}),
        ("tuple", (1, (2, 3))),
        ("nested", {"a": [{"b": [[]], "c": {}}] * 3}),
        ("datetime", [datetime.datetime(2024, 2, 29, 12, 30, 1, 5, tzinfo=utc), datetime.datetime(2024, 1, 1)]),
        ("offset with seconds", datetime.datetime(1900, 1, 1, 12, tzinfo=amsterdam_1900)),
        ("date/time", [datetime.date(2024, 1, 2), datetime.time(23, 59, 59, 999999), datetime.time(8, 28, 15, 48930)]),
        ("uuid", uuid.UUID(int=0x1234)),
        ("enum", {"c": _Color.RED}),
        ("dataclass", _Point(1, 2.5)),
        ("dataclass field with _", _Tagged(1, "x")),
        ("str subclass", {"k": type("S", (str,), {})("v")}),
        ("deep nesting", [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] * 2),
    ]


def _reject_cases() -> list[tuple[str, Any]]:
    return [("set", {1, 2}), ("bytes", b"raw"), ("object", object()), ("set in list", [1, {2}])]


def _shared_documents() -> Iterable[tuple[str, bytes]]:
    from kit._paths import shared_file

    for name in ("twitter.json", "citm_catalog.json", "canada.json"):
        p = shared_file("json", name)
        if p is not None:
            yield name, p.read_bytes()


def json_test_suite() -> list[tuple[str, bytes]]:
    """JSONTestSuite's parsing cases ``(file name, bytes)``; empty when absent."""
    from kit._paths import shared_file

    d = shared_file("jsontestsuite", "test_parsing")
    if d is None:
        return []
    return [(p.name, p.read_bytes()) for p in sorted(d.glob("*.json"))]


def _encode_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    for label, obj in _encode_cases():
        yield label, (obj,), FROM_BASELINE
    for label, data in _shared_documents():
        yield label, (stdlib_decode(data),), FROM_BASELINE


def _decode_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    literal = [
        ("big integers", b"[18446744073709551616, -9223372036854775809, 123456789012345678901234567890]"),
        ("uint64 max", b"18446744073709551615"),
        ("floats", b"[0.1, 1e16, -0.0, 5e-324, 1.7976931348623157e308, 1E2, 1e400]"),
        ("duplicate keys", b'{"a": 1, "a": 2, "b": 3}'),
        ("escapes", b'["\\u00e9\\ud83d\\ude00", "\\"\\\\\\/\\b\\f\\n\\r\\t"]'),
        ("lone surrogate", b'"\\ud800"'),
        ("utf-8 bom", b'\xef\xbb\xbf{"a": 1}'),
        ("str with U+FEFF", '\ufeff{"a": 1}'),
        ("str input", '{"k": [1, 2.0, "三"]}'),
        ("whitespace", b' \n\t[ 1 , { "a" : null } ]\r\n'),
    ]
    yield from ((label, (data,), FROM_BASELINE) for label, data in literal)
    yield from ((label, (data,), FROM_BASELINE) for label, data in _shared_documents())
    for name, data in json_test_suite():
        if name.startswith(("y_", "i_")):
            yield name, (data,), FROM_BASELINE


#: Generated cases per input class in the engine's verification (``python -m kit.engine.json_check`` draws more).
VERIFY_PER_CLASS = {"json.encode": 25, "json.decode": 40}


def _encode_generated(rng: random.Random) -> Iterable[tuple[str, tuple]]:
    from kit.registry import jsongen

    for cls, value in jsongen.encode_cases(rng, VERIFY_PER_CLASS["json.encode"]):
        yield cls, (value,)


def _decode_generated(rng: random.Random) -> Iterable[tuple[str, tuple]]:
    from kit.registry import jsongen

    for cls, doc in jsongen.decode_cases(rng, VERIFY_PER_CLASS["json.decode"]):
        yield cls, (doc,)


def _json_prepare(doc: Any, backend: str) -> tuple:
    return (doc,)


def _decode_prepare(doc: Any, backend: str) -> tuple:
    return (stdlib_encode(doc),)


def _check_encode(name: str, fn: Callable) -> list[str]:
    problems = []
    for label, obj in _reject_cases():
        try:
            out = fn(obj)
        except (TypeError, ValueError):
            continue
        problems.append(f"{label}: encoded {out[:40]!r} where the contract raises TypeError")
    return problems


def _check_decode(name: str, fn: Callable) -> list[str]:
    problems = []
    for case, data in json_test_suite() + [("n_nan_literal", b"[NaN]"), ("n_infinity", b"Infinity")]:
        if not case.startswith("n_"):
            continue
        try:
            out = fn(data)
        except Exception:
            continue
        problems.append(f"{case}: accepted invalid JSON as {out!r:.40}")
    return problems


declare_operation(
    Operation(
        name="json.encode",
        category="json",
        summary="Python object -> compact UTF-8 JSON bytes",
        baseline="json",
        signature="encode(obj, default=None) -> bytes",
        kinds=("json",),
        prepare=_json_prepare,
        equal=same_bytes,
        contract=ENCODE_CONTRACT,
        corpus=_encode_corpus,
        check=_check_encode,
        generated=_encode_generated,
    )
)
declare_operation(
    Operation(
        name="json.decode",
        category="json",
        summary="JSON bytes or str -> Python object",
        baseline="json",
        signature="decode(data) -> object",
        kinds=("json",),
        prepare=_decode_prepare,
        equal=same_value,
        contract=DECODE_CONTRACT,
        corpus=_decode_corpus,
        check=_check_decode,
        generated=_decode_generated,
    )
)

_ENC = frozenset({"bytes-output", "default-hook", "extension-types"})
_DEC = frozenset({"bytes-input", "str-input"})

declare_backend(Backend("json.encode", "json", (), None, lambda: stdlib_encode, _ENC | {"big-integers", "non-str-keys"},
                        "stdlib json.dumps(ensure_ascii=False, separators=(',', ':'), allow_nan=False) with the "
                        "contract's default hook; non-finite floats rewritten as null"))
declare_backend(Backend("json.encode", "orjson", ("orjson",), "orjson", _load_orjson_encode, _ENC,
                        "datetimes, dataclasses and subclasses passed through to the contract's hook; declines "
                        f"{SMALL_FLOATS} (exponent form); integers beyond 64 bits, non-str keys, nesting beyond "
                        "254 levels raise, so those calls fall back"))
declare_backend(Backend("json.encode", "msgspec", ("msgspec",), "msgspec", _load_msgspec_encode, _ENC | {"big-integers"},
                        "msgspec.json.Encoder(enc_hook=contract hook); encodes sets, bytes and Decimal natively, "
                        "writes 1e16 for 1e+16, rounds offsets with seconds: fails verification"))
declare_backend(Backend("json.decode", "json", (), None, lambda: stdlib_decode, _DEC | {"big-integers", "bom", "lone-surrogates"},
                        "stdlib json.loads with NaN/Infinity literals rejected"))
declare_backend(Backend("json.decode", "orjson", ("orjson",), "orjson", _load_orjson_decode, _DEC,
                        "orjson.loads; reads integers beyond 64 bits as float: fails verification"))
declare_backend(Backend("json.decode", "msgspec", ("msgspec",), "msgspec", _load_msgspec_decode, _DEC | {"big-integers"},
                        "msgspec.json.Decoder().decode; overflowing floats, BOMs and lone surrogates raise and fall back"))
declare_backend(Backend("json.decode", "simdjson", ("simdjson",), "pysimdjson", _load_simdjson_decode, _DEC,
                        f"simdjson.loads; declines a {BOM_STR}; integers beyond 64 bits raise and fall back"))
