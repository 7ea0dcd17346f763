"""Tables that fit a terminal of 100 columns and render as HTML in Jupyter; number formats.

One small formatter instead of a table library: ``rich`` would add ~40 ms to every command that
prints a table (measured with ``python -X importtime``), and kit needs two things it does not do:
long text moved to numbered footnotes under the table, and numbers aligned on their unit.

Text rendering (``str(table)``), in this order until the table fits :func:`width` columns:

1. every column is as wide as its widest cell; in a column of numbers (most cells a number with at
   most one unit or word after it) the numbers are right-aligned and their units follow in one
   column (``12.3 µs [12.1, 12.6]`` over `` 980 ns [975, 990]``);
2. long cells of a text column (the longest first) become numbered footnotes ``[1]`` listed under
   the table; equal texts share a number;
3. the widest text columns wrap within their cells;
4. last, a number's interval wraps under it.

Titles, section lines and notes wrap to the same width. ``_repr_html_`` gives a bordered table with
numeric columns right-aligned, cells that do not wrap, and long texts as footnotes too.

Conventions for ratios, everywhere kit prints them: a **speed-up** is baseline time / backend time,
so above 1 is faster (:func:`speedup`, ``13.4×``); a change between two runs is said in words
(:func:`change`: ``1.34× slower``, ``1.19× faster``).
"""

from __future__ import annotations

import contextlib
import html
import math
import re
import shutil
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

#: The widest line kit prints to a terminal.
WIDTH = 100
#: Text cells longer than this become footnotes in HTML tables of more than two columns (terminals use
#: the width instead), so that a row stays on one line and the table within a notebook's width.
HTML_CELL_LIMIT = 48
#: Text cells up to this long stay in the table; longer ones may become footnotes (in a column whose
#: longest cell is twice as long: prose, not names, which wrap instead).
FOOTNOTE_MIN = 20
SEP = "  "
DASH = "–"

# The leading number of a cell: sign, digits with separators, decimals, exponent.
_NUMBER = re.compile(r"^[-+−]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?")


def width() -> int:
    """The width to fit: the terminal's, at most :data:`WIDTH` (and at least 60).

    ``COLUMNS`` overrides the terminal, as for ``shutil.get_terminal_size``; without a terminal
    (a pipe, a file, a test) it is :data:`WIDTH`.

    Examples
    --------
    >>> 60 <= width() <= 100
    True
    """
    return max(60, min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))


@dataclass
class Section:
    """A row that spans the table: a group heading such as an operation's name.

    Examples
    --------
    >>> print(Table("", ["size", "ms"], [Section("json.encode"), ["small", 1.5]]))
    size    ms
    -----  ---
    json.encode
    small  1.5
    """

    text: str


