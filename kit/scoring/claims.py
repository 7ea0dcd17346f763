"""The claims check: each figure the seed documents state, measured on this machine.

:data:`CLAIMS` is the claims table of DESIGN.md as data, with the seed file each figure comes from.
:func:`check_claims` measures every claim that kit can measure here and gives claimed vs measured
speed-up with a bootstrap 95% CI and a verdict:

``holds``
    the 95% CI of the measured speed-up reaches the claimed figure (the measurement does not
    contradict it);
``does not hold``
    the whole CI lies below the claimed figure;
``not measurable here``
    a part is missing on this machine or in kit (no GPU, a library not installed, a kit part not
    built yet); the reason is given, nothing fails.

A claim "X vs Y" is measured as the backend X against the baseline Y of the same operation,
interleaved in one run (:meth:`kit.engine.Engine.measure` with ``backends=[baseline, X]``), on every
payload class of the run except the small one, whether or not X passed verification (a claim is
about speed; the note says when X gives different results). The seeds' figures are throughput claims,
so they are read on the bulk classes (medium, 64 KiB; and large, 8 MiB, in a full run), where a ~200-byte
call's fixed overhead does not decide the ratio. The measured figure is the geometric mean over operations of
the geometric mean over that operation's payload classes, with the same bootstrap as the score
(:func:`kit.scoring.formula.nested_geomean`). "gzip" in the seeds is measured as ``zlib`` at gzip's default
level 6: the same DEFLATE stream without the gzip header.

Examples
--------
>>> from kit.scoring.claims import CLAIMS
>>> [c.title for c in CLAIMS][:2]
['orjson vs json', 'msgspec vs json']
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from kit import registry as _registry
from kit._display import Table
from kit.engine import get_engine, payload_nbytes
from kit.engine.measure import compare
from kit.payloads import payload
from kit.scoring.formula import Ratio, nested_geomean

__all__ = ["CLAIMS", "SEEDS", "Claim", "ClaimResult", "check_claims", "claims_table", "format_measured"]

#: The seed documents the claims come from.
SEEDS = {
    "000": "000_5e558af45aa0bbe9.txt",
    "001": "001_63c562d5b705ab70.txt",
    "002": "002_31a79a779d38d09e.txt",
}

HOLDS, FAILS, NOT_MEASURABLE = "holds", "does not hold", "not measurable here"

#: Payload classes the claims are read on (bulk data).
CLAIM_SIZES = ("medium", "large")


@dataclass(frozen=True)
class Claim:
    """One claimed figure from the seeds.

    Parameters
    ----------
    key : str
        Short identifier (``"blake3"``); one subject may carry several claimed figures.
    title : str
        The claim as the table shows it.
    claimed : float
        The claimed figure, in ``unit``.
    unit : str
        ``"x"`` (speed-up over the baseline) or ``"% smaller"`` (size reduction).
    seeds : tuple of str
        File names of the seed documents stating it.
    pairs : tuple of (operation, backend, baseline operation, baseline backend)
        What to measure; the baseline operation is the operation itself except for comparisons
        across operations (xxhash is a ``fingerprint`` backend, sha256 a ``digest`` one).
    needs : str or None
        A part of kit or the machine the claim needs beyond the registry's backends:
        ``"kernels:numba"``, ``"kernels:gpu"``, ``"cache"``, ``"compressed cache"``.
    note : str
        How the claim is read.
    """

    key: str
    title: str
    claimed: float
    unit: str
    seeds: tuple[str, ...]
    pairs: tuple[tuple[str, str, str, str], ...] = ()
    needs: str | None = None
    note: str = ""


def _pairs(*items: tuple[str, str]) -> tuple[tuple[str, str, str, str], ...]:
    out = []
    for op, backend in items:
        out.append((op, backend, op, ""))  # "" = the operation's baseline
    return tuple(out)


def _seeds(*ids: str) -> tuple[str, ...]:
    return tuple(SEEDS[i] for i in ids)


_GZIP = "gzip measured as zlib level 6 (the same DEFLATE stream); compress and decompress"

#: The claims table of DESIGN.md.
CLAIMS: tuple[Claim, ...] = (
    Claim("orjson", "orjson vs json", 5.0, "x", _seeds("000", "001", "002"),
          _pairs(("json.encode", "orjson"), ("json.decode", "orjson")), note="encode and decode"),
    Claim("msgspec", "msgspec vs json", 6.0, "x", _seeds("002"),
          _pairs(("json.encode", "msgspec"), ("json.decode", "msgspec")), note="encode and decode"),
    Claim("simdjson", "simdjson vs json (parse)", 8.0, "x", _seeds("002"),
          _pairs(("json.decode", "simdjson")), note="decode"),
    Claim("blake3", "blake3 vs sha256", 8.0, "x", _seeds("000", "001"), _pairs(("digest", "blake3"))),
    Claim("blake3", "blake3 vs sha256", 5.0, "x", _seeds("002"), _pairs(("digest", "blake3"))),
    Claim("xxhash", "xxhash vs sha256", 4.0, "x", _seeds("002"),
          (("fingerprint", "xxh3_128", "digest", "hashlib.sha256"),),
          note="xxh3_128 (fingerprint) against hashlib.sha256 (digest) on the same bytes"),
    Claim("lz4", "lz4 vs gzip", 10.0, "x", _seeds("000", "001"),
          _pairs(("compress", "lz4"), ("decompress", "lz4")), note=_GZIP),
    Claim("lz4", "lz4 vs gzip", 4.0, "x", _seeds("002"),
          _pairs(("compress", "lz4"), ("decompress", "lz4")), note=_GZIP),
    Claim("zstandard", "zstandard vs gzip", 5.0, "x", _seeds("002"),
          _pairs(("compress", "zstd"), ("decompress", "zstd")), note=_GZIP),
    Claim("blosc2", "blosc2 vs gzip", 6.0, "x", _seeds("002"),
          _pairs(("compress", "blosc2"), ("decompress", "blosc2")), note=_GZIP),
    Claim("numba", "numba (JIT)", 15.0, "x", _seeds("001", "002"), needs="kernels:numba",
          note="numba CPU kernels on one core (backend `numba`, not `numba.parallel`) against their numpy "
               "reference, steady state (compile time apart)"),
    Claim("polars", "polars", 20.0, "x", _seeds("000", "001", "002"),
          _pairs(("table.groupby", "polars"), ("table.roundtrip", "polars")),
          note="group-by against pure Python, Parquet round trip against csv"),
    Claim("pyarrow", "pyarrow", 8.0, "x", _seeds("002"),
          _pairs(("table.groupby", "pyarrow"), ("table.roundtrip", "pyarrow")),
          note="group-by against pure Python, Parquet round trip against csv"),
    Claim("cupy", "cupy (GPU)", 50.0, "x", _seeds("002"), needs="kernels:gpu",
          note="GPU kernels (cupy or numba.cuda) against their numpy reference"),
    Claim("cache", "cached vs uncached response", 296.2, "x", _seeds("001", "000"), needs="cache",
          note="CopyService responses through kit.Cache, hit against no cache; the seeds also state 0.1 ms cached"),
    Claim("compressed-cache", "compressed cache size reduction", 60.0, "% smaller", _seeds("002"),
          needs="compressed cache", note="bytes held by the compressed tier (dictionary included) against the "
          "values' encoded size"),
)


@dataclass
class ClaimResult:
    """A claim with its measured figure and verdict."""

    claim: Claim
    verdict: str
    measured: tuple[float, float, float] | None = None  # value, CI low, CI high
    reason: str = ""
    classes: int = 0
    per_operation: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {"key": c.key, "title": c.title, "claimed": c.claimed, "unit": c.unit, "seeds": list(c.seeds),
                "verdict": self.verdict, "reason": self.reason, "classes": self.classes,
                "measured": None if self.measured is None else self.measured[0],
                "measured_ci": None if self.measured is None else list(self.measured[1:]),
                "per_operation": {k: {"value": v[0], "ci": list(v[1:])} for k, v in self.per_operation.items()}}


def _resolve(claim: Claim) -> tuple[list[tuple[str, str, str, str]], str | None]:
    """The pairs to measure for ``claim`` here, or the reason it cannot be measured."""
    if claim.needs is None:
        pairs = list(claim.pairs)
    elif claim.needs.startswith("kernels:"):
        kernels = [op for op in _registry.operations() if op.category == "kernels"]
        if not kernels:
            return [], "kit has no kernel operations in its registry yet (kit.kernels is not declared)"
        want = claim.needs.split(":", 1)[1]
        pairs = []
        for op in kernels:
            for b in _registry.backends(op.name):
                if b.name == op.baseline:
                    continue
                # numba: the one-core backend, so the figure is the JIT's gain over numpy (itself
                # one core), not the machine's core count (numba.parallel is measured by the engine).
                if (want == "gpu" and b.device == "gpu") or (want == "numba" and b.name == "numba"):
                    pairs.append((op.name, b.name, op.name, ""))
        if not pairs:
            kind = "GPU" if want == "gpu" else "numba"
            return [], f"no {kind} backend of a kernel is declared in kit's registry"
    elif claim.needs in ("cache", "compressed cache"):
        reason = _cache_missing()
        if reason is not None:
            return [], reason
        return [], None
    else:  # pragma: no cover - CLAIMS is fixed data
        return [], f"unknown requirement {claim.needs!r}"
    problems: dict[str, list[str]] = {}
    usable = []
    for op, backend, base_op, base in pairs:
        b = _registry.backend(op, backend)
        reason = b.unavailable_reason()
        if reason is not None:
            problems.setdefault(reason, [])
            if backend not in problems[reason]:
                problems[reason].append(backend)
        else:
            usable.append((op, backend, base_op, base or _registry.operation(base_op).baseline))
    if not usable:
        return [], "; ".join(f"{', '.join(names)}: {reason}" for reason, names in problems.items())
    return usable, None


def check_claims(bench: Any = None, *, engine: Any = None, preset: str = "quick",
                 sizes: Iterable[str] | None = None, claims: Iterable[Claim] | None = None,
                 progress: Callable[[str], None] | None = None) -> list[ClaimResult]:
    """Measure the claims and give each a verdict.

    Parameters
    ----------
    bench : kit.engine.BenchResult, optional
        A run to take measurements from (same payload classes, interleaved with the baseline);
        claims on operations outside it are reported as not measurable in this run. Without it,
        everything needed is measured now.
    engine : kit.engine.Engine, optional
        The engine that measures (default: the process engine).
    preset : {"quick", "full"}
        Timing preset for new measurements.
    sizes : iterable of str, optional
        Payload classes (default: :data:`CLAIM_SIZES`, those of them in ``bench`` when it is given,
        else medium for ``quick`` and medium and large for ``full``).
    claims : iterable of Claim, optional
        Default: :data:`CLAIMS`.

    Returns
    -------
    list of ClaimResult

    Examples
    --------
    >>> from kit.scoring.claims import CLAIMS, check_claims
    >>> [r.verdict in ("holds", "does not hold", "not measurable here") for r in check_claims(claims=[CLAIMS[-1]])]
    [True]
    """
    eng = engine if engine is not None else get_engine()
    say = progress or (lambda label: None)
    if sizes is not None:
        wanted = list(sizes)
    elif bench is not None:
        wanted = list(CLAIM_SIZES)
    else:
        wanted = list(CLAIM_SIZES) if preset == "full" else ["medium"]
    for s in wanted:
        if s not in _registry.SIZE_CLASSES:
            raise ValueError(f"unknown size class {s!r}; valid: {', '.join(_registry.SIZE_CLASSES)}")
    rows: dict[tuple[str, str, str, str], Any] = {}
    in_run: dict[str, list[tuple[str, str]]] = {}
    if bench is not None:
        for r in bench.rows:
            rows[(r.operation, r.size, r.kind, r.backend)] = r
            in_run.setdefault(r.operation, [])
            if r.size in wanted and (r.size, r.kind) not in in_run[r.operation]:
                in_run[r.operation].append((r.size, r.kind))
    out = []
    for claim in (CLAIMS if claims is None else tuple(claims)):
        pairs, reason = _resolve(claim)
        if reason is not None:
            out.append(ClaimResult(claim, NOT_MEASURABLE, reason=reason))
            continue
        say(f"claims: {claim.title}")
        if claim.needs == "cache":
            out.append(_measure_cached_response(claim, preset))
            continue
        if claim.needs == "compressed cache":
            out.append(_measure_compressed_cache(claim))
            continue
        out.append(_measure_claim(claim, pairs, eng, preset, rows, in_run if bench is not None else None,
                                  wanted))
    return out


def _measure_claim(claim: Claim, pairs: list[tuple[str, str, str, str]], eng: Any, preset: str,
                   rows: dict, in_run: dict | None, default_sizes: list[str]) -> ClaimResult:
    ratios: list[Any] = []
    notes: list[str] = []
    skipped: list[str] = []
    for op_name, backend, base_op, base in pairs:
        op = _registry.operation(op_name)
        if in_run is not None:
            classes = in_run.get(op_name) or []
            if base_op != op_name:
                classes = [c for c in classes if c in (in_run.get(base_op) or [])]
            if not classes:
                skipped.append(op_name)
                continue
        else:
            classes = [(s, k) for s in op.sizes if s in default_sizes for k in op.kinds]
        if not eng.verification(op_name, backend).ok:
            notes.append(f"{backend} fails {op_name} verification (measured anyway)")
        for size, kind in classes:
            if base_op == op_name:
                sel, b = rows.get((op_name, size, kind, backend)), rows.get((op_name, size, kind, base))
                if sel is None or b is None:
                    measured = {r.backend: r for r in eng.measure(op_name, size, kind, backends=[base, backend],
                                                                  preset=preset)}
                    sel, b = measured[backend], measured[base]
                ratios.append(Ratio(op_name, b.measurement.samples, sel.measurement.samples))
            else:
                res = _measure_across(op_name, backend, base_op, base, size, kind, preset)
                ratios.append(Ratio(op_name, res[base].samples, res[backend].samples))
    if not ratios:
        return ClaimResult(claim, NOT_MEASURABLE,
                           reason=f"{', '.join(dict.fromkeys(skipped))} not measured in this run "
                                  f"on the {' or '.join(default_sizes)} payload class")
    value, (lo, hi), per = nested_geomean(ratios)
    verdict = HOLDS if hi >= claim.claimed else FAILS
    if verdict == HOLDS and value < claim.claimed:
        notes.append("the point estimate is below the claim; its CI reaches it")
    if skipped:
        notes.append(f"{', '.join(dict.fromkeys(skipped))} not measured in this run")
    return ClaimResult(claim, verdict, (value, lo, hi), "; ".join(notes), len(ratios), per)


#: Distinct copy-service requests the cached-response claim is measured on.
CACHE_REQUESTS = 64
#: Distinct copy-service responses the compressed-cache claim is measured on: a
#: catalogue large enough for the compressed tier to train its zstd dictionary as
#: a user's would (the first at 64 small entries, a better one at 512).
COMPRESSED_CACHE_RESPONSES = 1000


def _cache_missing() -> str | None:
    """Why the cache claims cannot be measured here, or ``None``."""
    for mod, what in (("kit.cache", "kit.Cache"), ("kit.workloads.service", "the copy service (CopyService)")):
        try:
            found = importlib.util.find_spec(mod) is not None
        except ImportError:
            found = False
        if not found:
            return f"{what} ({mod}) is not built yet"
    import kit.cache

    for name in ("Cache", "CompressedTier"):
        if name not in getattr(kit.cache, "__all__", ()) and not hasattr(kit.cache, name):
            return f"kit.cache has no {name} yet"
    return None


def _copy_requests() -> list[Any]:
    from kit.workloads import copy_requests

    return copy_requests(CACHE_REQUESTS, seed=0)


class _NoCache:
    """A cache that never holds anything: the copy service's uncached path, with the same code around it."""

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        return None


