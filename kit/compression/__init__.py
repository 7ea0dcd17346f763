"""Self-describing compressed frames and ``codec="auto"``.

A *frame* is a 38-byte header followed by the codec's standard stream (a
zlib stream, an lz4 frame, a zstd frame, a blosc2 chunk, a bz2 or xz stream)
or, when compression would not pay, the original bytes stored as they are:

======  ====  ==========================================================
offset  size  field
======  ====  ==========================================================
0       4     magic ``b"KITZ"``
4       1     format version (1; 2 for a frame that needs a dictionary)
5       1     codec id (:data:`CODEC_IDS`; 0 is *raw*: stored uncompressed)
6       1     level id (0 fast, 1 balanced, 2 max; 255 for raw)
7       1     checksum algorithm id (:data:`CHECKSUMS`)
8       1     typesize (element size the codec was told, 1 to 255)
9       1     flags (0; in version 2, bit 0: compressed with a dictionary)
10      8     original size in bytes (unsigned, little-endian)
18      8     checksum of the original bytes
26      8     checksum of the stored bytes (the payload after the header)
34      4     CRC-32 of bytes 0 to 33 (so any damaged header byte is caught)
======  ====  ==========================================================

A frame carries the lowest format version that can describe it, so a reader
of version 1 still reads every frame made without a dictionary. Version 2
adds one thing: with flag bit 0 set (codec zstd only), the stored bytes start
with the 8-byte id of the :class:`Dictionary` the zstd frame was compressed
with (the first 8 bytes of its BLAKE2b digest; the zstd frame names it too,
by its zstd dictionary id). Decoding such a frame needs that dictionary,
passed as ``decompress(frame, dictionaries=...)``; without it,
:class:`MissingDictionaryError` says which one is needed. Dictionaries are
not kept anywhere by this module: whoever compresses with one keeps it.

The checksum of the stored bytes is verified *before* any decoder runs: a
damaged payload never reaches a codec library (blosc2's decoder crashes the
process on some damaged chunks). For raw frames both checksums are the same
value, computed once.

The checksum algorithm is pinned in the format (xxh3_64, or BLAKE2b-64 when
``xxhash`` is absent) rather than taken from the engine's ``fingerprint``
selection, which may differ between machines.

Decompression is bounded: a declared size over ``max_size`` (default: the
memory available) or a ratio no codec can reach is refused before anything is
allocated; the codec stream is decoded with its output capped at the declared
size; a checksum mismatch raises :class:`ChecksumError`.

``codec="auto"`` chooses per payload under an *objective*: the expected time
to compress, move the result through a channel of bandwidth ``B`` and
decompress it once, ``t_c + t_d + compressed_size / B``. ``"speed"`` is
``B = 1 GB/s`` (memory), ``"balanced"`` 100 MB/s (disk, network), ``"ratio"``
1 MB/s (size dominates); a number is ``B`` in bytes/s. The probe: a per-codec
cost model measured once per machine (kept beside the engine's wisdom), a
screen for random bytes (from 1 KiB; a byte-entropy one from 64 KiB), and for
typed data from 256 KiB a trial of the contenders on a contiguous sample
(n/256, at least 16 KiB), with blosc2's ratio carried from the sample to the
block size it will use, within a budget of 3% of the predicted cost; then the
chosen codec runs on the whole input and its stream is kept only if it pays.
See ``docs/compression.md`` for the details and the measured figures.

Examples
--------
>>> import kit
>>> frame = kit.compress(b"abc" * 1000, codec="zlib")
>>> kit.decompress(frame) == b"abc" * 1000
True
>>> frame_info(frame).codec
'zlib'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from kit._paths import atomic_write
from kit.errors import BackendUnavailable, KitError

__all__ = [
    "CHECKSUMS", "CODEC_IDS", "DICTIONARY_ID_SIZE", "FLAG_DICTIONARY", "FORMAT_VERSION", "FORMAT_VERSIONS",
    "HEADER_SIZE", "MAGIC", "OBJECTIVES",
    "ChecksumError", "DecompressionBombError", "Dictionary", "FrameError", "FrameInfo", "MissingDictionaryError",
    "choose_codec", "compress", "cost_model", "decompress", "frame_info", "set_cost_model",
]

MAGIC = b"KITZ"
#: The newest frame format version: what this module reads (every version in
#: :data:`FORMAT_VERSIONS`). A frame is written with the lowest version that
#: can describe it: 1 unless it needs a dictionary.
FORMAT_VERSION = 2
FORMAT_VERSIONS = (1, 2)
#: Flag bit (version 2): the stored bytes start with a dictionary id.
FLAG_DICTIONARY = 0x01
DICTIONARY_ID_SIZE = 8
_HEADER = struct.Struct("<4sBBBBBBQ8s8sI")
HEADER_SIZE = _HEADER.size  # 38
_PREFIX = struct.Struct("<4sBBBBBBQ8s8s")  # the bytes the CRC covers

#: Stable codec ids of the frame format (never renumber; add at the end).
CODEC_IDS: dict[str, int] = {"raw": 0, "zlib": 1, "bz2": 2, "lzma": 3, "lz4": 4, "zstd": 5, "blosc2": 6}
_CODEC_NAMES = {v: k for k, v in CODEC_IDS.items()}
_LEVEL_IDS = {"fast": 0, "balanced": 1, "max": 2}
_LEVEL_NAMES = {v: k for k, v in _LEVEL_IDS.items()}
_RAW_LEVEL = 255

#: Checksum algorithm id -> name. Pinned in the format, never the engine's choice.
CHECKSUMS: dict[int, str] = {1: "xxh3_64", 2: "blake2b_64"}

#: Largest output/input ratio each codec's format can reach, with margin
#: (measured on 64 MiB of zeros at level max: zlib 1029, lz4 243, lzma 6781,
#: zstd 32483, bz2 849479; a blosc2 chunk of a repeated value is 32 bytes for
#: any size, so its bound is the size limit alone). A frame declaring more is
#: refused as a decompression bomb before anything is allocated.
MAX_RATIO: dict[str, float] = {
    "raw": 1.0, "zlib": 1100.0, "lz4": 300.0, "lzma": 20000.0, "zstd": 70000.0,
    "bz2": 5.0e7, "blosc2": math.inf,
}

#: Named objectives: channel bandwidth in bytes/s in ``t_c + t_d + size / B``.
OBJECTIVES: dict[str, float] = {"speed": 1.0e9, "balanced": 1.0e8, "ratio": 1.0e6}

# Declared sizes above this are checked against the memory actually available.
_MEMORY_CHECK_OVER = 64 << 20
# Peak memory of decoding, as a multiple of the declared size: zlib, bz2, xz and lz4 grow a
# buffer and copy it out (tracemalloc peak over 32 MiB decoded: zlib, bz2, lz4 2.0x, xz 2.25x;
# zstd and blosc2 1.0x).
_PEAK_FACTOR = {"zlib": 2.0, "bz2": 2.0, "lzma": 2.25, "lz4": 2.0}
_BLOSC2_MAX = 2**31 - 64


class FrameError(KitError, ValueError):
    """A frame is malformed, damaged, or was refused.

    Examples
    --------
    >>> try:
    ...     decompress(b"not a frame")
    ... except FrameError as exc:
    ...     print(type(exc).__name__)
    FrameError
    """


class ChecksumError(FrameError):
    """The decompressed bytes do not match the checksum stored in the frame."""


class DecompressionBombError(FrameError):
    """A frame declares more output than the limit, or a ratio its codec cannot reach."""


class MissingDictionaryError(FrameError):
    """A frame was compressed with a dictionary that the caller did not pass.

    Examples
    --------
    >>> d = Dictionary(b"a dictionary is any bytes; trained ones work best " * 20)
    >>> f = compress(b"a dictionary is any bytes " * 8, codec="zstd", dictionary=d)
    >>> try:
    ...     decompress(f)
    ... except MissingDictionaryError as exc:
    ...     print(exc.dictionary_id == d.id)
    True
    """

    def __init__(self, message: str, dictionary_id: bytes) -> None:
        super().__init__(message)
        self.dictionary_id = dictionary_id


class Dictionary:
    """A zstd dictionary: compresses many small, similar inputs far better than each alone.

    A frame compressed with it names it by :attr:`id` (8 bytes of its
    BLAKE2b digest), and can only be decoded with it:
    ``decompress(frame, dictionaries=[d])``. Keeping the dictionary is the
    caller's business (``kit.cache.CompressedTier`` keeps its own, in memory).
    Thread-safe: one zstd context per dictionary, behind a lock.

    Parameters
    ----------
    data : bytes-like
        A dictionary in zstd's format (what :meth:`train` makes) or raw
        content to use as one.

    Attributes
    ----------
    id : bytes
        8 bytes; what frames record.
    zstd_id : int
        zstd's own dictionary id (0 for raw content), also written in the
        zstd frame.

    Examples
    --------
    >>> samples = [b'{"user": %d, "plan": "pro", "tags": ["a", "b"]}' % i for i in range(500)]
    >>> d = Dictionary.train(samples, size=1024)
    >>> f = compress(samples[7], codec="zstd", dictionary=d)
    >>> decompress(f, dictionaries=[d]) == samples[7], frame_info(f).dictionary == d.id.hex()
    (True, True)
    """

    __slots__ = ("data", "id", "zstd_id", "_zd", "_cctx", "_dctx", "_lock", "__weakref__")

    def __init__(self, data: Any) -> None:
        import zstandard

        self.data = bytes(data)
        if not self.data:
            raise ValueError("a dictionary needs at least one byte")
        self.id = hashlib.blake2b(self.data, digest_size=DICTIONARY_ID_SIZE).digest()
        self._zd = zstandard.ZstdCompressionDict(self.data)
        self.zstd_id = int(self._zd.dict_id())
        self._cctx: dict[str, Any] = {}
        self._dctx: Any = None
        self._lock = threading.Lock()

    @classmethod
    def train(cls, samples: Any, size: int = 16 << 10, *, level: str = "balanced") -> "Dictionary":
        """Train a dictionary of at most ``size`` bytes on ``samples`` (zstd's fastcover).

        Raises
        ------
        ValueError
            zstd could not train one (too few or too uniform samples).

        Examples
        --------
        >>> d = Dictionary.train([b"row %d: status=ok, retries=0" % i for i in range(300)], size=512)
        >>> 0 < len(d) <= 512
        True
        """
        import zstandard

        from kit.registry.codecs import level_of

        samples = [bytes(x) for x in samples]
        try:
            zd = zstandard.train_dictionary(int(size), samples, level=level_of("zstd", level))
        except zstandard.ZstdError as exc:
            raise ValueError(f"zstd could not train a dictionary of {size} bytes on {len(samples)} samples "
                             f"({sum(map(len, samples))} bytes): {exc}") from None
        return cls(zd.as_bytes())

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Dictionary(id={self.id.hex()!r}, {len(self.data)} bytes, zstd_id={self.zstd_id})"

    def _compress(self, data: Any, level: str) -> bytes:
        with self._lock:
            cctx = self._cctx.get(level)
            if cctx is None:
                import zstandard

                from kit.registry.codecs import level_of

                cctx = self._cctx[level] = zstandard.ZstdCompressor(level=level_of("zstd", level), dict_data=self._zd)
            return cctx.compress(data)

    def _decompress(self, payload: Any, size: int) -> bytes:
        import zstandard

        # The decoder allocates the content size the zstd frame declares: check it first.
        params = zstandard.get_frame_parameters(payload)
        if params.content_size != size:
            raise FrameError(f"zstd frame declares {params.content_size} bytes, the kit frame {size}")
        frame_dict = params.dict_id
        if frame_dict and frame_dict != self.zstd_id:
            raise FrameError(f"zstd frame names dictionary {frame_dict}, the kit frame one whose zstd id is "
                             f"{self.zstd_id}")
        with self._lock:
            if self._dctx is None:
                self._dctx = zstandard.ZstdDecompressor(dict_data=self._zd)
            return self._dctx.decompress(payload, max_output_size=size)


def _find_dictionary(dictionaries: Any, did: bytes) -> Dictionary | None:
    """The dictionary with id ``did`` among ``dictionaries`` (one, an iterable, or a mapping by id)."""
    if dictionaries is None:
        return None
    if isinstance(dictionaries, Dictionary):
        found = dictionaries if dictionaries.id == did else None
    elif isinstance(dictionaries, Mapping):
        found = dictionaries.get(did)
    else:
        found = next((d for d in dictionaries if getattr(d, "id", None) == did), None)
    if found is not None and not isinstance(found, Dictionary):
        raise TypeError(f"dictionaries must hold kit.compression.Dictionary objects, got {type(found).__name__!r}")
    return found


@dataclass(frozen=True)
class FrameInfo:
    """What a frame's header says.

    Attributes
    ----------
    codec : str
        ``"raw"`` when stored uncompressed, else the codec's registry name.
    level : str or None
        ``fast``/``balanced``/``max``; ``None`` for raw.
    size : int
        Original size in bytes.
    stored_size : int
        Bytes after the header (the codec stream, or the raw bytes).
    checksum : str
        Checksum algorithm of the original (see :data:`CHECKSUMS`).
    typesize : int
        Element size the codec was told.
    version : int
        Frame format version.
    dictionary : str or None
        Hex id of the :class:`Dictionary` the frame needs, if any.
    """

    codec: str
    level: str | None
    size: int
    stored_size: int
    checksum: str
    typesize: int
    version: int = 1
    dictionary: str | None = None

    @property
    def ratio(self) -> float:
        """Frame bytes over original bytes (smaller is better)."""
        return (HEADER_SIZE + self.stored_size) / self.size if self.size else math.inf


# --- checksums -----------------------------------------------------------------------------

_checksum_fns: dict[int, Callable[[Any], bytes]] = {}


def _checksum_fn(alg: int) -> Callable[[Any], bytes]:
    fn = _checksum_fns.get(alg)
    if fn is None:
        if alg == 1:
            try:
                import xxhash
            except ImportError as exc:
                raise BackendUnavailable(
                    "this frame's checksum is xxh3_64, which needs xxhash (pip install xxhash): "
                    f"{exc}") from None
            fn = xxhash.xxh3_64_digest
        elif alg == 2:
            def fn(data: Any) -> bytes:
                return hashlib.blake2b(data, digest_size=8).digest()
        else:
            raise FrameError(f"unknown checksum algorithm id {alg!r}; known: {CHECKSUMS}")
        _checksum_fns[alg] = fn
    return fn


def _default_checksum() -> int:
    from kit import registry as _registry

    # The registry probes xxhash without importing it.
    return 1 if _registry.backend("fingerprint", "xxh3_128").available else 2


_default_alg: list[int] = []


def _checksum_alg() -> int:
    if not _default_alg:
        _default_alg.append(_default_checksum())
    return _default_alg[0]


# --- helpers ---------------------------------------------------------------------------------


def _as_bytes_view(data: Any) -> tuple[memoryview, int]:
    """A flat byte view of ``data`` and its natural element size."""
    try:
        mv = memoryview(data)
    except TypeError:
        raise TypeError(
            f"compress expects a bytes-like object (bytes, bytearray, memoryview, numpy array), "
            f"got {type(data).__name__!r}") from None
    itemsize = mv.itemsize if mv.format not in ("B", "b", "c") else 1
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    return mv, itemsize


def _codec_names() -> tuple[str, ...]:
    from kit.registry.codecs import CODECS

    return CODECS


def _check_level(level: str) -> None:
    if level not in _LEVEL_IDS:
        from kit.registry.codecs import LEVEL_NAMES

        raise ValueError(f"level must be one of {', '.join(LEVEL_NAMES)}, got {level!r}")


def _bandwidth(objective: Any) -> float:
    if isinstance(objective, str):
        try:
            return OBJECTIVES[objective]
        except KeyError:
            raise ValueError(
                f"objective must be one of {', '.join(OBJECTIVES)} or a bandwidth in bytes/s, "
                f"got {objective!r}") from None
    if isinstance(objective, (int, float)) and not isinstance(objective, bool) and objective > 0 \
            and math.isfinite(objective):
        return float(objective)
    raise ValueError(
        f"objective must be one of {', '.join(OBJECTIVES)} or a positive bandwidth in bytes/s, "
        f"got {objective!r}")


def _codec_compressor(codec: str) -> Callable:
    """The registry's compress callable; a named but unavailable codec raises with the reason."""
    fn = _compressors.get(codec)
    if fn is None:
        from kit import registry as _registry

        if codec not in CODEC_IDS or codec == "raw":
            valid = ", ".join(("auto", "raw") + _codec_names())
            raise ValueError(f"unknown codec {codec!r}; valid codecs: {valid}")
        b = _registry.backend("compress", codec)
        reason = b.unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"codec {codec!r} is unavailable here: {reason}")
        fn = _compressors[codec] = b.implementation()
    return fn


