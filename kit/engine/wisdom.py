"""Wisdom: the engine's verifications and selections, stored per machine.

One JSON file per machine fingerprint in the cache directory
(``wisdom-<id>.json``). An operation's entry is *fresh* only while kit's
version, the machine and every available backend's version are those it was
measured with; otherwise it is ignored and re-measured. A damaged file is
ignored with a warning, never trusted.

Several processes may tune at once (two ``kit bench`` in two terminals, a
notebook and a script). A write takes an exclusive lock on
``wisdom-<id>.lock`` (``fcntl.flock``; ``msvcrt.locking`` on Windows; a lock
file created exclusively elsewhere), reads the file again, puts this process's
changes into it entry by entry (a verification per backend, a selection per
size class, a run-to-run observation), and replaces the file atomically (temp
file + rename): no writer loses another's entries.

The same file keeps this machine's *run-to-run noise*: what repeated runs of
``kit score`` showed of how much a figure moves from one run to the next
beyond the spread of its own samples (``run_noise``, per preset and clock, per
category), which widens a single run's intervals (:mod:`kit.stats`).
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from kit import registry as _registry
from kit._paths import atomic_write, cache_dir, file_lock
from kit._version import __version__
from kit.engine.verify import Verification

SCHEMA = 1
#: Run-to-run observations kept per preset and clock (the oldest go first).
NOISE_KEEP = 20


def default_cache_dir() -> Path:
    """``KIT_CACHE_DIR`` or the user cache directory (:func:`kit._paths.cache_dir`)."""
    return cache_dir()


def _versions(op: _registry.Operation) -> dict[str, str | None]:
    out: dict[str, str | None] = {"kit": __version__}
    for b in _registry.backends(op.name):
        out[b.name] = b.version if b.available else None
    return out


def _corpus_tag() -> str:
    from kit._paths import shared_data

    return "shared" if shared_data() is not None else "builtin"


class Wisdom:
    """Stored verifications and selections of this machine."""

    def __init__(self, cache_dir: Any = None) -> None:
        from kit.machine import fingerprint, fingerprint_id

        self.cache_dir_setting = None if cache_dir is None else os.fspath(cache_dir)
        self.dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.machine = fingerprint()
        self.path = self.dir / f"wisdom-{fingerprint_id(self.machine)}.json"
        self.lock_path = self.path.with_suffix(".lock")
        self._lock = threading.RLock()
        self._data = self._load()
        # What this process changed since its last write, entry by entry, for the merge in save().
        self._changes: set[tuple[str, ...]] = set()
        self._new_noise: list[tuple[str, dict[str, Any]]] = []

    @property
    def _dirty(self) -> bool:
        return bool(self._changes or self._new_noise)

    def _empty(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "machine": self.machine, "operations": {}}

    def _load(self, warn: bool = True) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self._empty()
        except OSError as exc:
            if warn:
                warnings.warn(f"kit: cannot read wisdom {self.path}: {exc}; measuring afresh", stacklevel=3)
            return self._empty()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            if data.get("schema") != SCHEMA or data.get("machine") != self.machine:
                return self._empty()
            if not isinstance(data.get("operations"), dict):
                raise ValueError("no 'operations' table")
            if not isinstance(data.get("run_noise", {}), dict):
                data["run_noise"] = {}
            return data
        except ValueError as exc:
            if warn:
                warnings.warn(f"kit: ignoring damaged wisdom file {self.path} ({exc}); measuring afresh",
                              stacklevel=3)
            return self._empty()

    def _entry(self, op: _registry.Operation) -> dict[str, Any]:
        ops = self._data["operations"]
        entry = ops.get(op.name)
        versions = _versions(op)
        if entry is None or entry.get("versions") != versions or entry.get("corpus") != _corpus_tag():
            entry = ops[op.name] = {"versions": versions, "corpus": _corpus_tag(), "verified": {}}
        return entry

    # --- verification ---------------------------------------------------------------

    def verification(self, op: _registry.Operation, b: _registry.Backend) -> Verification | None:
        with self._lock:
            stored = self._entry(op)["verified"].get(b.name)
        if stored is None:
            return None
        return Verification(op.name, b.name, stored["cases"], list(stored["problems"]),
                            list(stored["gives_way"]), stored["seconds"])

    def store_verification(self, op: _registry.Operation, b: _registry.Backend, v: Verification) -> None:
        with self._lock:
            self._entry(op)["verified"][b.name] = v.to_dict()
            self._changes.add(("verified", op.name, b.name))
        self.save()

    # --- selection --------------------------------------------------------------------

    def selection(self, op: _registry.Operation) -> dict[str, str] | None:
        """``size -> backend`` when fresh wisdom exists for the operation."""
        with self._lock:
            sel = self._entry(op).get("selected")
        return dict(sel) if sel else None

    def reasons(self, op: _registry.Operation) -> dict[str, str]:
        """``size -> why`` the stored choice was made or kept (empty when none is stored)."""
        with self._lock:
            return dict(self._entry(op).get("reasons") or {})

    def store_selection(self, op: _registry.Operation, selected: dict[str, str], rows: list[Any], preset: str,
                        reasons: dict[str, str] | None = None) -> None:
        """Keep the choice per size class, what it was measured at, and why it was made or kept."""
        with self._lock:
            entry = self._entry(op)
            entry["selected"] = {**(entry.get("selected") or {}), **selected}
            entry["reasons"] = {**(entry.get("reasons") or {}), **(reasons or {})}
            measured = entry.setdefault("measured", {})
            for size in selected:
                measured.pop(size, None)  # this run's figures replace the old ones of the class
            for r in rows:
                m = r.measurement
                measured.setdefault(r.size, {}).setdefault(r.kind, {})[r.backend] = {
                    "median_s": m.median, "throughput_Bps": m.throughput,
                    "speedup": r.speedup[0], "speedup_ci": list(r.speedup[1:]), "cv": m.cv,
                    "cpu_share": m.cpu_share,
                }
            entry["preset"] = preset
            entry["when"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            for size in selected:
                self._changes.add(("selected", op.name, size))

    # --- run-to-run noise -------------------------------------------------------------------

    def run_noise(self, key: str) -> dict[str, tuple[float, float]]:
        """This machine's run-to-run components for ``key`` (``"<preset>/<clock>"``): name -> ``(sd, df)``.

        Pooled over the stored observations (:func:`kit.stats.pool_noise`); empty when none.
        """
        from kit.stats import pool_noise

        with self._lock:
            obs = list((self._data.get("run_noise") or {}).get(key) or [])
        names = {n for o in obs for n in (o.get("components") or {})}
        out = {}
        for name in sorted(names):
            pooled = pool_noise([tuple(o["components"][name]) for o in obs if name in (o.get("components") or {})])
            if pooled is not None:
                out[name] = pooled
        return out

    def noise_runs(self, key: str) -> int:
        """How many runs the stored observations for ``key`` came from."""
        with self._lock:
            return sum(int(o.get("runs", 0)) for o in (self._data.get("run_noise") or {}).get(key) or [])

    def store_run_noise(self, key: str, components: dict[str, tuple[float, int]], runs: int) -> None:
        """Add one observation: ``components`` maps a name to ``(excess variance, df)`` from ``runs`` runs."""
        obs = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "runs": runs, "components": {k: [float(v), int(d)] for k, (v, d) in components.items()}}
        with self._lock:
            self._append_noise(self._data, key, obs)
            self._new_noise.append((key, obs))

    @staticmethod
    def _append_noise(data: dict[str, Any], key: str, obs: dict[str, Any]) -> None:
        table = data.setdefault("run_noise", {})
        kept = list(table.get(key) or []) + [obs]
        table[key] = kept[-NOISE_KEEP:]

    # --- writing --------------------------------------------------------------------------

    def _merge(self, disk: dict[str, Any]) -> dict[str, Any]:
        """This process's changes put into ``disk`` (the file as it is now), entry by entry."""
        ops = disk.setdefault("operations", {})
        for change in sorted(self._changes):
            what, op_name, name = change
            mine = self._data["operations"].get(op_name)
            if mine is None:
                continue
            theirs = ops.get(op_name)
            if theirs is None or theirs.get("versions") != mine.get("versions") or theirs.get("corpus") != mine.get("corpus"):
                # Absent there, or measured with other versions: this process's entry is the fresh one.
                ops[op_name] = theirs = {"versions": mine["versions"], "corpus": mine["corpus"], "verified": {}}
            if what == "verified":
                theirs.setdefault("verified", {})[name] = mine["verified"][name]
            else:
                for field in ("selected", "reasons", "measured"):
                    if name in (mine.get(field) or {}):
                        theirs.setdefault(field, {})[name] = mine[field][name]
                for field in ("preset", "when"):
                    if field in mine:
                        theirs[field] = mine[field]
        for key, obs in self._new_noise:
            self._append_noise(disk, key, obs)
        return disk

    def save(self) -> None:
        """Merge this process's changes into the file under the lock; a failure to write is a warning."""
        with self._lock:
            if not self._dirty:
                return
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                with file_lock(self.lock_path):
                    merged = self._merge(self._load(warn=False))
                    atomic_write(self.path, json.dumps(merged, indent=1, sort_keys=True))
                self._data = merged  # what other processes stored meanwhile is now seen here too
                self._changes.clear()
                self._new_noise.clear()
            except (OSError, TimeoutError) as exc:
                warnings.warn(f"kit: cannot write wisdom to {self.path}: {exc}", stacklevel=3)

    def clear(self) -> None:
        """Forget everything measured on this machine."""
        with self._lock:
            self._data = self._empty()
            self._changes.clear()
            self._new_noise.clear()
            try:
                with file_lock(self.lock_path):
                    self.path.unlink()
            except FileNotFoundError:
                pass
            except (OSError, TimeoutError) as exc:
                warnings.warn(f"kit: cannot remove wisdom {self.path}: {exc}", stacklevel=3)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            n = sum(1 for e in self._data["operations"].values() if e.get("selected"))
        state = "absent" if not self.path.exists() else f"{n} operations measured"
        return {"path": str(self.path), "state": state}
