"""Selection: the backend for one operation and size class, from one run's measurements, and why.

kit moves away from the baseline, or from the stored choice, only for a significant win of at least
5% (:data:`MIN_GAIN`), and never to a backend measured slower than the baseline (:func:`choose`).

Examples
--------
>>> MIN_GAIN
1.05
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any

from kit.stats import geomean_ratio_ci

__all__ = ["Row", "Choice", "MIN_GAIN", "choose"]


@dataclass
class Row:
    """One measured backend on one payload class."""

    operation: str
    size: str
    kind: str
    backend: str
    measurement: Any  # kit.measure.Measurement
    speedup: tuple[float, float, float]  # ratio, CI low, CI high
    baseline: bool

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "size": self.size, "kind": self.kind, "backend": self.backend,
                "baseline": self.baseline, "speedup": self.speedup[0], "speedup_ci": list(self.speedup[1:]),
                **{k: v for k, v in self.measurement.summary().items() if k != "name"}}


#: A contender replaces the baseline or the stored choice only when the 95% CI of its speed-up over
#: it lies wholly above this.
MIN_GAIN = 1.05


@dataclass
class Choice:
    """The outcome of :func:`choose` for one operation and size class."""

    backend: str
    reason: str
    #: The chosen backend's speed-up over the baseline: geometric mean over the payload kinds, 95% CI.
    speedup: tuple[float, float, float]
    switched: bool


def _versus(ref: list[Row], other: list[Row], seed: int) -> tuple[float, float, float]:
    """Speed-up of ``other`` over ``ref`` (same kinds): geometric mean over kinds, joint bootstrap CI."""
    by_kind = {r.kind: r.measurement for r in ref}
    pairs = [(by_kind[r.kind].samples, r.measurement.samples) for r in other if r.kind in by_kind]
    return geomean_ratio_ci(pairs, seed)


def choose(baseline: str, rows: list[Row], stored: str | None = None, *, min_gain: float = MIN_GAIN,
           seed: int = 0) -> Choice:
    """The backend for one operation and size class, from this run's rows, and why.

    The *incumbent* is the stored choice (``stored``) when this run measured it and found it no
    slower than the baseline, else the baseline. A contender replaces it only with a significant win
    of at least ``min_gain``: the 95% bootstrap CI of its speed-up over the incumbent (geometric mean
    over the payload kinds, as the rows were measured interleaved) lies wholly above ``min_gain``,
    and it is no slower than the baseline; among several, the fastest. Otherwise the incumbent stays.
    A contender timed once (far too slow to sample) is never chosen.

    Parameters
    ----------
    baseline : str
        The operation's baseline backend.
    rows : list of Row
        This run's measurements of one operation and size class (every backend, every kind).
    stored : str, optional
        The choice stored in this machine's wisdom.

    Examples
    --------
    >>> from kit.engine.measure import Measurement
    >>> m = lambda name, t: Measurement(name, [t * f for f in (0.98, 1.0, 1.02, 0.99, 1.01)], 1)
    >>> rows = [Row("digest", "small", "random", "sha", m("sha", 2.0), (1, 1, 1), True),
    ...         Row("digest", "small", "random", "b3", m("b3", 1.0), (2, 2, 2), False)]
    >>> choose("sha", rows).backend
    'b3'
    >>> rows[1] = Row("digest", "small", "random", "b3", m("b3", 1.96), (1.02, 1, 1), False)
    >>> choose("sha", rows).backend
    'sha'
    """
    per: dict[str, list[Row]] = collections.defaultdict(list)
    for r in rows:
        if not r.measurement.timed_once:
            per[r.backend].append(r)
    if baseline not in per:
        return Choice(baseline, "the baseline was not measured: kept", (1.0, 1.0, 1.0), False)
    vs_base = {n: (1.0, 1.0, 1.0) if n == baseline else _versus(per[baseline], rs, seed) for n, rs in per.items()}
    incumbent, why_not = baseline, ""
    if stored is not None and stored != baseline:
        if stored not in per:
            why_not = f"the stored {stored} was not measured here; "
        elif not vs_base[stored][0] >= 1.0:
            why_not = f"the stored {stored} measured {vs_base[stored][0]:.2f}x the baseline; "
        else:
            incumbent = stored
    role = "the baseline" if incumbent == baseline else "the stored choice"
    others = {n: _versus(per[incumbent], rs, seed) for n, rs in per.items() if n != incumbent}
    winners = [n for n, (v, lo, _) in others.items() if lo > min_gain and vs_base[n][0] >= 1.0]
    if winners:
        best = max(winners, key=lambda n: (vs_base[n][0], n))
        v, lo, hi = others[best]
        return Choice(best, f"{why_not}{v:.2f}x [{lo:.2f}, {hi:.2f}] over {incumbent} ({role}): a significant win "
                            f"of over {min_gain - 1:.0%}", vs_base[best], True)
    if not others:
        return Choice(incumbent, f"{why_not}kept {incumbent} ({role}): no other backend measured", vs_base[incumbent],
                      False)
    best = max(others, key=lambda n: (others[n][0], n))
    v, lo, hi = others[best]
    if not vs_base[best][0] >= 1.0 and lo > min_gain:
        detail = f"{best} is {v:.2f}x over it but {vs_base[best][0]:.2f}x the baseline"
    else:
        detail = f"best other {best} {v:.2f}x [{lo:.2f}, {hi:.2f}], not a significant {min_gain - 1:.0%} win"
    return Choice(incumbent, f"{why_not}kept {incumbent} ({role}): {detail}", vs_base[incumbent], False)
