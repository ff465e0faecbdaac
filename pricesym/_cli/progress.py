"""A progress display for long runs: a bar on a terminal, one line per item otherwise."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A progress bar on stderr when it is a terminal, one line per item otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()

    def left(self) -> str:
        """The estimated time left: the mean time per item so far, times the items left."""
        if not self.done:
            return "time left: estimating"
        seconds = (time.perf_counter() - self.t0) / self.done * (self.total - self.done)
        return f"about {seconds:.0f} s left"

    def start(self, name: str):
        if self.tty:
            width = 28
            filled = int(width * self.done / max(self.total, 1))
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.left():<22} {name[:32]:<32}"
            self.stream.write(line)
            self.stream.flush()

    def finish(self, name: str, verdict: str, seconds: float):
        self.done += 1
        if not self.tty:
            left = f"; {self.left()}" if self.done < self.total else ""
            self.stream.write(f"[{self.done}/{self.total}] {name}: {verdict} ({seconds:.1f} s{left})\n")
        elif self.done == self.total:
            self.stream.write(f"\r{' ' * 100}\r")
        self.stream.flush()
