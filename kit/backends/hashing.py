"""Hashing: ``fingerprint`` (non-cryptographic, 128-bit) and ``digest`` (cryptographic, 256-bit).

Backends of one hashing operation are different *algorithms*, so they give
different values for the same input. Each is verified against its own
reference (official test vectors, or hashlib for the stdlib ones), never
against the baseline's value; the selected algorithm is part of the engine's
wisdom and shown by ``kit.backend_for``. Code that stores hashes (the cache)
keys them by algorithm, so a change of selection is a miss, never a false hit.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable

from kit._registry import FROM_BASELINE, Backend, Operation, declare_backend, declare_operation

CONTRACT = (
    "hash(data) -> bytes of the operation's width for any bytes-like input (bytes, bytearray, "
    "memoryview, contiguous numpy buffer); the same input gives the same bytes on every call and "
    "machine for a given algorithm; the value matches the algorithm's reference vectors."
)


def _blake2b_16(data: Any) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _blake2b_32(data: Any) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def _sha256(data: Any) -> bytes:
    return hashlib.sha256(data).digest()


def _load_xxh3_128() -> Callable:
    import xxhash

    return xxhash.xxh3_128_digest


def _load_blake3() -> Callable:
    from blake3 import blake3

    def digest(data: Any) -> bytes:
        return blake3(data).digest()

    return digest


def _corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    yield "empty", (b"",), FROM_BASELINE
    yield "one byte", (b"\x00",), FROM_BASELINE
    yield "text", (b"The quick brown fox jumps over the lazy dog",), FROM_BASELINE
    yield "bytearray", (bytearray(b"abc" * 100),), FROM_BASELINE
    yield "memoryview", (memoryview(bytes(range(256)) * 64),), FROM_BASELINE
    yield "1 MiB", (bytes(range(256)) * 4096,), FROM_BASELINE


def _same_width(result: Any, expected: Any) -> bool:
    return isinstance(result, bytes) and len(result) == len(expected)


def _check_vectors(name: str, fn: Callable) -> list[str]:
    from kit import vectors

    problems: list[str] = []
    if name == "xxh3_128":
        cases = [(data, expected.to_bytes(16, "big")) for data, seed, expected in vectors.xxhash_vectors("xxh128") if seed == 0]
    elif name == "blake3":
        cases = vectors.blake3_vectors()
    else:
        cases = []
    for data, expected in cases:
        got = fn(data)
        if got != expected:
            problems.append(f"vector of {len(data)} bytes: got {got.hex()}, expected {expected.hex()}")
    # Same bytes whatever the buffer type.
    sample = bytes(range(256)) * 3
    views = {fn(sample), fn(bytearray(sample)), fn(memoryview(sample))}
    if len(views) != 1:
        problems.append("different values for bytes, bytearray and memoryview of the same data")
    return problems


for _name, _width, _summary in (
    ("fingerprint", 16, "128-bit non-cryptographic hash of bytes"),
    ("digest", 32, "256-bit cryptographic hash of bytes"),
):
    declare_operation(
        Operation(
            name=_name,
            category="hashing",
            summary=_summary,
            baseline="hashlib.blake2b" if _name == "fingerprint" else "hashlib.sha256",
            signature="hash(data) -> bytes",
            kinds=("random",),
            prepare=lambda data, backend: (data,),
            equal=_same_width,
            contract=CONTRACT,
            corpus=_corpus,
            check=_check_vectors,
        )
    )

_F = frozenset({"bytes", "bytearray", "memoryview", "buffer-protocol"})
declare_backend(Backend("fingerprint", "hashlib.blake2b", (), None, lambda: _blake2b_16, _F,
                        "hashlib.blake2b(digest_size=16)"))
declare_backend(Backend("fingerprint", "xxh3_128", ("xxhash",), "xxhash", _load_xxh3_128, _F,
                        "xxhash.xxh3_128_digest: canonical (big-endian) 16 bytes"))
declare_backend(Backend("digest", "hashlib.sha256", (), None, lambda: _sha256, _F, "hashlib.sha256"))
declare_backend(Backend("digest", "blake3", ("blake3",), "blake3", _load_blake3, _F,
                        "blake3.blake3(data).digest(), single-threaded"))
declare_backend(Backend("digest", "hashlib.blake2b", (), None, lambda: _blake2b_32, _F,
                        "hashlib.blake2b(digest_size=32)"))