_compressors: dict[str, Callable] = {}


def _available_codecs() -> list[str]:
    from kit import registry as _registry

    return [c for c in _codec_names() if c in CODEC_IDS and _registry.backend("compress", c).available]


def _frame(codec: str, level: str | None, typesize: int, size: int, checksum: bytes, alg: int,
           payload: Any, dictionary: "Dictionary | None" = None) -> bytes:
    if dictionary is not None:
        # Version 2: the dictionary's id leads the stored bytes (covered by their checksum).
        payload = dictionary.id + payload
        version, flags = 2, FLAG_DICTIONARY
    else:
        version, flags = 1, 0
    stored = checksum if codec == "raw" else _checksum_fn(alg)(payload)
    prefix = _PREFIX.pack(MAGIC, version, CODEC_IDS[codec],
                          _RAW_LEVEL if level is None else _LEVEL_IDS[level],
                          alg, min(max(typesize, 1), 255), flags, size, checksum, stored)
    return b"".join((prefix, zlib.crc32(prefix).to_bytes(4, "little"), payload))


# --- compress ----------------------------------------------------------------------------------


def compress(data: Any, codec: str = "auto", level: str = "balanced", *, objective: Any = "balanced",
             typesize: int | None = None, dictionary: Dictionary | None = None) -> bytes:
    """Compress ``data`` into a self-describing frame.

    Parameters
    ----------
    data : bytes-like
        bytes, bytearray, memoryview or any buffer (a numpy array is read as
        its C-order bytes, and its item size is the default ``typesize``).
    codec : str
        ``"auto"`` (choose per payload under ``objective``), ``"raw"`` (store
        only), or a codec of the registry: zlib, bz2, lzma, lz4, zstd, blosc2.
        A named codec that is unavailable raises
        :class:`~kit.errors.BackendUnavailable` with the reason.
    level : {"fast", "balanced", "max"}
        Named level, mapped to each library's own by ``kit.registry.codecs.LEVELS``.
    objective : {"speed", "balanced", "ratio"} or float
        What ``codec="auto"`` minimises: ``t_c + t_d + size / B`` with ``B``
        the channel bandwidth in bytes/s (:data:`OBJECTIVES`).
    typesize : int, optional
        Element size for codecs that shuffle bytes (blosc2); default: the
        buffer's item size. A typesize that does not divide the input's
        length is treated as 1 (blosc2 needs whole elements).
    dictionary : Dictionary, optional
        Compress with this zstd dictionary (``codec`` ``"zstd"`` or
        ``"auto"``); the frame (format version 2) names it, and decoding it
        needs it. Stored raw, as always, when that is not smaller.

    Returns
    -------
    bytes
        The frame. When the codec's output would not be smaller than the
        input, the input is stored raw: a frame is never more than
        ``HEADER_SIZE`` (38) bytes larger than its input.

    Examples
    --------
    >>> import kit
    >>> f = kit.compress(bytes(10_000), codec="zstd", level="fast")
    >>> len(f) < 100
    True
    >>> frame_info(kit.compress(b"tiny")).codec
    'raw'
    """
    mv, itemsize = _as_bytes_view(data)
    _check_level(level)
    ts = itemsize if typesize is None else int(typesize)
    if not 1 <= ts <= 255:
        raise ValueError(f"typesize must be an integer from 1 to 255, got {typesize!r}")
    n = mv.nbytes
    if n % ts:  # shuffling needs whole elements (blosc2 refuses otherwise)
        ts = 1
    alg = _checksum_alg()
    checksum = _checksum_fn(alg)(mv)
    if dictionary is not None:
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary must be a kit.compression.Dictionary, got {type(dictionary).__name__!r}")
        if codec not in ("zstd", "auto"):
            raise ValueError(f"a dictionary is a zstd dictionary: codec must be 'zstd' or 'auto', got {codec!r}")
        payload = dictionary._compress(mv, level)
        if len(payload) + DICTIONARY_ID_SIZE >= n:
            return _frame("raw", None, ts, n, checksum, alg, mv)
        return _frame("zstd", level, ts, n, checksum, alg, payload, dictionary)
    if codec == "auto":
        return _compress_auto(mv, n, level, _bandwidth(objective), ts, checksum, alg)
    if codec == "raw":
        return _frame("raw", None, ts, n, checksum, alg, mv)
    fn = _codec_compressor(codec)
    if codec == "blosc2" and n > _BLOSC2_MAX:
        raise ValueError(f"blosc2 compresses at most {_BLOSC2_MAX} bytes in one chunk, got {n}")
    payload = fn(mv, level, ts)
    if len(payload) >= n:
        return _frame("raw", None, ts, n, checksum, alg, mv)
    return _frame(codec, level, ts, n, checksum, alg, payload)


