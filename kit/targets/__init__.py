"""kit's performance targets, measured on this machine: one module per area, one command.

``python -m kit.targets AREA [options]`` runs one area: it measures the
area's targets side by side in one run and prints the figures with their
intervals and a verdict per target (``--json`` for scripts).
``python -m kit.targets --help`` lists the areas, ``python -m kit.targets
AREA --help`` their options:

* ``engine`` (:mod:`kit.targets.engine`): the dispatch overhead of
  ``kit.json`` and ``kit.fingerprint``, and ``import kit``'s time;
* ``cache`` (:mod:`kit.targets.cache`): memoize, L1 and L3 hits against
  joblib, ``functools.lru_cache`` and diskcache, and ``codec="auto"``
  (``--only compression``);
* ``kernels`` (:mod:`kit.targets.kernels`): entropy, batch fingerprint and
  bootstrap against their references;
* ``workloads`` (:mod:`kit.targets.workloads`): copy generation, replay,
  cache keys and the adaptive batch.

The exit status is 0 when every target is met, 1 when one is not, 2 for a
command line it cannot run (one line says why). Their shared helpers (the
options' parser, the machine line, the ratio of medians with its interval)
are in ``kit.targets._common``.

Examples
--------
>>> from kit.targets import areas
>>> areas()
['cache', 'engine', 'kernels', 'workloads']
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import textwrap

from kit._lazy import attach

PROG = "python -m kit.targets"

_LAZY = {
    "engine_targets": "kit.targets.engine",
    "selection_quality": "kit.targets.engine",
}


def areas() -> list[str]:
    """The areas, one per public module of this package.

    Examples
    --------
    >>> "cache" in areas()
    True
    """
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _help() -> str:
    from kit.targets._common import WIDTH, description

    lines = [f"usage: {PROG} AREA [options]", "", description(__doc__), "", "areas:"]
    for area in areas():
        summary = description(importlib.import_module(f"kit.targets.{area}").__doc__)
        lines += textwrap.wrap(summary, WIDTH, initial_indent=f"  {area:<11}", subsequent_indent=" " * 13)
    lines += ["", f"{PROG} AREA --help lists an area's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one area's targets; returns the exit status (0 met, 1 not met, 2 a bad command line).

    Examples
    --------
    >>> main(["--help"])  # doctest: +SKIP
    0
    >>> main(["nope"])  # doctest: +SKIP
    python -m kit.targets: error: unknown area 'nope'; valid areas: cache, engine, kernels, workloads
    2
    """
    from kit.errors import KitError

    argv = sys.argv[1:] if argv is None else list(argv)
    valid = areas()
    if argv[:1] in (["-h"], ["--help"]):
        print(_help())
        return 0
    if not argv or argv[0] not in valid:
        what = f"unknown area {argv[0]!r}" if argv else "name an area"
        print(f"{PROG}: error: {what}; valid areas: {', '.join(valid)}", file=sys.stderr)
        return 2
    area = argv[0]
    module = importlib.import_module(f"kit.targets.{area}")
    try:
        return module.main(argv[1:])
    except SystemExit as exc:  # an area's parser: --help (0) or a bad option (2), its line already printed
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except KeyboardInterrupt:
        print(f"{PROG} {area}: interrupted", file=sys.stderr)
        return 130
    except (KitError, ValueError, TypeError, OSError) as exc:
        print(f"{PROG} {area}: error: {exc}", file=sys.stderr)
        return 1


__getattr__, __dir__, _ = attach("kit.targets", _LAZY)
__all__ = ["PROG", "areas", "main", *_LAZY]
