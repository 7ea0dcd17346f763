"""Hash backends against official vectors; the handlers' contract."""

from __future__ import annotations

import hashlib

import pytest

import kit
from kit import registry as _registry
from kit.registry import vectors


def _impl(op: str, name: str):
    b = _registry.backend(op, name)
    if not b.available:
        pytest.skip(f"{name}: {b.unavailable_reason()}")
    return b.implementation()


def test_xxh3_128_official_vectors(shared_data):
    fn = _impl("fingerprint", "xxh3_128")
    cases = [(d, e) for d, s, e in vectors.xxhash_vectors("xxh128") if s == 0]
    assert len(cases) >= 8
    for data, expected in cases:
        assert fn(data) == expected.to_bytes(16, "big"), len(data)


def test_blake3_official_vectors(shared_data):
    fn = _impl("digest", "blake3")
    cases = vectors.blake3_vectors()
    assert len(cases) > 20
    for data, expected in cases:
        assert fn(data) == expected, len(data)


def test_xxhash_buffer_rule_matches_known_first_bytes(shared_data):
    # Regenerated from the documented rule; a wrong rule would fail every vector above.
    buf = vectors.xxhash_buffer()
    assert len(buf) == 2367


@pytest.mark.parametrize("op,width", [("fingerprint", 16), ("digest", 32)])
def test_handlers_width_and_buffer_types(op, width):
    h = getattr(kit, op)
    data = bytes(range(200)) * 50
    out = h(data)
    assert len(out) == width
    assert h(bytearray(data)) == out == h(memoryview(data))
    for b in _registry.backends(op):
        if b.available:
            assert len(h(data, backend=b.name)) == width


def test_stdlib_backends_are_hashlib():
    assert kit.digest(b"abc", backend="hashlib.sha256") == hashlib.sha256(b"abc").digest()
    assert kit.fingerprint(b"abc", backend="hashlib.blake2b") == hashlib.blake2b(b"abc", digest_size=16).digest()


def test_non_bytes_input_raises_typeerror():
    with pytest.raises(TypeError):
        kit.digest("text")


# --- algorithm choices: a stable default, an opt-in measured choice that names itself ---------------


def _select(engine, op: str, name: str) -> None:
    """Make ``name`` the engine's measured choice for every size class (as a `kit bench` could)."""
    engine.wisdom.store_selection(_registry.operation(op), {s: name for s in _registry.SIZE_CLASSES}, [], "quick")
    engine.wisdom.save()
    engine._invalidate()


def test_hash_operations_are_algorithm_choices_with_a_stdlib_default():
    for op in ("fingerprint", "digest"):
        o = _registry.operation(op)
        assert o.output == _registry.ALGORITHM and not o.interchangeable
        base = _registry.backend(op, o.baseline)
        assert base.distribution is None and base.available  # the standard library: every installation has it
    assert _registry.default_algorithm("digest") == "sha256"
    assert _registry.default_algorithm("fingerprint") == "blake2b_128"
    # Every algorithm name is declared once, by one operation, and derived menus list them all.
    names = _registry.algorithms()
    assert set(names) == {b.algorithm for op in ("fingerprint", "digest") for b in _registry.backends(op)}
    for op in _registry.operations():
        if op.interchangeable:
            assert all(b.algorithm is None for b in op.backends())


@pytest.mark.parametrize("op,fast", [("digest", "blake3"), ("fingerprint", "xxh3_128")])
def test_default_call_ignores_the_measured_choice(fresh_engine, op, fast):
    b = _registry.backend(op, fast)
    if not b.available:
        pytest.skip(f"{fast}: {b.unavailable_reason()}")
    h = getattr(kit, op)
    data = [b"", b"hello", bytes(range(256)) * 40, b"x" * (1 << 20)]  # every size class
    before = [h(d) for d in data]
    _select(fresh_engine, op, fast)
    assert kit.backend_for(op, 10) == fast  # the engine did choose the fast one...
    assert [h(d) for d in data] == before  # ...and the default call did not follow it
    base = _registry.backend(op, _registry.operation(op).baseline).implementation()
    assert before == [base(d) for d in data]
    fastest = h(b"hello", algorithm="fastest")
    assert fastest == kit.Digest(b.algorithm, b.implementation()(b"hello"))
    assert str(fastest) == f"{b.algorithm}:{fastest.value.hex()}"
    assert kit.verify_digest(b"hello", str(fastest)) and kit.verify_digest(b"hello", fastest)
    assert not kit.verify_digest(b"hellO", fastest)


def test_digest_is_the_same_in_fresh_processes_with_and_without_tuning(tmp_path):
    import os
    import subprocess
    import sys

    from kit.engine import Engine

    eng = Engine(tmp_path / "tuned")
    for op, fast in (("digest", "blake3"), ("fingerprint", "xxh3_128")):
        if _registry.backend(op, fast).available:
            eng.wisdom.store_selection(_registry.operation(op), {s: fast for s in _registry.SIZE_CLASSES}, [], "quick")
    eng.wisdom.save()
    code = ("import kit; print(kit.digest(b'hello').hex(), kit.fingerprint(b'hello').hex(), "
            "kit.digest(bytes(10**6)).hex(), kit.fingerprint(bytes(10**6)).hex())")
    outs = set()
    for extra in ({"KIT_TUNE": "off", "KIT_CACHE_DIR": str(tmp_path / "empty")},
                  {"KIT_TUNE": "quick", "KIT_CACHE_DIR": str(tmp_path / "tuned")}):
        env = {**os.environ, **extra}
        env.pop("KIT_BACKENDS", None)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert outs == {f"{hashlib.sha256(b'hello').hexdigest()} {hashlib.blake2b(b'hello', digest_size=16).hexdigest()} "
                    f"{hashlib.sha256(bytes(10**6)).hexdigest()} "
                    f"{hashlib.blake2b(bytes(10**6), digest_size=16).hexdigest()}\n"}


