"""Global configuration: ``get_config`` / ``set_config`` / ``config_context``.

Seeded from environment variables, in the manner of scikit-learn's ``_config``, and checked where
they are read: a value kit cannot use raises :class:`ConfigError` (a :class:`kit.errors.KitError`)
with one line naming the variable, the value and what is valid, derived from the registry; the CLI
prints that line and exits with status 2.

``KIT_BACKENDS``
    Forced backends, ``"json.encode=orjson,digest=blake3"``. A forced backend is used even where it
    failed verification (kit warns once, saying why).
``KIT_CACHE_DIR``
    kit's cache folder: the wisdom (``wisdom-<machine>.json``) and the default on-disk cache live in
    it. Default: the user cache directory (platformdirs). Must be a folder kit can write to, or a
    path it can create.
``KIT_TUNE``
    What the engine does when an operation has no wisdom yet: ``quick`` (measure briefly at first
    use, the default; ``kit bench --quick`` does the same ahead of time), ``full``, or ``off`` (use
    the registry's preference order and say so in ``kit info``).
``KIT_CLOCK``
    The clock measurements read (:data:`CLOCKS`): ``wall`` (the default) or ``thread``.
``KIT_QUICK``
    ``1`` makes notebooks and long demonstrations run in seconds (``0``, the default: full runs).
``KIT_RESULTS_DIR``
    Where result records go (read by :func:`kit.records.results_dir`).

Callers use public functions only, as scikit-learn's ``_config`` asks: :func:`generation` (a
counter that changes with every change of the configuration or of the engine's selection, so that a
cached resolution is checked with one comparison), :func:`on_change` (a callback on every change),
:func:`contexts_active` and :func:`config_id` (whether, and which, thread-local configuration is in
effect) and :func:`mark_changed` (for the engine, when its selection changes).

The valid operations and backends are the registry's, a layer above this module: the package's face
(``kit/__init__.py``, which Python runs before any ``kit.config``) installs the registry's check with
:func:`check_backends_with`, and ``KIT_BACKENDS``, :func:`set_config` and :func:`config_context` call it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from kit.errors import KitError

_TUNE_MODES = ("quick", "full", "off")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_local = threading.local()

#: Clocks a measurement can read (``KIT_CLOCK``). ``wall`` (the default) is what a user waits; ``thread``
#: is the CPU time of the measuring thread, which other processes' load does not inflate, but which
#: misses the work of any thread a backend starts (numba.parallel, blosc2, polars, pyarrow): only for
#: comparing single-threaded code on a shared machine, as kit's own tests do. The table lives here, in a
#: leaf, so that the configuration can check the variable; :mod:`kit.engine.measure` reads it.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}


class ConfigError(KitError, ValueError):
    """A configuration value kit cannot use: an environment variable or a :func:`set_config` value.

    Examples
    --------
    >>> str(ConfigError.for_value("KIT_TUNE", "fast", "expected one of quick, full, off"))
    "KIT_TUNE='fast': expected one of quick, full, off"
    """

    @classmethod
    def for_value(cls, name: str, value: Any, problem: str) -> "ConfigError":
        return cls(f"{name}={value!r}: {problem}")


def _parse_backends(text: str, name: str = "KIT_BACKENDS") -> dict[str, str]:
    """``"op=backend,op=backend"`` checked against the registry (operations and their backends)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        op, sep, backend = (x.strip() for x in part.partition("="))
        if not sep or not op or not backend or "=" in backend:
            raise ConfigError.for_value(name, text, f"{part!r} is not operation=backend "
                                                    "(e.g. json.encode=orjson,digest=blake3)")
        out[op] = backend
    return _check_backends(out, name, text)


# The check of backend names: one callable ``check(operation, backend)`` that raises ValueError naming the
# valid choices (the registry's lookup), installed by the package face; none until then.
_backend_check: list[Callable[[str, str], Any] | None] = [None]


def check_backends_with(check: Callable[[str, str], Any] | None) -> Callable[[str, str], Any] | None:
    """Install the check of ``operation=backend`` names that the configuration applies; return the previous one.

    ``check(operation, backend)`` raises :class:`ValueError` with a message naming the valid
    operations or backends; the configuration turns it into a :class:`ConfigError` naming the
    variable. kit's package face installs the registry's lookup (the registry is a layer above this
    module, which must not import it). ``None`` removes the check.

    Examples
    --------
    >>> import kit.config
    >>> def check(op, backend):
    ...     if backend != "json":
    ...         raise ValueError(f"unknown backend {backend!r}")
    >>> previous = kit.config.check_backends_with(check)
    >>> kit.config.set_config(backends={"json.encode": "ujson"})
    Traceback (most recent call last):
    ...
    kit.config.ConfigError: backends={'json.encode': 'ujson'}: unknown backend 'ujson'
    >>> _ = kit.config.check_backends_with(previous)
    """
    previous = _backend_check[0]
    _backend_check[0] = check
    return previous


