"""The frame format: a 38-byte header, then a codec's standard stream or the original bytes.

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
with the 8-byte id of the :class:`~kit.compression.Dictionary` the zstd frame
was compressed with.

The checksum algorithm is pinned in the format (xxh3_64, or BLAKE2b-64 when
``xxhash`` is absent) rather than taken from the engine's ``fingerprint``
selection, which may differ between machines.

This module knows the header and nothing of codecs: it writes frames
(:func:`make_frame`), reads and checks headers (:func:`read_header`,
:func:`frame_info`), and answers the few questions the cache tiers ask of a
frame they hold without parsing it (:func:`declared_size`,
:func:`dictionary_id`, :func:`raw_payload`, :func:`as_raw_frame`).

Examples
--------
>>> f = make_frame("raw", None, 1, 3, checksum_function(2)(b"abc"), 2, b"abc")
>>> frame_info(f).codec, len(f) == HEADER_SIZE + 3, bytes(raw_payload(f))
('raw', True, b'abc')
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Callable

from kit.errors import BackendUnavailable, KitError

__all__ = [
    "CHECKSUMS", "CODEC_IDS", "DICTIONARY_ID_SIZE", "FLAG_DICTIONARY", "FORMAT_VERSION", "FORMAT_VERSIONS",
    "HEADER_SIZE", "LEVEL_IDS", "MAGIC",
    "ChecksumError", "DecompressionBombError", "FrameError", "FrameInfo", "MissingDictionaryError",
    "as_raw_frame", "checksum_algorithm", "checksum_function", "codec_name", "declared_size", "dictionary_id",
    "frame_info",
    "is_frame", "make_frame", "needs_dictionary", "raw_payload", "read_header",
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
# A raw frame of format version 1 starts with these five bytes.
_RAW_V1 = MAGIC + b"\x01"

#: Stable codec ids of the frame format (never renumber; add at the end).
CODEC_IDS: dict[str, int] = {"raw": 0, "zlib": 1, "bz2": 2, "lzma": 3, "lz4": 4, "zstd": 5, "blosc2": 6}
_CODEC_NAMES = {v: k for k, v in CODEC_IDS.items()}
#: Stable level ids of the frame format.
LEVEL_IDS: dict[str, int] = {"fast": 0, "balanced": 1, "max": 2}
_LEVEL_NAMES = {v: k for k, v in LEVEL_IDS.items()}
_RAW_LEVEL = 255

#: Checksum algorithm id -> name. Pinned in the format, never the engine's choice.
CHECKSUMS: dict[int, str] = {1: "xxh3_64", 2: "blake2b_64"}


class FrameError(KitError, ValueError):
    """A frame is malformed, damaged, or was refused.

    Examples
    --------
    >>> try:
    ...     read_header(b"not a frame")
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
    >>> from kit.compression import Dictionary, compress, decompress
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
        Hex id of the :class:`~kit.compression.Dictionary` the frame needs, if any.
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


def checksum_function(alg: int) -> Callable[[Any], bytes]:
    """The 8-byte checksum of checksum algorithm id ``alg`` (:data:`CHECKSUMS`).

    Raises
    ------
    BackendUnavailable
        ``alg`` is xxh3_64 and xxhash is not installed.
    FrameError
        ``alg`` is not a known id.

    Examples
    --------
    >>> len(checksum_function(2)(b"abc"))
    8
    """
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
    return 1 if "xxh3_128" in _registry.available("fingerprint") else 2


_default_alg: list[int] = []


def checksum_algorithm() -> int:
    """The checksum algorithm id new frames are written with: 1 (xxh3_64) with xxhash, else 2.

    Examples
    --------
    >>> CHECKSUMS[checksum_algorithm()] in ("xxh3_64", "blake2b_64")
    True
    """
    if not _default_alg:
        _default_alg.append(_default_checksum())
    return _default_alg[0]


# --- writing -------------------------------------------------------------------------------


def make_frame(codec: str, level: str | None, typesize: int, size: int, checksum: bytes, alg: int,
               payload: Any, dictionary_id: bytes | None = None) -> bytes:
    """A frame around ``payload``: the header, then the payload.

    Parameters
    ----------
    codec : str
        ``"raw"`` (``payload`` is the original) or the codec that made ``payload``.
    level : str or None
        The named level (``None`` for raw).
    typesize : int
        Element size the codec was told (kept within 1..255).
    size : int
        The original's size in bytes.
    checksum : bytes
        The original's checksum with algorithm ``alg``; for raw frames it is
        also the stored bytes' checksum.
    alg : int
        Checksum algorithm id (:data:`CHECKSUMS`).
    payload : bytes-like
        The codec stream, or the original for raw.
    dictionary_id : bytes, optional
        The id of the dictionary ``payload`` (a zstd frame) was compressed
        with: the frame is format version 2 and its stored bytes start with it.

    Examples
    --------
    >>> f = make_frame("raw", None, 1, 2, checksum_function(2)(b"hi"), 2, b"hi")
    >>> frame_info(f).size, f[HEADER_SIZE:]
    (2, b'hi')
    """
    if dictionary_id is not None:
        # Version 2: the dictionary's id leads the stored bytes (covered by their checksum).
        payload = dictionary_id + payload
        version, flags = 2, FLAG_DICTIONARY
    else:
        version, flags = 1, 0
    stored = checksum if codec == "raw" else checksum_function(alg)(payload)
    prefix = _PREFIX.pack(MAGIC, version, CODEC_IDS[codec],
                          _RAW_LEVEL if level is None else LEVEL_IDS[level],
                          alg, min(max(typesize, 1), 255), flags, size, checksum, stored)
    return b"".join((prefix, zlib.crc32(prefix).to_bytes(4, "little"), payload))


