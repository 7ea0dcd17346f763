"""Tables that print as text in a terminal and render as HTML in Jupyter."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Table:
    """A titled table of rows.

    Examples
    --------
    >>> t = Table("Demo", ["name", "value"], [["a", 1], ["b", 22]])
    >>> print(t)
    Demo
    name  value
    ----  -----
    a         1
    b        22
    """

    title: str
    columns: Sequence[str]
    rows: list[Sequence[Any]]
    notes: list[str] = field(default_factory=list)

    def _cells(self) -> list[list[str]]:
        return [[_fmt(v) for v in row] for row in self.rows]

    def __str__(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        numeric = [all(_is_num(row[i]) for row in self.rows if row[i] not in (None, "")) and self.rows
                   for i in range(len(self.columns))]

        def line(vals: Sequence[str]) -> str:
            return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()

        out = [self.title] if self.title else []
        out.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        out += [line(r) for r in cells]
        out += self.notes
        return "\n".join(out)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in self._cells()
        )
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table class='kit-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row)) for row in self.rows]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
