"""Result records: one run's machine, versions, measurements, score and tier, and their validation.

A record is a JSON document with a versioned schema (``"schema": "kit.record"``,
``"schema_version"``: :data:`SCHEMA_VERSION`), written under ``results/kit/`` so that asv's
per-machine folders under ``results/`` are left alone (asv skips a folder without a
``machine.json``). Records can also be appended to a Parquet table (``results/kit/records.parquet``,
one row per measurement) that polars reads.

:func:`validate` compares a run with a reference record and answers PASS, FAIL or INCONCLUSIVE
(exit status 0, 1, 3), with the reason, to one of two questions: on the same machine, *did its
software regress?* (operation by operation: a two-sided Mann–Whitney U test on the raw per-call
times, p below ``alpha``, 0.002 as in asv, a run-to-run test where a record pooled several runs, and a
minimum effect size, median time ratio beyond ``1 + min_effect``; where the samples are too few for
the U test to reach ``alpha`` at all, non-overlapping 95% CIs of the medians replace it); on another
machine, *does it perform like the reference?* (the hardware index against a tolerance).

Examples
--------
>>> from kit.records import mann_whitney_u
>>> u, p = mann_whitney_u([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6])
>>> u, round(p, 5)
(0.0, 0.00058)
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import statistics
import math
import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from kit._paths import atomic_write, usual_mode
from kit.errors import KitError

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "TOLERANCE",
    "VERDICTS",
    "Comparison",
    "EXIT_CODES",
    "QUESTIONS",
    "Record",
    "RecordError",
    "Validation",
    "append_parquet",
    "as_record",
    "contention_of",
    "find_reference",
    "latest_record",
    "load_record",
    "mann_whitney_u",
    "min_p_value",
    "read_table",
    "record_from_score",
    "results_dir",
    "validate",
    "write_record",
]

SCHEMA = "kit.record"
SCHEMA_VERSION = 1

#: ``{version: function}`` upgrading a record's dict from ``version`` to ``version + 1``.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}

#: Fields every record must have, and fields every measurement must have.
REQUIRED = ("schema_version", "machine", "machine_id", "measurements", "score", "preset")
REQUIRED_MEASUREMENT = ("operation", "size", "kind", "backend", "median_s", "raw_s")

ALPHA = 0.002
#: Level of the run-to-run test. It is a second gate after the per-call test at ALPHA: its job is to
#: let through no shift that the runs' own scatter explains; at 0.002 too (t > 4.5 with 8 degrees of
#: freedom) it would also hide most real 25% changes on a 2-core shared machine.
RUN_ALPHA = 0.01
MIN_EFFECT = 0.10
PARQUET_NAME = "records.parquet"


class RecordError(KitError):
    """A record file that cannot be used: missing, truncated, foreign, or of an unknown schema."""


# --- where records live ----------------------------------------------------------------------------


def results_dir() -> Path:
    """Where records are written: ``KIT_RESULTS_DIR``; else, run from inside kit's own checkout, its
    ``results/kit``; else ``results`` in the user data directory (platformdirs), so that a score run
    in any other folder leaves nothing there.

    Examples
    --------
    >>> results_dir().is_absolute()
    True
    """
    env = os.environ.get("KIT_RESULTS_DIR")
    if env:
        from kit.config import check_folder

        return Path(check_folder("KIT_RESULTS_DIR", env)).expanduser().absolute()
    checkout = _checkout_results()
    if checkout is not None and Path.cwd().resolve().is_relative_to(checkout.parent.parent):
        return checkout
    from platformdirs import user_data_dir

    return Path(user_data_dir("kit", appauthor=False)) / "results"


def _checkout_results() -> Path | None:
    """``results/kit`` of the source checkout kit runs from, if it is one."""
    from kit._paths import PROJECT_ROOT as root

    if (root / "pyproject.toml").is_file() and (root / "results" / "kit").is_dir():
        return root / "results" / "kit"
    return None


def find_reference(directory: Any = None, machine_id: str | None = None, preset: str | None = None) -> Path | None:
    """The reference record to compare with: ``reference-*.json`` in the results folder.

    Looks in ``directory`` (default :func:`results_dir`, then the source checkout's
    ``results/kit``) and prefers, in this order, a reference of ``machine_id`` (default: this
    machine) and of ``preset`` (its file name ends in ``-<preset>.json``), then the newest.

    Examples
    --------
    >>> find_reference("/nonexistent") is None
    True
    """
    from kit.machine import fingerprint_id

    want = machine_id or fingerprint_id()
    dirs = [Path(directory)] if directory is not None else [results_dir()]
    if directory is None and (c := _checkout_results()) is not None and c.resolve() != dirs[0].resolve():
        dirs.append(c)
    for d in dirs:
        found = list(d.glob("reference-*.json")) if d.is_dir() else []
        if found:
            return max(found, key=lambda p: (want in p.name, preset is not None and p.stem.endswith(f"-{preset}"),
                                             p.stat().st_mtime, p.name))
    return None


def latest_record(directory: Any = None) -> Path:
    """The newest record (not a reference) in ``directory`` (default :func:`results_dir`).

    Examples
    --------
    >>> latest_record("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    RecordError: /nonexistent: no kit record (*.json) in this folder
    """
    d = Path(directory) if directory is not None else results_dir()
    found = [p for p in (d.glob("*.json") if d.is_dir() else []) if not p.name.startswith("reference-")]
    if not found:
        raise RecordError(f"{d}: no kit record (*.json) in this folder; run `kit score` first")
    return max(found, key=lambda p: (p.stat().st_mtime, p.name))


# --- the record --------------------------------------------------------------------------------------


class Record:
    """A loaded (or freshly built) result record: a dict in the current schema, and where it came from.

    Examples
    --------
    >>> r = Record({"schema": "kit.record", "schema_version": 1, "machine": {}, "machine_id": "x",
    ...             "measurements": [], "score": {"tier": "STANDARD"}, "preset": "quick"})
    >>> r.tier
    'STANDARD'
    """

    def __init__(self, data: dict[str, Any], path: Path | None = None, migrated_from: int | None = None) -> None:
        self.data = data
        self.path = path
        self.migrated_from = migrated_from

    @property
    def name(self) -> str:
        if self.path is not None:
            return str(self.path)
        return str(self.data.get("id") or "record")

    @property
    def machine(self) -> dict[str, Any]:
        return self.data.get("machine") or {}

    @property
    def machine_id(self) -> str:
        return str(self.data.get("machine_id", ""))

    @property
    def measurements(self) -> list[dict[str, Any]]:
        return list(self.data.get("measurements") or [])

    @property
    def tier(self) -> str | None:
        return (self.data.get("score") or {}).get("tier")

    @property
    def score(self) -> float | None:
        return (self.data.get("score") or {}).get("value")

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def __repr__(self) -> str:
        s = self.data.get("score") or {}
        return (f"Record({self.name!r}, machine={self.machine.get('cpu')!r}, preset={self.data.get('preset')!r}, "
                f"score={s.get('value')!r}, tier={s.get('tier')!r})")


def _git_commit() -> dict[str, Any] | None:
    from kit._paths import PROJECT_ROOT as root

    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(dirty)} if sha else None


def record_from_score(result: Any) -> Record:
    """Build the record of a :class:`kit.scoring.ScoreResult`.

    Examples
    --------
    >>> import kit
    >>> rec = kit.score(operations=["fingerprint"], sizes=["small"], claims=False).to_record()  # doctest: +SKIP
    >>> rec.data["schema_version"]  # doctest: +SKIP
    1
    """
    import kit
    from kit import registry as _registry
    from kit.machine import describe, fingerprint_id
    from kit.scoring import FORMULA

    bench = result.bench
    machine = {**describe(), **bench.machine}
    machine.pop("executable", None)
    mid = fingerprint_id(bench.machine)
    created = bench.started or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    stamp = created.replace("-", "").replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    state = {(c.operation, c.size, c.kind): c for c in result.classes}
    measurements = []
    for r in bench.rows:
        c = state.get((r.operation, r.size, r.kind))
        d = r.to_dict()
        d["category"] = _registry.operation(r.operation).category
        d["selected"] = bench.selected.get(r.operation, {}).get(r.size) == r.backend
        d["attempts"] = c.attempts if c else 1
        d["noisy"] = bool(c.noisy) if c else False
        runs = result.run_medians.get((r.operation, r.size, r.kind, r.backend))
        if runs and len(runs) > 1:  # one run's median is the record's median already
            d["run_medians_s"] = list(runs)
        measurements.append(d)
    data = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "id": f"{stamp}-{mid}",
        "created": created,
        "kit_version": kit.__version__,
        "git": _git_commit(),
        "preset": bench.preset,
        "runs": result.runs,
        "seconds": result.seconds or bench.seconds,
        "machine": machine,
        "machine_id": mid,
        "libraries": _registry.libraries(),
        "availability": {"available": result.availability[0], "declared": result.availability[1],
                         "text": result.availability_text},
        "injected_slowdown": dict(result.injected),
        "score": {
            "value": result.score, "ci": list(result.score_ci), "speedup": result.speedup,
            "speedup_ci": list(result.speedup_ci), "tier": result.tier, "tier_note": result.tier_note,
            "formula": FORMULA, "retries": result.retries, "noisy": result.noisy,
        },
        "subscores": {k: v.to_dict() for k, v in result.subscores.items()},
        "hardware_index": None if result.hardware is None else result.hardware.to_dict(),
        "hardware_note": result.hardware_note,
        "selected": bench.selected,
        "classes": [{"operation": c.operation, "category": c.category, "size": c.size, "kind": c.kind,
                     "baseline": c.baseline, "backend": c.backend, "speedup": c.speedup[0],
                     "speedup_ci": list(c.speedup[1:]), "attempts": c.attempts, "noisy": c.noisy}
                    for c in result.classes],
        "measurements": measurements,
        "verification": {op: {b: {"ok": v.ok, "problems": len(v.problems)} for b, v in per.items()}
                         for op, per in bench.verification.items()},
        "claims": None if result.claims is None else [c.to_dict() for c in result.claims],
    }
    return Record(data)


def write_record(record: Any, directory: Any = None, name: str | None = None) -> Path:
    """Write a record as JSON (atomically) and return its path.

    Parameters
    ----------
    record : Record, dict or ScoreResult
    directory : path-like, optional
        Default :func:`results_dir`; created when missing.
    name : str, optional
        File name; default ``<id>.json`` (UTC time and machine id).

    Examples
    --------
    >>> p = write_record(res.to_record(), "/tmp/kit-results")  # doctest: +SKIP
    """
    rec = as_record(record)
    d = Path(directory) if directory is not None else results_dir()
    d.mkdir(parents=True, exist_ok=True)
    fname = name or f"{rec.data.get('id') or 'record'}.json"
    if not fname.endswith(".json"):
        raise RecordError(f"a record's file name must end in .json, got {fname!r}")
    path = d / fname
    atomic_write(path, json.dumps(rec.data, indent=1, allow_nan=False, default=_jsonable) + "\n",
                 mode=usual_mode())
    rec.path = path
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a record")


def _foreign_hint(data: Any) -> str:
    if isinstance(data, dict):
        if "benchmark_version" in data or ("results" in data and "commit_hash" in data):
            return " (it looks like an asv result file)"
        if "machine" in data and "version" in data and len(data) <= 12 and "measurements" not in data:
            return " (it looks like an asv machine.json)"
        if "benchmarks" in data and "metadata" in data:
            return " (it looks like a pyperf file)"
    return ""


#: Largest record file read (a record of the full preset is ~1 MB): /dev/zero or a huge file is refused.
MAX_RECORD_BYTES = 64 << 20


def _read_record_text(p: Path) -> str:
    """The text of a record file: a regular file, bounded in size, read without blocking.

    The file type is checked before opening: a FIFO would block ``open`` until a writer
    came, a device like ``/dev/zero`` never ends; the read is bounded in case the file
    grows meanwhile.
    """
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise RecordError(f"{p}: no such file") from None
    except OSError as exc:
        raise RecordError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise RecordError(f"{p}: is a folder, expected a record file (*.json)")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a character device"
                if stat.S_ISCHR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise RecordError(f"{p}: is {kind}, expected a record file (*.json)")
    if st.st_size > MAX_RECORD_BYTES:
        raise RecordError(f"{p}: {st.st_size} bytes, larger than any kit record (at most {MAX_RECORD_BYTES}); "
                          "expected a record file (*.json)")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced between stat and open
                raise RecordError(f"{p}: not a regular file, expected a record file (*.json)")
            raw = f.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise RecordError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"{p}: larger than any kit record (at most {MAX_RECORD_BYTES} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{p}: not a text file, expected a kit record (JSON)") from None


def load_record(path: Any) -> Record:
    """Read a record, migrating an older schema version; one clear error naming the file otherwise.

    Raises
    ------
    RecordError
        The file is missing, not a regular file (a folder, a FIFO, a device), larger than
        :data:`MAX_RECORD_BYTES`, unreadable, truncated, nested too deeply or not JSON, not a kit
        record, of a newer schema version, of an older one with no migration, lacks required
        fields or has a field of the wrong type (a score that is NaN or a string, boolean or
        non-finite samples, no measurements).

    Examples
    --------
    >>> load_record("missing.json")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    RecordError: missing.json: no such file
    """
    p = Path(path)
    text = _read_record_text(p)
    if not text.strip():
        raise RecordError(f"{p}: empty file, expected a kit record (JSON)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        what = "truncated" if _ends_open(text) else "not valid JSON"
        raise RecordError(f"{p}: {what} at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise RecordError(f"{p}: JSON nested too deeply to be a kit record") from None
    return _from_data(data, p)


def _ends_open(text: str) -> bool:
    """Whether JSON text stops inside a string, object or array (a cut file), not at a bad character."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0


def _from_data(data: Any, path: Path | None) -> Record:
    where = str(path) if path is not None else "record"
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise RecordError(f"{where}: not a kit result record (expected 'schema': {SCHEMA!r}, got "
                          f"{got!r}){_foreign_hint(data)}")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordError(f"{where}: 'schema_version' must be an integer, got {version!r}")
    migrated_from = None
    if version > SCHEMA_VERSION:
        raise RecordError(f"{where}: written by a newer kit (schema version {version}; this kit reads up to "
                          f"{SCHEMA_VERSION}): upgrade kit to read it")
    if version < SCHEMA_VERSION:
        migrated_from = version
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise RecordError(f"{where}: schema version {version} cannot be migrated to {SCHEMA_VERSION} "
                                  f"(no migration from version {version}); re-run `kit score` to make a new record")
            data = step(dict(data))
            version += 1
            data["schema_version"] = version
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise RecordError(f"{where}: missing field{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(repr(k) for k in missing)} (is the file complete?)")
    _check_shape(where, data)
    for i, m in enumerate(data["measurements"]):
        lacking = [k for k in REQUIRED_MEASUREMENT if not isinstance(m, dict) or k not in m]
        if lacking:
            raise RecordError(f"{where}: measurement {i} lacks {', '.join(repr(k) for k in lacking)}")
        for k in ("operation", "size", "kind", "backend"):
            if not isinstance(m[k], str):
                raise RecordError(f"{where}: measurement {i}: {k!r} must be a string, got {_short(m[k])}")
        if not _seconds(m["raw_s"]):
            raise RecordError(f"{where}: measurement {i} ({m['operation']} {m['backend']}) has no valid raw "
                              f"samples (expected a list of positive finite seconds, got {_short(m['raw_s'])})")
        if not _number(m["median_s"]) or m["median_s"] <= 0:
            raise RecordError(f"{where}: measurement {i} ({m['operation']} {m['backend']}): 'median_s' must be "
                              f"positive finite seconds, got {_short(m['median_s'])}")
        runs = m.get("run_medians_s")
        if runs is not None and not _seconds(runs):
            raise RecordError(f"{where}: measurement {i} ({m['operation']} {m['backend']}) has invalid "
                              f"'run_medians_s' (expected a list of positive seconds, got {_short(runs)})")
        for k in ("speedup", "ci_low_s", "ci_high_s", "cv"):
            if m.get(k) is not None and not _number(m[k]):
                raise RecordError(f"{where}: measurement {i} ({m['operation']} {m['backend']}): {k!r} must be "
                                  f"a finite number, got {_short(m[k])}")
    return Record(data, path, migrated_from)


def _number(x: Any) -> bool:
    """A finite int or float (not a bool, not NaN or infinity)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _seconds(xs: Any) -> bool:
    return isinstance(xs, list) and bool(xs) and all(_number(x) and x > 0 for x in xs)


def _pair(x: Any) -> bool:
    return isinstance(x, list) and len(x) == 2 and all(v is None or _number(v) for v in x)


def _check_shape(where: str, data: dict[str, Any]) -> None:
    """The types of the fields that reports and validation read; one error naming the first wrong one."""

    def bad(field: str, expected: str, got: Any) -> RecordError:
        return RecordError(f"{where}: {field} must be {expected}, got {_short(got)} (is the file damaged?)")

    for k in ("machine_id", "preset"):
        if not isinstance(data[k], str):
            raise bad(repr(k), "a string", data[k])
    if not isinstance(data["machine"], dict):
        raise bad("'machine'", "an object", data["machine"])
    if not isinstance(data["measurements"], list):
        raise bad("'measurements'", "a list", data["measurements"])
    if not data["measurements"]:
        raise RecordError(f"{where}: the record has no measurements, so there is nothing to validate or show "
                          "(was the run interrupted?)")
    s = data["score"]
    if not isinstance(s, dict):
        raise bad("'score'", "an object with 'value' and 'tier'", s)
    if not _number(s.get("value")):
        raise bad("score.value", "a finite number", s.get("value"))
    if not isinstance(s.get("tier"), str):
        raise bad("score.tier", "a string", s.get("tier"))
    for k in ("speedup",):
        if k in s and not _number(s[k]):
            raise bad(f"score.{k}", "a finite number", s[k])
    for k in ("ci", "speedup_ci"):
        if s.get(k) is not None and not _pair(s[k]):
            raise bad(f"score.{k}", "a pair of numbers", s[k])
    for name, kind in (("subscores", dict), ("hardware_index", dict), ("classes", list), ("claims", list),
                       ("libraries", dict), ("availability", dict), ("selected", dict), ("git", dict)):
        if data.get(name) is not None and not isinstance(data[name], kind):
            raise bad(repr(name), "an object" if kind is dict else "a list", data[name])
    for k, v in (data.get("subscores") or {}).items():
        if not isinstance(v, dict) or not all(_number(v.get(f)) for f in ("speedup", "score")):
            raise bad(f"subscores.{k}", "an object with numeric 'speedup' and 'score'", v)
    for i, c in enumerate(data.get("classes") or []):
        if not isinstance(c, dict) or not all(isinstance(c.get(f), str) for f in ("operation", "size", "kind",
                                                                                  "backend")):
            raise bad(f"classes[{i}]", "an object naming operation, size, kind and backend", c)
        if c.get("speedup") is not None and not _number(c["speedup"]):
            raise bad(f"classes[{i}].speedup", "a finite number", c["speedup"])
    hw = data.get("hardware_index")
    if hw:
        if not _number(hw.get("value")) or (hw.get("ci") is not None and not _pair(hw["ci"])) or (
                hw.get("categories") is not None and not isinstance(hw["categories"], dict)):
            raise bad("'hardware_index'", "an object with a numeric 'value' (and a 'ci' pair)", hw)
    for i, c in enumerate(data.get("claims") or []):
        if not isinstance(c, dict) or not _number(c.get("claimed")) or not isinstance(c.get("title"), str) \
                or not isinstance(c.get("unit"), str) or not isinstance(c.get("seeds"), list):
            raise bad(f"claims[{i}]", "an object with 'title', 'claimed', 'unit' and 'seeds'", c)
        if c.get("measured") is not None and not _number(c["measured"]):
            raise bad(f"claims[{i}].measured", "a finite number", c["measured"])


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= 50 else s[:47] + "..."


def as_record(obj: Any) -> Record:
    """A :class:`Record` from a Record, a ScoreResult, a dict in the record schema, or a path.

    Examples
    --------
    >>> as_record("missing.json")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    RecordError: missing.json: no such file
    """
    if isinstance(obj, Record):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return load_record(obj)
    if isinstance(obj, dict):
        return _from_data(obj, None)
    if hasattr(obj, "to_record"):
        return obj.to_record()
    raise TypeError(f"expected a Record, a ScoreResult, a record dict or a path, got {type(obj).__name__}")


# --- the Parquet table -------------------------------------------------------------------------------


def _table_rows(rec: Record) -> list[dict[str, Any]]:
    d = rec.data
    s = d.get("score") or {}
    hw = d.get("hardware_index") or {}
    git = d.get("git") or {}
    base = {
        "record_id": d.get("id"), "created": d.get("created"), "machine_id": d.get("machine_id"),
        "cpu": (d.get("machine") or {}).get("cpu"), "cores": (d.get("machine") or {}).get("cores"),
        "kit_version": d.get("kit_version"), "git_commit": git.get("commit"), "preset": d.get("preset"),
        "schema_version": d.get("schema_version"), "score": s.get("value"),
        "score_ci_low": (s.get("ci") or [None, None])[0], "score_ci_high": (s.get("ci") or [None, None])[1],
        "score_speedup": s.get("speedup"), "tier": s.get("tier"), "hardware_index": hw.get("value"),
        "injected": bool(d.get("injected_slowdown")),
    }
    out = []
    for m in d["measurements"]:
        ci = m.get("speedup_ci") or [None, None]
        out.append({**base, "operation": m["operation"], "category": m.get("category"), "size": m["size"],
                    "kind": m["kind"], "backend": m["backend"], "baseline": bool(m.get("baseline")),
                    "selected": bool(m.get("selected")), "speedup": m.get("speedup"),
                    "speedup_ci_low": ci[0], "speedup_ci_high": ci[1], "median_s": m["median_s"],
                    "ci_low_s": m.get("ci_low_s"), "ci_high_s": m.get("ci_high_s"), "cv": m.get("cv"),
                    "samples": len(m["raw_s"]), "loops": m.get("loops"), "nbytes": m.get("nbytes"),
                    "throughput_Bps": m.get("throughput_Bps"), "attempts": m.get("attempts", 1),
                    "noisy": bool(m.get("noisy")), "raw_s": [float(x) for x in m["raw_s"]]})
    return out


def append_parquet(record: Any, path: Any = None) -> Path:
    """Append a record to the Parquet table (one row per measurement); returns the table's path.

    Appending the same record twice replaces its rows. The table is rewritten atomically; read it
    with ``polars.read_parquet(path)`` or :func:`read_table`.

    Examples
    --------
    >>> append_parquet(res.to_record(), "/tmp/kit-results/records.parquet")  # doctest: +SKIP
    PosixPath('/tmp/kit-results/records.parquet')
    """
    import polars as pl

    rec = as_record(record)
    p = Path(path) if path is not None else results_dir() / PARQUET_NAME
    p.parent.mkdir(parents=True, exist_ok=True)
    new = pl.DataFrame(_table_rows(rec), infer_schema_length=None)
    if p.exists():
        old = read_table(p)
        if "record_id" in old.columns:
            old = old.filter(pl.col("record_id") != rec.data.get("id"))
        new = pl.concat([old, new], how="diagonal_relaxed")
    buf = io.BytesIO()
    new.write_parquet(buf)
    atomic_write(p, buf.getvalue(), mode=usual_mode())
    return p


def read_table(path: Any = None) -> Any:
    """The Parquet table of records as a polars DataFrame.

    Examples
    --------
    >>> read_table("/tmp/kit-results/records.parquet").columns[:3]  # doctest: +SKIP
    ['record_id', 'created', 'machine_id']
    """
    import polars as pl

    p = Path(path) if path is not None else results_dir() / PARQUET_NAME
    if not p.exists():
        raise RecordError(f"{p}: no such file")
    try:
        return pl.read_parquet(p)
    except Exception as exc:  # polars raises several error types for a damaged file
        raise RecordError(f"{p}: not a readable Parquet table ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


# --- the statistical test ----------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) and the sizes of tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _u_distribution(n1: int, n2: int) -> list[int]:
    """Counts of arrangements giving each U in ``0..n1*n2`` (Gaussian binomial coefficients)."""
    poly = [1]
    for i in range(1, n1 + 1):
        # times (1 - q^(n2+i)), then divided by (1 - q^i): stays an exact polynomial.
        m = n2 + i
        grown = poly + [0] * m
        for k in range(len(grown) - 1, m - 1, -1):
            grown[k] -= grown[k - m]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        while len(grown) > 1 and grown[-1] == 0:
            grown.pop()
        poly = grown
    return poly + [0] * (n1 * n2 + 1 - len(poly))


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the exact U test can give for samples of ``n1`` and ``n2``.

    Examples
    --------
    >>> round(min_p_value(5, 5), 4)
    0.0079
    """
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def mann_whitney_u(x: Sequence[float], y: Sequence[float], method: str = "auto") -> tuple[float, float]:
    """Two-sided Mann–Whitney U test: ``(U of x, p-value)``.

    Parameters
    ----------
    x, y : sequences of float
    method : {"auto", "exact", "asymptotic"}
        ``exact`` counts the distribution of U (valid without ties); ``asymptotic`` is the normal
        approximation with tie and continuity corrections; ``auto`` (as scipy's ``mannwhitneyu``)
        is exact when there are no ties and both samples have at most 50 values.

    Examples
    --------
    >>> mann_whitney_u([1, 2, 3], [4, 5, 6])
    (0.0, 0.1)
    """
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    n1, n2 = len(x), len(y)
    if n1 < 1 or n2 < 1:
        raise ValueError(f"both samples need at least one value, got {n1} and {n2}")
    values = [float(v) for v in x] + [float(v) for v in y]
    if any(math.isnan(v) for v in values):
        raise ValueError("samples contain NaN")
    ranks, ties = _ranks(values)
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u_small = min(u1, n1 * n2 - u1)
    if method == "exact" and ties:
        raise ValueError(f"the exact test needs samples without ties, got {len(ties)} tied group(s)")
    if method == "exact" or (method == "auto" and not ties and max(n1, n2) <= 50):
        counts = _u_distribution(n1, n2)
        total = math.comb(n1 + n2, n1)
        p = 2 * sum(counts[: int(round(u_small)) + 1]) / total
        return u1, min(1.0, p)
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:
        return u1, 1.0
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


# --- validation --------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One operation × size × kind × backend compared with the reference.

    ``ratio`` is this run's median time over the reference's (above 1: slower here). ``run_p`` and
    ``detectable`` come from the run-to-run test (None when neither record has several runs):
    its p-value, and the smallest change of the median that this measurement's run-to-run noise lets
    the test see. ``counted`` is False for a measurement outside the validation's scope (by default
    the baselines and the selected backends count; the others are shown, not counted).
    """

    operation: str
    size: str
    kind: str
    backend: str
    ref_median: float
    median: float
    ratio: float
    p_value: float | None
    method: str
    verdict: str
    n_ref: int
    n: int
    selected: bool = False
    counted: bool = True
    run_p: float | None = None
    detectable: float | None = None
    runs_ref: int = 1
    runs: int = 1

    @property
    def key(self) -> str:
        return f"{self.operation} {self.size} {self.kind} {self.backend}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("operation", "size", "kind", "backend", "ref_median", "median",
                                              "ratio", "p_value", "method", "verdict", "n_ref", "n", "selected",
                                              "counted", "run_p", "detectable", "runs_ref", "runs")}


REGRESSION, IMPROVEMENT, SAME = "regression", "improvement", "no change"
#: Per-measurement differences between two machines (the hardware question): information, not verdicts.
SLOWER_HERE, FASTER_HERE = "slower here", "faster here"

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
#: The verdicts of a validation.
VERDICTS = (PASS, FAIL, INCONCLUSIVE)
#: The exit status of ``kit validate`` for each verdict; 2 stays a usage error or an unusable record,
#: as for every kit command.
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}
#: The two questions a validation answers, in words: the same machine's software, or another machine.
QUESTIONS = {"software": "did this machine's software regress?",
             "hardware": "does this machine perform like the reference?"}
#: How much slower than the reference another machine may be and still perform like it: its hardware
#: index must not lie wholly below ``1 - TOLERANCE``, nor any category's. Identical machines under
#: ordinary load differ by up to 13% overall (the fleet drill), so 20% leaves that room and still
#: fails a machine a quarter slower.
TOLERANCE = 0.20
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
    ...                "measurements": [], "score": {}, "preset": "quick",
    ...                "contention": {"level": "contended", "summary": "CPU share 0.55"}})["level"]
    'contended'
    """
    from kit.engine.measure import BUSY_LOAD

    rec = as_record(record)
    c = rec.data.get("contention")
    if isinstance(c, Mapping) and c.get("level") in CONTENTION_LEVELS and c["level"] != "unknown":
        return {"level": c["level"], "summary": _contention_words(c), "source": "measured",
                "load_per_core": _num_field(c, "load_per_core")}
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
    if words:
        return ", ".join(words)
    summary = str(c.get("summary") or c.get("level"))
    for prefix in (f"contention: {c.get('level')}: ", "contention: "):
        summary = summary.removeprefix(prefix)
    return summary


