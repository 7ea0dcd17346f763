"""Values to bytes and back, without pickle unless the user opts in.

Every encoded value starts with one kind byte:

====  ==========================================================================
kind  content
====  ==========================================================================
``J`` JSON (the registry's JSON backends), used only for *JSON-exact*
      values: dicts with ``str`` keys, lists, ``str``, ``bool``, ``None``,
      64-bit ``int`` and finite ``float``, of exactly those types, so that the
      value read back is equal *and of the same types*.
``B`` ``bytes`` as they are.
``N`` a numpy array: a small JSON header (dtype descr, shape, order) and the
      raw buffer; read back as a read-only array viewing the decoded bytes.
``A`` a pyarrow Table as an Arrow IPC stream.
``P`` a polars DataFrame (``S``: Series) as an Arrow IPC stream.
``R`` anything else from a fixed set of types (tuples, sets, bytes inside
      containers, non-str keys, big integers, non-finite floats, complex,
      numpy scalars and arrays inside containers, datetimes, Decimal, UUID),
      in a small tagged binary tree.
``K`` pickle, only when the serializer was built with ``pickle=True``: the
      pickle bytes follow a keyed hash (BLAKE3 keyed mode, or HMAC-SHA256)
      whose key is not stored in the cache; an entry whose signature fails is
      never unpickled.
====  ==========================================================================

A value outside these kinds raises :class:`UnsupportedValue` (without
pickle) rather than being stored approximately.

Examples
--------
>>> from kit.cache.values import encode, decode
>>> decode(encode({"a": (1, 2), 3: {4.5}}))
{'a': (1, 2), 3: {4.5}}
>>> encode({"a": [1, 2]})[:1]
b'J'
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import math
import os
import struct
import sys
import uuid
from typing import Any, Callable

from kit.compression import compress, decompress, raw_payload
from kit.compression.frame import CODEC_IDS, HEADER_SIZE, MAGIC
from kit.errors import KitError

__all__ = ["Serializer", "SignatureError", "UnsupportedValue", "DecodeError", "ValueTooLarge", "decode",
           "encode", "Signer", "DEFAULT_MAX_SIZE", "BYTES_KIND"]

#: First byte of an encoded ``bytes`` value (kind ``B``): the rest is the value as it is.
BYTES_KIND = 0x42

# A raw frame of format version 1 starts with these six bytes (magic, version 1, codec raw) and
# declares its payload's size, a little-endian uint64, at byte 10 of its header: what
# kit.compression.raw_payload tests, read here without building a memoryview (a disk hit's
# hot path; tests/test_cache_values.py checks that both accept exactly the same frames).
_RAW_V1_HEAD = MAGIC + bytes((1, CODEC_IDS["raw"]))
_DECLARED_SIZE = struct.Struct("<Q")
_DECLARED_AT = 10

_INT64 = (-(2**63), 2**63 - 1)
_MAX_DEPTH = 500


class UnsupportedValue(KitError, TypeError):
    """A value cannot be stored without pickle (and pickle was not enabled)."""


class SignatureError(KitError, ValueError):
    """A pickled entry's signature does not verify (or pickle is not enabled); it is never unpickled."""


# --- JSON ------------------------------------------------------------------------------------

_json_pair: list[tuple[Callable, Callable]] = []


def _chain(op: str) -> Callable:
    """The registry's first available fast backend of ``op``, falling back to the baseline on error.

    Not ``kit.json``: the cache must not start the engine's first-use tuning
    on its hot path, and a ``J`` entry only ever holds values (64-bit ints,
    finite floats, str keys, exact builtin types) that every verified backend
    reads back exactly, so the choice of backend cannot change a value.
    """
    from kit import registry as _registry

    backs = _registry.backends(op)
    base = backs[0].implementation()
    fast = next((b for b in backs[1:] if b.available), None)
    if fast is None:
        return base
    try:
        impl = fast.implementation()
    except ImportError:
        return base

    def call(x: Any) -> Any:
        try:
            return impl(x)
        except Exception:  # e.g. lone surrogates: the baseline decides
            return base(x)

    return call


