"""kit.config's public surface: the generation, change callbacks, contexts, the checks it applies.

Callers (the engine, the handlers, kit.json) use these functions only, as scikit-learn's ``_config``
asks; the configuration is a leaf that imports neither the registry nor the engine.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import kit
from kit import config


def test_every_change_advances_the_generation_and_calls_back():
    seen: list[int] = []
    stop = config.on_change(lambda: seen.append(config.generation()))
    try:
        g = config.generation()
        kit.set_config(tune=kit.get_config()["tune"])
        with kit.config_context(tune="off"):
            pass
        config.mark_changed()
        assert config.generation() == g + 4  # set, enter, leave, mark
        assert seen == [g + 1, g + 2, g + 3, g + 4]
    finally:
        stop()
    kit.set_config(tune=kit.get_config()["tune"])
    assert len(seen) == 4  # removed: no further calls
    assert config.generation_cell()[0] == config.generation()
    assert config.generation_cell() is config.generation_cell()  # one shared cell, taken once


def test_contexts_are_seen_from_every_thread_and_identify_the_configuration():
    outside = config.config_id()
    assert not config.contexts_active()
    inside, other = [], []
    entered, leave = threading.Event(), threading.Event()

    def in_context() -> None:
        with kit.config_context(tune="off"):
            inside.append(config.config_id())
            entered.set()
            leave.wait(5)

    t = threading.Thread(target=in_context)
    t.start()
    assert entered.wait(5)
    other.append((config.contexts_active(), config.config_id()))
    leave.set()
    t.join(5)
    assert other == [(True, outside)]  # this thread still reads the process's configuration
    assert inside[0] != outside
    assert not config.contexts_active()


def test_backend_names_are_checked_through_the_installed_check():
    with pytest.raises(config.ConfigError, match="unknown backend 'md5' for 'digest'; valid backends: "):
        kit.set_config(backends={"digest": "md5"})
    calls = []

    def check(op: str, backend: str) -> None:
        calls.append((op, backend))
        raise ValueError(f"no {backend} here")

    previous = config.check_backends_with(check)
    try:
        with pytest.raises(config.ConfigError, match=r"backends=\{'digest': 'x'\}: no x here"):
            with kit.config_context(backends={"digest": "x"}):
                pass
        assert calls == [("digest", "x")]
    finally:
        assert config.check_backends_with(previous) is check


def test_the_configuration_is_a_leaf():
    # Importing kit and reading the configuration loads no registry, engine or library.
    code = ("import sys, kit; kit.get_config(); kit.config.generation()\n"
            "print(sorted(m for m in sys.modules if m.startswith('kit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['kit', 'kit._version', 'kit.config', 'kit.errors']"


def test_check_folder_names_the_setting_and_the_problem(tmp_path):
    assert config.check_folder("KIT_RESULTS_DIR", tmp_path) == str(tmp_path)
    a_file = tmp_path / "f"
    a_file.write_text("")
    with pytest.raises(config.ConfigError, match="KIT_RESULTS_DIR=.*: a file, not a folder; expected a folder"):
        config.check_folder("KIT_RESULTS_DIR", a_file)


def test_the_clock_table_is_the_one_measurement_reads():
    import kit.engine.measure

    assert kit.engine.measure.CLOCKS is config.CLOCKS
    assert list(config.CLOCKS) == ["wall", "thread"]
