"""Seeded payloads and request traces: sizes, shapes, determinism, distributions."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.workloads import (DISTRIBUTIONS, JSON_SHAPES, KINDS, LANGUAGES, NUMERIC_SHAPES, TONES, USE_CASES,
                           copy_requests, generate_copy, payload, trace)


def _same(a, b) -> bool:
    if isinstance(a, dict) and a and isinstance(next(iter(a.values())), np.ndarray):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_deterministic_and_seeded(kind):
    a, b, c = payload(kind, 5000, seed=1), payload(kind, 5000, seed=1), payload(kind, 5000, seed=2)
    assert _same(a, b)
    assert not _same(a, c)


@pytest.mark.parametrize("shape", JSON_SHAPES)
@pytest.mark.parametrize("size", [200, 4096, 65536])
def test_json_shapes_hit_their_target_size(shape, size):
    doc = payload("json", size, seed=3, shape=shape)
    n = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    assert 0.5 * size <= n <= 1.6 * size, (shape, size, n)


def test_json_shapes_have_their_character():
    strings = json.dumps(payload("json", 8192, seed=1, shape="strings"), ensure_ascii=False)
    assert any(ord(ch) > 127 for ch in strings)
    numeric = payload("json", 8192, seed=1, shape="numeric")
    assert all(isinstance(r["z"], list) and isinstance(r["x"], float) for r in numeric)
    nested = payload("json", 8192, seed=1, shape="nested")
    assert all(isinstance(r["user"], dict) and isinstance(r["children"], list) for r in nested)
    with pytest.raises(ValueError, match="unknown JSON shape 'deep'; valid: flat, nested, numeric, strings"):
        payload("json", 100, shape="deep")


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 3000), seed=st.integers(0, 10), alphabet=st.sampled_from(["ascii", "unicode"]))
def test_text_is_exact_size_valid_utf8(size, seed, alphabet):
    data = payload("text", size, seed=seed, alphabet=alphabet)
    assert len(data) == size
    data.decode("utf-8")  # never cut inside a character


def test_unicode_text_has_non_ascii_and_ascii_text_has_none():
    assert max(payload("text", 4000, seed=1, alphabet="unicode")) > 127
    assert max(payload("text", 4000, seed=1)) < 128


@pytest.mark.parametrize("shape", NUMERIC_SHAPES)
def test_numeric_shapes(shape):
    raw = payload("numeric", 8000, seed=1, shape=shape)
    arr = payload("numeric", 8000, seed=1, shape=shape, as_array=True)
    assert len(raw) == 8000 and arr.dtype == np.dtype("<f8") and arr.tobytes() == raw
    if shape == "integer":
        assert np.all(arr == np.round(arr)) and arr.min() >= 0 and arr.max() < 1000
    if shape == "random":
        assert arr.min() >= 0 and arr.max() < 1


def test_numeric_shapes_order_by_compressibility():
    ratio = {s: len(zlib.compress(payload("numeric", 1 << 16, seed=2, shape=s))) for s in NUMERIC_SHAPES}
    assert ratio["integer"] < ratio["random"]
    assert ratio["smooth"] < ratio["noisy"]
    assert len(zlib.compress(payload("random", 1 << 16, seed=2))) > (1 << 16)  # incompressible


def test_bad_kind_and_size():
    with pytest.raises(ValueError, match="unknown payload kind 'xml'; valid kinds: json, text"):
        payload("xml", 10)
    with pytest.raises(ValueError, match="size must be a non-negative int, got -1"):
        payload("text", -1)


# --- traces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_traces_are_seeded_and_in_range(dist):
    t = trace(5000, dist, distinct=300, seed=4)
    assert t.dtype == np.int64 and len(t) == 5000
    assert t.min() >= 0 and t.max() < 300
    assert np.array_equal(t, trace(5000, dist, distinct=300, seed=4))
    if dist != "scan":
        assert not np.array_equal(t, trace(5000, dist, distinct=300, seed=5))


def test_zipf_matches_its_law():
    n, distinct, s = 200_000, 1000, 1.1
    t = trace(n, "zipf", distinct=distinct, skew=s, seed=1)
    h = sum(k ** -s for k in range(1, distinct + 1))
    counts = np.bincount(t, minlength=distinct)
    for rank in (0, 1, 9):
        expected = n * (rank + 1) ** -s / h
        assert abs(counts[rank] - expected) < 5 * math.sqrt(expected), (rank, counts[rank], expected)
    assert trace(10, "zipf", distinct=5, skew=0.5).max() < 5  # s <= 1 is fine on a finite catalogue


def test_uniform_hotset_and_scan():
    u = np.bincount(trace(100_000, "uniform", distinct=100, seed=2), minlength=100)
    assert u.min() > 800 and u.max() < 1200
    h = trace(100_000, "hotset", distinct=1000, seed=2, hot_fraction=0.1, hot_share=0.9)
    assert abs((h < 100).mean() - 0.9) < 0.01
    assert trace(7, "scan", distinct=3).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_trace_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match="unknown distribution 'pareto'; valid: zipf, uniform, hotset, scan"):
        trace(10, "pareto")
    with pytest.raises(ValueError, match="distinct must be an integer from 1 to 1,000,000, got 0"):
        trace(10, distinct=0)
    with pytest.raises(ValueError, match="skew must be >= 0"):
        trace(10, skew=-1)


def test_copy_request_catalogue():
    reqs = copy_requests(400, seed=3)
    assert len(reqs) == 400 and len({r.canonical() for r in reqs}) == 400
    assert reqs == copy_requests(400, seed=3) and reqs != copy_requests(400, seed=4)
    assert {r.language for r in reqs} == set(LANGUAGES)
    assert {r.tone for r in reqs} == set(TONES) and {r.use_case for r in reqs} == set(USE_CASES)
    assert {r.gender for r in reqs} == {"masculine", "feminine"} and {r.number for r in reqs} == {"singular", "plural"}
    for r in reqs[:40]:
        assert len(generate_copy(r).variants) == 3


def test_importing_the_workloads_and_the_batch_runner_stays_light():
    import subprocess
    import sys

    code = ("import sys, kit, kit.workloads, kit.batch, kit.cli.workloads; "
            "heavy = {'numpy', 'tqdm', 'distributed', 'cloudpickle'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
