"""``kit drill noise``: live figures of how kit's intervals, choices and verdicts hold on this machine.

A drill measures and prints; it never gates. Exit status 0 once the figures are printed (whatever
they are), 2 for a usage error or a run that failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from kit.cli.engine import own_usage, plain_warnings
from kit.errors import KitError

__all__ = ["register"]


def _names(values: list[str] | None) -> list[str] | None:
    """``--ops a,b --ops c`` -> ``["a", "b", "c"]``."""
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    drill = sub.add_parser("drill", help="measure how kit's figures and verdicts hold on this machine (prints "
                                         "figures; never a gate)")
    cmds = drill.add_subparsers(dest="drill_command", metavar="DRILL")
    drill.set_defaults(func=lambda args: _help(drill))
    from kit.records.noise_drill import DRILL_OPERATIONS

    p = own_usage(cmds.add_parser(
        "noise", help="repeated quiet runs and runs beside a busy core: interval coverage, shift under load, "
                      "selection changes, verdicts, detection and false-alarm rates",
        description="Score this machine many times, each run a fresh `kit score --quick` process in a "
                    "throw-away folder: a reference of several runs, quiet runs interleaved with runs in which "
                    "one selected backend is slowed, and the same beside a one-core busy loop that the drill "
                    "starts and stops. Prints the coverage of the 95% intervals of the hardware index and the "
                    "score, the shift of score, index and categories under load, the selection changes, the "
                    "verdicts of quiet-vs-quiet and loaded-vs-quiet validations, and the detection and "
                    "false-alarm rates against the reference. Takes a few minutes with the defaults on 2 cores; "
                    "say what else was running."))
    p.add_argument("--runs", type=int, default=10, metavar="N",
                   help="quiet runs for the coverage (default 10; with --trial-runs 1 the unchanged trials reuse them)")
    p.add_argument("--trials", type=int, default=20, metavar="N",
                   help="slowed and unchanged runs validated against the reference (default 20)")
    p.add_argument("--loaded", type=int, default=3, metavar="N",
                   help="runs beside the busy core, unchanged and slowed each (default 3; 0: none)")
    p.add_argument("--ops", action="append", metavar="OP[,OP...]",
                   help=f"operations each run scores (default {','.join(DRILL_OPERATIONS)})")
    p.add_argument("--sizes", action="append", metavar="CLASS[,CLASS...]",
                   help="size classes (default: the quick preset's, small and medium)")
    p.add_argument("--reference-runs", type=int, default=5, metavar="N",
                   help="runs pooled in the reference (default 5, as kit score --as-reference)")
    p.add_argument("--reference-sittings", type=int, default=5, metavar="N",
                   help="sittings the reference's runs are made in, spread over the drill, each pooled in with "
                        "kit score --as-reference --extend (default 5; 1: in one go, so that drift between "
                        "sittings is unknown and no verdict against it can FAIL)")
    p.add_argument("--trial-runs", type=int, default=3, metavar="N",
                   help="runs pooled in each slowed and unchanged trial (default 3: one process cannot tell "
                        "an excursion of its own from a regression; 1: single runs)")
    p.add_argument("--reference-attempts", type=int, default=3, metavar="N",
                   help="make the reference up to N times while it comes out contended (default 3)")
    p.add_argument("--slowdown", type=float, default=1.25, metavar="FACTOR",
                   help="slowdown injected for the detection rate (default 1.25)")
    p.add_argument("--target", metavar="OP:BACKEND",
                   help="the backend slowed (default: the selected backend whose speed moved least between the "
                        "probe runs, among calls of 10 us or more)")
    p.add_argument("--probe-runs", type=int, default=6, metavar="N",
                   help="runs made first, to choose the target (default 6; 0: the reference's selected backend "
                        "whose quickest selected class is slowest)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=plain_warnings("drill noise", _noise))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _noise(args: argparse.Namespace) -> int:
    from kit.records.noise_drill import DRILL_OPERATIONS, format_figures, noise_drill

    if args.target is not None and ":" not in args.target:
        raise KitError(f"--target expects OP:BACKEND (e.g. digest:blake3), got {args.target!r}")

    def say(line: str) -> None:
        if not args.quiet:
            print(f"kit drill noise: {line}", file=sys.stderr, flush=True)

    figures = noise_drill(runs=args.runs, loaded=args.loaded, trials=args.trials,
                          operations=_names(args.ops) or list(DRILL_OPERATIONS), sizes=_names(args.sizes),
                          reference_runs=args.reference_runs, reference_sittings=args.reference_sittings,
                          slowdown=args.slowdown, target=args.target,
                          reference_attempts=args.reference_attempts, trial_runs=args.trial_runs,
                          probe_runs=args.probe_runs, say=say)
    if args.json:
        json.dump(figures, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        print(format_figures(figures))
    return 0

