"""Global configuration: ``get_config`` / ``set_config`` / ``config_context``.

Seeded from environment variables, in the manner of scikit-learn's ``_config``:

``KIT_BACKENDS``
    Forced backends, ``"json.encode=orjson,digest=blake3"``.
``KIT_CACHE_DIR``
    Where wisdom and the default on-disk cache live (default: the user cache
    directory from platformdirs).
``KIT_TUNE``
    What the engine does when an operation has no wisdom yet: ``quick``
    (measure briefly at first use, the default), ``full``, or ``off`` (use the
    registry's preference order and say so in ``kit info``).
``KIT_QUICK``
    ``1`` makes notebooks and long demonstrations run in seconds.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

_TUNE_MODES = ("quick", "full", "off")
_local = threading.local()


def _parse_backends(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        op, sep, name = part.partition("=")
        if not sep or not op.strip() or not name.strip():
            raise ValueError(
                f"KIT_BACKENDS entry {part!r} is not of the form 'operation=backend'"
            )
        out[op.strip()] = name.strip()
    return out


def _from_environment() -> dict[str, Any]:
    tune = os.environ.get("KIT_TUNE", "quick").strip().lower() or "quick"
    if tune not in _TUNE_MODES:
        raise ValueError(f"KIT_TUNE={tune!r} is not one of {', '.join(_TUNE_MODES)}")
    return {
        "backends": _parse_backends(os.environ.get("KIT_BACKENDS", "")),
        "cache_dir": os.environ.get("KIT_CACHE_DIR") or None,
        "tune": tune,
        "quick": os.environ.get("KIT_QUICK", "").strip() not in ("", "0", "false"),
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
        from kit import _registry

        for op, name in value.items():
            _registry.backend(op, name)  # raises with the valid choices
        return dict(value)
    if key == "tune":
        if value not in _TUNE_MODES:
            raise ValueError(f"tune must be one of {', '.join(_TUNE_MODES)}, got {value!r}")
        return value
    if key == "cache_dir":
        return None if value is None else os.fspath(value)
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
