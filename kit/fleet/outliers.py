"""The odd one out: which machines' hardware index is an outlier among their peers.

The rule
--------
For each category ``k`` and for the overall index (the category ``"overall"``), take the natural
log of every machine's hardware index, ``x_i = ln I_ik``; all machines of a fleet are placed against
the same reference, so differences of ``x`` between machines do not depend on which reference it
is. Then, for machine ``i``::

    m   = median_j x_j                             (the fleet's typical machine)
    s_i = 1.4826 * median_{j != i} |x_j - m|       (the spread of its peers, the other machines,
                                                    around m: their MAD, scaled to a normal sd;
                                                    used from 4 peers on, else 0)
    t_i = max(z * s_i, ln(1 + min_effect))         (z = 3.5, min_effect = 0.25 by default)

``i`` is **beyond its limit in k** when ``|x_i - m| > t_i``; it is **flagged as an outlier** when it
is beyond its limit in the overall index, and the report names the categories beyond theirs (where
it differs). The direction (slower or faster) is reported.

Why this rule
-------------
* The median and the median absolute deviation are not moved by one odd machine, as a mean and a
  standard deviation are. ``z = 3.5`` on the modified z-score is Iglewicz and Hoaglin's
  recommendation (*How to Detect and Handle Outliers*, 1993).
* **The spread of the peers.** The machine being judged is left out of the MAD (leave-one-out): a
  MAD that includes the odd machine grows with it. With fewer than :data:`SPREAD_PEERS` peers the MAD
  is not used at all: the MAD of two values is half their distance, an estimate of the spread so
  unstable that ``3.5 x 1.4826`` times it hides a 1.5x slower machine behind a 13% difference
  between its two peers.
* **The minimum effect.** A fleet of identical machines has a MAD of a few percent, sometimes
  nearly zero; ``z * s`` alone would then flag a 2% difference. ``t`` is never below
  ``ln(1 + min_effect)``: a machine is called odd only when it is at least 25% faster or 20% slower
  than the fleet's typical machine (the default), above the spread of sequential runs on one
  machine and below the slowdowns worth finding.
* **Flagged on the overall index.** On a shared 2-core machine under load (2 to 4.5 for its 2
  cores), identical local workers scored one after another (``kit fleet drill --clock thread``,
  10 runs) stayed within 19% of the fleet median in the overall index but strayed up to 38% in a
  single category (one operation's throughput moves with what runs on the sibling core); the
  overall index, a geometric mean over categories, is what identical machines agree on. The
  categories beyond their limit are shown beside it: where a flagged machine is slow, or a lead to
  follow on an unflagged one.
* Fewer than :data:`MIN_MACHINES` machines: no peers worth the name, no flag (said so in ``note``).
  The machines' own 95% CIs are shown, not used: they hold the sampling noise of one process, not
  the run-to-run noise that separates identical machines.

Examples
--------
>>> idx = {"a": 1.00, "b": 1.02, "c": 0.98, "d": 0.99, "e": 0.55}
>>> flags = robust_outliers(idx)
>>> [m for m, d in flags.items() if d.flagged]
['e']
>>> flags["e"].direction
'slower'
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["MAD_SCALE", "MIN_EFFECT", "MIN_MACHINES", "OVERALL", "SPREAD_PEERS", "Z", "Deviation", "FleetOutliers",
           "OutlierRule", "fleet_outliers", "robust_outliers"]

#: Modified z-score above which a machine is an outlier (Iglewicz and Hoaglin).
Z = 3.5
#: Smallest relative difference from the fleet's typical machine that counts (25% faster, 20% slower).
MIN_EFFECT = 0.25
#: Fewest machines for a median to compare with.
MIN_MACHINES = 3
#: Fewest peers whose MAD may widen the limit beyond the minimum effect.
SPREAD_PEERS = 4
#: MAD × 1.4826 estimates the standard deviation of normally distributed values.
MAD_SCALE = 1.4826
OVERALL = "overall"


@dataclass(frozen=True)
class OutlierRule:
    """The rule's parameters (see the module docstring).

    Examples
    --------
    >>> OutlierRule().threshold(0.0)  # identical machines: the minimum effect decides
    0.22314355131420976
    """

    z: float = Z
    min_effect: float = MIN_EFFECT
    min_machines: int = MIN_MACHINES
    spread_peers: int = SPREAD_PEERS

    def __post_init__(self) -> None:
        if not (isinstance(self.z, (int, float)) and self.z > 0):
            raise ValueError(f"z must be a positive number, got {self.z!r}")
        if not (isinstance(self.min_effect, (int, float)) and self.min_effect >= 0):
            raise ValueError(f"min_effect must be a number >= 0, got {self.min_effect!r}")
        if not (isinstance(self.min_machines, int) and self.min_machines >= 2):
            raise ValueError(f"min_machines must be an integer >= 2, got {self.min_machines!r}")
        if not (isinstance(self.spread_peers, int) and self.spread_peers >= 2):
            raise ValueError(f"spread_peers must be an integer >= 2, got {self.spread_peers!r}")

    def threshold(self, robust_sd: float) -> float:
        """The largest |log deviation| that is not an outlier, given the fleet's robust sd."""
        return max(self.z * robust_sd, math.log1p(self.min_effect))

    def describe(self) -> str:
        """The rule in one line, for reports."""
        return (f"outlier: overall |ln index - fleet median| > max({self.z:g} x 1.4826 x MAD of the other "
                f"machines (from {self.spread_peers} of them on), ln(1 + {self.min_effect:g})); the same limit per "
                f"category names where; at least {self.min_machines} machines")

    def to_dict(self) -> dict[str, Any]:
        return {"z": self.z, "min_effect": self.min_effect, "min_machines": self.min_machines,
                "spread_peers": self.spread_peers, "rule": self.describe()}