# --- decompress --------------------------------------------------------------------------------


def _parse(frame: Any) -> tuple[memoryview, tuple]:
    try:
        mv = memoryview(frame)
    except TypeError:
        raise TypeError(f"decompress expects a bytes-like frame, got {type(frame).__name__!r}") from None
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    if mv.nbytes < HEADER_SIZE:
        raise FrameError(f"a frame is at least {HEADER_SIZE} bytes, got {mv.nbytes}")
    fields = _HEADER.unpack_from(mv)
    if fields[0] != MAGIC:
        raise FrameError(f"not a kit frame: magic {bytes(fields[0])!r}, expected {MAGIC!r}")
    if zlib.crc32(mv[: HEADER_SIZE - 4]) != fields[10]:
        raise FrameError("frame header is damaged (header CRC-32 mismatch)")
    if fields[1] not in FORMAT_VERSIONS:
        raise FrameError(f"frame format version {fields[1]} is not supported (this kit reads versions "
                         f"{', '.join(map(str, FORMAT_VERSIONS))})")
    allowed = FLAG_DICTIONARY if fields[1] >= 2 else 0
    if fields[6] & ~allowed:
        raise FrameError(f"frame flags {fields[6]:#x} are not supported by format version {fields[1]} "
                         f"(expected {'0 or 0x1' if allowed else '0'})")
    if fields[2] not in _CODEC_NAMES:
        raise FrameError(f"unknown codec id {fields[2]} in frame; known: {_CODEC_NAMES}")
    if fields[6] & FLAG_DICTIONARY:
        if fields[2] != CODEC_IDS["zstd"]:
            raise FrameError(f"only zstd frames can use a dictionary, this one is {_CODEC_NAMES[fields[2]]!r}")
        if mv.nbytes < HEADER_SIZE + DICTIONARY_ID_SIZE:
            raise FrameError("frame flagged as using a dictionary is too short to name it")
    if fields[4] not in CHECKSUMS:
        raise FrameError(f"unknown checksum algorithm id {fields[4]} in frame; known: {CHECKSUMS}")
    return mv, fields


