"""``compress`` and ``decompress``: the entry points over the frame, the codecs, the dictionaries and auto.

Decompression is bounded: a declared size over ``max_size`` (default: the
memory available) or a ratio no codec can reach is refused before anything is
allocated; the checksum of the stored bytes is verified *before* any decoder
runs (a damaged payload never reaches a codec library: blosc2's decoder
crashes the process on some damaged chunks); the codec stream is decoded with
its output capped at the declared size; a checksum mismatch raises
:class:`~kit.compression.ChecksumError`.

Examples
--------
>>> frame = compress(b"abc" * 1000, codec="zlib")
>>> decompress(frame) == b"abc" * 1000
True
"""

from __future__ import annotations

from typing import Any

from kit.compression.auto import compress_auto, objective_bandwidth
from kit.compression.dictionary import Dictionary, dictionary_decode
from kit.compression.frame import (
    CHECKSUMS,
    DICTIONARY_ID_SIZE,
    FLAG_DICTIONARY,
    HEADER_SIZE,
    ChecksumError,
    DecompressionBombError,
    FrameError,
    checksum_algorithm,
    checksum_function,
    codec_name,
    make_frame,
    raw_payload,
    read_header,
)
from kit.compression.streams import (
    BLOSC2_MAX,
    MAX_RATIO,
    PEAK_FACTOR,
    bounded_decode,
    byte_view,
    check_level,
    compressor,
)

__all__ = ["compress", "decompress", "decompress_verified"]

# Declared sizes above this are checked against the memory actually available.
_MEMORY_CHECK_OVER = 64 << 20


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
        the channel bandwidth in bytes/s (:data:`~kit.compression.OBJECTIVES`).
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
    >>> kit.compression.frame_info(kit.compress(b"tiny")).codec
    'raw'
    """
    mv, itemsize = byte_view(data)
    check_level(level)
    ts = itemsize if typesize is None else int(typesize)
    if not 1 <= ts <= 255:
        raise ValueError(f"typesize must be an integer from 1 to 255, got {typesize!r}")
    n = mv.nbytes
    if n % ts:  # shuffling needs whole elements (blosc2 refuses otherwise)
        ts = 1
    alg = checksum_algorithm()
    checksum = checksum_function(alg)(mv)
    if dictionary is not None:
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary must be a kit.compression.Dictionary, got {type(dictionary).__name__!r}")
        if codec not in ("zstd", "auto"):
            raise ValueError(f"a dictionary is a zstd dictionary: codec must be 'zstd' or 'auto', got {codec!r}")
        payload = dictionary.compress(mv, level)
        if len(payload) + DICTIONARY_ID_SIZE >= n:
            return make_frame("raw", None, ts, n, checksum, alg, mv)
        return make_frame("zstd", level, ts, n, checksum, alg, payload, dictionary.id)
    if codec == "auto":
        return compress_auto(mv, n, level, objective_bandwidth(objective), ts, checksum, alg)
    if codec == "raw":
        return make_frame("raw", None, ts, n, checksum, alg, mv)
    fn = compressor(codec)
    if codec == "blosc2" and n > BLOSC2_MAX:
        raise ValueError(f"blosc2 compresses at most {BLOSC2_MAX} bytes in one chunk, got {n}")
    payload = fn(mv, level, ts)
    if len(payload) >= n:
        return make_frame("raw", None, ts, n, checksum, alg, mv)
    return make_frame(codec, level, ts, n, checksum, alg, payload)


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
        codec can reach at all (:data:`~kit.compression.streams.MAX_RATIO`).
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
    mv, f = read_header(frame)
    codec = codec_name(f[2])
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
    need = int(size * PEAK_FACTOR.get(codec, 1.0))
    if need > _MEMORY_CHECK_OVER:
        avail = _memory_available()
        if avail is not None and need > avail:
            raise DecompressionBombError(
                f"frame declares {size} bytes; decoding {codec} needs about {need} bytes at peak, more than "
                f"the {avail} bytes of memory available")
    check = checksum_function(f[4])
    if codec == "raw":
        out = payload.tobytes()
    else:
        if check(payload) != f[9]:
            raise ChecksumError(f"checksum ({CHECKSUMS[f[4]]}) of the {stored} stored bytes does not match the "
                                "frame: the payload is damaged (not decoded)")
        if f[6] & FLAG_DICTIONARY:
            out = dictionary_decode(payload, size, dictionaries)
        else:
            out = bounded_decode(codec, payload, size)
    if len(out) != size:
        raise FrameError(f"{codec} stream decoded to {len(out)} bytes, the frame declares {size}")
    if check(out) != f[8]:
        raise ChecksumError(f"checksum ({CHECKSUMS[f[4]]}) of the decoded {size} bytes does not match the frame")
    return out


def decompress_verified(frame: bytes, max_size: int | None = None) -> bytes:
    """:func:`decompress` for a frame whose bytes an outer check has just verified.

    The on-disk and Redis tiers hash every stored row (key, expiry and frame
    together); when that hash matches, a raw frame's payload is exactly what
    was written, so its header CRC and checksum need not be recomputed
    (:func:`~kit.compression.frame.raw_payload`). Compressed frames still go
    through :func:`decompress` (the checksum then guards the codec itself).

    Examples
    --------
    >>> decompress_verified(compress(b"tiny"))
    b'tiny'
    >>> decompress_verified(compress(b"abc" * 100, codec="zlib")) == b"abc" * 100
    True
    """
    if raw_payload(frame, max_size) is not None:
        return frame[HEADER_SIZE:]
    return decompress(frame, max_size=max_size)
