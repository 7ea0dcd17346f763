"""A circuit breaker: stop calling a failing service, try again after a while.

States: ``closed`` (calls go through) -> ``open`` after ``failures``
consecutive failures (calls are refused at once) -> ``half_open`` once
``reset_timeout`` seconds have passed (one trial call goes through) ->
``closed`` if it succeeds, ``open`` again if it fails. The defaults (3
failures, 30 s) are the seeds' figures.

Examples
--------
>>> clock = [0.0]
>>> b = CircuitBreaker(failures=2, reset_timeout=10, timer=lambda: clock[0])
>>> b.failure(); b.failure(); b.state
'open'
>>> b.allow()
False
>>> clock[0] = 10.0
>>> b.allow(), b.state
(True, 'half_open')
>>> b.success(); b.state
'closed'
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

__all__ = ["CircuitBreaker", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Counts consecutive failures and refuses calls while open.

    Parameters
    ----------
    failures : int
        Consecutive failures that open the circuit.
    reset_timeout : float
        Seconds the circuit stays open before one trial call is let through.
    timer : callable
        Monotonic clock (tests inject a fake one).
    on_change : callable, optional
        ``on_change(old_state, new_state, reason)`` on every transition.
    """

    def __init__(self, failures: int = 3, reset_timeout: float = 30.0, *,
                 timer: Callable[[], float] = time.monotonic,
                 on_change: Callable[[str, str, str], None] | None = None) -> None:
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
            raise ValueError(f"failures must be a positive int, got {failures!r}")
        if not isinstance(reset_timeout, (int, float)) or reset_timeout < 0:
            raise ValueError(f"reset_timeout must be a non-negative number of seconds, got {reset_timeout!r}")
        self.max_failures = failures
        self.reset_timeout = float(reset_timeout)
        self.timer = timer
        self.on_change = on_change
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial = False
        self._lock = threading.Lock()
        self.opened = 0
        self.short_circuits = 0
        self.last_error: str | None = None

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (an open circuit past its timeout reads half_open)."""
        with self._lock:
            if self._state == OPEN and self.timer() - self._opened_at >= self.reset_timeout:
                return HALF_OPEN
            return self._state

    def _move(self, new: str, reason: str) -> None:
        old, self._state = self._state, new
        if old != new and self.on_change is not None:
            self.on_change(old, new, reason)

    def allow(self) -> bool:
        """May a call go through now? (Open: no, counted as a short circuit.)"""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                if self.timer() - self._opened_at < self.reset_timeout:
                    self.short_circuits += 1
                    return False
                self._move(HALF_OPEN, "reset timeout elapsed")
                self._trial = False
            if self._trial:  # half open: one trial at a time
                self.short_circuits += 1
                return False
            self._trial = True
            return True

    def success(self) -> None:
        """A call succeeded: close the circuit."""
        with self._lock:
            self._failures = 0
            self._trial = False
            if self._state != CLOSED:
                self._move(CLOSED, "trial call succeeded")

    def failure(self, error: BaseException | str | None = None) -> None:
        """A call failed: open after ``failures`` in a row, or at once when half open."""
        with self._lock:
            self._failures += 1
            self._trial = False
            if error is not None:
                self.last_error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.max_failures):
                self._opened_at = self.timer()
                self.opened += 1
                self._move(OPEN, self.last_error or "failures")

    def call(self, fn: Callable[..., Any], *args: Any, errors: tuple[type[BaseException], ...] = (Exception,),
             **kwargs: Any) -> Any:
        """Run ``fn`` through the breaker; raises :class:`CircuitOpenError` while open.

        Examples
        --------
        >>> CircuitBreaker().call(lambda: 42)
        42
        """
        if not self.allow():
            raise CircuitOpenError(f"circuit open after {self.max_failures} failures ({self.last_error})")
        try:
            out = fn(*args, **kwargs)
        except errors as exc:
            self.failure(exc)
            raise
        self.success()
        return out

    def stats(self) -> dict[str, Any]:
        """State, consecutive failures, times opened, calls refused, last error."""
        return {"state": self.state, "consecutive_failures": self._failures, "opened": self.opened,
                "short_circuits": self.short_circuits, "last_error": self.last_error,
                "failures_to_open": self.max_failures, "reset_timeout_s": self.reset_timeout}


class CircuitOpenError(ConnectionError):
    """A call was refused because the circuit is open."""