def _json() -> tuple[Callable, Callable]:
    if not _json_pair:
        _json_pair.append((_chain("json.encode"), _chain("json.decode")))
    return _json_pair[0]


def _json_exact(value: Any) -> bool:
    """True when JSON reads ``value`` back equal and with exactly the same types."""
    stack = [value]
    push, pop = stack.append, stack.pop
    seen = 0
    while stack:
        v = pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if not _INT64[0] <= v <= _INT64[1]:
                return False
            continue
        if t is float:
            if v != v or v in (math.inf, -math.inf):
                return False
            continue
        seen += 1
        if seen > 1_000_000:
            return False
        if t is list:
            stack.extend(v)
        elif t is dict:
            for k in v:
                if type(k) is not str:
                    return False
            stack.extend(v.values())
        else:
            return False
    return True


# --- the tagged tree ---------------------------------------------------------------------------

_D = struct.Struct("<d")
_DD = struct.Struct("<dd")


def _uvarint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _read_uvarint(buf: memoryview, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _blob(out: bytearray, data: Any) -> None:
    mv = memoryview(data)
    _uvarint(out, mv.nbytes)
    out += mv


def _module_type(value: Any, module: str, name: str) -> bool:
    # A module that was never imported cannot have made the value: no import here.
    mod = sys.modules.get(module)
    return mod is not None and isinstance(value, getattr(mod, name))


def _is_ndarray(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and type(value) is np.ndarray


def _check_tz(v: Any) -> None:
    tz = v.tzinfo
    if tz is None:
        return
    plain = type(tz) is datetime.timezone and (
        tz is datetime.timezone.utc or tz.tzname(None) == datetime.timezone(tz.utcoffset(None)).tzname(None))
    if not plain:
        raise UnsupportedValue(
            f"{type(v).__name__} with tzinfo {v.tzinfo!r} cannot be stored exactly without pickle; "
            "only naive values and unnamed datetime.timezone offsets are supported")


def _encode_tree(out: bytearray, v: Any, depth: int, active: set[int]) -> None:
    if depth > _MAX_DEPTH:
        raise UnsupportedValue(f"value nested deeper than {_MAX_DEPTH} levels")
    t = type(v)
    if v is None:
        out += b"n"
    elif v is True:
        out += b"t"
    elif v is False:
        out += b"f"
    elif t is int:
        out += b"i"
        _blob(out, v.to_bytes((v.bit_length() + 8) // 8 or 1, "little", signed=True))
    elif t is float:
        out += b"d"
        out += _D.pack(v)
    elif t is complex:
        out += b"c"
        out += _DD.pack(v.real, v.imag)
    elif t is str:
        out += b"s"
        _blob(out, v.encode("utf-8", "surrogatepass"))
    elif t is bytes:
        out += b"b"
        _blob(out, v)
    elif t is bytearray:
        out += b"a"
        _blob(out, v)
    elif t in (list, tuple, set, frozenset, dict):
        if id(v) in active:
            raise UnsupportedValue("value contains a reference cycle")
        active.add(id(v))
        out += {list: b"l", tuple: b"u", set: b"e", frozenset: b"z", dict: b"m"}[t]
        _uvarint(out, len(v))
        if t is dict:
            for k, x in v.items():
                _encode_tree(out, k, depth + 1, active)
                _encode_tree(out, x, depth + 1, active)
        else:
            for x in v:
                _encode_tree(out, x, depth + 1, active)
        active.discard(id(v))
    elif t is datetime.datetime:
        _check_tz(v)
        out += b"D"
        _blob(out, v.isoformat().encode())
        _uvarint(out, v.fold)
    elif t is datetime.date:
        out += b"y"
        _blob(out, v.isoformat().encode())
    elif t is datetime.time:
        _check_tz(v)
        out += b"h"
        _blob(out, v.isoformat().encode())
        _uvarint(out, v.fold)
    elif t is datetime.timedelta:
        out += b"x"
        _blob(out, repr((v.days, v.seconds, v.microseconds)).encode())
    elif t is decimal.Decimal:
        out += b"q"
        _blob(out, str(v).encode())
    elif t is uuid.UUID:
        out += b"U"
        out += v.bytes
    elif _is_ndarray(v):
        out += b"N"
        _blob(out, _encode_array(v))
    elif _module_type(v, "numpy", "generic"):
        import numpy as np

        arr = np.asarray(v)
        if arr.dtype.hasobject:
            raise UnsupportedValue(f"numpy scalar of dtype {arr.dtype} holds Python objects")
        out += b"g"
        _blob(out, _encode_array(arr))
    else:
        kind = _table_kind(v)
        if kind is None:
            raise UnsupportedValue(
                f"cannot store a value of type {t.__module__}.{t.__qualname__} without pickle; "
                "supported: JSON types, bytes, tuples, sets, complex, datetime, Decimal, UUID, numpy "
                "arrays and scalars, pyarrow and polars tables (or build the cache with pickle=True)")
        out += kind.encode()
        _blob(out, _encode_table(v, kind))


def _decode_tree(buf: memoryview, pos: int) -> tuple[Any, int]:
    tag = buf[pos]
    pos += 1
    if tag == 0x6E:  # n
        return None, pos
    if tag == 0x74:  # t
        return True, pos
    if tag == 0x66:  # f
        return False, pos
    if tag in b"luezm":
        count, pos = _read_uvarint(buf, pos)
        if count > len(buf):
            raise ValueError("container length exceeds the data")
        if tag == 0x6D:  # m
            d = {}
            for _ in range(count):
                k, pos = _decode_tree(buf, pos)
                d[k], pos = _decode_tree(buf, pos)
            return d, pos
        items = []
        for _ in range(count):
            x, pos = _decode_tree(buf, pos)
            items.append(x)
        ctor = {0x6C: list, 0x75: tuple, 0x65: set, 0x7A: frozenset}[tag]
        return (items if ctor is list else ctor(items)), pos
    if tag == 0x64:  # d
        return _D.unpack_from(buf, pos)[0], pos + 8
    if tag == 0x63:  # c
        re, im = _DD.unpack_from(buf, pos)
        return complex(re, im), pos + 16
    if tag == 0x55:  # U
        return uuid.UUID(bytes=bytes(buf[pos: pos + 16])), pos + 16
    n, pos = _read_uvarint(buf, pos)
    end = pos + n
    if end > len(buf):
        raise ValueError("truncated value")
    data = buf[pos:end]
    if tag == 0x69:  # i
        return int.from_bytes(data, "little", signed=True), end
    if tag == 0x73:  # s
        return bytes(data).decode("utf-8", "surrogatepass"), end
    if tag == 0x62:  # b
        return bytes(data), end
    if tag == 0x61:  # a
        return bytearray(data), end
    if tag == 0x44:  # D
        fold, end2 = _read_uvarint(buf, end)
        return datetime.datetime.fromisoformat(bytes(data).decode()).replace(fold=fold), end2
    if tag == 0x79:  # y
        return datetime.date.fromisoformat(bytes(data).decode()), end
    if tag == 0x68:  # h
        fold, end2 = _read_uvarint(buf, end)
        return datetime.time.fromisoformat(bytes(data).decode()).replace(fold=fold), end2
    if tag == 0x78:  # x
        days, secs, micros = (int(x) for x in bytes(data).decode().strip("()").split(","))
        return datetime.timedelta(days=days, seconds=secs, microseconds=micros), end
    if tag == 0x71:  # q
        return decimal.Decimal(bytes(data).decode()), end
    if tag == 0x4E:  # N
        return _decode_array(data), end
    if tag == 0x67:  # g
        return _decode_array(data)[()], end
    if tag in b"APS":
        return _decode_table(data, chr(tag)), end
    raise ValueError(f"unknown tag {tag!r} in encoded value")


# --- arrays and tables -------------------------------------------------------------------------


def _encode_array(arr: Any) -> bytes:
    import numpy as np
    from numpy.lib.format import dtype_to_descr

    if arr.dtype.hasobject:
        raise UnsupportedValue(
            f"numpy array of dtype {arr.dtype} holds Python objects; it cannot be stored without pickle")
    fortran = bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)
    if not (arr.flags.c_contiguous or fortran):
        arr = np.ascontiguousarray(arr)
    dumps, _ = _json()
    header = dumps({"descr": dtype_to_descr(arr.dtype), "shape": list(arr.shape), "fortran": fortran})
    body = byte_view(arr.T if fortran else arr)
    return b"".join((len(header).to_bytes(4, "little"), header, body))


def byte_view(arr: Any) -> Any:
    """The bytes of a C-contiguous array without a copy (datetime64 and others have no buffer format)."""
    import numpy as np

    if arr.size == 0:
        return b""
    return memoryview(arr.reshape(-1).view(np.uint8))


def _tuplify(descr: Any) -> Any:
    if isinstance(descr, list):
        return [tuple(_tuplify(x) for x in field) if isinstance(field, list) else field for field in descr]
    return descr


def _decode_array(data: memoryview) -> Any:
    import numpy as np
    from numpy.lib.format import descr_to_dtype

    _, loads = _json()
    hlen = int.from_bytes(data[:4], "little")
    if 4 + hlen > len(data):
        raise ValueError("array header is longer than the data")
    header = loads(bytes(data[4: 4 + hlen]))
    if not isinstance(header, dict) or set(header) != {"descr", "shape", "fortran"}:
        raise ValueError("array header is not {descr, shape, fortran}")
    shape = header["shape"]
    if not isinstance(shape, list) or len(shape) > 64 or not all(
            type(n) is int and 0 <= n < 2**62 for n in shape) or type(header["fortran"]) is not bool:
        raise ValueError(f"array header has an invalid shape or order: {str(header)[:100]}")
    dtype = descr_to_dtype(_tuplify(header["descr"]))
    if dtype.hasobject:
        raise ValueError("an array of Python objects is never decoded from bytes")
    shape = tuple(shape)
    body = data[4 + hlen:]
    count = math.prod(shape)
    if count * dtype.itemsize != body.nbytes:
        raise ValueError(f"array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, "
                         f"got {body.nbytes}")
    arr = np.frombuffer(body, dtype=dtype, count=count) if count else np.empty(0, dtype)
    _check_code_points(arr)
    if header["fortran"]:
        return arr.reshape(shape[::-1]).T
    return arr.reshape(shape)


def _check_code_points(arr: Any) -> None:
    """Refuse text (``U``) data holding code points over U+10FFFF: numpy fails on them later, on use."""
    import numpy as np

    dt = arr.dtype
    if dt.fields:
        for name in dt.names:
            _check_code_points(arr[name])
        return
    base = dt.subdtype[0] if dt.subdtype else dt
    if base.kind != "U" or not arr.size:
        return
    codes = np.ascontiguousarray(arr).view(np.dtype(base.str[0] + "u4"))
    if codes.size and int(codes.max()) > 0x10FFFF:
        raise ValueError("text array holds code points beyond U+10FFFF")


def _table_kind(v: Any) -> str | None:
    if _module_type(v, "pyarrow", "Table"):
        return "A"
    if _module_type(v, "polars", "DataFrame"):
        return "P"
    if _module_type(v, "polars", "Series"):
        return "S"
    return None


def _encode_table(v: Any, kind: str) -> bytes:
    import io

    if kind == "A":
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, v.schema) as writer:
            writer.write_table(v)
        return sink.getvalue().to_pybytes()
    buf = io.BytesIO()
    (v.to_frame() if kind == "S" else v).write_ipc_stream(buf, compression="uncompressed")
    return buf.getvalue()


def _decode_table(data: memoryview, kind: str) -> Any:
    import io

    import pyarrow as pa

    raw = bytes(data)
    # Validated in full before anything uses it: a stream whose offsets, lengths, UTF-8 or
    # dictionary indices are wrong reads without error but crashes the process later.
    table = pa.ipc.open_stream(pa.py_buffer(raw)).read_all()
    table.validate(full=True)
    if kind == "A":
        return table
    import polars as pl

    if kind == "S" and table.num_columns != 1:
        raise ValueError(f"a stored polars Series has one column, this one has {table.num_columns}")
    df = pl.read_ipc_stream(io.BytesIO(raw))
    return df.to_series(0) if kind == "S" else df


# --- pickle, signed ----------------------------------------------------------------------------


class Signer:
    """Keyed hash for pickled entries: BLAKE3 keyed mode (id 1) or HMAC-SHA256 (id 2).

    Parameters
    ----------
    key : bytes or str
        At least 16 bytes of secret. Keep it outside the cache directory:
        whoever can write the cache and read the key can run code.

    Examples
    --------
    >>> s = Signer(b"k" * 32)
    >>> s.verify(b"data", s.sign(b"data"))
    True
    """

    def __init__(self, key: bytes | str) -> None:
        if isinstance(key, str):
            key = key.encode()
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise ValueError(f"a pickle signing key must be at least 16 bytes, got {type(key).__name__} "
                             f"of length {len(key) if hasattr(key, '__len__') else '?'}")
        self._key = hashlib.sha256(b"kit.cache pickle key\0" + bytes(key)).digest()
        from kit import registry as _registry

        self.alg = 1 if "blake3" in _registry.available("digest") else 2

    def _mac(self, alg: int, data: Any) -> bytes:
        if alg == 1:
            from blake3 import blake3

            return blake3(data, key=self._key).digest()
        if alg == 2:
            return hmac.new(self._key, data, hashlib.sha256).digest()
        raise SignatureError(f"unknown signature algorithm id {alg}")

    def sign(self, data: Any, alg: int | None = None) -> bytes:
        return self._mac(self.alg if alg is None else alg, data)

    def verify(self, data: Any, mac: bytes, alg: int | None = None) -> bool:
        return hmac.compare_digest(self._mac(self.alg if alg is None else alg, data), bytes(mac))


def default_pickle_key() -> bytes:
    """The signing key for ``pickle=True``: ``KIT_CACHE_PICKLE_KEY`` or a key file in the user config dir.

    The key file (32 random bytes, mode 0600) lives in
    ``platformdirs.user_config_dir("kit")``, never in the cache directory.

    Examples
    --------
    >>> len(default_pickle_key()) >= 16  # doctest: +SKIP
    True
    """
    env = os.environ.get("KIT_CACHE_PICKLE_KEY")
    if env:
        return env.encode()
    import platformdirs

    folder = platformdirs.user_config_dir("kit")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "cache-pickle.key")
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        pass
    key = os.urandom(32)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process wrote
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, "rb") as fh:
        return fh.read()


