"""One way to report a damaged entry: a warning and a miss, never wrong data."""

from __future__ import annotations

import warnings
from typing import Any

from kit.errors import KitWarning


class CorruptEntryWarning(KitWarning):
    """A stored entry failed its checks; it was treated as a miss (and removed)."""


def report(tier: Any, key: Any, exc: BaseException) -> None:
    """Count and warn about a damaged entry of ``tier``."""
    tier.errors += 1
    tier.corrupted = getattr(tier, "corrupted", 0) + 1
    warnings.warn(CorruptEntryWarning(
        f"kit cache {tier.name}: entry {key!r:.80} is damaged ({type(exc).__name__}: {exc}); "
        "treated as a miss and removed"), stacklevel=3)