def _check_backends(backends: dict[str, str], name: str, shown: Any) -> dict[str, str]:
    check = _backend_check[0]
    if check is not None:
        for op, backend in backends.items():
            try:
                check(op, backend)  # the registry's lookup lists the valid operations or backends
            except ValueError as exc:
                raise ConfigError.for_value(name, shown, str(exc)) from None
    return backends


def folder_problem(path: Any) -> str | None:
    """Why kit could not keep files in ``path`` (``None`` when it can, or can create it).

    Examples
    --------
    >>> folder_problem("/") is None or "not writable" in folder_problem("/")
    True
    >>> folder_problem(__file__)
    'a file, not a folder'
    """
    p = Path(path).expanduser()
    if p.exists():
        if not p.is_dir():
            return "a file, not a folder"
        return None if os.access(p, os.W_OK | os.X_OK) else "a folder this user cannot write to"
    parent = next((a for a in p.parents if a.exists()), None)
    if parent is None:
        return None
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"cannot be created: {parent} is not writable"


def check_folder(name: str, value: Any) -> str:
    """``value`` as a path string when kit can keep files there, else a :class:`ConfigError`.

    The error names the setting ``name`` (an environment variable or a :func:`set_config` key),
    the value and why it is refused, in one line.

    Examples
    --------
    >>> import os, tempfile
    >>> check_folder("KIT_RESULTS_DIR", tempfile.gettempdir()) == os.fspath(tempfile.gettempdir())
    True
    >>> check_folder("KIT_RESULTS_DIR", __file__)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kit.config.ConfigError: KIT_RESULTS_DIR='...': a file, not a folder; expected a folder kit can write to ...
    """
    problem = folder_problem(value)
    if problem is not None:
        raise ConfigError.for_value(name, os.fspath(value), f"{problem}; expected a folder kit can write to "
                                                            "(or unset it for the default)")
    return os.fspath(value)


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigError.for_value(name, text, f"expected one of {', '.join(v for v in _TRUE + _FALSE if v)}")
    return value in _TRUE


def _from_environment() -> dict[str, Any]:
    env = os.environ
    tune = env.get("KIT_TUNE", "quick").strip().lower() or "quick"
    if tune not in _TUNE_MODES:
        raise ConfigError.for_value("KIT_TUNE", env["KIT_TUNE"], f"expected one of {', '.join(_TUNE_MODES)}")
    if env.get("KIT_CLOCK"):
        if env["KIT_CLOCK"] not in CLOCKS:
            raise ConfigError.for_value("KIT_CLOCK", env["KIT_CLOCK"], f"expected one of {', '.join(CLOCKS)}")
    cache_dir = env.get("KIT_CACHE_DIR") or None
    return {
        "backends": _parse_backends(env.get("KIT_BACKENDS", "")),
        "cache_dir": None if cache_dir is None else check_folder("KIT_CACHE_DIR", cache_dir),
        "tune": tune,
        "quick": _flag("KIT_QUICK", env.get("KIT_QUICK", "")),
    }


_global: dict[str, Any] | None = None


def _state() -> dict[str, Any]:
    global _global
    if _global is None:
        _global = _from_environment()
    local = getattr(_local, "config", None)
    return local if local is not None else _global


def get_config() -> dict[str, Any]:
    """Return a copy of the current configuration.

    Examples
    --------
    >>> import kit
    >>> sorted(kit.get_config())
    ['backends', 'cache_dir', 'quick', 'tune']
    """
    cfg = dict(_state())
    cfg["backends"] = dict(cfg["backends"])
    return cfg


def _validate(key: str, value: Any) -> Any:
    if key == "backends":
        if not isinstance(value, dict):
            raise TypeError(f"backends must be a dict of operation -> backend, got {value!r}")
        return _check_backends(dict(value), "backends", value)
    if key == "tune":
        if value not in _TUNE_MODES:
            raise ConfigError.for_value("tune", value, f"expected one of {', '.join(_TUNE_MODES)}")
        return value
    if key == "cache_dir":
        return None if value is None else check_folder("cache_dir", value)
    if key == "quick":
        return bool(value)
    raise TypeError(f"unknown configuration key {key!r}; valid keys: backends, cache_dir, quick, tune")


