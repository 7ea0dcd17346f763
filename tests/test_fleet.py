"""kit fleet: the outlier rule (seeded simulations), fault specs, and a real LocalCluster on loopback.

The cluster tests use three worker processes on 127.0.0.1, one operation pair on medium payloads and
no retries, and the thread clock (``KIT_CLOCK=thread``, inherited by the workers), as kit's other
measuring tests do: what they assert is logic (who is flagged at a 3x slowdown, what a killed worker
becomes), never a time.
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys

import pytest

from kit.errors import KitError
from kit.fleet.faults import expand, parse_slowdowns
from kit.fleet.outliers import MAD_SCALE, OVERALL, OutlierRule, fleet_outliers, robust_outliers
from kit.fleet.run import machine_labels

OPS = ["fingerprint", "json.encode"]
SIZES = ["medium"]


# --- the outlier rule, on seeded simulated indexes -------------------------------------------------


def _fleet(rng, n, sigma, odd=None, factor=1.0, categories=("json", "hashing", "compression")):
    """``{machine: {category: (v, lo, hi)}}``: lognormal noise around 1, one machine ``factor`` slower."""
    out = {}
    for i in range(n):
        m = f"n{i:02d}"
        slow = factor if m == odd else 1.0
        cats = {c: math.exp(rng.gauss(0.0, sigma)) / slow for c in categories}
        cats[OVERALL] = math.exp(sum(math.log(v) for v in cats.values()) / len(cats))
        out[m] = {c: (v, v * 0.97, v * 1.03) for c, v in cats.items()}
    return out


@pytest.mark.parametrize("n", [3, 5, 20])
def test_identical_machines_noise_is_never_flagged(n):
    import random

    for seed in range(200):
        rng = random.Random(seed)
        flagged = fleet_outliers(_fleet(rng, n, sigma=0.04)).machines
        assert flagged == [], (seed, flagged)


@pytest.mark.parametrize("n", [3, 5, 20])
def test_a_machine_one_and_a_half_times_slower_is_flagged_and_only_it(n):
    import random

    for seed in range(200):
        rng = random.Random(seed)
        res = fleet_outliers(_fleet(rng, n, sigma=0.04, odd="n01", factor=1.5))
        assert res.machines == ["n01"], (seed, res.machines)
        assert res.outlier("n01").direction == "slower"


def test_the_minimum_effect_keeps_a_small_difference_unflagged_when_the_others_agree_exactly():
    values = {f"m{i}": 1.0 for i in range(9)} | {"odd": 1.15}
    d = robust_outliers(values)
    assert d["odd"].robust_sd == 0.0  # the MAD alone would flag any difference at all
    assert not d["odd"].flagged
    assert robust_outliers(values, rule=OutlierRule(min_effect=0.10))["odd"].flagged
    assert d["odd"].direction == "faster"


def test_the_spread_of_a_heterogeneous_fleet_widens_the_limit():
    import random

    rng = random.Random(7)
    values = {f"m{i}": math.exp(rng.gauss(0.0, 0.3)) for i in range(30)}
    values["odd"] = math.exp(0.35)  # 42% faster: beyond the minimum effect, within this fleet's spread
    d = robust_outliers(values)["odd"]
    assert d.threshold > math.log1p(0.25) and not d.flagged
    values["far"] = math.exp(2.5)  # 12x: beyond 3.5 robust sd
    assert robust_outliers(values)["far"].flagged


def test_the_judged_machine_is_left_out_of_the_spread():
    import random

    rng = random.Random(3)
    values = {f"m{i}": math.exp(rng.gauss(0.0, 0.02)) for i in range(6)} | {"slow": 1 / 1.5}
    d = robust_outliers(values)
    assert d["slow"].flagged and not any(d[m].flagged for m in values if m != "slow")
    # the slow machine's own deviation is not in the spread it is judged by
    med = statistics.median(math.log(v) for v in values.values())
    with_itself = MAD_SCALE * statistics.median(abs(math.log(v) - med) for v in values.values())
    assert 0 < d["slow"].robust_sd < with_itself


def test_the_spread_of_fewer_than_four_peers_is_not_used():
    # two peers 13% apart: 3.5 x 1.4826 x half their distance would be a 1.37x limit; the minimum
    # effect alone (1.25x) sets it, and a 1.5x slower third machine is flagged
    d = robust_outliers({"a": 1.0, "b": 1.13, "slow": 1 / 1.5})
    assert d["slow"].robust_sd == 0.0 and d["slow"].threshold == pytest.approx(math.log(1.25))
    assert d["slow"].flagged and not d["a"].flagged and not d["b"].flagged
    assert d["slow"].median == pytest.approx(1.0)


def test_a_category_measured_on_too_few_machines_flags_nothing_and_says_why():
    d = robust_outliers({"a": 1.0, "b": 0.2})
    assert not any(x.flagged for x in d.values())
    assert "at least 3" in d["b"].note
    assert robust_outliers({}) == {}


def test_a_category_beyond_its_limit_is_named_and_the_overall_index_decides_the_flag():
    fleet = {m: {OVERALL: (1.0, 0.98, 1.02), "json": (1.0, 0.98, 1.02), "hashing": (1.0, 0.98, 1.02)}
             for m in ("a", "b", "c", "d")}
    fleet["d"]["hashing"] = (0.6, 0.58, 0.62)
    fleet["d"][OVERALL] = (0.77, 0.75, 0.79)  # sqrt(0.6): 23% slower overall, beyond 1/1.25
    res = fleet_outliers(fleet)
    assert [x.category for x in res.beyond("d")] == ["hashing"]
    assert res.machines == ["d"]
    fleet["d"][OVERALL] = (0.9, 0.88, 0.92)  # one category alone, the overall within the limit
    res = fleet_outliers(fleet)
    assert [x.category for x in res.beyond("d")] == ["hashing"] and res.machines == []


@pytest.mark.parametrize("kw, what", [({"z": 0}, "z must be"), ({"min_effect": -1}, "min_effect"),
                                      ({"min_machines": 1}, "min_machines"), ({"spread_peers": 1}, "spread_peers")])
def test_rule_parameters_are_checked(kw, what):
    with pytest.raises(ValueError, match=what):
        OutlierRule(**kw)


def test_indexes_must_be_positive():
    with pytest.raises(ValueError, match="positive finite"):
        robust_outliers({"a": 1.0, "b": 0.0, "c": 1.0})


# --- fault specs and labels --------------------------------------------------------------------------


def test_slowdown_specs_parse_both_forms():
    assert parse_slowdowns(["worker-1=1.5", "worker-1=digest:blake3=3", "2=2"]) == {
        "worker-1": {"*": 1.5, "digest:blake3": 3.0}, "2": {"*": 2.0}}


@pytest.mark.parametrize("spec, what", [
    ("worker-1", "WORKER=FACTOR"), ("=2", "WORKER=FACTOR"), ("w=fast", "not a number"), ("w=0.5", ">= 1"),
    ("w=nope:x=2", "nope"), ("w=digest:nope=2", "nope"), ("w=digest=2", "not OP:BACKEND"), ("w=nan", ">= 1"),
])
def test_bad_slowdown_specs_say_what_is_allowed_in_one_line(spec, what):
    with pytest.raises(KitError, match=what) as err:
        parse_slowdowns([spec])
    assert "\n" not in str(err.value)


def test_a_whole_machine_slowdown_expands_to_every_available_backend_of_the_measured_operations():
    from kit import registry as _registry

    got = expand({"*": 2.0, "fingerprint:xxh3_128": 3.0}, ["fingerprint"])
    assert got["fingerprint:xxh3_128"] == 3.0
    assert set(got) == {f"fingerprint:{b.name}" for b in _registry.backends("fingerprint") if b.available}


def test_machine_labels_are_unique_and_safe_in_a_partition_path():
    workers = {"tcp://10.0.0.5:1": {"name": "tcp://10.0.0.5:1", "host": "10.0.0.5"},
               "tcp://10.0.0.5:2": {"name": "tcp://10.0.0.5:2", "host": "10.0.0.5"},
               "tcp://10.0.0.6:1": {"name": "rack/7 node=1", "host": "10.0.0.6"},
               "tcp://10.0.0.7:1": {"name": 3, "host": "10.0.0.7"}}
    labels = machine_labels(workers, {"tcp://10.0.0.5:1": "n05", "tcp://10.0.0.5:2": "n05"})
    assert labels == {"tcp://10.0.0.5:1": "n05", "tcp://10.0.0.5:2": "n05-2", "tcp://10.0.0.6:1": "rack-7-node-1",
                      "tcp://10.0.0.7:1": "worker-3"}


def test_import_kit_fleet_loads_no_dask():
    code = ("import sys, kit, kit.fleet, kit.cli; kit.cli.build_parser(); "
            "print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- a real LocalCluster on loopback -----------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed", reason="dask.distributed is not installed (kit's dask extra)")
    from kit.fleet.run import local_cluster

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KIT_CLOCK", "thread")  # the worker processes inherit it
        with local_cluster(3) as c:
            assert c.scheduler.address.startswith("tcp://127.0.0.1:")
            assert all(a.startswith("tcp://127.0.0.1:") for a in c.scheduler_info()["workers"])
            yield c


@pytest.fixture(scope="module")
def slowed(client, tmp_path_factory):
    """One fleet run with worker-1 three times slower, stored; and the events it reported."""
    from kit.fleet.run import score_fleet
    from kit.fleet.store import save_run

    events = []
    run = score_fleet(client, operations=OPS, sizes=SIZES, retries=0, slowdowns=parse_slowdowns(["worker-1=3"]),
                      progress=lambda e, m: events.append((e, m.label)), scheduler="local 3")
    root = tmp_path_factory.mktemp("fleet")
    save_run(run, root)
    return run, root, events


def test_every_worker_is_scored_one_at_a_time_with_the_fault_only_on_its_worker(slowed):
    run, _, events = slowed
    assert [(m.label, m.status) for m in run.machines] == [("worker-0", "ok"), ("worker-1", "ok"), ("worker-2", "ok")]
    # one host: each run starts only after the previous one ended
    assert events == [(e, f"worker-{i}") for i in range(3) for e in ("start", "ok")]
    injected = run.machine("worker-1").record.data["injected_slowdown"]
    assert injected and set(injected.values()) == {3.0}
    assert {k.split(":")[0] for k in injected} == set(OPS)  # expanded on the worker, for its operations
    assert not run.machine("worker-0").record.data["injected_slowdown"]
    assert len({m.pid for m in run.machines}) == 3  # three processes, each its own record
    for m in run.machines:
        assert m.clock == "thread"
        assert {x["operation"] for x in m.record.measurements} == set(OPS)


def test_the_slowed_worker_is_flagged(slowed):
    # Live measurements on one host: the worker slowed 3x is far beyond any limit. Whether an
    # unslowed worker stays unflagged depends on what else loads the machine: the seeded tests above
    # decide that property (identical machines never flagged), the fleet drill measures it live.
    from kit.fleet.report import fleet_report

    run, root, _ = slowed
    rep = fleet_report(run.run_id, directory=root)
    assert "worker-1" in rep.flagged and rep.row("worker-1").flag == "slower outlier"
    assert rep.row("worker-1").is_outlier and {d.category for d in rep.row("worker-1").beyond} == {"json", "hashing"}
    assert rep.row("worker-1").index[0] < rep.row("worker-0").index[0] / 2
    text = str(rep)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "worker-1: injected slowdown every backend x3" in text
    json.dumps(rep.to_dict(), allow_nan=False)


def test_a_stored_run_reads_back_as_records_and_a_partitioned_dataset(slowed):
    import polars as pl
    import pyarrow.compute as pc

    from kit.fleet.store import dataset, list_runs, load_run
    from kit.records import load_record

    run, root, _ = slowed
    assert list_runs(root) == [run.run_id]
    back = load_run(None, root)
    assert [(m.label, m.status) for m in back.machines] == [(m.label, m.status) for m in run.machines]
    for m in run.machines:
        rec = load_record(root / run.run_id / "records" / f"{m.label}.json")  # kit score's schema
        assert rec.data == back.machine(m.label).record.data == m.record.data
    table = dataset(root).to_table(filter=pc.field("selected"))
    assert sorted(set(table["machine"].to_pylist())) == ["worker-0", "worker-1", "worker-2"]
    assert set(table["run"].to_pylist()) == {run.run_id}
    # the query docs/fleet.md shows
    history = pl.scan_parquet(root / "dataset" / "**" / "*.parquet", hive_partitioning=True)
    per = (history.filter(pl.col("selected")).group_by("run", "machine")
           .agg(pl.col("throughput_Bps").median().alias("throughput"), pl.col("score").first())
           .sort("machine").collect())
    assert per["machine"].to_list() == ["worker-0", "worker-1", "worker-2"]
    fast, slow = per["throughput"][0], per["throughput"][1]
    assert slow < fast / 2
    n = sum(len(m.record.measurements) for m in run.machines)
    assert history.select(pl.len()).collect().item() == n


def test_the_report_command_prints_a_table_writes_html_and_exits_1_on_an_outlier(slowed, capsys, tmp_path):
    from kit.cli import main

    run, root, _ = slowed
    assert main(["fleet", "report", run.run_id, "--results", str(root), "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert max(len(line.replace(str(tmp_path), "DIR")) for line in out.splitlines()) <= 100
    assert "slower outlier" in out and "worker-1" in out
    page = (tmp_path / "fleet-report.html").read_text()
    assert "data:image/png;base64," in page and "worker-2" in page
    assert (tmp_path / "fleet-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["fleet", "report", "--results", str(root), "--json", "--no-html"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert "worker-1" in data["flagged"] and [m["machine"] for m in data["machines"]][1] == "worker-1"


def test_against_a_reference_each_machine_gets_a_verdict(slowed, capsys, tmp_path):
    from kit.cli import main
    from kit.fleet.report import VERDICTS, fleet_report

    run, root, _ = slowed
    ref = root / run.run_id / "records" / "worker-0.json"
    rep = fleet_report(run, against=ref)
    assert all(r.verdict in VERDICTS and r.verdict_reason for r in rep.rows)
    assert rep.reference.startswith("worker-0.json")  # placed against the reference given
    assert rep.row("worker-0").index[0] == pytest.approx(1.0, rel=0.05)
    main(["fleet", "report", run.run_id, "--results", str(root), "--against", str(ref), "--no-html"])
    out = capsys.readouterr().out
    assert "validation" in out and max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize("argv, what", [
    (["fleet", "report", "nope"], "no fleet run 'nope'"),
    (["fleet", "score", "--local", "3", "--inject-slowdown", "worker-1"], "WORKER=FACTOR"),
    (["fleet", "score", "--local", "0"], "--local expects"),
    (["fleet", "score", "--local", "2", "--op", "nope"], "nope"),
])
def test_bad_input_is_one_line_and_exit_2(argv, what, capsys, tmp_path):
    from kit.cli import main

    assert main([*argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert what in err and len(err.splitlines()) == 1


def test_an_unreachable_scheduler_is_one_clear_error():
    from kit.fleet.run import connect

    pytest.importorskip("distributed", reason="dask.distributed is not installed (kit's dask extra)")
    with pytest.raises(KitError, match="cannot reach the dask scheduler"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


def test_a_slowdown_naming_no_worker_lists_the_workers(client):
    from kit.fleet.run import score_fleet

    with pytest.raises(KitError, match="worker-0 .*worker-2"):
        score_fleet(client, operations=OPS, slowdowns={"worker-9": {"*": 2.0}})


def test_a_run_past_its_timeout_is_reported_and_its_worker_restarted(client):
    from itertools import count

    from kit.fleet.run import score_fleet

    ticks = count(0, 1000)  # every reading of the clock is 1000 s after the last: the first check is late
    run = score_fleet(client, workers=["worker-0"], timeout=10, clock=lambda: next(ticks), poll=0.01)
    (m,) = run.machines
    assert (m.label, m.status) == ("worker-0", "timed out")
    assert "no record within 10 s" in m.reason and "restarted" in m.reason
    client.wait_for_workers(3)  # its nanny started a fresh process: the cluster is whole again


def test_a_worker_killed_mid_run_is_reported_and_the_others_records_are_kept(tmp_path, monkeypatch):
    # A cluster of its own: on the shared one, a worker the timeout test had restarted was once still
    # going away when this test began, and its run was reported "died" with worker-1's.
    pytest.importorskip("distributed", reason="dask.distributed is not installed (kit's dask extra)")
    from kit.fleet.report import fleet_report
    from kit.fleet.run import local_cluster, score_fleet
    from kit.fleet.store import load_run, save_run

    monkeypatch.setenv("KIT_CLOCK", "thread")
    with local_cluster(3) as client:
        _kill_worker_1_mid_run(client, tmp_path, fleet_report, score_fleet, load_run, save_run)


def _kill_worker_1_mid_run(client, tmp_path, fleet_report, score_fleet, load_run, save_run):
    client.wait_for_workers(3)

    def kill_worker_1_once_it_runs(event, m):
        if event == "start" and m.label == "worker-1":
            for _ in range(2000):  # until the scheduler has handed it the task (seconds at most)
                if client.processing([m.address]).get(m.address):
                    break
                client.scheduler_info()  # a round trip instead of a sleep
            os.kill(m.pid, signal.SIGKILL)

    run = score_fleet(client, operations=OPS, sizes=SIZES, retries=0, progress=kill_worker_1_once_it_runs)
    status = {m.label: m.status for m in run.machines}
    assert status == {"worker-0": "ok", "worker-1": "died", "worker-2": "ok"}
    assert "died" in run.machine("worker-1").reason or "left the cluster" in run.machine("worker-1").reason
    save_run(run, tmp_path)
    back = load_run(run.run_id, tmp_path)
    assert back.machine("worker-1").record is None and back.machine("worker-2").record is not None
    rep = fleet_report(back)
    assert rep.row("worker-1").flag == "died" and rep.flagged == []
    assert "worker-1 died" in str(rep)
    assert "2 machine(s) with a hardware index" in str(rep)  # two left: no outlier can be named
    json.dumps(rep.to_dict(), allow_nan=False)  # no limit to report is null, not Infinity
