"""Tiers that hold frames (serialized, maybe compressed values) rather than objects.

L2 (compressed memory), L3 (disk) and Redis store the same bytes: a
:mod:`kit.compress` frame of a :mod:`kit.cache.values` encoding. The composed
cache encodes a value once and hands the frame to each of them
(``store_blob``/``lookup_blob``); used alone, a tier encodes and decodes
itself through its :class:`~kit.cache.values.Serializer`.
"""

from __future__ import annotations

from typing import Any

from kit.cache._corrupt import report as report_corrupt
from kit.cache._tier import Tier
from kit.cache.values import Serializer


class BlobTier(Tier):
    """A tier of frames. Subclasses implement ``lookup_blob``, ``store_blob``, ``discard``."""

    def __init__(self, *, serializer: Serializer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serializer = serializer if serializer is not None else Serializer()
        self.corrupted = 0

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        """``(frame, remaining ttl)`` or ``None`` (a miss, counted)."""
        raise NotImplementedError

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        """Store a frame; ``False`` when the tier declined it (too large, unavailable)."""
        raise NotImplementedError

    def discard(self, key: Any) -> bool:
        """Remove ``key`` if present (no error, not counted as a delete)."""
        raise NotImplementedError

    #: True when ``lookup_blob`` verifies each frame's bytes with its own hash.
    checks_rows = False

    def lookup(self, key: Any) -> tuple[Any, float | None] | None:
        found = self.lookup_blob(key)
        if found is None:
            return None
        blob, remaining = found
        try:
            return self.serializer.loads(blob, self.checks_rows), remaining
        except Exception as exc:  # damaged frame, bad signature, unknown kind: all a miss
            self.report_damaged(key, exc)
            return None

    def report_damaged(self, key: Any, exc: BaseException) -> None:
        """A frame this tier returned as a hit could not be decoded: a miss, a warning, and gone.

        The hit is counted as a miss instead, the entry is removed (an error
        removing it is ignored), and a :class:`~kit.cache.CorruptEntryWarning`
        names the key and the error.

        Examples
        --------
        >>> import warnings
        >>> from kit.cache import CompressedTier
        >>> t = CompressedTier(); t["k"] = 1; _ = t.lookup_blob("k")
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     t.report_damaged("k", ValueError("bad frame"))
        >>> "k" in t, t.hits, t.misses, t.corrupted
        (False, 0, 1, 1)
        """
        report_corrupt(self, key, exc)
        self.hits -= 1
        self.misses += 1
        try:
            self.discard(key)
        except Exception:
            pass

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        self._timed_set(key, value, ttl, self._set_value)

    def _set_value(self, key: Any, value: Any, ttl: float | None) -> None:
        self.store_blob(key, self.serializer.dumps(value), ttl)


def row_check_algorithm() -> str:
    """The 64-bit row check new on-disk stores and Redis tiers pin: ``xxh3_64`` with xxhash, else ``blake2b_64``.

    Examples
    --------
    >>> row_check_algorithm() in ("xxh3_64", "blake2b_64")
    True
    """
    from kit import registry as _registry

    return "xxh3_64" if "xxh3_128" in _registry.available("fingerprint") else "blake2b_64"


def zstd_available() -> bool:
    """Whether zstandard is installed here (the compressed tier's dictionaries need it); nothing is imported.

    Examples
    --------
    >>> isinstance(zstd_available(), bool)
    True
    """
    from kit import registry as _registry

    return "zstd" in _registry.available("compress")
