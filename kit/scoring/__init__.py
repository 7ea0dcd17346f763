"""The score: measured speed-ups → subscores → a score from 0 to 100, a tier, a hardware index.

One module per job, behind this face:

* :mod:`kit.scoring.formula`: the formula, pure (speed-up → score, tiers, the nested geometric mean
  with its bootstrap CI, the hardware index of two loaded records); ``docs/scoring.md`` repeats it;
* :mod:`kit.scoring.run`: measuring a machine and applying the formula (:func:`score`,
  :func:`summarise`, :func:`stability`, runs pooled from fresh processes);
* :mod:`kit.scoring.result`: :class:`ScoreResult`, its tables and the record it makes;
* :mod:`kit.scoring.claims`: the seeds' claimed figures measured here;
* :mod:`kit.scoring.inject`: a real slowdown of named backends, for showing that validation catches it.

Examples
--------
>>> from kit.scoring import score_from_speedup, tier_of
>>> round(score_from_speedup(1.0), 1), round(score_from_speedup(50.0), 1)
(10.0, 90.0)
>>> tier_of(16.0)
'OPTIMIZED'
"""

from __future__ import annotations

# The formula first: it imports nothing of kit.records, which kit.records.compare relies on.
from kit.scoring.formula import (BELOW, FORMULA, RESAMPLES, TIERS, HardwareIndex, Ratio, nested_geomean,
                                 score_from_speedup, selected_pairs, tier_of, tier_span)
from kit.scoring.inject import injected_slowdown
from kit.scoring.result import (ClassResult, ScoreResult, Subscore, hardware_index, record_from_score,
                                record_notes)
from kit.scoring.run import (MAX_RUNS, PRESET_NAMES, availability, extra_runs, learn_noise, score, stability,
                             summarise)

__all__ = [
    "BELOW",
    "FORMULA",
    "MAX_RUNS",
    "PRESET_NAMES",
    "RESAMPLES",
    "TIERS",
    "ClassResult",
    "HardwareIndex",
    "Ratio",
    "ScoreResult",
    "Subscore",
    "availability",
    "extra_runs",
    "hardware_index",
    "injected_slowdown",
    "learn_noise",
    "nested_geomean",
    "record_from_score",
    "record_notes",
    "score",
    "score_from_speedup",
    "selected_pairs",
    "stability",
    "summarise",
    "tier_of",
    "tier_span",
]
