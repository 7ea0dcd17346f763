"""`kit info`, `kit bench`, `kit versions`: tables, --json, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, timeout=300)


def test_info_table_and_json():
    r = kit("info", "--no-verify")
    assert r.returncode == 0 and "json.decode" in r.stdout and "backends available" in r.stdout
    r = kit("info", "--json")
    data = json.loads(r.stdout)
    rows = {(b["operation"], b["backend"]): b for b in data["backends"]}
    assert rows[("json.decode", "orjson")]["verified"] is False
    assert rows[("digest", "hashlib.sha256")]["verified"] is True


def test_bench_quick_restricted_json():
    r = kit("bench", "--op", "fingerprint", "--size", "small", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["selected"]["fingerprint"]["small"] in {"hashlib.blake2b", "xxh3_128"}
    row = data["rows"][0]
    assert row["baseline"] and row["samples"] >= 3 and row["ci_low_s"] <= row["median_s"] <= row["ci_high_s"]


def test_bench_table():
    r = kit("bench", "--op", "digest", "--size", "small")
    assert r.returncode == 0
    assert "speed-up" in r.stdout and "engine choices" in r.stdout


def test_user_errors_are_one_line_without_traceback():
    for args, needle in ((["bench", "--op", "json.encodee"], "valid operations: json.encode"),
                         (["bench", "--size", "huge"], "valid: small, medium, large")):
        r = kit(*args)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr and needle in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_versions():
    r = kit("versions", "--json")
    assert json.loads(r.stdout)["kit"]


def _one_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_subcommands_unknown_option_prints_its_own_usage():
    err = kit("bench", "--fast").stderr
    assert err.startswith("usage: kit bench") and "kit bench: error: unrecognized arguments: --fast" in err
    assert "COMMAND" not in err  # not the top-level usage
    err = kit("score", "--quik").stderr
    assert err.startswith("usage: kit score") and "--quik" in err


def test_info_json_selected_is_a_list_of_size_classes():
    data = json.loads(kit("info", "--json", "--no-verify").stdout)
    for row in data["backends"]:
        assert isinstance(row["selected"], list) and set(row["selected"]) <= {"small", "medium", "large"}
        assert row["forced"] is False and isinstance(row["default"], bool)


def test_a_forced_backend_that_failed_verification_says_so_in_info():
    import os

    env = {**os.environ, "KIT_BACKENDS": "json.encode=msgspec"}
    r = subprocess.run([sys.executable, "-m", "kit.cli", "info"], capture_output=True, text=True, env=env)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("msgspec"))
    assert "all (forced), FAILED verification" in line
    r = subprocess.run([sys.executable, "-m", "kit.cli", "info", "--json"], capture_output=True, text=True, env=env)
    row = next(b for b in json.loads(r.stdout)["backends"] if b["operation"] == "json.encode" and b["forced"])
    assert row["backend"] == "msgspec" and row["selected"] == ["small", "medium", "large"] and not row["verified"]


def _bad_config(name: str, value: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "kit.cli", "info", "--no-verify"], capture_output=True, text=True,
                          env={**os.environ, name: value}, timeout=120)


def test_configuration_mistakes_are_one_line_naming_the_variable_and_the_valid_values(tmp_path):
    from kit import registry as _registry

    ops = _registry.operation_names()
    err = _one_line(_bad_config("KIT_BACKENDS", "nope=orjson"))
    assert "KIT_BACKENDS='nope=orjson'" in err and "unknown operation 'nope'" in err
    assert "valid operations: " + ", ".join(ops) in err  # derived from the registry, in its order
    err = _one_line(_bad_config("KIT_BACKENDS", "json.encode=nope"))
    valid = ", ".join(b.name for b in _registry.backends("json.encode"))
    assert "unknown backend 'nope'" in err and f"valid backends: {valid}" in err
    for text in ("json.encode", "json.encode:orjson", "=orjson", "json.encode=orjson=msgspec"):
        err = _one_line(_bad_config("KIT_BACKENDS", text))
        assert f"KIT_BACKENDS={text!r}" in err and "is not operation=backend" in err
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    err = _one_line(_bad_config("KIT_CACHE_DIR", str(a_file)))
    assert f"KIT_CACHE_DIR={str(a_file)!r}: a file, not a folder" in err and "UserWarning" not in err
    err = _one_line(_bad_config("KIT_CACHE_DIR", str(a_file / "below")))
    assert "cannot be created" in err and str(a_file) in err
    err = _one_line(_bad_config("KIT_TUNE", "fast"))
    assert "KIT_TUNE='fast'" in err and "quick, full, off" in err
    err = _one_line(_bad_config("KIT_CLOCK", "cpu"))
    assert "KIT_CLOCK" in err and "'cpu'" in err and "wall, thread" in err
    err = _one_line(_bad_config("KIT_QUICK", "maybe"))
    assert "KIT_QUICK='maybe'" in err and "1, true" in err
    err = _one_line(_results_error(a_file))
    assert f"KIT_RESULTS_DIR={str(a_file)!r}: a file, not a folder" in err


def _results_error(a_file) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "kit.cli", "validate"], capture_output=True, text=True,
                          env={**os.environ, "KIT_RESULTS_DIR": str(a_file)}, timeout=120)


def test_configuration_mistakes_raise_a_kit_error_from_the_library(tmp_path):
    import os

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code = ("import kit\nfrom kit.errors import KitError\ntry:\n    kit.Cache()\nexcept KitError as e:\n"
            "    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "KIT_CACHE_DIR": str(a_file)})
    assert r.stdout.startswith("ConfigError KIT_CACHE_DIR=") and not r.stderr
    import kit
    from kit.config import ConfigError

    with pytest.raises(ConfigError, match="tune='fast': expected one of quick, full, off"):
        kit.set_config(tune="fast")
    with pytest.raises(ConfigError, match="cache_dir.*a file, not a folder"):
        kit.set_config(cache_dir=a_file)


def test_warnings_print_as_one_line_each(tmp_path):
    import os

    from kit.machine import fingerprint_id

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"wisdom-{fingerprint_id()}.json").write_text("{damaged")
    r = subprocess.run([sys.executable, "-m", "kit.cli", "info", "--no-verify"], capture_output=True, text=True,
                       env={**os.environ, "KIT_CACHE_DIR": str(cache)})
    assert r.returncode == 0
    lines = r.stderr.strip().splitlines()
    assert lines and all(ln.startswith("kit info: warning: ") for ln in lines), r.stderr
    assert "damaged wisdom" in r.stderr and "warnings.warn" not in r.stderr and len(set(lines)) == len(lines)


def test_first_use_tuning_says_what_it_does_and_how_long_it_took(fresh_engine, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="kit"):
        fresh_engine.selection("fingerprint", "small")
    text = [r.getMessage() for r in caplog.records]
    assert any("first use of fingerprint" in t and "kit bench --quick" in t and "payload classes" in t
               for t in text), text
    assert any(t.startswith("kit: fingerprint measured in ") for t in text), text
    # measured once: the next call uses the wisdom and says nothing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kit"):
        fresh_engine.selection("fingerprint", "medium")
    assert not caplog.records
