"""The `pricesym` command line.

    pricesym list   [QUERY] [--from PATH ...] [--json]
    pricesym show   NAME [--from PATH ...] [--latex] [--json] [--at SYMBOL=VALUE ...] [--timeout S]
    pricesym check  [NAME ... | --all] [--from PATH ...] [--instances N] [--seed S] [--jobs N] [--json]
    pricesym report [NAME ... | --all] [--from PATH ...] --out DIR [--pdf] [--jobs N]
    pricesym verify LHS RHS [--assume ASSUMPTION ...] [--latex] [--json] [--timeout S]

Exit codes (`EXIT`), a contract: 0 success (every check passed; expressions equal),
1 a check failed or the expressions differ, 2 bad input (also an input too large
for the size limits, or a `show --at` that ran out of time), 3 `verify` could not
decide (also when its time budget ran out), 70 an internal error (a bug: please
report it), 130 interrupted. `verify` and `show --at` end within ``--timeout``
seconds (default 30); expressions may start with ``-`` (``verify "-x+1" "1-x"``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence

from .._cache import cache_limit, prune
from .._errors import PricesymError
from .._verify.budget import DEFAULT_TIMEOUT
from .commands import COMMANDS

__all__ = ["main", "run", "EXIT"]

#: Exit codes, a contract: tests and scripts rely on them.
EXIT = {"ok": 0, "failed": 1, "bad input": 2, "undecided": 3, "internal error": 70, "interrupted": 130}

EXAMPLES = {
    "list": "examples:\n  pricesym list\n  pricesym list fixation\n  pricesym list --from my_derivations.py --json",
    "show": "examples:\n  pricesym show bernoulli/ntvar\n  pricesym show fixation/moran --json\n"
            "  pricesym show fixation/moran --at N=10 r=1.1",
    "check": "examples:\n  pricesym check bernoulli/ntvar\n  pricesym check --all --seed 1 --json\n"
             "  pricesym check --from my_derivations.py --all",
    "mutate": "examples:\n  pricesym mutate bernoulli/reinforce\n  pricesym mutate --all --delta 0.01 --json",
    "report": "examples:\n  pricesym report --all --out build --pdf\n  pricesym report bernoulli/ntvar --out build\n"
              "  pricesym report fixation/moran --out paper/appendix --section-level subsection --no-names",
    "verify": 'examples:\n  pricesym verify "ntvar(sigmoid(b), [b])" "p**2*(1-p)**2" --assume "p = sigmoid(b)"\n'
              '  pricesym verify "diff(tanh(x), x)" "1 - tanh(x)**2"\n'
              '  pricesym verify --latex "e^{x} e^{y}" "e^{x+y}"\n'
              '  pricesym verify "exp(x)" "1 + x + x**2/2" --assume "0 < x < 1e-7"   # not equal: x**3/6 is found\n'
              '  pricesym verify "-x+1" "1-x" --timeout 10\n\n'
              'The verdict says how it was reached: proved (lhs - rhs reduces to 0), exactly (rational\n'
              'arithmetic at the instances), or numerically (mpmath, the precision grown until the\n'
              'difference settles); instances include the edges of the assumptions (near each bound,\n'
              'both signs near 0, large magnitudes). Exit codes: 0 equal, 1 not equal (with a\n'
              'counterexample), 2 bad input, 3 undecided (also when --timeout runs out).',
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="pricesym",
        description="Symbolic derivations of Price's equation for neural networks and of natural "
        "selection as a gradient method; every closed form is cross-checked numerically by an "
        "independent route (JAX autodiff of the model, or simulation of the process).",
        epilog="Every command sees the catalogue installed with pricesym; --from adds your own files or "
        "folders. Exit codes: 0 ok, 1 a check failed / not equal, 2 bad input, 3 verify undecided, "
        "70 internal error.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, help_):
        return sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def add_from(p):
        p.add_argument("--from", dest="sources", action="append", metavar="PATH",
                       help="add a derivation file or folder to the catalogue (repeatable)")

    def add_selection(p):
        p.add_argument("names", nargs="*", metavar="NAME", help="derivation names (see `pricesym list`)")
        p.add_argument("--all", action="store_true", help="every loaded derivation")

    p = command("list", "List the derivations by stable name and title.")
    p.add_argument("query", nargs="*", metavar="QUERY", help="words to look for in names, titles and docstrings")
    add_from(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = command("show", "Show one derivation: assumptions, steps, closed form.")
    p.add_argument("name", metavar="NAME")
    add_from(p)
    p.add_argument("--latex", action="store_true", help="print the closed form as LaTeX")
    p.add_argument("--json", action="store_true", help="print one JSON document (result as SymPy srepr)")
    p.add_argument("--at", nargs="+", default=[], metavar="SYMBOL=VALUE",
                   help="evaluate the closed form numerically at these values (inside the entry's domain)")
    add_timeout(p, "exit 2")

    p = command("check", "Check closed forms against independent numeric references.")
    add_selection(p)
    add_from(p)
    p.add_argument("--instances", type=int, metavar="N", help="random instances per check (default: each check's own)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed for instances and simulations (default 0)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="derivations checked at once, in worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--json", action="store_true", help="print one JSON record per check")

    p = command("mutate", "Which deliberately wrong closed forms (1 % changes, dropped terms) each check catches.")
    add_selection(p)
    add_from(p)
    p.add_argument("--delta", type=float, default=0.01, metavar="D", help="relative change of constants and terms (default 0.01)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the references (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = command("report", "Write a verified LaTeX appendix (and PDF with --pdf).")
    add_selection(p)
    add_from(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (appendix.tex, appendix-body.tex)")
    p.add_argument("--pdf", action="store_true", help="compile appendix.pdf with latexmk")
    p.add_argument("--instances", type=int, metavar="N", help="random instances per check")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (the same seed gives the same .tex)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="derivations checked at once, in worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--section-level", choices=("section", "subsection", "subsubsection"), default="section",
                   help="heading level of each derivation (default section; subsection inside a paper's appendix)")
    p.add_argument("--no-names", action="store_true", help="leave out the catalogue names (for a paper)")
    p.add_argument("--width", type=float, default=6.5, metavar="IN",
                   help="the paper's text width in inches, formulas are broken to fit (default 6.5; 3.3 for a column)")

    p = command("verify", "Decide whether two expressions are equal: a proof, or instances decided without rounding.")
    p.add_argument("lhs", metavar="LHS")
    p.add_argument("rhs", metavar="RHS")
    p.add_argument("--assume", action="append", default=[], metavar="ASSUMPTION",
                   help='e.g. "p = sigmoid(b)" or "0 < p < 1" (repeatable)')
    p.add_argument("--latex", action="store_true", help="read LHS and RHS as LaTeX")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--instances", type=int, default=200, metavar="N",
                   help="random instances (default 200); the domain's edges come on top")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default 0)")
    add_timeout(p, "undecided (exit 3)")
    return top


def add_timeout(p, then: str) -> None:
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"end within about S seconds, else {then} naming the stage that ran out (default {DEFAULT_TIMEOUT:g})")


_VERIFY_VALUES = ("--assume", "--instances", "--seed", "--timeout")
_VERIFY_FLAGS = ("--latex", "--json", "--help")


def _verify_argv(argv: Sequence[str]) -> list[str]:
    """``pricesym verify "-x+1" "1-x"``: an argument of `verify` that starts with ``-``
    but is not one of its options is an expression (argparse would read it as an
    option), so the expressions are moved after ``--``; option values go as
    ``--assume=...`` for the same reason (``--assume "-1 < x"``)."""
    options, expressions = [], []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            expressions += list(tokens)
            break
        name, equals, _ = token.partition("=")
        known = [o for o in (*_VERIFY_VALUES, *_VERIFY_FLAGS) if o.startswith(name)] if name.startswith("--") else []
        if token == "-h" or (len(known) == 1 and known[0] in _VERIFY_FLAGS and not equals):
            options.append(token)
        elif len(known) == 1 and known[0] in _VERIFY_VALUES:
            value = None if equals else next(tokens, None)
            options.append(token if value is None else f"{token}={value}")
        elif re.fullmatch(r"--[a-z][a-z-]*(=.*)?", token):
            options.append(token)  # an option argparse will name as unknown or ambiguous
        else:
            expressions.append(token)
    return [*options, "--", *expressions]


def main(argv: Sequence[str] | None = None, out=None) -> int:
    started = time.monotonic()
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        argv = ["verify", *_verify_argv(argv[1:])]
    args = _parser().parse_args(argv)
    args.started = started
    try:
        limit = cache_limit()
    except ValueError as exc:
        sys.stderr.write(f"pricesym: error: {exc}\n")
        return EXIT["bad input"]
    code = _command(args, out)
    try:
        prune(limit)  # keep the cache folder under its size (PRICESYM_CACHE_MB)
    except OSError:  # an unreadable cache folder: nothing to keep small
        pass
    return code


def _command(args, out) -> int:
    try:
        return COMMANDS[args.command](args, out)
    except PricesymError as exc:
        sys.stderr.write(f"pricesym: error: {exc}\n")
        return EXIT["bad input"]
    except BrokenPipeError:  # `pricesym list | head -1`: the reader has gone; end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT["ok"]
    except KeyboardInterrupt:
        sys.stderr.write("pricesym: interrupted\n")
        return EXIT["interrupted"]
    except Exception as exc:  # an internal error: one line, the traceback on request
        if os.environ.get("PRICESYM_DEBUG"):
            raise
        sys.stderr.write(f"pricesym: internal error: {type(exc).__name__}: {exc} "
                         "(set PRICESYM_DEBUG=1 for the traceback, and please report it)\n")
        return EXIT["internal error"]


def run() -> None:
    """The ``pricesym`` command: `main`, then the process ends at once.

    Everything a command writes is complete when `main` returns (files are replaced
    atomically, worker processes have stopped), so the interpreter's own shutdown, which
    frees every SymPy and JAX object one by one (about 1 s after a `check --all`), is
    skipped. `main` itself returns normally, for callers in Python."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that has gone, a closed stream: nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
