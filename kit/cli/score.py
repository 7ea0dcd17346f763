"""``kit score``, ``kit validate`` and ``kit report``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kit.cli.engine import own_usage, plain_warnings
from kit.errors import KitError

#: Runs a reference record pools by default: enough for the run-to-run test to see a 25% change.
REFERENCE_RUNS = 5
#: Where records are by default (kit._paths.results_dir), in words for the options' help.
RESULTS = "the results folder: $KIT_RESULTS_DIR, else results/kit in kit's checkout, else the user data dir"


def register(sub: argparse._SubParsersAction) -> None:
    p = own_usage(sub.add_parser("score", help="measure this machine: score 0-100 with CI, tier, subscores, "
                                               "hardware index, claims; writes a result record"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="short samples, small and medium payloads (default)")
    g.add_argument("--full", action="store_true", help="longer samples, every payload class")
    p.add_argument("--op", action="append", metavar="OPERATION", help="restrict to an operation (repeatable)")
    p.add_argument("--size", action="append", metavar="CLASS", help="restrict to a size class (repeatable)")
    p.add_argument("--reference", metavar="RECORD",
                   help="reference record for the hardware index (default: reference-*.json in the results "
                        "folder)")
    p.add_argument("--no-reference", action="store_true", help="no hardware index")
    p.add_argument("--no-claims", action="store_true", help="skip the claims check")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="re-measure a noisy payload class up to N times (default 2)")
    p.add_argument("--results", metavar="DIR", help=f"where records go (default: {RESULTS})")
    p.add_argument("--no-record", action="store_true", help="write no record")
    p.add_argument("--as-reference", action="store_true",
                   help="write the record as reference-<machine id>-<preset>.json (this machine's reference); "
                        f"pools {REFERENCE_RUNS} runs unless --runs says otherwise")
    p.add_argument("--extend", action="store_true",
                   help="with --as-reference: pool this run's runs with those of this machine's existing "
                        "reference, so that it learns how the machine drifts between sessions")
    p.add_argument("--runs", type=int, metavar="N",
                   help="pool N independent runs, each after the first in a fresh process, keeping each run's "
                        "median so that `kit validate` knows the run-to-run noise (default 1; "
                        f"{REFERENCE_RUNS} with --as-reference)")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="score N times and print the coefficient of variation of the score (stability)")
    p.add_argument("--inject-slowdown", action="append", metavar="OP:BACKEND=FACTOR", default=[],
                   help="make a backend FACTOR times slower (e.g. digest:blake3=1.25), to check that "
                        "`kit validate` catches it; uses a throw-away engine")
    p.add_argument("--json", action="store_true", help="print the record (or the stability figures) as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=plain_warnings("score", _score))

    from kit.records import EXIT_CODES, QUESTIONS, TOLERANCE

    codes = ", ".join(f"{code} {verdict}" for verdict, code in EXIT_CODES.items())
    p = own_usage(sub.add_parser(
        "validate", help=f"compare a record with a reference record: PASS, FAIL or INCONCLUSIVE (exit {codes})",
        description="Compare a record with a reference and answer PASS, FAIL or INCONCLUSIVE, with the reason. "
                    "On the same machine: did its software regress? (per measurement, against the run-to-run "
                    "noise; INCONCLUSIVE when that noise is unknown or a record was contended). On another "
                    "machine: does it perform like the reference? (the hardware index against --tolerance; "
                    f"per-operation differences are information). Exit status: {codes}; 2 for a usage "
                    "error or an unusable record."))
    p.add_argument("record", nargs="?", help="the record to check (default: the newest in the results folder)")
    p.add_argument("--against", metavar="REFERENCE",
                   help="reference record (default: reference-<this machine>-<preset>.json in the results folder, else the "
                        "newest reference)")
    p.add_argument("--alpha", type=float, default=None, help="significance level (default 0.002, as asv)")
    p.add_argument("--min-effect", type=float, default=None,
                   help="minimum relative change of the median that counts (default 0.10)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--relative", action="store_true",
                      help="compare each backend's time relative to its class's baseline in the same run, and the "
                           "machine's overall speed by the hardware index (the default)")
    mode.add_argument("--absolute", action="store_true",
                      help="compare absolute times per measurement, baselines included (for a dedicated quiet "
                           "machine: a shared one drifts by tens of percent between sessions)")
    p.add_argument("--all", action="store_true",
                   help="let every backend decide the verdict (default: the baselines and the selected "
                        "backends, which the score is made of; the others are shown)")
    p.add_argument("--question", choices=list(QUESTIONS),
                   help="software: did this machine's software regress?; hardware: does this machine perform "
                        "like the reference? (default: from the two records' machine fingerprints)")
    p.add_argument("--tolerance", type=float, default=None, metavar="FRACTION",
                   help="hardware question: how much slower than the reference the hardware index may be "
                        f"(default {TOLERANCE:g}: an index of at least {1 - TOLERANCE:g})")
    p.add_argument("--results", metavar="DIR", help=f"where to look for records (default: {RESULTS})")
    p.add_argument("--json", action="store_true", help="print the validation as JSON")
    p.set_defaults(func=plain_warnings("validate", _validate))

    p = own_usage(sub.add_parser("report", help="write an HTML page and a PNG chart for records"))
    p.add_argument("records", nargs="*", help="records to show (default: the newest in the results folder)")
    p.add_argument("--against", metavar="REFERENCE", help="also validate the first record against this one")
    p.add_argument("--out", metavar="DIR", help="output folder (default: report/ in the results folder, which git "
                                                "ignores in kit's checkout)")
    p.add_argument("--results", metavar="DIR", help=f"where to look for records (default: {RESULTS})")
    p.set_defaults(func=plain_warnings("report", _report))


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


def _slowdowns(specs: list[str]) -> dict[str, float]:
    out = {}
    for spec in specs:
        key, sep, factor = spec.rpartition("=")
        try:
            value = float(factor)
        except ValueError:
            value = None
        if not sep or ":" not in key or value is None:
            raise KitError(f"--inject-slowdown expects OP:BACKEND=FACTOR (e.g. digest:blake3=1.25), got {spec!r}")
        out[key] = value
    return out


def _score(args: argparse.Namespace) -> int:
    from kit import records
    from kit.scoring import score, stability

    preset = "full" if args.full else "quick"
    if args.retries < 0:
        raise KitError(f"--retries must be >= 0, got {args.retries!r}")
    reference: Any = None if args.no_reference else (args.reference or "auto")
    if args.results and reference == "auto":
        found = records.find_reference(args.results, preset=preset)
        reference = found if found is not None else "auto"
    show = not args.no_progress and not args.json and sys.stderr.isatty()
    runs = args.runs if args.runs is not None else (REFERENCE_RUNS if args.as_reference else 1)
    if runs < 1:
        raise KitError(f"--runs must be at least 1, got {runs!r}")
    kw = dict(preset=preset, operations=args.op, sizes=args.size, reference=reference, retries=args.retries,
              claims=not args.no_claims, slowdown=_slowdowns(args.inject_slowdown) or None, progress=show,
              runs=runs)
    if args.extend:
        from kit.machine import fingerprint, fingerprint_id

        if not args.as_reference:
            raise KitError("--extend goes with --as-reference (it extends this machine's reference record)")
        name = f"reference-{fingerprint_id(fingerprint())}-{preset}.json"
        found = Path(args.results or records.results_dir()) / name
        if not found.is_file():
            raise KitError(f"{args.results or records.results_dir()}: no reference of this machine and preset to "
                           "extend; make one with kit score --as-reference")
        kw["extend"] = found
        kw["reference"] = None  # the index against the record being extended would compare it with itself
    if args.repeat is not None:
        if args.repeat < 2:
            raise KitError(f"--repeat needs at least 2 runs, got {args.repeat!r}")
        st = stability(args.repeat, **kw)
        paths, unsaved = [], None
        try:
            paths = [] if args.no_record else [_write(r, args) for r in st["results"]]
        except KitError as exc:
            unsaved = exc
        if args.json:
            _dump({k: v for k, v in st.items() if k != "results"} | {"records": [str(p) for p in paths]})
            if unsaved is not None:
                raise KitError(f"the result above was not saved: {unsaved}")
            return 0
        from kit._display import speedup

        for i, r in enumerate(st["results"], 1):
            print(f"run {i}: score {r.score:.2f} [{r.score_ci[0]:.2f}, {r.score_ci[1]:.2f}], speed-up "
                  f"{speedup(r.speedup)}, tier {r.tier}, noisy classes {len(r.noisy)}, {r.seconds:.0f} s")
        print(f"score over {st['runs']} runs: mean {st['mean']:.2f}, sd {st['stdev']:.3f}, "
              f"CV {st['cv']:.2%} (target <= 3% on a quiet machine)")
        for p in paths:
            print(f"record written: {p}")
        if unsaved is not None:
            sys.stdout.flush()
            raise KitError(f"the result above was not saved: {unsaved}")
        return 0
    res = score(**kw)
    path, unsaved = None, None
    if not args.no_record:
        try:  # a run that cannot be saved is still shown: measuring it took minutes
            path = _write(res, args)
        except (OSError, KitError) as exc:
            unsaved = exc
    if args.json:
        out = res.to_record().data
        if path is not None:
            out = {**out, "path": str(path)}
        _dump(out)
    else:
        from kit.report.tables import score_tables

        # the summary table says what the intervals cover, and the run's contention
        print("\n\n".join(str(t) for t in score_tables(res)))
        if path is not None:
            print(f"\nrecord written: {path}")
            if args.as_reference:
                import textwrap

                n = len(res.sittings)
                print(textwrap.fill(f"the reference holds {res.runs} runs in {n} sitting" + ("s" if n > 1 else "")
                      + ("; kit validate judges regressions against the drift between sittings" if n > 1 else
                         ": until it is extended in a later session (kit score --as-reference --extend), kit "
                         "validate can say INCONCLUSIVE but not FAIL, since the drift between sittings is unknown"), 100))
    if unsaved is not None:
        sys.stdout.flush()
        raise KitError(f"the result above was not saved: {unsaved}")
    return 0


def _write(res: Any, args: argparse.Namespace) -> Any:
    from kit import records

    rec = res.to_record()
    folder = args.results or records.results_dir()
    name = f"reference-{rec.machine_id}-{rec.data['preset']}.json" if args.as_reference else None
    try:
        path = records.write_record(rec, folder, name)
        records.append_parquet(rec, Path(folder) / records.PARQUET_NAME)
    except OSError as exc:
        raise KitError(f"cannot write the record in {folder}: {exc.strerror or exc}") from None
    return path


def _validate(args: argparse.Namespace) -> int:
    from kit import records

    record = args.record or records.latest_record(args.results)
    against = args.against
    if against is None:
        rec = records.load_record(record)
        against = records.find_reference(args.results, machine_id=rec.machine_id, preset=rec.data.get("preset"))
        if against is None:
            raise KitError(f"{args.results or records.results_dir()}: no reference record (reference-*.json); "
                           "give one with --against")
        record = rec
    kw = {}
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    if args.min_effect is not None:
        kw["min_effect"] = args.min_effect
    if args.tolerance is not None:
        kw["tolerance"] = args.tolerance
    v = records.validate(record, against, relative=not args.absolute, scope="all" if args.all else "selected",
                         question=args.question, **kw)
    if args.json:
        _dump(v.to_dict())
    else:
        from kit.report.tables import validation_tables

        print("\n\n".join(str(t) for t in validation_tables(v)))
    return v.exit_code


def _report(args: argparse.Namespace) -> int:
    from kit import records
    from kit.report import write_report

    recs = args.records or [records.latest_record(args.results)]
    out = args.out or Path(args.results or records.results_dir()) / "report"
    paths = write_report(recs, out, against=args.against)
    print(f"report written: {paths['html']}\nchart: {paths['png']}")
    return 0


__all__ = ["register"]
