"""``kit info``, ``kit bench`` and ``kit versions``."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any, Callable

from kit.errors import KitError


def own_usage(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make a subcommand's parser report unknown arguments itself, with its own usage.

    argparse passes a subcommand's unknown arguments up to the top-level parser, which then prints
    the usage of ``kit`` instead of the subcommand's (``kit bench --fast``).
    """
    parse = p.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> tuple[argparse.Namespace, list[str]]:
        ns, extra = parse(args, namespace)
        if extra:
            p.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns, extra

    p.parse_known_args = parse_known_args  # type: ignore[method-assign]
    return p


def plain_warnings(command: str, func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command's handler with warnings shown as one line each (``kit bench: warning: ...``)."""
    from kit._display import one_line_warnings

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        with one_line_warnings(f"kit {command}"):
            return func(args)

    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = own_usage(sub.add_parser("info", help="operations × backends: available, version, verified, selected"))
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.add_argument("--no-verify", action="store_true", help="skip verification (detection only)")
    p.set_defaults(func=plain_warnings("info", _info))

    p = own_usage(sub.add_parser("bench", help="measure the backends on this machine and select the fastest "
                                                "(also what the first use of an operation would measure)"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="short samples, small and medium payloads (default)")
    g.add_argument("--full", action="store_true", help="longer samples, every payload class")
    p.add_argument("--op", action="append", metavar="OPERATION",
                   help="restrict to an operation (repeatable); see `kit info`")
    p.add_argument("--size", action="append", metavar="CLASS", help="restrict to a size class (small, medium, large)")
    p.add_argument("--targets", action="store_true", help="also measure dispatch overhead and import time")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=plain_warnings("bench", _bench))

    p = own_usage(sub.add_parser("versions", help="versions of Python, kit and the backend libraries"))
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.set_defaults(func=plain_warnings("versions", _versions))


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


def _info(args: argparse.Namespace) -> int:
    from kit.report.tables import info_json, info_table
    from kit.engine import info

    res = info(verify=not args.no_verify)
    if args.json:
        _dump(info_json(res))
    else:
        print(info_table(res))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from kit import registry as _registry
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
        from kit.targets import engine_targets, selection_quality

        targets = engine_targets()
        targets.rows += selection_quality(res, prior)
    if args.json:
        out = res.to_dict()
        if targets is not None:
            out["targets"] = targets.records()
        _dump(out)
        return 0
    from kit.report.tables import bench_tables

    print("\n\n".join(str(t) for t in bench_tables(res)))
    print(f"\n{res.notes()}")  # the run's contention, and why each choice was made or kept
    if targets is not None:
        print()
        print(targets)
    return 0


def _versions(args: argparse.Namespace) -> int:
    from kit.registry.versions import show_versions

    v = show_versions()
    if args.json:
        _dump(v.to_dict())
    else:
        print(v)
    return 0


__all__ = ["register", "own_usage", "plain_warnings", "KitError"]
