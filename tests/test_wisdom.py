"""Wisdom on disk: concurrent writers merge entry by entry under a file lock; run-to-run noise is kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from kit import registry as _registry
from kit.engine.wisdom import Wisdom, file_lock
from kit.engine import Row
from kit.engine.measure import Measurement

# A writer process: it loads the wisdom, waits until every writer has loaded (so that each holds a view
# without the others' entries, the case where the last writer used to win), then stores its own choice
# for one operation and writes. Selections are stored with measured rows, as Engine.tune does.
WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from kit import registry as _registry
    from kit.engine.wisdom import Wisdom
    from kit.engine import Row
    from kit.engine.measure import Measurement

    folder, op_name, me, writers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    w = Wisdom(folder)
    op = _registry.operation(op_name)
    assert w.selection(op) is None
    Path(folder, "ready-" + me).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).glob("ready-*"))) < writers:
        if time.monotonic() > deadline:
            sys.exit("the other writer never started")
        time.sleep(0.005)
    for i, size in enumerate(op.sizes):
        m = Measurement(op.baseline, [1e-3, 1.1e-3, 0.9e-3], 1, 100)
        w.store_selection(op, {size: op.baseline}, [Row(op_name, size, op.kinds[0], op.baseline, m,
                                                        (1.0, 1.0, 1.0), True)], "quick",
                          {size: "kept " + op.baseline + " (writer " + me + ")"})
        w.save()
    print("ok")
""")


def _writers(folder, ops):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), op, str(i), str(len(ops))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, op in enumerate(ops)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and out.strip() == "ok", err


def test_two_processes_writing_different_operations_lose_no_entry(tmp_path):
    _writers(tmp_path, ["digest", "fingerprint"])
    w = Wisdom(tmp_path)
    for name in ("digest", "fingerprint"):
        op = _registry.operation(name)
        assert w.selection(op) == {s: op.baseline for s in op.sizes}, name
        assert set(w.reasons(op)) == set(op.sizes)
    data = json.loads(w.path.read_text())
    assert {"digest", "fingerprint"} <= set(data["operations"])


def test_two_writers_of_one_operation_keep_both_size_classes(tmp_path):
    a, b = Wisdom(tmp_path), Wisdom(tmp_path)  # two views loaded before either writes
    op = _registry.operation("digest")
    m = Measurement(op.baseline, [1e-3] * 3, 1, 100)
    a.store_selection(op, {"small": "blake3"}, [Row("digest", "small", "random", "blake3", m, (2.0, 1.9, 2.1), False)],
                      "quick", {"small": "switched"})
    b.store_selection(op, {"large": op.baseline}, [Row("digest", "large", "random", op.baseline, m, (1.0, 1.0, 1.0), True)],
                      "quick", {"large": "kept"})
    a.save()
    b.save()
    assert b.selection(op) == {"small": "blake3", "large": op.baseline}  # b now also sees a's entry
    fresh = Wisdom(tmp_path)
    assert fresh.selection(op) == {"small": "blake3", "large": op.baseline}
    assert fresh.reasons(op) == {"small": "switched", "large": "kept"}
    measured = json.loads(fresh.path.read_text())["operations"]["digest"]["measured"]
    assert set(measured) == {"small", "large"}


def test_the_lock_excludes_another_process(tmp_path):
    # Each process increments a counter 200 times under the lock: with mutual exclusion none is lost.
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from kit.engine.wisdom import file_lock
        counter = Path(sys.argv[1]) / "counter"
        for _ in range(200):
            with file_lock(Path(sys.argv[1]) / "counter.lock"):
                n = int(counter.read_text()) if counter.exists() else 0
                counter.write_text(str(n + 1))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert (tmp_path / "counter").read_text() == "400"


def test_a_lock_held_too_long_times_out(tmp_path):
    code = ("import sys, time\nfrom pathlib import Path\nfrom kit.engine.wisdom import file_lock\n"
            "with file_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "x.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError, match="stayed locked"):
            with file_lock(tmp_path / "x.lock", timeout=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()
    with file_lock(tmp_path / "x.lock", timeout=5):  # released when its holder died
        pass


def test_a_write_that_cannot_get_the_lock_warns_and_keeps_the_change(tmp_path, monkeypatch):
    import kit.engine.wisdom as wisdom_module

    w = Wisdom(tmp_path)
    op = _registry.operation("digest")
    m = Measurement(op.baseline, [1e-3] * 3, 1, 100)
    w.store_selection(op, {"small": op.baseline}, [Row("digest", "small", "random", op.baseline, m, (1, 1, 1), True)],
                      "quick")

    def never(path, timeout=0):
        raise TimeoutError(f"{path} stayed locked for 30 s")

    monkeypatch.setattr(wisdom_module, "file_lock", never)
    with pytest.warns(UserWarning, match="cannot write wisdom"):
        w.save()
    monkeypatch.undo()
    w.save()  # the change was kept for the next write
    assert Wisdom(tmp_path).selection(op) == {"small": op.baseline}


def test_run_noise_is_stored_pooled_and_merged_across_writers(tmp_path):
    a, b = Wisdom(tmp_path), Wisdom(tmp_path)
    a.store_run_noise("quick/wall", {"absolute/hashing": (0.0004, 4), "relative/hashing": (0.0001, 4)}, runs=5)
    b.store_run_noise("quick/wall", {"absolute/hashing": (0.0001, 4)}, runs=5)
    a.save()
    b.save()
    noise = Wisdom(tmp_path).run_noise("quick/wall")
    sd, df = noise["absolute/hashing"]
    assert df == 8 and sd == pytest.approx((0.0005 / 2) ** 0.5)
    assert noise["relative/hashing"] == (pytest.approx(0.01), 4)
    assert Wisdom(tmp_path).noise_runs("quick/wall") == 10
    assert Wisdom(tmp_path).run_noise("full/wall") == {}
    c = Wisdom(tmp_path)
    for i in range(30):  # only the newest observations are kept
        c.store_run_noise("quick/wall", {"absolute/hashing": (0.0009, 1)}, runs=2 + i % 2)
    c.save()
    data = json.loads(c.path.read_text())
    assert len(data["run_noise"]["quick/wall"]) == 20
    assert Wisdom(tmp_path).run_noise("quick/wall")["absolute/hashing"] == (pytest.approx(0.03), 20)


def test_a_damaged_run_noise_table_is_ignored(tmp_path):
    w = Wisdom(tmp_path)
    w.dir.mkdir(parents=True, exist_ok=True)
    w.path.write_text(json.dumps({"schema": 1, "machine": w.machine, "operations": {}, "run_noise": [1, 2]}))
    assert Wisdom(tmp_path).run_noise("quick/wall") == {}


def test_clear_forgets_selections_and_noise(tmp_path):
    w = Wisdom(tmp_path)
    w.store_run_noise("quick/wall", {"absolute/hashing": (0.0004, 4)}, runs=5)
    w.save()
    assert w.path.exists()
    w.clear()
    assert not w.path.exists() and Wisdom(tmp_path).run_noise("quick/wall") == {}
    with file_lock(w.lock_path, timeout=1):  # clear released the lock
        pass
