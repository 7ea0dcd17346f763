"""Content fingerprints of function arguments, for ``memoize`` keys.

Arrays are hashed by their buffer (no copy when contiguous) with dtype,
shape and memory order; Arrow and polars tables by their column buffers with
type, length, offset and null count; containers element by element with a
type tag, so ``1``, ``1.0``, ``True`` and ``"1"`` differ. The hash is pinned
for stored keys: XXH3-128 (``xxhash``), or BLAKE2b-128 when xxhash is
absent, and the algorithm's name is part of every key, so a change of
algorithm is a miss, never a false hit.

Examples
--------
>>> from kit.cache.fingerprint import fingerprint
>>> fingerprint([1, 2.0, "3"]) == fingerprint([1, 2.0, "3"])
True
>>> fingerprint(1) == fingerprint(1.0)
False
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import inspect
import marshal
import pathlib
import struct
import sys
import uuid
from typing import Any

__all__ = ["ALGORITHM", "fingerprint", "new_hasher", "function_identity", "FingerprintError"]


def _xxhash_available() -> bool:
    from kit import _registry

    return _registry.backend("fingerprint", "xxh3_128").available


ALGORITHM = "xxh3_128" if _xxhash_available() else "blake2b_128"


class FingerprintError(TypeError):
    """An argument's type has no content fingerprint."""


def new_hasher() -> Any:
    """A streaming 128-bit hasher of the pinned :data:`ALGORITHM` (``update``, ``hexdigest``)."""
    if ALGORITHM == "xxh3_128":
        import xxhash

        return xxhash.xxh3_128()
    return hashlib.blake2b(digest_size=16)


_Q = struct.Struct("<q")
_D = struct.Struct("<d")


def _len(h: Any, n: int) -> None:
    h.update(_Q.pack(n))


def _bytes(h: Any, tag: bytes, data: Any) -> None:
    mv = memoryview(data)
    h.update(tag)
    _len(h, mv.nbytes)
    h.update(mv)


def _array(h: Any, arr: Any) -> None:
    import numpy as np

    if arr.dtype.hasobject:
        h.update(b"O")
        _update(h, arr.shape, 0)
        for x in arr.ravel(order="K").tolist():
            _update(h, x, 1)
        return
    h.update(b"N")
    h.update(arr.dtype.str.encode() if not arr.dtype.fields else repr(arr.dtype.descr).encode())
    _update(h, arr.shape, 0)
    if arr.flags.c_contiguous:
        h.update(b"C")
        buf = arr
    elif arr.flags.f_contiguous:
        h.update(b"F")
        buf = arr.T
    else:  # a strided view: hash its elements in C order (one copy)
        h.update(b"S")
        buf = np.ascontiguousarray(arr)
    if buf.size:
        h.update(buf.reshape(-1).view(np.uint8))


def _arrow_array(h: Any, arr: Any) -> None:
    h.update(str(arr.type).encode())
    _len(h, len(arr))
    _len(h, arr.offset)
    _len(h, arr.null_count)
    for buf in arr.buffers():
        if buf is None:
            h.update(b"-")
        else:
            _bytes(h, b"b", buf)


def _arrow_table(h: Any, table: Any) -> None:
    h.update(str(table.schema).encode())
    for col in table.columns:
        _len(h, col.num_chunks)
        for chunk in col.chunks:
            _arrow_array(h, chunk)