@dataclass
class Validation:
    """A run compared with a reference record, and the verdict: PASS, FAIL or INCONCLUSIVE, with why.

    ``question`` is what the verdict answers: ``"software"`` (the same machine: did its software
    regress?) or ``"hardware"`` (another machine: does it perform like the reference?).
    ``exit_code`` is :data:`EXIT_CODES` of the verdict (0, 1, 3), for CI; ``ok`` is True on PASS.
    """

    record: str
    reference: str
    comparisons: list[Comparison]
    only_here: list[str]
    only_reference: list[str]
    alpha: float
    min_effect: float
    relative: bool
    tier: str | None
    reference_tier: str | None
    score: float | None
    reference_score: float | None
    machine_differences: list[tuple[str, Any, Any]]
    library_differences: list[tuple[str, Any, Any]]
    hardware: Any = None  # kit.scoring.HardwareIndex
    notes: list[str] = field(default_factory=list)
    scope: str = "selected"
    run_noise: float | None = None  # typical run-to-run sd of log medians (the moderated test's s0)
    run_alpha: float = RUN_ALPHA
    machine_slower: bool = False  # same machine, hardware index's CI wholly below 1 / (1 + min_effect)
    question: str = "software"
    question_given: bool = False  # named by the caller, not read from the fingerprints
    tolerance: float = TOLERANCE
    #: ``{"record": contention_of(record), "reference": contention_of(reference)}``
    contention: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The machine's overall speed compared run by run (:func:`kit.stats.run_shift_test`), or None
    #: when neither record pooled several runs.
    machine_runs: Any = None
    score_ci: tuple[float, float] | None = None
    reference_score_ci: tuple[float, float] | None = None
    verdict: str | None = None  # decided from the fields above unless given
    reason: str = ""

    def __post_init__(self) -> None:
        if self.question not in QUESTIONS:
            raise ValueError(f"question must be one of {', '.join(QUESTIONS)}, got {self.question!r}")
        if self.verdict is None:
            self.verdict, self.reason = self._judge()

    @property
    def regressions(self) -> list[Comparison]:
        """Significant regressions that count (in scope). They fail a validation of the software question
        when the run-to-run noise is known and neither record was contended; otherwise they make it
        INCONCLUSIVE."""
        return [c for c in self.comparisons if c.verdict == REGRESSION and c.counted]

    @property
    def improvements(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict == IMPROVEMENT and c.counted]

    @property
    def other_changes(self) -> list[Comparison]:
        """Significant changes that do not count: measurements outside the scope and, between two
        machines, every difference in relative speed (shown as information)."""
        return [c for c in self.comparisons if c.verdict != SAME and not c.counted]

    @property
    def differences(self) -> list[Comparison]:
        """Between two machines: the measurements whose speed relative to the baseline differs."""
        return [c for c in self.comparisons if c.verdict in (SLOWER_HERE, FASTER_HERE)]

    @property
    def tier_agrees(self) -> bool:
        return self.tier == self.reference_tier

    @property
    def same_machine(self) -> bool:
        return not self.machine_differences

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def summary(self) -> str:
        """The verdict and why, in one line."""
        return f"{self.verdict}: {self.reason}"

    @property
    def question_text(self) -> str:
        return QUESTIONS[self.question]

    # --- the verdict ---

    def _contended(self) -> list[tuple[str, dict[str, Any]]]:
        return [(label, c) for label, c in (("this record", self.contention.get("record")),
                                            ("the reference", self.contention.get("reference")))
                if c and c.get("level") == "contended"]

    @staticmethod
    def _load_words(contended: list[tuple[str, dict[str, Any]]]) -> str:
        """``measured under contention (this record: <summary>)``, once for both records where they agree."""
        if len(contended) == 2 and contended[0][1]["summary"] == contended[1][1]["summary"]:
            return f"measured under contention (both records: {contended[0][1]['summary']})"
        return "measured under contention (" + "; ".join(f"{label}: {c['summary']}" for label, c in contended) + ")"

    def _light(self) -> str:
        """The load of a record that did not stop the verdict, briefly: light, or a loaded machine on
        which the measuring thread still got its CPU (a busy loop on another core)."""
        light, kept = [], []
        for label, c in (("this record", self.contention.get("record")),
                         ("the reference", self.contention.get("reference"))):
            if not c:
                continue
            load = c.get("load_per_core")
            brief = f"load {load:.2f}/core" if c.get("source") == "measured" and load is not None else c["summary"]
            if c.get("level") == "light":
                light.append(f"{label}, {brief}")
            elif c.get("level") == "quiet" and (load or 0) > LIGHT_LOAD:
                kept.append(f"{label}, {brief}")
        said = ([f"light load ({'; '.join(light)})"] if light else []) + (
            [f"loaded, but the measuring thread kept its CPU ({'; '.join(kept)})"] if kept else [])
        return "; " + "; ".join(said) if said else ""

    def _judge(self) -> tuple[str, str]:
        if self.question == "hardware":
            return self._judge_hardware()
        return self._judge_software()

    def _judge_software(self) -> tuple[str, str]:
        from kit._display import change, num, plural

        if not self.comparisons:
            return INCONCLUSIVE, "no measurement in common with the reference"
        regs = self.regressions
        worst = max(regs, key=lambda c: c.ratio) if regs else None
        worst_words = f" (worst: {worst.key}, {change(worst.ratio)})" if worst else ""
        seen = f"{plural(len(regs), 'measurement')} slower{worst_words}" if worst else ""
        hw = self.hardware
        slower = (f"the machine slower overall (hardware index {num(hw.value)} [{num(hw.ci[0])}, {num(hw.ci[1])}], "
                  f"below {1 / (1 + self.min_effect):.2f})" if self.machine_slower and hw is not None else "")
        contended = self._contended()
        if contended:
            return INCONCLUSIVE, (f"{self._load_words(contended)}, so a slowdown cannot be told from the load"
                                  + (f"; seen: {seen or slower}" if seen or slower else ""))
        if self.run_noise is None:
            if seen or slower:
                said = f"{plural(len(regs), 'measurement')} slower per call{worst_words}" if worst else slower
                return INCONCLUSIVE, (f"{said}, but single runs do not know the run-to-run "
                                      "noise: make the reference with `kit score --as-reference` (5 runs)"
                                      + self._light())
            return PASS, (f"no measurement {self.min_effect:.0%} slower per call ({len(self.comparisons)} compared; "
                          "single runs: the run-to-run noise is unknown)" + self._light())
        if worst is not None:
            return FAIL, (f"{plural(len(regs), 'significant regression')} beyond the run-to-run noise (worst: "
                          f"{worst.key}, {change(worst.ratio)})" + self._light())
        if slower:
            if self.machine_runs is None:
                return INCONCLUSIVE, (f"{slower}, but the run-to-run noise of the machine's speed is unknown"
                                      + self._light())
            if self.machine_runs.p < self.run_alpha:
                return FAIL, f"{slower}, beyond its run-to-run noise" + self._light()
        return PASS, (f"no measurement slower beyond the run-to-run noise ({len(self.comparisons)} compared, "
                      f"typical run-to-run noise {math.expm1(self.run_noise):.1%})"
                      + (f"; {slower} within its run-to-run noise" if slower else "") + self._light())

    def index_interval(self) -> tuple[float, float] | None:
        """The hardware index's 95% interval that the hardware question judges: the bootstrap CI of the
        index, widened where the records pooled runs to the run-to-run interval of the machine's speed."""
        hw = self.hardware
        if hw is None:
            return None
        lo, hi = hw.ci
        t = self.machine_runs
        if t is not None and t.se > 0:
            from kit.stats import t_quantile

            half = t_quantile(0.975, t.df) * t.se
            lo, hi = min(lo, hw.value * math.exp(-half)), max(hi, hw.value * math.exp(half))
        return lo, hi

    def _judge_hardware(self) -> tuple[str, str]:
        from kit._display import num, plural

        hw = self.hardware
        if hw is None:
            return INCONCLUSIVE, "no hardware index: no payload class whose selected backend both records measured"
        floor = 1 - self.tolerance
        lo, hi = self.index_interval()
        idx = f"hardware index {num(hw.value)} [{num(lo)}, {num(hi)}]"
        cats_below = [f"{c} {num(v[0])} [{num(v[1])}, {num(v[2])}]" for c, v in sorted(hw.categories.items())
                      if v[2] < floor]
        apart = self._tiers_apart()
        contended = self._contended()
        doubtful = hi < floor or cats_below or lo < floor or apart
        if any(label == "the reference" for label, _ in contended) or (contended and doubtful):
            return INCONCLUSIVE, f"{self._load_words(contended)}, so the {idx} cannot be told from the load"
        info = (f"; {plural(len(self.differences), 'per-operation difference')} in speed relative to the "
                "baseline, shown as information" if self.differences else "")
        if hi < floor:
            return FAIL, f"{idx} is below the tolerance ({floor:.2f}: at most {self.tolerance:.0%} slower)"
        if cats_below:
            return FAIL, (f"{plural(len(cats_below), 'category', 'categories')} below the tolerance ({floor:.2f}): "
                          + ", ".join(cats_below) + f"; overall {idx}")
        if apart:
            return FAIL, (f"tier {self.tier} here, {self.reference_tier} in the reference, and the scores' 95% "
                          f"CIs are apart; {idx}")
        if lo < floor:
            return INCONCLUSIVE, (f"{idx} reaches below the tolerance ({floor:.2f}): pool more runs "
                                  "(`kit score --runs 5`) to narrow it")
        tier = (f"tier {self.tier} agrees" if self.tier_agrees else
                f"tier {self.tier} here, {self.reference_tier} in the reference (the scores' CIs overlap)")
        return PASS, (f"{idx} within the tolerance ({floor:.2f}: at most {self.tolerance:.0%} slower); {tier}"
                      + info + self._light())

    def _tiers_apart(self) -> bool:
        """Tiers differ and the scores' CIs do not overlap (a tier differing within the noise is not)."""
        if self.tier_agrees or self.score_ci is None or self.reference_score_ci is None:
            return False
        return self.score_ci[1] < self.reference_score_ci[0] or self.reference_score_ci[1] < self.score_ci[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record, "reference": self.reference, "verdict": self.verdict, "reason": self.reason,
            "exit_code": self.exit_code, "ok": self.ok,
            "question": self.question, "question_text": self.question_text,
            "question_from": "given" if self.question_given else "machine fingerprints",
            "regressions": [c.key for c in self.regressions], "improvements": [c.key for c in self.improvements],
            "differences": [c.key for c in self.differences],
            "compared": len(self.comparisons), "only_here": self.only_here, "only_reference": self.only_reference,
            "other_changes": [c.key for c in self.other_changes], "machine_slower": self.machine_slower,
            "machine_runs": None if self.machine_runs is None else {
                "shift": self.machine_runs.shift, "se": self.machine_runs.se, "df": self.machine_runs.df,
                "p": self.machine_runs.p},
            "rule": {"alpha": self.alpha, "min_effect": self.min_effect, "relative": self.relative,
                     "scope": self.scope, "run_noise": self.run_noise, "run_alpha": self.run_alpha,
                     "tolerance": self.tolerance},
            "contention": self.contention,
            "tier": self.tier, "reference_tier": self.reference_tier, "tier_agrees": self.tier_agrees,
            "score": self.score, "reference_score": self.reference_score,
            "machine_differences": [{"field": f, "reference": a, "here": b} for f, a, b in self.machine_differences],
            "library_differences": [{"library": f, "reference": a, "here": b} for f, a, b in self.library_differences],
            "hardware_index": None if self.hardware is None else self.hardware.to_dict(),
            "index_interval": None if self.hardware is None else list(self.index_interval()),
            "notes": self.notes, "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def tables(self) -> list[Any]:
        from kit.report import validation_tables

        return validation_tables(self)

    def __str__(self) -> str:
        return "\n\n".join(str(t) for t in self.tables())

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self.tables())