def frame_info(frame: Any) -> FrameInfo:
    """Read a frame's header (checked, but the payload is not decoded).

    Examples
    --------
    >>> info = frame_info(compress(b"x" * 4096, codec="zlib"))
    >>> (info.codec, info.level, info.size)
    ('zlib', 'balanced', 4096)
    """
    mv, f = _parse(frame)
    codec = _CODEC_NAMES[f[2]]
    dictionary = (bytes(mv[HEADER_SIZE: HEADER_SIZE + DICTIONARY_ID_SIZE]).hex()
                  if f[6] & FLAG_DICTIONARY else None)
    return FrameInfo(codec, None if codec == "raw" else _LEVEL_NAMES.get(f[3], "?"), f[7],
                     mv.nbytes - HEADER_SIZE, CHECKSUMS[f[4]], f[5], f[1], dictionary)


def _memory_available() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil absent or unsupported platform: no memory bound
        return None


def decompress(frame: Any, *, max_size: int | None = None, max_ratio: float | None = None,
               dictionaries: Any = None) -> bytes:
    """Decode a frame made by :func:`compress`, refusing bombs before allocating.

    Parameters
    ----------
    frame : bytes-like
    max_size : int, optional
        Largest original size accepted. Whatever it is, a declared size over
        64 MiB must also fit in the memory available now, counting what the
        codec needs at peak (about twice the size for zlib, bz2, xz and lz4).
    max_ratio : float, optional
        Largest original/stored ratio accepted; default: what the frame's
        codec can reach at all (:data:`MAX_RATIO`).
    dictionaries : Dictionary, iterable or mapping of Dictionary, optional
        Where to find the dictionary a version-2 frame names.

    Returns
    -------
    bytes
        The original bytes, checksum verified.

    Raises
    ------
    DecompressionBombError
        The declared size is over ``max_size`` or the ratio is implausible.
    MissingDictionaryError
        The frame needs a dictionary that ``dictionaries`` does not hold.
    ChecksumError
        The decoded bytes do not match the stored checksum.
    FrameError
        Anything else wrong with the frame (damaged header, truncated or
        corrupted stream, size mismatch).

    Examples
    --------
    >>> decompress(compress(b"hello" * 100, codec="zlib"))[:10]
    b'hellohello'
    >>> bomb = compress(bytes(1 << 20), codec="zstd")
    >>> try:
    ...     decompress(bomb, max_size=1000)
    ... except DecompressionBombError as exc:
    ...     print("refused")
    refused
    """
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0):
        raise ValueError(f"max_size must be None or a non-negative int, got {max_size!r}")
    if max_ratio is not None and (isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float))
                                  or not max_ratio > 0):  # NaN is not > 0: it would disable the bound
        raise ValueError(f"max_ratio must be None or a positive number, got {max_ratio!r}")
    mv, f = _parse(frame)
    codec = _CODEC_NAMES[f[2]]
    size = f[7]
    payload = mv[HEADER_SIZE:]
    stored = payload.nbytes
    if max_size is not None and size > max_size:
        raise DecompressionBombError(
            f"frame declares {size} bytes, over the limit max_size={max_size}")
    limit_ratio = MAX_RATIO[codec] if max_ratio is None else min(max_ratio, MAX_RATIO[codec])
    if codec == "raw":
        if stored != size:
            raise FrameError(f"raw frame declares {size} bytes but holds {stored}")
    elif size > max(stored, 1) * limit_ratio:
        raise DecompressionBombError(
            f"frame declares {size} bytes from {stored} stored bytes, a ratio of {size / max(stored, 1):.0f}; "
            f"{codec} cannot exceed {limit_ratio:.0f}")
    # The stream decoders build their output and then copy it into the bytes returned: at
    # peak they hold about twice the declared size (zstd and blosc2 write in place).
    need = int(size * _PEAK_FACTOR.get(codec, 1.0))
    if need > _MEMORY_CHECK_OVER:
        avail = _memory_available()
        if avail is not None and need > avail:
            raise DecompressionBombError(
                f"frame declares {size} bytes; decoding {codec} needs about {need} bytes at peak, more than "
                f"the {avail} bytes of memory available")
    check = _checksum_fn(f[4])
    if codec == "raw":
        out = payload.tobytes()
    else:
        if check(payload) != f[9]:
            raise ChecksumError(f"checksum ({CHECKSUMS[f[4]]}) of the {stored} stored bytes does not match the "
                                "frame: the payload is damaged (not decoded)")
        if f[6] & FLAG_DICTIONARY:
            out = _dictionary_decode(payload, size, dictionaries)
        else:
            out = _bounded_decode(codec, payload, size)
    if len(out) != size:
        raise FrameError(f"{codec} stream decoded to {len(out)} bytes, the frame declares {size}")
    if check(out) != f[8]:
        raise ChecksumError(f"checksum ({CHECKSUMS[f[4]]}) of the decoded {size} bytes does not match the frame")
    return out


