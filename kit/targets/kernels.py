"""The kernels' targets against their references, measured side by side in one run.

``python -m kit.targets kernels`` measures the issue's targets, each with
:func:`kit.engine.measure.compare` (calibrated, interleaved, median with a
bootstrap CI) against its reference in the same run, for both numba CPU
backends, ``numba`` (one core) and ``numba.parallel`` (all cores), each
judged on the faster (the one the engine selects); ``/proc/loadavg`` is
printed before and after:

* entropy of 100 MiB: numba vs the numpy ``bincount`` reference (target 6x)
  and vs ``numpy.copyto`` of the same size (target 25% of copy bandwidth);
* batch fingerprint of 1,000,000 random keys of 0-80 bytes in a pyarrow
  binary array (built before timing) vs a Python loop of
  ``xxhash.xxh64_intdigest`` (target 15x), how far each backend is from the
  per-key limit (~10 ns per 40-byte key on one core: xxh64's speed), and
  what converting a plain list costs;
* bootstrap, 10,000 resamples of 1,000 samples: numba vs
  ``rng.choice(samples, (10000, 1000))`` + ``numpy.median(axis=1)`` (target 3x).

``--quick`` uses a tenth of the sizes and the quick timing preset (a smoke
run, not the target figures); ``--json`` prints the record as JSON.
Compile times (first calls) are reported apart, and are not in any figure.
"""

from __future__ import annotations

from typing import Any, Callable

from kit.targets._common import WIDTH, Parser, description, loadavg, machine_line, parser, print_json, ratio

#: xxh64 at its speed on one core: about 10 ns for a 40-byte key (the issue's per-key limit).
PER_KEY_LIMIT_NS = 10.0

TARGETS = {"entropy_vs_bincount": 6.0, "entropy_vs_copy": 0.25, "fingerprint_vs_loop": 15.0,
           "bootstrap_vs_numpy": 3.0}


def _ratio(base: Any, other: Any) -> dict[str, float]:
    return ratio(base, other).as_dict()


def cpu_backends() -> list[str]:
    """The numba CPU backends that can run here: ``numba`` (one core), ``numba.parallel`` (all cores).

    Examples
    --------
    >>> set(cpu_backends()) <= {"numba", "numba.parallel"}
    True
    """
    import kit.kernels

    return [b for b in ("numba", "numba.parallel") if kit.kernels.backends("entropy").get(b, "absent") is None]


def _best(ratios: dict[str, dict[str, float]]) -> str:
    """The backend with the highest ratio (what the engine, measuring both, would select)."""
    return max(ratios, key=lambda b: ratios[b]["ratio"])


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    return {name: {"median_s": m.median, "ci_s": list(m.ci), "throughput_Bps": m.throughput, "samples": len(m.samples),
                   "loops": m.loops, "warnings": m.warnings} for name, m in res.items()}


def entropy_target(size: int, preset: str, one_shot: bool) -> dict[str, Any]:
    """Entropy of ``size`` random bytes: each numba CPU backend, the numpy reference, numpy.copyto."""
    import numpy as np

    import kit.kernels
    from kit.engine.measure import compare

    buf = np.random.default_rng(0).bytes(size)
    a = np.frombuffer(buf, dtype=np.uint8)
    dst = np.empty_like(a)
    numpy_fn = kit.kernels.implementation("entropy", "numpy")
    expected = numpy_fn(buf)
    contenders: dict[str, Callable[[], Any]] = {}
    for b in cpu_backends():
        fn = kit.kernels.implementation("entropy", b)
        if abs(fn(buf) - expected) > 1e-12:
            raise AssertionError(f"{b} and numpy entropies differ")
        contenders[b] = (lambda fn=fn: fn(buf))
    ref_name, copy_name = "numpy (bincount per 1 MiB, reference)", "numpy.copyto (same size)"
    contenders[ref_name] = lambda: numpy_fn(buf)
    contenders[copy_name] = lambda: np.copyto(dst, a)
    if one_shot:
        # numpy.bincount widens uint8 to intp: an 8-byte temporary per input byte.
        contenders["numpy.bincount (one call)"] = lambda: np.bincount(a, minlength=256)
    res = compare(contenders, nbytes=size, preset=preset)
    ref, copy = res[ref_name], res[copy_name]
    backends = cpu_backends()
    out = {"size_bytes": size, "results": _summary(res),
           "vs_numpy": {b: _ratio(ref, res[b]) for b in backends},
           "fraction_of_copy": {b: res[b].throughput / copy.throughput for b in backends}}
    if one_shot:
        out["vs_bincount_one_call"] = {b: _ratio(res["numpy.bincount (one call)"], res[b]) for b in backends}
    return out


