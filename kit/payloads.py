"""Seeded synthetic payloads: the inputs the engine measures and verifies on.

Every generator is deterministic in ``(kind, size, seed)`` (and its options).
Sizes are targets in bytes of the payload's natural encoding (compact JSON for
JSON documents, the raw buffer for bytes, the column buffers for tables).

=========  ==========================================  =============================
kind       what                                        options
=========  ==========================================  =============================
json       JSON-able records                           ``shape``: flat, nested,
                                                       numeric, strings (non-ASCII)
text       UTF-8 words, exactly ``size`` bytes         ``alphabet``: ascii, unicode
numeric    float64 little-endian bytes                 ``shape``: smooth, noisy,
                                                       integer, random;
                                                       ``as_array``
random     incompressible bytes                        --
table      columns ``key`` (int64), ``value``          ``groups``
=========  ==========================================  =============================

Request traces for cache experiments are in :mod:`kit.workloads.traces`.

Examples
--------
>>> payload("json", 300, seed=2, shape="nested") == payload("json", 300, seed=2, shape="nested")
True
>>> payload("text", 64, seed=1, alphabet="unicode").decode("utf-8") is not None
True
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable

_WORDS = (
    "the of and to in is that for it as with was on be by at this from or an are not "
    "data cache value measure machine speed library backend result sample median faster "
    "slower compress decode encode table column window river mountain coffee morning "
    "research notebook kernel vector matrix signal noise model record signal average"
).split()
_UNICODE = ["café", "naïve", "straße", "日本語", "données", "ação", "Ελληνικά", "😀", "niño", "façade"]


def _rng(seed: int) -> random.Random:
    return random.Random(seed * 1_000_003 + 17)


def _record(r: random.Random, i: int, shape: str) -> dict[str, Any]:
    if shape == "numeric":
        return {"id": i, "x": r.random() * 1e3, "y": r.gauss(0, 1), "z": [r.random() for _ in range(6)]}
    if shape == "strings":
        words = " ".join(r.choice(_WORDS + _UNICODE) for _ in range(r.randint(4, 12)))
        return {"id": str(i), "title": words, "author": r.choice(_UNICODE) + " " + r.choice(_WORDS)}
    if shape == "nested":
        return {
            "id": i,
            "user": {"name": r.choice(_WORDS), "tags": [r.choice(_WORDS) for _ in range(3)]},
            "metrics": {"hits": r.randint(0, 10**6), "ratio": round(r.random(), 6), "ok": r.random() < 0.5},
            "children": [{"k": r.choice(_WORDS), "v": r.randint(-100, 100)} for _ in range(2)],
        }
    # flat records: the common shape of API responses
    return {
        "id": i,
        "name": r.choice(_WORDS) + " " + r.choice(_WORDS),
        "score": round(r.random() * 100, 3),
        "active": r.random() < 0.7,
        "count": r.randint(0, 10**9),
        "note": None if r.random() < 0.2 else r.choice(_UNICODE),
    }


#: Shapes of :func:`json_document`.
JSON_SHAPES = ("flat", "nested", "numeric", "strings")
#: Shapes of :func:`numeric`.
NUMERIC_SHAPES = ("smooth", "noisy", "integer", "random")
#: Alphabets of :func:`text`.
TEXT_ALPHABETS = ("ascii", "unicode")


def _check(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")


def json_document(size: int, seed: int = 0, shape: str = "flat") -> Any:
    """A JSON-able object whose compact encoding is about ``size`` bytes.

    Parameters
    ----------
    size : int
        Target size of the compact UTF-8 encoding, in bytes.
    seed : int
        Same seed, same document.
    shape : str
        One of :data:`JSON_SHAPES`: ``flat`` records (an API response),
        ``nested`` objects, ``numeric`` (floats and arrays of floats),
        ``strings`` (text with non-ASCII characters).

    Examples
    --------
    >>> import json
    >>> doc = json_document(2000, seed=1)
    >>> 1500 < len(json.dumps(doc, separators=(",", ":"))) < 2600
    True
    """
    import json

    _check("JSON shape", shape, JSON_SHAPES)
    r = _rng(seed)
    first = _record(r, 0, shape)
    per = len(json.dumps(first, separators=(",", ":"), ensure_ascii=False).encode()) + 1
    n = max(1, round(size / per))
    records = [first] + [_record(r, i, shape) for i in range(1, n)]
    return {"records": records} if size < 400 and n == 1 else records


def text(size: int, seed: int = 0, alphabet: str = "ascii") -> bytes:
    """Word-like UTF-8 text of exactly ``size`` bytes.

    ``alphabet="unicode"`` mixes in words with accents, CJK, Greek and emoji;
    the result is still valid UTF-8 (a character that would be cut at the end
    is replaced by spaces).

    Examples
    --------
    >>> len(text(100, seed=1, alphabet="unicode"))
    100
    >>> text(20, seed=1)
    b'signal record backen'
    """
    _check("text alphabet", alphabet, TEXT_ALPHABETS)
    r = _rng(seed)
    words = _WORDS if alphabet == "ascii" else _WORDS + _UNICODE * 3
    out: list[str] = []
    total = 0
    while total <= size:  # the joined text is total - 1 bytes: one word more when it would fall short
        w = r.choice(words)
        out.append(w)
        total += len(w.encode()) + 1
    data = " ".join(out).encode()[:size]
    if alphabet != "ascii":
        # never end inside a multi-byte character: keep the bytes valid UTF-8
        head = data.decode("utf-8", errors="ignore").encode()
        data = head + b" " * (size - len(head))
    return data


def numeric(size: int, seed: int = 0, shape: str = "smooth", as_array: bool = False) -> Any:
    """Little-endian float64 data of ``size`` bytes (rounded down to 8, at least one value).

    Parameters
    ----------
    shape : str
        One of :data:`NUMERIC_SHAPES`: ``smooth`` (a sine: compresses well),
        ``noisy`` (a sine plus Gaussian noise), ``integer`` (whole numbers
        0–999 stored as floats), ``random`` (uniform in [0, 1)).
    as_array : bool
        Return the numpy array instead of its bytes.

    Examples
    --------
    >>> len(numeric(80, seed=1, shape="noisy"))
    80
    >>> numeric(24, shape="integer", as_array=True).dtype.str
    '<f8'
    """
    import numpy as np

    _check("numeric shape", shape, NUMERIC_SHAPES)
    n = max(1, size // 8)
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 20 * math.pi, n)
    phase = rng.random() * 2 * math.pi  # the seed moves the wave, so two seeds differ
    if shape == "smooth":
        a = np.sin(t + phase) * 100.0
    elif shape == "noisy":
        a = np.sin(t + phase) * 100.0 + rng.normal(0, 1, n)
    elif shape == "integer":
        a = rng.integers(0, 1000, n).astype(np.float64)
    else:
        a = rng.random(n)
    a = a.astype("<f8")
    return a if as_array else a.tobytes()


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Incompressible bytes.

    Examples
    --------
    >>> random_bytes(4, seed=1) == random_bytes(4, seed=1) != random_bytes(4, seed=2)
    True
    """
    return _rng(seed).randbytes(size)