def _decompress_checked(frame: bytes, max_size: int | None = None) -> bytes:
    """:func:`decompress` for a frame whose bytes an outer check has just verified.

    The on-disk and Redis tiers hash every stored row (key, expiry and frame
    together); when that hash matches, a raw frame's payload is exactly what
    was written, so its header CRC and checksum need not be recomputed.
    Compressed frames still go through :func:`decompress` (the checksum then
    guards the codec itself).
    """
    if (len(frame) >= HEADER_SIZE and frame[5] == 0 and frame[:5] == b"KITZ\x01"
            and int.from_bytes(frame[10:18], "little") == len(frame) - HEADER_SIZE
            and (max_size is None or len(frame) - HEADER_SIZE <= max_size)):
        return frame[HEADER_SIZE:]
    return decompress(frame, max_size=max_size)


def _dictionary_decode(payload: memoryview, size: int, dictionaries: Any) -> bytes:
    """Decode a version-2 zstd frame's stored bytes (dictionary id + zstd frame)."""
    did = bytes(payload[:DICTIONARY_ID_SIZE])
    dictionary = _find_dictionary(dictionaries, did)
    if dictionary is None:
        raise MissingDictionaryError(
            f"this frame was compressed with zstd dictionary {did.hex()}, which was not passed "
            "(decompress(frame, dictionaries=...)); dictionaries are kept by whoever compressed with them "
            "(kit.cache.CompressedTier keeps its own in memory and never hands such frames to other tiers)", did)
    try:
        # A Dictionary exists, so zstandard is importable: no availability check.
        return dictionary._decompress(payload[DICTIONARY_ID_SIZE:], size)
    except (FrameError, MemoryError):
        raise
    except Exception as exc:
        raise _stream_error("zstd", exc) from exc


def _stream_error(codec: str, exc: BaseException) -> FrameError:
    return FrameError(f"corrupted {codec} stream in frame: {type(exc).__name__}: {exc}")


def _bounded_decode(codec: str, payload: memoryview, size: int) -> bytes:
    """Decode one codec stream, never producing more than ``size`` (+1) bytes."""
    try:
        if codec == "zlib":
            d = zlib.decompressobj()
            out = d.decompress(payload, size + 1)
            if not d.eof or d.unconsumed_tail:
                raise FrameError(f"zlib stream is longer than the {size} bytes declared, or truncated")
            return out
        if codec == "bz2":
            import bz2

            d = bz2.BZ2Decompressor()
            out = d.decompress(payload, size + 1)
            if not d.eof:
                raise FrameError(f"bz2 stream is longer than the {size} bytes declared, or truncated")
            return out
        if codec == "lzma":
            import lzma

            d = lzma.LZMADecompressor()
            out = d.decompress(payload, size + 1)
            if not d.eof:
                raise FrameError(f"xz stream is longer than the {size} bytes declared, or truncated")
            return out
        if codec == "lz4":
            _require("lz4")
            import lz4.frame

            d = lz4.frame.LZ4FrameDecompressor()
            out = d.decompress(payload, max_length=size + 1)
            if not d.eof:
                raise FrameError(f"lz4 frame is longer than the {size} bytes declared, or truncated")
            return out
        if codec == "zstd":
            _require("zstd")
            import zstandard

            # The decoder allocates the content size written in the zstd frame,
            # so check that first; it then refuses output beyond it.
            declared = zstandard.frame_content_size(payload)
            if declared != size:
                raise FrameError(f"zstd frame declares {declared} bytes, the kit frame {size}")
            return _decoder("zstd")(payload)
        if codec == "blosc2":
            _require("blosc2")
            import blosc2

            nbytes, cbytes, _ = blosc2.get_cbuffer_sizes(payload)
            if nbytes != size or cbytes != payload.nbytes:
                raise FrameError(
                    f"blosc2 chunk declares {nbytes} bytes from {cbytes}, the kit frame {size} from {payload.nbytes}")
            return _decoder("blosc2")(payload)
    except FrameError:
        raise
    except (BackendUnavailable, MemoryError):
        raise
    except Exception as exc:  # each library raises its own error type for bad input
        raise _stream_error(codec, exc) from exc
    raise FrameError(f"no decoder for codec {codec!r}")


def _require(codec: str) -> None:
    from kit import registry as _registry

    reason = _registry.backend("decompress", codec).unavailable_reason()
    if reason is not None:
        raise BackendUnavailable(f"this frame needs codec {codec!r}, which is unavailable here: {reason}")


_decoders: dict[str, Callable] = {}


def _decoder(codec: str) -> Callable:
    fn = _decoders.get(codec)
    if fn is None:
        from kit import registry as _registry

        fn = _decoders[codec] = _registry.backend("decompress", codec).implementation()
    return fn


# --- codec="auto" ------------------------------------------------------------------------------

# Inputs below this are stored raw: no codec's header and call overhead pays.
AUTO_RAW_BELOW = 64
# From _ENTROPY_FROM on, a byte-entropy screen on a 4 KiB sample spares a wasted
# compression of incompressible data (typesize 1); from _SCREEN_FROM to there, a
# cheaper screen does (_looks_random). From _TRIAL_FROM on, typed data's close
# contenders are tried on a contiguous sample (_trial).
_ENTROPY_FROM = 64 << 10
_SCREEN_FROM = 1 << 10
_TRIAL_FROM = 256 << 10
_SAMPLE = 4 << 10
_TRIAL_SAMPLE = 16 << 10
_TRIAL_FRACTION = 256
# Trials stop once they have cost this fraction of the best predicted cost.
_PROBE_BUDGET = 0.03
_STRIPES = 4
# From here to _TRIAL_FROM, untyped input's codec ratios are estimated with an lz4 probe (_probe_plan).
_PROBE_FROM = 16 << 10


def _looks_random(mv: memoryview, n: int) -> bool:
    """Under 64 KiB: a screen for random bytes cheaper than trying zstd (~1 µs against ~5 µs for 4 KiB).

    True when the 64 bytes in the middle hold at least 48 distinct values
    (uniform random bytes hold 56.7 on average, standard deviation 2.6; text
    about 25) and lz4 (block, acceleration 16) finds no match anywhere in the
    input: no repeats to
    exploit and a locally flat byte distribution leave an entropy coder
    nothing worth a frame. Text fails the first test in ~0.7 µs; hex (16
    symbols) never passes it, base64 (64 symbols: 40.6 distinct in 64 bytes
    on average, standard deviation 2.5) about once in 350, a window of 32
    bytes half the time (simulated), hence 64; when it does, lz4 finding no
    match stores it raw (zstd would have saved ~20%).
    Without lz4 there is no screen.
    """
    mid = n // 2 - 32
    if len(set(mv[mid: mid + 64].tobytes())) < 48:
        return False
    if _lz4_probe() is False:
        return False
    # Acceleration 16: a third faster on random input; the long repeats that matter are still found.
    return len(_lz4_block(mv, mode="fast", acceleration=16, store_size=False)) >= n


_lz4_block: Any = None


def _byte_entropy(sample: Any) -> float:
    """Shannon entropy of the byte histogram, in bits per byte: the entropy kernel's numpy core.

    The probe's sample is 4 KiB: at that size the engine's dispatch of
    ``kit.kernels.entropy`` would cost more than the histogram (~7 µs), so the
    kernel's numpy implementation is called directly.

    Examples
    --------
    >>> round(_byte_entropy(bytes(range(256)) * 4), 6)
    8.0
    """
    import numpy as np

    from kit.kernels._numpy import entropy

    return entropy(np.frombuffer(sample, dtype=np.uint8), None)