@dataclass
class Table:
    """A titled table of rows, fitted to the terminal's width when printed.

    Parameters
    ----------
    title : str
    columns : sequence of str
    rows : list of sequences (or :class:`Section` rows)
    notes : list of str
        Lines under the table (wrapped to the width).
    align : str, optional
        One letter per column, ``"l"`` or ``"r"``, instead of the automatic alignment.
    width : int, optional
        Fit this many columns instead of :func:`width`.

    Examples
    --------
    >>> t = Table("Demo", ["name", "value"], [["a", 1], ["b", 22]])
    >>> print(t)
    Demo
    name  value
    ----  -----
    a         1
    b        22
    >>> t = Table("", ["backend", "ok", "note"], [["orjson", False, "fails json.decode verification " * 3]],
    ...           width=40)
    >>> print(t)
    backend  ok  note
    -------  --  ----
    orjson   no  [1]
    [1] fails json.decode verification fails
        json.decode verification fails
        json.decode verification
    """

    title: str
    columns: Sequence[str]
    rows: list[Any]
    notes: list[str] = field(default_factory=list)
    align: str | None = None
    width: int | None = None

    # --- cells -------------------------------------------------------------------------------------

    def _cells(self) -> list[list[str] | Section]:
        return [r if isinstance(r, Section) else [_fmt(v) for v in r] for r in self.rows]

    def _right(self, cells: list[list[str] | Section]) -> list[bool]:
        if self.align:
            return [a == "r" for a in self.align.ljust(len(self.columns), "l")]
        out = []
        for i in range(len(self.columns)):
            vals = [r[i] for r in cells if not isinstance(r, Section) and r[i] not in ("", DASH)]
            # numeric when most cells are numbers (a word such as "baseline" may stand among them)
            out.append(sum(1 for v in vals if _quantity(v)) * 2 > len(vals))
        return out

    # --- text --------------------------------------------------------------------------------------

    def __str__(self) -> str:
        limit = self.width or width()
        cells = self._cells()
        body = [r for r in cells if not isinstance(r, Section)]
        right = self._right(cells)
        n = len(self.columns)
        footnotes: dict[str, int] = {}

        def plain(i: int) -> int:
            return max((len(line) for r in body for line in r[i].split("\n")), default=0)

        # a numeric column aligns on the end of its numbers (units and intervals line up), unless that
        # would make it wider by more than two characters (5× over 60% smaller): then it aligns right
        split = [right[i] and _aligned_width(body, i) <= plain(i) + 2 for i in range(n)]

        def cells_width(i: int) -> int:
            return _aligned_width(body, i) if split[i] else plain(i)

        def header_min(i: int) -> int:
            return max((len(w) for w in self.columns[i].split()), default=0)

        widths = [max(len(self.columns[i]), cells_width(i)) for i in range(n)]

        def excess() -> int:
            return sum(widths) + len(SEP) * (n - 1) - limit

        # 1. headers wider than their cells wrap onto a second line
        for i in sorted(range(n), key=lambda j: widths[j] - cells_width(j), reverse=True):
            if excess() <= 0:
                break
            widths[i] = max(cells_width(i), header_min(i), widths[i] - excess())
        # 2. footnotes: long cells of text columns, the widest column first
        for _ in range(n):
            if excess() <= 0 or n == 2:  # a key/value table reads better wrapped
                break
            text_cols = [i for i in range(n) if not right[i] and cells_width(i) > 2 * FOOTNOTE_MIN]
            if not text_cols:
                break
            i = max(text_cols, key=lambda j: widths[j])
            room = max(widths[i] - excess(), FOOTNOTE_MIN, header_min(i))
            for r in body:
                if len(r[i]) > room:
                    r[i] = _footnote(footnotes, r[i])
            widths[i] = max(cells_width(i), header_min(i), min(len(self.columns[i]), widths[i]))
        # 3. the widest text columns wrap within their cells
        while excess() > 0:
            text_cols = [i for i in range(n) if not right[i] and widths[i] > max(header_min(i), 8)]
            if not text_cols:
                break
            i = max(text_cols, key=lambda j: widths[j])
            widths[i] = max(widths[i] - excess(), header_min(i), 8)
        # 4. last, numbers wrap at their spaces (an interval under its value), right-aligned
        while excess() > 0:
            def token(j: int) -> int:
                return max((len(t) for r in body for t in r[j].split()), default=0)

            num_cols = [i for i in range(n) if right[i] and widths[i] > max(header_min(i), token(i))]
            if not num_cols:
                break
            i = max(num_cols, key=lambda j: widths[j])
            split[i] = False
            widths[i] = max(widths[i] - excess(), header_min(i), token(i))
        out: list[str] = _wrap(self.title, limit) if self.title else []
        header = [textwrap.wrap(c, w) or [""] for c, w in zip(self.columns, widths)]
        for k in range(max(len(h) for h in header)):
            line = [h[k] if k < len(h) else "" for h in header]
            out.append(SEP.join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(line, widths, right)).rstrip())
        out.append(SEP.join("-" * w for w in widths))
        heads = [max((len(_split_number(r[i])[0]) for r in body), default=0) if split[i] else 0 for i in range(n)]
        aligned = [_aligned_width(body, i) if split[i] else 0 for i in range(n)]
        for row in cells:
            if isinstance(row, Section):
                out += _wrap(row.text, limit)
                continue
            parts = []
            for i, v in enumerate(row):
                if split[i]:  # the number right-aligned, its unit and interval after it
                    h, t = _split_number(v)
                    parts.append([(h.rjust(heads[i]) + t).ljust(aligned[i]).rjust(widths[i]) if v else ""])
                elif right[i]:
                    parts.append(_wrap_cell(v, widths[i]) if len(v) > widths[i] else [v])
                else:
                    parts.append(_wrap_cell(v, widths[i]) if len(v) > widths[i] or "\n" in v else [v])
            for k in range(max(len(p) for p in parts)):
                line = [(p[k] if k < len(p) else "") for p in parts]
                out.append(SEP.join(v.rjust(w) if r else v.ljust(w)
                                    for v, w, r in zip(line, widths, right)).rstrip())
        for text, number in footnotes.items():
            out += _wrap(text, limit, f"[{number}] ")
        for note in self.notes:
            out += _wrap(note, limit)
        return "\n".join(out)

    # --- HTML --------------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        cells = self._cells()
        right = self._right(cells)
        n = len(self.columns)
        footnotes: dict[str, int] = {}
        # a key/value table wraps its values; a wider one keeps each row on one line, long texts as footnotes
        wrap = n == 2
        head = "".join(f"<th class='{'r' if r else 'l'}'>{html.escape(str(c))}</th>"
                       for c, r in zip(self.columns, right))
        body = []
        for row in cells:
            if isinstance(row, Section):
                body.append(f"<tr class='kit-section'><td class='l' colspan='{n}'>{html.escape(row.text)}</td></tr>")
                continue
            tds = []
            for v, r in zip(row, right):
                if not r and not wrap and len(v) > HTML_CELL_LIMIT:
                    number = footnotes.setdefault(v, len(footnotes) + 1)
                    tds.append(f"<td class='l'><sup>[{number}]</sup></td>")
                else:
                    tds.append(f"<td class='{'r' if r else 'l w' if wrap else 'l'}'>{html.escape(v)}</td>")
            body.append("<tr>" + "".join(tds) + "</tr>")
        notes = "".join(f"<p class='kit-note'><sup>[{k}]</sup> {html.escape(t)}</p>" for t, k in footnotes.items())
        notes += "".join(f"<p class='kit-note'>{html.escape(n)}</p>" for n in self.notes)
        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return (f"<div class='kit-table'>{_CSS}<table>{cap}<thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{notes}</div>")

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name (section rows left out)."""
        return [dict(zip(self.columns, row)) for row in self.rows if not isinstance(row, Section)]


# Scoped to div.kit-table so that a notebook's own styles are left alone, and specific enough to win over
# JupyterLab's rules for rendered tables (centred, right-aligned, unbordered): the same look in JupyterLab,
# in a widget's HTML (which gets no notebook styles) and in a page converted by nbconvert.
_CSS = ("<style>div.kit-table table{border-collapse:collapse;margin:0.4em 0;font-size:0.9em;table-layout:auto}"
        "div.kit-table table caption{font-weight:bold;text-align:left;padding:0.2em 0}"
        "div.kit-table table th,div.kit-table table td{border:1px solid #c8c8c8;padding:0.2em 0.6em;"
        "white-space:nowrap;vertical-align:top;max-width:none}"
        "div.kit-table table th{background:#f3f3f3}"
        "div.kit-table table .r{text-align:right;font-variant-numeric:tabular-nums}"
        "div.kit-table table .l{text-align:left}div.kit-table table td.w{white-space:normal;min-width:20em}"
        "div.kit-table table tr.kit-section td{background:#f7f7f7;font-weight:bold}"
        "div.kit-table .kit-note{margin:0.2em 0;font-size:0.85em;color:#444;max-width:60em}</style>")


def _quantity(v: str) -> bool:
    """A number with at most one unit or word after it (``12.3 µs [12.1, 12.6]``, ``1.34× slower``), not a
    phrase that starts with a number (``2736 hits, 264 misses``)."""
    m = _NUMBER.match(v)
    return bool(m) and len(set(_WORD.findall(v[m.end():]))) <= 1


_WORD = re.compile(r"[^\W\d_][\w/]*")


def _aligned_width(body: list[Any], i: int) -> int:
    parts = [_split_number(r[i]) for r in body]
    return max((len(h) for h, _ in parts), default=0) + max((len(t) for _, t in parts), default=0)


def fit(text: str, limit: int | None = None) -> str:
    """Text wrapped to the terminal's width (:func:`width`), line by line, for notes printed under a table.

    Examples
    --------
    >>> print(fit("contention: light; " + "the measuring thread got 100% of a CPU " * 3, 60))
    contention: light; the measuring thread got 100% of a CPU
    the measuring thread got 100% of a CPU the measuring thread
    got 100% of a CPU
    """
    return "\n".join(line for para in str(text).split("\n") for line in _wrap(para, limit or width()))


def _split_number(v: str) -> tuple[str, str]:
    m = _NUMBER.match(v)
    return (v[: m.end()], v[m.end():]) if m else ("", v)


def _footnote(footnotes: dict[str, int], text: str) -> str:
    return f"[{footnotes.setdefault(text, len(footnotes) + 1)}]"


def _wrap(text: str, limit: int, first: str = "") -> list[str]:
    lines = []
    for k, para in enumerate(str(text).split("\n")):
        lead = first if k == 0 else " " * len(first)
        lines += textwrap.wrap(para, limit, initial_indent=lead, subsequent_indent=" " * len(first),
                               break_on_hyphens=False) or [lead.rstrip()]
    return lines


def _wrap_cell(text: str, w: int) -> list[str]:
    """Lines of at most ``w`` characters; a word too long breaks after a dot, an underscore or a slash
    (``kernel.`` / ``batch_fingerprint``), and only then anywhere."""
    out = []
    for para in text.split("\n"):
        pieces: list[tuple[str, str]] = []  # (text, what joins it to the piece before)
        for k, word in enumerate(para.split(" ")):
            parts = [p for p in re.findall(r"[^._/]*[._/]?", word) if p] if len(word) > w else [word]
            for j, part in enumerate(parts or [""]):
                for c in range(0, max(len(part), 1), w):
                    pieces.append((part[c:c + w], " " if (k and not j and not c) else ""))
        line = ""
        for piece, glue in pieces:
            if line and len(line) + len(glue) + len(piece) > w:
                out.append(line)
                line = piece
            else:
                line = line + glue + piece if line else piece
        out.append(line)
    return [line.rstrip() for line in out]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if v == 0 or 1e-4 <= abs(v) < 1000 else num(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    return str(v)


# --- numbers --------------------------------------------------------------------------------------


def num(v: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, never in exponent form between 1e-4 and 1e9.

    Examples
    --------
    >>> num(13.394), num(132.77), num(0.0743), num(12345.6), num(None)
    ('13.4', '133', '0.0743', '12,346', '–')
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    if not 1e-4 <= abs(v) < 1e9:
        return f"{v:.{digits - 1}e}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{decimals}f}"
    # rounding can add a digit (9.996 -> 10.00): format again with one decimal fewer
    if decimals and len(text.replace(",", "").replace("-", "").replace(".", "").lstrip("0")) > digits:
        text = f"{v:,.{decimals - 1}f}"
    return text


def speedup(value: float | None, lo: float | None = None, hi: float | None = None) -> str:
    """A speed-up (baseline time / this time: above 1 is faster), with its 95% CI when given.

    Examples
    --------
    >>> speedup(13.394, 11.21, 16.41), speedup(0.75), speedup(None)
    ('13.4× [11.2, 16.4]', '0.75×', '–')
    """
    if value is None:
        return DASH
    # below 1, two significant digits say it (0.0081×); above, three
    digits = 3 if value >= 1 else 2
    ci = f" [{num(lo, digits)}, {num(hi, digits)}]" if lo is not None and hi is not None else ""
    return f"{num(value, digits)}×{ci}"


def change(time_ratio: float | None, digits: int = 3) -> str:
    """A change between two runs, in words: ``time_ratio`` is time here / time before.

    Examples
    --------
    >>> change(1.341), change(0.84), change(1.0)
    ('1.34× slower', '1.19× faster', 'same')
    """
    if time_ratio is None or not math.isfinite(time_ratio) or time_ratio <= 0:
        return DASH
    if round(time_ratio, digits) == 1:
        return "same"
    if time_ratio > 1:
        return f"{num(time_ratio, digits)}× slower"
    return f"{num(1 / time_ratio, digits)}× faster"


_TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def time(seconds: float | None, lo: float | None = None, hi: float | None = None) -> str:
    """A duration in the unit that suits it, with its 95% CI in the same unit when given.

    Examples
    --------
    >>> time(1.23e-5, 1.2e-5, 1.26e-5), time(0.5), time(None)
    ('12.3 µs [12.0, 12.6]', '500 ms', '–')
    """
    if seconds is None or not math.isfinite(seconds):
        return DASH
    unit, scale = next(((u, s) for u, s in _TIME_UNITS if seconds >= s), _TIME_UNITS[-1])
    v = num(seconds / scale)
    if lo is None or hi is None:
        return f"{v} {unit}"
    decimals = len(v.split(".")[1]) if "." in v else 0
    return f"{v} {unit} [{lo / scale:,.{decimals}f}, {hi / scale:,.{decimals}f}]"


def rate(bytes_per_s: float | None) -> str:
    """A throughput in decimal units.

    Examples
    --------
    >>> rate(1.5e9), rate(52_100_000)
    ('1.50 GB/s', '52.1 MB/s')
    """
    if not bytes_per_s:
        return DASH
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if bytes_per_s >= scale:
            return f"{num(bytes_per_s / scale)} {unit}"
    return f"{num(bytes_per_s)} B/s"


def size(n: float | None) -> str:
    """A size in binary units.

    Examples
    --------
    >>> size(64), size(4096), size(3 << 20), size(None)
    ('64 B', '4.00 KiB', '3.00 MiB', '–')
    """
    if n is None:
        return DASH
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{num(n / scale)} {unit}"
    return f"{n:.0f} B"


def percent(fraction: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage; ``–`` where there is none (a hit rate of no lookups).

    Examples
    --------
    >>> percent(0.1234), percent(None)
    ('12.3%', '–')
    """
    return DASH if fraction is None else f"{fraction:.{decimals}%}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and the noun in the right number.

    Examples
    --------
    >>> plural(1, "entry", "entries"), plural(3, "entry", "entries"), plural(0, "run")
    ('1 entry', '3 entries', '0 runs')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# --- warnings in a terminal ----------------------------------------------------------------------


