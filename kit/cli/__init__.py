"""The ``kit`` command.

Subcommands are contributed by modules listed in :data:`COMMANDS`; each
exposes ``register(subparsers)`` which adds its parser and sets
``func=handler``, where ``handler(args) -> int``. User errors are raised as
:class:`kit.errors.KitError` (or ``ValueError``/``TypeError``/``OSError``) and
printed as one line with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that contribute subcommands (import is deferred until ``kit`` runs).
COMMANDS = (
    "kit.cli.engine",
    "kit.cli.score",
    "kit.cli.cache",
    "kit.cli.workloads",
    "kit.cli.fleet",
    "kit.cli.drill",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kit", description="Measure, verify and select fast backends on this machine."
    )
    from kit import __version__

    parser.add_argument("--version", action="version", version=f"kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        try:
            importlib.import_module(mod).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    from kit.cli.engine import own_usage

    for p in sub.choices.values():  # `kit cache --fast` prints cache's usage, not kit's
        own_usage(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status.

    Ctrl-C at any point, also while the subcommands' modules are still being
    imported (the first few tenths of a second), prints one line and exits
    with 130, never a traceback.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    kit 0.1.0
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        name = getattr(_main, "command", None)
        print(f"kit{' ' + name if name else ''}: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    _main.command = None  # type: ignore[attr-defined]
    from kit.errors import KitError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _main.command = args.command  # type: ignore[attr-defined]
    from kit._display import one_line_warnings

    try:
        with one_line_warnings(f"kit {args.command}"):  # one line each, not Python's source lines
            return int(args.func(args) or 0)
    except KitError as exc:
        print(f"kit {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