def _measure_cached_response(claim: Claim, preset: str) -> ClaimResult:
    """CopyService responses: answered from kit.Cache's memory tier (hits) against generated (no cache)."""
    from kit.workloads.service import CopyService

    try:
        requests = _copy_requests()
        uncached_svc = CopyService(cache=_NoCache())
        cached_svc = CopyService(l1_size=2 * CACHE_REQUESTS)
        for r in requests:
            cached_svc.generate(r)  # warm: every later request is an L1 hit
        cached_svc.reset_metrics()

        def uncached() -> None:
            for r in requests:
                uncached_svc.generate(r)

        def cached() -> None:
            for r in requests:
                cached_svc.generate(r)

        res = compare({"uncached": uncached, "cached": cached}, preset=preset)
        rate = (cached_svc.metrics().get("cache") or {}).get("hit_rate")
    except Exception as exc:  # a part being built by another engineer: say so, do not fail the score
        return ClaimResult(claim, NOT_MEASURABLE, reason=f"measuring failed: {type(exc).__name__}: {exc}")
    value, (lo, hi), per = nested_geomean([Ratio("copy service", res["uncached"].samples, res["cached"].samples)])
    per_hit = res["cached"].median / len(requests)
    per_miss = res["uncached"].median / len(requests)
    note = (f"CopyService.generate on {len(requests)} distinct requests, L1 hits of kit.Cache against the same "
            f"service without a cache; {per_hit * 1e3:.4f} ms cached, {per_miss * 1e3:.3f} ms uncached per "
            f"response (the seeds state 0.1 ms cached)")
    if rate is not None and rate < 1.0:
        note += f"; warning: the cached service's hit rate was {rate:.3f}, not 1"
    return ClaimResult(claim, HOLDS if hi >= claim.claimed else FAILS, (value, lo, hi), note, 1, per)