@contextlib.contextmanager
def one_line_warnings(prefix: str = "kit") -> Iterator[None]:
    """Show warnings as one line each (``kit: warning: ...``), each distinct message once.

    Python's default format adds the source line that raised it, which means nothing to a user
    of a command.

    Examples
    --------
    >>> with one_line_warnings("kit demo"):  # doctest: +SKIP
    ...     warnings.warn("noisy")
    kit demo: warning: noisy
    """
    import sys

    seen: set[str] = set()
    original = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = " ".join(str(message).split()).removeprefix("kit: ")
        if text in seen:
            return
        seen.add(text)
        print(f"{prefix}: warning: {text}", file=file or sys.stderr)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show
            yield
    finally:
        warnings.showwarning = original


__all__ = ["DASH", "Section", "Table", "WIDTH", "change", "fit", "format_bytes", "num", "one_line_warnings", "percent",
           "plural", "rate", "size", "speedup", "time", "width"]



def progress_bar(total: int, desc: str, unit: str, **options: Any) -> Any:
    """A tqdm progress bar in its auto mode (a widget in Jupyter, text in a terminal).

    kit's one place that makes a bar, so that every bar looks and closes alike; ``options`` go to
    tqdm (``leave``, ``mininterval``...).

    Examples
    --------
    >>> bar = progress_bar(2, "demo", "item", disable=True)
    >>> bar.update(2); bar.close()
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **options)


def format_bytes(n: float) -> str:
    """Binary-prefixed size, without trailing zeros (axis ticks, size labels).

    Examples
    --------
    >>> format_bytes(64), format_bytes(4096), format_bytes(8 << 20)
    ('64 B', '4 KiB', '8 MiB')
    """
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.3g} {unit}"
    return f"{n:.0f} B"
