"""Where the third-party conformance suites and workloads live.

They are not copied into kit: tests, verification and benchmarks read them
from ``../shared/data`` beside the project's root, or from ``KIT_SHARED_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data() -> Path | None:
    """The shared data folder, or ``None`` when it is absent.

    Examples
    --------
    >>> p = shared_data()
    >>> p is None or (p / "README.md").exists()
    True
    """
    candidates = []
    if os.environ.get("KIT_SHARED_DATA"):
        candidates.append(Path(os.environ["KIT_SHARED_DATA"]))
    candidates += [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if (c / "README.md").is_file():
            return c
    return None


def shared_file(*parts: str) -> Path | None:
    """A file under the shared data folder, or ``None`` when absent."""
    root = shared_data()
    if root is None:
        return None
    p = root.joinpath(*parts)
    return p if p.exists() else None
