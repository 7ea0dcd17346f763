"""How contended the machine was while a record was measured, from what the record says.

A verdict cannot tell a slowdown from the load of a contended machine, so validation reads this for
both records (:func:`contention_of`); noise drills read it too.

Examples
--------
>>> contention_of({"schema": "kit.record", "schema_version": 1, "machine": {}, "machine_id": "x",
...                "measurements": [{"operation": "digest", "size": "small", "kind": "random",
...                                  "backend": "hashlib.sha256", "median_s": 1e-6, "raw_s": [1e-6]}],
...                "score": {"value": 10.0, "tier": "STANDARD"}, "preset": "quick"})["level"]
'unknown'
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Mapping

from kit.engine.measure import BUSY_LOAD
from kit.records.store import as_record

__all__ = ["CONTENTION_LEVELS", "LIGHT_LOAD", "contention_of", "was_busy"]

#: The contention levels a record states (``record["contention"]["level"]``).
CONTENTION_LEVELS = ("quiet", "light", "contended", "unknown")
#: One-minute load per core (kit's own process included) above which a record that did not measure
#: its contention reads as lightly loaded; above :data:`kit.engine.measure.BUSY_LOAD` (0.8) as contended.
LIGHT_LOAD = 0.5


def contention_of(record: Any) -> dict[str, Any]:
    """How contended the machine was while a record was measured: ``{"level", "summary", "source"}``.

    A record that measured it carries ``"contention"`` (the share of CPU the measuring thread got,
    CPU pressure, load; :func:`kit.engine.measure.contention_summary`): its ``level`` and ``summary`` are taken
    as they are, unless the level is ``"unknown"``. An older record has only
    the one-minute load average of each measurement (``load_per_core``): their median decides
    (above :data:`kit.engine.measure.BUSY_LOAD` per core contended, above :data:`LIGHT_LOAD` light, else
    quiet; kit's own process counts in it), or the "machine busy" warnings of still older ones.
    Without either the level is ``"unknown"``.

    Examples
    --------
    >>> contention_of({"schema": "kit.record", "schema_version": 1, "machine": {}, "machine_id": "x",
    ...                "measurements": [{"operation": "digest", "size": "small", "kind": "random",
    ...                                  "backend": "hashlib.sha256", "median_s": 1e-6, "raw_s": [1e-6]}],
    ...                "score": {"value": 10.0, "tier": "STANDARD"}, "preset": "quick",
    ...                "contention": {"level": "contended", "summary": "CPU share 0.55"}})["level"]
    'contended'
    """
    rec = as_record(record)
    c = rec.data.get("contention")
    if isinstance(c, Mapping) and c.get("level") in CONTENTION_LEVELS and c["level"] != "unknown":
        return {"level": c["level"], "summary": _contention_words(c), "source": "measured",
                "load_per_core": _num_field(c, "load_per_core"), "others_per_core": _num_field(c, "others_per_core")}
    loads = [float(x) for m in rec.measurements if isinstance(x := m.get("load_per_core"), (int, float))
             and not isinstance(x, bool) and math.isfinite(x)]
    if loads:
        med = statistics.median(loads)
        busy = sum(x > BUSY_LOAD for x in loads)
        level = "contended" if med > BUSY_LOAD else "light" if med > LIGHT_LOAD or busy else "quiet"
        return {"level": level, "source": "load average",
                "summary": f"load {med:.2f} per core (1-minute average, kit included)"
                           + (f", {busy}/{len(loads)} measurements above {BUSY_LOAD:g}" if busy else "")}
    busy = sum(1 for m in rec.measurements if any("machine busy" in w for w in m.get("warnings") or ()))
    if busy:
        return {"level": "contended" if 2 * busy > len(rec.measurements) else "light", "source": "warnings",
                "summary": f"{busy}/{len(rec.measurements)} measurements taken on a busy machine"}
    return {"level": "unknown", "summary": "contention not recorded", "source": None}


def _num_field(c: Mapping[str, Any], name: str) -> float | None:
    x = c.get(name)
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _contention_words(c: Mapping[str, Any]) -> str:
    """A measured contention in a few words, from its fields (the stored ``summary`` as it is otherwise,
    less the ``contention: <level>:`` that the verdict's reason says itself)."""
    share, low, lost = (_num_field(c, k) for k in ("cpu_share_median", "cpu_share_min", "lost_share"))
    psi, load = _num_field(c, "psi_cpu_some"), _num_field(c, "load_per_core")
    words = []
    if share is not None:
        words.append(f"CPU share {share:.0%}" + (f" (min {low:.0%})" if low is not None else ""))
    if lost:
        words.append(f"{lost:.0%} of samples lost it")
    if psi is not None:
        words.append(f"CPU pressure {psi:.2g}%")
    if load is not None:
        words.append(f"load {load:.2f}/core")
    others = _num_field(c, "others_per_core")
    if others:
        words.append(f"other tasks {others:.2f}/core")
    if words:
        return ", ".join(words)
    summary = str(c.get("summary") or c.get("level"))
    for prefix in (f"contention: {c.get('level')}: ", "contention: "):
        summary = summary.removeprefix(prefix)
    return summary


def was_busy(m: dict[str, Any]) -> bool:
    """Whether a stored measurement was taken on a busy machine (older records said so in a warning).

    Examples
    --------
    >>> was_busy({"load_per_core": 1.5}), was_busy({"warnings": ["machine busy: load 1.9"]}), was_busy({})
    (True, True, False)
    """
    load = m.get("load_per_core")
    if load is not None:
        return load > BUSY_LOAD
    return any("machine busy" in w for w in m.get("warnings") or ())
