"""Handlers bound to the engine's selections: ``kit.fingerprint``, ``kit.digest``.

The hot path is one integer comparison (is the binding current?), a size-class
pick and the backend call; a backend raising on an input the baseline accepts
falls back to the baseline and is counted (``kit info``). A backend named with
``backend=`` is used as is: its errors propagate, nothing is swapped.
"""

from __future__ import annotations

from typing import Any, Callable

from kit import _config
from kit.engine import _MEDIUM_MAX, _SMALL_MAX, get_engine

_gen = _config._generation


def dispatch(op_name: str) -> Callable[..., Any]:
    """Build the handler of a one-argument, bytes-sized operation.

    Examples
    --------
    >>> h = dispatch("digest")
    >>> len(h(b"abc"))
    32
    """
    cell: list = [None]

    def handler(data: Any, *, backend: str | None = None) -> Any:
        if backend is None:
            b = cell[0]
            if b is None or b.gen != _gen[0]:
                b = cell[0] = get_engine().binding(op_name)
            n = len(data)
            if n < _SMALL_MAX:
                fn, i = b.small, 0
            elif n < _MEDIUM_MAX:
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


_fingerprint = dispatch("fingerprint")
_digest = dispatch("digest")


def fingerprint(data: Any, *, backend: str | None = None) -> bytes:
    """128-bit non-cryptographic fingerprint of a bytes-like object.

    The algorithm is the engine's selection for this machine
    (``kit.backend_for("fingerprint")``), or ``backend``.

    Examples
    --------
    >>> import kit
    >>> len(kit.fingerprint(b"hello"))
    16
    >>> kit.fingerprint(b"hello", backend="hashlib.blake2b").hex()[:8]
    '46fb7408'
    """
    return _fingerprint(data, backend=backend)


def digest(data: Any, *, backend: str | None = None) -> bytes:
    """256-bit cryptographic digest of a bytes-like object.

    Examples
    --------
    >>> import kit
    >>> kit.digest(b"abc", backend="hashlib.sha256").hex()[:16]
    'ba7816bf8f01cfea'
    """
    return _digest(data, backend=backend)
