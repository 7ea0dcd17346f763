"""Result records: round trip, every bad input, schema migration, the Parquet table, asv's results/."""

from __future__ import annotations

import importlib
import json
import os

import pytest

from kit import records
from kit.records import RecordError, append_parquet, load_record, read_table, write_record

sc = importlib.import_module("kit.scoring")


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """The record of a real, small run (one operation, one size class)."""
    import kit
    from kit import config as _config
    from kit import registry as _registry

    original = kit.get_config()["cache_dir"]
    kit.set_config(cache_dir=str(tmp_path_factory.mktemp("wisdom")))
    _registry.reset_probes()
    try:
        yield sc.score(operations=["fingerprint"], sizes=["small"], claims=False, retries=0).to_record()
    finally:
        kit.set_config(cache_dir=original)
        _registry.reset_probes()
        _config.mark_changed()


def test_a_record_holds_what_the_issue_lists(record):
    d = record.data
    assert d["schema"] == "kit.record" and d["schema_version"] == records.SCHEMA_VERSION
    assert {"cpu", "cores", "os", "python"} <= set(d["machine"])
    assert d["libraries"]["xxhash"] is not None and d["kit_version"]
    assert d["git"] is None or len(d["git"]["commit"]) == 40
    assert {"value", "ci", "tier", "speedup", "speedup_ci", "formula"} <= set(d["score"])
    assert set(d["subscores"]) == {"hashing"}
    assert "hardware_index" in d and "claims" in d
    for m in d["measurements"]:
        assert {"median_s", "ci_low_s", "ci_high_s", "cv", "samples", "raw_s", "selected"} <= set(m)
        assert m["samples"] == len(m["raw_s"])


def test_round_trip(record, tmp_path):
    path = write_record(record, tmp_path)
    assert path.parent == tmp_path and path.name == f"{record.data['id']}.json"
    back = load_record(path)
    assert back.data == json.loads(json.dumps(record.data))
    assert back.path == path and back.migrated_from is None
    assert back.tier == record.tier and back.machine_id == record.machine_id
    assert not list(tmp_path.glob(".tmp-*"))  # the atomic write left nothing behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any new file, not 0600


def test_write_refuses_a_name_that_is_not_json(record, tmp_path):
    with pytest.raises(RecordError, match="must end in .json, got 'x.txt'"):
        write_record(record, tmp_path, "x.txt")


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_missing_file(tmp_path):
    p = tmp_path / "nope.json"
    with pytest.raises(RecordError, match=f"^{p}: no such file$"):
        load_record(p)