def random_keys(n: int) -> list[bytes]:
    """``n`` random keys of 0-80 bytes, seeded: the batch fingerprint target's input.

    Examples
    --------
    >>> keys = random_keys(100)
    >>> len(keys), max(map(len, keys)) <= 80
    (100, True)
    """
    import numpy as np

    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 81, n)
    blob = rng.bytes(int(lengths.sum()))
    ends = np.cumsum(lengths).tolist()
    starts = [0] + ends[:-1]
    return [blob[s:e] for s, e in zip(starts, ends)]


def fingerprint_target(n: int, preset: str) -> dict[str, Any]:
    """``n`` keys of 0-80 bytes: numba on Arrow layout vs a Python loop of xxhash; list conversion."""
    import numpy as np
    import pyarrow as pa
    import xxhash

    import kit.kernels
    from kit.engine.measure import compare

    keys = random_keys(n)
    arr = pa.array(keys, type=pa.binary())
    nbytes = sum(map(len, keys))
    f = xxhash.xxh64_intdigest
    expected = np.array([f(k) for k in keys], dtype=np.uint64)
    contenders: dict[str, Callable[[], Any]] = {}
    for b in cpu_backends():
        fn = kit.kernels.implementation("batch_fingerprint", b)
        if not np.array_equal(fn(arr), expected):
            raise AssertionError(f"{b} fingerprints differ from xxhash")
        contenders[f"{b}, pyarrow binary array"] = (lambda fn=fn: fn(arr))
        contenders[f"{b}, plain list (incl. conversion)"] = (lambda fn=fn: fn(keys))
    default = "engine's choice, pyarrow binary array"
    if not np.array_equal(kit.kernels.batch_fingerprint(arr), expected):
        raise AssertionError("the engine's choice of batch_fingerprint differs from xxhash")
    contenders[default] = lambda: kit.kernels.batch_fingerprint(arr)  # what a user's call costs, dispatch included
    loop = "python loop of xxhash.xxh64_intdigest"
    contenders[loop] = lambda: [f(k) for k in keys]
    contenders["conversion only: list -> (offsets, data)"] = lambda: kit.kernels.pack_keys(keys)
    contenders["pyarrow.array(list) only"] = lambda: pa.array(keys, type=pa.binary())
    res = compare(contenders, nbytes=nbytes, preset=preset)
    backends = cpu_backends()
    # ns per key and per core: the parallel backend's time counts once per thread it ran on.
    cores = {b: (_threads() or 1) if b == "numba.parallel" else 1 for b in backends}
    per_key = {b: res[f"{b}, pyarrow binary array"].median / n * 1e9 * cores[b] for b in backends}
    return {"keys": n, "key_bytes": nbytes, "results": _summary(res), "ns_per_key_core": per_key,
            "limit_ns_per_key": PER_KEY_LIMIT_NS * (nbytes / n) / 40,
            "arrow_vs_loop": {b: _ratio(res[loop], res[f"{b}, pyarrow binary array"]) for b in backends},
            "list_vs_loop": {b: _ratio(res[loop], res[f"{b}, plain list (incl. conversion)"]) for b in backends},
            "default_vs_loop": _ratio(res[loop], res[default]),
            "conversion_s": res["conversion only: list -> (offsets, data)"].median}


def bootstrap_target(n: int, resamples: int, preset: str) -> dict[str, Any]:
    """Bootstrap CI of the median: each numba CPU backend vs the straightforward numpy version."""
    import numpy as np

    import kit.kernels
    from kit.engine.measure import compare

    samples = np.random.default_rng(2).normal(100.0, 15.0, n)
    numpy_fn = kit.kernels.implementation("bootstrap", "numpy")

    def straightforward() -> tuple[float, float]:
        rng = np.random.default_rng(0)
        medians = np.median(rng.choice(samples, (resamples, n)), axis=1)
        lo, hi = np.percentile(medians, [2.5, 97.5])
        return float(lo), float(hi)

    expected = numpy_fn(samples, "median", resamples)
    contenders: dict[str, Callable[[], Any]] = {}
    for b in cpu_backends():
        fn = kit.kernels.implementation("bootstrap", b)
        if fn(samples, "median", resamples) != expected:
            raise AssertionError(f"{b} and numpy bootstrap intervals differ")
        contenders[b] = (lambda fn=fn: fn(samples, "median", resamples))
    plain = "numpy: rng.choice + median(axis=1)"
    contenders[plain] = straightforward
    contenders["numpy (kit's reference, same draws as numba)"] = lambda: numpy_fn(samples, "median", resamples)
    res = compare(contenders, preset=preset)
    return {"samples": n, "resamples": resamples, "results": _summary(res),
            "vs_numpy": {b: _ratio(res[plain], res[b]) for b in cpu_backends()},
            "interval_numba": list(expected),
            "interval_straightforward": list(straightforward())}


