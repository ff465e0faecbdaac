r"""The LaTeX report: derivations and their check results → an appendix.

`write_report` writes, under ``out``:

* ``appendix-body.tex``: the sections only, for ``\input`` into a paper (after
  ``\begin{document}``);
* ``pricesym.sty``: every package and macro the body needs, so a paper only adds
  ``\usepackage{pricesym}``;
* ``appendix.tex``: a complete document (title, contents, an introduction on how
  results were verified, a summary, then the same sections inlined);
* ``figures/<name>-<i>.pdf`` (``/`` in the name as ``_``) from each derivation's
  figure functions; the folder belongs to the report and is replaced as a whole,
  so no figure of an earlier, larger report stays behind;
* ``appendix.pdf`` with ``pdf=True``, compiled by ``latexmk`` (TeX Live).

Everything is built in a staging folder inside ``out`` and moved into place
with `os.replace`, so a failure (a figure that raises, a LaTeX error) leaves the
previous files as they were and no partial one. The staging folder
(``.appendix-<pid>-…``) is removed on every exit, SIGTERM included; one that a
killed run (SIGKILL) left is removed by the next run. An ``out`` under a file or
on a read-only folder is refused before anything else (`check_out`). The ``.tex`` text depends only
on the derivations and results: no dates, no absolute paths, no set order, so
the same seed gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._check.results import CheckReport
from .._derivation.derivation import Derivation
from .._errors import ReportError
from .document import figure_file, render_body, render_document, style
from .model import reason

__all__ = ["ReportFiles", "write_report", "check_out", "require_tex", "INSTALL_TEX", "log_excerpt"]

INSTALL_TEX = "apt-get install texlive-latex-base texlive-latex-recommended latexmk"
_COMPILE_TIMEOUT = 300


@dataclasses.dataclass(frozen=True, slots=True)
class ReportFiles:
    """Paths written by `write_report` (``pdf`` is None unless ``pdf=True``)."""

    tex: Path
    body: Path
    sty: Path
    figures: tuple[Path, ...] = ()
    pdf: Path | None = None


# ----------------------------------------------------------------------------- writing


def _validate(derivations, results) -> list[Derivation]:
    if isinstance(derivations, Derivation):
        derivations = [derivations]
    derivations = list(derivations)
    if not derivations:
        raise ReportError("`derivations` is empty: give at least one derivation to report.")
    for d in derivations:
        if not isinstance(d, Derivation):
            raise ReportError(f"`derivations` must hold `ps.Derivation`s, got {d!r}.")
    names = [d.name for d in derivations]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ReportError(f"`derivations` lists {', '.join(f'`{n}`' for n in twice)} more than once.")
    if not isinstance(results, Mapping):
        raise ReportError(f"`results` must map derivation names to `CheckReport`s, got {results!r}.")
    for key, r in results.items():
        if not isinstance(r, CheckReport):
            raise ReportError(f"`results[{key!r}]` must be a `CheckReport` (from `Derivation.check()`), got {r!r}.")
    return derivations


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _figures(derivations: Sequence[Derivation], results, staging: Path) -> list[str]:
    written = []
    for d in derivations:
        for i, fig in enumerate(d.figures, 1):
            rel = figure_file(d.name, i)
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fig(path, results.get(d.name))
            except Exception as exc:
                raise ReportError(f"figure {i} of `{d.name}` failed: {reason(exc)}") from exc
            if not path.is_file() or path.stat().st_size == 0:
                raise ReportError(f"figure {i} of `{d.name}` wrote nothing at the path it was given ({rel}).")
            written.append(rel)
    return written


def write_report(derivations: Sequence[Derivation], results: Mapping[str, CheckReport], out: str | Path, *,
                 pdf: bool = False, title: str = "Derivations and their numerical verification",
                 level: str = "section", names: bool = True, width: float = 6.5) -> ReportFiles:
    """Write ``out/appendix.tex`` (complete document), ``out/appendix-body.tex``
    (fragment), ``out/pricesym.sty``, figures, and with ``pdf=True``
    ``out/appendix.pdf`` (latexmk). ``level``: the heading of each derivation
    (section, subsection, subsubsection); ``names=False`` leaves out catalogue names;
    ``width``: the paper's text width in inches, which formulas are broken to fit.

    ``results`` maps derivation names to their `CheckReport`s (a missing name is
    reported as not checked). Raises `ReportError` when TeX Live is missing
    (``pdf=True``) or the document does not compile; then no file under ``out``
    has changed."""
    derivations = _validate(derivations, results)
    if pdf:
        require_tex()
    out = check_out(out)
    body = render_body(derivations, results, level=level, names=names, width=width)
    document = render_document(derivations, results, title=title, body=body)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale(out)
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=out))
    except OSError as exc:
        raise ReportError(f"cannot write into `out` {str(out)!r}: {exc.strerror or exc}; choose a writable folder.") from None
    with _terminate_cleanly():
        try:
            _write(staging / "appendix-body.tex", body)
            _write(staging / "pricesym.sty", style())
            _write(staging / "appendix.tex", document)
            figures = _figures(derivations, results, staging)
            if pdf:
                _compile(staging)
            # the figures folder is the report's own: replaced as a whole, so that no figure of an
            # earlier, larger report stays behind
            if (out / "figures").is_dir():
                os.replace(out / "figures", staging / "old-figures")
            if figures:
                os.replace(staging / "figures", out / "figures")
            moved = [out / rel for rel in figures]
            os.replace(staging / "pricesym.sty", out / "pricesym.sty")
            os.replace(staging / "appendix-body.tex", out / "appendix-body.tex")
            os.replace(staging / "appendix.tex", out / "appendix.tex")
            if pdf:
                os.replace(staging / "appendix.pdf", out / "appendix.pdf")
        except OSError as exc:
            raise ReportError(f"cannot write the report into {str(out)!r}: {exc.strerror or exc}.") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ReportFiles(tex=out / "appendix.tex", body=out / "appendix-body.tex", sty=out / "pricesym.sty",
                       figures=tuple(moved),
                       pdf=out / "appendix.pdf" if pdf else None)


_STAGING = ".appendix-"
"""Prefix of the staging folders inside ``out``: ``.appendix-<pid>-<random>``."""


def require_tex() -> None:
    """`ReportError` unless latexmk and pdflatex (TeX Live) are installed."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        raise ReportError(f"`--pdf` needs latexmk and pdflatex (TeX Live), which were not found; install them "
                          f"(`sudo {INSTALL_TEX}`, or `bash .ci/install-tex` in the repository) or leave out --pdf "
                          "to write the .tex only.")


