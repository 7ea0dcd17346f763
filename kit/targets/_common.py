"""What every area of the performance targets shares: its command line, the machine line, ratios, output.

Each area (:mod:`kit.targets.engine`, ``cache``, ``kernels``, ``workloads``)
builds its options on :func:`parser` (one-line errors, exit status 2), names
the machine with :func:`machine_line`, takes every ratio of two measurements
with :func:`ratio` (the ratio of medians and its bootstrap 95% interval,
:func:`kit.stats.ratio_ci`) and prints with :func:`print_json` or as
tables. Nothing here times anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NamedTuple, NoReturn

#: Columns of terminal output.
WIDTH = 100


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (what was wrong, what is allowed), exit status 2.

    Examples
    --------
    >>> p = Parser(prog="python -m kit.targets demo")
    >>> _ = p.add_argument("--only", choices=("a", "b"))
    >>> p.parse_args(["--only", "c"])  # doctest: +SKIP
    python -m kit.targets demo: error: argument --only: invalid choice: 'c' (choose from 'a', 'b')
    """

    def error(self, message: str) -> NoReturn:
        hint = "" if "choose from" in message else "; see --help"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def parser(area: str, description: str) -> Parser:
    """The parser of one area: ``python -m kit.targets AREA``, its description, one-line errors.

    Examples
    --------
    >>> parser("cache", "The cache's targets.").prog
    'python -m kit.targets cache'
    """
    return Parser(prog=f"python -m kit.targets {area}", description=description)


def positive_int(text: str) -> int:
    """An argparse ``type``: an int of at least 1, or an error naming what was given.

    Examples
    --------
    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def description(doc: str | None) -> str:
    """The first paragraph of a module's docstring, on one line, without markup (``--help``, the area list).

    Examples
    --------
    >>> description("Measure ``this``.\\n\\nMore.")
    'Measure this.'
    """
    return " ".join((doc or "").strip().split("\n\n")[0].replace("``", "").split())


# --- the machine ------------------------------------------------------------------------------

def loadavg() -> str | None:
    """``/proc/loadavg`` as it reads (1, 5, 15-minute load, running/total tasks), or ``None``."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return None


def machine_line(info: dict[str, Any] | None = None, width: int = WIDTH) -> str:
    """One line naming the machine the figures were measured on, at most ``width`` columns.

    ``info`` is :func:`kit.machine.describe`'s dict (read when omitted); a CPU
    model too long for the line is shortened, never the figures after it.

    Examples
    --------
    >>> machine_line({"cpu": "AMD EPYC 7B13", "cores": 2, "python": "CPython 3.11.9",
    ...               "load_per_core": 0.5, "gpu": None})
    'machine: AMD EPYC 7B13, 2 cores, CPython 3.11.9, load/core 0.50, GPU: none'
    """
    if info is None:
        from kit.machine import describe

        info = describe()
    load = info.get("load_per_core")
    rest = (f", {info.get('cores')} cores, {info.get('python')}, "
            f"load/core {'unknown' if load is None else f'{load:.2f}'}, GPU: {info.get('gpu') or 'none'}")
    cpu = str(info.get("cpu") or "unknown CPU")
    room = width - len("machine: ") - len(rest)
    if len(cpu) > room:
        cpu = cpu[:max(room - 1, 0)] + "…"
    return f"machine: {cpu}{rest}"[:width]


# --- ratios -----------------------------------------------------------------------------------

class Ratio(NamedTuple):
    """A ratio of median times and its bootstrap 95% interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"ratio": self.value, "ci_low": self.low, "ci_high": self.high}

    def text(self, digits: int = 2) -> str:
        """``"1.034x (0.98-1.09)"``: the ratio to ``digits`` + 1 decimals, its interval to ``digits``.

        Examples
        --------
        >>> Ratio(1.0345, 0.981, 1.092).text()
        '1.034x (0.98-1.09)'
        """
        return f"{self.value:.{digits + 1}f}x ({self.low:.{digits}f}-{self.high:.{digits}f})"


def ratio(slow: Any, fast: Any, resamples: int = 2000, seed: int = 0) -> Ratio:
    """``slow``'s median time over ``fast``'s, with its bootstrap 95% interval (:func:`kit.stats.ratio_ci`).

    Each is a :class:`kit.engine.measure.Measurement` of one interleaved run,
    or its samples; the interval resamples both sample sets, seeded.

    Examples
    --------
    >>> r = ratio([2.0, 2.1, 1.9], [1.0, 1.05, 0.95])
    >>> round(r.value, 2), r.low <= r.value <= r.high
    (2.0, True)
    """
    from kit.stats import ratio_ci

    return Ratio(*ratio_ci(getattr(slow, "samples", slow), getattr(fast, "samples", fast), resamples=resamples,
                           seed=seed))


# --- output -----------------------------------------------------------------------------------

def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (what ``--json`` prints)."""
    json.dump(value, sys.stdout, indent=1, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def all_met(rows: list[list[Any]]) -> bool:
    """Whether every row's verdict (its last cell) is met; ``None`` (not measured here) does not fail.

    Examples
    --------
    >>> all_met([["a", True], ["b", None]]), all_met([["a", False]])
    (True, False)
    """
    return all(r[-1] is not False for r in rows)
