"""``kit info``, ``kit bench`` and ``kit versions``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kit.errors import KitError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="operations × backends: available, version, verified, selected")
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.add_argument("--no-verify", action="store_true", help="skip verification (detection only)")
    p.set_defaults(func=_info)

    p = sub.add_parser("bench", help="measure the backends on this machine and select the fastest")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="short samples, small and medium payloads (default)")
    g.add_argument("--full", action="store_true", help="longer samples, every payload class")
    p.add_argument("--op", action="append", metavar="OPERATION",
                   help="restrict to an operation (repeatable); see `kit info`")
    p.add_argument("--size", action="append", metavar="CLASS", help="restrict to a size class (small, medium, large)")
    p.add_argument("--targets", action="store_true", help="also measure dispatch overhead and import time")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_bench)

    p = sub.add_parser("versions", help="versions of Python, kit and the backend libraries")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_versions)


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


def _info(args: argparse.Namespace) -> int:
    from kit.engine import info

    res = info(verify=not args.no_verify)
    if args.json:
        _dump(res.to_dict())
    else:
        print(res)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from kit import _registry
    from kit.engine import get_engine

    ops = args.op
    if ops:
        for op in ops:
            _registry.operation(op)  # ValueError listing valid operations
    preset = "full" if args.full else "quick"
    sizes = args.size or (None if args.full else ["small", "medium"])
    show = not args.no_progress and not args.json and sys.stderr.isatty()
    eng = get_engine()
    prior = {op.name: eng.wisdom.selection(op) for op in _registry.operations()}
    res = eng.tune(ops, preset=preset, sizes=sizes, progress=show)
    targets = None
    if args.targets:
        from kit._targets import engine_targets, selection_quality

        targets = engine_targets()
        targets.rows += selection_quality(res, prior)
    if args.json:
        out = res.to_dict()
        if targets is not None:
            out["targets"] = targets.records()
        _dump(out)
        return 0
    print(res)
    if targets is not None:
        print()
        print(targets)
    return 0


def _versions(args: argparse.Namespace) -> int:
    from kit.versions import show_versions

    v = show_versions()
    if args.json:
        _dump(v.to_dict())
    else:
        print(v)
    return 0


__all__ = ["register", "KitError"]