def _sample(mv: memoryview, n: int, size: int = _SAMPLE) -> bytes:
    """``size`` bytes from ``_STRIPES`` evenly spaced stripes (whole elements kept when size % 64 == 0)."""
    if n <= size:
        return mv.tobytes()
    part = size // _STRIPES
    part -= part % 64
    step = (n - part) // (_STRIPES - 1)
    step -= step % 64
    return b"".join(mv[i * step: i * step + part] for i in range(_STRIPES))


class _Model:
    """Per-process cost model of each codec: ``t(n) = a + b * n`` for compress and decompress.

    Measured once per (level, shuffle) on seeded synthetic payloads (text for
    typesize 1, smooth float64 otherwise), the minimum of several runs, and
    kept beside the engine's wisdom. It is not updated by later calls: one
    call's time says as much about the machine's load at that moment as
    about the codec, and a codec's speed depends on the data (blosc2 is 8x
    slower on some arrays than on others), which the sample trial of a large
    input measures directly. The calibration also gives each codec's ratio on
    its payload: the prior when the input is too small to try on a sample.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (codec, level, shuffle) -> [a_c, b_c, a_d, b_d, ratio]
        self.table: dict[tuple[str, str, bool], list[float]] = {}
        self.calibrated: set[tuple[str, bool]] = set()
        self.calibration_seconds = 0.0
        self._decisions: dict[tuple, tuple[str, ...]] = {}
        self.warm: set[tuple[str, str]] = set()

    def ensure(self, level: str, shuffle: bool) -> None:
        if (level, shuffle) in self.calibrated:
            return
        with self._lock:
            if (level, shuffle) not in self.calibrated:
                if not self._load(level, shuffle):
                    self._calibrate(level, shuffle)
                    self._save(level, shuffle)
                self.calibrated.add((level, shuffle))
                self._decisions.clear()

    # The calibration is kept beside the engine's wisdom, keyed by what it
    # depends on (CPU, Python, codec library versions), so a new process on
    # the same machine starts with it instead of spending ~0.1-0.3 s.
    def _file(self) -> Any:
        import platform
        from pathlib import Path

        from kit import registry as _registry
        from kit._paths import cache_dir
        from kit.machine import cpu_model

        base = cache_dir()
        ident = json.dumps([cpu_model(), os.cpu_count(), platform.machine(), platform.python_version(),
                            {c: _registry.backend("compress", c).version for c in _codec_names()}])
        return Path(base) / f"compress-model-{hashlib.blake2b(ident.encode(), digest_size=6).hexdigest()}.json"

    def _load(self, level: str, shuffle: bool) -> bool:
        try:
            rows = json.loads(self._file().read_text())[f"{level}/{int(shuffle)}"]
            available = set(_available_codecs())
            for codec, row in rows.items():
                if codec in available and len(row) == 5 and all(isinstance(x, (int, float)) for x in row):
                    self.table[(codec, level, shuffle)] = [float(x) for x in row]
            return bool(rows)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def _save(self, level: str, shuffle: bool) -> None:
        try:
            path = self._file()
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
            data[f"{level}/{int(shuffle)}"] = {c: row for (c, lvl, sh), row in self.table.items()
                                               if lvl == level and sh == shuffle}
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(data))
        except OSError:
            pass  # a read-only cache dir: calibrate again next time

    def _calibrate(self, level: str, shuffle: bool) -> None:
        from kit.payloads import numeric, text

        t_start = time.perf_counter()
        big, small = 32 << 10, 1 << 10
        make = (lambda size: numeric(size, 7)) if shuffle else (lambda size: text(size, 7))
        samples = {big: make(big), small: make(small)}
        ts = 8 if shuffle else 1
        for codec in _available_codecs():
            if codec == "blosc2" and not shuffle:
                # blosc2's gain is its shuffle filter, which needs a typesize; without
                # one it is LZ4 or ZSTD in blocks, and those are candidates themselves
                # (and its import costs ~0.7 s).
                continue
            c = _codec_compressor(codec)
            d = _decoder(codec)
            times: dict[int, tuple[float, float, int]] = {}
            for size, data in samples.items():
                best_c = best_d = math.inf
                out = b""
                spent, reps = 0.0, 0
                # The minimum of several runs (until 2 ms are spent, at most 15):
                # one run of a fast codec on a busy machine can be off by several
                # times; a slow one (lzma) is measured once.
                while reps < 1 or (spent < 0.002 and reps < 15):
                    t0 = time.perf_counter()
                    out = c(data, level, ts)
                    t1 = time.perf_counter()
                    d(out)
                    t2 = time.perf_counter()
                    best_c, best_d = min(best_c, t1 - t0), min(best_d, t2 - t1)
                    spent += t2 - t0
                    reps += 1
                times[size] = (best_c, best_d, len(out))
            self.warm.add((codec, level))
            (cb, db, lb), (cs, ds, _) = times[big], times[small]
            b_c = max((cb - cs) / (big - small), 1e-12)
            b_d = max((db - ds) / (big - small), 1e-12)
            a_c = max(cs - b_c * small, 0.0)
            a_d = max(ds - b_d * small, 0.0)
            self.table[(codec, level, shuffle)] = [a_c, b_c, a_d, b_d, lb / big]
        self.calibration_seconds += time.perf_counter() - t_start

    def cost(self, codec: str, level: str, shuffle: bool, n: int, ratio: float | None, bandwidth: float) -> float:
        a_c, b_c, a_d, b_d, prior = self.table[(codec, level, shuffle)]
        r = prior if ratio is None else ratio
        return a_c + b_c * n + a_d + b_d * n + n * r / bandwidth

    def time_bound(self, codec: str, level: str, shuffle: bool, n: int) -> float:
        a_c, b_c, a_d, b_d, _ = self.table[(codec, level, shuffle)]
        return a_c + b_c * n + a_d + b_d * n

    def ranked(self, level: str, shuffle: bool, n: int, bandwidth: float) -> tuple[str, ...]:
        """Codecs that can beat raw at this size, by predicted cost (memoised per size octave)."""
        bucket = (level, shuffle, bandwidth, n.bit_length())
        hit = self._decisions.get(bucket)
        if hit is not None:  # memoised per size octave: the model is fixed once calibrated
            return hit
        raw = n / bandwidth
        codecs = [c for (c, lvl, sh) in self.table if lvl == level and sh == shuffle
                  and not (c == "blosc2" and n > _BLOSC2_MAX)]
        viable = [c for c in codecs if self.time_bound(c, level, shuffle, n) < raw]
        viable.sort(key=lambda c: self.cost(c, level, shuffle, n, None, bandwidth))
        out = tuple(viable)
        self._decisions[bucket] = out
        return out


_model = _Model()


def cost_model() -> dict[str, list[float]]:
    """The codec cost model ``codec="auto"`` decides with, as measured (or set) in this process.

    Keys are ``"codec/level/shuffle"`` (shuffle 0 or 1); values are
    ``[a_c, b_c, a_d, b_d, ratio]``: compression and decompression time as
    ``a + b * n`` seconds for ``n`` bytes, and the ratio on the calibration
    payload. Only the (level, shuffle) pairs used so far are present.

    Examples
    --------
    >>> set_cost_model({"zlib/balanced/0": [1e-6, 1e-8, 1e-6, 3e-9, 0.25]})
    >>> cost_model()
    {'zlib/balanced/0': [1e-06, 1e-08, 1e-06, 3e-09, 0.25]}
    >>> set_cost_model(None)  # measure again on next use
    """
    return {f"{c}/{lvl}/{int(sh)}": list(row) for (c, lvl, sh), row in _model.table.items()}


def set_cost_model(table: dict[str, Any] | None) -> None:
    """Decide with ``table`` (the form :func:`cost_model` returns) instead of measuring; ``None`` resets.

    What ``codec="auto"`` chooses then depends on the input and the table
    alone, not on how busy the machine was while it calibrated: tests use
    it, and so can a user who wants one decision on several machines. Rows
    of codecs not installed here are ignored; a (level, shuffle) pair the
    table does not cover is measured on first use as usual.

    Examples
    --------
    >>> set_cost_model({"zstd/fast/0": [4e-6, 3e-9, 2e-6, 1e-9, 0.27]})
    >>> choose_codec(b"a line of text that repeats. " * 100, level="fast")
    'zstd'
    >>> set_cost_model(None)
    """
    with _model._lock:
        _model.table.clear()
        _model.calibrated.clear()
        _model._decisions.clear()
        if table is None:
            return
        available = set(_available_codecs())
        rows: dict[tuple[str, str, bool], list[float]] = {}
        for key, row in table.items():
            try:
                codec, level, shuffle = key.split("/")
                values = [float(x) for x in row]
            except (AttributeError, ValueError, TypeError):
                raise ValueError(f"a cost model row is 'codec/level/shuffle': [a_c, b_c, a_d, b_d, ratio], "
                                 f"got {key!r}: {row!r}") from None
            _check_level(level)
            if shuffle not in ("0", "1") or len(values) != 5 or not all(math.isfinite(v) and v >= 0 for v in values):
                raise ValueError(f"a cost model row is 'codec/level/shuffle' (shuffle 0 or 1): five finite "
                                 f"numbers >= 0, got {key!r}: {row!r}")
            if codec in available:
                rows[(codec, level, shuffle == "1")] = values
        _model.table.update(rows)
        _model.calibrated.update((lvl, sh) for (_, lvl, sh) in rows)


def _entropy_limit(m: int) -> float:
    # The plug-in estimate of uniformly random bytes falls short of 8 bits by
    # about 255 / (2 m ln 2); data within twice that of 8 bits is treated as
    # incompressible by any entropy coder.
    return 8.0 - 2 * 255 / (2 * m * math.log(2)) - 0.01


def choose_codec(data: Any, level: str = "balanced", objective: Any = "balanced",
                 typesize: int | None = None) -> str:
    """The codec ``compress(data, codec="auto")`` would try first (``"raw"`` if none pays).

    Examples
    --------
    >>> choose_codec(b"x")
    'raw'
    """
    mv, itemsize = _as_bytes_view(data)
    _check_level(level)
    ts = itemsize if typesize is None else int(typesize)
    if mv.nbytes % ts:
        ts = 1
    plan = _plan(mv, mv.nbytes, level, _bandwidth(objective), ts)
    return plan[0] if plan else "raw"


def _plan(mv: memoryview, n: int, level: str, bandwidth: float, ts: int) -> list[str]:
    """Codecs to try, best first (empty: store raw)."""
    if n < AUTO_RAW_BELOW:
        return []
    shuffle = ts > 1
    if not shuffle and _PROBE_FROM <= n < _TRIAL_FROM:
        probed = _probe_plan(mv, n, level, bandwidth)
        if probed is not None:
            return probed
    # Before the model: random input is the one case where deciding fast matters most
    # (storing 4 KiB raw costs ~1.3 µs; the screen ~1.8 µs).
    if not shuffle and _SCREEN_FROM <= n < _ENTROPY_FROM and _looks_random(mv, n):
        return []
    _model.ensure(level, shuffle)
    ranked = _model.ranked(level, shuffle, n, bandwidth)
    if not ranked:
        return []
    if n < _ENTROPY_FROM:
        return [ranked[0]]
    sample = _sample(mv, n)
    if not shuffle and _byte_entropy(sample) > _entropy_limit(len(sample)):
        return []
    if n < _TRIAL_FROM or len(ranked) == 1:
        return [ranked[0]]

    # Typed data: blosc2 (shuffle, blocks) and the general codecs compete, and
    # which wins depends on the data, in ratio and in speed (zstd runs 0.7 ns/B
    # on one float array and 11 ns/B on another). Untyped data keeps the
    # model's choice: there zstd leads by a margin that a trial would not change.
    if not shuffle:
        return [ranked[0]]
    best = _trial(mv, n, level, bandwidth, ts, ranked)
    return [] if best is None else [best]


def _lz4_probe() -> Any:
    """lz4's block compressor, or ``False`` without lz4 (then there is no probe and no small-input screen)."""
    global _lz4_block
    if _lz4_block is None:
        from kit import registry as _registry

        _lz4_block = False
        if _registry.backend("compress", "lz4").available:
            try:
                import lz4.block

                _lz4_block = lz4.block.compress
            except ImportError:
                pass
    return _lz4_block