# --- public functions ------------------------------------------------------------------------


def encode(value: Any, *, signer: Signer | None = None) -> bytes:
    """Encode a value (kind byte + content); pickle only when ``signer`` is given.

    Parameters
    ----------
    value : object
    signer : Signer, optional
        Enables signed pickle for values the safe kinds cannot hold.

    Raises
    ------
    UnsupportedValue
        The value needs pickle and ``signer`` is ``None``.

    Examples
    --------
    >>> encode(b"raw")
    b'Braw'
    """
    t = type(value)
    if t is bytes:
        return b"B" + value
    if t in (dict, list, str, int, float, bool) or value is None:
        if _json_exact(value):
            try:
                return b"J" + _json()[0](value)
            except (TypeError, ValueError, RecursionError):  # lone surrogates, deep nesting: the tree decides
                pass
    elif _is_ndarray(value):
        return b"N" + _encode_array(value)
    else:
        kind = _table_kind(value)
        if kind is not None:
            return kind.encode() + _encode_table(value, kind)
    out = bytearray(b"R")
    try:
        _encode_tree(out, value, 0, set())
    except UnsupportedValue:
        if signer is None:
            raise
        import pickle

        data = pickle.dumps(value, protocol=5)
        return b"".join((b"K", bytes([signer.alg]), signer.sign(data), data))
    except RecursionError:
        raise UnsupportedValue("value nested too deeply to encode") from None
    return bytes(out)


