"""No leftovers (issue 8): a report cleans its staging folder on SIGTERM, removes
the ones a killed run left, and replaces its figures along with its text."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sympy as sp

import pricesym as ps
from helpers import ROOT
from pricesym._report.write import write_report

b, p = sp.Symbol("b", real=True), sp.Symbol("p", positive=True)


def _figure(path: Path, report) -> None:
    path.write_bytes(b"%PDF-1.4 a stand-in figure")


def tiny(name: str = "test/tiny", figures=()) -> ps.Derivation:
    return ps.Derivation(result=p**2 * (1 - p) ** 2, symbols={b: ps.uniform(-1, 1)}, observables={p: ps.sigmoid(b)},
                         checks=(ps.autodiff(lambda x: x["b"]),), name=name, title="A tiny derivation",
                         doc="A tiny derivation.", figures=figures)


def test_a_smaller_report_leaves_no_stale_figures(tmp_path):
    out = tmp_path / "out"
    big = write_report([tiny("test/one", (_figure,)), tiny("test/two", (_figure, _figure))], {}, out)
    assert len(big.figures) == 3 and all(f.is_file() for f in big.figures)
    small = write_report([tiny("test/one", (_figure,))], {}, out)
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["test_one-1.pdf"] == [f.name for f in small.figures]
    write_report([tiny("test/one")], {}, out)  # no figures at all: the folder goes too
    assert not (out / "figures").exists()
    assert sorted(p.name for p in out.iterdir()) == ["appendix-body.tex", "appendix.tex", "pricesym.sty"]


def test_stale_staging_folders_of_dead_runs_are_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".appendix-{dead.stdout.strip()}-abc123"
    stale.mkdir()
    (stale / "appendix.tex").write_text("half written")
    old = out / ".appendix-oldstyle"  # a name without a process id, from before: removed once an hour old
    old.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    alive = out / f".appendix-{os.getpid()}-zzz"  # this process: a run in progress, kept
    alive.mkdir()
    mine = out / "notes.txt"
    mine.write_text("the user's own file")
    write_report([tiny()], {}, out)
    assert not stale.exists() and not old.exists() and alive.exists() and mine.read_text() == "the user's own file"


def test_write_errors_are_report_errors(tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(ps.ReportError, match="cannot write into `out` .*Read-only file system; choose a writable folder"):
        write_report([tiny()], {}, tmp_path / "out")


@pytest.mark.slow
def test_sigterm_ends_a_report_cleanly(tmp_path):
    """SIGTERM while a figure is being drawn: exit 143, no staging folder left."""
    out = tmp_path / "out"
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_leftovers import tiny
        from pricesym._report.write import write_report

        def slow(path, report):
            Path({str(ready)!r}).write_text("drawing")
            time.sleep(60)

        write_report([tiny(figures=(slow,))], {{}}, {str(out)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.time() + 60
    while not ready.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists(), "the report never started its figure"
    assert [p.name for p in out.iterdir() if p.name.startswith(".appendix-")]  # staged
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(out.iterdir()) == []  # no staging folder, and no partial file