def _probe_ratio(data: Any) -> float:
    """lz4 (block, default acceleration) output size over input size: the repeats a codec can exploit."""
    return len(_lz4_block(data, mode="fast", acceleration=1, store_size=False)) / len(data)


def _reference_ratio(m: int) -> float:
    """The probe's ratio on the model's calibration text at about ``m`` bytes (memoised per size octave)."""
    key = m.bit_length()
    r = _reference.get(key)
    if r is None:
        from kit.payloads import text

        r = _reference[key] = _probe_ratio(text(1 << (key - 1), 7))
    return r


_reference: dict[int, float] = {}


def _probe_plan(mv: memoryview, n: int, level: str, bandwidth: float) -> list[str] | None:
    """Untyped input from 16 KiB to 256 KiB: the model's choice with each codec's ratio estimated from a probe.

    The model's ratios are those of its calibration text, and at these sizes
    a wrong ratio decides: at the balanced objective 64 KiB of a shared
    library (zstd: 0.54) is about as cheap stored raw, 64 KiB of JSON (0.12)
    far cheaper compressed. The probe, lz4 on a 4 KiB sample of 4 stripes
    (4-8 µs: 1-5% of compressing 16 KiB, hence not below), measures the
    repeats there are; each codec's ratio is its calibration ratio scaled by
    the probe's ratio here over the probe's ratio on the calibration text at
    the same size (at most 1), and the cheapest of raw and the viable codecs
    wins. It replaces the byte-entropy screen at these sizes (20-60 µs): a
    probe that finds nothing on bytes that also look random (48 or more
    distinct values among 64; see :func:`_looks_random`) stores raw at once.
    ``None`` (no lz4): the model's prior ratios decide.
    """
    if _lz4_probe() is False:
        return None
    sample = mv if n <= _SAMPLE else _sample(mv, n)
    m = len(sample)
    probe = _probe_ratio(sample)
    if probe >= 1.0:
        mid = m // 2 - 32
        if len(set(sample[mid: mid + 64])) >= 48:
            return []
    _model.ensure(level, False)
    ranked = _model.ranked(level, False, n, bandwidth)
    if not ranked:
        return []
    scale = probe / _reference_ratio(m)
    best, best_cost = None, n / bandwidth
    for codec in ranked:
        prior = _model.table[(codec, level, False)][4]
        cost = _model.cost(codec, level, False, n, min(1.0, prior * scale), bandwidth)
        if cost < best_cost:
            best, best_cost = codec, cost
    return [] if best is None else [best]