def run(quick: bool = False, scale: float | None = None, preset: str | None = None) -> dict[str, Any]:
    """Measure all targets; returns a plain-data record.

    Parameters
    ----------
    quick : bool
        A tenth of the sizes and the quick preset.
    scale : float, optional
        Multiplies the target sizes (overrides ``quick``'s tenth).
    preset : {"quick", "full"}, optional
        Timing preset (default: ``"quick"`` when ``quick`` else ``"full"``).

    Examples
    --------
    >>> from kit.targets.kernels import run
    >>> rec = run(scale=0.001, preset="quick")  # doctest: +SKIP
    """
    import kit.kernels
    from kit.machine import describe

    scale = (0.1 if quick else 1.0) if scale is None else scale
    preset = preset or ("quick" if quick else "full")
    for kernel in ("entropy", "batch_fingerprint", "bootstrap"):
        for b in cpu_backends():  # compile (or load) first: compile time is not in any figure
            kit.kernels.implementation(kernel, b)
    rec = {
        "scale": scale, "preset": preset, "machine": describe(), "load_before": loadavg(),
        "threads": _threads(),
        "entropy": entropy_target(max(1024, int(100 * 2**20 * scale)), preset, one_shot=scale >= 1.0),
        "batch_fingerprint": fingerprint_target(max(100, int(1_000_000 * scale)), preset),
        "bootstrap": bootstrap_target(1000, max(100, int(10_000 * min(1.0, scale * 10))), preset),
        "compile_times": kit.kernels.compile_times(),
        "gpu_backends": {k: {n: r for n, r in kit.kernels.backends(k).items() if n in ("cuda", "cupy")}
                         for k in ("entropy", "batch_fingerprint", "bootstrap")},
        "load_after": loadavg(),
    }
    e, f, b = rec["entropy"], rec["batch_fingerprint"], rec["bootstrap"]
    copy_best = max(e["fraction_of_copy"], key=e["fraction_of_copy"].get)
    # Each target is judged on the faster numba backend (the one the engine selects); both are in the record.
    best = {"entropy_vs_bincount": (e["vs_numpy"], _best(e["vs_numpy"])),
            "fingerprint_vs_loop": (f["arrow_vs_loop"], _best(f["arrow_vs_loop"])),
            "bootstrap_vs_numpy": (b["vs_numpy"], _best(b["vs_numpy"]))}
    rec["targets"] = {name: (ratios[which]["ratio"], TARGETS[name]) for name, (ratios, which) in best.items()}
    rec["targets"]["entropy_vs_copy"] = (e["fraction_of_copy"][copy_best], TARGETS["entropy_vs_copy"])
    rec["targets_backend"] = {name: which for name, (_, which) in best.items()} | {"entropy_vs_copy": copy_best}
    return rec


def _threads() -> int | None:
    """Threads of numba's parallel kernels in this process."""
    try:
        import numba
    except ImportError:
        return None
    return numba.get_num_threads()


