"""kit: measure, verify and select fast backends on this machine.

The public surface loads lazily (module ``__getattr__``, as attrs does), so
``import kit`` imports no heavy library: numpy, numba, polars, pyarrow, cupy,
ipywidgets and matplotlib load on first use.

Examples
--------
>>> import kit
>>> kit.json.loads(kit.json.dumps({"a": [1, 2.5, None]}))
{'a': [1, 2.5, None]}
>>> len(kit.digest(b"abc"))
32
"""

from __future__ import annotations

import importlib
from typing import Any

from kit import config as _config
from kit._version import __version__
from kit.config import config_context, get_config, set_config


def _check_backend(operation: str, backend: str) -> None:
    """The registry's lookup, which names the valid operations or backends (loaded on first use)."""
    from kit import registry

    registry.backend(operation, backend)


# The configuration (a leaf) checks KIT_BACKENDS and backends= against the registry through this.
_config.check_backends_with(_check_backend)

# attribute -> "module:object" (or "module" for a submodule)
_LAZY = {
    "json": "kit.json",
    "fingerprint": "kit.engine.handlers:fingerprint",
    "digest": "kit.engine.handlers:digest",
    "verify_digest": "kit.engine.handlers:verify_digest",
    "Digest": "kit.engine.handlers:Digest",
    "backend_for": "kit.engine:backend_for",
    "info": "kit.engine:info",
    "tune": "kit.engine:tune",
    "bench": "kit.engine:bench",
    "get_engine": "kit.engine:get_engine",
    "show_versions": "kit.registry.versions:show_versions",
    "compress": "kit.compression:compress",
    "decompress": "kit.compression:decompress",
    "Cache": "kit.cache:Cache",
    "memoize": "kit.cache:memoize",
    "score": "kit.scoring:score",
    "validate": "kit.records:validate",
    "kernels": "kit.kernels",
    "workloads": "kit.workloads",
    "batch": "kit.batch",
    "notebook": "kit.notebook",
    "machine": "kit.machine",
    "measure": "kit.engine.measure",
}

__all__ = ["__version__", "config_context", "get_config", "set_config", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    mod_name, _, attr = target.partition(":")
    obj = importlib.import_module(mod_name)
    if attr:
        obj = getattr(obj, attr)
    globals()[name] = obj
    return obj


def __dir__() -> list[str]:
    return sorted(__all__)
