"""Workloads: seeded payloads and request traces, and the copywriting service kit measures.

=====================  ===========================================================
``payload``            seeded JSON / text / numeric / random / table payloads (from
                       :mod:`kit.payloads`, with ``json_document``, ``text``, ``numeric``,
                       ``random_bytes`` and ``table``)
``trace``              seeded request traces (zipf, uniform, hotset, scan)
``generate_copy``      deterministic template copy: 8 tones × 8 use cases × 4 languages
``CopyService``        validation, ``kit.Cache``, latency and hit-rate metrics, health
=====================  ===========================================================

Examples
--------
>>> from kit.workloads import payload, generate_copy
>>> len(payload("random", 32, seed=1))
32
>>> len(generate_copy({"product": "Aurora", "variants": 2}).variants)
2
"""

from kit.workloads.copy import (
    LANGUAGE_NAMES,
    LANGUAGES,
    LIMITS,
    TONES,
    USE_CASES,
    CopyRequest,
    CopyResult,
    InvalidRequest,
    generate_copy,
)
from kit.payloads import (JSON_SHAPES, KINDS, NUMERIC_SHAPES, TEXT_ALPHABETS, json_document, numeric, payload,
                          random_bytes, table, text)
from kit.workloads.service import CopyService, Response, metrics_table
from kit.workloads.traces import DISTRIBUTIONS, copy_requests, trace

__all__ = [
    "DISTRIBUTIONS",
    "JSON_SHAPES",
    "KINDS",
    "NUMERIC_SHAPES",
    "TEXT_ALPHABETS",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LIMITS",
    "TONES",
    "USE_CASES",
    "CopyRequest",
    "CopyResult",
    "CopyService",
    "InvalidRequest",
    "Response",
    "copy_requests",
    "generate_copy",
    "json_document",
    "metrics_table",
    "numeric",
    "payload",
    "random_bytes",
    "table",
    "text",
    "trace",
]
