"""kit._display: tables fitted to the terminal's width, numbers aligned on their unit, one ratio convention."""

from __future__ import annotations

import html.parser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit._display import _fmt  # noqa: E402
from kit._display import (Section, Table, change, num, one_line_warnings, percent, plural, rate, size, speedup,
                          time)

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=24)
PROSE = st.lists(WORD, min_size=1, max_size=30).map(" ".join)
NUMBER = st.one_of(
    st.floats(min_value=1e-9, max_value=1e4).map(lambda x: time(x, x * 0.9, x * 1.1)),
    st.floats(min_value=0.001, max_value=500).map(lambda x: speedup(x, x * 0.8, x * 1.3)),
    st.integers(min_value=0, max_value=10**6),
)
HEADER = st.text(alphabet="abcdefgh ", min_size=1, max_size=12).map(lambda s: s.strip() or "x")


@st.composite
def tables(draw):
    kinds = draw(st.lists(st.sampled_from(["text", "number"]), min_size=1, max_size=6))
    headers = [draw(HEADER) for _ in kinds]
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        if rows and draw(st.booleans()) and draw(st.booleans()):
            rows.append(Section(draw(PROSE)))
            continue
        rows.append([draw(PROSE) if k == "text" else draw(NUMBER) for k in kinds])
    notes = draw(st.lists(PROSE, max_size=2))
    return Table(draw(PROSE), headers, rows, notes, width=draw(st.integers(min_value=70, max_value=100)))


@settings(max_examples=300, deadline=None)
@given(tables())
def test_no_line_is_wider_than_the_table_width(t):
    text = str(t)
    assert all(len(line) <= t.width for line in text.splitlines()), text
    # numbers are never cut: a value and each bound of its interval stay whole
    flat = text.split()
    for row in t.rows:
        if not isinstance(row, Section):
            for cell in row:
                if not isinstance(cell, str) or cell[:1].isdigit():
                    assert all(part in flat for part in _fmt(cell).split()), (cell, text)


class _Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("br", "meta"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, tag


@settings(max_examples=100, deadline=None)
@given(tables())
def test_html_is_balanced_and_escaped(t):
    page = t._repr_html_()
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    assert "kit-table" in page and "<table>" in page


def test_long_notes_become_numbered_footnotes_shared_by_equal_texts():
    long = "orjson fails json.decode verification (measured anyway) on integers beyond 64 bits"
    t = Table("claims", ["claim", "claimed", "measured", "notes"],
              [["orjson vs json", "5×", speedup(5.15, 3.35, 9.02), long],
               ["orjson again", "5×", speedup(5.0), long], ["xxhash", "4×", speedup(22.9), "short"]], width=60)
    text = str(t)
    assert text.count("[1]") == 3 and "[2]" not in text  # two rows share footnote 1, listed once under
    assert text.splitlines()[-1].startswith("    ") or long.split()[0] in text.splitlines()[-2]
    assert "short" in text


def test_numbers_align_on_their_unit():
    t = Table("", ["backend", "median (95% CI)"],
              [["json", time(1.18e-5, 1.12e-5, 1.41e-5)], ["orjson", time(8.8e-7, 8.7e-7, 9.1e-7)]])
    a, b = str(t).splitlines()[-2:]
    assert a.index("µs") == b.index("ns")  # units in one column
    assert a.endswith("]") and b.endswith("]")


def test_key_value_tables_wrap_their_values():
    t = Table("kit score", ["", "value"], [["noisy classes", ", ".join(["json.encode small json"] * 10)]],
              align="ll", width=70)
    lines = str(t).splitlines()
    assert len(lines) > 4 and all(len(line) <= 70 for line in lines) and "[1]" not in str(t)
    assert all(line.startswith(" " * 15) for line in lines[4:])  # continued under the value column


def test_ratios_have_one_convention():
    assert speedup(13.394, 11.21, 16.41) == "13.4× [11.2, 16.4]"
    assert speedup(0.0081, 0.0037, 0.012) == "0.0081× [0.0037, 0.012]"  # below 1: slower
    assert change(1.341) == "1.34× slower" and change(0.5) == "2.00× faster" and change(1.0004) == "same"
    assert change(None) == "–"


@pytest.mark.parametrize("value, text", [(13.394, "13.4"), (132.77, "133"), (0.0743, "0.0743"),
                                         (12345.6, "12,346"), (9.996, "10.0"), (None, "–")])
def test_num_keeps_three_significant_digits(value, text):
    assert num(value) == text


def test_units_and_words():
    assert time(0.5) == "500 ms" and time(1.23e-5, 1.2e-5, 1.26e-5) == "12.3 µs [12.0, 12.6]"
    assert rate(1.5e9) == "1.50 GB/s" and size(3 << 20) == "3.00 MiB"
    assert percent(None) == "–" and percent(0.1234) == "12.3%"
    assert plural(1, "entry", "entries") == "1 entry" and plural(2, "entry", "entries") == "2 entries"


def test_warnings_print_as_one_line_each_once(capsys):
    import warnings

    with one_line_warnings("kit demo"):
        for _ in range(3):
            warnings.warn("kit: the cache at\n  /somewhere is damaged", UserWarning)
    err = capsys.readouterr().err
    assert err == "kit demo: warning: the cache at /somewhere is damaged\n"