def set_config(**changes: Any) -> None:
    """Change the configuration for this process (or the active context).

    Examples
    --------
    >>> import kit
    >>> kit.set_config(tune="off")
    >>> kit.get_config()["tune"]
    'off'
    >>> kit.set_config(tune="quick")
    """
    state = _state()
    for key, value in changes.items():
        state[key] = _validate(key, value)
    mark_changed()


@contextlib.contextmanager
def config_context(**changes: Any) -> Iterator[None]:
    """Temporarily change the configuration in this thread.

    ``backends`` given here are merged over the current ones.

    Examples
    --------
    >>> import kit
    >>> with kit.config_context(backends={"digest": "hashlib.sha256"}):
    ...     kit.backend_for("digest")
    'hashlib.sha256'
    """
    old = getattr(_local, "config", None)
    new = get_config()
    for key, value in changes.items():
        value = _validate(key, value)
        if key == "backends":
            value = {**new["backends"], **value}
        new[key] = value
    _local.config = new
    with _contexts_lock:
        _active_contexts[0] += 1
    mark_changed()
    try:
        yield
    finally:
        _local.config = old
        with _contexts_lock:
            _active_contexts[0] -= 1
        mark_changed()


# A generation counter lets the handlers cache their bindings and notice changes
# with one integer comparison on the hot path.
_generation = [0]
# While any thread is inside a config_context, bindings are resolved per call,
# because the configuration then differs between threads.
_active_contexts = [0]
_contexts_lock = threading.Lock()
# Called on every change, so that specialised fast paths can unbind themselves.
_listeners: list[Callable[[], Any]] = []


def generation() -> int:
    """A counter that changes with every change of the configuration or of the engine's selection.

    A cached resolution (a handler's binding) stays valid while the generation it was made at is
    current: one comparison per call.

    Examples
    --------
    >>> g = generation()
    >>> set_config(tune=get_config()["tune"])
    >>> generation() > g
    True
    """
    return _generation[0]


def generation_cell() -> list[int]:
    """The shared one-item list whose item is :func:`generation`, for the dispatch hot paths.

    Taken once, at import, by the handlers of ``kit.digest``, ``kit.fingerprint`` and
    ``kit.json``: reading ``cell[0]`` costs an index where calling :func:`generation` costs a
    function call on every call. Read it, never write it (:func:`mark_changed` advances it).

    Examples
    --------
    >>> cell = generation_cell()
    >>> cell[0] == generation() and cell is generation_cell()
    True
    """
    return _generation


def contexts_active() -> bool:
    """Whether any thread is inside a :func:`config_context` now.

    While one is, the configuration may differ between threads: a resolution made now must not be
    cached for the whole process.

    Examples
    --------
    >>> with config_context(tune="off"):
    ...     contexts_active()
    True
    """
    return _active_contexts[0] != 0


def config_id() -> int:
    """An identifier of the configuration this thread reads now: the process's or its innermost context's.

    Together with :func:`generation` it identifies the configuration's contents: a cache keyed by
    both never serves a resolution made under another configuration.

    Examples
    --------
    >>> outside = config_id()
    >>> with config_context(tune="off"):
    ...     config_id() != outside
    True
    """
    return id(_state())


def on_change(callback: Callable[[], Any]) -> Callable[[], None]:
    """Call ``callback()`` after every change of the configuration or of the engine's selection.

    For specialised fast paths that must unbind themselves when what they were specialised to
    changes (``kit.json``). Returns a function that removes the callback.

    Examples
    --------
    >>> seen = []
    >>> stop = on_change(lambda: seen.append(1))
    >>> set_config(tune=get_config()["tune"])
    >>> stop()
    >>> set_config(tune=get_config()["tune"])
    >>> seen
    [1]
    """
    _listeners.append(callback)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _listeners.remove(callback)

    return remove


def mark_changed() -> None:
    """Advance :func:`generation` and call the :func:`on_change` callbacks.

    The configuration calls it on every change; the engine calls it when its selection changes
    (new wisdom), so that every cached resolution is made again.

    Examples
    --------
    >>> g = generation()
    >>> mark_changed()
    >>> generation() == g + 1
    True
    """
    _generation[0] += 1
    for listener in list(_listeners):
        listener()


def forced_backend(operation: str) -> str | None:
    """The backend the user forced for ``operation`` through the config, if any."""
    return _state()["backends"].get(operation)
