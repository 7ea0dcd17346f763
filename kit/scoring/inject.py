"""Fault injection: make named backends really slower, to show that validation catches a regression.

:func:`injected_slowdown` swaps each backend's implementation through the registry's public
:meth:`kit.registry.Backend.replaced`, so everything that measures meanwhile (the engine, the claims
check) times the slowed callable, and the original comes back after the block.

Examples
--------
>>> from kit.scoring.inject import injected_slowdown
>>> from kit import registry
>>> b = registry.backend("digest", "hashlib.sha256")
>>> original = b.implementation()
>>> with injected_slowdown({"digest:hashlib.sha256": 1.5}):
...     b.implementation() is original, b.implementation()(b"abc") == original(b"abc")
(False, True)
>>> b.implementation() is original
True
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping

from kit import registry as _registry
from kit.config import CLOCKS
from kit.engine.measure import clock_name
from kit.errors import KitError

__all__ = ["injected_slowdown", "slowed"]


@contextlib.contextmanager
def injected_slowdown(slowdowns: Mapping[str, float] | None) -> Iterator[None]:
    """Make named backends slower by a factor, for showing that validation catches it.

    Each call of an ``"operation:backend"`` runs the real implementation, then busy-waits
    ``(factor - 1)`` times the time the call took (in :mod:`kit.engine.measure`'s clock), so the backend
    really is ``factor`` times slower; slightly more for calls of a few microseconds, where the
    wrapper's own clock reads show.

    Examples
    --------
    >>> with injected_slowdown({"fingerprint:xxh3_128": 1.25}):  # doctest: +SKIP
    ...     res = score(operations=["fingerprint"])
    """
    with contextlib.ExitStack() as stack:
        for key, factor in (slowdowns or {}).items():
            op, sep, name = key.partition(":")
            if not sep:
                raise KitError(f"a slowdown is given as 'operation:backend', got {key!r}")
            if not isinstance(factor, (int, float)) or not factor >= 1.0:
                raise KitError(f"a slowdown factor must be a number >= 1, got {factor!r} for {key!r}")
            b = _registry.backend(op, name)
            stack.enter_context(b.replaced(slowed(b.implementation(), float(factor))))
        yield


def slowed(fn: Callable, factor: float) -> Callable:
    """``fn``, made ``factor`` times slower by a busy wait in the clock measurements read now.

    Examples
    --------
    >>> slow_sum = slowed(sum, 2.0)
    >>> slow_sum([1, 2, 3])
    6
    """
    name = clock_name()
    if name not in CLOCKS:
        raise KitError(f"an injected slowdown waits in a named clock ({', '.join(CLOCKS)}); measurements "
                       "read another one now")
    clock = CLOCKS[name]  # wait in the clock measurements are taken with
    extra = factor - 1.0

    def slow(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        result = fn(*args, **kwargs)
        t1 = clock()
        end = t1 + (t1 - t0) * extra
        while clock() < end:
            pass
        return result

    return slow