def _update(h: Any, v: Any, depth: int) -> None:
    if depth > 200:
        raise FingerprintError("argument nested deeper than 200 levels")
    t = type(v)
    if v is None:
        h.update(b"n")
    elif t is bool:
        h.update(b"t" if v else b"f")
    elif t is int:
        _bytes(h, b"i", v.to_bytes((v.bit_length() + 8) // 8 or 1, "little", signed=True))
    elif t is float:
        h.update(b"d" + _D.pack(v))
    elif t is str:
        _bytes(h, b"s", v.encode("utf-8", "surrogatepass"))
    elif t is bytes or t is bytearray or t is memoryview:
        _bytes(h, b"b", memoryview(v).cast("B") if t is memoryview and memoryview(v).c_contiguous else
               (bytes(v) if t is memoryview else v))
    elif t is tuple or t is list:
        h.update(b"u" if t is tuple else b"l")
        _len(h, len(v))
        for x in v:
            _update(h, x, depth + 1)
    elif t is dict:
        h.update(b"m")
        _len(h, len(v))
        for k, x in v.items():
            _update(h, k, depth + 1)
            _update(h, x, depth + 1)
    elif t is set or t is frozenset:
        h.update(b"e" if t is set else b"z")
        parts = sorted(fingerprint(x) for x in v)
        _len(h, len(parts))
        for p in parts:
            h.update(p)
    elif t is complex:
        h.update(b"c" + _D.pack(v.real) + _D.pack(v.imag))
    elif t in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal,
               uuid.UUID) or isinstance(v, pathlib.PurePath):
        _bytes(h, b"r", f"{t.__module__}.{t.__qualname__}:{v!r}".encode())
    elif isinstance(v, enum.Enum):
        _bytes(h, b"E", f"{t.__module__}.{t.__qualname__}".encode())
        _update(h, v.value, depth + 1)
    elif _is(v, "numpy", "ndarray"):
        _array(h, v)
    elif _is(v, "numpy", "generic"):
        import numpy as np

        _array(h, np.asarray(v))
    elif _is(v, "pyarrow", "Table") or _is(v, "pyarrow", "RecordBatch"):
        h.update(b"A")
        _arrow_table(h, v if _is(v, "pyarrow", "Table") else sys.modules["pyarrow"].Table.from_batches([v]))
    elif _is(v, "pyarrow", "ChunkedArray"):
        h.update(b"a")
        for chunk in v.chunks:
            _arrow_array(h, chunk)
    elif _is(v, "pyarrow", "Array"):
        h.update(b"a")
        _arrow_array(h, v)
    elif _is(v, "polars", "DataFrame"):
        h.update(b"P")
        _arrow_table(h, v.to_arrow())
    elif _is(v, "polars", "Series"):
        h.update(b"S")
        _bytes(h, b"s", v.name.encode())
        arr = v.to_arrow()
        for chunk in getattr(arr, "chunks", [arr]):
            _arrow_array(h, chunk)
    elif hasattr(v, "__kit_fingerprint__"):
        _bytes(h, b"K", f"{t.__module__}.{t.__qualname__}".encode())
        _bytes(h, b"k", v.__kit_fingerprint__())
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        _bytes(h, b"D", f"{t.__module__}.{t.__qualname__}".encode())
        for f in dataclasses.fields(v):
            _update(h, f.name, depth + 1)
            _update(h, getattr(v, f.name), depth + 1)
    elif callable(v) and hasattr(v, "__code__"):
        _bytes(h, b"F", function_identity(v))
    else:
        raise FingerprintError(
            f"cannot fingerprint an argument of type {t.__module__}.{t.__qualname__}; supported: None, bool, "
            "int, float, complex, str, bytes, tuple, list, dict, set, datetime, Decimal, UUID, Path, Enum, "
            "dataclasses, functions, numpy arrays, pyarrow and polars tables (exclude it with ignore=[...], "
            "or give the type a __kit_fingerprint__() method returning bytes)")


def _is(v: Any, module: str, name: str) -> bool:
    mod = sys.modules.get(module)
    return mod is not None and isinstance(v, getattr(mod, name))


def fingerprint(value: Any) -> bytes:
    """16-byte content fingerprint of ``value`` with the pinned :data:`ALGORITHM`.

    Raises
    ------
    FingerprintError
        A part of ``value`` has a type with no content fingerprint.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(10.0)
    >>> fingerprint(a) == fingerprint(a.copy()), fingerprint(a) == fingerprint(a.astype("f4"))
    (True, False)
    """
    h = new_hasher()
    _update(h, value, 0)
    return h.digest()


def function_identity(func: Any) -> bytes:
    """Module, qualified name and a hash of the source (or, without source, of the code object).

    Examples
    --------
    >>> def f(x): return x + 1
    >>> def g(x): return x + 2
    >>> function_identity(f) != function_identity(g)
    True
    """
    target = inspect.unwrap(func)
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    h = new_hasher()
    try:
        src = inspect.getsource(target)
        h.update(b"src:" + inspect.cleandoc(src).encode("utf-8", "surrogatepass"))
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            h.update(b"code:" + marshal.dumps(code.co_code) + repr(code.co_consts).encode()
                     + repr(code.co_names).encode())
    return name.encode() + b"\0" + h.digest()
