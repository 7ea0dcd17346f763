"""The engine: detect → verify → measure → select, with wisdom persisted per machine.

For each operation of the registry the engine

1. *detects* the backends whose libraries are installed (no import),
2. *verifies* each against the baseline on the operation's fixed corpus
   (a backend that fails is marked and never selected; :mod:`kit.engine.verify`),
3. *measures* the verified ones side by side on seeded payloads of each size
   class (:mod:`kit.engine.measure`),
4. *selects* per size class (:mod:`kit.engine.select`) and stores the choice as
   *wisdom* (:mod:`kit.engine.wisdom`) keyed by the machine fingerprint and
   library versions, so a new process reuses it without measuring; a version or
   machine change makes it stale. It moves away from the baseline, or from the
   stored choice, only for a significant win of at least 5% (:func:`choose`), and
   never to a backend measured slower than the baseline; why is recorded beside
   the choice.

The parts: :mod:`~kit.engine.core` (the :class:`Engine` and its bindings),
:mod:`~kit.engine.results` (what ``kit bench`` and ``kit info`` show),
:mod:`~kit.engine.handlers` (``kit.digest``, ``kit.fingerprint``, the dispatch of
one-argument operations) and :mod:`~kit.engine.json_check` (the differential check
of ``kit.json``). This face only re-exports; the parts import each other, never it.

A backend forced by the user (argument, :func:`kit.config_context`,
``KIT_BACKENDS``) is used as named or raises; it is never swapped.

Examples
--------
>>> import kit
>>> with kit.config_context(backends={"fingerprint": "hashlib.blake2b"}):
...     kit.backend_for("fingerprint")
'hashlib.blake2b'
"""

from __future__ import annotations

from kit.engine.core import (SIZE_NAMES, Binding, Engine, backend_for, bench, get_engine, info, payload_nbytes,
                             size_class, tune)
from kit.engine.results import BenchResult, Info
from kit.engine.select import MIN_GAIN, Choice, Row, choose
from kit.engine.verify import Verification, generated_reference, verify_backend

__all__ = [
    "Engine", "get_engine", "backend_for", "info", "tune", "bench",
    "Binding", "BenchResult", "Info", "Row", "Choice", "MIN_GAIN", "choose",
    "Verification", "verify_backend", "generated_reference",
    "SIZE_NAMES", "size_class", "payload_nbytes",
]
