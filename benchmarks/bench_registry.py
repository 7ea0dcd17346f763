"""asv benchmarks generated from kit's registry: every operation × backend × payload class × kind.

Nothing here names an operation or a backend. For each operation that
``kit.registry.operations()`` declares, this module makes two classes:

``<Operation>.time_call(backend, size, kind)``
    one call of the backend's implementation on the seeded payload of that size
    class and kind, with the arguments the operation's ``prepare`` builds: the
    same call ``kit bench`` measures (e.g. ``JsonDecode``, ``TableGroupby``);
``<Operation>Peakmem.peakmem_call(backend, kind)``
    the peak resident memory of the benchmark process making that call once on
    the large payload class (asv's ``peakmem_`` is the process maximum: it
    includes the loaded input, not its preparation, which runs elsewhere).

The large class's inputs are built once per asv run and shared between the
benchmark processes through the folder of a ``setup_cache`` common to all
generated classes.

Adding a backend or an operation to the registry adds its benchmarks. A backend
that is absent here (library not installed), or not declared at the commit
being measured, raises ``NotImplementedError`` in ``setup``, which asv records
as skipped. asv finds a benchmark by its name; at an older commit whose registry
lacks an operation the class name resolves to a stub that skips too
(:func:`__getattr__`).

Two hand-written families complete the file, because they measure kit's own
layers rather than registry entries:

``DispatchJsonDumps`` / ``DispatchFingerprint``
    ``kit.json.dumps`` on a ~200-byte dict and ``kit.fingerprint`` on 1 MiB,
    against calling the same backend directly (the targets of
    ``kit bench --targets``), for every backend of the operation;
``Score`` / ``Subscore`` / ``HardwareIndex`` (``track_``)
    the score, each category's subscore and the hardware index of one
    ``kit.score(preset="quick")`` run per asv run; skipped at commits without
    ``kit.score``.

Heavy work (payloads, libraries, engines) happens in ``setup``; importing this
module imports only the registry's declarations.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from typing import Any

from kit import registry as _registry

#: Seed of every payload, as the engine's measurements use.
SEED = 0
#: The size class the ``peakmem_`` benchmarks run at, and whose inputs are prepared once per run.
LARGE = "large"


def payload_bytes(size: str) -> int:
    """Target bytes of a size class's payloads: the registry's, except the large class under ``KIT_ASV_LARGE_BYTES``.

    ``dev/asv_ci.sh`` sets ``KIT_ASV_LARGE_BYTES=1048576``: 1 MiB is still the
    engine's large class, and the CI run, which checks that every benchmark
    runs, does an eighth of the work (its figures are not kept).

    Examples
    --------
    >>> payload_bytes("small") == _registry.SIZE_CLASSES["small"]
    True
    """
    override = os.environ.get("KIT_ASV_LARGE_BYTES", "").strip()
    if size == LARGE and override:
        if not override.isdigit() or int(override) <= 0:
            raise ValueError(f"KIT_ASV_LARGE_BYTES must be a positive number of bytes, got {override!r}")
        return int(override)
    return _registry.SIZE_CLASSES[size]


def class_name(op_name: str) -> str:
    """The benchmark class of an operation: ``"json.decode"`` -> ``"JsonDecode"``.

    Examples
    --------
    >>> class_name("table.groupby"), class_name("batch_fingerprint")
    ('TableGroupby', 'BatchFingerprint')
    """
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", op_name) if part)


def _skip(why: str) -> None:
    # asv records NotImplementedError raised in setup as "skipped", not failed.
    raise NotImplementedError(why)


def _check_call(op_name: str, backend: str, size: str, kind: str) -> tuple[_registry.Operation, _registry.Backend]:
    """The registry entries of one call; ``NotImplementedError`` where it cannot run at this commit or here."""
    try:
        op = _registry.operation(op_name)
    except ValueError:
        _skip(f"operation {op_name!r} is not in the registry at this commit")
    try:
        b = _registry.backend(op_name, backend)
    except ValueError:
        _skip(f"backend {backend!r} of {op_name!r} is not in the registry at this commit")
    if size not in op.sizes or kind not in op.kinds:
        _skip(f"{op_name!r} is not measured on {size}/{kind} payloads at this commit")
    reason = b.unavailable_reason()
    if reason is not None:
        _skip(f"backend {backend!r} of {op_name!r} is unavailable: {reason}")
    return op, b


def _prepared_file(folder: str, op_name: str, backend: str, kind: str) -> str:
    return os.path.join(folder, re.sub(r"[^0-9A-Za-z_.-]+", "_", f"{op_name}--{backend}--{kind}") + ".pickle")


def write_prepared(folder: str, op_name: str, backend: str, kind: str) -> tuple:
    """Build the large class's arguments of one call and store them in ``folder`` (atomically)."""
    op, _ = _check_call(op_name, backend, LARGE, kind)
    from kit.workloads import payload

    args = tuple(op.prepare(payload(kind, payload_bytes(LARGE), seed=SEED), backend))
    path = _prepared_file(folder, op_name, backend, kind)
    with open(f"{path}.{os.getpid()}.tmp", "wb") as f:
        pickle.dump(args, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(f"{path}.{os.getpid()}.tmp", path)
    return args


# Runs write_prepared in a fresh interpreter (run_path: this file, not the project folder, on the path).
_WRITE_IN_CHILD = "import runpy, sys; runpy.run_path(sys.argv[1])['write_prepared'](*sys.argv[2:])"


def prepare_call(op_name: str, backend: str, size: str, kind: str, folder: str | None = None,
                 isolate: bool = False) -> tuple[Any, tuple]:
    """``(implementation, args)`` of one registry call: the seeded payload, prepared for the backend.

    Large-class arguments (8 MiB payloads, recompressed by each codec for
    ``decompress``) are built once per asv run and shared through ``folder``,
    the folder of the suite's ``setup_cache``. With ``isolate`` a missing file
    is built in a child process, so that the preparation stays out of a
    ``peakmem_`` figure (asv's peak is the benchmark process's maximum).

    Raises
    ------
    NotImplementedError
        When the operation, the backend, the size class or the kind is not in
        the registry at this commit, or the backend's library is absent.
    """
    op, b = _check_call(op_name, backend, size, kind)
    if size != LARGE or folder is None:
        from kit.workloads import payload

        args = tuple(op.prepare(payload(kind, payload_bytes(size), seed=SEED), backend))
        return b.implementation(), args
    path = _prepared_file(folder, op_name, backend, kind)
    if not os.path.exists(path):
        if not isolate:
            return b.implementation(), write_prepared(folder, op_name, backend, kind)
        import subprocess
        import sys

        subprocess.run([sys.executable, "-c", _WRITE_IN_CHILD, __file__, folder, op_name, backend, kind],
                       check=True)
    with open(path, "rb") as f:
        args = pickle.load(f)
    return b.implementation(), args


class _OperationTime:
    """Base of the generated ``time_`` classes; ``operation`` is set per class."""

    operation = ""
    param_names = ["backend", "size", "kind"]
    timeout = 300.0
    # At most 5 samples in at most 4 s per process: an 8 MiB lzma call takes seconds.
    repeat = (1, 5, 4.0)

    def setup_cache(self) -> str:
        # One function for every generated class, so one key and one folder per asv run:
        # the large-class inputs prepared there are shared by all benchmark processes.
        return os.getcwd()

    def setup(self, folder: str, backend: str, size: str, kind: str) -> None:
        self._fn, self._args = prepare_call(self.operation, backend, size, kind, folder)

    def time_call(self, folder: str, backend: str, size: str, kind: str) -> None:
        self._fn(*self._args)


class _OperationPeakmem:
    """Base of the generated ``peakmem_`` classes (large payload class)."""

    operation = ""
    param_names = ["backend", "kind"]
    timeout = 300.0
    setup_cache = _OperationTime.setup_cache

    def setup(self, folder: str, backend: str, kind: str) -> None:
        self._fn, self._args = prepare_call(self.operation, backend, LARGE, kind, folder, isolate=True)

    def peakmem_call(self, folder: str, backend: str, kind: str) -> None:
        self._fn(*self._args)


def _generate() -> dict[str, type]:
    """One ``time_`` class per operation, and a ``peakmem_`` class where it has a large class."""
    classes: dict[str, type] = {}

    def add(name: str, base: type, op: _registry.Operation, params: list) -> None:
        if name in classes:
            raise RuntimeError(f"two registry operations map to the benchmark class {name!r}")
        classes[name] = type(name, (base,), {
            "__doc__": f"{op.name}: {op.summary} (generated from the registry; baseline {op.baseline!r}).",
            "__module__": __name__, "operation": op.name, "params": params,
        })

    for op in _registry.operations():
        names = [b.name for b in _registry.backends(op.name)]
        add(class_name(op.name), _OperationTime, op, [names, list(op.sizes), list(op.kinds)])
        if LARGE in op.sizes:
            add(class_name(op.name) + "Peakmem", _OperationPeakmem, op, [names, list(op.kinds)])
    return classes


GENERATED = _generate()
globals().update(GENERATED)


class _Missing:
    """What a generated class name resolves to at a commit whose registry lacks the operation."""

    # asv addresses a parameter combination by its index; any index must resolve.
    params = [list(range(10_000))]
    param_names = ["index"]

    def setup(self, *args: Any) -> None:
        _skip(f"{type(self).__name__}: its operation is not in the registry at this commit")

    def time_call(self, *args: Any) -> None:
        pass

    def peakmem_call(self, *args: Any) -> None:
        pass


def __getattr__(name: str) -> type:
    # Only asv's lookup by benchmark name reaches here (discovery reads the module's
    # __dict__); lower-case names (setup, timeout, params...) must stay AttributeError.
    if re.fullmatch(r"[A-Z][0-9A-Za-z]*", name):
        return type(name, (_Missing,), {"__module__": __name__})
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- dispatch overhead: kit's handlers against a direct call of the same backend ---------------


class _Dispatch:
    """``kit.<handler>`` against the backend it dispatches to, with the backend forced.

    Forcing the backend (``kit.set_config(backends=...)``, process-wide, so the
    handlers keep their cached binding) makes the comparison the same on every
    run and skips tuning; wisdom goes to a temporary folder, never the user's.
    """

    operation = ""
    param_names = ["backend", "path"]
    timeout = 120.0
    repeat = (3, 10, 4.0)

    def _payload(self) -> Any:
        raise NotImplementedError

    def _paths(self, kit: Any, engine: Any, data: Any) -> dict[str, tuple[Any, tuple]]:
        raise NotImplementedError

    def setup(self, backend: str, path: str) -> None:
        try:
            b = _registry.backend(self.operation, backend)
        except ValueError:
            _skip(f"backend {backend!r} of {self.operation!r} is not in the registry at this commit")
        reason = b.unavailable_reason()
        if reason is not None:
            _skip(f"backend {backend!r} is unavailable: {reason}")
        try:
            import kit
            from kit.engine import get_engine

            kit.set_config(backends={self.operation: backend},
                           cache_dir=tempfile.mkdtemp(prefix="kit-asv-wisdom-"))
            self._call, self._args = self._paths(kit, get_engine(), self._payload())[path]
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("kit"):
                raise
            _skip(f"no dispatch layer for {self.operation!r} at this commit ({exc})")

    def time_call(self, backend: str, path: str) -> None:
        self._call(*self._args)


class DispatchJsonDumps(_Dispatch):
    """``kit.json.dumps`` of a ~200-byte dict against the backend called directly."""

    operation = "json.encode"
    params = [[b.name for b in _registry.backends("json.encode")], ["kit", "direct"]]

    def _payload(self) -> Any:
        from kit.workloads import payload

        return payload("json", 200, seed=1)

    def _paths(self, kit: Any, engine: Any, doc: Any) -> dict[str, tuple[Any, tuple]]:
        import kit.json

        kit.json.dumps(doc)  # binds: the module attribute becomes the specialised function
        medium = engine.binding(self.operation).medium
        raw = getattr(medium, "raw", None)  # the library function and its options, called inline
        direct = (raw[0], (doc, *raw[1:])) if raw is not None else (getattr(medium, "direct", medium), (doc,))
        return {"kit": (kit.json.dumps, (doc,)), "direct": direct}


class DispatchFingerprint(_Dispatch):
    """``kit.fingerprint`` of 1 MiB against the backend called directly."""

    operation = "fingerprint"
    params = [[b.name for b in _registry.backends("fingerprint")], ["kit", "direct"]]

    def _payload(self) -> Any:
        from kit.workloads import payload

        return payload("random", 1 << 20, seed=1)

    def _paths(self, kit: Any, engine: Any, data: Any) -> dict[str, tuple[Any, tuple]]:
        fingerprint = kit.fingerprint
        fingerprint(data)
        return {"kit": (fingerprint, (data,)), "direct": (engine.binding(self.operation).large, (data,))}


# --- the score: tracked figures of kit.score(preset="quick") -----------------------------------


def _score_figures() -> dict[str, Any]:
    """Run ``kit.score(preset="quick")`` once and keep its figures (asv pickles this for every ``track_``).

    The hardware index needs a reference record: ``reference="auto"`` looks in
    ``KIT_RESULTS_DIR``, by default the ``results/kit`` of the checkout holding
    these benchmarks; without one the index is absent and its benchmark skips.
    Returns ``{"missing": reason}`` where this commit has no scoring module, so
    the benchmarks skip instead of failing.
    """
    import inspect

    import kit

    try:
        score = kit.score  # the public API, loaded lazily from wherever this commit keeps it
    except AttributeError as exc:
        return {"missing": f"kit.score is not in kit at this commit ({exc})"}
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("kit"):
            raise
        return {"missing": f"kit.score is not in kit at this commit ({exc})"}
    kit.set_config(cache_dir=tempfile.mkdtemp(prefix="kit-asv-wisdom-"))
    # The reference records of the checkout asv runs from (the same for every commit measured),
    # not of the installed copy of kit, which has none.
    checkout = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results", "kit")
    if "KIT_RESULTS_DIR" not in os.environ and os.path.isdir(checkout):
        os.environ["KIT_RESULTS_DIR"] = checkout
    accepted = inspect.signature(score).parameters
    options = {k: v for k, v in {"reference": "auto", "claims": False}.items() if k in accepted}
    result = score(preset="quick", **options)
    hardware = getattr(result, "hardware_index", None)
    if hardware is None:
        hardware = getattr(result, "hardware", None)
    return {
        "score": _as_float(getattr(result, "score", None)),
        "hardware_index": _as_float(hardware),
        "subscores": {category: _as_float(sub) for category, sub in (getattr(result, "subscores", None) or {}).items()},
    }


def _as_float(value: Any) -> float | None:
    # A figure comes as a number or as an object holding one (Subscore.score, HardwareIndex.value).
    for attr in ("value", "score"):
        if value is not None and not isinstance(value, (int, float)) and hasattr(value, attr):
            value = getattr(value, attr)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class _ScoreFigure:
    """Base of the ``track_`` classes: one figure of a shared, cached scoring run.

    ``setup_cache`` is one function for all of them, so asv runs the scoring once
    per commit and run; ``setup`` skips where this commit has no such figure.
    """

    timeout = 900.0
    what = ""

    def setup_cache(self) -> dict[str, Any]:
        return _score_figures()

    setup_cache.timeout = 900.0

    def figure(self, figures: dict[str, Any], *params: Any) -> Any:
        return figures.get(self.what)

    def setup(self, figures: dict[str, Any], *params: Any) -> None:
        if "missing" in figures:
            _skip(figures["missing"])
        if self.figure(figures, *params) is None:
            _skip(f"kit.score gives no {self.what} {' '.join(map(str, params))} at this commit".strip())


class Score(_ScoreFigure):
    """The overall score (0-100) of ``kit.score(preset="quick")``: measured, so it moves with noise too."""

    what = "score"

    def track_score(self, figures: dict[str, Any]) -> float:
        return self.figure(figures)

    track_score.unit = "points (0-100)"


class HardwareIndex(_ScoreFigure):
    """The hardware index of ``kit.score(preset="quick")`` (this machine against the reference record)."""

    what = "hardware_index"

    def track_hardware_index(self, figures: dict[str, Any]) -> float:
        return self.figure(figures)

    track_hardware_index.unit = "index (reference machine = 1)"


class Subscore(_ScoreFigure):
    """The subscore of each scoring category (categories from the registry)."""

    what = "subscores"
    params = [list(_registry.CATEGORIES)]
    param_names = ["category"]

    def figure(self, figures: dict[str, Any], category: str = "") -> Any:
        return figures.get("subscores", {}).get(category)

    def track_subscore(self, figures: dict[str, Any], category: str) -> float:
        return self.figure(figures, category)

    track_subscore.unit = "points (0-100)"
