"""Hashing: ``fingerprint`` (non-cryptographic, 128-bit) and ``digest`` (cryptographic, 256-bit).

Both operations are *algorithm* choices (``output="algorithm"`` in the
registry): their backends are different algorithms and give different values
for the same input. So the default call is one stable, documented algorithm,
the baseline's, which the standard library always provides:

``digest``
    SHA-256 (``sha256``): the default of OCI content digests, git's newer
    object format and most content-addressed stores; FIPS-approved.
``fingerprint``
    BLAKE2b with a 16-byte output (``blake2b_128``): in hashlib everywhere,
    so every installation gives the same bytes. XXH3-128 (``xxh3_128``) is
    several times faster but needs the ``xxhash`` library; a default that
    changed with an optional library would break every stored value, so
    XXH3-128 is opt-in, by name or as the measured fastest.

The engine still measures every algorithm; its choice is used only when asked
for (``algorithm="fastest"``), and then the result names its algorithm
(``kit.Digest``, printed ``blake3:<hex>`` as OCI content digests are). Each
backend is verified against its own reference (official test vectors, hashlib
for the stdlib ones) and for the same value whatever the buffer type, never
against the baseline's value.
"""

from __future__ import annotations

import array
import hashlib
import random
from typing import Any, Callable, Iterable

from kit import registry as _registry
from kit.registry import ALGORITHM, FROM_BASELINE, Backend, Operation, declare_backend, declare_operation

CONTRACT = (
    "hash(data) -> bytes of the operation's width for any bytes-like input (bytes, bytearray, "
    "memoryview, contiguous numpy buffer); the same input gives the same bytes on every call and "
    "machine for a given algorithm; the value matches the algorithm's reference vectors. The default "
    "call is the baseline's algorithm on every machine; the measured fastest is opt-in and names its "
    "algorithm."
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
        if type(data) is not bytes:  # blake3 takes only byte-format buffers; hashlib takes any contiguous one
            data = memoryview(data).cast("B")
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


def _streamed(new: Callable[[], Any]) -> Callable[[bytes], bytes]:
    """A reference computation: the algorithm fed in uneven pieces through its streaming interface."""

    def ref(data: bytes) -> bytes:
        h = new()
        for i in range(0, len(data), 977):
            h.update(data[i:i + 977])
        return h.digest()

    return ref


def _xxh3_128_state() -> Any:
    import xxhash

    return xxhash.xxh3_128()


def _blake3_state() -> Any:
    from blake3 import blake3

    return blake3()


#: Algorithm -> an independent way to compute it (the streaming interface, not the one-shot call).
_REFERENCES: dict[str, Callable[[bytes], bytes]] = {
    "sha256": _streamed(hashlib.sha256),
    "blake2b_128": _streamed(lambda: hashlib.blake2b(digest_size=16)),
    "blake2b_256": _streamed(lambda: hashlib.blake2b(digest_size=32)),
    "xxh3_128": _streamed(_xxh3_128_state),
    "blake3": _streamed(_blake3_state),
}


def _generated(rng: random.Random) -> Iterable[tuple[str, tuple]]:
    """Lengths around every power of two up to 2**17 (block and chunk edges), in four buffer types."""
    for k in range(18):
        for n in sorted({2 ** k - 1, 2 ** k, 2 ** k + 1}):
            data = rng.randbytes(n)
            kind = rng.randrange(4)
            if kind == 3:  # a buffer of 4-byte items, as numpy arrays and array.array give
                buf: Any = array.array("I", data[: n - n % 4])
            else:
                buf = data if kind == 0 else bytearray(data) if kind == 1 else memoryview(data)
            yield f"{n} bytes as {type(buf).__name__}", (buf,)


def _checker(op_name: str) -> Callable[[str, Callable], list[str]]:
    def check(name: str, fn: Callable) -> list[str]:
        """Official vectors; then seeded lengths against the algorithm's streaming reference."""
        from kit.registry import vectors

        problems: list[str] = []
        algorithm = _registry.backend(op_name, name).algorithm
        if algorithm == "xxh3_128":
            cases = [(data, expected.to_bytes(16, "big"))
                     for data, seed, expected in vectors.xxhash_vectors("xxh128") if seed == 0]
        elif algorithm == "blake3":
            cases = vectors.blake3_vectors()
        else:
            cases = []
        for data, expected in cases:
            got = fn(data)
            if got != expected:
                problems.append(f"vector of {len(data)} bytes: got {got.hex()}, expected {expected.hex()}")
        reference = _REFERENCES.get(algorithm)  # type: ignore[arg-type]
        for label, (buf,) in _generated(random.Random(_registry.VERIFY_SEED)):
            raw = memoryview(buf).tobytes()
            got = fn(buf)
            if reference is not None and got != reference(raw):
                problems.append(f"{label}: differs from the {algorithm} reference (streamed)")
                break
            if len({got, fn(raw), fn(bytearray(raw)), fn(memoryview(raw))}) != 1:
                problems.append(f"{label}: different values for bytes, bytearray and memoryview of the same data")
                break
        return problems

    return check


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
            check=_checker(_name),
            output=ALGORITHM,
        )
    )

_F = frozenset({"bytes", "bytearray", "memoryview", "buffer-protocol"})
declare_backend(Backend("fingerprint", "hashlib.blake2b", (), None, lambda: _blake2b_16, _F,
                        "hashlib.blake2b(digest_size=16); the default fingerprint", algorithm="blake2b_128"))
declare_backend(Backend("fingerprint", "xxh3_128", ("xxhash",), "xxhash", _load_xxh3_128, _F,
                        "xxhash.xxh3_128_digest: canonical (big-endian) 16 bytes", algorithm="xxh3_128"))
declare_backend(Backend("digest", "hashlib.sha256", (), None, lambda: _sha256, _F,
                        "hashlib.sha256; the default digest", algorithm="sha256"))
declare_backend(Backend("digest", "blake3", ("blake3",), "blake3", _load_blake3, _F,
                        "blake3.blake3(data).digest(), single-threaded", algorithm="blake3"))
declare_backend(Backend("digest", "hashlib.blake2b", (), None, lambda: _blake2b_32, _F,
                        "hashlib.blake2b(digest_size=32)", algorithm="blake2b_256"))