def test_truncated_file(record, tmp_path):
    text = json.dumps(record.data)
    p = _write(tmp_path, "cut.json", text[: len(text) // 2])
    with pytest.raises(RecordError, match=rf"^{p}: truncated at line 1 column \d+"):
        load_record(p)


@pytest.mark.parametrize("text,match", [
    ("", "empty file"),
    ("{'a': 1}", "not valid JSON at line 1 column 2"),
    ("[1, 2]", "not a kit result record .expected 'schema': 'kit.record', got 'list'"),
    ('{"commit_hash": "abc", "results": {}, "version": 2}', "got None. .it looks like an asv result file"),
    ('{"schema": "pyperf", "benchmarks": [], "metadata": {}}', "got 'pyperf'. .it looks like a pyperf file"),
])
def test_bad_files_give_one_line_naming_the_file(tmp_path, text, match):
    p = _write(tmp_path, "bad.json", text)
    with pytest.raises(RecordError, match=match) as info:
        load_record(p)
    msg = str(info.value)
    assert msg.startswith(str(p)) and "\n" not in msg


def test_a_folder_and_a_binary_file_are_refused(tmp_path):
    with pytest.raises(RecordError, match="is a folder"):
        load_record(tmp_path)
    p = tmp_path / "bin.json"
    p.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(RecordError, match="not a text file"):
        load_record(p)


def test_newer_schema_is_refused(record, tmp_path):
    d = dict(record.data, schema_version=records.SCHEMA_VERSION + 1)
    p = _write(tmp_path, "future.json", json.dumps(d))
    with pytest.raises(RecordError, match=r"newer kit \(schema version 2; this kit reads up to 1\): upgrade kit"):
        load_record(p)


def test_older_schema_without_migration_is_refused_with_the_reason(record, tmp_path):
    d = dict(record.data, schema_version=0)
    p = _write(tmp_path, "old.json", json.dumps(d))
    with pytest.raises(RecordError, match="schema version 0 cannot be migrated to 1 .no migration from version 0."):
        load_record(p)


def test_older_schema_is_migrated_when_a_migration_exists(record, tmp_path, monkeypatch):
    old = {k: v for k, v in record.data.items() if k != "preset"}
    old["schema_version"] = 0
    old["mode"] = "quick"  # a field version 0 called differently

    def to_v1(d):
        d["preset"] = d.pop("mode")
        return d

    monkeypatch.setitem(records.MIGRATIONS, 0, to_v1)
    rec = load_record(_write(tmp_path, "v0.json", json.dumps(old)))
    assert rec.migrated_from == 0 and rec.data["schema_version"] == 1 and rec.data["preset"] == "quick"
    v = records.validate(rec, record)
    assert any("migrated from schema version 0" in n for n in v.notes)


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.pop("measurements"), "missing field 'measurements'"),
    (lambda d: d.update(measurements={"a": 1}), "'measurements' must be a list, got {'a': 1}"),
    (lambda d: d.update(measurements=[]), "has no measurements, so there is nothing to validate"),
    (lambda d: d.update(score=float("nan")), "'score' must be an object with 'value' and 'tier', got nan"),
    (lambda d: d.update(score="98"), "'score' must be an object with 'value' and 'tier', got '98'"),
    (lambda d: d.update(score=None), "'score' must be an object"),
    (lambda d: d["score"].update(value=float("nan")), "score.value must be a finite number, got nan"),
    (lambda d: d["score"].update(value="high"), "score.value must be a finite number, got 'high'"),
    (lambda d: d["score"].update(value=True), "score.value must be a finite number, got True"),
    (lambda d: d["score"].update(tier=None), "score.tier must be a string"),
    (lambda d: d["score"].update(ci=[1]), "score.ci must be a pair of numbers"),
    (lambda d: d["measurements"][0].update(raw_s=[True, True, True]), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(raw_s=[1e-6, False]), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(raw_s=[1e-6, float("inf")]), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(raw_s=[1e-6, float("nan")]), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(median_s="fast"), "'median_s' must be positive finite seconds"),
    (lambda d: d["measurements"][0].update(backend=None), "'backend' must be a string"),
    (lambda d: d["measurements"][0].update(run_medians_s=[True]), "invalid 'run_medians_s'"),
    (lambda d: d.update(sittings=[{"runs": 0}]), "'sittings' must be a list of objects with a positive integer"),
    (lambda d: d.update(sittings="today"), "'sittings' must be a list of objects"),
    (lambda d: d.update(machine="x"), "'machine' must be an object"),
    (lambda d: d.update(hardware_index={"value": "1.0"}), "'hardware_index' must be an object with a numeric"),
    (lambda d: d.update(claims=[{"title": "t"}]), r"claims\[0\] must be an object"),
    (lambda d: d.update(classes=[None]), r"classes\[0\] must be an object"),
    (lambda d: d.update(subscores={"json": {"speedup": "x"}}), "subscores.json must be an object"),
    (lambda d: d["measurements"][0].pop("raw_s"), "measurement 0 lacks 'raw_s'"),
    (lambda d: d["measurements"][0].update(raw_s=[]), "measurement 0 .* has no valid raw samples"),
    (lambda d: d["measurements"][0].update(raw_s=[1e-6, "x"]), "no valid raw samples"),
    (lambda d: d["measurements"][0].update(run_medians_s=[]), "invalid 'run_medians_s' .expected a list of positive"),
    (lambda d: d["measurements"][0].update(run_medians_s=[1e-6, -1.0]), "invalid 'run_medians_s'"),
    (lambda d: d["measurements"][0].update(run_medians_s=[1e-6, 2e-6], run_q25_s=[1e-6]),
     "invalid 'run_q25_s' .expected positive seconds, one per entry of 'run_medians_s'"),
    (lambda d: d["measurements"][0].update(run_medians_s=[1e-6, 2e-6], run_q25_s=[1e-6, "x"]), "invalid 'run_q25_s'"),
    (lambda d: d["measurements"][0].pop("run_medians_s", None) or d["measurements"][0].update(run_q25_s=[1e-6]),
     "invalid 'run_q25_s'"),
    (lambda d: d.update(schema_version="1"), "'schema_version' must be an integer, got '1'"),
])
def test_incomplete_records_are_refused(record, tmp_path, mutate, match):
    d = json.loads(json.dumps(record.data))
    mutate(d)
    p = _write(tmp_path, "broken.json", json.dumps(d))
    with pytest.raises(RecordError, match=match):
        load_record(p)