def decode(data: Any, *, signer: Signer | None = None) -> Any:
    """Decode what :func:`encode` made.

    Raises
    ------
    SignatureError
        A pickled entry whose signature fails, or any pickled entry when
        ``signer`` is ``None``: it is never unpickled.
    ValueError
        The data is not a valid encoding.

    A decoder's failure of any kind (a library's own exception, polars'
    ``PanicException``, which is a ``BaseException``, a ``MemoryError``) is a
    :class:`DecodeError`; only ``KeyboardInterrupt`` and ``SystemExit`` pass
    through. Tables are validated in full (offsets, UTF-8, dictionary indices)
    before they are returned.

    Examples
    --------
    >>> decode(encode([1, "two", None]))
    [1, 'two', None]
    """
    try:
        return _decode(data, signer)
    except (KeyboardInterrupt, SystemExit):
        raise
    except (ValueError, SignatureError):
        raise
    except BaseException as exc:  # noqa: B036 - a decoder's panic is a damaged entry, not a crash
        raise DecodeError(f"decoding failed: {type(exc).__name__}: {str(exc)[:200]}") from None


class DecodeError(KitError, ValueError):
    """An encoded value could not be decoded (damaged, crafted, or a decoder failed on it)."""


def _decode(data: Any, signer: Signer | None) -> Any:
    buf = memoryview(data)
    if buf.nbytes == 0:
        raise ValueError("empty encoded value")
    kind = buf[0]
    body = buf[1:]
    if kind == 0x4A:  # J
        return _json()[1](bytes(body))
    if kind == BYTES_KIND:  # B
        return bytes(body)
    if kind == 0x4E:  # N
        return _decode_array(body)
    if kind in b"APS":
        return _decode_table(body, chr(kind))
    if kind == 0x52:  # R
        try:
            value, end = _decode_tree(body, 0)
        except (IndexError, KeyError, struct.error, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"corrupted encoded value: {exc}") from None
        if end != len(body):
            raise ValueError(f"encoded value has {len(body) - end} trailing bytes")
        return value
    if kind == 0x4B:  # K
        if signer is None:
            raise SignatureError("entry is a pickle, and this cache was not built with pickle=True; not unpickled")
        if body.nbytes < 33:
            raise SignatureError("pickled entry is truncated; not unpickled")
        alg, mac, payload = body[0], body[1:33], body[33:]
        if not signer.verify(payload, mac, alg):
            raise SignatureError("pickled entry fails its signature; not unpickled")
        import pickle

        return pickle.loads(payload)
    raise ValueError(f"unknown value kind {bytes([kind])!r}")


