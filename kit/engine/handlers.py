"""Handlers: ``kit.fingerprint``, ``kit.digest`` and the dispatch of one-argument operations.

Two kinds of handler, derived from the operation's output contract in the
registry (``Operation.output``):

*implementation choices* (:func:`dispatch`, used by ``kit.json.loads``)
    run the engine's selection for the input's size class; a backend that
    raises or declines an input the baseline accepts falls back to the
    baseline, counted per input class (``kit info``).
*algorithm choices* (:func:`fingerprint`, :func:`digest`)
    return the baseline's algorithm by default, the same bytes on every
    machine and in every run whatever the engine measured; the measured
    choice is opt-in (``algorithm="fastest"``) and its result is a
    :class:`Digest` that names its algorithm, checked anywhere with
    :func:`verify_digest`.

A backend named with ``backend=`` (or forced through the configuration) is
used as is: its errors propagate, nothing is swapped.
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Callable, NamedTuple

from kit import config as _config
from kit import registry as _registry
from kit.engine.core import get_engine
from kit.registry import MEDIUM_MAX, SMALL_MAX
from kit.errors import BackendUnavailable, KitError

__all__ = ["Digest", "digest", "fingerprint", "verify_digest", "dispatch"]

_gen = _config.generation_cell()  # read on every call: an index, not a function call

#: The ``algorithm=`` value that asks for the engine's measured choice.
FASTEST = "fastest"


def dispatch(op_name: str) -> Callable[..., Any]:
    """Build the handler of a one-argument, bytes-sized implementation choice.

    Examples
    --------
    >>> h = dispatch("json.decode")
    >>> h(b"[1]")
    [1]
    """
    cell: list = [None]

    def handler(data: Any, *, backend: str | None = None) -> Any:
        if backend is None:
            b = cell[0]
            if b is None or b.gen != _gen[0]:
                if not _registry.operation(op_name).interchangeable:  # (the registry loads on first use)
                    raise ValueError(f"{op_name!r} is an algorithm choice: its default call cannot follow "
                                     "the engine's selection")
                b = cell[0] = get_engine().binding(op_name)
            n = len(data)
            if n < SMALL_MAX:
                fn, i = b.small, 0
            elif n < MEDIUM_MAX:
                fn, i = b.medium, 1
            else:
                fn, i = b.large, 2
            try:
                return fn(data)
            except Exception as exc:
                return b.fallback((data,), exc, b.names[i])
        return get_engine().implementation(op_name, backend)(data)

    handler.__name__ = handler.__qualname__ = op_name.replace(".", "_")
    return handler


# --- self-describing hash values ---------------------------------------------------------------

_DIGEST_TEXT = re.compile(r"(?P<algorithm>[a-z0-9]+(?:[+._-][a-z0-9]+)*):(?P<hex>[0-9a-f]+)")


class Digest(NamedTuple):
    """A hash value that names its algorithm, printed as OCI content digests are: ``blake3:<hex>``.

    Returned by ``kit.digest(..., algorithm="fastest")`` and
    ``kit.fingerprint(..., algorithm="fastest")``, whose algorithm depends on
    the machine; store ``str(d)`` and check it anywhere with
    :func:`verify_digest`. Two digests are equal only when both the algorithm
    and the value are.

    Examples
    --------
    >>> d = Digest.parse("sha256:" + "ab" * 32)
    >>> d.algorithm, len(d.value)
    ('sha256', 32)
    >>> str(d) == "sha256:" + "ab" * 32
    True
    >>> algorithm, value = d  # a named tuple
    """

    algorithm: str
    value: bytes

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value.hex()}"

    def hex(self) -> str:
        """The value in lower-case hex (without the algorithm)."""
        return self.value.hex()

    @classmethod
    def parse(cls, text: str) -> "Digest":
        """Read ``"<algorithm>:<hex>"``; the algorithm must be one kit knows and the width its own.

        Raises
        ------
        KitError
            For malformed text, an unknown algorithm or a wrong length.
        """
        if not isinstance(text, str):
            raise TypeError(f"Digest.parse expects a str such as 'sha256:<hex>', got {type(text).__name__}")
        m = _DIGEST_TEXT.fullmatch(text)
        if m is None:
            raise KitError(f"not a digest: {text[:80]!r}; expected '<algorithm>:<lower-case hex>', "
                           f"e.g. 'sha256:2cf24dba...'")
        algorithm = m["algorithm"]
        _, width = _algorithm(algorithm)
        value = bytes.fromhex(m["hex"]) if len(m["hex"]) % 2 == 0 else b""
        if len(value) != width:
            raise KitError(f"a {algorithm} digest has {2 * width} hex digits, got {len(m['hex'])} in {text[:80]!r}")
        return cls(algorithm, value)


_WIDTHS = {"fingerprint": 16, "digest": 32}


def _algorithm(name: str) -> tuple[str, int]:
    """``(operation, width in bytes)`` of a hash algorithm kit knows; an unknown name lists the known ones."""
    known = _registry.algorithms()
    if name not in known:
        raise KitError(f"unknown hash algorithm {name!r}; kit knows: {', '.join(known)}")
    op = known[name][0].operation
    return op, _WIDTHS[op]


def _algorithm_backend(op_name: str, algorithm: str) -> Callable[[Any], bytes]:
    """The callable of the first available backend that computes ``algorithm`` (baseline first)."""
    table = _registry.algorithms(op_name)
    if algorithm not in table:
        raise KitError(f"{algorithm!r} is not a {op_name} algorithm; valid: {', '.join(table)} "
                       f"or {FASTEST!r} (the fastest measured here; the result names its algorithm)")
    reasons = []
    for b in table[algorithm]:
        if b.available:
            return b.implementation()
        reasons.append(f"{b.name}: {b.unavailable_reason()}")
    raise BackendUnavailable(f"no backend computes {algorithm} here ({'; '.join(reasons)})")


class _NotBytes(KitError, TypeError):
    """Data that is not bytes-like given to a hash (a ``TypeError``; one line in the CLI)."""


def _input_error(op_name: str, data: Any) -> TypeError | None:
    """A clear error when ``data`` is not bytes-like (``None`` when it is: the backend's error stands)."""
    try:
        memoryview(data)
    except TypeError:
        pass
    else:
        return None
    hint = "; encode text first, e.g. text.encode('utf-8')" if isinstance(data, str) else ""
    return _NotBytes(f"kit.{op_name} expects bytes-like data (bytes, bytearray, memoryview, a contiguous "
                     f"buffer), got {type(data).__name__}{hint}")


def _nbytes(data: Any) -> int:
    return len(data) if type(data) in (bytes, bytearray) else memoryview(data).nbytes


def _hash_handler(op_name: str) -> Callable[..., Any]:
    default: list = [None]  # (generation, callable): the baseline, or a backend forced in the configuration
    fastest: list = [None]  # (the engine's binding, the algorithm of each size class's backend)

    def resolve_default() -> tuple[int, Callable]:
        op = _registry.operation(op_name)  # the registry loads on first use, not on import
        if op.interchangeable:
            raise ValueError(f"{op_name!r} is an implementation choice; use dispatch()")
        forced = _config.forced_backend(op_name)
        eng = get_engine()
        fn = eng.implementation(op_name, forced if forced is not None else op.baseline)
        return _gen[0], fn

    def handler(data: Any, *, algorithm: str | None = None, backend: str | None = None) -> Any:
        if algorithm is None and backend is None:
            c = default[0]
            if c is None or c[0] != _gen[0]:
                c = default[0] = resolve_default()
            try:
                return c[1](data)
            except TypeError as exc:
                err = _input_error(op_name, data)
                if err is None:
                    raise
                raise err from exc
        if backend is not None:
            if algorithm is not None:
                raise KitError(f"kit.{op_name}: pass algorithm= or backend=, not both")
            fn = get_engine().implementation(op_name, backend)
        elif algorithm == FASTEST:
            return _fastest(data)
        else:
            fn = _algorithm_backend(op_name, algorithm)
        try:
            return fn(data)
        except TypeError as exc:
            err = _input_error(op_name, data)
            if err is None:
                raise
            raise err from exc

    def _fastest(data: Any) -> Digest:
        c = fastest[0]
        if c is None or c[0].gen != _gen[0]:
            b = get_engine().binding(op_name)
            # The algorithm names are looked up once per binding, not per call (~2 µs).
            algs = tuple(_registry.backend(op_name, name).algorithm for name in b.names)
            c = fastest[0] = (b, algs)
        b, algs = c
        try:
            n = len(data) if type(data) is bytes else _nbytes(data)
        except TypeError as exc:
            raise _input_error(op_name, data) from exc  # type: ignore[misc]
        i = 0 if n < SMALL_MAX else 1 if n < MEDIUM_MAX else 2
        try:
            return Digest(algs[i], (b.small, b.medium, b.large)[i](data))
        except Exception as exc:
            # The baseline's algorithm answers instead, and the result says so.
            name = _registry.operation(op_name).baseline
            value = b.fallback((data,), exc, b.names[i])
            return Digest(_registry.backend(op_name, name).algorithm, value)  # type: ignore[arg-type]

    handler.__name__ = handler.__qualname__ = op_name
    handler.__module__ = __name__
    return handler


fingerprint = _hash_handler("fingerprint")
fingerprint.__doc__ = """128-bit non-cryptographic fingerprint of a bytes-like object.

    By default BLAKE2b with a 16-byte output (``blake2b_128``, from hashlib):
    the same bytes on every machine, in every run, whatever the engine
    measured; it is what the standard library always provides, so no
    installation lacks it. A backend forced for ``"fingerprint"`` in the
    configuration (``config_context``, ``KIT_BACKENDS``) replaces it, as the
    user asked.

    Parameters
    ----------
    data : bytes-like
        bytes, bytearray, memoryview or another contiguous buffer.
    algorithm : str, optional
        ``"xxh3_128"`` or ``"blake2b_128"`` for that algorithm's bytes;
        ``"fastest"`` for the fastest verified algorithm measured on this
        machine, returned as a :class:`Digest` that names it.
    backend : str, optional
        A registry backend, used as is (``kit info`` lists them).

    Returns
    -------
    bytes or Digest
        16 bytes; a :class:`Digest` for ``algorithm="fastest"``.

    Examples
    --------
    >>> import kit
    >>> kit.fingerprint(b"hello").hex()[:8]
    '46fb7408'
    >>> kit.fingerprint(b"hello", algorithm="fastest").algorithm in ("xxh3_128", "blake2b_128")  # doctest: +SKIP
    True
    """

digest = _hash_handler("digest")
digest.__doc__ = """256-bit cryptographic digest of a bytes-like object.

    By default SHA-256 (``sha256``, from hashlib): the same bytes on every
    machine, in every run, whatever the engine measured. A backend forced for
    ``"digest"`` in the configuration replaces it, as the user asked.

    Parameters
    ----------
    data : bytes-like
        bytes, bytearray, memoryview or another contiguous buffer.
    algorithm : str, optional
        ``"sha256"``, ``"blake3"`` or ``"blake2b_256"`` for that algorithm's
        bytes; ``"fastest"`` for the fastest verified algorithm measured on
        this machine, returned as a :class:`Digest` that names it.
    backend : str, optional
        A registry backend, used as is (``kit info`` lists them).

    Returns
    -------
    bytes or Digest
        32 bytes; a :class:`Digest` for ``algorithm="fastest"``.

    Raises
    ------
    TypeError
        When ``data`` is not bytes-like (the message names what was given).

    Examples
    --------
    >>> import kit
    >>> kit.digest(b"abc").hex()[:16]
    'ba7816bf8f01cfea'
    >>> d = kit.digest(b"abc", algorithm="fastest")
    >>> kit.verify_digest(b"abc", str(d))
    True
    """


def verify_digest(data: Any, expected: Digest | str | bytes, *, algorithm: str | None = None) -> bool:
    """Whether ``expected`` is the hash of ``data``, computed anywhere with the algorithm it names.

    Parameters
    ----------
    data : bytes-like
        The content.
    expected : Digest, str or bytes-like
        A :class:`Digest`, its text ``"<algorithm>:<hex>"`` (a fingerprint's
        or a digest's), or raw bytes; raw bytes do not name their algorithm,
        so they are read as ``algorithm`` (default: ``kit.digest``'s default,
        ``sha256``).
    algorithm : str, optional
        The algorithm of raw ``expected`` bytes.

    Returns
    -------
    bool
        Compared in constant time.

    Raises
    ------
    KitError
        For an unknown algorithm, malformed text or a value of the wrong width.
    BackendUnavailable
        When no installed library computes the named algorithm.

    Examples
    --------
    >>> import kit
    >>> kit.verify_digest(b"abc", kit.digest(b"abc"))
    True
    >>> kit.verify_digest(b"abc", "sha256:" + "00" * 32)
    False
    >>> kit.verify_digest(b"abc", kit.fingerprint(b"abc"), algorithm="blake2b_128")
    True
    """
    if isinstance(expected, str):
        expected = Digest.parse(expected)
    if isinstance(expected, Digest):
        if algorithm is not None and algorithm != expected.algorithm:
            raise KitError(f"algorithm={algorithm!r} contradicts the digest's own {expected.algorithm!r}")
        name, value = expected.algorithm, bytes(expected.value)
    else:
        try:
            value = bytes(memoryview(expected))
        except TypeError:
            raise TypeError(f"verify_digest expects a kit.Digest, a 'algorithm:hex' str or bytes, "
                            f"got {type(expected).__name__}") from None
        name = algorithm or _registry.default_algorithm("digest")
    op_name, width = _algorithm(name)
    if len(value) != width:
        hint = " (a fingerprint? pass algorithm='blake2b_128' or the one it was made with)" if len(value) == 16 else ""
        raise KitError(f"a {name} value has {width} bytes, got {len(value)}{hint}")
    fn = _algorithm_backend(op_name, name)
    try:
        actual = fn(data)
    except TypeError as exc:
        err = _input_error(op_name, data)
        if err is None:
            raise
        raise err from exc
    return hmac.compare_digest(actual, value)
