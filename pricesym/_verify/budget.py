"""Budgets, not hangs: a wall-clock deadline for `verify`, `parse` and ``show --at``.

A `Budget` is a context manager. Code checks it between stages (`Budget.check`),
and in the main thread a ``SIGALRM`` timer (`signal.setitimer`) interrupts a long
SymPy call in the middle: the handler raises `_Alarm`, a `BaseException`, so that
no ``except Exception`` on the way swallows it; leaving the ``with`` block turns it
into `BudgetExceeded` naming the stage that was running. In another thread there
is no timer and only the checks between stages apply.

Budgets nest: an inner budget never outlives its outer one, and the outer timer
is restored when the inner one ends.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time

from .._errors import AssumptionError, PricesymError

__all__ = ["Budget", "BudgetExceeded", "DEFAULT_TIMEOUT", "current"]

DEFAULT_TIMEOUT = 30.0
"""Seconds a `verify`, a `parse` or a ``show --at`` may take (``timeout=``, ``--timeout``)."""


class BudgetExceeded(PricesymError, TimeoutError):
    """A stated budget ran out (time, size, precision); the message says which."""


class _Alarm(BaseException):
    """Raised by the SIGALRM handler inside whatever was running."""


_local = threading.local()


def _stack() -> list[Budget]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def current() -> Budget | None:
    """The innermost active budget of this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


class Budget:
    """``with Budget(30, "verify") as budget: ... budget.check("the numeric stage")``.

    ``seconds`` may be ``math.inf`` (no limit). `stage` names what runs now, for
    the message when the time runs out."""

    def __init__(self, seconds: float, what: str):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or math.isnan(seconds) or seconds <= 0:
            raise AssumptionError(f"`timeout` must be a positive number of seconds, got {seconds!r}.")
        self.seconds = float(seconds)
        self.what = what
        self.stage = "reading the input"
        self.deadline = math.inf
        self._timer = False
        self._saved: tuple | None = None
        self._entered = 0.0
        self.limited_by: Budget | None = None

    # -- the clock
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def check(self, stage: str | None = None) -> None:
        """Raise `BudgetExceeded` if the deadline has passed; else note the stage."""
        if stage is not None:
            self.stage = stage
        if self.expired():
            raise self.exceeded()

    def exceeded(self) -> BudgetExceeded:
        owner = self.limited_by or self  # an inner budget cut short by its outer one names the outer
        return BudgetExceeded(
            f"the time budget of {owner.seconds:g} s for {owner.what} ran out while {self.stage}; "
            f"give more time with `timeout=` (`--timeout` on the command line) or a smaller claim."
        )

    @contextlib.contextmanager
    def during(self, stage: str):
        """Name the stage for the message, and check the clock on entry."""
        outer = self.stage
        self.check(stage)
        try:
            yield
        finally:
            self.stage = outer

    # -- the timer
    def __enter__(self) -> Budget:
        start = self._entered = time.monotonic()
        outer = current()
        self.deadline = start + self.seconds
        if outer is not None and outer.deadline <= self.deadline:
            self.deadline, self.limited_by = outer.deadline, outer.limited_by or outer
        if threading.current_thread() is threading.main_thread() and math.isfinite(self.deadline):
            try:
                handler = signal.signal(signal.SIGALRM, _on_alarm)
                timer = signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 1e-3))
            except (ValueError, OSError, AttributeError):  # no SIGALRM here (Windows), or not allowed
                pass
            else:
                self._saved, self._timer = (handler, timer), True
        _stack().append(self)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            self._disarm()
        except _Alarm:  # it fired between the end of the block and here: still ours
            self._disarm()
            kind = _Alarm
        if kind is not None and issubclass(kind, _Alarm):  # the innermost deadline is the earliest: ours
            raise self.exceeded() from None

    def _disarm(self) -> None:
        if self in _stack():
            _stack().remove(self)
        if not self._timer:
            return
        self._timer = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        assert self._saved is not None
        handler, (delay, interval) = self._saved
        signal.signal(signal.SIGALRM, handler)
        if delay > 0:  # the outer timer, less the time spent here
            outer = current()
            left = outer.remaining() if outer is not None else delay - (time.monotonic() - self._entered)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)


def _on_alarm(signum, frame):
    raise _Alarm()