def table(size: int, seed: int = 0, groups: int | None = None) -> dict[str, Any]:
    """A columnar table (dict of numpy arrays) of about ``size`` bytes.

    Columns: ``key`` (int64, the group; ``groups`` distinct values, by default
    about one per ten rows, at most 1000), ``value`` (float64).

    Examples
    --------
    >>> t = table(1600, seed=1, groups=4)
    >>> len(t["key"]), sorted(set(t["key"].tolist()))
    (100, [0, 1, 2, 3])
    """
    import numpy as np

    n = max(4, size // 16)
    rng = np.random.default_rng(seed)
    g = groups if groups is not None else max(2, min(1000, n // 10))
    return {
        "key": rng.integers(0, g, n, dtype=np.int64),
        "value": np.round(rng.normal(100.0, 15.0, n), 6),
    }


_KINDS: dict[str, Callable[..., Any]] = {
    "json": json_document,
    "text": text,
    "numeric": numeric,
    "random": random_bytes,
    "table": table,
}

KINDS = tuple(_KINDS)


def payload(kind: str, size: int, seed: int = 0, **options: Any) -> Any:
    """Generate a seeded payload of a kind and target size.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    size : int
        Target size in bytes.
    seed : int
        Same seed, same payload.

    Examples
    --------
    >>> payload("random", 16, seed=3) == payload("random", 16, seed=3)
    True
    >>> len(payload("text", 100))
    100
    """
    try:
        gen = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown payload kind {kind!r}; valid kinds: {', '.join(_KINDS)}") from None
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be a non-negative int, got {size!r}")
    return gen(size, seed, **options)
