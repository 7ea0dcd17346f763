"""The engine's performance targets, measured side by side in one run.

``python -m kit.targets engine`` prints them (``--quick`` for fewer samples,
``--json`` for the rows as JSON); ``kit bench --targets`` adds them to its
tables:

* dispatch overhead of ``kit.json.dumps`` and ``kit.json.loads`` on a
  189-byte document against the selected library called directly (its plain
  call: ``orjson.dumps(doc)``, ``msgspec``'s decoder; targets: within 1.10×),
  and of ``kit.fingerprint(data, algorithm="fastest")`` on 1 MiB against the
  engine's selected backend (target: within 1.05×);
* ``python -c "import kit"`` against a bare interpreter start (target: at most
  100 ms more).
"""

from __future__ import annotations

import subprocess
import sys

from kit._display import Table
from kit.targets._common import (Parser, all_met, description, loadavg, machine_line, parser, print_json,
                                 ratio)


def _import_time(code: str, runs: int = 7) -> list[float]:
    import time

    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        out.append(time.perf_counter() - t0)
    return out


def engine_targets(preset: str = "quick") -> Table:
    """Measure the engine's targets; returns a table of figures and verdicts.

    Examples
    --------
    >>> t = engine_targets()  # doctest: +SKIP
    >>> print(t)  # doctest: +SKIP
    """
    import kit
    from kit.engine import get_engine
    from kit.engine.measure import compare, format_time
    from kit.payloads import payload
    from kit.registry import SMALL_MAX

    eng = get_engine()
    rows = []
    doc = payload("json", 189, seed=1)
    b = eng.binding("json.encode")
    kit.json.dumps(doc)  # bind the fast path first, as any caller's first call does
    dumps = kit.json.dumps
    inline = getattr(b.medium, "inline", None)
    # The library's own plain call: what a user calling it directly would write.
    lib = inline[0] if inline is not None else getattr(b.medium, "direct", b.medium)
    data = dumps(doc)
    d = eng.binding("json.decode")
    kit.json.loads(data)
    loads, dec = kit.json.loads, d.small if len(data) < SMALL_MAX else d.medium
    res = compare({"kit.json.dumps": lambda: dumps(doc), "direct dumps": lambda: lib(doc),
                   "kit.json.loads": lambda: loads(data), "direct loads": lambda: dec(data)},
                  preset=preset, samples=21)
    for op, name, direct, which in (("dumps", "kit.json.dumps", "direct dumps", b.names[1]),
                                    ("loads", "kit.json.loads", "direct loads", d.names[0])):
        r = ratio(res[name], res[direct])
        rows.append([f"{name}, {len(data)} B document", which, format_time(res[name].median),
                     format_time(res[direct].median), r.text(), "<= 1.10x", r.value <= 1.10])
    data = payload("random", 1 << 20, seed=1)
    fb = eng.binding("fingerprint")
    fp, direct_fp = kit.fingerprint, fb.large
    res = compare({"kit.fingerprint": lambda: fp(data, algorithm="fastest"), "direct": lambda: direct_fp(data)},
                  preset=preset, samples=21)
    r = ratio(res["kit.fingerprint"], res["direct"])
    rows.append(["kit.fingerprint(algorithm='fastest'), 1 MiB", fb.names[2], format_time(res["kit.fingerprint"].median),
                 format_time(res["direct"].median), r.text(), "<= 1.05x", r.value <= 1.05])
    bare = sorted(_import_time("pass"))
    with_kit = sorted(_import_time("import kit"))
    extra = with_kit[len(with_kit) // 2] - bare[len(bare) // 2]
    rows.append(["python -c 'import kit'", "", format_time(with_kit[len(with_kit) // 2]),
                 format_time(bare[len(bare) // 2]), f"+{extra * 1e3:.0f} ms", "<= +100 ms", extra <= 0.100])
    return Table("engine targets", ["target", "backend", "kit", "direct / bare", "ratio", "target", "met"], rows,
                 ["medians of interleaved samples; ratio = kit / direct, its 95% CI by bootstrap; 'direct' calls "
                  "the selected library without kit's dispatch", machine_line(), f"load: {_load()}"])


def _load() -> str:
    load = loadavg()
    return " ".join(load.split()[:3]) + " (1, 5, 15 min)" if load else "unknown"


def build_parser() -> Parser:
    """The options of ``python -m kit.targets engine``."""
    p = parser("engine", description(__doc__))
    p.add_argument("--quick", action="store_true", help="the quick timing preset")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Print the engine's targets; exit status 0 when all are met, 1 otherwise, 2 on a bad option.

    Examples
    --------
    >>> main(["--quick"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    t = engine_targets("quick" if args.quick else "full")
    if args.json:
        print_json(t.records())
    else:
        print(t)
    return 0 if all_met(t.rows) else 1


def selection_quality(res, prior: dict) -> list[list]:
    """Rows comparing, for JSON, the backend selected *before* this run with the best of this run.

    The target: the selected backend's speed-up on the large JSON class is at
    least 90% of the best backend's, measured in the same run.
    """
    from kit.engine.measure import geometric_mean

    rows = []
    for op in ("json.encode", "json.decode"):
        for size in ("large", "medium"):
            measured = [r for r in res.rows if r.operation == op and r.size == size]
            if not measured:
                continue
            best = max(measured, key=lambda r: r.speedup[0])
            before = (prior.get(op) or {}).get(size)
            chosen = before if before and any(r.backend == before for r in measured) else res.selected[op][size]
            sel = geometric_mean(r.speedup[0] for r in measured if r.backend == chosen)
            frac = sel / best.speedup[0]
            how = "from earlier wisdom" if chosen == before else "selected in this run"
            rows.append([f"{op} {size}: selected vs best", f"{chosen} ({how})", f"{sel:.2f}x",
                         f"{best.backend} {best.speedup[0]:.2f}x", f"{frac:.0%}", ">= 90%", frac >= 0.9])
            break
    return rows
