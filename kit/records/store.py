"""Result records: the versioned format, reading, writing and migrating them, the Parquet table.

A record is a JSON document with a versioned schema (``"schema": "kit.record"``,
``"schema_version"``: :data:`SCHEMA_VERSION`), written under ``results/kit/`` so that asv's
per-machine folders under ``results/`` are left alone (asv skips a folder without a
``machine.json``). Records can also be appended to a Parquet table (``results/kit/records.parquet``,
one row per measurement) that polars reads. Where records go by default is
:func:`kit._paths.results_dir`. This module holds the data only: comparing records is
:mod:`kit.records.compare`, making one is :mod:`kit.scoring` (:meth:`kit.scoring.ScoreResult.to_record`).

Examples
--------
>>> r = as_record({"schema": "kit.record", "schema_version": 1, "machine": {}, "machine_id": "x",
...                "measurements": [{"operation": "digest", "size": "small", "kind": "random",
...                                  "backend": "hashlib.sha256", "median_s": 1e-6, "raw_s": [1e-6]}],
...                "score": {"value": 10.0, "tier": "STANDARD"}, "preset": "quick"})
>>> r.tier, r.machine_id
('STANDARD', 'x')
>>> as_record({"schema": "something else"})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
RecordError: record: not a kit result record (expected 'schema': 'kit.record', got 'something else')
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Callable

from kit._paths import atomic_write, checkout_results, results_dir, usual_mode
from kit.errors import KitError
from kit.machine import fingerprint_id

__all__ = [
    "MAX_RECORD_BYTES",
    "MIGRATIONS",
    "PARQUET_NAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Record",
    "RecordError",
    "append_parquet",
    "as_record",
    "find_reference",
    "latest_record",
    "load_record",
    "read_table",
    "write_record",
]

SCHEMA = "kit.record"
SCHEMA_VERSION = 1

#: ``{version: function}`` upgrading a record's dict from ``version`` to ``version + 1``.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}

#: Fields every record must have, and fields every measurement must have.
REQUIRED = ("schema_version", "machine", "machine_id", "measurements", "score", "preset")
REQUIRED_MEASUREMENT = ("operation", "size", "kind", "backend", "median_s", "raw_s")

PARQUET_NAME = "records.parquet"


class RecordError(KitError):
    """A record file that cannot be used: missing, truncated, foreign, or of an unknown schema."""



# --- where records live ----------------------------------------------------------------------------


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
    want = machine_id or fingerprint_id()
    dirs = [Path(directory)] if directory is not None else [results_dir()]
    if directory is None and (c := checkout_results()) is not None and c.resolve() != dirs[0].resolve():
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
    def sittings(self) -> list[dict[str, Any]]:
        """When the runs were made: ``[{"started": ISO time, "runs": n}, ...]`` in the order of each
        measurement's ``run_medians_s``. Records made before sittings were kept hold one."""
        found = self.data.get("sittings")
        if found:
            return [dict(x) for x in found]
        runs = self.data.get("runs")
        return [{"started": self.data.get("created"), "runs": runs if isinstance(runs, int) and runs > 0 else 1}]

    def run_groups(self, runs: list[float]) -> list[list[float]]:
        """A measurement's per-run values grouped by sitting; one group where their number does not match
        the sittings' (a backend that failed in some runs: when its runs were made is then unknown).

        Examples
        --------
        >>> Record({"sittings": [{"started": "a", "runs": 2}, {"started": "b", "runs": 1}]}).run_groups([1, 2, 3])
        [[1, 2], [3]]
        >>> Record({"sittings": [{"started": "a", "runs": 2}]}).run_groups([1, 2, 3])
        [[1, 2, 3]]
        """
        counts = [int(x["runs"]) for x in self.sittings]
        if sum(counts) != len(runs):
            return [list(runs)]
        out, i = [], 0
        for n in counts:
            out.append(list(runs[i:i + n]))
            i += n
        return out

    @property
    def score(self) -> float | None:
        return (self.data.get("score") or {}).get("value")

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def __repr__(self) -> str:
        s = self.data.get("score") or {}
        return (f"Record({self.name!r}, machine={self.machine.get('cpu')!r}, preset={self.data.get('preset')!r}, "
                f"score={s.get('value')!r}, tier={s.get('tier')!r})")



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
        lows = m.get("run_q25_s")
        if lows is not None and (not _seconds(lows) or runs is None or len(lows) != len(runs)):
            raise RecordError(f"{where}: measurement {i} ({m['operation']} {m['backend']}) has invalid "
                              f"'run_q25_s' (expected positive seconds, one per entry of 'run_medians_s', "
                              f"got {_short(lows)})")
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
    sittings = data.get("sittings")
    if sittings is not None and not (isinstance(sittings, list) and sittings and all(
            isinstance(x, dict) and isinstance(x.get("runs"), int) and not isinstance(x["runs"], bool)
            and x["runs"] > 0 for x in sittings)):
        raise bad("'sittings'", "a list of objects with a positive integer 'runs'", sittings)
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
