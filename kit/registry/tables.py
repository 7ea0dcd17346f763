"""Tables: ``table.groupby`` and ``table.roundtrip`` on a columnar table.

A table is a dict of equal-length numpy columns: ``key`` (int64) and
``value`` (float64), as :func:`kit.workloads.payload` ``("table", ...)`` makes.

``table.groupby`` returns ``{"key", "count", "sum", "mean"}`` columns sorted by
key; sums may differ in the last bits between backends (summation order), so
they are compared with a relative tolerance of 1e-9. ``table.roundtrip``
writes the table to an in-memory file and reads it back; the result must be
identical, bit for bit.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterable

from kit.registry import FROM_BASELINE, Backend, Operation, declare_backend, declare_operation


def _result(keys: Any, counts: Any, sums: Any) -> dict[str, Any]:
    import numpy as np

    keys = np.asarray(keys, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    counts = np.asarray(counts, dtype=np.int64)[order]
    sums = np.asarray(sums, dtype=np.float64)[order]
    return {"key": keys[order], "count": counts, "sum": sums, "mean": sums / np.maximum(counts, 1)}


def groupby_python(table: dict[str, Any]) -> dict[str, Any]:
    counts: dict[int, int] = {}
    sums: dict[int, float] = {}
    for k, v in zip(table["key"].tolist(), table["value"].tolist()):
        counts[k] = counts.get(k, 0) + 1
        sums[k] = sums.get(k, 0.0) + v
    keys = list(counts)
    return _result(keys, [counts[k] for k in keys], [sums[k] for k in keys])


def _load_groupby_polars() -> Callable:
    import polars as pl

    def groupby(table: dict[str, Any]) -> dict[str, Any]:
        out = pl.DataFrame(table).group_by("key").agg(
            pl.len().alias("count"), pl.col("value").sum().alias("sum")
        )
        return _result(out["key"].to_numpy(), out["count"].to_numpy(), out["sum"].to_numpy())

    return groupby


def _load_groupby_pyarrow() -> Callable:
    import pyarrow as pa

    def groupby(table: dict[str, Any]) -> dict[str, Any]:
        out = pa.table(table).group_by("key").aggregate([("value", "count"), ("value", "sum")])
        return _result(out["key"].to_numpy(), out["value_count"].to_numpy(), out["value_sum"].to_numpy())

    return groupby


def roundtrip_csv(table: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    buf = io.StringIO()
    w = csv.writer(buf)
    names = list(table)
    w.writerow(names)
    w.writerows(zip(*(table[n].tolist() for n in names)))  # repr() of floats round-trips exactly
    buf.seek(0)
    r = csv.reader(buf)
    header = next(r)
    cols: list[list[str]] = [[] for _ in header]
    for row in r:
        for c, v in zip(cols, row):
            c.append(v)
    return {n: np.array(c, dtype=table[n].dtype) for n, c in zip(header, cols)}


def _load_roundtrip_polars() -> Callable:
    import polars as pl

    def roundtrip(table: dict[str, Any]) -> dict[str, Any]:
        buf = io.BytesIO()
        pl.DataFrame(table).write_parquet(buf)
        buf.seek(0)
        df = pl.read_parquet(buf)
        return {n: df[n].to_numpy() for n in df.columns}

    return roundtrip


def _load_roundtrip_pyarrow(fmt: str) -> Callable:
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet as pq

    def roundtrip(table: dict[str, Any]) -> dict[str, Any]:
        t = pa.table(table)
        if fmt == "parquet":
            buf = io.BytesIO()
            pq.write_table(t, buf)
            buf.seek(0)
            back = pq.read_table(buf)
        else:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, t.schema) as w:
                w.write_table(t)
            back = pa.ipc.open_file(sink.getvalue()).read_all()
        return {n: back[n].to_numpy() for n in back.column_names}

    return roundtrip


def _groupby_equal(result: Any, expected: Any) -> bool:
    import numpy as np

    return (
        np.array_equal(result["key"], expected["key"])
        and np.array_equal(result["count"], expected["count"])
        and np.allclose(result["sum"], expected["sum"], rtol=1e-9, atol=0)
        and np.allclose(result["mean"], expected["mean"], rtol=1e-9, atol=0)
    )


def _roundtrip_equal(result: Any, expected: Any) -> bool:
    import numpy as np

    return list(result) == list(expected) and all(
        result[n].dtype == expected[n].dtype and np.array_equal(result[n], expected[n]) for n in expected
    )


def _corpus(backend: str) -> Iterable[tuple[str, tuple, Any]]:
    import numpy as np

    from kit.payloads import table

    yield "one row", ({"key": np.array([7], np.int64), "value": np.array([1.5])},), FROM_BASELINE
    yield "negative keys, extremes", ({"key": np.array([-3, 5, -3, 0], np.int64),
                                       "value": np.array([1e308, -0.0, 5e-324, -2.5])},), FROM_BASELINE
    yield "64 KiB", (table(65536, seed=2),), FROM_BASELINE
    yield "many groups", (table(65536, seed=3, groups=3000),), FROM_BASELINE


def _prepare(tbl: Any, backend: str) -> tuple:
    return (tbl,)


def _nbytes_table(tbl: dict[str, Any]) -> int:
    return sum(c.nbytes for c in tbl.values())


for _name, _summary, _equal in (
    ("table.groupby", "group-by count/sum/mean of a float column by an int key", _groupby_equal),
    ("table.roundtrip", "write a table to an in-memory file and read it back", _roundtrip_equal),
):
    declare_operation(Operation(
        name=_name, category="tables", summary=_summary,
        baseline="python" if _name == "table.groupby" else "csv",
        signature=f"{_name.split('.')[1]}(table: dict[str, numpy.ndarray]) -> dict[str, numpy.ndarray]",
        kinds=("table",), prepare=_prepare, equal=_equal,
        contract=__doc__.split("\n\n")[2].replace("\n", " "), corpus=_corpus,
    ))

_T = frozenset({"numpy-columns"})
declare_backend(Backend("table.groupby", "python", (), None, lambda: groupby_python, _T, "pure Python dict accumulation"))
declare_backend(Backend("table.groupby", "polars", ("polars",), "polars", _load_groupby_polars, _T, "DataFrame.group_by().agg()"))
declare_backend(Backend("table.groupby", "pyarrow", ("pyarrow",), "pyarrow", _load_groupby_pyarrow, _T, "Table.group_by().aggregate()"))
declare_backend(Backend("table.roundtrip", "csv", (), None, lambda: roundtrip_csv, _T, "stdlib csv, floats written with repr()"))
declare_backend(Backend("table.roundtrip", "polars", ("polars",), "polars", _load_roundtrip_polars, _T, "Parquet via polars"))
declare_backend(Backend("table.roundtrip", "pyarrow", ("pyarrow",), "pyarrow", lambda: _load_roundtrip_pyarrow("parquet"), _T, "Parquet via pyarrow.parquet"))
declare_backend(Backend("table.roundtrip", "pyarrow.ipc", ("pyarrow",), "pyarrow", lambda: _load_roundtrip_pyarrow("ipc"), _T, "Arrow IPC file format"))
