"""The `pricesym` command line.

    pricesym list   [QUERY] [--from PATH ...] [--json]
    pricesym show   NAME [--from PATH ...] [--latex] [--json] [--at SYMBOL=VALUE ...]
    pricesym check  [NAME ... | --all] [--from PATH ...] [--instances N] [--seed S] [--json]
    pricesym report [NAME ... | --all] [--from PATH ...] --out DIR [--pdf]
    pricesym verify LHS RHS [--assume ASSUMPTION ...] [--latex] [--json]

Exit codes (`EXIT`): 0 success (every check passed; expressions equal), 1 a check
failed or the expressions differ, 2 bad input, 3 `verify` could not decide, 70 an
internal error (a bug: please report it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._errors import PricesymError
from .commands import COMMANDS

__all__ = ["main", "EXIT"]

#: Exit codes, a contract: tests and scripts rely on them.
EXIT = {"ok": 0, "failed": 1, "bad input": 2, "undecided": 3, "internal error": 70, "interrupted": 130}

EXAMPLES = {
    "list": "examples:\n  pricesym list\n  pricesym list fixation\n  pricesym list --from my_derivations.py --json",
    "show": "examples:\n  pricesym show bernoulli/ntvar\n  pricesym show fixation/moran --json\n"
            "  pricesym show fixation/moran --at N=10 r=1.1",
    "check": "examples:\n  pricesym check bernoulli/ntvar\n  pricesym check --all --seed 1 --json\n"
             "  pricesym check --from my_derivations.py --all",
    "report": "examples:\n  pricesym report --all --out build --pdf\n  pricesym report bernoulli/ntvar --out build",
    "verify": 'examples:\n  pricesym verify "ntvar(sigmoid(b), [b])" "p**2*(1-p)**2" --assume "p = sigmoid(b)"\n'
              '  pricesym verify "diff(tanh(x), x)" "1 - tanh(x)**2"\n'
              '  pricesym verify --latex "e^{x} e^{y}" "e^{x+y}"',
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
                   help="evaluate the closed form numerically at these values")

    p = command("check", "Check closed forms against independent numeric references.")
    add_selection(p)
    add_from(p)
    p.add_argument("--instances", type=int, metavar="N", help="random instances per check (default: each check's own)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed for instances and simulations (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON record per check")

    p = command("report", "Write a verified LaTeX appendix (and PDF with --pdf).")
    add_selection(p)
    add_from(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (appendix.tex, appendix-body.tex)")
    p.add_argument("--pdf", action="store_true", help="compile appendix.pdf with latexmk")
    p.add_argument("--instances", type=int, metavar="N", help="random instances per check")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (the same seed gives the same .tex)")

    p = command("verify", "Decide whether two expressions are equal (symbolically, then on random instances).")
    p.add_argument("lhs", metavar="LHS")
    p.add_argument("rhs", metavar="RHS")
    p.add_argument("--assume", action="append", default=[], metavar="ASSUMPTION",
                   help='e.g. "p = sigmoid(b)" or "0 < p < 1" (repeatable)')
    p.add_argument("--latex", action="store_true", help="read LHS and RHS as LaTeX")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--instances", type=int, default=200, metavar="N", help="random instances (default 200)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default 0)")
    return top


def main(argv: Sequence[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
