"""JSON encode/decode: stdlib ``json`` (baseline), orjson, msgspec, simdjson.

The contract every backend honours (bridged where a library's native behaviour
differs; a backend that cannot honour it for one input raises, and the call
falls back to the baseline):

Encoding (``obj -> bytes``)
    UTF-8 bytes, compact separators, non-ASCII written as is, key order kept.
    Keys: ``str``; ``int``/``float``/``bool``/``None`` keys converted as the
    ``json`` module does. Integers of any size written exactly. Non-finite
    floats written as ``null`` (as JavaScript's ``JSON.stringify``, orjson and
    msgspec do). ``datetime``/``date``/``time`` as RFC 3339 (UTC as ``Z``),
    ``uuid.UUID`` as its canonical string, ``enum.Enum`` as its value,
    dataclasses as objects. Anything else (sets, bytes, ...) raises
    ``TypeError`` naming the type and its path, unless ``default=`` is given.
Decoding (``bytes | str -> object``)
    Strict type equality with the baseline: integers exact at any size,
    numbers too large for a double become ``±inf`` (as ``float()`` does), the
    literals ``NaN``/``Infinity`` are rejected, duplicate keys keep the last
    value, key order is the document's, a UTF-8 BOM is skipped and UTF-16/32
    input is detected as the ``json`` module does.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json as _json
import math
import uuid
from typing import Any, Callable, Iterable

from kit._registry import FROM_BASELINE, Backend, Operation, declare_backend, declare_operation

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


def _finite(o: Any) -> Any:
    """Replace non-finite floats by ``None`` (the contract's ``null``)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


_JSON_KEYS = (str, int, float, bool, type(None))
_JSON_SCALARS = (str, int, float, bool, type(None))


def find_unserializable(obj: Any, default: Callable | None = None, path: str = "$") -> tuple[str, Any] | None:
    """Path and value of the first object the contract cannot encode.

    Examples
    --------
    >>> find_unserializable({"items": [1, 2, 3, {4}]})
    ('$.items[3]', {4})
    """
    stack = [(path, obj)]
    seen: set[int] = set()
    while stack:
        p, o = stack.pop()
        if isinstance(o, _JSON_SCALARS):
            continue
        if isinstance(o, dict):
            if id(o) in seen:
                return p, o
            seen.add(id(o))
            items = list(o.items())
            for k, v in reversed(items):
                if not isinstance(k, _JSON_KEYS):
                    return f"{p} (key {k!r})", k
                stack.append((f"{p}.{k}" if isinstance(k, str) and k.isidentifier() else f"{p}[{k!r}]", v))
            continue
        if isinstance(o, (list, tuple)):
            if id(o) in seen:
                return p, o
            seen.add(id(o))
            for i in range(len(o) - 1, -1, -1):
                stack.append((f"{p}[{i}]", o[i]))
            continue
        hook = default or extension_default
        try:
            converted = hook(o)
        except Exception:
            if default is not None:
                try:
                    converted = extension_default(o)
                except TypeError:
                    return p, o
            else:
                return p, o
        stack.append((p, converted))
    return None


def stdlib_encode(obj: Any, default: Callable | None = None) -> bytes:
    hook = extension_default if default is None else _chain(default)
    try:
        s = _json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=hook)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        s = _json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=hook)
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


def _load_orjson_encode() -> Callable:
    import orjson

    dumps, opts = orjson.dumps, orjson.OPT_UTC_Z

    def encode(obj: Any, default: Callable | None = None) -> bytes:
        # Non-str keys and integers beyond 64 bits raise here and fall back.
        return dumps(obj, extension_default if default is None else _chain(default), opts)

    # The bare library call, for measuring kit's dispatch overhead against it.
    encode.direct = lambda obj: dumps(obj, extension_default, opts)  # type: ignore[attr-defined]
    encode.raw = (dumps, extension_default, opts)  # type: ignore[attr-defined]
    return encode


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


def _load_simdjson_decode() -> Callable:
    import simdjson

    loads = simdjson.loads

    def decode(data: Any) -> Any:
        if isinstance(data, memoryview):
            data = bytes(data)
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


def same_encoding(a: bytes, b: bytes) -> bool:
    """Two encodings are equal when they decode (by the baseline) to the same value."""
    if not isinstance(a, bytes) or not isinstance(b, bytes):
        return False
    return same_value(stdlib_decode(a), stdlib_decode(b))


class _Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class _Point:
    x: int
    y: float