@dataclass(frozen=True)
class Deviation:
    """One machine's index in one category, against the fleet's typical machine."""

    machine: str
    category: str
    value: float
    ci: tuple[float, float] | None
    median: float  # the fleet's typical index (exp of the median log index)
    log_deviation: float  # ln(value / median)
    robust_sd: float
    threshold: float
    flagged: bool
    note: str = ""

    @property
    def direction(self) -> str:
        """``"slower"`` or ``"faster"`` than the fleet's typical machine (``""`` when equal)."""
        if self.log_deviation < 0:
            return "slower"
        return "faster" if self.log_deviation > 0 else ""

    @property
    def robust_z(self) -> float | None:
        """The modified z-score ``|x - m| / (1.4826 MAD)`` (None when the MAD is 0)."""
        return abs(self.log_deviation) / self.robust_sd if self.robust_sd > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "category": self.category, "value": self.value,
                "ci": None if self.ci is None else list(self.ci), "fleet_median": self.median,
                "log_deviation": self.log_deviation, "relative": math.expm1(self.log_deviation),
                "robust_sd": self.robust_sd, "robust_z": self.robust_z,
                "threshold": None if math.isinf(self.threshold) else self.threshold,
                "flagged": self.flagged, "direction": self.direction, "note": self.note}


def robust_outliers(values: Mapping[str, float], cis: Mapping[str, tuple[float, float]] | None = None,
                    rule: OutlierRule | None = None, category: str = OVERALL) -> dict[str, Deviation]:
    """Judge each machine's index in one category: its distance from the fleet median, against its peers' spread.

    Parameters
    ----------
    values : mapping of machine to index
        Positive indexes of one category, one per machine.
    cis : mapping of machine to (low, high), optional
        Each machine's 95% CI, carried into the result for display.
    rule : OutlierRule, optional
    category : str
        Only labels the result.

    Returns
    -------
    dict
        ``{machine: Deviation}`` in the order of ``values``.

    Examples
    --------
    >>> d = robust_outliers({"a": 1.0, "b": 1.08, "c": 0.67})
    >>> d["c"].flagged, d["a"].flagged, round(d["c"].threshold, 3)
    (True, False, 0.223)
    """
    rule = rule or OutlierRule()
    bad = {m: v for m, v in values.items() if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v))}
    if bad:
        raise ValueError(f"indexes must be positive finite numbers, got {bad!r}")
    logs = {m: math.log(v) for m, v in values.items()}
    if not logs:
        return {}
    med = statistics.median(logs.values())
    out = {}
    for m, x in logs.items():
        ci = tuple(cis[m]) if cis and cis.get(m) is not None else None
        if len(logs) < rule.min_machines:
            out[m] = Deviation(m, category, values[m], ci, math.exp(med), x - med, 0.0, math.inf, False,
                               f"{len(logs)} machine(s) measured this: at least {rule.min_machines} needed")
            continue
        peers = [abs(y - med) for p, y in logs.items() if p != m]
        sd = MAD_SCALE * statistics.median(peers) if len(peers) >= rule.spread_peers else 0.0
        thr = rule.threshold(sd)
        out[m] = Deviation(m, category, values[m], ci, math.exp(med), x - med, sd, thr, abs(x - med) > thr)
    return out


@dataclass
class FleetOutliers:
    """The rule applied to every category of a fleet: ``by_machine[machine][category] = Deviation``."""

    rule: OutlierRule
    by_machine: dict[str, dict[str, Deviation]] = field(default_factory=dict)

    def outlier(self, machine: str) -> Deviation | None:
        """The machine's overall deviation when it flags it as an outlier, else None."""
        d = self.by_machine.get(machine, {}).get(OVERALL)
        return d if d is not None and d.flagged else None

    def beyond(self, machine: str) -> list[Deviation]:
        """The categories (not ``"overall"``) in which ``machine`` is beyond its limit."""
        return [d for c, d in self.by_machine.get(machine, {}).items() if c != OVERALL and d.flagged]

    @property
    def machines(self) -> list[str]:
        """Machines flagged as outliers (by their overall index)."""
        return [m for m in self.by_machine if self.outlier(m) is not None]


def fleet_outliers(indexes: Mapping[str, Mapping[str, tuple[float, float, float]]],
                   rule: OutlierRule | None = None) -> FleetOutliers:
    """Apply :func:`robust_outliers` per category to a fleet's hardware indexes.

    Parameters
    ----------
    indexes : mapping
        ``{machine: {category: (value, ci_low, ci_high)}}``; put the overall index under
        ``"overall"``. A machine lacking a category is left out of that category only.

    Examples
    --------
    >>> fleet = {m: {"overall": (v, v * 0.97, v * 1.03), "hashing": (v, v * 0.95, v * 1.05)}
    ...          for m, v in {"n1": 1.0, "n2": 1.03, "n3": 0.99, "n4": 0.6}.items()}
    >>> res = fleet_outliers(fleet)
    >>> res.machines, [d.category for d in res.beyond("n4")]
    (['n4'], ['hashing'])
    """
    rule = rule or OutlierRule()
    cats = list(dict.fromkeys(c for per in indexes.values() for c in per))
    result = FleetOutliers(rule, {m: {} for m in indexes})
    for cat in cats:
        vals = {m: per[cat][0] for m, per in indexes.items() if cat in per}
        cis = {m: (per[cat][1], per[cat][2]) for m, per in indexes.items() if cat in per}
        for m, d in robust_outliers(vals, cis, rule, cat).items():
            result.by_machine[m][cat] = d
    return result
