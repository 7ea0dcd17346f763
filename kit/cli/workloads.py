"""``kit generate`` and ``kit load``: the copywriting workload from the command line.

``kit generate`` writes one request (from flags or a JSON file) or a batch (a
JSON Lines file) as JSON Lines, one object per request: ``{"line": n,
"request": {...}, "variants": [...]}``. In a batch, an invalid request or a
line that is not JSON is reported on stderr with its line number and the
others are still written; the exit status is then 1. Output files are
written atomically (a temporary file renamed into place).

``kit load`` replays a seeded request trace through :class:`kit.workloads.CopyService`
and prints its metrics: latency percentiles, throughput, hit rate per tier.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Iterable

from kit._paths import atomic_write
from kit.errors import KitError


def register(sub: argparse._SubParsersAction) -> None:
    from kit.batch import STRATEGIES
    from kit.workloads import DISTRIBUTIONS, LANGUAGES, LIMITS, TONES, USE_CASES

    p = sub.add_parser("generate", help="write marketing copy for one request or a JSON Lines batch",
                       description="Write marketing copy (deterministic templates; no network). "
                                   "Output: JSON Lines, one object per request.")
    src = p.add_argument_group("input (flags, or --request, or --batch)")
    src.add_argument("--product", help="the product's name")
    src.add_argument("--description", help="one sentence about it")
    src.add_argument("--feature", action="append", dest="features", metavar="TEXT",
                     help=f"a selling point (repeatable, at most {LIMITS['features']})")
    src.add_argument("--audience", help="who it is for")
    src.add_argument("--tone", help=f"one of: {', '.join(TONES)}")
    src.add_argument("--use-case", dest="use_case", help=f"one of: {', '.join(USE_CASES)}")
    src.add_argument("--language", help=f"one of: {', '.join(LANGUAGES)}")
    src.add_argument("--variants", type=int, help=f"how many versions (1-{LIMITS['variants']}, default 3)")
    src.add_argument("--max-length", dest="max_length", type=int, help="longest version, in characters")
    src.add_argument("--gender", help="grammatical gender of the product's name: masculine, feminine")
    src.add_argument("--number", help="grammatical number of the product's name: singular, plural")
    src.add_argument("--request", metavar="FILE", help="a JSON object with the request's fields (flags override it)")
    src.add_argument("--batch", metavar="FILE", help="JSON Lines, one request per line ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    p.add_argument("--text", action="store_true", help="print the variants as plain text, for reading")
    p.add_argument("--strategy", default="sequential",
                   help=f"batch strategy, one of: {', '.join(STRATEGIES)} (default sequential)")
    p.add_argument("--workers", type=int, help="batch workers")
    p.add_argument("--no-progress", action="store_true", help="no progress bar for batches")
    p.set_defaults(func=_generate)

    p = sub.add_parser("load", help="replay a request trace through the copy service and print its metrics")
    p.add_argument("--requests", type=int, default=100_000,
                   help="requests to replay (default 100000, at most 10,000,000)")
    p.add_argument("--distinct", type=int, default=10_000,
                   help="distinct requests in the catalogue (default 10000, at most 1,000,000)")
    p.add_argument("--distribution", default="zipf", help=f"one of: {', '.join(DISTRIBUTIONS)} (default zipf)")
    p.add_argument("--skew", type=float, default=1.1, help="Zipf exponent (default 1.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--l1", type=int, default=1000, metavar="ENTRIES", help="L1 memory cache entries (default 1000)")
    p.add_argument("--cache-dir", metavar="DIR", help="also keep an on-disk tier here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--prometheus", action="store_true", help="print the metrics in Prometheus text format")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_load)


# --- kit generate ----------------------------------------------------------------------------

_FLAG_FIELDS = ("product", "description", "features", "audience", "tone", "use_case", "language", "variants",
                "max_length", "gender", "number")


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {f: getattr(args, f) for f in _FLAG_FIELDS if getattr(args, f) is not None}


#: Largest ``--request`` file: one request's fields.
MAX_REQUEST_BYTES = 1 << 20


def _read_json_object(path: str) -> dict[str, Any]:
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise KitError(f"{path}: no such file") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a device never end
        raise KitError(f"{path}: not a regular file, expected a JSON object with the request's fields")
    if st.st_size > MAX_REQUEST_BYTES:
        raise KitError(f"{path}: {st.st_size} bytes, more than a request ({MAX_REQUEST_BYTES} at most)")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.loads(f.read(MAX_REQUEST_BYTES + 1))
    except json.JSONDecodeError as exc:
        raise KitError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise KitError(f"{path}: JSON nested too deeply to be a request") from None
    except UnicodeDecodeError:
        raise KitError(f"{path}: not UTF-8 text, expected a JSON object") from None
    if not isinstance(data, dict):
        raise KitError(f"{path}: expected a JSON object with the request's fields, got {type(data).__name__}")
    return data


def _jsonl(path: str) -> Iterable[tuple[int, str]]:
    if path == "-":
        yield from enumerate(sys.stdin, 1)
        return
    with open(path, encoding="utf-8") as f:
        yield from enumerate(f, 1)


def _parse_batch(path: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """(line number, request) pairs and the problems of the lines that are not requests."""
    from kit.workloads import CopyRequest, InvalidRequest

    good, bad = [], []
    for lineno, line in _jsonl(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(f"{path}:{lineno}: not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            good.append((lineno, CopyRequest.from_dict(data)))
        except InvalidRequest as exc:
            bad.append(f"{path}:{lineno}: {exc}")
    return good, bad


def _generate(args: argparse.Namespace) -> int:
    from kit import batch
    from kit.workloads import CopyRequest, generate_copy

    flags = _flags(args)
    if args.batch and (args.request or flags):
        raise KitError("--batch reads every request from the file; do not combine it with --request or request flags")
    problems: list[str] = []
    if args.batch:
        pairs, problems = _parse_batch(args.batch)
    else:
        data = _read_json_object(args.request) if args.request else {}
        data.update(flags)
        if "product" not in data:
            raise KitError("give --product (and other request flags), --request FILE or --batch FILE")
        pairs = [(1, CopyRequest.from_dict(data))]  # InvalidRequest is a KitError: one line, exit 2
    show = bool(args.batch) and not args.no_progress and sys.stderr.isatty()
    res = batch.run(generate_copy, [r for _, r in pairs], args.strategy, workers=args.workers,
                    progress=show, desc="generate")
    out = []
    for (lineno, req), value, err in zip(pairs, res.results, _errors_by_index(res, len(pairs))):
        if err is not None:
            problems.append(f"line {lineno}: {err.type}: {err.message}")
            continue
        if args.text:
            head = f"# line {lineno}: {req.product} ({req.language}, {req.tone}, {req.use_case})"
            out.append("\n\n".join([head] + [f"[{i + 1}] {v}" for i, v in enumerate(value.variants)]) + "\n\n")
        else:
            out.append(json.dumps({"line": lineno, **value.to_dict()}, ensure_ascii=False) + "\n")
    text = "".join(out)
    if args.output:
        atomic_write(args.output, text, fsync=True)
    else:
        sys.stdout.write(text)
    for msg in problems:
        print(f"kit generate: {msg}", file=sys.stderr)
    if problems:
        print(f"kit generate: {len(problems)} of {len(problems) + len(out)} lines not generated", file=sys.stderr)
    return 1 if problems else 0


def _errors_by_index(res: Any, n: int) -> list[Any]:
    errs: list[Any] = [None] * n
    for e in res.errors:
        errs[e.index] = e
    return errs


# --- kit load --------------------------------------------------------------------------------

#: Largest L1 of ``kit load`` (entries): each holds a generated response (~1 KB).
MAX_L1 = 10_000_000


def _load(args: argparse.Namespace) -> int:
    from kit.workloads import DISTRIBUTIONS
    from kit.workloads.service import CopyService, metrics_table
    from kit.workloads.traces import MAX_DISTINCT, MAX_REQUESTS

    if args.distribution not in DISTRIBUTIONS:
        raise KitError(f"unknown distribution {args.distribution!r}; valid: {', '.join(DISTRIBUTIONS)}")
    for name, high in (("requests", MAX_REQUESTS), ("distinct", MAX_DISTINCT), ("l1", MAX_L1)):
        value = getattr(args, name)
        if not 1 <= value <= high:  # before anything is allocated for them
            raise KitError(f"--{name.replace('_', '-')} must be from 1 to {high:,}, got {value:,}")
    if not math.isfinite(args.skew) or args.skew < 0:
        raise KitError(f"--skew must be a finite number >= 0, got {args.skew!r}")
    service = CopyService(l1_size=args.l1, path=args.cache_dir)
    try:
        show = not args.no_progress and not (args.json or args.prometheus) and sys.stderr.isatty()
        service.replay(n=args.requests, distinct=args.distinct, distribution=args.distribution, skew=args.skew,
                       seed=args.seed, progress=show)
        metrics = service.metrics()
        if args.json:
            json.dump({"trace": {"requests": args.requests, "distinct": args.distinct,
                                 "distribution": args.distribution, "skew": args.skew, "seed": args.seed,
                                 "l1_entries": args.l1},
                       "metrics": metrics, "health": service.health()}, sys.stdout, indent=1)
            sys.stdout.write("\n")
        elif args.prometheus:
            sys.stdout.write(service.prometheus())
        else:
            dist = f"zipf({args.skew:g})" if args.distribution == "zipf" else args.distribution
            print(metrics_table(metrics, title=f"kit load: {args.requests} requests, {dist} over "
                                f"{args.distinct} distinct, L1 {args.l1} entries"))
    finally:
        service.close()
    return 0
