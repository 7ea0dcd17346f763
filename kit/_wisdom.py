"""Wisdom: the engine's verifications and selections, stored per machine.

One JSON file per machine fingerprint in the cache directory
(``wisdom-<id>.json``). An operation's entry is *fresh* only while kit's
version, the machine and every available backend's version are those it was
measured with; otherwise it is ignored and re-measured. A damaged file is
ignored with a warning, never trusted. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

from kit import _registry

SCHEMA = 1


def default_cache_dir() -> Path:
    """``KIT_CACHE_DIR`` or the user cache directory (platformdirs)."""
    env = os.environ.get("KIT_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kit", appauthor=False))


def _versions(op: _registry.Operation) -> dict[str, str | None]:
    import kit

    out: dict[str, str | None] = {"kit": kit.__version__}
    for b in _registry.backends(op.name):
        out[b.name] = b.version if b.available else None
    return out


def _corpus_tag() -> str:
    from kit._data import shared_data

    return "shared" if shared_data() is not None else "builtin"


class Wisdom:
    """Stored verifications and selections of this machine."""

    def __init__(self, cache_dir: Any = None) -> None:
        from kit.machine import fingerprint, fingerprint_id

        self.cache_dir_setting = None if cache_dir is None else os.fspath(cache_dir)
        self.dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.machine = fingerprint()
        self.path = self.dir / f"wisdom-{fingerprint_id(self.machine)}.json"
        self._lock = threading.RLock()
        self._data = self._load()
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        empty = {"schema": SCHEMA, "machine": self.machine, "operations": {}}
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return empty
        except OSError as exc:
            warnings.warn(f"kit: cannot read wisdom {self.path}: {exc}; measuring afresh", stacklevel=3)
            return empty
        try:
            data = json.loads(raw)
            if data.get("schema") != SCHEMA or data.get("machine") != self.machine:
                return empty
            if not isinstance(data.get("operations"), dict):
                raise ValueError("no 'operations' table")
            return data
        except ValueError as exc:
            warnings.warn(f"kit: ignoring damaged wisdom file {self.path} ({exc}); measuring afresh", stacklevel=3)
            return empty

    def _entry(self, op: _registry.Operation) -> dict[str, Any]:
        ops = self._data["operations"]
        entry = ops.get(op.name)
        versions = _versions(op)
        if entry is None or entry.get("versions") != versions or entry.get("corpus") != _corpus_tag():
            entry = ops[op.name] = {"versions": versions, "corpus": _corpus_tag(), "verified": {}}
        return entry

    # --- verification ---------------------------------------------------------------

    def verification(self, op: _registry.Operation, b: _registry.Backend) -> Any:
        from kit.engine import Verification

        with self._lock:
            stored = self._entry(op)["verified"].get(b.name)
        if stored is None:
            return None
        return Verification(op.name, b.name, stored["cases"], list(stored["problems"]),
                            list(stored["gives_way"]), stored["seconds"])

    def store_verification(self, op: _registry.Operation, b: _registry.Backend, v: Any) -> None:
        with self._lock:
            self._entry(op)["verified"][b.name] = v.to_dict()
            self._dirty = True
        self.save()

    # --- selection --------------------------------------------------------------------

    def selection(self, op: _registry.Operation) -> dict[str, str] | None:
        """``size -> backend`` when fresh wisdom exists for the operation."""
        with self._lock:
            sel = self._entry(op).get("selected")
        return dict(sel) if sel else None

    def store_selection(self, op: _registry.Operation, selected: dict[str, str], rows: list[Any], preset: str) -> None:
        with self._lock:
            entry = self._entry(op)
            old = entry.get("selected") or {}
            entry["selected"] = {**old, **selected}
            measured = entry.setdefault("measured", {})
            for r in rows:
                measured.setdefault(r.size, {}).setdefault(r.kind, {})[r.backend] = {
                    "median_s": r.measurement.median, "throughput_Bps": r.measurement.throughput,
                    "speedup": r.speedup[0], "cv": r.measurement.cv,
                }
            entry["preset"] = preset
            entry["when"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            self._dirty = True

    def save(self) -> None:
        """Write atomically; a failure to write is a warning, not an error."""
        with self._lock:
            if not self._dirty:
                return
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".wisdom-", dir=self.dir)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(self._data, f, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
                self._dirty = False
            except OSError as exc:
                warnings.warn(f"kit: cannot write wisdom to {self.path}: {exc}", stacklevel=3)

    def clear(self) -> None:
        """Forget everything measured on this machine."""
        with self._lock:
            self._data = {"schema": SCHEMA, "machine": self.machine, "operations": {}}
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def describe(self) -> dict[str, Any]:
        with self._lock:
            n = sum(1 for e in self._data["operations"].values() if e.get("selected"))
        state = "absent" if not self.path.exists() else f"{n} operations measured"
        return {"path": str(self.path), "state": state}
