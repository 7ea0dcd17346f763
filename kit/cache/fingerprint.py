"""Content fingerprints of function arguments, for ``memoize`` keys.

Arrays are hashed by their buffer (no copy when contiguous) with dtype,
shape and memory order, and with their subclass (an ``np.matrix`` multiplies
differently), mask and fill value (masked arrays); object arrays element by
element in logical order. Arrow and polars tables by their serialized schema
and column buffers with type, length, offset and null count, dictionary
arrays (polars ``Categorical``) with their dictionary, nested arrays by their
IPC stream. ``bytes``, ``bytearray`` and ``memoryview`` (with its format and
shape) differ; a numpy scalar is not the 0-d array holding it. Containers are
hashed element by element with a type tag, so ``1``, ``1.0``, ``True`` and
``"1"`` differ. Functions, closures and bound methods are hashed by their
source and code and by what they hold: closure cells, defaults and the bound
object, by content (:func:`function_state`).

The hash is pinned for stored keys: XXH3-128 (``xxhash``), or BLAKE2b-128
when xxhash is absent, and the algorithm's name is part of every key, so a
change of algorithm is a miss, never a false hit.

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
import functools
import hashlib
import inspect
import marshal
import pathlib
import struct
import sys
import types
import uuid
import weakref
from typing import Any

__all__ = ["ALGORITHM", "fingerprint", "new_hasher", "function_identity", "function_state", "has_state",
           "free_variables", "update",
           "FingerprintError"]


def _xxhash_available() -> bool:
    from kit import registry as _registry

    return "xxh3_128" in _registry.available("fingerprint")


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


def _type_name(h: Any, t: type) -> None:
    _bytes(h, b"T", f"{t.__module__}.{t.__qualname__}".encode())


def _array(h: Any, arr: Any, depth: int = 0, active: Any = None) -> None:
    import numpy as np

    t = type(arr)
    if t is not np.ndarray and t is not np.memmap:  # a memmap reads as the ndarray it maps
        if isinstance(arr, np.ma.MaskedArray):
            # Data, mask (every element's flag, whatever the itemsize) and fill value all
            # change what a function computes from a masked array.
            h.update(b"M")
            _type_name(h, t)
            _array(h, np.ma.getdata(arr), depth + 1, active)
            _array(h, np.ma.getmaskarray(arr), depth + 1, active)
            _update(h, arr.fill_value, depth + 1, active)
            h.update(b"H" if arr.hardmask else b"h")
            return
        # np.matrix and other subclasses behave differently on the same buffer (a matrix
        # product for *): the subclass is part of the content.
        h.update(b"X")
        _type_name(h, t)
        arr = arr.view(np.ndarray)
    if arr.dtype.hasobject:
        h.update(b"O")
        h.update(repr(arr.dtype).encode())
        _update(h, arr.shape, depth + 1, active)
        # Logical (C) order, whatever the memory order: the elements of an F-ordered array
        # must not read as those of a C-ordered one that happens to hold them in that order.
        for x in arr.ravel(order="C").tolist():
            _update(h, x, depth + 1, active)
        return
    h.update(b"N")
    h.update(arr.dtype.str.encode() if not arr.dtype.fields else repr(arr.dtype).encode())
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


def _memoryview(h: Any, mv: memoryview) -> None:
    # The same bytes under another format or shape are another value (a view of int32 is not bytes).
    h.update(b"v")
    _bytes(h, b"f", mv.format.encode())
    _len(h, mv.itemsize)
    _len(h, mv.ndim)
    for n in mv.shape or ():
        _len(h, n)
    h.update(b"R" if mv.readonly else b"W")
    _bytes(h, b"b", mv.cast("B") if mv.c_contiguous else mv.tobytes())


class _HashSink:
    """A write-only file that feeds what is written to a hasher (Arrow IPC without a copy in memory)."""

    def __init__(self, h: Any) -> None:
        self.h = h
        self.closed = False

    def write(self, data: Any) -> int:
        mv = memoryview(data)
        self.h.update(mv)
        return mv.nbytes

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _arrow_ipc(h: Any, arr: Any) -> None:
    """Nested and extension arrays: hash their IPC stream, which holds every child (and dictionary) as sliced."""
    pa = sys.modules["pyarrow"]
    batch = pa.RecordBatch.from_arrays([arr], ["_"])
    sink = _HashSink(h)
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)


def _arrow_array(h: Any, arr: Any) -> None:
    pa = sys.modules["pyarrow"]
    t = arr.type
    h.update(str(t).encode())
    _len(h, len(arr))
    _len(h, arr.offset)
    _len(h, arr.null_count)
    if pa.types.is_dictionary(t):
        # The indices alone would make ["a", "b"] and ["x", "y"] one value: the dictionary too.
        h.update(b"d")
        _arrow_array(h, arr.indices)
        _arrow_array(h, arr.dictionary)
        return
    if t.num_fields or isinstance(t, pa.ExtensionType):
        # Children carry offsets of their own that buffers() drops.
        h.update(b"i")
        _arrow_ipc(h, arr)
        return
    for buf in arr.buffers():
        if buf is None:
            h.update(b"-")
        else:
            _bytes(h, b"b", buf)


def _arrow_table(h: Any, table: Any) -> None:
    # The serialized schema: names, types, nullability and metadata, exactly (str() truncates metadata).
    _bytes(h, b"s", table.schema.serialize())
    for col in table.columns:
        _len(h, col.num_chunks)
        for chunk in col.chunks:
            _arrow_array(h, chunk)


_SCALARS = (datetime.datetime, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal, uuid.UUID)


def _update(h: Any, v: Any, depth: int, active: Any = None) -> None:
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
    elif t is bytes:
        _bytes(h, b"b", v)
    elif t is bytearray:
        _bytes(h, b"y", v)
    elif t is memoryview:
        _memoryview(h, v)
    elif t is tuple or t is list:
        h.update(b"u" if t is tuple else b"l")
        _len(h, len(v))
        for x in v:
            _update(h, x, depth + 1, active)
    elif t is dict:
        h.update(b"m")
        _len(h, len(v))
        for k, x in v.items():
            _update(h, k, depth + 1, active)
            _update(h, x, depth + 1, active)
    elif t is set or t is frozenset:
        h.update(b"e" if t is set else b"z")
        parts = sorted(_digest(x, depth + 1, active) for x in v)
        _len(h, len(parts))
        for p in parts:
            h.update(p)
    elif t is complex:
        h.update(b"c" + _D.pack(v.real) + _D.pack(v.imag))
    elif t in _SCALARS or isinstance(v, pathlib.PurePath):
        _bytes(h, b"r", f"{t.__module__}.{t.__qualname__}:{v!r}".encode())
    elif isinstance(v, enum.Enum):
        _bytes(h, b"E", f"{t.__module__}.{t.__qualname__}".encode())
        _update(h, v.value, depth + 1, active)
    elif _is(v, "numpy", "ndarray"):
        _array(h, v, depth, active)
    elif _is(v, "numpy", "generic"):
        import numpy as np

        # A numpy scalar is not the 0-d array holding it (indexing, in-place ops differ).
        h.update(b"g")
        _type_name(h, t)
        _array(h, np.asarray(v), depth, active)
    elif _is(v, "pyarrow", "Table") or _is(v, "pyarrow", "RecordBatch"):
        h.update(b"A" if _is(v, "pyarrow", "Table") else b"B")
        _arrow_table(h, v if _is(v, "pyarrow", "Table") else sys.modules["pyarrow"].Table.from_batches([v]))
    elif _is(v, "pyarrow", "ChunkedArray"):
        h.update(b"a")
        _len(h, v.num_chunks)
        for chunk in v.chunks:
            _arrow_array(h, chunk)
    elif _is(v, "pyarrow", "Array"):
        h.update(b"a")
        _arrow_array(h, v)
    elif _is(v, "polars", "DataFrame"):
        h.update(b"P")
        # polars' own dtypes (Categorical, Enum) map to one Arrow type: name them too.
        _bytes(h, b"s", repr(v.schema).encode())
        _arrow_table(h, v.to_arrow())
    elif _is(v, "polars", "Series"):
        h.update(b"S")
        _bytes(h, b"s", v.name.encode())
        _bytes(h, b"s", repr(v.dtype).encode())
        arr = v.to_arrow()
        for chunk in getattr(arr, "chunks", [arr]):
            _arrow_array(h, chunk)
    elif hasattr(v, "__kit_fingerprint__"):
        _bytes(h, b"K", f"{t.__module__}.{t.__qualname__}".encode())
        _bytes(h, b"k", v.__kit_fingerprint__())
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        _bytes(h, b"D", f"{t.__module__}.{t.__qualname__}".encode())
        for f in dataclasses.fields(v):
            _update(h, f.name, depth + 1, active)
            _update(h, getattr(v, f.name), depth + 1, active)
    elif isinstance(v, types.ModuleType):
        _bytes(h, b"Y", v.__name__.encode())
    elif isinstance(v, type):
        _type_name(h, v)
    elif callable(v) and _callable(h, v, depth, active):
        pass
    else:
        raise FingerprintError(
            f"cannot fingerprint an argument of type {t.__module__}.{t.__qualname__}; supported: None, bool, "
            "int, float, complex, str, bytes, bytearray, memoryview, tuple, list, dict, set, datetime, Decimal, "
            "UUID, Path, Enum, dataclasses, functions, closures, bound methods, functools.partial, classes, "
            "modules, numpy arrays and scalars, pyarrow and polars tables (exclude it with ignore=[...], "
            "or give the type a __kit_fingerprint__() method returning bytes)")


def _digest(v: Any, depth: int, active: Any) -> bytes:
    h = new_hasher()
    _update(h, v, depth, active)
    return h.digest()


def _callable(h: Any, v: Any, depth: int, active: Any) -> bool:
    """Hash a function-like value by what it computes; ``False`` when it is no kind known here."""
    if isinstance(v, functools.partial):
        h.update(b"p")
        _update(h, v.func, depth + 1, active)
        _update(h, v.args, depth + 1, active)
        _update(h, v.keywords, depth + 1, active)
        return True
    if isinstance(v, (types.FunctionType, types.MethodType)):
        _bytes(h, b"F", function_identity(v))
        function_state(h, v, depth + 1, active)
        return True
    if isinstance(v, (types.BuiltinFunctionType, types.BuiltinMethodType)) or _is(v, "numpy", "ufunc"):
        name = getattr(v, "__qualname__", None) or getattr(v, "__name__", None) or repr(v)
        _bytes(h, b"W", f"{getattr(v, '__module__', None)}.{name}".encode())
        owner = getattr(v, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):  # "abc".upper: the object counts
            _update(h, owner, depth + 1, active)
        return True
    return False


def _is(v: Any, module: str, name: str) -> bool:
    mod = sys.modules.get(module)
    return mod is not None and isinstance(v, getattr(mod, name))


def update(h: Any, value: Any) -> None:
    """Feed ``value``'s content into hasher ``h``, as :func:`fingerprint` does (type-tagged, length-prefixed).

    For a caller that hashes several values into one digest (``kit.memoize``
    hashes the function's identity, then each argument's name and value).

    Raises
    ------
    FingerprintError
        A part of ``value`` has a type with no content fingerprint.

    Examples
    --------
    >>> h = new_hasher(); update(h, "x"); update(h, (1, 2.0))
    >>> g = new_hasher(); update(g, "x"); update(g, (1, 2))
    >>> h.digest() == g.digest()
    False
    """
    _update(h, value, 0)


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


def _layers(func: Any) -> list[Any]:
    """``func`` and each function it wraps (``__wrapped__``), outermost first."""
    out, seen = [], set()
    f = func
    while f is not None and id(f) not in seen and len(out) < 100:
        seen.add(id(f))
        out.append(f)
        f = getattr(f, "__wrapped__", None)
    return out


def _code_digest(h: Any, code: Any) -> None:
    """What a code object computes: bytecode, constants (nested code too), names; not where it was written.

    File name and line numbers are left out, so that a notebook cell run again (a new file name)
    or lines added above a function are not a miss; two lambdas on one line differ here.
    """
    h.update(code.co_code)
    for attr in ("co_names", "co_varnames", "co_freevars", "co_cellvars"):
        _bytes(h, b"s", "\0".join(getattr(code, attr)).encode("utf-8", "surrogatepass"))
    _len(h, code.co_argcount)
    _len(h, code.co_posonlyargcount)
    _len(h, code.co_kwonlyargcount)
    _len(h, code.co_flags)
    _len(h, len(code.co_consts))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            h.update(b"c")
            _code_digest(h, const)
        else:
            try:
                _bytes(h, b"k", marshal.dumps(const))
            except ValueError:
                _bytes(h, b"r", repr(const).encode("utf-8", "surrogatepass"))


_identities: "weakref.WeakKeyDictionary[Any, tuple[Any, bytes]]" = weakref.WeakKeyDictionary()


def function_identity(func: Any) -> bytes:
    """Module, qualified name and a hash of the source and of the code (of every wrapped layer).

    The *static* part of a function's identity: what it is written as. What it
    holds (closure cells, defaults, the object of a bound method) is
    :func:`function_state`, read at each call.

    Examples
    --------
    >>> def f(x): return x + 1
    >>> def g(x): return x + 2
    >>> function_identity(f) != function_identity(g)
    True
    >>> a, b = (lambda x: x + 1), (lambda x: x - 1)
    >>> function_identity(a) != function_identity(b)
    True
    """
    base = getattr(func, "__func__", func)  # a bound method is its function plus its object
    code = getattr(base, "__code__", None)
    try:
        cached = _identities.get(base)
    except TypeError:
        cached = None
    if cached is not None and cached[0] is code:
        return cached[1]
    target = inspect.unwrap(base)
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    h = new_hasher()
    try:
        src = inspect.getsource(target)
        h.update(b"src:" + inspect.cleandoc(src).encode("utf-8", "surrogatepass"))
    except (OSError, TypeError):
        h.update(b"nosrc:")
    for layer in _layers(base):
        layer = getattr(layer, "__func__", layer)
        c = getattr(layer, "__code__", None)
        if isinstance(c, types.CodeType):
            h.update(b"code:")
            _code_digest(h, c)
    out = name.encode() + b"\0" + h.digest()
    try:
        _identities[base] = (code, out)
    except TypeError:
        pass
    return out


def has_state(func: Any) -> bool:
    """Whether :func:`function_state` has anything to hash for ``func`` (closures, defaults, a bound object)."""
    for layer in _layers(func):
        if getattr(layer, "__self__", None) is not None and not isinstance(layer.__self__, types.ModuleType):
            return True
        layer = getattr(layer, "__func__", layer)
        if getattr(layer, "__closure__", None) or getattr(layer, "__defaults__", None) or getattr(
                layer, "__kwdefaults__", None):
            return True
    return False


def free_variables(func: Any) -> set[str]:
    """Names of the closure variables of ``func`` and of every function it wraps."""
    out: set[str] = set()
    for layer in _layers(func):
        code = getattr(getattr(layer, "__func__", layer), "__code__", None)
        if code is not None:
            out.update(code.co_freevars)
    return out


def function_state(h: Any, func: Any, depth: int = 0, active: Any = None,
                   ignore: frozenset[str] = frozenset()) -> None:
    """Hash what a function holds: closure cells, defaults, and the object of a bound method, by content.

    ``make_scaler(2)`` and ``make_scaler(3)`` have one source and one code
    but compute different things; so do ``a.method`` and ``b.method``. Closure
    variables named in ``ignore`` (a counter, a logger) are left out.

    Raises
    ------
    FingerprintError
        A closure cell or a bound object has no content fingerprint.

    Examples
    --------
    >>> def make(k):
    ...     return lambda x: x * k
    >>> def state(f):
    ...     h = new_hasher(); function_state(h, f); return h.digest()
    >>> state(make(2)) != state(make(3)), state(make(2)) == state(make(2))
    (True, True)
    """
    active = set() if active is None else active
    if id(func) in active:  # a recursive closure refers to itself: already being hashed
        h.update(b"^")
        return
    active.add(id(func))
    try:
        for layer in _layers(func):
            owner = getattr(layer, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                h.update(b"o")
                try:
                    _update(h, owner, depth + 1, active)
                except FingerprintError as exc:
                    raise FingerprintError(f"the object of bound method {getattr(layer, '__qualname__', layer)!r} "
                                           f"has no content fingerprint: {exc}") from None
            layer = getattr(layer, "__func__", layer)
            _update(h, getattr(layer, "__defaults__", None), depth + 1, active)
            _update(h, getattr(layer, "__kwdefaults__", None), depth + 1, active)
            cells = getattr(layer, "__closure__", None) or ()
            code = getattr(layer, "__code__", None)
            names = code.co_freevars if code is not None else ()
            _len(h, len(cells))
            for name, cell in zip(names, cells):
                if name in ignore:
                    h.update(b"x")
                    continue
                try:
                    value = cell.cell_contents
                except ValueError:  # not yet assigned (a decorated function that refers to itself)
                    h.update(b"-")
                    continue
                h.update(b"+")
                try:
                    _update(h, value, depth + 1, active)
                except FingerprintError as exc:
                    raise FingerprintError(
                        f"{getattr(layer, '__qualname__', layer)} closes over {name!r}, which has no content "
                        f"fingerprint ({exc}); pass it as an argument, or name it in ignore=[...] if it "
                        "does not change the result") from None
    finally:
        active.discard(id(func))
