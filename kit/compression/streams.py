"""What each codec is inside a frame: its compressor, its bounded decoder, and its limits.

The registry declares the codecs (``kit.registry.codecs``: names, levels,
libraries, the plain ``compress``/``decompress`` callables); this module adds
what the frame format needs to know of each, in one place:

* the compressor of a named codec, or an error naming why it is unavailable
  (:func:`compressor`), and the codecs available here (:func:`available_codecs`);
* a decoder that never produces more than the size a frame declares
  (:func:`bounded_decode`), with the checks each library needs before it
  allocates (zstd and blosc2 read the size their own stream declares);
* the largest ratio each codec's format can reach (:data:`MAX_RATIO`) and the
  memory its decoder needs at peak (:data:`PEAK_FACTOR`).

Examples
--------
>>> import zlib
>>> bounded_decode("zlib", memoryview(zlib.compress(b"abc" * 10)), 30)
b'abcabcabcabcabcabcabcabcabcabc'
>>> "zlib" in available_codecs()
True
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Callable

from kit.compression.frame import CODEC_IDS, LEVEL_IDS, FrameError
from kit.errors import BackendUnavailable

__all__ = ["BLOSC2_MAX", "MAX_RATIO", "PEAK_FACTOR", "available_codecs", "bounded_decode", "byte_view",
           "check_level", "codec_names", "compressor", "decoder", "forget", "require", "stream_error"]

#: Largest output/input ratio each codec's format can reach, with margin
#: (measured on 64 MiB of zeros at level max: zlib 1029, lz4 243, lzma 6781,
#: zstd 32483, bz2 849479; a blosc2 chunk of a repeated value is 32 bytes for
#: any size, so its bound is the size limit alone). A frame declaring more is
#: refused as a decompression bomb before anything is allocated.
MAX_RATIO: dict[str, float] = {
    "raw": 1.0, "zlib": 1100.0, "lz4": 300.0, "lzma": 20000.0, "zstd": 70000.0,
    "bz2": 5.0e7, "blosc2": math.inf,
}

#: Peak memory of decoding, as a multiple of the declared size: zlib, bz2, xz and lz4 grow a
#: buffer and copy it out (tracemalloc peak over 32 MiB decoded: zlib, bz2, lz4 2.0x, xz 2.25x;
#: zstd and blosc2 1.0x, the codecs left out).
PEAK_FACTOR: dict[str, float] = {"zlib": 2.0, "bz2": 2.0, "lzma": 2.25, "lz4": 2.0}

#: Most bytes blosc2 compresses in one chunk.
BLOSC2_MAX = 2**31 - 64


def byte_view(data: Any) -> tuple[memoryview, int]:
    """A flat, contiguous byte view of ``data`` and its natural element size.

    Raises
    ------
    TypeError
        ``data`` is not bytes-like.

    Examples
    --------
    >>> import array
    >>> mv, itemsize = byte_view(array.array("d", [1.0, 2.0]))
    >>> mv.nbytes, itemsize
    (16, 8)
    """
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


def codec_names() -> tuple[str, ...]:
    """The registry's codecs, baseline first (``raw`` is not one: it is the frame's own).

    Examples
    --------
    >>> codec_names()[0]
    'zlib'
    """
    from kit.registry.codecs import CODECS

    return CODECS


def check_level(level: str) -> None:
    """Raise ``ValueError`` naming the valid levels unless ``level`` is one.

    Examples
    --------
    >>> check_level("fast")
    >>> try:
    ...     check_level("turbo")
    ... except ValueError as exc:
    ...     print(exc)
    level must be one of fast, balanced, max, got 'turbo'
    """
    if level not in LEVEL_IDS:
        from kit.registry.codecs import LEVEL_NAMES

        raise ValueError(f"level must be one of {', '.join(LEVEL_NAMES)}, got {level!r}")


_compressors: dict[str, Callable] = {}


def compressor(codec: str) -> Callable:
    """The registry's ``compress(data, level, typesize)`` of ``codec``, loaded on first use.

    Raises
    ------
    ValueError
        ``codec`` is not a codec (the message lists the valid ones).
    BackendUnavailable
        ``codec`` is not installed here (the message says why).

    Examples
    --------
    >>> import zlib
    >>> zlib.decompress(compressor("zlib")(b"abc" * 10, "fast", 1))
    b'abcabcabcabcabcabcabcabcabcabc'
    """
    fn = _compressors.get(codec)
    if fn is None:
        from kit import registry as _registry

        if codec not in CODEC_IDS or codec == "raw":
            valid = ", ".join(("auto", "raw") + codec_names())
            raise ValueError(f"unknown codec {codec!r}; valid codecs: {valid}")
        b = _registry.backend("compress", codec)
        reason = b.unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"codec {codec!r} is unavailable here: {reason}")
        fn = _compressors[codec] = b.implementation()
    return fn


_decoders: dict[str, Callable] = {}


def decoder(codec: str) -> Callable:
    """The registry's plain ``decompress(data)`` of ``codec`` (unbounded: see :func:`bounded_decode`).

    Examples
    --------
    >>> import zlib
    >>> decoder("zlib")(zlib.compress(b"abc"))
    b'abc'
    """
    fn = _decoders.get(codec)
    if fn is None:
        from kit import registry as _registry

        fn = _decoders[codec] = _registry.backend("decompress", codec).implementation()
    return fn


def forget(codec: str) -> None:
    """Drop the loaded compressor and decoder of ``codec`` (after the registry's probes were reset).

    Examples
    --------
    >>> forget("zlib"); compressor("zlib") is compressor("zlib")
    True
    """
    _compressors.pop(codec, None)
    _decoders.pop(codec, None)


def available_codecs() -> list[str]:
    """The registry's codecs installed here (``kit.registry.available``) that frames can hold, baseline first.

    Examples
    --------
    >>> available_codecs()[0]
    'zlib'
    """
    from kit import registry as _registry

    return [c for c in _registry.available("compress") if c in CODEC_IDS]


def require(codec: str) -> None:
    """Raise :class:`~kit.errors.BackendUnavailable` unless ``codec`` can be decoded here.

    Examples
    --------
    >>> require("zlib")
    """
    from kit import registry as _registry

    reason = _registry.backend("decompress", codec).unavailable_reason()
    if reason is not None:
        raise BackendUnavailable(f"this frame needs codec {codec!r}, which is unavailable here: {reason}")


def stream_error(codec: str, exc: BaseException) -> FrameError:
    """The :class:`~kit.compression.FrameError` for a library's own error on a damaged stream.

    Examples
    --------
    >>> str(stream_error("zlib", ValueError("bad")))
    'corrupted zlib stream in frame: ValueError: bad'
    """
    return FrameError(f"corrupted {codec} stream in frame: {type(exc).__name__}: {exc}")


def bounded_decode(codec: str, payload: memoryview, size: int) -> bytes:
    """Decode one codec stream, never producing more than ``size`` (+1) bytes.

    Raises
    ------
    FrameError
        The stream is damaged, truncated, or longer than ``size``.
    BackendUnavailable
        The codec is not installed here.

    Examples
    --------
    >>> import zlib
    >>> try:
    ...     bounded_decode("zlib", memoryview(zlib.compress(bytes(100))), 10)
    ... except FrameError as exc:
    ...     print("refused")
    refused
    """
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
            require("lz4")
            import lz4.frame

            d = lz4.frame.LZ4FrameDecompressor()
            out = d.decompress(payload, max_length=size + 1)
            if not d.eof:
                raise FrameError(f"lz4 frame is longer than the {size} bytes declared, or truncated")
            return out
        if codec == "zstd":
            require("zstd")
            import zstandard

            # The decoder allocates the content size written in the zstd frame,
            # so check that first; it then refuses output beyond it.
            declared = zstandard.frame_content_size(payload)
            if declared != size:
                raise FrameError(f"zstd frame declares {declared} bytes, the kit frame {size}")
            return decoder("zstd")(payload)
        if codec == "blosc2":
            require("blosc2")
            import blosc2

            nbytes, cbytes, _ = blosc2.get_cbuffer_sizes(payload)
            if nbytes != size or cbytes != payload.nbytes:
                raise FrameError(
                    f"blosc2 chunk declares {nbytes} bytes from {cbytes}, the kit frame {size} from {payload.nbytes}")
            return decoder("blosc2")(payload)
    except FrameError:
        raise
    except (BackendUnavailable, MemoryError):
        raise
    except Exception as exc:  # each library raises its own error type for bad input
        raise stream_error(codec, exc) from exc
    raise FrameError(f"no decoder for codec {codec!r}")
