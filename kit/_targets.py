"""The engine's performance targets, measured side by side in one run.

``kit bench --targets`` prints them:

* dispatch overhead of ``kit.json.dumps`` on a ~200-byte dict and of
  ``kit.fingerprint`` on 1 MiB, each against calling the selected backend
  directly (targets: within 1.25× and 1.05×);
* ``python -c "import kit"`` against a bare interpreter start (target: at most
  100 ms more).
"""

from __future__ import annotations

import subprocess
import sys

from kit._display import Table


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
    from kit import workloads
    from kit.engine import get_engine
    from kit.measure import compare, format_time

    eng = get_engine()
    rows = []
    doc = workloads.payload("json", 200, seed=1)
    b = eng.binding("json.encode")
    kit.json.dumps(doc)  # bind the fast path first, as any caller's first call does
    dumps = kit.json.dumps
    raw = getattr(b.medium, "raw", None)
    if raw is not None:  # the library function with its arguments, called inline
        f, hook, opts = raw
        direct = lambda: f(doc, hook, opts)  # noqa: E731
    else:
        one = getattr(b.medium, "direct", b.medium)
        direct = lambda: one(doc)  # noqa: E731
    res = compare({"kit.json.dumps": lambda: dumps(doc), "direct": direct},
                  preset=preset, samples=21)
    ratio = res["kit.json.dumps"].median / res["direct"].median
    rows.append(["kit.json.dumps, 200 B dict", b.names[1], format_time(res["kit.json.dumps"].median),
                 format_time(res["direct"].median), f"{ratio:.3f}x", "<= 1.25x", ratio <= 1.25])
    data = workloads.payload("random", 1 << 20, seed=1)
    fb = eng.binding("fingerprint")
    fp, direct_fp = kit.fingerprint, fb.large
    res = compare({"kit.fingerprint": lambda: fp(data), "direct": lambda: direct_fp(data)},
                  preset=preset, samples=21)
    ratio = res["kit.fingerprint"].median / res["direct"].median
    rows.append(["kit.fingerprint, 1 MiB", fb.names[2], format_time(res["kit.fingerprint"].median),
                 format_time(res["direct"].median), f"{ratio:.3f}x", "<= 1.05x", ratio <= 1.05])
    bare = sorted(_import_time("pass"))
    with_kit = sorted(_import_time("import kit"))
    extra = with_kit[len(with_kit) // 2] - bare[len(bare) // 2]
    rows.append(["python -c 'import kit'", "", format_time(with_kit[len(with_kit) // 2]),
                 format_time(bare[len(bare) // 2]), f"+{extra * 1e3:.0f} ms", "<= +100 ms", extra <= 0.100])
    return Table("engine targets", ["target", "backend", "kit", "direct / bare", "ratio", "target", "met"], rows,
                 ["medians of interleaved samples; 'direct' calls the selected backend without kit's dispatch"])


def selection_quality(res, prior: dict) -> list[list]:
    """Rows comparing, for JSON, the backend selected *before* this run with the best of this run.

    The target: the selected backend's speed-up on the large JSON class is at
    least 90% of the best backend's, measured in the same run.
    """
    from kit.measure import geometric_mean

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
