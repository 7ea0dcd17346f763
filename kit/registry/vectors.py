"""Official test vectors (BLAKE3, xxHash) read from the shared data folder.

Used by the engine's verification and by the kernels' tests. Each loader
returns an empty list when the data is absent, so callers can skip with a
reason.
"""

from __future__ import annotations

import json
from functools import lru_cache

from kit._paths import shared_file


@lru_cache(maxsize=None)
def xxhash_buffer() -> bytes:
    """The 2367-byte sanity buffer of xxHash's ``xsum_sanity_check.c``.

    Examples
    --------
    >>> len(xxhash_buffer()) in (0, 2367)
    True
    """
    spec = _xxhash_spec()
    if spec is None:
        return b""
    state, mult = spec["fill_rule"]["init"], spec["fill_rule"]["mult"]
    out = bytearray()
    for _ in range(spec["buffer_size"]):
        out.append((state >> 56) & 0xFF)
        state = (state * mult) % 2**64
    return bytes(out)


@lru_cache(maxsize=None)
def _xxhash_spec() -> dict | None:
    p = shared_file("vectors", "xxhash_sanity_vectors.json")
    return None if p is None else json.loads(p.read_text())


def xxhash_vectors(family: str) -> list[tuple[bytes, int, int]]:
    """``(input, seed, expected)`` for ``xxh32``, ``xxh64``, ``xxh3_64`` or ``xxh128``.

    Examples
    --------
    >>> all(isinstance(v[2], int) for v in xxhash_vectors("xxh64"))
    True
    """
    spec = _xxhash_spec()
    if spec is None:
        return []
    buf = xxhash_buffer()
    key, field = {
        "xxh32": ("xxh32", "xxh32"),
        "xxh64": ("xxh64", "xxh64"),
        "xxh3_64": ("xxh3_64_seeded", "xxh3_64"),
        "xxh128": ("xxh128_seeded", "xxh128_int"),
    }[family]
    return [(buf[: v["len"]], int(v["seed"]), int(v[field], 16)) for v in spec[key]]


def blake3_vectors() -> list[tuple[bytes, bytes]]:
    """``(input, 32-byte digest)`` pairs of the official BLAKE3 vectors."""
    p = shared_file("vectors", "blake3_test_vectors.json")
    if p is None:
        return []
    cases = json.loads(p.read_text())["cases"]
    return [(bytes(i % 251 for i in range(c["input_len"])), bytes.fromhex(c["hash"])[:32]) for c in cases]
