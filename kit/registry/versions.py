"""``kit.show_versions()``: versions of Python, kit and every backend's library.

Read through ``importlib.metadata`` without importing the libraries, as
scikit-learn's ``show_versions`` does.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from kit._display import Table

_EXTRA = ("numpy", "jupyterlab", "ipywidgets", "matplotlib", "asv", "tqdm", "cupy-cuda12x", "redis", "dask")


class Versions(Table):
    """Table of versions; ``.to_dict()`` gives ``{name: version or None}``."""

    def to_dict(self) -> dict[str, Any]:
        return {row[0]: row[1] for row in self.rows}


def show_versions() -> Versions:
    """Versions of Python, kit and the libraries kit can use (``None``: not installed).

    Examples
    --------
    >>> import kit
    >>> v = kit.show_versions().to_dict()
    >>> v["kit"] == kit.__version__
    True
    """
    import importlib.metadata as md

    from kit import registry as _registry
    from kit._version import __version__
    from kit.machine import cpu_model

    rows: list[list[Any]] = [["python", platform.python_version()], ["kit", __version__]]
    names = list(_registry.libraries()) + [n for n in _EXTRA if n not in _registry.libraries()]
    for name in names:
        try:
            rows.append([name, md.version(name)])
        except md.PackageNotFoundError:
            rows.append([name, None])
    notes = [f"{platform.platform()}; {cpu_model()}; {sys.executable}"]
    return Versions("kit.show_versions()", ["package", "version"], rows, notes)
