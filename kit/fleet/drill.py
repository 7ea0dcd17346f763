"""Fleet drills: figures measured live, never gating tests.

``detection`` (the default) starts a local fleet of 3 worker processes and, ``trials`` times, slows
one worker's machine by ``factor`` (every backend, the worker taking turns), scores the fleet and
reports how often the slowed worker is flagged as an outlier and how often an unslowed one is.
``--timing`` times ``kit fleet score --local 3 --quick`` against one ``kit score --quick``, each in
a fresh process with fresh wisdom, against the target (the fleet within 2x the single score + 30 s).

Run it as ``kit fleet drill`` or ``python -m kit.fleet.drill``; on a shared machine, say what else
was running.

Examples
--------
>>> figures = detection(trials=2, operations=["fingerprint"], sizes=["small"])   # doctest: +SKIP
>>> figures["slowed_flagged"], figures["false_alarm_runs"]                        # doctest: +SKIP
(2, 0)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Sequence

__all__ = ["add_arguments", "detection", "main", "run_from_args", "timing"]

#: One operation per category: every category of the index, in seconds per machine.
#: (``digest``, not ``fingerprint``, for hashing: a 64 KiB fingerprint takes ~1.4 us, on which the
#: injected slowdown's own overhead turns 1.5x into 1.8x.)
DRILL_OPERATIONS = ("json.encode", "digest", "compress", "table.groupby", "kernel.entropy")


def detection(trials: int = 10, factor: float = 1.5, workers: int = 3, operations: Sequence[str] = DRILL_OPERATIONS,
              sizes: Sequence[str] | None = ("medium",), preset: str = "quick", rule: Any = None,
              say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Slow one of ``workers`` local workers by ``factor``, ``trials`` times; count the flags.

    The workers measure with the clock ``KIT_CLOCK`` names in this process's environment (they
    inherit it).

    Returns
    -------
    dict
        ``slowed_flagged`` (trials in which the slowed worker was flagged), ``false_alarm_runs``
        (trials in which any unslowed worker was), ``realised`` (per trial, how many times slower
        the slowed machine's overall index came out than the median of the unslowed ones), and per
        trial every machine's deviation from the fleet median by category.

    Examples
    --------
    >>> detection(trials=1, operations=["digest"])["trials"]   # doctest: +SKIP
    1
    """
    import statistics

    from kit.fleet.outliers import OVERALL, OutlierRule
    from kit.fleet.report import fleet_report
    from kit.fleet.run import local_cluster, score_fleet
    per = []
    clocks: set[str] = set()
    t0 = time.perf_counter()
    with local_cluster(workers) as client:
        for t in range(trials):
            slow = f"worker-{t % workers}"
            run = score_fleet(client, preset=preset, operations=operations, sizes=sizes,
                              slowdowns={slow: {"*": factor}})
            rep = fleet_report(run, rule=rule)
            lost = [m.label for m in run.machines if m.status != "ok"]
            clocks.update(m.clock for m in run.machines if m.clock)
            devs = {r.label: {c: math.expm1(d.log_deviation) for c, d in r.deviations.items()}
                    for r in rep.rows if r.status == "ok"}
            unslowed = {k: v for k, v in devs.items() if k != slow}
            rest = [r.index[0] for r in rep.rows if r.label != slow and r.index is not None]
            mine = rep.row(slow).index
            realised = statistics.median(rest) / mine[0] if rest and mine is not None else None
            worst = max(((abs(v.get(OVERALL, 0.0)), k) for k, v in unslowed.items()), default=(0.0, ""))
            hints = [f"{r.label} {d.category}" for r in rep.rows if r.label != slow for d in r.beyond]
            trial = {"trial": t + 1, "slowed": slow, "flagged": rep.flagged, "slowed_flagged": slow in rep.flagged,
                     "unslowed_flagged": [x for x in rep.flagged if x != slow], "lost": lost,
                     "realised": realised, "deviations": devs,
                     "worst_unslowed_overall": None if not worst[1] else unslowed[worst[1]][OVERALL],
                     "unslowed_beyond": hints, "seconds": run.seconds}
            per.append(trial)
            say(f"trial {t + 1:2d}: {slow} x{factor:g} (came out x{realised or math.nan:.2f}): "
                f"{'flagged' if trial['slowed_flagged'] else 'NOT flagged'}; unslowed flagged: "
                f"{', '.join(trial['unslowed_flagged']) or 'none'} (largest unslowed overall deviation "
                f"{_pct(trial['worst_unslowed_overall'])}"
                + (f"; categories beyond the limit: {', '.join(hints)}" if hints else "") + ")"
                + (f"; no record from {', '.join(lost)}" if lost else "") + f"; {run.seconds:.0f} s")
    real = [t["realised"] for t in per if t["realised"] is not None]
    return {"drill": "fleet detection", "trials": trials, "factor": factor, "workers": workers,
            "operations": list(operations), "sizes": None if sizes is None else list(sizes), "preset": preset,
            "clock": ", ".join(sorted(clocks)) or "unknown", "slowed_flagged": sum(t["slowed_flagged"] for t in per),
            "false_alarm_runs": sum(bool(t["unslowed_flagged"]) for t in per),
            "realised_median": statistics.median(real) if real else None,
            "worst_unslowed_overall": max((abs(t["worst_unslowed_overall"] or 0.0) for t in per), default=None),
            "rule": (rule or OutlierRule()).describe(), "seconds": time.perf_counter() - t0, "per_trial": per}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.0%}"


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return time.perf_counter() - t0, done.returncode, tail[0]