#: Largest decoded entry a :class:`Serializer` accepts unless told otherwise (1 GiB). Frames read
#: from disk or Redis are not authenticated: without a bound, a 70-byte blosc2 frame that declares
#: 2 GiB would make the decoder allocate them.
DEFAULT_MAX_SIZE = 1 << 30


class ValueTooLarge(UnsupportedValue):
    """A value encodes to more bytes than the serializer's ``max_size``: it could not be read back."""


class Serializer:
    """Values to frames: :func:`encode` then :func:`kit.compress`, and back.

    Parameters
    ----------
    pickle : bool
        Store values the safe kinds cannot hold as signed pickle.
    pickle_key : bytes or str, optional
        Signing key (default: :func:`default_pickle_key`).
    codec, level, objective
        Passed to :func:`kit.compress` (default: ``codec="auto"``).
    max_size : int, optional
        Largest encoded value, in bytes, stored and decoded (the decompression
        bound); ``None`` is :data:`DEFAULT_MAX_SIZE`. A larger value raises
        :class:`ValueTooLarge` when stored; a frame declaring more is refused
        before anything is allocated.

    Examples
    --------
    >>> s = Serializer()
    >>> s.loads(s.dumps({"a": 1}))
    {'a': 1}
    """

    def __init__(self, *, pickle: bool = False, pickle_key: bytes | str | None = None, codec: str = "auto",
                 level: str = "balanced", objective: Any = "balanced", max_size: int | None = None) -> None:
        if max_size is None:
            max_size = DEFAULT_MAX_SIZE
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise ValueError(f"max_size must be None or a positive int (bytes), got {max_size!r}")
        self.pickle = bool(pickle)
        self.signer = Signer(pickle_key if pickle_key is not None else default_pickle_key()) if pickle else None
        self.codec, self.level, self.objective, self.max_size = codec, level, objective, max_size

    def dumps(self, value: Any) -> bytes:
        """Encode and compress ``value`` into a frame."""
        data = encode(value, signer=self.signer)
        if len(data) > self.max_size:
            raise ValueTooLarge(f"value encodes to {len(data)} bytes, over this cache's limit of {self.max_size} "
                                "bytes per value (max_value_bytes)")
        return compress(data, self.codec, self.level, objective=self.objective)

    def loads(self, blob: Any, checked: bool = False) -> Any:
        """Decode a frame; ``checked=True`` when an outer hash has just verified its bytes.

        Any failure is an exception (never a crash, never a ``BaseException``
        other than ``KeyboardInterrupt``/``SystemExit``): the tiers turn it
        into a miss and a warning.
        """
        try:
            if checked and type(blob) is bytes:
                # The same test as raw_payload's below, without a view: a small value read from
                # disk is mostly this frame, and its bytes were just verified by the row check.
                n = len(blob) - HEADER_SIZE
                if (n > 0 and blob.startswith(_RAW_V1_HEAD) and n <= self.max_size
                        and _DECLARED_SIZE.unpack_from(blob, _DECLARED_AT)[0] == n):
                    if blob[HEADER_SIZE] == BYTES_KIND:
                        return blob[HEADER_SIZE + 1:]
                    return decode(memoryview(blob)[HEADER_SIZE:], signer=self.signer)
            if checked:
                # A raw frame whose bytes were just verified: decode its payload in place
                # (kit.compression.decompress_verified, without copying the payload out).
                payload = raw_payload(blob, self.max_size)
                if payload is not None:
                    if payload and payload[0] == BYTES_KIND:
                        return bytes(payload[1:])
                    return decode(payload, signer=self.signer)
                return decode(decompress(blob, max_size=self.max_size), signer=self.signer)
            return decode(decompress(blob, max_size=self.max_size), signer=self.signer)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            raise
        except BaseException as exc:  # noqa: B036 - e.g. a codec library's panic
            raise DecodeError(f"decoding failed: {type(exc).__name__}: {str(exc)[:200]}") from None