def as_raw_frame(frame: Any, data: Any) -> bytes:
    """``data``, which ``frame`` decodes to, in a raw version-1 frame with ``frame``'s checksum of it.

    For a caller that has just decoded ``frame`` (which verified ``data``
    against that checksum): the checksum is reused, not computed again. The
    result needs no dictionary, whatever ``frame`` needed.

    Examples
    --------
    >>> from kit.compression import compress, decompress
    >>> f = compress(b"abc" * 100, codec="zlib")
    >>> raw = as_raw_frame(f, decompress(f))
    >>> frame_info(raw).codec, decompress(raw) == b"abc" * 100
    ('raw', True)
    """
    return make_frame("raw", None, frame[8], len(data), frame[18:26], frame[7], data)


# --- reading -------------------------------------------------------------------------------


def read_header(frame: Any) -> tuple[memoryview, tuple]:
    """The frame as a byte view and its checked header fields (magic, CRC, version, flags, ids).

    The fields are, in order: magic, version, codec id, level id, checksum
    id, typesize, flags, size, checksum of the original, checksum of the
    stored bytes, header CRC.

    Raises
    ------
    FrameError
        Not a frame, or a damaged or unsupported header.

    Examples
    --------
    >>> from kit.compression import compress
    >>> _, fields = read_header(compress(b"x" * 100, codec="zlib"))
    >>> fields[2] == CODEC_IDS["zlib"], fields[7]
    (True, 100)
    """
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


def codec_name(codec_id: int) -> str:
    """The codec a (checked) header's codec id stands for.

    Examples
    --------
    >>> codec_name(5)
    'zstd'
    """
    return _CODEC_NAMES[codec_id]


def frame_info(frame: Any) -> FrameInfo:
    """Read a frame's header (checked, but the payload is not decoded).

    Examples
    --------
    >>> from kit.compression import compress
    >>> info = frame_info(compress(b"x" * 4096, codec="zlib"))
    >>> (info.codec, info.level, info.size)
    ('zlib', 'balanced', 4096)
    """
    mv, f = read_header(frame)
    codec = _CODEC_NAMES[f[2]]
    dictionary = (bytes(mv[HEADER_SIZE: HEADER_SIZE + DICTIONARY_ID_SIZE]).hex()
                  if f[6] & FLAG_DICTIONARY else None)
    return FrameInfo(codec, None if codec == "raw" else _LEVEL_NAMES.get(f[3], "?"), f[7],
                     mv.nbytes - HEADER_SIZE, CHECKSUMS[f[4]], f[5], f[1], dictionary)


# --- what a holder of frames asks without parsing them (nothing below checks the header) ---


def is_frame(frame: Any) -> bool:
    """Long enough for a header and starting with the magic (the header is not checked).

    Examples
    --------
    >>> is_frame(b"KITZ" + bytes(40)), is_frame(b"KITZ")
    (True, False)
    """
    return len(frame) >= HEADER_SIZE and frame[:4] == MAGIC


def declared_size(frame: Any) -> int:
    """The original size a frame's header declares (not checked; the frame is at least a header long).

    Examples
    --------
    >>> from kit.compression import compress
    >>> declared_size(compress(bytes(1000), codec="zlib"))
    1000
    """
    return int.from_bytes(frame[10:18], "little")


def needs_dictionary(frame: Any) -> bool:
    """Whether a frame's flags say it was compressed with a dictionary (the header is not checked).

    Examples
    --------
    >>> from kit.compression import compress
    >>> needs_dictionary(compress(b"abc" * 100, codec="zstd"))
    False
    """
    return len(frame) >= HEADER_SIZE and bool(frame[9] & FLAG_DICTIONARY)


def dictionary_id(frame: Any) -> bytes | None:
    """The id of the dictionary a frame needs to be decoded, or ``None`` (the header is not checked).

    Examples
    --------
    >>> from kit.compression import compress
    >>> dictionary_id(compress(b"abc" * 100, codec="zstd")) is None
    True
    """
    if len(frame) >= HEADER_SIZE + DICTIONARY_ID_SIZE and frame[9] & FLAG_DICTIONARY:
        return bytes(frame[HEADER_SIZE: HEADER_SIZE + DICTIONARY_ID_SIZE])
    return None


def raw_payload(frame: Any, max_size: int | None = None) -> memoryview | None:
    """The original bytes of a raw version-1 frame (a view), or ``None`` for any other frame.

    For a frame whose bytes an outer check has just verified (the on-disk
    and Redis tiers hash every stored row): when the header says raw and the
    declared size is what the frame holds (and at most ``max_size``), the
    payload is exactly what was written, so neither the header CRC nor the
    checksum needs computing again. Anything else (a compressed frame, a
    frame over ``max_size``, a damaged one) is ``None``: decode it with
    :func:`kit.compression.decompress`, which checks everything.

    Examples
    --------
    >>> from kit.compression import compress
    >>> bytes(raw_payload(compress(b"tiny")))
    b'tiny'
    >>> raw_payload(compress(b"abc" * 100, codec="zlib")) is None
    True
    """
    n = len(frame) - HEADER_SIZE
    if (n >= 0 and frame[5] == 0 and frame[:5] == _RAW_V1 and int.from_bytes(frame[10:18], "little") == n
            and (max_size is None or n <= max_size)):
        return memoryview(frame)[HEADER_SIZE:]
    return None