def _key(m: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (m["operation"], m["size"], m["kind"], m["backend"])


def _run_medians(m: Mapping[str, Any]) -> list[float]:
    """The median of each run of a stored measurement (one run for records without ``run_medians_s``)."""
    runs = m.get("run_medians_s")
    return list(runs) if runs else [statistics.median(m["raw_s"])]


def _normalised(rec: Record) -> tuple[dict[tuple[str, str, str, str], list[float]],
                                       dict[tuple[str, str, str, str], list[float]]]:
    """Each backend's samples, and run medians, divided by its class's baseline median in the same run."""
    base = {(m["operation"], m["size"], m["kind"]): m for m in rec.measurements if m.get("baseline")}
    samples, runs = {}, {}
    for m in rec.measurements:
        b = base.get((m["operation"], m["size"], m["kind"]))
        if b and not m.get("baseline"):
            bm = statistics.median(b["raw_s"])
            samples[_key(m)] = [x / bm for x in m["raw_s"]]
            mine, theirs = _run_medians(m), _run_medians(b)
            runs[_key(m)] = ([x / y for x, y in zip(mine, theirs)] if len(mine) == len(theirs)
                             else [statistics.median(samples[_key(m)])])
    return samples, runs


def _selected_classes(rec: Record) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """``{(operation, size, kind): the selected backend's measurement}`` of the classes with a baseline."""
    base = {(m["operation"], m["size"], m["kind"]) for m in rec.measurements if m.get("baseline")}
    return {(m["operation"], m["size"], m["kind"]): m for m in rec.measurements
            if m.get("selected") and (m["operation"], m["size"], m["kind"]) in base}


def _speed_per_run(classes: Sequence[Mapping[str, Any]]) -> list[float]:
    """The machine's time per byte in each run: geometric mean over ``classes`` of their run medians.

    The runs of one record line up (run ``i`` of every measurement came from the same process);
    where they do not, the record counts as one run.
    """
    series = [[t / (m.get("nbytes") or 1) for t in _run_medians(m)] for m in classes]
    lengths = {len(s) for s in series}
    if len(lengths) != 1:
        series = [[statistics.median(s)] for s in series]
    n = len(series[0])
    return [math.exp(statistics.fmean(math.log(s[i]) for s in series)) for i in range(n)]


def _machine_runs(rec: Record, ref: Record, run_alpha: float) -> Any:
    """The machine's overall speed here against the reference, run by run (``RunTest`` or None)."""
    from kit.stats import run_shift_test

    here, there = _selected_classes(rec), _selected_classes(ref)
    common = sorted(set(here) & set(there))
    if not common:
        return None
    return run_shift_test(_speed_per_run([there[k] for k in common]), _speed_per_run([here[k] for k in common]),
                          run_alpha)


def _samples_differ(ref: Sequence[float], new: Sequence[float], alpha: float,
                    ref_ci: tuple[float, float] | None, new_ci: tuple[float, float] | None) -> tuple[bool, float | None, str]:
    """Whether two runs' per-call samples differ: Mann–Whitney U, or CIs apart when too few for U."""
    if min_p_value(len(ref), len(new)) < alpha:
        _, p = mann_whitney_u(new, ref)
        return p < alpha, p, "Mann-Whitney U"
    from kit.engine.measure import bootstrap_ci

    a = ref_ci or bootstrap_ci(list(ref))
    b = new_ci or bootstrap_ci(list(new))
    return (b[0] > a[1] or b[1] < a[0]), None, "95% CIs apart (too few samples for U)"


def _verdict(significant: bool, ratio: float, min_effect: float, counted: bool = True) -> str:
    if significant and ratio >= 1 + min_effect:
        return REGRESSION if counted else SLOWER_HERE
    if significant and ratio <= 1 / (1 + min_effect):
        return IMPROVEMENT if counted else FASTER_HERE
    return SAME


_MACHINE_FIELDS = ("cpu", "cores", "machine", "os", "python", "gpu")


def _was_busy(m: dict[str, Any]) -> bool:
    """Whether a stored measurement was taken on a busy machine (older records said so in a warning)."""
    from kit.engine.measure import BUSY_LOAD

    load = m.get("load_per_core")
    if load is not None:
        return load > BUSY_LOAD
    return any("machine busy" in w for w in m.get("warnings") or ())


SCOPES = ("selected", "all")


def validate(record: Any, against: Any = None, *, alpha: float = ALPHA, min_effect: float = MIN_EFFECT,
             relative: bool = True, scope: str = "selected", run_alpha: float = RUN_ALPHA,
             question: str | None = None, tolerance: float = TOLERANCE) -> Validation:
    """Compare a run with a reference record and answer PASS, FAIL or INCONCLUSIVE, with the reason.

    The verdict answers one of two questions, chosen from the two records' machine fingerprints
    (CPU, cores, architecture, OS, Python, GPU: one differing field makes another machine, as a
    cloud VM's CPU model alone does not tell two hosts apart) unless ``question`` names it:

    **software** (the same machine): *did this machine's software regress?* A measurement
    (operation × size × kind × backend) is a **regression** when all three hold:

    1. its per-call times in this run are significantly slower than the reference's (two-sided
       Mann–Whitney U, ``p < alpha``, as asv);
    2. where either record pooled several runs (``kit score --runs``; a reference made with
       ``--as-reference`` has 5), the shift of the run medians is significant against the
       measurement's run-to-run noise (moderated t test on log run medians, ``p < run_alpha``, see
       :func:`kit.stats.moderated_run_tests`): calls within one process agree with each other
       more than processes do, so the per-call test alone flags the difference between two
       processes as a regression;
    3. its median is at least ``1 + min_effect`` times the reference's.

    An **improvement** likewise the other way. FAIL on a regression that counts, or on the machine
    slower overall (hardware index's CI wholly below ``1 / (1 + min_effect)``, and the machine's
    speed run by run significantly slower, :func:`kit.stats.run_shift_test`). INCONCLUSIVE, never
    FAIL, when the run-to-run noise is unknown (neither record pooled several runs) and something
    looks slower, and whenever either record was measured under contention
    (:func:`contention_of` says ``"contended"``): a slowdown cannot then be told from the load, and
    the reason names it. Otherwise PASS.

    **hardware** (another machine): *does this machine perform like the reference?* The hardware
    index (throughput here over the reference's, per category and overall; its interval widened to
    the run-to-run noise where the records pooled runs) against ``tolerance``: FAIL when the
    overall interval, or a category's, lies wholly below ``1 - tolerance``, or when the tiers
    differ with the scores' CIs apart; INCONCLUSIVE when the overall interval straddles
    ``1 - tolerance`` or a contended record could explain a shortfall; else PASS. Speed-ups differ
    between machines by design, so every per-operation difference is shown (:attr:`Validation.differences`),
    never counted.

    By default only the measurements kit's score is made of count (``scope="selected"``: every
    baseline and every backend selected in either record); the other backends are compared and
    listed as other changes, and count with ``scope="all"``. Measurements present in only one
    record are listed, not compared.

    Parameters
    ----------
    record : Record, ScoreResult, dict or path
        The run to check.
    against : Record, dict or path, optional
        The reference (default: :func:`find_reference`).
    alpha : float
        Significance level (asv's 0.002 by default).
    min_effect : float
        Minimum relative change of the median that counts (0.10: 10%).
    relative : bool
        Compare each backend's time relative to its class's baseline in the same run (the default):
        is each library as far ahead of the standard library as in the reference? A shift of the
        machine's state that slows a whole payload class (measured here: a memory-heavy class 35%
        slower a few minutes after the reference, on an unchanged kit) cancels, as does the hardware
        difference between two machines; the machine's overall speed is checked by the hardware
        index instead. ``False`` compares absolute times per measurement, baselines included, for a
        dedicated quiet machine.
    scope : {"selected", "all"}
        Which measurements decide the verdict (see above).
    run_alpha : float
        Significance level of the run-to-run tests (0.01).
    question : {"software", "hardware"}, optional
        Which question to answer (default: from the machine fingerprints).
    tolerance : float
        The hardware question's tolerance (:data:`TOLERANCE`, 0.20: at most 20% slower).

    Returns
    -------
    Validation
        ``.verdict`` (PASS, FAIL, INCONCLUSIVE), ``.reason``, ``.question``, ``.exit_code`` (0, 1, 3).

    Examples
    --------
    >>> import kit
    >>> v = kit.validate("results/kit/latest.json", against="results/kit/reference.json")  # doctest: +SKIP
    >>> v.verdict, v.exit_code, v.reason  # doctest: +SKIP
    ('PASS', 0, 'no measurement slower beyond the run-to-run noise (24 compared, typical ...)')
    """
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a float in (0, 1), got {alpha!r}")
    if not (isinstance(min_effect, (int, float)) and min_effect >= 0):
        raise ValueError(f"min_effect must be a number >= 0, got {min_effect!r}")
    if not (isinstance(run_alpha, float) and 0 < run_alpha < 1):
        raise ValueError(f"run_alpha must be a float in (0, 1), got {run_alpha!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if question is not None and question not in QUESTIONS:
        raise ValueError(f"question must be one of {', '.join(QUESTIONS)}, got {question!r}")
    if not (isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and 0 <= tolerance < 1):
        raise ValueError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
    rec = as_record(record)
    if against is None:
        found = find_reference(machine_id=rec.machine_id, preset=rec.data.get("preset"))
        if found is None:
            raise RecordError(f"{results_dir()}: no reference record (reference-*.json) to validate against; "
                              f"give one with against=")
        against = found
    ref = as_record(against)
    md = [(f, ref.machine.get(f), rec.machine.get(f)) for f in _MACHINE_FIELDS
          if ref.machine.get(f) != rec.machine.get(f)]
    asked = question or ("hardware" if md else "software")
    notes: list[str] = []
    for r, label in ((rec, "record"), (ref, "reference")):
        if r.migrated_from is not None:
            notes.append(f"the {label} was migrated from schema version {r.migrated_from} to {SCHEMA_VERSION}")
        if r.data.get("injected_slowdown"):
            notes.append(f"the {label} was measured with an injected slowdown: {r.data['injected_slowdown']}")
    if rec.data.get("preset") != ref.data.get("preset"):
        notes.append(f"presets differ (reference {ref.data.get('preset')!r}, here {rec.data.get('preset')!r}): "
                     "times per call are compared, but the scores and tiers cover different payload classes")
    contention = {"record": contention_of(rec), "reference": contention_of(ref)}
    busy = [(sum(1 for m in r.measurements if _was_busy(m)),
             len(r.measurements), label) for r, label in ((ref, "the reference"), (rec, "this record"))]
    if any(b for b, _, _ in busy) and not relative:
        notes.append("busy machine (load above 0.8 per core) during "
                     + " and ".join(f"{b}/{n} measurements of {label}" for b, n, label in busy)
                     + ": absolute times then say more about the load than about the code")
    if relative:
        (mine, runs_mine), (theirs, runs_theirs) = _normalised(rec), _normalised(ref)
        notes.append("times relative to each run's baseline (the baselines themselves are not compared)")
    else:
        mine = {_key(m): m["raw_s"] for m in rec.measurements}
        theirs = {_key(m): m["raw_s"] for m in ref.measurements}
        runs_mine = {_key(m): _run_medians(m) for m in rec.measurements}
        runs_theirs = {_key(m): _run_medians(m) for m in ref.measurements}
    info_here = {_key(m): m for m in rec.measurements}
    info_ref = {_key(m): m for m in ref.measurements}
    common = sorted(set(mine) & set(theirs))
    from kit.stats import moderated_run_tests

    run_tests, run_noise = moderated_run_tests({" ".join(k): runs_theirs[k] for k in common},
                                               {" ".join(k): runs_mine[k] for k in common}, run_alpha)
    if not run_tests and asked == "software":
        notes.append("neither record pooled several runs, so the run-to-run noise is unknown: a measurement "
                     "slower per call makes the verdict INCONCLUSIVE, not FAIL (two processes differ by more "
                     "than their calls do); record the reference with `kit score --as-reference` (5 runs)")
    if asked == "hardware":
        counted_keys: set[tuple[str, str, str, str]] = set()
        notes.append("another machine: speed-ups differ between machines by design, so per-operation "
                     "differences are shown as information; the hardware index decides")
    else:
        counted_keys = {k for k in common if scope == "all" or info_here[k].get("baseline")
                        or info_here[k].get("selected") or info_ref[k].get("selected")}
    comps = []
    for key in common:
        a, b = theirs[key], mine[key]
        ci_a = ci_b = None
        if not relative:
            ci_a = _ci_of(info_ref[key])
            ci_b = _ci_of(info_here[key])
        ratio = statistics.median(b) / statistics.median(a)
        significant, p, method = _samples_differ(a, b, alpha, ci_a, ci_b)
        rt = run_tests.get(" ".join(key))
        if rt is not None:
            significant = significant and rt.p < run_alpha
            method += " and run-to-run t"
        counted = key in counted_keys
        comps.append(Comparison(*key, ref_median=statistics.median(a), median=statistics.median(b), ratio=ratio,
                                p_value=p, method=method,
                                verdict=_verdict(significant, ratio, min_effect, counted or asked == "software"),
                                n_ref=len(a), n=len(b), selected=bool(info_here[key].get("selected")),
                                counted=counted, run_p=None if rt is None else rt.p,
                                detectable=None if rt is None else rt.detectable,
                                runs_ref=len(runs_theirs[key]), runs=len(runs_mine[key])))
    only_here = sorted(" ".join(k) for k in set(mine) - set(theirs))
    only_ref = sorted(" ".join(k) for k in set(theirs) - set(mine))
    libs_a, libs_b = ref.data.get("libraries") or {}, rec.data.get("libraries") or {}
    ld = [(k, libs_a.get(k), libs_b.get(k)) for k in sorted(set(libs_a) | set(libs_b)) if libs_a.get(k) != libs_b.get(k)]
    if ref.data.get("kit_version") != rec.data.get("kit_version"):
        ld.insert(0, ("kit", ref.data.get("kit_version"), rec.data.get("kit_version")))
    if md and asked == "software":
        notes.append("the machines differ (" + ", ".join(f for f, _, _ in md) + ") and the software question is "
                     "asked: per measurement; the machine's overall speed is not judged")
    elif md and all(f in ("os", "python") for f, _, _ in md):
        notes.append("only the " + " and ".join(f for f, _, _ in md) + (" differ" if len(md) > 1 else " differs")
                     + ": to ask whether an upgrade "
                     "slowed kit's libraries, validate with question='software' (--question software)")
    elif not md and asked == "hardware":
        notes.append("the same machine, and the hardware question is asked: the hardware index decides")
    hw = None
    try:
        from kit.scoring import hardware_index

        hw = hardware_index(rec, ref)
    except KitError as exc:
        notes.append(str(exc))
    machine_runs = _machine_runs(rec, ref, run_alpha)
    machine_slower = bool(hw is not None and not md and asked == "software" and hw.ci[1] < 1 / (1 + min_effect))
    if machine_slower:
        notes.append(f"this machine is slower overall than when the reference was made: hardware index "
                     f"{hw.value:.2f} [{hw.ci[0]:.2f}, {hw.ci[1]:.2f}], below {1 / (1 + min_effect):.2f}"
                     + ("" if machine_runs is None else f" (run by run: p = {machine_runs.p:.2g})"))
    return Validation(rec.name, ref.name, comps, only_here, only_ref, alpha, float(min_effect), relative,
                      rec.tier, ref.tier, rec.score, ref.score, md, ld, hw, notes, scope, run_noise, run_alpha,
                      machine_slower, question=asked, question_given=question is not None,
                      tolerance=float(tolerance), contention=contention, machine_runs=machine_runs,
                      score_ci=_score_ci(rec), reference_score_ci=_score_ci(ref))


def _score_ci(rec: Record) -> tuple[float, float] | None:
    ci = (rec.data.get("score") or {}).get("ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        return (float(ci[0]), float(ci[1]))
    return None


def _ci_of(m: Mapping[str, Any]) -> tuple[float, float] | None:
    lo, hi = m.get("ci_low_s"), m.get("ci_high_s")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        return (float(lo), float(hi))
    return None
