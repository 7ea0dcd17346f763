"""The seeded differential check of ``kit.json`` against the baseline: ``python -m kit.engine.json_check``.

Draws ``--n`` inputs per operation from the input classes of
:mod:`kit.registry.jsongen` (the classes taken in turn, one seed) and
compares, for each, the baseline's outcome (stdlib ``json`` under kit's
contract: bytes, a value, or an error) with

* ``kit.json.dumps`` / ``kit.json.loads`` as they run here (the engine's
  default selection, guards and fallbacks included), and
* every available backend as the dispatcher would run it if it were
  selected: its answer, or the baseline's when it raises or declines.

A *difference* is a different result, or a result where the baseline raises.
Both raising counts as the same outcome (the dispatcher then raises the
baseline's error). An input on which the baseline exhausts the stack
(``RecursionError``) is a resource limit, not a reference, and is counted
apart. ``--verification`` also times the engine's verification of the JSON
and hash backends as a first use does it (fresh wisdom).

Examples
--------
>>> report = run(200, seed=1)  # doctest: +SKIP
>>> report["json.encode"]["default selection"]["differences"]  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import collections
import json as _stdlib_json
import sys
import tempfile
import time
from typing import Any, Callable

from kit import json as kit_json
from kit import registry as _registry
from kit.engine.core import Engine, get_engine
from kit.engine.verify import clear_references
from kit.registry import jsongen

_SKIP = object()


def _outcome(fn: Callable, x: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(x)
    except RecursionError:
        return "resource", None
    except Exception as exc:  # the generated inputs probe failure modes on purpose
        return "error", exc


def _as_selected(fn: Callable, base: Callable) -> Callable:
    """A backend as the dispatcher runs it when selected: its answer, or the baseline's after it raises."""

    def run(x: Any) -> Any:
        try:
            return fn(x)
        except Exception:
            return base(x)

    return run


def check(op_name: str, n: int, seed: int = 0, examples: int = 3) -> dict[str, Any]:
    """Differential figures of one operation (``json.encode`` or ``json.decode``) on ``n`` seeded inputs."""
    op = _registry.operation(op_name)
    base = _registry.backend(op_name, op.baseline).implementation()
    dispatched = kit_json.dumps if op_name == "json.encode" else kit_json.loads
    contenders: dict[str, Callable] = {"default selection": dispatched}
    for name in _registry.available(op_name):
        if name != op.baseline:
            contenders[name] = _as_selected(_registry.backend(op_name, name).implementation(), base)
    t0 = time.perf_counter()
    inputs = list(jsongen.sample(op_name, n, seed))
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = [_outcome(base, x) for _, x in inputs]
    baseline_s = time.perf_counter() - t0
    eng = get_engine()
    t0 = time.perf_counter()
    _outcome(dispatched, inputs[0][1])  # the first call selects (measures once, without wisdom): timed apart
    first_call_s = time.perf_counter() - t0
    fallbacks_before = sum(v for k, v in eng.fallbacks.items() if k[0] == op_name)
    classes_before = collections.Counter({k: v for k, v in eng.fallback_classes.items() if k[0] == op_name})
    out: dict[str, Any] = {"inputs": n, "seed": seed, "classes": len(jsongen.classes(op_name)),
                           "generate_s": generate_s, "baseline_s": baseline_s, "first_call_s": first_call_s,
                           "resource_limited": sum(1 for o in reference if o[0] == "resource")}
    for name, fn in contenders.items():
        diffs: collections.Counter = collections.Counter()
        shown: list[str] = []
        t0 = time.perf_counter()
        for (cls, x), (kind, expected) in zip(inputs, reference):
            if kind == "resource":
                continue
            got_kind, got = _outcome(fn, x)
            if got_kind == "resource":
                continue
            if kind == "error":
                same = got_kind == "error"
            else:
                same = got_kind == "ok" and op.equal(got, expected)
            if not same:
                diffs[cls] += 1
                if len(shown) < examples:
                    shown.append(f"{cls}: {_short(x)} -> {_short(got)}, baseline {_short(expected)}")
        seconds = time.perf_counter() - t0
        row: dict[str, Any] = {"differences": sum(diffs.values()), "by_class": dict(diffs), "examples": shown,
                               "seconds": seconds}
        if name == "default selection":
            row["backends"] = list(eng.binding(op_name).names)
            row["fallbacks"] = sum(v for k, v in eng.fallbacks.items() if k[0] == op_name) - fallbacks_before
            after = collections.Counter({k: v for k, v in eng.fallback_classes.items() if k[0] == op_name})
            row["fallback_classes"] = {f"{b}: {c}": n for (_, b, c), n in (after - classes_before).most_common()}
        else:
            v = eng.verification(op_name, name)
            row["verified"] = v.ok
        out[name] = row
    return out


