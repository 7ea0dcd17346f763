"""asv benchmarks of the hot-path targets: small-payload JSON dispatch, ``codec="auto"`` regret, batch keys.

Each target is a ratio measured within one run (``kit.engine.measure.compare``:
interleaved samples, medians), tracked as a number, with the times beside it:

* ``JsonDispatch``: ``kit.json.dumps``/``loads`` on a 189-byte document over
  the selected library's plain call (target 1.10);
* ``AutoRegret``: ``codec="auto"``'s objective (balanced) over the best
  codec's in hindsight, on the held-out inputs of
  :func:`kit.targets.cache.held_out` (target 1.10);
* ``BatchKeys``: a Python loop of ``xxhash.xxh64_intdigest`` over the numba
  kernel on 1M random keys of 0-80 bytes in a pyarrow array (target 15).

``python -m kit.targets engine``, ``python -m kit.targets cache --only
compression`` and ``python -m kit.targets kernels`` print the same figures
with intervals.
"""

from __future__ import annotations


class JsonDispatch:
    timeout = 120

    def setup(self) -> None:
        import kit
        from kit import workloads
        from kit.engine import get_engine

        self.doc = workloads.payload("json", 189, seed=1)
        self.data = kit.json.dumps(self.doc)
        kit.json.loads(self.data)
        enc, dec = get_engine().binding("json.encode"), get_engine().binding("json.decode")
        inline = getattr(enc.medium, "inline", None)
        self.lib_dumps = inline[0] if inline is not None else enc.medium
        self.lib_loads = dec.small
        self.dumps, self.loads = kit.json.dumps, kit.json.loads

    def time_kit_dumps(self) -> None:
        self.dumps(self.doc)

    def time_direct_dumps(self) -> None:
        self.lib_dumps(self.doc)

    def time_kit_loads(self) -> None:
        self.loads(self.data)

    def time_direct_loads(self) -> None:
        self.lib_loads(self.data)

    def _ratio(self, kit_fn, direct_fn) -> float:
        from kit.engine.measure import compare

        doc, data = self.doc, self.data
        arg = doc if kit_fn is self.dumps else data
        res = compare({"kit": lambda: kit_fn(arg), "direct": lambda: direct_fn(arg)}, preset="quick", samples=15)
        return res["kit"].median / res["direct"].median

    def track_dumps_over_direct(self) -> float:
        return self._ratio(self.dumps, self.lib_dumps)

    def track_loads_over_direct(self) -> float:
        return self._ratio(self.loads, self.lib_loads)

    track_dumps_over_direct.unit = "ratio"  # type: ignore[attr-defined]
    track_loads_over_direct.unit = "ratio"  # type: ignore[attr-defined]


def _held_out_labels() -> list[str]:
    try:
        from kit.targets.cache import held_out

        return [label for label, _, _ in held_out()]
    except Exception:  # noqa: BLE001 - a missing piece only shrinks the parameter list
        return []


class AutoRegret:
    params = [_held_out_labels()]
    param_names = ["input"]
    timeout = 300

    def setup(self, label: str) -> None:
        from kit.targets.cache import held_out

        found = {lbl: (data, ts) for lbl, data, ts in held_out()}
        if label not in found:
            raise NotImplementedError(f"{label} is not on this machine")
        self.data, self.ts = found[label]

    def time_auto(self, label: str) -> None:
        from kit.compression import compress

        compress(self.data, typesize=self.ts)

    def track_regret(self, label: str) -> float:
        """auto's objective over the best codec's (raw included), minima of interleaved CPU-time samples."""
        return auto_regret(self.data, self.ts, samples=5)

    track_regret.unit = "ratio"  # type: ignore[attr-defined]


def auto_regret(data: bytes, ts: int, samples: int = 5, min_time: float = 0.003) -> float:
    """``codec="auto"``'s balanced objective over the best single codec's, as ``kit.targets.cache`` measures it.

    Examples
    --------
    >>> auto_regret(b"x" * 5000, 1, samples=1, min_time=0.0) > 0  # doctest: +SKIP
    True
    """
    import functools

    from kit import registry as _registry
    from kit.registry.codecs import CODECS
    from kit.targets.cache import objective_samples
    from kit.compression import CODEC_IDS, OBJECTIVES, compress, decompress

    names = {v: k for k, v in CODEC_IDS.items()}
    codecs = ["raw"] + [c for c in CODECS if c != "lzma" and _registry.backend("compress", c).available]
    fns = {c: functools.partial(compress, data, c, typesize=ts) for c in codecs}
    fns["auto"] = functools.partial(compress, data, "auto", typesize=ts)
    res, _ = objective_samples(fns, samples, min_time, OBJECTIVES["balanced"], decompress, lambda f: names[f[5]])
    cost = {c: min(v) for c, v in res.items()}
    return cost["auto"] / min(cost[c] for c in codecs)


class BatchKeys:
    timeout = 300

    def setup(self) -> None:
        import kit.kernels
        from kit.targets.kernels import cpu_backends, random_keys

        backends = cpu_backends()
        if not backends:
            raise NotImplementedError("numba is not available")
        import pyarrow as pa

        self.keys = random_keys(1_000_000)
        self.arr = pa.array(self.keys, type=pa.binary())
        self.fn = kit.kernels.implementation("batch_fingerprint", backends[0])
        self.fn(self.arr)  # compile or load from numba's cache

    def time_kernel_arrow(self) -> None:
        self.fn(self.arr)

    def time_python_loop(self) -> None:
        import xxhash

        f = xxhash.xxh64_intdigest
        [f(k) for k in self.keys]

    def track_loop_over_kernel(self) -> float:
        import xxhash

        from kit.engine.measure import compare

        f, keys, fn, arr = xxhash.xxh64_intdigest, self.keys, self.fn, self.arr
        res = compare({"loop": lambda: [f(k) for k in keys], "kernel": lambda: fn(arr)}, preset="quick", samples=7)
        return res["loop"].median / res["kernel"].median

    track_loop_over_kernel.unit = "ratio"  # type: ignore[attr-defined]