def _measure_compressed_cache(claim: Claim) -> ClaimResult:
    """Bytes the copy service's compressed tier (L2) holds for its responses, against their encoded size.

    The service is used as a user would: ``CopyService()`` with its default
    ``kit.Cache`` (L1 + compressed L2, write-through), answering
    :data:`COMPRESSED_CACHE_RESPONSES` distinct requests. The responses are
    small (~445 bytes encoded), so L2 holds them with the zstd dictionary it
    trains on them; the bytes held count the frames with their headers and
    the dictionary itself. Against the encoded values (no headers).
    """
    from kit.workloads import copy_requests
    from kit.workloads.service import CopyService

    n = COMPRESSED_CACHE_RESPONSES
    try:
        svc = CopyService(l1_size=n)
        try:
            for r in copy_requests(n, seed=0):
                svc.generate(r)
            l2 = getattr(svc.cache, "l2", None)
            if l2 is None:
                return ClaimResult(claim, NOT_MEASURABLE, reason="the copy service's cache has no compressed tier")
            stats = l2.stats()
        finally:
            svc.close()
    except Exception as exc:  # a part being built by another engineer: say so, do not fail the score
        return ClaimResult(claim, NOT_MEASURABLE, reason=f"measuring failed: {type(exc).__name__}: {exc}")
    raw, held, entries = stats["raw_bytes"], stats["bytes"], stats["entries"]
    if not raw or not entries:
        return ClaimResult(claim, NOT_MEASURABLE, reason="the compressed tier reported no raw bytes")
    reduction = 100.0 * (1 - held / raw)
    d = stats.get("dictionary") or {}
    how = (f"{d.get('bytes', 0)} of them its zstd dictionary (version {d.get('version')}, trained on "
           f"{d.get('trained_on')} responses; {d.get('entries_using')} entries use it)"
           if d.get("bytes") else "no dictionary trained")
    note = (f"{entries} distinct copy-service responses of {raw // entries} bytes on average (encoded), cached by "
            f"CopyService's default kit.Cache: {raw} bytes encoded, {held} held by its compressed tier L2 "
            f"(frames with their headers; {how}); a size: no CI")
    return ClaimResult(claim, HOLDS if reduction >= claim.claimed else FAILS, (reduction, reduction, reduction),
                       note, entries)