def check_out(out: str | Path) -> Path:
    """``out`` as a Path, if a report can be written there: not a file, not under a
    file, and the folder (or the nearest one that exists) writable. Changes nothing,
    so that the command line can ask before running the checks."""
    try:
        path = Path(out)
    except TypeError:
        raise ReportError(f"`out` must be a folder path, got {type(out).__name__} {out!r:.60}.") from None
    if path.exists() and not path.is_dir():
        raise ReportError(f"`out` must be a folder, but {str(path)!r} is a file.")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ReportError(f"`out` {str(path)!r} is under {str(existing)!r}, which is a file; choose a folder.")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise ReportError(f"`out` {str(path)!r} cannot be written: {str(existing)!r} is read-only; choose a writable folder.")
    return path


def _remove_stale(out: Path) -> None:
    """Staging folders that a killed run (SIGKILL, a power cut) left in ``out``: those
    of a process that no longer runs (or, for older names without a process id, more
    than an hour old)."""
    for folder in out.glob(f"{_STAGING}*"):
        if not folder.is_dir():
            continue
        pid = folder.name[len(_STAGING):].partition("-")[0]
        if pid.isdigit():
            if int(pid) == os.getpid() or _running(int(pid)):
                continue
        elif time.time() - folder.stat().st_mtime < 3600:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def _terminate_cleanly():
    """SIGTERM while the report is staged: end as if interrupted, so that the staging
    folder is removed (and latexmk stopped) before the process exits with 143."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield  # someone else handles SIGTERM here
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _compile(folder: Path) -> None:
    """latexmk in ``folder``; `ReportError` quoting the LaTeX log on failure."""
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", "0")  # pdfTeX then writes fixed dates and IDs
    env.setdefault("FORCE_SOURCE_DATE", "1")
    command = ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "appendix.tex"]
    try:
        run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, errors="replace",
                             timeout=_COMPILE_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ReportError(f"latexmk did not finish within {_COMPILE_TIMEOUT} s; the .tex may loop.") from None
    except OSError as exc:
        raise ReportError(f"latexmk could not be started ({exc}); install TeX Live (`{INSTALL_TEX}`).") from None
    target = folder / "appendix.pdf"
    if run.returncode == 0 and target.is_file() and target.stat().st_size > 0:
        return
    raise ReportError("LaTeX could not compile the report:\n" + log_excerpt(folder, run.stdout + run.stderr))


def log_excerpt(folder: Path, output: str = "") -> str:
    """The error lines of ``appendix.log`` (lines starting with "!" and the line
    after), and the ``appendix.tex`` line each points at."""
    log = folder / "appendix.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
    source = (folder / "appendix.tex").read_text(encoding="utf-8").splitlines()
    quoted: list[str] = []
    for i, line in enumerate(lines):
        if not line.startswith("!"):
            continue
        quoted.extend(lines[i:i + 2])
        for after in lines[i + 1:i + 12]:
            m = re.match(r"l\.(\d+)", after)
            if m:
                n = int(m[1])
                if 0 < n <= len(source):
                    quoted.append(f"appendix.tex line {n}: {source[n - 1].strip()}")
                break
        if len(quoted) > 12:
            break
    if not quoted:
        quoted = [ln for ln in output.strip().splitlines()[-15:]]
    return "\n".join(quoted)
