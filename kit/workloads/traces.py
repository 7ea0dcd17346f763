"""Seeded request traces for cache experiments, and the requests they replay.

A trace is a sequence of key ids in ``[0, distinct)``; key 0 is the most
popular under ``zipf`` and ``hotset``. :func:`copy_requests` gives a
catalogue of distinct copy requests to map the ids to, so a trace replays as
service traffic (``kit load``).

==========  ===================================================================
``zipf``    P(key k) ∝ 1 / (k + 1) ** skew over a finite catalogue: a few keys
            take most requests (web, CDN and API traffic look like this)
``uniform`` every key equally likely: the worst case for a small cache
``hotset``  a hot ``hot_fraction`` of the keys takes ``hot_share`` of the
            requests, uniformly within the hot and the cold set
``scan``    keys 0, 1, ..., distinct-1, 0, 1, ...: a loop larger than an LRU
            cache defeats it
==========  ===================================================================

Examples
--------
>>> from kit.workloads import trace
>>> t = trace(1000, distinct=50, seed=1)
>>> len(t), int(t.min()) >= 0, int(t.max()) < 50
(1000, True, True)
>>> bool((trace(1000, distinct=50, seed=1) == t).all())
True
"""

from __future__ import annotations

from typing import Any

from kit.workloads.copy import LANGUAGES, TONES, USE_CASES, CopyRequest

#: Distributions :func:`trace` draws from.
DISTRIBUTIONS = ("zipf", "uniform", "hotset", "scan")
#: Longest trace: 8 bytes a request (80 MB), about a minute and a half of replay here.
MAX_REQUESTS = 10_000_000
#: Largest catalogue of distinct requests: ~0.6 KB each (measured: 586 B, 0.22 ms to build), 0.6 GB.
MAX_DISTINCT = 1_000_000


def check_size(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, or a ``ValueError`` naming the allowed range.

    Examples
    --------
    >>> check_size("n", 5, 0, 10)
    5
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low:,} to {high:,}, got {value!r}")
    return value


def trace(
    n: int,
    distribution: str = "zipf",
    *,
    distinct: int = 1000,
    skew: float = 1.1,
    seed: int = 0,
    hot_fraction: float = 0.1,
    hot_share: float = 0.9,
) -> Any:
    """Draw ``n`` key ids from a popularity distribution over ``distinct`` keys.

    Parameters
    ----------
    n : int
        Number of requests, at most :data:`MAX_REQUESTS`.
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    distinct : int
        Size of the key catalogue.
    skew : float
        Zipf exponent ``s`` (``zipf`` only; any ``s >= 0``: the catalogue is
        finite, so ``s <= 1`` is allowed, unlike ``numpy.random.zipf``).
    seed : int
        Same arguments and seed, same trace.
    hot_fraction, hot_share : float
        ``hotset`` only: the fraction of keys that are hot and the share of
        requests they receive.

    Returns
    -------
    numpy.ndarray
        ``int64`` key ids of length ``n``.

    Examples
    --------
    >>> t = trace(10_000, "zipf", distinct=1000, skew=1.1, seed=3)
    >>> float((t == 0).mean()) > float((t == 999).mean())
    True
    >>> trace(5, "scan", distinct=3).tolist()
    [0, 1, 2, 0, 1]
    """
    import numpy as np

    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; valid: {', '.join(DISTRIBUTIONS)}")
    check_size("n", n, 0, MAX_REQUESTS)
    check_size("distinct", distinct, 1, MAX_DISTINCT)  # zipf builds a CDF over every key
    rng = np.random.default_rng([seed, DISTRIBUTIONS.index(distribution)])
    if distribution == "scan":
        return np.arange(n, dtype=np.int64) % distinct
    if distribution == "uniform":
        return rng.integers(0, distinct, n, dtype=np.int64)
    if distribution == "hotset":
        if not 0 < hot_fraction < 1 or not 0 <= hot_share <= 1:
            raise ValueError(f"hot_fraction must be in (0, 1) and hot_share in [0, 1], got "
                             f"{hot_fraction!r} and {hot_share!r}")
        hot = min(distinct - 1, max(1, round(distinct * hot_fraction))) if distinct > 1 else 1
        is_hot = rng.random(n) < hot_share
        keys = np.where(is_hot, rng.integers(0, hot, n), rng.integers(hot, max(hot + 1, distinct), n))
        return np.minimum(keys, distinct - 1).astype(np.int64)
    if not skew >= 0:
        raise ValueError(f"skew must be >= 0, got {skew!r}")
    # inverse CDF over the finite catalogue: exact for any skew, one searchsorted
    weights = np.arange(1, distinct + 1, dtype=np.float64) ** -float(skew)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    keys = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(keys, distinct - 1).astype(np.int64)


_SYLLABLES = ("au", "ro", "ra", "no", "va", "lu", "mi", "ze", "ta", "ki", "so", "pe", "li", "ma", "do", "ve")
_FEATURES = {
    "en": ("all-day battery", "water resistance", "a lightweight design", "fast charging", "a quiet motor",
           "recycled materials", "a two-year warranty", "one-touch setup"),
    "es": ("batería para todo el día", "resistencia al agua", "diseño ligero", "carga rápida", "motor silencioso",
           "materiales reciclados", "garantía de dos años", "configuración en un toque"),
    "pt": ("bateria para o dia todo", "resistência à água", "design leve", "carga rápida", "motor silencioso",
           "materiais reciclados", "garantia de dois anos", "configuração com um toque"),
    "fr": ("une batterie pour toute la journée", "une résistance à l'eau", "un design léger", "une charge rapide",
           "un moteur silencieux", "des matériaux recyclés", "une garantie de deux ans", "une installation en un geste"),
}
_AUDIENCES = {
    "en": ("runners", "busy parents", "small teams", ""),
    "es": ("corredores", "familias ocupadas", "equipos pequeños", ""),
    "pt": ("corredores", "famílias ocupadas", "equipes pequenas", ""),
    "fr": ("les coureurs", "les familles pressées", "les petites équipes", ""),
}


def copy_requests(distinct: int, seed: int = 0, *, variants: int = 3) -> list[CopyRequest]:
    """A catalogue of ``distinct`` different copy requests, seeded.

    Requests cover every tone, use case and language, both genders and
    numbers, with or without features and audience.

    Examples
    --------
    >>> reqs = copy_requests(20, seed=1)
    >>> len({r.canonical() for r in reqs})
    20
    >>> copy_requests(20, seed=1) == reqs
    True
    """
    import random

    check_size("distinct", distinct, 0, MAX_DISTINCT)
    r = random.Random(seed * 7_919 + 1)
    out: list[CopyRequest] = []
    seen: set[tuple] = set()
    i = 0
    while len(out) < distinct:
        lang = LANGUAGES[i % len(LANGUAGES)]
        # the index in the name keeps every request distinct, however many are asked for
        name = "".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 3))).capitalize() + f" {i + 1}"
        feats = r.sample(_FEATURES[lang], r.randint(0, 3))
        req = CopyRequest(
            product=name,
            features=tuple(feats),
            audience=r.choice(_AUDIENCES[lang]),
            tone=TONES[r.randrange(len(TONES))],
            use_case=USE_CASES[r.randrange(len(USE_CASES))],
            language=lang,
            variants=variants,
            gender=("masculine", "feminine")[r.randrange(2)],
            number="plural" if r.random() < 0.2 else "singular",
        )
        i += 1
        if req._key not in seen:
            seen.add(req._key)
            out.append(req)
    return out