def test_as_record_accepts_records_dicts_results_and_paths(record, tmp_path):
    assert records.as_record(record) is record
    assert records.as_record(record.data).data is record.data
    path = write_record(record, tmp_path)
    assert records.as_record(str(path)).data == load_record(path).data
    with pytest.raises(TypeError, match="got int"):
        records.as_record(3)


def test_parquet_table_appends_and_polars_reads_it(record, tmp_path):
    import polars as pl

    table = tmp_path / "records.parquet"
    append_parquet(record, table)
    append_parquet(record, table)  # the same record again replaces its rows
    n = len(record.data["measurements"])
    df = pl.read_parquet(table)
    assert df.height == n
    other = json.loads(json.dumps(record.data))
    other["id"] = "another-run"
    other["hardware_index"] = {"value": 1.1}
    append_parquet(other, table)
    df = read_table(table)
    assert df.height == 2 * n
    assert set(df["record_id"].unique().to_list()) == {record.data["id"], "another-run"}
    assert {"operation", "backend", "median_s", "cv", "samples", "raw_s", "score", "tier"} <= set(df.columns)
    assert df["raw_s"].dtype == pl.List(pl.Float64)
    first = df.filter(pl.col("record_id") == record.data["id"]).row(0, named=True)
    m0 = record.data["measurements"][0]
    assert first["raw_s"] == pytest.approx(m0["raw_s"]) and first["median_s"] == pytest.approx(m0["median_s"])


def test_a_damaged_parquet_table_is_named(record, tmp_path):
    bad = tmp_path / "records.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(RecordError, match=f"^{bad}: not a readable Parquet table"):
        append_parquet(record, bad)
    with pytest.raises(RecordError, match="no such file"):
        read_table(tmp_path / "none.parquet")


def test_asv_skips_the_kit_folder_and_still_finds_its_own(record, tmp_path, caplog):
    asv_results = pytest.importorskip("asv.results")
    results = tmp_path / "results"
    kit_dir = results / "kit"
    write_record(record, kit_dir, f"reference-{record.machine_id}.json")
    append_parquet(record, kit_dir / "records.parquet")
    machine = results / "m1"
    machine.mkdir()
    (machine / "machine.json").write_text(json.dumps({"machine": "m1", "version": 1}))
    (machine / "abc12345-env.json").write_text("{}")
    (results / "benchmarks.json").write_text("{}")
    found = list(asv_results.iter_results_paths(str(results)))
    assert [(r, f) for r, f, _ in found] == [(str(machine), "abc12345-env.json")]
    assert not any(str(kit_dir) == r for r, _, _ in found)


def test_find_reference_and_latest(record, tmp_path):
    write_record(record, tmp_path, "reference-other.json")
    assert records.find_reference(tmp_path, machine_id="zzz").name == "reference-other.json"
    mine = write_record(record, tmp_path, f"reference-{record.machine_id}-quick.json")
    full = write_record(record, tmp_path, f"reference-{record.machine_id}-full.json")
    assert records.find_reference(tmp_path, machine_id=record.machine_id, preset="quick") == mine
    assert records.find_reference(tmp_path, machine_id=record.machine_id, preset="full") == full
    assert records.find_reference(tmp_path, machine_id="zzz", preset="quick").name != "reference-other.json"
    with pytest.raises(RecordError, match="no kit record"):
        records.latest_record(tmp_path)
    run = write_record(record, tmp_path)
    assert records.latest_record(tmp_path) == run


# --- files that are not records: refused before (or without) reading them whole -------------------

def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)
    with pytest.raises(RecordError, match="is a named pipe .FIFO., expected a record file"):
        load_record(fifo)  # no writer ever comes: opening it would block forever


def test_a_device_is_refused_without_reading_it(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(RecordError, match="/dev/zero: is a character device"):
        load_record("/dev/zero")


def test_a_file_larger_than_any_record_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(records.store, "MAX_RECORD_BYTES", 1000)
    p = tmp_path / "big.json"
    p.write_text(" " * 1001)
    with pytest.raises(RecordError, match="1001 bytes, larger than any kit record .at most 1000."):
        load_record(p)


def test_json_nested_too_deeply_is_one_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RecordError, match="nested too deeply"):
        load_record(p)


def test_a_score_of_nan_in_the_file_is_refused(record, tmp_path):
    d = json.loads(json.dumps(record.data))
    text = json.dumps(d).replace(json.dumps(d["score"]["value"]), "NaN", 1)
    with pytest.raises(RecordError, match="score.value must be a finite number, got nan"):
        load_record(_write(tmp_path, "nan.json", text))
