"""L2: compressed frames in memory, bounded by compressed bytes, LRU; zstd dictionaries for small values.

Holds more than L1 in the same memory, at the price of a decode on each hit;
the composed cache promotes an L2 hit to L1 and demotes L1's victims here.
The codec is the engine's choice, ``kit.compress(codec="auto")``, unless the
serializer says otherwise. ``stats()`` adds ``raw_bytes`` (the encoded
values' size before compression, frame headers not counted) and
``reduction`` (1 - bytes / raw_bytes, dictionaries counted in bytes).

Small values: a lone value of a few hundred bytes does not shrink (at the
balanced objective it is stored raw: compressing it costs more time than
moving it saves), but a cache holds many similar ones. Once the tier holds
:data:`DICT_TRAIN_AT` entries of at most :data:`DICT_MAX_VALUE` bytes, it
trains a zstd dictionary on them (:class:`kit.compression.Dictionary`),
keeps it if it saves more than its own size on them, re-encodes them with it
and compresses later small entries with it. The frames name their dictionary
(frame format version 2) and the dictionaries live in this tier only: a frame
that leaves the tier (``lookup_blob``, ``on_evict``, ``popitem``) is first
turned back into a standard frame (raw, its checksums kept), so the on-disk
and Redis tiers never receive a frame they could not decode after a restart.
See ``docs/cache.md`` for the thresholds and the measurements behind them.

Examples
--------
>>> from kit.cache import CompressedTier
>>> t = CompressedTier(maxbytes=1 << 20)
>>> t["doc"] = {"text": "word " * 2000}
>>> t["doc"]["text"][:5], t.currsize < 2000
('word ', True)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterator

from kit.cache._blob import BlobTier, zstd_available
from kit.cache._corrupt import report as report_corrupt
from kit.cache._tier import MISSING
from kit.cache.memory import LRUTier
from kit.cache.values import Serializer
from kit.compression import Dictionary, decompress
from kit.compression.dictionary import with_dictionary
from kit.compression.frame import as_raw_frame, declared_size, dictionary_id, is_frame, needs_dictionary

__all__ = ["CompressedTier", "DICT_MAX_VALUE", "DICT_TRAIN_AT", "DICT_SAMPLES", "DICT_SIZE"]

#: Values (encoded) up to this size are compressed with the tier's dictionary.
#: A dictionary's gain is largest on values of a few hundred bytes and fades
#: by tens of KiB, where a value holds enough context of its own.
DICT_MAX_VALUE = 16 << 10
#: Small entries held before the first dictionary is trained. Measured on
#: copy-service responses (~445 bytes encoded, 483 as raw frames; 1000
#: held-out responses, zstd level 3, bytes per entry with the frame header):
#: a dictionary trained on 32 of them gave 200 B, on 64 179 B, on 128 160 B,
#: on 512 149 B, on 1000 147 B. At 64 entries a dictionary (~7 KiB) already
#: pays for itself about twice over, so the first one is trained then and
#: replaced by better ones as the tier grows (:meth:`CompressedTier._maybe_train`).
DICT_TRAIN_AT = 64
#: Most samples a dictionary is trained on: training on 512 responses took
#: 26 ms and gave 69.2%, on 1000 50-60 ms for 69.6%.
DICT_SAMPLES = 512
#: Largest dictionary; a dictionary is at most a quarter of its samples' bytes
#: (16 KiB was the best size from 128 samples up, 8 KiB at 64).
DICT_SIZE = 16 << 10
#: Retrain when entries compressed since the last training came out this much
#: larger, relative to their size, than the training samples did (the values changed).
DICT_DRIFT = 1.25
#: Dictionaries kept at once: entries of older ones are re-encoded with the newest.
DICT_LIVE = 3
#: Most entries re-encoded when a dictionary is adopted (~5 µs each).
DICT_RECODE = 4096


class _FrameLRU(LRUTier):
    """The frames' LRU; tells its owner whenever an entry leaves (delete, expiry, eviction)."""

    def __init__(self, owner: "CompressedTier", *args: Any, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(*args, **kwargs)

    def _removed(self, key: Any) -> None:
        self._owner._forget(key)

    def replace(self, key: Any, blob: bytes) -> None:
        """Swap an entry's frame in place: same recency, same expiry."""
        self._bytes += len(blob) - self._sizes[key]
        self._sizes[key] = len(blob)
        self._data[key] = blob

    def shrink_to(self, maxbytes: int) -> None:
        """Lower (or raise) the byte bound, evicting least recently used entries to meet it."""
        self._maxbytes = max(1, maxbytes)
        while self._data and self._bytes > self._maxbytes:
            self.popitem()


class CompressedTier(BlobTier):
    """L2 tier: frames in an LRU bounded by their compressed size (dictionaries included).

    Thread-safe on its own: every public method holds the tier's lock (an
    ``RLock``), so the frames, their dictionaries and the byte counts change
    together, whoever calls.

    Parameters
    ----------
    maxbytes : int
        Most bytes held: frames plus the dictionaries they use.
    maxsize : int, optional
        Most entries held.
    serializer : Serializer, optional
        Encoding and codec (default ``Serializer()``: no pickle, codec auto).
    timer : callable
        Clock for expiry.
    on_evict : callable, optional
        ``on_evict(key, frame)`` after an eviction; the frame is a standard
        one (never one that needs this tier's dictionary).
    dictionaries : bool
        Train and use zstd dictionaries for small values (default ``True``;
        off when zstandard is not installed).

    Examples
    --------
    >>> t = CompressedTier()
    >>> for i in range(200):
    ...     t[i] = {"order": i, "status": "shipped", "carrier": "postal", "items": ["book", "pen"]}
    >>> d = t.stats()["dictionary"]
    >>> d["version"] >= 1, d["entries_using"] == 200, t[7]["status"]
    (True, True, 'shipped')
    """

    name = "l2"
    policy = "lru"

    def __init__(self, maxbytes: int = 64 << 20, maxsize: int | None = None, *,
                 serializer: Serializer | None = None, timer: Callable[[], float] = time.monotonic,
                 on_evict: Callable[[Any, bytes], None] | None = None, dictionaries: bool = True) -> None:
        super().__init__(serializer=serializer, timer=timer)
        self._lock = threading.RLock()
        self._raw: dict[Any, int] = {}
        self._raw_total = 0
        self._maxbytes = maxbytes
        self._frames = _FrameLRU(self, maxsize, maxbytes, getsizeof=len, timer=timer, on_evict=self._evicted)
        self.on_evict = on_evict
        self.dictionaries = bool(dictionaries) and zstd_available()
        # key -> id of the dictionary its frame uses (None: none), for entries small enough
        # to use one; in order of storing (most recent last): the training samples' pool.
        self._small: OrderedDict[Any, bytes | None] = OrderedDict()
        self._dicts: dict[bytes, Dictionary] = {}  # live dictionaries, oldest first
        self._uses: dict[bytes, int] = {}
        self._retired: set[bytes] = set()
        self._dict_bytes = 0
        self._current: Dictionary | None = None
        self._trained_on = 0  # samples the current dictionary was trained on
        self._since = 0  # small entries stored since the last training (or attempt)
        self._wait = DICT_TRAIN_AT  # ... before the next attempt
        # Frame bytes over encoded bytes of the first DICT_TRAIN_AT small entries stored
        # after a training, and the same sums since (with a count) for the drift test.
        self._base_ratio: float | None = None
        self._recent = [0, 0, 0]
        self.trainings = self.training_failures = 0
        self.training_seconds = 0.0
        self.dictionary_version = 0

    # -- bookkeeping ---------------------------------------------------------------------------

    def _evicted(self, key: Any, blob: bytes) -> None:
        self.evictions += 1
        if self.on_evict is not None:
            try:
                portable = self._portable(blob)
            except Exception as exc:  # damaged: nothing trustworthy to hand on
                report_corrupt(self, key, exc)
                return
            self.on_evict(key, portable)

    def _forget(self, key: Any) -> None:
        self._raw_total -= self._raw.pop(key, 0)
        did = self._small.pop(key, None)
        if did is not None:
            left = self._uses[did] = self._uses[did] - 1
            if left <= 0 and (self._current is None or did != self._current.id):
                # Dropped at the next store, not now: the frame being removed may
                # still be on its way out (popitem, on_evict) and need decoding.
                self._retired.add(did)

    def _release(self) -> None:
        for did in self._retired:
            if self._uses.get(did, 0) <= 0 and did in self._dicts and (
                    self._current is None or did != self._current.id):
                self._dict_bytes -= len(self._dicts.pop(did))
                self._uses.pop(did, None)
        self._retired.clear()
        self._bound()

    def _bound(self) -> None:
        if self._maxbytes is not None:
            self._frames.shrink_to(self._maxbytes - self._dict_bytes)

    @property
    def currsize(self) -> int:
        with self._lock:
            return self._frames.currsize + self._dict_bytes

    @property
    def maxbytes(self) -> int | None:
        return self._maxbytes

    @property
    def maxsize(self) -> int | None:
        return self._frames.maxsize

    # -- frames in and out ---------------------------------------------------------------------

    def _portable(self, blob: bytes) -> bytes:
        """A frame any tier can decode: a dictionary frame becomes a raw one (same checksums)."""
        if not needs_dictionary(blob):
            return blob
        # decompress verifies the data against the original's checksum, which the raw frame keeps.
        return as_raw_frame(blob, decompress(blob, dictionaries=self._dicts, max_size=self.serializer.max_size))

    def lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        with self._lock:
            return self._lookup_blob(key)

    def _lookup_blob(self, key: Any) -> tuple[bytes, float | None] | None:
        frames = self._frames
        if frames.peek(key, MISSING) is MISSING:
            # Absent (a disk hit asks here first): counted as the LRU's lookup would, without the
            # KeyError it raises and catches inside.
            frames.misses += 1
            self.misses += 1
            return None
        expirations = frames.expirations
        found = frames.lookup(key)
        if frames.expirations != expirations:
            self.expirations += frames.expirations - expirations
        if found is None:
            self.misses += 1
            return None
        blob, remaining = found
        if needs_dictionary(blob):
            try:
                blob = self._portable(blob)
            except Exception as exc:  # damaged: a miss and a warning, never wrong data
                report_corrupt(self, key, exc)
                self.misses += 1
                self.discard(key)
                return None
        self.hits += 1
        return blob, remaining

    def store_blob(self, key: Any, blob: bytes, ttl: float | None = None) -> bool:
        with self._lock:
            return self._store_blob(key, blob, ttl)

    def _store_blob(self, key: Any, blob: bytes, ttl: float | None) -> bool:
        if self._maxbytes is not None and len(blob) > self._maxbytes - self._dict_bytes:
            return False
        if self._retired:
            self._release()
        self._forget(key)
        framed = is_frame(blob)
        size = declared_size(blob) if framed else len(blob)
        # A kit frame without a dictionary (the serializer's output): one this tier may re-encode.
        small = self.dictionaries and size <= DICT_MAX_VALUE and framed and not needs_dictionary(blob)
        did = None
        if small and self._current is not None:
            blob, did = self._with_dictionary(blob, self._current)
            recent = self._recent
            recent[0] += len(blob)
            recent[1] += size
            recent[2] += 1
        self._frames.set(key, blob, ttl)
        if self._frames.peek(key, MISSING) is not MISSING:
            self._raw[key] = size
            self._raw_total += size
            if small:
                self._small[key] = did
                if did is not None:
                    self._uses[did] += 1
                self._since += 1
                self._maybe_train()
        self.sets += 1
        return True

    def _with_dictionary(self, blob: bytes, d: Dictionary, data: bytes | None = None) -> tuple[bytes, bytes | None]:
        """The entry compressed with ``d`` if that is smaller than without any dictionary.

        Returns the frame and the id of the dictionary it uses (``None``: a
        standard frame: ``blob`` itself, or its raw form if ``blob`` used a
        dictionary).
        """
        if data is None:
            data = self._plain_bytes(blob)
        if dictionary_id(blob) is not None:
            # decompress verified data against the original's checksum: the raw frame keeps it.
            blob = as_raw_frame(blob, data)
        out = with_dictionary(blob, data, d, self.serializer.level)
        return (blob, None) if out is None else (out, d.id)

    def _plain_bytes(self, blob: bytes) -> bytes:
        """The encoded value a (checked) frame holds."""
        return decompress(blob, dictionaries=self._dicts)

    # -- dictionaries --------------------------------------------------------------------------

    def _maybe_train(self) -> None:
        """Train when there is reason to: the first time, as the tier grows, or when values change.

        * first: :data:`DICT_TRAIN_AT` small entries held;
        * growth: the tier holds 4x the samples the current dictionary was
          trained on, and that was under :data:`DICT_SAMPLES` (64 -> 256 -> 512):
          more samples make a better dictionary;
        * drift: the last :data:`DICT_TRAIN_AT` small entries came out
          :data:`DICT_DRIFT` times larger, relative to their size, than the
          first :data:`DICT_TRAIN_AT` after the training did (the values
          changed).

        A training that fails or does not pay waits for as many new small
        entries again as the tier held (exponential back-off).
        """
        if self._since < self._wait:
            return
        if self._current is None:
            due = len(self._small) >= DICT_TRAIN_AT
        else:
            growth = self._trained_on < DICT_SAMPLES and len(self._small) >= 4 * self._trained_on
            stored, encoded, count = self._recent
            drift = False
            if count >= DICT_TRAIN_AT:
                ratio = stored / encoded if encoded else 1.0
                if self._base_ratio is None:
                    # The reference: the first entries after training (a dictionary
                    # does better on its own samples than on what comes next).
                    self._base_ratio, self._recent = ratio, [0, 0, 0]
                else:
                    drift = ratio > DICT_DRIFT * self._base_ratio
                    self._recent = [0, 0, 0]  # windows of DICT_TRAIN_AT entries
            due = growth or drift
        if due:
            self._train()

    def _train(self) -> None:
        """Train on the most recent small entries; adopt the dictionary if it pays for itself.

        It pays when the bytes it saves on the samples, projected over every
        small entry held (plus the older dictionaries it frees), exceed its
        own size. Adopted, it re-encodes the small entries (at most
        :data:`DICT_RECODE` of them, most recent first) so that older
        dictionaries can be dropped.
        """
        t0 = time.perf_counter()
        self._since = 0
        peek = self._frames.peek
        keys = list(self._small)[-DICT_SAMPLES:]
        samples: list[tuple[Any, bytes, bytes]] = []
        for key in keys:
            try:
                samples.append((key, peek(key), self._plain_bytes(peek(key))))
            except Exception:  # damaged: left for a read to find and report
                continue
        total = sum(len(s[2]) for s in samples)
        size = min(DICT_SIZE, total // 4)
        if self._maxbytes is not None:
            size = min(size, self._maxbytes // 4)
        d = None
        if len(samples) >= 8 and size >= 256:
            try:
                d = Dictionary.train([s[2] for s in samples], size, level=self.serializer.level)
            except ValueError:
                d = None
        adopted = False
        if d is not None:
            encoded = [self._with_dictionary(blob, d, plain) for _, blob, plain in samples]
            saved = sum(len(blob) for _, blob, _ in samples) - sum(len(b) for b, _ in encoded)
            # Re-encoding every small entry frees the dictionaries they use now.
            freed = self._dict_bytes if len(self._small) <= DICT_RECODE else 0
            if saved * len(self._small) / len(samples) + freed > len(d):
                adopted = True
                self._adopt(d, samples, encoded)
        if not adopted:
            self.training_failures += 1
            self._wait = max(DICT_TRAIN_AT, len(self._small))
        self.training_seconds += time.perf_counter() - t0

    def _adopt(self, d: Dictionary, samples: list, encoded: list) -> None:
        self._dicts[d.id] = d
        self._uses[d.id] = 0
        self._dict_bytes += len(d)
        self._current = d
        self._trained_on = len(samples)
        self._base_ratio = None
        self._recent = [0, 0, 0]
        self._wait = DICT_TRAIN_AT
        self.trainings += 1
        self.dictionary_version += 1
        for (key, _, _), (blob, did) in zip(samples, encoded):
            self._recode(key, blob, did)
        # The other small entries, most recent first, up to DICT_RECODE in all.
        done = {key for key, _, _ in samples}
        budget = DICT_RECODE - len(done)
        for key in reversed(list(self._small)):
            if budget <= 0:
                break
            if key in done:
                continue
            budget -= 1
            blob = self._frames.peek(key)
            try:
                self._recode(key, *self._with_dictionary(blob, d))
            except Exception as exc:  # damaged: a warning, and gone
                report_corrupt(self, key, exc)
                self._frames.discard(key)
        # Dictionaries beyond DICT_LIVE (entries past the budget still use them): theirs move too.
        for old in list(self._dicts)[: max(0, len(self._dicts) - DICT_LIVE)]:
            for key in [k for k, v in self._small.items() if v == old]:
                blob = self._frames.peek(key)
                try:
                    self._recode(key, *self._with_dictionary(blob, d))
                except Exception as exc:
                    report_corrupt(self, key, exc)
                    self._frames.discard(key)
        for did in self._dicts:
            if did != d.id and self._uses.get(did, 0) <= 0:
                self._retired.add(did)
        self._release()

    def _recode(self, key: Any, blob: bytes, did: bytes | None) -> None:
        old = self._small.get(key)
        if old is not None:
            self._uses[old] -= 1
            if self._uses[old] <= 0:
                self._retired.add(old)
        self._small[key] = did
        if did is not None:
            self._uses[did] += 1
        self._frames.replace(key, blob)

    # -- mapping (each method holds the tier's lock) ------------------------------------------

    def discard(self, key: Any) -> bool:
        with self._lock:
            return self._frames.discard(key)

    def discard_prefix(self, prefix: str) -> int:
        """Remove every ``str`` key starting with ``prefix``; returns how many.

        Examples
        --------
        >>> t = CompressedTier()
        >>> t["a:1"] = 1; t["a:2"] = 2; t["b:1"] = 3
        >>> t.discard_prefix("a:"), sorted(t)
        (2, ['b:1'])
        """
        with self._lock:
            keys = [k for k in self._frames if isinstance(k, str) and k.startswith(prefix)]
            for k in keys:
                self._frames.discard(k)
            return len(keys)

    def report_damaged(self, key: Any, exc: BaseException) -> None:
        with self._lock:
            super().report_damaged(key, exc)

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return super().__contains__(key)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            if not self._frames.discard(key):
                raise KeyError(key)
            self.deletes += 1

    def popitem(self) -> tuple[Any, Any]:
        with self._lock:
            key, blob = self._frames.popitem()
            blob = self._portable(blob)
        return key, self.serializer.loads(blob)

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter(self._frames)

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def clear(self) -> None:
        """Remove every entry and every dictionary (the next ones are trained afresh)."""
        with self._lock:
            self._frames.clear()
            self._raw.clear()
            self._raw_total = 0
            self._small.clear()
            self._dicts.clear()
            self._uses.clear()
            self._retired.clear()
            self._dict_bytes = 0
            self._current = None
            self._trained_on = self._since = 0
            self._wait = DICT_TRAIN_AT
            self._base_ratio = None
            self._recent = [0, 0, 0]
            self._bound()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            s = super().stats()
            s["raw_bytes"] = self._raw_total
            s["reduction"] = round(1 - self.currsize / self._raw_total, 4) if self._raw_total else None
            s["corrupted"] = self.corrupted
            cur = self._current
            s["dictionary"] = {
                "enabled": self.dictionaries, "version": self.dictionary_version,
                "id": cur.id.hex() if cur is not None else None, "trained_on": self._trained_on,
                "live": len(self._dicts), "bytes": self._dict_bytes,
                "entries_using": sum(self._uses.values()),
                "trainings": self.trainings, "failed_trainings": self.training_failures,
                "training_seconds": round(self.training_seconds, 4)}
            return s
