"""Exceptions kit raises for user errors.

The CLI prints a :class:`KitError` as one line and exits with its
``exit_code`` (2 by default), never with a traceback.
"""

from __future__ import annotations


class KitError(Exception):
    """A user error: what was wrong and what is allowed, in one line.

    Examples
    --------
    >>> str(KitError("unknown tier 'GOLD'; valid tiers: STANDARD, MAXIMUM"))
    "unknown tier 'GOLD'; valid tiers: STANDARD, MAXIMUM"
    """

    exit_code = 2


class BackendUnavailable(KitError, ImportError):
    """A backend the user named cannot be used here (library or device missing)."""


class VerificationError(KitError):
    """A backend's result differed from the baseline's on the verification corpus."""


class KitWarning(UserWarning):
    """Something the user should know: a noisy measurement, a fallback, a repaired entry."""