def _trial_size(n: int, ts: int) -> int:
    """Bytes of the contiguous trial sample: n / 256, at least 16 KiB, whole elements."""
    m = min(max(n // _TRIAL_FRACTION, _TRIAL_SAMPLE), n)
    return m - m % (64 * ts) if m >= 64 * ts else m


def _trial(mv: memoryview, n: int, level: str, bandwidth: float, ts: int,
           ranked: tuple[str, ...]) -> str | None:
    """Try the contenders on a sample of typed data; the cheapest predicted, or ``None`` for raw.

    Each contender compresses one contiguous sample from the middle of the
    input (:func:`_trial_size`). The sample's ratio replaces the prior, and
    its compression time, over the model's time at the same size, scales
    the model's prediction for the whole input (decompression speed stays
    the model's). A block codec's ratio is extrapolated to the block size it
    will use on the whole input (:func:`_block_ratio`). A contender is
    skipped when its predicted time alone, at the model's speed, already
    exceeds 1.5x the best cost so far (raw included): no ratio could make it
    win unless it ran far faster on this data than on the calibration payload.
    Trials stop once they have cost :data:`_PROBE_BUDGET` of the best cost so
    far, so that deciding stays a small part of what it decides about.
    """
    shuffle = True
    m = _trial_size(n, ts)
    start = (n - m) // 2
    start -= start % ts
    trial = mv[start: start + m].tobytes()
    # Raw is the first contender: storing costs n / B.
    best_name, best_cost = None, n / bandwidth
    spent = 0.0
    for codec in ranked:
        if spent > _PROBE_BUDGET * best_cost:
            break  # contenders come best-first by prior: the rest are unlikely to pay for their trial
        # The model's speed is that of its calibration payload; on other data a
        # codec runs up to several times faster (blosc2: 1.6 ns/B on int64 counts,
        # 3.9 on the calibration array), hence the margin.
        if _model.time_bound(codec, level, shuffle, n) > 1.5 * best_cost:
            continue
        a_c, b_c, a_d, b_d, _ = _model.table[(codec, level, shuffle)]
        fn = _codec_compressor(codec)
        if (codec, level) not in _model.warm:
            # A codec's first call in a process pays its set-up (zstd 5 ms, blosc2's
            # thread pool 0.4 s here): not a property of this data.
            fn(trial, level, ts)
            _model.warm.add((codec, level))
        # A 1 KiB call first: a codec whose code and tables other work has just pushed
        # out of the caches runs a 16 KiB trial up to 1.5x slower, which made the choice
        # between two close codecs flip from call to call (int64 counts: zstd on 57% of
        # calls interleaved with other codecs' work, 2% with this warm-up).
        w0 = time.process_time()
        fn(trial[:1024], level, ts)
        t0 = time.process_time()
        out = fn(trial, level, ts)
        # How much slower (or faster) this data is than the calibration payload at
        # the same size; the size-dependent part of the model (threads, caches,
        # start-up) cancels out.
        # One timing on a busy machine can be far off: the factor is kept within 4x.
        t1 = time.process_time()
        factor = min(max((t1 - t0) / (a_c + b_c * m), 0.25), 4.0)
        ratio = len(out) / m
        if codec in _BLOCK_CODECS:
            ratio = _block_ratio(fn, trial, ratio, level, ts, _BLOCK_CODECS[codec](n, level, ts))
        spent += time.process_time() - w0
        cost = (a_c + b_c * n) * factor + a_d + b_d * n + n * ratio / bandwidth
        if cost < best_cost:
            best_name, best_cost = codec, cost
    return best_name


def _block_ratio(fn: Callable, trial: bytes, ratio: float, level: str, ts: int, block: int) -> float:
    """A block codec's ratio at ``block`` bytes per block, extrapolated from the trial sample.

    A block codec compresses each block on its own, so its ratio depends on
    the block size, not the input's size: blosc2 at balanced uses 512 KiB
    blocks for 1 MiB of int64 and compresses a random walk of counts to 0.094
    of its size, but a 16 KiB sample (one 16 KiB block) only to 0.132, which
    mis-ranked it behind zstd (0.128). The sample is one block; its middle
    quarter is compressed as well, and the ratio's change per doubling of the
    block between the two is carried on, log-linearly, to the real block size
    (never to less than a quarter of the sample's ratio; a ratio that worsens
    with the block is taken as flat). Measured on 22 typed arrays, the
    extrapolation is within about 0.06 of the real ratio where the sample
    alone was off by up to 0.08 (docs/compression.md).
    """
    m = len(trial)
    if block <= m:
        return ratio
    q = m // 4
    q -= q % ts
    if q < 1024:
        return ratio
    lo = (m - q) // 2
    lo -= lo % ts
    r_quarter = len(fn(trial[lo: lo + q], level, ts)) / q
    per_doubling = max(0.0, (r_quarter - ratio) / math.log2(m / q))
    return max(ratio - per_doubling * math.log2(block / m), ratio / 4)


def _blosc2_block(n: int, level: str, ts: int) -> int:
    """The block size blosc2 will use for ``n`` bytes: ``min(n, cap)``, cap per (level, typesize).

    blosc2 chooses the block size from the level, the typesize and the
    chunk's size, not from the data; the cap is read once per process from
    the chunk of 4 MiB of zeros (a 32-byte chunk that still records its
    block size; about 1 ms).
    """
    cap = _block_caps.get((level, ts))
    if cap is None:
        import blosc2

        chunk = _codec_compressor("blosc2")(bytes(_CAP_PROBE), level, ts)
        cap = _block_caps[(level, ts)] = int(blosc2.get_cbuffer_sizes(chunk)[2])
    return min(n, cap)


_block_caps: dict[tuple[str, int], int] = {}
_CAP_PROBE = 4 << 20
#: Codecs that compress in independent blocks -> their block size for an input.
_BLOCK_CODECS: dict[str, Callable[[int, str, int], int]] = {"blosc2": _blosc2_block}


def _compress_auto(mv: memoryview, n: int, level: str, bandwidth: float, ts: int, checksum: bytes,
                   alg: int) -> bytes:
    plan = _plan(mv, n, level, bandwidth, ts)
    if plan:
        codec = plan[0]
        shuffle = ts > 1
        payload = _codec_compressor(codec)(mv, level, ts)
        a_c, b_c, a_d, b_d, _ = _model.table[(codec, level, shuffle)]
        # The compression time is spent; keep the stream if reading it back
        # (decode + move the smaller result) is cheaper than moving the input.
        if a_d + b_d * n + len(payload) / bandwidth < n / bandwidth and len(payload) < n:
            return _frame(codec, level, ts, n, checksum, alg, payload)
    return _frame("raw", None, ts, n, checksum, alg, mv)
