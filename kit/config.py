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
    The clock measurements read (:data:`kit.engine.measure.CLOCKS`): ``wall`` (the default) or ``thread``.
``KIT_QUICK``
    ``1`` makes notebooks and long demonstrations run in seconds (``0``, the default: full runs).
``KIT_RESULTS_DIR``
    Where result records go (read by :func:`kit.records.results_dir`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from kit.errors import KitError

_TUNE_MODES = ("quick", "full", "off")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_local = threading.local()


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


def _check_backends(backends: dict[str, str], name: str, shown: Any) -> dict[str, str]:
    from kit import registry as _registry

    for op, backend in backends.items():
        try:
            _registry.backend(op, backend)  # the registry lists the valid operations or backends
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


def _check_folder(name: str, value: Any) -> str:
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
        from kit.engine.measure import CLOCKS

        if env["KIT_CLOCK"] not in CLOCKS:
            raise ConfigError.for_value("KIT_CLOCK", env["KIT_CLOCK"], f"expected one of {', '.join(CLOCKS)}")
    cache_dir = env.get("KIT_CACHE_DIR") or None
    return {
        "backends": _parse_backends(env.get("KIT_BACKENDS", "")),
        "cache_dir": None if cache_dir is None else _check_folder("KIT_CACHE_DIR", cache_dir),
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
        return None if value is None else _check_folder("cache_dir", value)
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
    _bump()


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
    _bump()
    try:
        yield
    finally:
        _local.config = old
        with _contexts_lock:
            _active_contexts[0] -= 1
        _bump()


# A generation counter lets the handlers cache their bindings and notice changes
# with one integer comparison on the hot path.
_generation = [0]
# While any thread is inside a config_context, bindings are resolved per call,
# because the configuration then differs between threads.
_active_contexts = [0]
_contexts_lock = threading.Lock()


# Called on every change, so that specialised fast paths can unbind themselves.
_listeners: list = []


def _bump() -> None:
    _generation[0] += 1
    for listener in list(_listeners):
        listener()


def forced_backend(operation: str) -> str | None:
    """The backend the user forced for ``operation`` through the config, if any."""
    return _state()["backends"].get(operation)