def test_named_algorithms_and_their_menu():
    data = b"abc"
    assert kit.digest(data, algorithm="sha256") == hashlib.sha256(data).digest()
    assert kit.digest(data, algorithm="blake2b_256") == hashlib.blake2b(data, digest_size=32).digest()
    assert kit.fingerprint(data, algorithm="blake2b_128") == hashlib.blake2b(data, digest_size=16).digest()
    with pytest.raises(kit_errors().KitError, match="valid: sha256, blake3, blake2b_256 or 'fastest'"):
        kit.digest(data, algorithm="md5")
    with pytest.raises(kit_errors().KitError, match="not both"):
        kit.digest(data, algorithm="sha256", backend="hashlib.sha256")


def kit_errors():
    from kit import errors

    return errors


def test_a_missing_library_makes_its_algorithm_unavailable_not_replaced(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "blake3", None)
    _registry.reset_probes()
    try:
        with pytest.raises(kit_errors().BackendUnavailable, match="no backend computes blake3"):
            kit.digest(b"x", algorithm="blake3")
        with pytest.raises(kit_errors().BackendUnavailable):
            kit.verify_digest(b"x", "blake3:" + "00" * 32)
        assert kit.digest(b"x") == hashlib.sha256(b"x").digest()  # the default never needed it
    finally:
        monkeypatch.undo()
        _registry.reset_probes()


def test_fastest_falls_back_to_the_default_algorithm_and_says_so(fresh_engine, monkeypatch):
    if not _registry.backend("digest", "blake3").available:
        pytest.skip("blake3 is not installed")
    _select(fresh_engine, "digest", "blake3")
    kit.digest(b"warm", algorithm="fastest")
    b = fresh_engine.binding("digest")

    def refuses(data):
        raise ValueError("this build refuses the input")

    monkeypatch.setattr(b, "small", refuses)
    d = kit.digest(b"hello", algorithm="fastest")
    assert d == kit.Digest("sha256", hashlib.sha256(b"hello").digest())  # the answer names what computed it
    assert fresh_engine.fallback_classes[("digest", "blake3", "ValueError: this build refuses the input")] == 1


def test_digest_text_round_trips_and_rejects_what_it_cannot_read():
    d = kit.Digest("sha256", hashlib.sha256(b"x").digest())
    assert kit.Digest.parse(str(d)) == d
    assert d.hex() == d.value.hex() and tuple(d) == ("sha256", d.value)
    assert d != kit.Digest("blake2b_256", d.value)  # the algorithm is part of the value
    for bad, why in [("sha256", "not a digest"), ("sha256:xyz", "not a digest"), ("SHA256:" + "00" * 32, "not a digest"),
                     ("md5:" + "00" * 16, "unknown hash algorithm 'md5'; kit knows: blake2b_128, xxh3_128, sha256"),
                     ("sha256:" + "00" * 31, "64 hex digits, got 62")]:
        with pytest.raises(kit_errors().KitError, match=why.replace("(", r"\(")):
            kit.Digest.parse(bad)


def test_verify_digest_takes_raw_bytes_as_the_named_or_default_algorithm():
    data = b"payload"
    assert kit.verify_digest(data, kit.digest(data))
    assert kit.verify_digest(data, bytearray(kit.digest(data)))
    assert kit.verify_digest(data, kit.fingerprint(data), algorithm="blake2b_128")
    assert kit.verify_digest(data, "blake2b_128:" + kit.fingerprint(data).hex())  # fingerprints too
    with pytest.raises(kit_errors().KitError, match="a sha256 value has 32 bytes, got 16 .a fingerprint"):
        kit.verify_digest(data, kit.fingerprint(data))
    with pytest.raises(kit_errors().KitError, match="contradicts"):
        kit.verify_digest(data, kit.Digest("sha256", kit.digest(data)), algorithm="blake3")
    with pytest.raises(TypeError, match="got int"):
        kit.verify_digest(data, 12)


@pytest.mark.parametrize("op", ["digest", "fingerprint"])
@pytest.mark.parametrize("bad,got", [(123, "got int"), ("text", "got str; encode text first"), (None, "got NoneType"),
                                     ([1, 2], "got list")])
def test_non_bytes_input_names_what_is_accepted_and_what_was_got(op, bad, got):
    h = getattr(kit, op)
    for kw in ({}, {"algorithm": "fastest"}, {"algorithm": _registry.default_algorithm(op)}):
        with pytest.raises(TypeError, match=rf"kit\.{op} expects bytes-like data \(bytes, bytearray, memoryview.*{got}"):
            h(bad, **kw)
    with pytest.raises(kit_errors().KitError):  # one clear line in the CLI, too
        h(bad)


def test_buffers_of_every_kind_hash_alike():
    np = pytest.importorskip("numpy")
    arr = np.arange(1000, dtype=np.float64)
    raw = arr.tobytes()
    for op in ("digest", "fingerprint"):
        h = getattr(kit, op)
        assert h(arr) == h(raw) == h(memoryview(raw)) == h(bytearray(raw))
        assert h(arr, algorithm="fastest") == h(raw, algorithm="fastest")  # sized by bytes, not len()
