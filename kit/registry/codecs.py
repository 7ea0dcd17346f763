"""Codecs: ``compress`` / ``decompress`` at the codec level.

Every codec writes its library's standard format (zlib stream, lz4 frame,
zstd frame with content size, blosc2 chunk, bz2 and xz streams); the framing,
checksums, bounds and ``codec="auto"`` live in :mod:`kit.compression`. Levels are
named, not numbered, because each library numbers them differently:
:data:`LEVELS` maps ``fast``/``balanced``/``max`` to each codec's own.

Measurements are taken at ``balanced``.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any, Callable, Iterable

from kit.registry import Backend, Operation, declare_backend, declare_operation

LEVEL_NAMES = ("fast", "balanced", "max")

#: codec -> level name -> the library's own level.
LEVELS: dict[str, dict[str, int]] = {
    "zlib": {"fast": 1, "balanced": 6, "max": 9},
    "lz4": {"fast": 0, "balanced": 4, "max": 16},
    "zstd": {"fast": 1, "balanced": 3, "max": 19},
    "blosc2": {"fast": 1, "balanced": 5, "max": 9},
    "bz2": {"fast": 1, "balanced": 6, "max": 9},
    "lzma": {"fast": 0, "balanced": 6, "max": 9},
}

CONTRACT = (
    "compress(data, level='balanced', typesize=1) -> bytes in the codec's standard format; "
    "decompress(data) -> the exact original bytes. level is one of fast, balanced, max."
)


def level_of(codec: str, level: str) -> int:
    """The library's own level for a named level.

    Examples
    --------
    >>> level_of("zstd", "max")
    19
    """
    try:
        return LEVELS[codec][level]
    except KeyError:
        if codec not in LEVELS:
            raise ValueError(f"unknown codec {codec!r}; valid codecs: {', '.join(LEVELS)}") from None
        raise ValueError(f"unknown level {level!r}; valid levels: {', '.join(LEVEL_NAMES)}") from None


def _zlib() -> tuple[Callable, Callable]:
    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        return zlib.compress(data, level_of("zlib", level))

    return c, zlib.decompress


def _bz2() -> tuple[Callable, Callable]:
    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        return bz2.compress(data, level_of("bz2", level))

    return c, bz2.decompress


def _lzma() -> tuple[Callable, Callable]:
    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        return lzma.compress(data, preset=level_of("lzma", level))

    return c, lzma.decompress


def _lz4() -> tuple[Callable, Callable]:
    import lz4.frame

    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        return lz4.frame.compress(data, compression_level=level_of("lz4", level), store_size=True)

    return c, lz4.frame.decompress


def _zstd() -> tuple[Callable, Callable]:
    import threading

    import zstandard

    # A zstandard context must not be used by two threads at once (python-zstandard's documentation;
    # shared ones corrupted frames and crashed the interpreter with four threads), so each thread
    # keeps its own, made on its first call.
    local = threading.local()

    def contexts() -> Any:
        try:
            return local.ctx
        except AttributeError:
            local.ctx = ({name: zstandard.ZstdCompressor(level=lvl) for name, lvl in LEVELS["zstd"].items()},
                         zstandard.ZstdDecompressor())
            return local.ctx

    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        try:
            cctx = contexts()[0][level]
        except KeyError:
            level_of("zstd", level)  # raises with the valid names
            raise
        return cctx.compress(data)

    def d(data: Any) -> bytes:
        return contexts()[1].decompress(data)

    return c, d


def _blosc2() -> tuple[Callable, Callable]:
    import blosc2

    codecs = {"fast": blosc2.Codec.LZ4, "balanced": blosc2.Codec.ZSTD, "max": blosc2.Codec.ZSTD}

    def c(data: Any, level: str = "balanced", typesize: int = 1) -> bytes:
        lvl = level_of("blosc2", level)
        filt = blosc2.Filter.SHUFFLE if typesize > 1 else blosc2.Filter.NOFILTER
        return blosc2.compress(data, typesize=typesize, clevel=lvl, filter=filt, codec=codecs[level])

    def d(data: Any) -> bytes:
        return blosc2.decompress(data)

    return c, d


_LOADERS: dict[str, tuple[Callable, tuple[str, ...], str | None, str]] = {
    "zlib": (_zlib, (), None, "zlib.compress / zlib.decompress"),
    "lz4": (_lz4, ("lz4",), "lz4", "lz4.frame with the content size stored"),
    "zstd": (_zstd, ("zstandard",), "zstandard", "zstandard.ZstdCompressor, content size written"),
    "blosc2": (_blosc2, ("blosc2",), "blosc2", "blosc2 chunk (LZ4 at fast, ZSTD otherwise; shuffle when typesize > 1)"),
    "bz2": (_bz2, (), None, "stdlib bz2"),
    "lzma": (_lzma, (), None, "stdlib lzma (xz container)"),
}

#: Codec names in the registry's order (baseline first).
CODECS = tuple(_LOADERS)


def codec_pair(codec: str) -> tuple[Callable, Callable]:
    """``(compress, decompress)`` of a codec, loading its library on first use."""
    from kit import registry as _registry

    return (
        _registry.backend("compress", codec).implementation(),
        _registry.backend("decompress", codec).implementation(),
    )


def _samples() -> list[tuple[str, bytes]]:
    from kit.payloads import numeric, random_bytes, text

    out = [("empty", b""), ("one byte", b"x"), ("text 64 KiB", text(65536, 1)),
           ("numeric 64 KiB", numeric(65536, 1)), ("random 64 KiB", random_bytes(65536, 1)),
           ("zeros 1 MiB", bytes(1 << 20))]
    from kit._paths import shared_file

    p = shared_file("canterbury", "alice29.txt")
    if p is not None:
        out.append(("canterbury alice29.txt", p.read_bytes()))
    return out


def _compress_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    # The reference for a compressed stream is the original: checked by a
    # round trip through the same codec's decompressor, not by comparing bytes.
    _, d = codec_pair(backend)
    for label, data in _samples():
        for level in LEVEL_NAMES:
            yield f"{label} at {level}", (data, level), _RoundTrip(data, d)


def _decompress_corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    c, _ = codec_pair(backend)
    for label, data in _samples():
        yield label, (c(data, "balanced"),), data


class _RoundTrip:
    """Expected value of a compress call: decompresses to ``original``."""

    def __init__(self, original: bytes, decompress: Callable) -> None:
        self.original, self.decompress = original, decompress


def _compress_equal(result: Any, expected: Any) -> bool:
    if not isinstance(result, bytes):
        return False
    if isinstance(expected, _RoundTrip):
        return expected.decompress(result) == expected.original
    return True


def _decompress_equal(result: Any, expected: Any) -> bool:
    return bytes(result) == expected


def _prepare_compress(data: bytes, backend: str) -> tuple:
    return (data, "balanced")


def _prepare_decompress(data: bytes, backend: str) -> tuple:
    c, _ = codec_pair(backend)
    return (c(data, "balanced"),)


declare_operation(Operation(
    name="compress", category="compression", summary="bytes -> codec stream (balanced level)",
    baseline="zlib", signature="compress(data, level='balanced', typesize=1) -> bytes",
    kinds=("text", "numeric", "random"), prepare=_prepare_compress, equal=_compress_equal,
    contract=CONTRACT, corpus=_compress_corpus,
))
declare_operation(Operation(
    name="decompress", category="compression", summary="codec stream -> original bytes",
    baseline="zlib", signature="decompress(data) -> bytes",
    kinds=("text", "numeric", "random"), prepare=_prepare_decompress, equal=_decompress_equal,
    contract=CONTRACT, corpus=_decompress_corpus,
))


def _declare(codec: str) -> None:
    loader, modules, dist, notes = _LOADERS[codec]
    feats = frozenset({"levels"} | ({"typesize"} if codec == "blosc2" else set()))
    declare_backend(Backend("compress", codec, modules, dist, lambda: loader()[0], feats, notes))
    declare_backend(Backend("decompress", codec, modules, dist, lambda: loader()[1], feats, notes))


for _codec in CODECS:
    _declare(_codec)