# --- keys ----------------------------------------------------------------------------------------


def _canonical_number(x: Any) -> Any:
    """The one form of a number among those Python holds equal (``1 == 1.0 == True``, ``0.0 == -0.0``)."""
    t = type(x)
    if t is bool:
        return int(x)
    if t is int:
        return x
    if t is float:
        if x != x or x in (math.inf, -math.inf):
            return x
        return int(x) if x.is_integer() else x
    if t is complex:
        if x.imag == 0:
            return _canonical_number(x.real)
        return complex(x.real + 0.0, x.imag + 0.0)  # + 0.0 turns -0.0 into 0.0
    if t is decimal.Decimal:
        if x.is_nan():
            return x
        if x.is_infinite():
            return float(x)
        if x == x.to_integral_value():
            return int(x)
        f = float(x)
        return f if decimal.Decimal(f) == x else x.normalize()
    return x


def _canonical_key(key: Any, depth: int = 0) -> Any:
    """``key`` with every part in the form Python's equality makes it one key with.

    A dict (L1, L2) finds ``1.0`` and ``True`` under the key ``1``; the
    persistent tiers compare encoded bytes, so the parts that are equal but
    encode differently are made one form first: numbers (and numpy numbers,
    strings, bytes, bools) as the simplest exact Python number or type, aware
    datetimes in UTC, ``fold`` dropped where equality ignores it.
    """
    if depth > _MAX_DEPTH:
        raise TypeError(f"cannot use a key nested deeper than {_MAX_DEPTH} levels in a persistent tier")
    t = type(key)
    if t is str or t is bytes or key is None:
        return key
    if t is tuple:
        return tuple(_canonical_key(x, depth + 1) for x in key)
    if t is frozenset:
        return frozenset(_canonical_key(x, depth + 1) for x in key)
    if t in (bool, int, float, complex, decimal.Decimal):
        return _canonical_number(key)
    if t is datetime.datetime:
        if key.utcoffset() is not None:  # equal instants in two offsets are equal keys
            return key.astimezone(datetime.timezone.utc).replace(fold=0)
        return key.replace(fold=0)
    if t is datetime.time and key.tzinfo is None:
        return key.replace(fold=0)
    if _module_type(key, "numpy", "generic"):
        import numpy as np

        if isinstance(key, (np.str_, np.bytes_, np.bool_)):
            return _canonical_key(key.item(), depth + 1)
        if isinstance(key, (np.integer, np.floating, np.complexfloating)):
            item = key.item()
            if item == key:  # exact (not a longdouble that a float cannot hold)
                return _canonical_number(item)
    return key


