"""A progress display for long runs: a bar on a terminal, one line per item otherwise."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping

__all__ = ["Progress"]


class Progress:
    """A progress bar on stderr when it is a terminal, one line per item otherwise.

    ``expected`` (seconds per item, from the previous run) and ``jobs`` (items run at
    once) make the time left an estimate of the work left rather than of the count."""

    def __init__(self, total: int, stream=None, *, expected: Mapping[str, float] | None = None, jobs: int = 1):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()
        self.expected, self.jobs = dict(expected or {}), max(1, jobs)
        self.left_items: set[str] = set()
        self.spent = self.planned = 0.0  # measured and expected seconds of the items done
        self.lock = threading.Lock()  # items may finish in several threads

    def plan(self, names) -> None:
        """The items to come, so that the time left can be read off ``expected``."""
        self.left_items = set(names)

    def left(self) -> str:
        """The estimated time left: the expected seconds of the items left (scaled by how
        this run compares with the previous one) over the jobs; without a previous run,
        the mean time per item so far, times the items left."""
        if not self.done:
            return "time left: estimating"
        if self.left_items and all(n in self.expected for n in self.left_items) and self.planned > 0:
            pace = self.spent / self.planned
            seconds = pace * sum(self.expected[n] for n in self.left_items) / self.jobs
        else:
            seconds = (time.perf_counter() - self.t0) / self.done * (self.total - self.done)
        return f"about {seconds:.0f} s left"

    def start(self, name: str):
        if self.tty:
            with self.lock:
                width = 28
                filled = int(width * self.done / max(self.total, 1))
                line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.left():<22} {name[:32]:<32}"
                self.stream.write(line)
                self.stream.flush()

    def finish(self, name: str, verdict: str, seconds: float):
        with self.lock:
            self.done += 1
            self.left_items.discard(name)
            if name in self.expected:
                self.spent, self.planned = self.spent + seconds, self.planned + self.expected[name]
            if not self.tty:
                left = f"; {self.left()}" if self.done < self.total else ""
                self.stream.write(f"[{self.done}/{self.total}] {name}: {verdict} ({seconds:.1f} s{left})\n")
            elif self.done == self.total:
                self.stream.write(f"\r{' ' * 100}\r")
            else:
                filled = int(28 * self.done / max(self.total, 1))
                self.stream.write(f"\r[{'#' * filled}{'.' * (28 - filled)}] {self.done}/{self.total} {self.left():<22} "
                                  f"{'done: ' + name[:26]:<32}")
            self.stream.flush()
