"""Kernels with a numpy reference, a numba CPU version and GPU versions, chosen by the engine.

============================  ======================================================
function                      what it computes
============================  ======================================================
:func:`entropy`               Shannon entropy of bytes (bits/byte), whole or per block
:func:`batch_fingerprint`     xxh64 / xxh3-64 of many small keys, bit-exact with xxhash
:func:`pack_keys`             many keys as Arrow's ``(offsets, data)``: convert once, hash twice
:func:`bootstrap`             percentile bootstrap CI of a median or mean
============================  ======================================================

Each takes ``backend=`` (``"numpy"``, ``"numba"`` on one core,
``"numba.parallel"`` on all cores, ``"cuda"``, ``"cupy"``, and ``"xxhash"``
for fingerprints); by default the engine picks the fastest verified backend
measured on this machine. All backends of a kernel give the
same results (the registry's ``kernel.*`` operations verify it) and share one
signature. A GPU backend named where no CUDA device exists raises
:class:`kit.errors.BackendUnavailable`; it never runs on the CPU instead.

The numba kernels compile on first use (never at import) and are cached on
disk; :func:`compile_times` reports that first-call cost apart from the steady
state. :func:`scaling` and :func:`plot_scaling` draw time against input size
per backend (:mod:`kit.profile`, kit's one "vs size" profiler);
``python -m kit.targets kernels`` measures the issue's targets.

This package loads its parts lazily: ``import kit.kernels`` imports neither
numpy nor numba.

Examples
--------
>>> import kit.kernels
>>> kit.kernels.entropy(b"aabb", backend="numpy")
1.0
>>> kit.kernels.batch_fingerprint([b"kit"], backend="numpy").dtype
dtype('uint64')
"""

from __future__ import annotations

from kit._lazy import attach

from kit.kernels._surface import FEATURES, KERNELS

_LAZY = {
    "entropy": "kit.kernels._api",
    "batch_fingerprint": "kit.kernels._api",
    "pack_keys": "kit.kernels._inputs:as_keys",
    "bootstrap": "kit.kernels._api",
    "compile_times": "kit.kernels._api",
    "backends": "kit.kernels._api",
    "choose": "kit.kernels._api",
    "implementation": "kit.kernels._api",
    "scaling": "kit.kernels._scaling",
    "plot_scaling": "kit.kernels._scaling",
}

__all__ = ["FEATURES", "KERNELS", *_LAZY]


__getattr__, __dir__, _ = attach("kit.kernels", _LAZY, extra=("FEATURES", "KERNELS"))