def format_record(rec: dict[str, Any]) -> str:
    """The record of :func:`run` as text for people: one table per target, then compile times.

    Examples
    --------
    >>> from kit.targets.kernels import format_record, run
    >>> print(format_record(run(scale=0.001, preset="quick")))  # doctest: +SKIP
    """
    from kit.engine.measure import format_rate, format_time

    lines = [f"kit.kernels targets  ({'SMOKE RUN, not the target sizes: ' if rec['scale'] != 1.0 else ''}"
             f"scale {rec['scale']}, preset {rec['preset']})",
             machine_line(rec["machine"]), f"numba.parallel threads: {rec['threads']}",
             f"/proc/loadavg before: {rec['load_before']}; after: {rec['load_after']}", ""]

    def table(title: str, results: dict[str, Any], nbytes: bool = True) -> None:
        lines.append(title)
        for name, r in results.items():
            lo, hi = r["ci_s"]
            rate = f" {format_rate(r['throughput_Bps']):>10}" if nbytes and r["throughput_Bps"] else ""
            lines.append(f"  {name:<46} {format_time(r['median_s']):>8} "
                         f"(95% CI {format_time(lo)} - {format_time(hi)}){rate}")
            if r["warnings"]:  # on a line of their own: they are longer than the figures
                lines.append(f"    [{'; '.join(r['warnings'])}]")

    def ratios(label: str, per: dict[str, dict[str, float]], target: float) -> None:
        for b, r in per.items():
            ok = "met" if r["ratio"] >= target else "NOT met"
            lines.append(f"  -> {b} {label}: {r['ratio']:.2f}x (CI {r['ci_low']:.2f}-{r['ci_high']:.2f}); "
                         f"target {target:g}x: {ok}")

    e = rec["entropy"]
    size = e["size_bytes"]
    table(f"entropy of {f'{size / 2**20:.0f} MiB' if size >= 2**20 else f'{size:,} bytes'} of random bytes",
          e["results"])
    ratios("vs numpy bincount reference", e["vs_numpy"], TARGETS["entropy_vs_bincount"])
    if "vs_bincount_one_call" in e:
        ratios("vs one numpy.bincount call", e["vs_bincount_one_call"], TARGETS["entropy_vs_bincount"])
    for b, frac in e["fraction_of_copy"].items():
        lines.append(f"  -> {b} throughput = {frac:.0%} of numpy.copyto's; target 25%: "
                     f"{'met' if frac >= TARGETS['entropy_vs_copy'] else 'NOT met'}")
    lines.append("")
    f = rec["batch_fingerprint"]
    table(f"batch fingerprint (xxh64) of {f['keys']:,} keys of 0-80 bytes", f["results"])
    ratios("on a pyarrow array vs python loop", f["arrow_vs_loop"], TARGETS["fingerprint_vs_loop"])
    for b, ns in f.get("ns_per_key_core", {}).items():
        lines.append(f"  -> {b}: {ns:.1f} ns per key per core = {ns / f['limit_ns_per_key']:.1f}x the per-key "
                     f"limit ({f['limit_ns_per_key']:.1f} ns for keys of {f['key_bytes'] / f['keys']:.0f} B on average)")
    if "default_vs_loop" in f:
        r = f["default_vs_loop"]
        lines.append(f"  -> kit.kernels.batch_fingerprint(keys), the engine's choice: {r['ratio']:.2f}x the loop "
                     f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]")
    for b, r in f["list_vs_loop"].items():
        lines.append(f"  -> {b} from a plain list: {r['ratio']:.2f}x the loop")
    lines.append(f"  -> the conversion list -> (offsets, data) alone costs {format_time(f['conversion_s'])}")
    lines.append("")
    b = rec["bootstrap"]
    table(f"bootstrap CI of the median, {b['resamples']:,} resamples of {b['samples']:,} samples", b["results"],
          nbytes=False)
    ratios("vs numpy choice + median", b["vs_numpy"], TARGETS["bootstrap_vs_numpy"])
    lines.append("")
    lines.append("targets, each judged on the faster numba backend (the one the engine selects):")
    for name, (value, target) in rec["targets"].items():
        shown = f"{value:.0%}" if name == "entropy_vs_copy" else f"{value:.2f}x"
        goal = f"{target:.0%}" if name == "entropy_vs_copy" else f"{target:g}x"
        lines.append(f"  {name:<22} {shown:>8}  target {goal:>5}  {'met' if value >= target else 'NOT met'}"
                     f"  ({rec['targets_backend'][name]})")
    lines.append("")
    lines.append("first calls (compile, or load from numba's disk cache), not in the figures above:")
    for k, v in rec["compile_times"].items():
        lines.append(f"  {k:<34} {format_time(v['seconds']):>10}  ({v['source']})")
    lines.append("GPU backends:")
    for k, per in rec["gpu_backends"].items():
        for n, reason in per.items():
            lines.append(f"  {k + ':' + n:<24} {'available' if reason is None else reason}")
    return "\n".join(_fit(line) for line in lines)


def _fit(line: str) -> str:
    """A line of at most :data:`kit.targets._common.WIDTH` columns, or several, indented under it."""
    import textwrap

    if len(line) <= WIDTH:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return "\n".join(textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False))


def build_parser() -> Parser:
    """The options of ``python -m kit.targets kernels``."""
    p = parser("kernels", description(__doc__))
    p.add_argument("--quick", action="store_true", help="a tenth of the sizes, quick preset (smoke run)")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 on a bad option).

    Examples
    --------
    >>> from kit.targets.kernels import main
    >>> main(["--quick"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    rec = run(quick=args.quick)
    if args.json:
        print_json(rec)
    else:
        print(format_record(rec))
    return 0
