"""Where fleet runs live: a folder of records per run, and one Parquet dataset for all runs.

Layout under the fleet folder (default ``results/kit/fleet``, i.e. ``$KIT_RESULTS_DIR/fleet``)::

    <run id>/fleet.json                    the run: settings, every machine's status and reason
    <run id>/records/<machine>.json        one kit result record per machine that finished
                                           (the schema of `kit score`: kit validate reads it)
    dataset/run=<run id>/machine=<machine>/part-0.parquet
                                           one row per measurement, hive-partitioned by run and
                                           machine: the fleet's history in one query

``fleet.json`` is written last: a run folder without it is incomplete and is not listed. The
dataset's columns are :data:`DATASET_SCHEMA`; ``run`` and ``machine`` come from the folder names.

Examples
--------
>>> import polars as pl                                                           # doctest: +SKIP
>>> (pl.scan_parquet("results/kit/fleet/dataset/**/*.parquet", hive_partitioning=True)
...    .filter(pl.col("selected")).group_by("run", "machine")
...    .agg(pl.col("score").first()).collect())                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kit.errors import KitError

__all__ = ["DATASET", "DATASET_SCHEMA", "MANIFEST", "SCHEMA", "SCHEMA_VERSION", "dataset", "fleet_dir",
           "list_runs", "load_run", "save_run"]

SCHEMA = "kit.fleet"
SCHEMA_VERSION = 1
MANIFEST = "fleet.json"
DATASET = "dataset"
RECORDS = "records"

#: Columns of the dataset's files, in order: (name, pyarrow type name).
DATASET_SCHEMA: tuple[tuple[str, str], ...] = (
    ("record_id", "string"), ("created", "string"), ("machine_id", "string"), ("hostname", "string"),
    ("address", "string"), ("cpu", "string"), ("cores", "int32"), ("preset", "string"),
    ("kit_version", "string"), ("injected", "bool"), ("score", "float64"), ("score_ci_low", "float64"),
    ("score_ci_high", "float64"), ("tier", "string"), ("speedup", "float64"), ("operation", "string"),
    ("category", "string"), ("size", "string"), ("kind", "string"), ("backend", "string"),
    ("baseline", "bool"), ("selected", "bool"), ("median_s", "float64"), ("ci_low_s", "float64"),
    ("ci_high_s", "float64"), ("cv", "float64"), ("nbytes", "int64"), ("throughput_Bps", "float64"),
    ("samples", "int32"), ("raw_s", "list<float64>"),
)


class FleetError(KitError):
    """A fleet run folder that cannot be used: missing, incomplete, or of an unknown schema."""


def fleet_dir(directory: Any = None) -> Path:
    """The fleet folder: ``directory``, else ``fleet`` beside kit's records (:func:`kit._paths.results_dir`).

    Examples
    --------
    >>> fleet_dir("runs").name
    'runs'
    """
    if directory is not None:
        return Path(directory)
    from kit._paths import results_dir

    return results_dir() / "fleet"


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int32": pa.int32(), "int64": pa.int64(), "bool": pa.bool_(),
             "float64": pa.float64(), "list<float64>": pa.list_(pa.float64())}
    return pa.schema([(n, types[t]) for n, t in DATASET_SCHEMA])


def _rows(machine: Any) -> list[dict[str, Any]]:
    d = machine.record.data
    s = d.get("score") or {}
    m = d.get("machine") or {}
    ci = s.get("ci") or [None, None]
    base = {"record_id": d.get("id"), "created": d.get("created"), "machine_id": d.get("machine_id"),
            "hostname": machine.hostname, "address": machine.address, "cpu": m.get("cpu"), "cores": m.get("cores"),
            "preset": d.get("preset"), "kit_version": d.get("kit_version"),
            "injected": bool(d.get("injected_slowdown")), "score": s.get("value"), "score_ci_low": ci[0],
            "score_ci_high": ci[1], "tier": s.get("tier"), "speedup": s.get("speedup")}
    return [{**base, **{k: x.get(k) for k in ("operation", "category", "size", "kind", "backend", "median_s",
                                             "ci_low_s", "ci_high_s", "cv", "nbytes", "throughput_Bps")},
             "baseline": bool(x.get("baseline")), "selected": bool(x.get("selected")),
             "samples": len(x["raw_s"]), "raw_s": [float(v) for v in x["raw_s"]]}
            for x in d["measurements"]]


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_run(run: Any, directory: Any = None) -> Path:
    """Write a :class:`kit.fleet.FleetRun`: its records, its dataset partitions, then ``fleet.json``.

    Returns the run's folder (also set as ``run.path``).

    Examples
    --------
    >>> folder = save_run(run)            # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +SKIP
    ['fleet.json', 'records']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kit._version import __version__
    from kit.records import write_record

    root = fleet_dir(directory)
    folder = root / run.run_id
    if (folder / MANIFEST).exists():
        raise FleetError(f"{folder}: a fleet run with this id is already stored")
    (folder / RECORDS).mkdir(parents=True, exist_ok=True)
    schema = _arrow_schema()
    files: dict[str, str | None] = {}
    for m in run.machines:
        files[m.label] = None
        if m.status != "ok" or m.record is None:
            continue
        write_record(m.record, folder / RECORDS, f"{m.label}.json")
        files[m.label] = f"{RECORDS}/{m.label}.json"
        part = root / DATASET / f"run={run.run_id}" / f"machine={m.label}"
        part.mkdir(parents=True, exist_ok=True)
        tmp = part / "part-0.parquet.tmp"  # not *.parquet: readers never see a half-written file
        pq.write_table(pa.Table.from_pylist(_rows(m), schema=schema), tmp)
        os.replace(tmp, part / "part-0.parquet")
    manifest = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "run_id": run.run_id, "created": run.created,
                "kit_version": __version__, "scheduler": run.scheduler, "seconds": run.seconds,
                "settings": run.settings(),
                "machines": [{**m.to_dict(), "record": files[m.label]} for m in run.machines]}
    _atomic_text(folder / MANIFEST, json.dumps(manifest, indent=1, allow_nan=False) + "\n")
    run.path = folder
    return folder


