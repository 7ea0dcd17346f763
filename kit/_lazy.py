"""Lazy attributes for kit's subpackages (module ``__getattr__``, as attrs and lazy_loader do).

Examples
--------
>>> import kit.kernels
>>> getattr_, dir_, names = attach("kit.kernels", {"entropy": "kit.kernels._api"})
>>> getattr_("entropy").__name__
'entropy'
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def attach(package: str, table: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[Callable, Callable, list]:
    """``(__getattr__, __dir__, __all__)`` for a package whose names load on first use.

    ``table`` maps a public name to ``"module:attribute"``, or to ``"module"``
    when the attribute has the public name. The first access imports the
    module and caches the object in the package's namespace.
    """
    import sys

    names = [*extra, *table]

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}; available: {', '.join(names)}")
        mod, _, attr = target.partition(":")
        obj = getattr(importlib.import_module(mod), attr or name)
        setattr(sys.modules[package], name, obj)
        return obj

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__, names