def verification_time() -> dict[str, Any]:
    """Seconds the engine's verification takes on first use (fresh wisdom), per backend."""
    clear_references()  # the generated corpus and its baseline outcomes are built once per process
    eng = Engine(tempfile.mkdtemp(prefix="kit-json-check-"))
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    for op_name in ("json.encode", "json.decode", "fingerprint", "digest"):
        for name in _registry.available(op_name):
            t = time.perf_counter()
            v = eng.verification(op_name, name)
            out[f"{op_name}:{name}"] = {"seconds": time.perf_counter() - t, "cases": v.cases, "ok": v.ok}
    out["total_s"] = time.perf_counter() - t0
    return out


def run(n: int, seed: int = 0, operations: tuple[str, ...] = ("json.encode", "json.decode"),
        verification: bool = False) -> dict[str, Any]:
    """Every figure of the check, as data."""
    report: dict[str, Any] = {}
    if verification:
        report["verification"] = verification_time()  # first: it must not reuse this run's warm caches
    for op_name in operations:
        report[op_name] = check(op_name, n, seed)
    return report


def _short(x: Any, n: int = 60) -> str:
    s = repr(x)
    return s if len(s) <= n else s[: n - 3] + "..."


def format_report(report: dict[str, Any]) -> str:
    """The report as lines of at most 100 columns."""
    lines = []
    ver = report.get("verification")
    if ver:
        lines.append(f"verification on first use (fresh wisdom): {ver['total_s']:.2f} s in all")
        for key, v in ver.items():
            if key != "total_s":
                lines.append(f"  {key:<28} {v['seconds']:6.2f} s  {v['cases']:5d} cases  "
                             f"{'verified' if v['ok'] else 'FAILED'}")
    for op_name, r in report.items():
        if op_name == "verification":
            continue
        lines.append(f"{op_name}: {r['inputs']:,} seeded inputs (seed {r['seed']}, {r['classes']} input classes); "
                     f"generated in {r['generate_s']:.1f} s, baseline {r['baseline_s']:.1f} s")
        lines.append(f"  first kit.json call {r['first_call_s']:.1f} s (selection; measures once without wisdom)")
        if r["resource_limited"]:
            lines.append(f"  {r['resource_limited']} inputs exhaust the baseline's stack (RecursionError): not compared")
        for name, row in r.items():
            if not isinstance(row, dict) or "differences" not in row:
                continue
            what = (f"kit.json ({', '.join(dict.fromkeys(row['backends']))}; {row['fallbacks']:,} fallbacks)"
                    if name == "default selection" else
                    f"{name} as if selected ({'verified' if row['verified'] else 'fails verification'})")
            lines.append(f"  {what:<62} {row['differences']:>7,} differences  {row['seconds']:6.1f} s")
            for cls, count in row.get("fallback_classes", {}).items():
                lines.append(f"      {count:>7,}  fell back: {cls}"[:100])
            for cls, count in sorted(row["by_class"].items(), key=lambda kv: -kv[1]):
                lines.append(f"      {count:>7,}  {cls}"[:100])
            for e in row["examples"]:
                lines.append(f"      e.g. {e}"[:100])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kit.engine.json_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="inputs per operation (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated inputs (default 0)")
    p.add_argument("--op", choices=("json.encode", "json.decode"), action="append",
                   help="restrict to one operation (repeatable)")
    p.add_argument("--verification", action="store_true",
                   help="also time the engine's verification on first use (fresh wisdom)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    if args.n < 1:
        p.error(f"--n must be at least 1, got {args.n}")
    report = run(args.n, args.seed, tuple(args.op or ("json.encode", "json.decode")), args.verification)
    if args.json:
        print(_stdlib_json.dumps(report, indent=1, default=str))
    else:
        print(format_report(report))
    defaults = [r["default selection"]["differences"] for k, r in report.items() if k != "verification"]
    return 1 if any(defaults) else 0


if __name__ == "__main__":
    sys.exit(main())
