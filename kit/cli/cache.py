"""``kit cache stats`` and ``kit cache clear``: the default on-disk cache, sizes per tier."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kit.errors import KitError


def register(sub: argparse._SubParsersAction) -> None:
    from kit.cli.engine import plain_warnings

    p = sub.add_parser("cache", help="the on-disk cache: sizes per tier, clear")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    s = csub.add_parser("stats", help="entries and bytes per tier, files on disk, lifetime hit rate")
    s.add_argument("--path", help="cache folder, as KIT_CACHE_DIR and kit.Cache(path) mean it "
                                     "(default: KIT_CACHE_DIR or the user cache dir)")
    s.add_argument("--json", action="store_true", help="print the same as JSON")
    s.set_defaults(func=plain_warnings("cache stats", _stats))
    c = csub.add_parser("clear", help="remove every entry (or those whose key starts with --prefix)")
    c.add_argument("--path", help="cache folder, as KIT_CACHE_DIR and kit.Cache(path) mean it "
                                     "(default: KIT_CACHE_DIR or the user cache dir)")
    c.add_argument("--prefix", help="only keys starting with this, e.g. 'kit.memoize:mymodule.'")
    c.add_argument("--json", action="store_true", help="print what was removed as JSON")
    c.set_defaults(func=plain_warnings("cache clear", _clear))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _where(args: argparse.Namespace) -> Path:
    from kit.cache.core import default_path
    from kit.cache.disk import FILENAME

    base = Path(args.path).expanduser() if args.path else default_path()
    return base if base.suffix in (".sqlite3", ".sqlite", ".db") else base / FILENAME


def _open(db: Path) -> Any:
    from kit.cache.disk import DiskTier

    return DiskTier(db)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def collect(db: Path) -> dict[str, Any]:
    """What ``kit cache stats`` reports, as a dict (also for notebooks)."""
    if not db.exists():
        return {"path": str(db), "exists": False, "tiers": {}}
    tier = _open(db)
    try:
        s = tier.stats()
        quarantined = tier.quarantined
    finally:
        tier.close()
    files = s.get("files", {})
    locks = db.parent / "locks"
    life = s.get("lifetime", {})
    looked = (life.get("hits", 0) or 0) + (life.get("misses", 0) or 0)
    return {
        "path": str(db), "exists": True,
        "tiers": {
            "l1": {"entries": 0, "bytes": 0, "note": "memory of each process; none in this one"},
            "l2": {"entries": 0, "bytes": 0, "note": "compressed memory of each process; none in this one"},
            "l3": {"entries": s["entries"], "bytes": s["bytes"], "files_bytes": sum(files.values()),
                   "files": files, "check": s.get("check")},
        },
        "lifetime": {**life, "hit_rate": round(life.get("hits", 0) / looked, 4) if looked else None},
        "lock_files": len(list(locks.glob("*.lock"))) if locks.is_dir() else 0,
        "quarantined": quarantined,
    }


def _stats(args: argparse.Namespace) -> int:
    from kit._display import Table

    info = collect(_where(args))
    if args.json:
        json.dump(info, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not info["exists"]:
        print(f"no on-disk cache at {info['path']}")
        return 0
    rows = []
    for name, t in info["tiers"].items():
        rows.append([name, t["entries"], _size(t["bytes"]), _size(t.get("files_bytes")), t.get("note", "")])
    life = info["lifetime"]
    notes = [f"path: {info['path']}",
             f"lifetime (closed sessions): {life.get('hits', 0)} hits, {life.get('misses', 0)} misses, "
             f"{life.get('evictions', 0)} evictions, hit rate {'n/a' if life.get('hit_rate') is None else format(life['hit_rate'], '.1%')}",
             f"memoize lock files: {info['lock_files']}"]
    if info.get("quarantined"):
        notes.append(f"the database could not be used and was moved aside: {info['quarantined']}")
    print(Table("kit cache", ["tier", "entries", "bytes", "on disk", "note"], rows, notes))
    return 0


def _clear(args: argparse.Namespace) -> int:
    db = _where(args)
    if not db.exists():
        if args.json:
            json.dump({"path": str(db), "removed": 0}, sys.stdout)
            sys.stdout.write("\n")
        else:
            print(f"no on-disk cache at {db}; nothing to clear")
        return 0
    tier = _open(db)
    try:
        before_entries, before_bytes = tier._entries_for_stats(), tier.currsize
        if args.prefix is not None:
            if not args.prefix:
                raise KitError("--prefix must not be empty (omit it to clear everything)")
            tier.discard_prefix(args.prefix)
        else:
            tier.clear(vacuum=True)
        removed = before_entries - tier._entries_for_stats()
        freed = before_bytes - tier.currsize
    finally:
        tier.close()
    if args.prefix is None:
        locks = db.parent / "locks"
        if locks.is_dir():
            for f in locks.glob("*.lock"):
                try:
                    f.unlink()
                except OSError:
                    pass
    if args.json:
        json.dump({"path": str(db), "removed": removed, "freed_bytes": freed}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"removed {'1 entry' if removed == 1 else f'{removed} entries'} ({_size(freed)}) from {db}")
    return 0
