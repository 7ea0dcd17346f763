"""The one table of operations and backends that everything else derives from.

An :class:`Operation` is one thing kit can do several ways; a :class:`Backend` is
one library's way to do it. The declarations live in ``kit.registry.*`` (one
module per family) and are collected here on first use, so ``import kit`` loads
no declaration module and no library.

Every backend of an operation exposes the same callable surface (the
operation's ``signature``) and declares a ``features`` set; a test checks both.

Each operation also declares its *output contract* (``Operation.output``):

``implementation``
    Every backend gives the baseline's result (JSON, codecs' decoded bytes,
    tables, kernels). The engine may run any verified backend, per payload
    class; a backend that cannot honour the contract for one input *declines*
    it (:class:`Declined`) and the call falls back to the baseline.
``algorithm``
    Backends are different algorithms whose outputs differ by design
    (hashes). The default call is the baseline's algorithm, the same bytes on
    every machine and every run; the engine's measured choice is opt-in and
    its result names its algorithm (``Backend.algorithm``).

Examples
--------
>>> from kit import registry
>>> "json.decode" in registry.operation_names()
True
>>> registry.operation("json.decode").baseline
'json'
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import math
import random
import threading
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from kit.errors import KitError

#: Modules in ``kit.registry`` (and elsewhere) that declare operations.
DECLARATIONS = (
    "kit.registry.json",
    "kit.registry.hashing",
    "kit.registry.codecs",
    "kit.registry.tables",
    "kit.registry.kernels",
)

#: Payload size classes: name -> target size in bytes.
SIZE_CLASSES: dict[str, int] = {"small": 200, "medium": 64 * 1024, "large": 8 * 1024 * 1024}
#: Bounds between the classes, the geometric midpoints of their sizes: an input of fewer than
#: ``SMALL_MAX`` bytes is small, of fewer than ``MEDIUM_MAX`` medium, else large (:func:`size_class`).
SMALL_MAX = int(math.sqrt(SIZE_CLASSES["small"] * SIZE_CLASSES["medium"]))
MEDIUM_MAX = int(math.sqrt(SIZE_CLASSES["medium"] * SIZE_CLASSES["large"]))

CATEGORIES = ("json", "hashing", "compression", "tables", "kernels")

#: Output contracts (see the module docstring).
IMPLEMENTATION = "implementation"
ALGORITHM = "algorithm"
OUTPUTS = (IMPLEMENTATION, ALGORITHM)

#: Seed of the generated verification corpus: every process checks the same inputs.
VERIFY_SEED = 20240615

# An algorithm name as in OCI content digests: lower-case components joined by one of "+._-".
_ALGORITHM_NAME = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*")

#: Marks a corpus case whose reference result is the baseline's.
FROM_BASELINE = object()


class Declined(KitError, ValueError):
    """A backend declines an input it would not answer as the baseline does.

    Raised by a backend's per-call guard; a dispatched call then falls back to
    the baseline and the fallback is counted under ``input_class`` (``kit
    info``). A backend the user named raises it as it is: never swapped.

    Examples
    --------
    >>> str(Declined("floats 1e-9 <= |x| < 1e-4", "orjson writes 1e-07 as 1e-7"))
    'declined (floats 1e-9 <= |x| < 1e-4): orjson writes 1e-07 as 1e-7'
    """

    def __init__(self, input_class: str, detail: str = "") -> None:
        super().__init__(f"declined ({input_class})" + (f": {detail}" if detail else ""))
        self.input_class = input_class


def size_class(nbytes: int | None) -> str:
    """The payload class of an input of ``nbytes`` (``medium`` when unknown).

    Examples
    --------
    >>> size_class(100), size_class(100_000), size_class(10**7)
    ('small', 'medium', 'large')
    """
    if nbytes is None:
        return "medium"
    return "small" if nbytes < SMALL_MAX else "medium" if nbytes < MEDIUM_MAX else "large"


def input_class(exc: BaseException) -> str:
    """The fallback class of a backend's exception: a guard's class, else the exception's type and message.

    Positions and offending characters are cut from the message, so that one
    kind of input counts as one class.

    Examples
    --------
    >>> input_class(Declined("integers beyond 64 bits"))
    'integers beyond 64 bits'
    >>> input_class(TypeError("Integer exceeds 64-bit range"))
    'TypeError: Integer exceeds 64-bit range'
    >>> input_class(ValueError("number is infinity when parsed as double: line 1 column 2 (char 1)"))
    'ValueError: number is infinity when parsed as double'
    """
    if isinstance(exc, Declined):
        return exc.input_class
    if isinstance(exc, UnicodeError) and getattr(exc, "reason", None):
        return f"{type(exc).__name__}: {exc.reason}"  # type: ignore[attr-defined]
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = _POSITION.split(text, 1)[0].rstrip(" :(")
    return f"{type(exc).__name__}: {text[:50]}" if text else type(exc).__name__


# Where messages start to name a position: "line 1 column 2", "(byte 14)", "in position 2", "at `$[0]`".
_POSITION = re.compile(r":? line \d|\(byte \d| in position| - at `| at \$|\(char \d")


@dataclass(frozen=True)
class Operation:
    """One thing kit can do several ways.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"json.decode"``.
    category : str
        Scoring category, one of :data:`CATEGORIES`.
    summary : str
        One line for tables and menus.
    baseline : str
        Name of the backend that is the reference for correctness and speed.
    signature : str
        The call every backend's implementation accepts, for docs and errors.
    kinds : tuple of str
        Payload kinds the operation is measured on (see ``kit.workloads.payload``).
    prepare : callable
        ``prepare(payload, backend_name) -> args``: turns a generated payload
        into the arguments of one call (e.g. encodes JSON for ``json.decode``,
        compresses with the backend's own codec for ``decompress``).
    equal : callable
        ``equal(result, expected) -> bool`` for verification.
    contract : str
        The documented behaviour every backend must honour.
    corpus : callable
        ``corpus(backend_name) -> iterable of (label, args, expected)``: fixed
        verification inputs; ``expected`` is :data:`FROM_BASELINE` when the
        baseline's result on ``args`` is the reference.
    check : callable or None
        ``check(backend_name, fn) -> list[str]`` extra verification (test
        vectors, round trips); returns failure messages.
    sizes : tuple of str
        Size classes measured.
    output : {"implementation", "algorithm"}
        The output contract: whether backends must give the baseline's result
        or are different algorithms (see the module docstring).
    generated : callable or None
        ``generated(rng) -> iterable of (input class, args)``: a seeded,
        generated corpus covering input *classes*, checked against the
        baseline by the engine's verification (the reference is always the
        baseline's outcome, a result or an error).
    """

    name: str
    category: str
    summary: str
    baseline: str
    signature: str
    kinds: tuple[str, ...]
    prepare: Callable[[Any, str], tuple]
    equal: Callable[[Any, Any], bool]
    contract: str
    corpus: Callable[[str], Iterable[tuple[str, tuple, Any]]]
    check: Callable[[str, Callable], list[str]] | None = None
    sizes: tuple[str, ...] = ("small", "medium", "large")
    output: str = IMPLEMENTATION
    generated: Callable[[random.Random], Iterable[tuple[str, tuple]]] | None = None

    @property
    def interchangeable(self) -> bool:
        """``True`` when any verified backend may answer a default call (an implementation choice)."""
        return self.output == IMPLEMENTATION

    def backends(self) -> list["Backend"]:
        """The backends of this operation, baseline first."""
        return backends(self.name)


@dataclass(frozen=True)
class Backend:
    """One library's way to do an operation.

    Parameters
    ----------
    operation : str
        The operation's registry name.
    name : str
        Backend name, unique within the operation (e.g. ``"orjson"``).
    modules : tuple of str
        Importable modules it needs; availability is probed with
        ``importlib.util.find_spec`` so nothing heavy is imported.
    distribution : str or None
        PyPI distribution whose version is reported (``importlib.metadata``).
    load : callable
        ``load() -> callable`` imports the library and returns the
        implementation with the operation's signature.
    features : frozenset of str
        What this implementation supports, for tests and docs.
    notes : str
        Where its native semantics differ and how kit bridges them.
    device : str
        ``"cpu"`` or ``"gpu"``.
    available_if : callable or None
        Extra availability check returning ``None`` or the reason it is
        unavailable (e.g. no CUDA device).
    algorithm : str or None
        For an operation whose output contract is ``algorithm``: the name of
        the algorithm whose output this backend gives, as in OCI content
        digests (``sha256``, ``blake3``, ``xxh3_128``); ``None`` otherwise.
    """

    operation: str
    name: str
    modules: tuple[str, ...]
    distribution: str | None
    load: Callable[[], Callable]
    features: frozenset[str] = frozenset()
    notes: str = ""
    device: str = "cpu"
    available_if: Callable[[], str | None] | None = None
    algorithm: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.operation}:{self.name}"

    def unavailable_reason(self) -> str | None:
        """``None`` when usable here, else why not (without importing it)."""
        if "reason" not in self._cache:
            self._cache["reason"] = self._probe()
        return self._cache["reason"]

    def _probe(self) -> str | None:
        for mod in self.modules:
            if sys.modules.get(mod, False) is None:
                return f"{mod} is blocked (sys.modules[{mod!r}] is None)"
            try:
                spec = importlib.util.find_spec(mod)
            except (ImportError, ValueError) as exc:
                return f"{mod} cannot be found ({exc})"
            if spec is None:
                hint = f"pip install {self.distribution}" if self.distribution else ""
                return f"{mod} is not installed" + (f" ({hint})" if hint else "")
        if self.available_if is not None:
            return self.available_if()
        return None

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    @property
    def version(self) -> str | None:
        """Installed version, read from package metadata (no import)."""
        if self.distribution is None:
            return "stdlib"
        if "version" not in self._cache:  # a metadata lookup costs ~0.1 ms; reset_probes() forgets it
            try:
                self._cache["version"] = importlib.metadata.version(self.distribution)
            except importlib.metadata.PackageNotFoundError:
                self._cache["version"] = None
        return self._cache["version"]

    def implementation(self) -> Callable:
        """Import the library (first use only) and return the callable."""
        fn = self._cache.get("impl")
        if fn is None:
            reason = self.unavailable_reason()
            if reason is not None:
                raise ImportError(f"backend {self.name!r} of {self.operation!r} is unavailable: {reason}")
            fn = self._cache["impl"] = self.load()
        return fn

    @contextlib.contextmanager
    def replaced(self, fn: Callable) -> Iterator[Callable]:
        """Use ``fn`` as this backend's implementation inside the block; the one before comes back after.

        For fault injection (:func:`kit.scoring.injected_slowdown`) and tests: everything that calls
        :meth:`implementation` meanwhile (the engine's measurements, the claims check) gets ``fn``.
        The block receives the implementation it replaces, so ``fn`` can wrap it.

        Examples
        --------
        >>> from kit import registry
        >>> b = registry.backend("digest", "hashlib.sha256")
        >>> with b.replaced(lambda data: bytes(32)) as original:
        ...     b.implementation()(b"abc") == bytes(32), original(b"abc") == bytes(32)
        (True, False)
        >>> b.implementation() is original
        True
        """
        previous = self.implementation()
        self._cache["impl"] = fn
        try:
            yield previous
        finally:
            self._cache["impl"] = previous


_operations: dict[str, Operation] = {}
_origin: dict[str, str] = {}  # operation -> declaring module, for a stable order
_backends: dict[str, dict[str, Backend]] = {}
_loaded = False


def declare_operation(op: Operation) -> Operation:
    """Add an operation (called by the declaration modules)."""
    if op.name in _operations:
        raise ValueError(f"operation {op.name!r} declared twice")
    if op.category not in CATEGORIES:
        raise ValueError(f"operation {op.name!r}: category {op.category!r} not in {CATEGORIES}")
    if op.output not in OUTPUTS:
        raise ValueError(f"operation {op.name!r}: output {op.output!r} not in {OUTPUTS}")
    _operations[op.name] = op
    _origin[op.name] = sys._getframe(1).f_globals.get("__name__", "")
    _backends.setdefault(op.name, {})
    return op


def declare_backend(b: Backend) -> Backend:
    """Add a backend (called by the declaration modules)."""
    table = _backends.setdefault(b.operation, {})
    if b.name in table:
        raise ValueError(f"backend {b.name!r} of {b.operation!r} declared twice")
    table[b.name] = b
    return b


_load_lock = threading.Lock()
_loading_thread: int | None = None


def _ensure_loaded() -> None:
    global _loaded, _loading_thread
    if _loaded:
        return
    if _loading_thread == threading.get_ident():
        return  # a declaration module asking while this thread imports it: it sees what is declared so far
    # Another thread waits until every declaration is in (it once saw a half-filled table: "unknown
    # operation 'fingerprint'").
    with _load_lock:
        if _loaded:
            return
        _loading_thread = threading.get_ident()
        try:
            _load_declarations()
        finally:
            _loading_thread = None
            _loaded = True


def _load_declarations() -> None:
    for mod in DECLARATIONS:
        importlib.import_module(mod)
    # The order of DECLARATIONS, whatever was imported first.
    rank = {m: i for i, m in enumerate(DECLARATIONS)}
    ordered = sorted(_operations.values(), key=lambda o: rank.get(_origin[o.name], len(rank)))
    _operations.clear()
    _operations.update((o.name, o) for o in ordered)
    names: dict[str, str] = {}
    for op in _operations.values():
        if op.baseline not in _backends[op.name]:
            raise RuntimeError(f"operation {op.name!r} has no baseline backend {op.baseline!r}")
        for b in _backends[op.name].values():
            if op.output == IMPLEMENTATION and b.algorithm is not None:
                raise RuntimeError(f"{b.key} names an algorithm but {op.name!r} is an implementation choice")
            if op.output == ALGORITHM:
                if b.algorithm is None or not _ALGORITHM_NAME.fullmatch(b.algorithm):
                    raise RuntimeError(f"{b.key}: algorithm {b.algorithm!r} is not an OCI-style name")
                if names.setdefault(b.algorithm, op.name) != op.name:
                    raise RuntimeError(f"algorithm {b.algorithm!r} is declared by two operations")


def operations() -> list[Operation]:
    """All operations, in declaration order."""
    _ensure_loaded()
    return list(_operations.values())


def operation_names() -> list[str]:
    """Registry names of all operations.

    Examples
    --------
    >>> from kit import registry
    >>> registry.operation_names()[:2]
    ['json.encode', 'json.decode']
    """
    return [op.name for op in operations()]


def operation(name: str) -> Operation:
    """Look up an operation; an unknown name lists the valid ones."""
    _ensure_loaded()
    try:
        return _operations[name]
    except KeyError:
        raise ValueError(
            f"unknown operation {name!r}; valid operations: {', '.join(_operations)}"
        ) from None


def backends(op_name: str) -> list[Backend]:
    """Backends of an operation, baseline first, then declaration order."""
    op = operation(op_name)
    table = _backends[op.name]
    return [table[op.baseline]] + [b for n, b in table.items() if n != op.baseline]


def backend(op_name: str, name: str) -> Backend:
    """Look up one backend; an unknown name lists the valid ones."""
    op = operation(op_name)
    table = _backends[op.name]
    try:
        return table[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r} for {op_name!r}; valid backends: {', '.join(table)}"
        ) from None


def available(op_name: str) -> list[str]:
    """Names of the backends of an operation that can run here, baseline first (nothing is imported).

    Availability is probed once per process (``find_spec`` and the backend's own check, such as a
    CUDA device); :func:`reset_probes` forgets it. Verification is the engine's business: an
    available backend may still fail it.

    Examples
    --------
    >>> from kit import registry
    >>> registry.available("digest")[0]
    'hashlib.sha256'
    >>> "zstd" in registry.available("compress")  # doctest: +SKIP
    True
    """
    return [b.name for b in backends(op_name) if b.available]


def all_backends() -> list[Backend]:
    """Every backend of every operation."""
    return [b for op in operations() for b in backends(op.name)]


def libraries() -> dict[str, str | None]:
    """Distribution -> installed version (``None`` if absent), for every backend's library."""
    out: dict[str, str | None] = {}
    for b in all_backends():
        if b.distribution and b.distribution not in out:
            out[b.distribution] = b.version
    return out


def algorithms(op_name: str | None = None) -> dict[str, list[Backend]]:
    """Algorithm name -> the backends that compute it (baseline first), for algorithm choices.

    Examples
    --------
    >>> from kit import registry
    >>> registry.algorithms("digest")["sha256"][0].name
    'hashlib.sha256'
    """
    out: dict[str, list[Backend]] = {}
    for op in operations():
        if op.output == ALGORITHM and op_name in (None, op.name):
            for b in backends(op.name):
                out.setdefault(b.algorithm, []).append(b)  # type: ignore[arg-type]
    return out


def default_algorithm(op_name: str) -> str:
    """The stable default algorithm of an algorithm choice: its baseline's.

    Examples
    --------
    >>> from kit import registry
    >>> registry.default_algorithm("digest"), registry.default_algorithm("fingerprint")
    ('sha256', 'blake2b_128')
    """
    op = operation(op_name)
    if op.output != ALGORITHM:
        raise ValueError(f"{op_name!r} is an implementation choice; it has no algorithm")
    return backend(op_name, op.baseline).algorithm  # type: ignore[return-value]


def reset_probes() -> None:
    """Forget cached availability and implementations (after installing or blocking a library)."""
    for b in all_backends():
        b._cache.clear()
