"""Property test: distinct arguments never share a memoize fingerprint.

Each example builds a *family* of values from one drawn base: the same bytes as
an array in C, F and strided layouts, as ``np.matrix``, masked (any mask, any
itemsize), as an object array, as a numpy scalar and a 0-d array, as ``bytes``,
``bytearray`` and ``memoryview`` of several formats and shapes; the same strings
as Arrow arrays plain, dictionary-encoded (dictionaries in any order), sliced,
nested in structs, and as polars String, Categorical and Enum columns;
closures, lambdas on one line, bound methods and partials over drawn values.
Values that look alike are where collisions hide.

Every value also gets an independent description of what it *means* (type,
dtype, shape, logical contents, mask, the values a function closes over).
The property: two values with the same fingerprint have the same description.
(The converse need not hold: a copy in another memory order may be a miss.)

Runs derandomized (fixed seed, no example database), so CI is deterministic;
``KIT_PROPERTY_EXAMPLES`` raises the number of examples for a longer drill.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import struct

import pytest

np = pytest.importorskip("numpy")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kit.cache.fingerprint import fingerprint  # noqa: E402

EXAMPLES = int(os.environ.get("KIT_PROPERTY_EXAMPLES", "120"))
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))

#: Totals over the run, printed at the end (``pytest -s``) for the record.
TOTALS = {"examples": 0, "values": 0, "distinct_meanings": 0, "collisions": 0}


# --- what a value means ------------------------------------------------------------------------

def _float(x: float) -> tuple:
    return ("float", struct.pack("<d", x))


def describe(v):  # noqa: C901 - one branch per kind, on purpose
    """A hashable description of what ``v`` means; equal descriptions <=> interchangeable arguments."""
    t = type(v)
    if v is None or t in (bool, int, str, bytes):
        return (t.__name__, v)
    if t is float:
        return _float(v)
    if t is complex:
        return ("complex", _float(v.real), _float(v.imag))
    if t is bytearray:
        return ("bytearray", bytes(v))
    if t is memoryview:
        return ("memoryview", v.format, v.shape, v.tobytes())
    if t in (tuple, list):
        return (t.__name__, tuple(describe(x) for x in v))
    if t is dict:
        return ("dict", tuple((describe(k), describe(x)) for k, x in v.items()))
    if isinstance(v, np.ma.MaskedArray):
        return ("masked", t.__qualname__, describe(np.ma.getdata(v)), np.ma.getmaskarray(v).tobytes(),
                describe(v.fill_value), v.hardmask)
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            return ("object-array", t.__qualname__, v.shape, tuple(describe(x) for x in v.ravel(order="C").tolist()))
        return ("array", t.__qualname__, v.dtype.str, v.shape, np.ascontiguousarray(v).tobytes())
    if isinstance(v, np.generic):
        return ("numpy-scalar", t.__qualname__, v.dtype.str, np.asarray(v).tobytes())
    pa = _module("pyarrow")
    if pa is not None:
        if isinstance(v, pa.Table):
            return ("arrow-table", v.schema.serialize().to_pybytes(),
                    tuple(describe(c.to_pylist()) for c in v.columns))
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            return ("arrow-array", str(v.type), describe(v.to_pylist()))
    pl = _module("polars")
    if pl is not None:
        if isinstance(v, pl.DataFrame):
            return ("polars-frame", repr(v.schema), describe([list(r) for r in v.rows()]))
        if isinstance(v, pl.Series):
            return ("polars-series", v.name, repr(v.dtype), describe(v.to_list()))
    if isinstance(v, functools.partial):
        return ("partial", describe(v.func), describe(v.args), describe(v.keywords))
    if hasattr(v, "__self__") and hasattr(v, "__func__"):
        return ("method", v.__func__.__qualname__, describe(v.__self__))
    if callable(v) and hasattr(v, "meaning"):
        return v.meaning
    if dataclasses.is_dataclass(v):
        return (t.__qualname__, tuple(describe(getattr(v, f.name)) for f in dataclasses.fields(v)))
    raise TypeError(f"no description for {t}")


def _module(name):
    import sys

    return sys.modules.get(name)


# --- families of look-alike values -------------------------------------------------------------

NUMERIC = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16", "M8[D]", "m8[s]"]
SHAPES = [(), (1,), (4,), (2, 2), (1, 4), (4, 1), (2, 3), (3, 2), (2, 2, 2)]


@st.composite
def array_family(draw):
    kind = draw(st.sampled_from(NUMERIC + ["?", "U2", "S2"]))
    shape = draw(st.sampled_from(SHAPES))
    n = math.prod(shape)
    if kind == "?":
        base = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype="?").reshape(shape)
    elif kind == "U2":
        base = np.array(draw(st.lists(st.text("ab\u00e9", max_size=2), min_size=n, max_size=n)), dtype="U2")
        base = base.reshape(shape)
    elif kind == "S2":
        base = np.array(draw(st.lists(st.binary(max_size=2), min_size=n, max_size=n)), dtype="S2").reshape(shape)
    else:
        dt = np.dtype(kind)
        raw = draw(st.binary(min_size=n * dt.itemsize, max_size=n * dt.itemsize))
        if draw(st.booleans()):  # small values: more equal elements, more look-alikes
            raw = bytes(b % 3 for b in raw)
        base = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    out = [base, np.asfortranarray(base), base.copy(order="K")]
    if base.ndim >= 2:
        out += [base.T, np.ascontiguousarray(base.T), base[::-1], base[:, ::-1]]
        if base.ndim == 2:
            out.append(np.matrix(base))
    if base.ndim >= 1 and base.shape[0] > 1:
        out.append(base[::2])
    for _ in range(draw(st.integers(1, 3))):
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool).reshape(shape)
        m = np.ma.array(base, mask=mask)
        if draw(st.booleans()) and kind in NUMERIC[:11]:
            m.fill_value = base.flat[0] if n else 0
        out.append(m)
    out.append(np.ma.array(base))  # no mask at all
    if kind != "S2":
        obj = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            obj[idx] = base[idx].item() if kind not in ("M8[D]", "m8[s]") else int(base[idx].view("i8"))
        out += [obj, np.asfortranarray(obj)]
        if obj.ndim == 2:
            out += [obj.T.copy(), np.asfortranarray(obj.T)]
    if n:
        scalar = base.flat[0]
        out += [scalar, np.asarray(scalar), np.asarray(scalar).reshape(1)]
        if kind in NUMERIC[:13]:
            out += [scalar.item()]
    raw = base.tobytes()
    out += [raw, bytearray(raw), memoryview(raw)]
    if kind in NUMERIC[:13] or kind == "?":
        out += [memoryview(base) if base.flags.c_contiguous else memoryview(np.ascontiguousarray(base)),
                memoryview(raw).cast("B", (len(raw),))]
        if len(raw) % 4 == 0 and len(raw):
            out += [memoryview(raw).cast("i"), memoryview(raw).cast("f")]
            if len(raw) % 8 == 0:
                out.append(memoryview(raw).cast("B", (2, len(raw) // 2)))
    return out


STRINGS = st.lists(st.one_of(st.sampled_from(["a", "b", "x", "y", ""]), st.none()), min_size=1, max_size=6)


@st.composite
def table_family(draw):
    pa = pytest.importorskip("pyarrow")
    vals = draw(STRINGS)
    plain = pa.array(vals, pa.string())
    out = [plain, plain.dictionary_encode()]
    present = sorted({v for v in vals if v is not None})
    extra = draw(st.lists(st.sampled_from(["a", "b", "x", "y", "z"]), max_size=3, unique=True))
    dictionary = list(dict.fromkeys(draw(st.permutations(present)) + extra))
    if dictionary:
        indices = pa.array([None if v is None else dictionary.index(v) for v in vals], pa.int8())
        out.append(pa.DictionaryArray.from_arrays(indices, pa.array(dictionary)))
    # The same indices over another dictionary: only the dictionary differs.
    other = [chr(ord(c) + 1) if c else "q" for c in dictionary]
    if other:
        indices = pa.array([None if v is None else dictionary.index(v) for v in vals], pa.int8())
        out.append(pa.DictionaryArray.from_arrays(indices, pa.array(other)))
    k = draw(st.integers(0, len(vals)))
    out += [plain.slice(k), plain.dictionary_encode().slice(k)]
    ints = pa.array(draw(st.lists(st.integers(-3, 3), min_size=len(vals) + 2, max_size=len(vals) + 2)))
    # Structs over slices of one longer array: the children's offsets are the content.
    for start in (0, 1, 2):
        out.append(pa.StructArray.from_arrays([ints.slice(start, len(vals))], ["v"]))
    out += [pa.table({"c": plain}), pa.table({"c": plain.dictionary_encode()}), pa.table({"d": plain}),
            pa.chunked_array([plain])]
    pl = _module("polars") or pytest.importorskip("polars")
    out += [pl.Series("c", vals, dtype=pl.String), pl.Series("c", vals, dtype=pl.Categorical),
            pl.DataFrame({"c": pl.Series(vals, dtype=pl.Categorical)}), pl.DataFrame({"c": vals})]
    if present:
        cats = list(draw(st.permutations(present)))
        out.append(pl.Series("c", vals, dtype=pl.Enum(cats)))
    return out


def make_adder(k):
    f = lambda x: x + k  # noqa: E731
    f.meaning = ("adder", describe(k))
    return f


def make_scaler(k):
    def scale(x):
        return x * k

    scale.meaning = ("scaler", describe(k))
    return scale


ONE_LINE = (lambda x: x + 1, lambda x: x - 1, lambda x: x * 2, lambda x: x + 1.0)  # noqa: E731
for _i, _f in enumerate(ONE_LINE):
    _f.meaning = ("one-line lambda", _i)


@dataclasses.dataclass
class Shift:
    by: object

    def apply(self, x):
        return x + self.by

    def other(self, x):
        return x - self.by


NUMBERS = st.one_of(st.integers(-2, 2), st.sampled_from([0.0, -0.0, 1.0, 2.0, math.nan, math.inf]), st.booleans(),
                    st.sampled_from([1 + 0j, 1j]))


@st.composite
def function_family(draw):
    ks = draw(st.lists(NUMBERS, min_size=1, max_size=4))
    out = list(ONE_LINE)
    for k in ks:
        out += [make_adder(k), make_scaler(k), Shift(k).apply, Shift(k).other,
                functools.partial(make_adder(k), 1), functools.partial(make_scaler(k), k)]
    return out


@st.composite
def families(draw):
    fam = draw(st.sampled_from(["arrays", "tables", "functions", "mixed"]))
    if fam == "arrays":
        values = draw(array_family())
    elif fam == "tables":
        values = draw(table_family())
    elif fam == "functions":
        values = draw(function_family())
    else:
        a, f = draw(array_family()), draw(function_family())
        values = a[:4] + f[:4] + [tuple(a[:2]), [a[0], f[0]], {"k": a[-1]}]
    return values


@SETTINGS
@given(families())
def test_distinct_arguments_never_share_a_fingerprint(values):
    seen: dict[bytes, object] = {}
    for v in values:
        meaning = describe(v)
        fp = fingerprint(v)
        other = seen.setdefault(fp, meaning)
        if other != meaning:
            TOTALS["collisions"] += 1
        assert other == meaning, f"fingerprint collision: {meaning!r:.300} and {other!r:.300}"
    TOTALS["examples"] += 1
    TOTALS["values"] += len(values)
    TOTALS["distinct_meanings"] += len({repr(describe(v)) for v in values})


def test_print_totals():
    """Runs after the property (file order): the figures for the record, with ``pytest -s``."""
    print(f"\nmemoize fingerprint property: {TOTALS['examples']} examples, {TOTALS['values']} values, "
          f"{TOTALS['distinct_meanings']} distinct meanings, {TOTALS['collisions']} collisions")
    assert TOTALS["collisions"] == 0