def _encode_cases() -> list[tuple[str, Any]]:
    utc = datetime.timezone.utc
    return [
        ("scalars", [0, -1, 1.5, -0.0, 1e16, 1e-7, True, False, None, "", "x"]),
        ("unicode", {"é": "naïve 日本語 😀", "esc": "quote\" back\\ nl\n tab\t \x00 \u2028"}),
        ("int64 edges", [2**63 - 1, -(2**63), 2**64 - 1]),
        ("big integers", [2**64, -(2**63) - 1, 10**40]),
        ("non-finite", [float("nan"), float("inf"), -float("inf")]),
        ("non-str keys", {1: "a", 2.5: "b", True: "c", None: "d"}),
        ("tuple", (1, (2, 3))),
        ("nested", {"a": [{"b": [[]], "c": {}}] * 3}),
        ("datetime", [datetime.datetime(2024, 2, 29, 12, 30, 1, 5, tzinfo=utc), datetime.datetime(2024, 1, 1)]),
        ("date/time", [datetime.date(2024, 1, 2), datetime.time(23, 59, 59, 999999)]),
        ("uuid", uuid.UUID(int=0x1234)),
        ("enum", {"c": _Color.RED}),
        ("dataclass", _Point(1, 2.5)),
        ("str subclass", {"k": type("S", (str,), {})("v")}),
    ]


def _reject_cases() -> list[tuple[str, Any]]:
    return [("set", {1, 2}), ("bytes", b"raw"), ("object", object()), ("set in list", [1, {2}])]


def _shared_documents() -> Iterable[tuple[str, bytes]]:
    from kit._data import shared_file

    for name in ("twitter.json", "citm_catalog.json", "canada.json"):
        p = shared_file("json", name)
        if p is not None:
            yield name, p.read_bytes()


def json_test_suite() -> list[tuple[str, bytes]]:
    """JSONTestSuite's parsing cases ``(file name, bytes)``; empty when absent."""
    from kit._data import shared_file

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
        ("str input", '{"k": [1, 2.0, "三"]}'),
        ("whitespace", b' \n\t[ 1 , { "a" : null } ]\r\n'),
    ]
    yield from ((label, (data,), FROM_BASELINE) for label, data in literal)
    yield from ((label, (data,), FROM_BASELINE) for label, data in _shared_documents())
    for name, data in json_test_suite():
        if name.startswith(("y_", "i_")):
            yield name, (data,), FROM_BASELINE


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
        equal=same_encoding,
        contract=ENCODE_CONTRACT,
        corpus=_encode_corpus,
        check=_check_encode,
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
    )
)

_ENC = frozenset({"bytes-output", "default-hook", "extension-types"})
_DEC = frozenset({"bytes-input", "str-input"})

declare_backend(Backend("json.encode", "json", (), None, lambda: stdlib_encode, _ENC | {"big-integers", "non-str-keys"},
                        "stdlib json.dumps(ensure_ascii=False, separators=(',', ':'), allow_nan=False) with the "
                        "contract's default hook; non-finite floats rewritten as null"))
declare_backend(Backend("json.encode", "orjson", ("orjson",), "orjson", _load_orjson_encode, _ENC,
                        "OPT_UTC_Z; integers beyond 64 bits and non-str keys raise, so those calls fall back"))
declare_backend(Backend("json.encode", "msgspec", ("msgspec",), "msgspec", _load_msgspec_encode, _ENC | {"big-integers"},
                        "msgspec.json.Encoder(enc_hook=contract hook); encodes sets and bytes natively"))
declare_backend(Backend("json.decode", "json", (), None, lambda: stdlib_decode, _DEC | {"big-integers", "bom", "lone-surrogates"},
                        "stdlib json.loads with NaN/Infinity literals rejected"))
declare_backend(Backend("json.decode", "orjson", ("orjson",), "orjson", _load_orjson_decode, _DEC,
                        "orjson.loads; reads integers beyond 64 bits as float"))
declare_backend(Backend("json.decode", "msgspec", ("msgspec",), "msgspec", _load_msgspec_decode, _DEC | {"big-integers"},
                        "msgspec.json.Decoder().decode; overflowing floats and lone surrogates raise and fall back"))
declare_backend(Backend("json.decode", "simdjson", ("simdjson",), "pysimdjson", _load_simdjson_decode, _DEC,
                        "simdjson.loads; integers beyond 64 bits raise and fall back"))