def _measure_across(op_name: str, backend: str, base_op: str, base: str, size: str, kind: str,
                    preset: str) -> dict[str, Any]:
    """Two backends of two operations taking the same input, measured interleaved."""
    data = payload(kind, _registry.SIZE_CLASSES[size], seed=0)
    contenders = {}
    for o, name in ((base_op, base), (op_name, backend)):
        fn = _registry.backend(o, name).implementation()
        args = _registry.operation(o).prepare(data, name)
        contenders[name] = (lambda fn=fn, args=args: fn(*args))
    return compare(contenders, nbytes=payload_nbytes(data), preset=preset)


def format_measured(measured: Sequence[float] | None, unit: str) -> str:
    """A measured figure with its CI, in the claim's unit.

    Examples
    --------
    >>> format_measured((5.0, 4.5, 5.5), "x"), format_measured((12.5, 12.5, 12.5), "% smaller")
    ('5.00x [4.50, 5.50]', '12.5% smaller')
    """
    if measured is None or measured[0] is None:
        return ""
    v, lo, hi = measured
    if unit == "x":
        return f"{v:.2f}x [{lo:.2f}, {hi:.2f}]"
    return f"{v:.1f}{unit}" if lo == hi else f"{v:.1f}{unit} [{lo:.1f}, {hi:.1f}]"


def claims_table(results: Iterable[ClaimResult]) -> Table:
    """The claims as a table: claimed, measured with its CI, verdict, seeds.

    Examples
    --------
    >>> from kit.scoring.claims import CLAIMS, ClaimResult
    >>> print(claims_table([ClaimResult(CLAIMS[0], "not measurable here", reason="demo")]).rows[0][3])
    not measurable here
    """
    rows = []
    for r in results:
        c = r.claim
        claimed = f"{c.claimed:g}x" if c.unit == "x" else f"{c.claimed:g}{c.unit}"
        measured = format_measured(r.measured, c.unit)
        seeds = ", ".join(s.split("_", 1)[0] for s in c.seeds)
        rows.append([c.title, claimed, measured, r.verdict, seeds, r.reason or c.note])
    notes = ["Verdict: holds when the 95% bootstrap CI of the measured figure reaches the claimed one; "
             "measured = geometric mean over operations and payload classes of baseline time / backend time. "
             "Seeds: " + ", ".join(SEEDS.values()) + "."]
    return Table("claims check", ["claim", "claimed", "measured (95% CI)", "verdict", "seeds", "notes"], rows, notes)