def timing(workers: int = 3, preset: str = "quick", say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Wall time of ``kit fleet score --local N`` and of one ``kit score``, each from a fresh process.

    Both start with empty wisdom (a fresh ``KIT_CACHE_DIR``), write nothing into the results
    folder, and run the same preset on every operation; ``kit score`` checks the claims (its
    default), the fleet does not (its default).

    Examples
    --------
    >>> timing()["within_target"]   # doctest: +SKIP
    True
    """
    kit = [sys.executable, "-c", "import sys; from kit.cli import main; sys.exit(main())"]
    flag = "--full" if preset == "full" else "--quick"
    out: dict[str, Any] = {"drill": "fleet timing", "workers": workers, "preset": preset}
    with tempfile.TemporaryDirectory(prefix="kit-drill-") as tmp:
        for name, argv in (("kit score", [*kit, "score", flag, "--no-record", "--no-progress"]),
                           (f"kit fleet score --local {workers}",
                            [*kit, "fleet", "score", "--local", str(workers), flag, "--no-progress",
                             "--results", os.path.join(tmp, "fleet")])):
            env = {**os.environ, "KIT_CACHE_DIR": tempfile.mkdtemp(dir=tmp)}
            say(f"running {name} {flag} ...")
            seconds, rc, tail = _timed(argv, env)
            if rc not in (0, 1):
                raise RuntimeError(f"{name} failed with exit status {rc}: {tail}")
            out[name] = seconds
            say(f"{name} {flag}: {seconds:.1f} s")
    single, fleet = out["kit score"], out[f"kit fleet score --local {workers}"]
    out["target_s"] = 2 * single + 30
    out["ratio"] = fleet / single
    out["within_target"] = fleet <= out["target_s"]
    say(f"fleet / single = {out['ratio']:.2f}; target: fleet <= 2 x {single:.1f} + 30 = {out['target_s']:.1f} s: "
        + ("met" if out["within_target"] else "missed"))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The drill's options (shared by ``kit fleet drill`` and ``python -m kit.fleet.drill``)."""
    p.add_argument("--trials", type=int, default=10, help="fleet runs (default 10)")
    p.add_argument("--factor", type=float, default=1.5, help="slowdown of one worker's machine (default 1.5)")
    p.add_argument("--workers", type=int, default=3, help="local worker processes (default 3)")
    p.add_argument("--op", action="append", metavar="OPERATION",
                   help=f"operations (repeatable; default one per category: {', '.join(DRILL_OPERATIONS)})")
    p.add_argument("--size", action="append", metavar="CLASS",
                   help="size classes (repeatable; default medium: on small payloads, well under a microsecond "
                        "a call, the injected slowdown's own clock reads slow a machine by more than the factor)")
    p.add_argument("--clock", choices=("wall", "thread"),
                   help="the clock the workers measure with (default: KIT_CLOCK, else wall); thread: CPU time of "
                        "the measuring thread, which other processes' load does not inflate")
    p.add_argument("--timing", action="store_true",
                   help="instead: time `kit fleet score --local N --quick` against one `kit score --quick`")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    """Run the drill the parsed arguments ask for; print its figures."""
    from kit.errors import KitError

    if args.trials < 1 or args.workers < 3:
        raise KitError(f"the drill needs --trials >= 1 and --workers >= 3 (an outlier needs 3 machines), got "
                       f"{args.trials!r} and {args.workers!r}")
    if not args.factor >= 1.0:
        raise KitError(f"--factor must be >= 1, got {args.factor!r}")
    say = (lambda line: None) if args.json else (lambda line: print(line, flush=True))
    if args.clock:
        os.environ["KIT_CLOCK"] = args.clock  # the worker processes inherit it
    if args.timing:
        figures = timing(args.workers, say=say)
    else:
        figures = detection(args.trials, args.factor, args.workers, args.op or DRILL_OPERATIONS,
                            args.size or ("medium",), say=say)
        say(f"slowed worker (x{args.factor:g}, came out x{figures['realised_median'] or math.nan:.2f} as the "
            f"median over trials) flagged in {figures['slowed_flagged']}/{args.trials} runs; runs with an "
            f"unslowed worker flagged: {figures['false_alarm_runs']}/{args.trials}; largest unslowed overall "
            f"deviation {_pct(figures['worst_unslowed_overall'])} ({figures['clock']} clock, "
            f"{figures['seconds']:.0f} s)")
    if args.json:
        json.dump(figures, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kit.fleet.drill [options]``."""
    from kit.errors import KitError

    p = argparse.ArgumentParser(prog="python -m kit.fleet.drill", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run_from_args(args)
    except KitError as exc:
        print(f"kit fleet drill: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
