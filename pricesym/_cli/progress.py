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

    def start(self, name: str):
        if self.tty:
            width = 28
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name[:40]:<40}")
            self.stream.flush()

    def finish(self, name: str, verdict: str, seconds: float):
        self.done += 1
        if not self.tty:
            self.stream.write(f"[{self.done}/{self.total}] {name}: {verdict} ({seconds:.1f} s)\n")
        elif self.done == self.total:
            self.stream.write(f"\r{' ' * 80}\r")
        self.stream.flush()
