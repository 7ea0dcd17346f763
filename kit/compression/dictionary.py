"""zstd dictionaries: many small, similar inputs compress far better with one than each alone.

A frame compressed with a :class:`Dictionary` is format version 2: flag bit 0
set, codec zstd, and its stored bytes start with the dictionary's 8-byte
:attr:`~Dictionary.id` (its BLAKE2b digest of 8 bytes, ``digest_size=8``; the zstd
frame that follows names it too, by zstd's dictionary id). Decoding such a
frame needs that dictionary, passed as ``decompress(frame, dictionaries=...)``;
without it, :class:`~kit.compression.MissingDictionaryError` says which one
is needed. Dictionaries are not kept anywhere by this module: whoever
compresses with one keeps it (``kit.cache.CompressedTier`` keeps its own).

Examples
--------
>>> from kit.compression import compress, decompress
>>> samples = [b'{"user": %d, "plan": "pro", "tags": ["a", "b"]}' % i for i in range(500)]
>>> d = Dictionary.train(samples, size=1024)
>>> decompress(compress(samples[3], codec="zstd", dictionary=d), dictionaries=[d]) == samples[3]
True
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Mapping

from kit.compression.frame import (
    DICTIONARY_ID_SIZE,
    HEADER_SIZE,
    FrameError,
    MissingDictionaryError,
    as_raw_frame,
    dictionary_id,
    make_frame,
)
from kit.compression.streams import stream_error

__all__ = ["Dictionary", "dictionary_decode", "find_dictionary", "with_dictionary"]


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
    >>> from kit.compression import compress, decompress, frame_info
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

    def compress(self, data: Any, level: str = "balanced") -> bytes:
        """A zstd frame (not a kit frame) of ``data`` compressed with this dictionary.

        Examples
        --------
        >>> d = Dictionary(b"shared words, shared words " * 10)
        >>> d.decompress(d.compress(b"shared words"), 12)
        b'shared words'
        """
        with self._lock:
            cctx = self._cctx.get(level)
            if cctx is None:
                import zstandard

                from kit.registry.codecs import level_of

                cctx = self._cctx[level] = zstandard.ZstdCompressor(level=level_of("zstd", level), dict_data=self._zd)
            return cctx.compress(data)

    def decompress(self, payload: Any, size: int) -> bytes:
        """Decode a zstd frame made with this dictionary, declaring ``size`` bytes, to at most ``size`` bytes.

        Raises
        ------
        FrameError
            The zstd frame declares another size, or names another dictionary.

        Examples
        --------
        >>> d = Dictionary(b"shared words, shared words " * 10)
        >>> d.decompress(d.compress(b"shared"), 6)
        b'shared'
        """
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


def find_dictionary(dictionaries: Any, did: bytes) -> Dictionary | None:
    """The dictionary with id ``did`` among ``dictionaries`` (one, an iterable, or a mapping by id).

    Raises
    ------
    TypeError
        What was found there is not a :class:`Dictionary`.

    Examples
    --------
    >>> d = Dictionary(b"some shared content")
    >>> find_dictionary([d], d.id) is d, find_dictionary({d.id: d}, b"?" * 8)
    (True, None)
    """
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


def dictionary_decode(payload: memoryview, size: int, dictionaries: Any) -> bytes:
    """Decode a version-2 zstd frame's stored bytes (dictionary id, then the zstd frame).

    Raises
    ------
    MissingDictionaryError
        ``dictionaries`` does not hold the one the frame names.
    FrameError
        The zstd frame is damaged or does not match the kit frame.

    Examples
    --------
    >>> d = Dictionary(b"shared words, shared words " * 10)
    >>> dictionary_decode(memoryview(d.id + d.compress(b"shared")), 6, [d])
    b'shared'
    """
    did = bytes(payload[:DICTIONARY_ID_SIZE])
    dictionary = find_dictionary(dictionaries, did)
    if dictionary is None:
        raise MissingDictionaryError(
            f"this frame was compressed with zstd dictionary {did.hex()}, which was not passed "
            "(decompress(frame, dictionaries=...)); dictionaries are kept by whoever compressed with them "
            "(kit.cache.CompressedTier keeps its own in memory and never hands such frames to other tiers)", did)
    try:
        # A Dictionary exists, so zstandard is importable: no availability check.
        return dictionary.decompress(payload[DICTIONARY_ID_SIZE:], size)
    except (FrameError, MemoryError):
        raise
    except Exception as exc:
        raise stream_error("zstd", exc) from exc


def with_dictionary(frame: bytes, data: Any, dictionary: Dictionary, level: str = "balanced") -> bytes | None:
    """``data``, what ``frame`` decodes to, in a frame compressed with ``dictionary``; ``None`` if not smaller.

    The new frame keeps ``frame``'s typesize and its checksum of the
    original (verified when ``data`` was decoded from it, so not computed
    again). It is compared with ``frame`` as it is, or, when ``frame`` itself
    needs a dictionary, with its raw form (:func:`~kit.compression.frame.as_raw_frame`).

    Examples
    --------
    >>> from kit.compression import compress, decompress
    >>> samples = [b'{"order": %d, "status": "shipped", "carrier": "postal"}' % i for i in range(300)]
    >>> d = Dictionary.train(samples, size=1024)
    >>> f = compress(samples[5], codec="raw")
    >>> g = with_dictionary(f, samples[5], d)
    >>> len(g) < len(f), decompress(g, dictionaries=[d]) == samples[5]
    (True, True)
    """
    if dictionary_id(frame) is not None:
        frame = as_raw_frame(frame, data)
    payload = dictionary.compress(data, level)
    if HEADER_SIZE + DICTIONARY_ID_SIZE + len(payload) >= len(frame):
        return None
    return make_frame("zstd", level, frame[8], len(data), frame[18:26], frame[7], payload, dictionary.id)