def _encode_key_tree(out: bytearray, key: Any, depth: int) -> None:
    """:func:`_encode_tree` for a canonical key, with a frozenset's elements in one order (sorted encodings)."""
    t = type(key)
    if t is tuple:
        out += b"u"
        _uvarint(out, len(key))
        for x in key:
            _encode_key_tree(out, x, depth + 1)
    elif t is frozenset:
        parts = []
        for x in key:
            part = bytearray()
            _encode_key_tree(part, x, depth + 1)
            parts.append(bytes(part))
        out += b"z"
        _uvarint(out, len(parts))
        for part in sorted(parts):
            out += part
    else:
        _encode_tree(out, key, depth, set())


def encode_key(key: Any) -> bytes:
    """Bytes that stand for a key in the on-disk and Redis tiers (and decode back).

    One rule for every tier: keys are equal as in a ``dict``. ``1``, ``1.0``,
    ``True`` and ``Decimal(1)`` are one key in L1 and L2, so they are one key
    on disk and in Redis too (``0.0`` and ``-0.0`` likewise, equal frozensets
    whatever their order, an aware datetime in any offset). A key read back
    from a persistent tier comes in that canonical form (``1`` for ``1.0``).

    ``str`` keys become ``b"s" + UTF-8`` so that a prefix of a key is a
    prefix of its bytes (``Cache.clear(prefix=...)`` is a range scan).

    Examples
    --------
    >>> encode_key("user:1")
    b'suser:1'
    >>> decode_key(encode_key(("a", 1)))
    ('a', 1)
    >>> encode_key(1.0) == encode_key(True) == encode_key(1), encode_key(-0.0) == encode_key(0)
    (True, True)
    """
    t = type(key)
    if t is str:
        return b"s" + key.encode("utf-8", "surrogatepass")
    if t is bytes:
        return b"b" + key
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"cache keys must be hashable, got {t.__name__!r}") from None
    key = _canonical_key(key)
    if type(key) is str:
        return b"s" + key.encode("utf-8", "surrogatepass")
    if type(key) is bytes:
        return b"b" + key
    out = bytearray(b"v")
    try:
        _encode_key_tree(out, key, 0)
    except UnsupportedValue as exc:
        raise TypeError(f"cannot use a key of type {t.__name__!r} in a persistent tier: {exc}") from None
    except RecursionError:
        raise TypeError(f"cannot use a key of type {t.__name__!r} in a persistent tier: nested too deeply") from None
    return bytes(out)


def decode_key(data: bytes) -> Any:
    """Inverse of :func:`encode_key`."""
    tag, body = data[:1], data[1:]
    if tag == b"s":
        return body.decode("utf-8", "surrogatepass")
    if tag == b"b":
        return bytes(body)
    if tag == b"v":
        value, end = _decode_tree(memoryview(body), 0)
        if end != len(body):
            raise ValueError("trailing bytes in an encoded key")
        return value
    raise ValueError(f"unknown key tag {tag!r}")
