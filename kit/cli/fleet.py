"""``kit fleet score``, ``kit fleet report``, ``kit fleet list`` and ``kit fleet drill``.

Exit status: ``score`` 0 when every machine was scored, 1 when one died, timed out, failed or was
skipped (the others' records are kept); ``report`` 0, or 1 when a machine is an outlier or fails
its validation; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]

_RESULTS = "fleet folder (default $KIT_RESULTS_DIR/fleet or results/kit/fleet)"


def register(sub: argparse._SubParsersAction) -> None:
    fleet = sub.add_parser("fleet", help="score many machines at once on dask.distributed, and find the odd one out")
    cmds = fleet.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")
    fleet.set_defaults(func=lambda args: _help(fleet))

    p = cmds.add_parser("score", help="score every worker of a dask cluster (one at a time per host); "
                                      "store the records and print the report")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="an existing cluster's scheduler (machines joined it with `dask worker ADDRESS`)")
    where.add_argument("--local", type=int, metavar="N", help="start N worker processes on this machine (127.0.0.1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="short samples, small and medium payloads (default)")
    g.add_argument("--full", action="store_true", help="longer samples, every payload class")
    p.add_argument("--op", action="append", metavar="OPERATION", help="restrict to an operation (repeatable)")
    p.add_argument("--size", action="append", metavar="CLASS", help="restrict to a size class (repeatable)")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="re-measure a noisy payload class up to N times (default 2)")
    p.add_argument("--runs", type=int, default=1, metavar="N", help="runs pooled per machine (default 1)")
    p.add_argument("--claims", action="store_true", help="also run the claims check on every machine")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="limit on one machine's run (default 1800)")
    p.add_argument("--inject-slowdown", action="append", default=[], metavar="WORKER=FACTOR",
                   help="make a worker's machine FACTOR times slower (every backend), or one backend there with "
                        "WORKER=OP:BACKEND=FACTOR; WORKER is a label (worker-1), dask name or address")
    p.add_argument("--worker", action="append", metavar="WORKER",
                   help="score only this worker (label, dask name or address; repeatable; default all)")
    p.add_argument("--results", metavar="DIR", help=_RESULTS)
    p.add_argument("--json", action="store_true", help="print the run's report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")
    p.set_defaults(func=_score)

    p = cmds.add_parser("report", help="a fleet run's table and HTML page: score, tier, hardware index per "
                                       "machine, outliers flagged, validation verdicts")
    p.add_argument("run", nargs="?", help="run id or run folder (default: the newest run)")
    p.add_argument("--against", metavar="REFERENCE", help="validate every machine against this record")
    p.add_argument("--reference", metavar="RECORD",
                   help="the record placed at 1.00 in the hardware index (default: --against, else the fleet's "
                        "median machine)")
    p.add_argument("--min-effect", type=float, default=None, metavar="X",
                   help="smallest difference from the fleet median that flags (default 0.25)")
    p.add_argument("--z", type=float, default=None, help="robust z-score that flags (default 3.5)")
    p.add_argument("--results", metavar="DIR", help=_RESULTS)
    p.add_argument("--out", metavar="DIR", help="where fleet-report.html and .png go (default: the run's folder)")
    p.add_argument("--no-html", action="store_true", help="write no HTML page")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_report)

    p = cmds.add_parser("list", help="the stored fleet runs")
    p.add_argument("--results", metavar="DIR", help=_RESULTS)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_list)

    p = cmds.add_parser("drill", help="measure how often a slowed local worker is flagged (not a test: it prints "
                                      "figures), or time a local fleet against one kit score")
    from kit.fleet.drill import add_arguments

    add_arguments(p)
    p.set_defaults(func=_drill)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


def _rule(args: argparse.Namespace) -> Any:
    from kit.fleet.outliers import OutlierRule

    kw = {}
    if args.min_effect is not None:
        kw["min_effect"] = args.min_effect
    if args.z is not None:
        kw["z"] = args.z
    return OutlierRule(**kw)


def _score(args: argparse.Namespace) -> int:
    from kit.fleet.faults import parse_slowdowns
    from kit.fleet.report import fleet_report
    from kit.fleet.run import TIMEOUT, check_settings, connect, local_cluster, score_fleet
    from kit.fleet.store import save_run

    # bad input fails here, before any cluster starts
    slowdowns = parse_slowdowns(args.inject_slowdown)
    preset = "full" if args.full else "quick"
    timeout = TIMEOUT if args.timeout is None else args.timeout
    check_settings(preset, args.op, args.size, args.retries, args.runs, timeout)
    show = not args.no_progress and not args.json

    def progress(event: str, m: Any) -> None:
        if not show:
            return
        if event == "start":
            print(f"kit fleet: {m.label} ({m.address}) measuring", file=sys.stderr)
        else:
            took = "" if m.seconds is None else f" after {m.seconds:.0f} s"
            print(f"kit fleet: {m.label} {event}{took}" + (f": {m.reason}" if m.reason else ""), file=sys.stderr)

    if args.local is not None:
        cluster, where = local_cluster(args.local), f"local {args.local}"
    else:
        cluster, where = connect(args.scheduler), args.scheduler
    with cluster as client:
        run = score_fleet(client, preset=preset, operations=args.op, sizes=args.size,
                          retries=args.retries, claims=args.claims, runs=args.runs, slowdowns=slowdowns,
                          timeout=timeout, workers=args.worker, progress=progress, scheduler=where)
    folder = save_run(run, args.results)
    rep = fleet_report(run)
    paths = rep.write_html(folder)
    if args.json:
        _dump(rep.to_dict())
    else:
        print(rep)
        print(f"\nrun stored (records, fleet.json, the HTML report): {folder}")
    return 0 if all(m.status == "ok" for m in run.machines) else 1


def _report(args: argparse.Namespace) -> int:
    from kit.fleet.report import fleet_report
    from kit.fleet.store import load_run

    run = load_run(args.run, args.results)
    rep = fleet_report(run, against=args.against, reference=args.reference, rule=_rule(args))
    paths = None if args.no_html else rep.write_html(args.out or run.path)
    if args.json:
        _dump(rep.to_dict() | ({"html": str(paths["html"])} if paths else {}))
    else:
        print(rep)
        if paths:
            print(f"\nreport written (and its chart, fleet-report.png, beside it): {paths['html']}")
    bad = rep.flagged or any(r.verdict == "FAIL" for r in rep.rows)
    return 1 if bad else 0


def _list(args: argparse.Namespace) -> int:
    from kit._display import Table
    from kit.fleet.store import fleet_dir, list_runs, load_run

    rows = []
    for rid in list_runs(args.results):
        r = load_run(rid, args.results)
        rows.append({"run": rid, "preset": r.preset, "machines": len(r.machines), "scored": len(r.ok),
                     "operations": len(r.operations), "seconds": round(r.seconds, 1)})
    if args.json:
        _dump(rows)
    elif not rows:
        print(f"no fleet run in {fleet_dir(args.results)}; run `kit fleet score --local 3 --quick`")
    else:
        print(Table(f"fleet runs in {fleet_dir(args.results)}", list(rows[0]), [list(r.values()) for r in rows]))
    return 0


def _drill(args: argparse.Namespace) -> int:
    from kit.fleet.drill import run_from_args

    return run_from_args(args)