def list_runs(directory: Any = None) -> list[str]:
    """Ids of the complete runs in the fleet folder, oldest first.

    Examples
    --------
    >>> list_runs("/nonexistent")
    []
    """
    root = fleet_dir(directory)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{MANIFEST}"))


def _manifest_path(run: Any, directory: Any) -> Path:
    root = fleet_dir(directory)
    if run is None:
        runs = list_runs(root)
        if not runs:
            raise FleetError(f"{root}: no fleet run here (run `kit fleet score` first)")
        return root / runs[-1] / MANIFEST
    p = Path(run)
    if p.name == MANIFEST and p.is_file():
        return p
    if (p / MANIFEST).is_file():
        return p / MANIFEST
    if (root / str(run) / MANIFEST).is_file():
        return root / str(run) / MANIFEST
    if p.is_dir() or (root / str(run)).is_dir():
        raise FleetError(f"{p if p.is_dir() else root / str(run)}: no {MANIFEST} (an incomplete fleet run)")
    known = list_runs(root)
    raise FleetError(f"no fleet run {str(run)!r} (a run id in {root}, or a run folder); "
                     + (f"runs: {', '.join(known[-5:])}" if known else "there is none yet"))


def load_run(run: Any = None, directory: Any = None) -> Any:
    """Read a stored fleet run: a run id, its folder, its ``fleet.json``, or None for the newest.

    Examples
    --------
    >>> load_run("nope", "/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FleetError: no fleet run 'nope' (a run id in /nonexistent, or a run folder); there is none yet
    """
    from kit.fleet.run import FleetRun, Machine
    from kit.records import load_record

    path = _manifest_path(run, directory)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FleetError(f"{path}: not a readable fleet run ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise FleetError(f"{path}: not a kit fleet run (expected 'schema': {SCHEMA!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise FleetError(f"{path}: fleet schema version {data.get('schema_version')!r}; this kit reads "
                         f"{SCHEMA_VERSION}")
    try:
        st = data["settings"]
        machines = []
        for d in data["machines"]:
            m = Machine(d["label"], d["address"], d["name"], d["host"], d.get("hostname", ""), d.get("pid"),
                        d.get("clock", ""), d["status"], d.get("reason", ""), d.get("seconds"),
                        dict(d.get("slowdown") or {}))
            if d.get("record"):
                m.record = load_record(path.parent / d["record"])
            machines.append(m)
        return FleetRun(data["run_id"], data["created"], st["preset"], list(st["operations"]), st.get("sizes"),
                        st["retries"], st["claims"], st["runs"], st["timeout"], data.get("scheduler", ""), machines,
                        data.get("seconds", 0.0), path.parent)
    except (KeyError, TypeError) as exc:
        raise FleetError(f"{path}: an incomplete fleet run (missing {exc})") from None


def dataset(directory: Any = None) -> Any:
    """The fleet's history as a ``pyarrow.dataset.Dataset`` (hive-partitioned by ``run`` and ``machine``).

    Examples
    --------
    >>> t = dataset().to_table(filter=pc.field("selected"))  # doctest: +SKIP
    >>> sorted(set(t["machine"].to_pylist()))                  # doctest: +SKIP
    ['worker-0', 'worker-1', 'worker-2']
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    path = fleet_dir(directory) / DATASET
    if not path.is_dir():
        raise FleetError(f"{path}: no fleet dataset yet (run `kit fleet score` first)")
    part = ds.partitioning(pa.schema([("run", pa.string()), ("machine", pa.string())]), flavor="hive")
    return ds.dataset(path, format="parquet", partitioning=part, schema=_arrow_schema().append(
        pa.field("run", pa.string())).append(pa.field("machine", pa.string())))
