r"""A derivation's model rendered as LaTeX by latexify-py, with the vocabulary's
notation for its functions (its Python source when latexify cannot)."""

from __future__ import annotations

import ast
import inspect
import linecache
import re
import textwrap
from types import MappingProxyType

from .._symbolic.model import Model
from .._vocabulary import rows
from .text import check_math, escape, math

__all__ = ["model_latex", "render_model", "models", "reason"]


# ----------------------------------------------------------------------------- model (latexify)

# latexify prints unknown function names upright: the vocabulary's have notation
# (its classes' ``notation``), and a few operators have LaTeX commands.
_MODEL_FUNCTIONS = MappingProxyType({
    **{r"\mathrm{%s}" % name.replace("_", r"\_"): row.sympy.notation
       for row in rows() if getattr(row.sympy, "notation", "") for name in row.names},
    r"\mathrm{dot}": r"\operatorname{dot}",
    r"\mathrm{cosh}": r"\cosh",
    r"\mathrm{sinh}": r"\sinh",
})
_GREEK_NAMES = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)


def _subscript_digits(m: re.Match) -> str:
    # theta0 → θ_0, W1 → W_1 (latexify prints both upright as one word).
    name, digits = m[1], m[2]
    if name in _GREEK_NAMES:
        return "\\%s_{%s}" % (name, digits)
    if len(name) == 1:
        return "%s_{%s}" % (name, digits)
    return m[0]


def _subscript_word(m: re.Match) -> str:
    # theta_do → θ_do, x_0 → x_0; longer names (bernoulli_policy) stay words.
    name, sub = m[1], m[2]
    sub_tex = sub if len(sub) == 1 or sub.isdigit() else r"\mathrm{%s}" % sub
    if name in _GREEK_NAMES:
        return "\\%s_{%s}" % (name, sub_tex)
    if len(name) == 1:
        return "%s_{%s}" % (name, sub_tex)
    return m[0]


def _without_namespace(fn) -> object:
    """A copy of the model ``fn(np, ...)`` with the namespace argument dropped and
    ``np.f`` written ``f``, defined from source so latexify can read it back."""
    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef) or not node.args.args:
        raise ValueError("not a function of an array namespace")
    namespace = node.args.args[0].arg
    node.decorator_list = []
    node.args.args = node.args.args[1:]
    node.args.defaults, node.returns = [], None  # evaluated at definition time: not needed to print
    node.args.kw_defaults = [None] * len(node.args.kwonlyargs)
    for a in [*node.args.args, *node.args.kwonlyargs]:
        a.annotation = None

    class Unqualify(ast.NodeTransformer):
        def visit_Attribute(self, n):
            self.generic_visit(n)
            if isinstance(n.value, ast.Name) and n.value.id == namespace:
                return ast.copy_location(ast.Name(id=n.attr, ctx=n.ctx), n)
            return n

    tree = ast.fix_missing_locations(Unqualify().visit(tree))
    text = ast.unparse(tree) + "\n"
    filename = f"<pricesym model {fn.__name__}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict = {}
    exec(compile(text, filename, "exec"), scope)  # a def statement only: the body is not run
    return scope[node.name]


def model_latex(model: Model) -> str:
    """The model's definition as LaTeX (latexify-py); raises if latexify cannot."""
    import latexify

    tex = latexify.get_latex(_without_namespace(model.fn), use_math_symbols=True)
    if model.latex:  # the model's mathematical name in place of its Python name
        tex = tex.replace(r"\mathrm{%s}" % model.name.replace("_", r"\_"), model.latex, 1)
    for name, notation in _MODEL_FUNCTIONS.items():
        tex = tex.replace(name, notation)
    # latexify puts string subscripts (x["rho_G"]) raw into \textrm: escape them.
    tex = re.sub(r'\\textrm\{"?([^{}"]*)"?\}', lambda m: r"\textrm{%s}" % escape(m[1]), tex)
    tex = re.sub(r"\\mathrm\{([A-Za-z]+?)(\d+)\}", _subscript_digits, tex)
    return re.sub(r"\\mathrm\{([A-Za-z]+)\\_([A-Za-z0-9]+)\}", _subscript_word, tex)


def _verbatim(source: str, where: str) -> str:
    """Python source in a ``Verbatim`` block; Unicode typeset as mathematics."""
    specials = {"\\": r"\char92{}", "{": r"\char123{}", "}": r"\char125{}"}
    lines = []
    for line in source.rstrip().splitlines():
        out = []
        for ch in line:
            if ch in specials:
                out.append(specials[ch])
            elif ch.isascii():
                out.append(ch)
            else:
                out.append(r"\ensuremath{%s}" % math(ch, where))
        lines.append("".join(out))
    return "\\begin{Verbatim}[commandchars=\\\\\\{\\}]\n%s\n\\end{Verbatim}" % "\n".join(lines)


def render_model(model: Model, where: str) -> str:
    doc = inspect.getdoc(model.fn) or ""
    intro = escape(doc.strip().splitlines()[0], where) + " " if doc.strip() else ""
    try:
        tex = model_latex(model)
    except Exception as exc:  # noqa: BLE001 - any latexify failure falls back, and the text says so
        try:
            source = textwrap.dedent(inspect.getsource(model.fn))
        except (OSError, TypeError):
            return (intro + "latexify-py could not render the model \\texttt{%s} (%s), and its source "
                    "is not available." % (escape(model.name, where), escape(reason(exc), where)))
        return (intro + "latexify-py could not render the model \\texttt{%s} (%s); its Python source:\n%s"
                % (escape(model.name, where), escape(reason(exc), where), _verbatim(source, where)))
    check_math(tex, where)
    return intro + "\\begin{equation*}\n\\psfit{%s}\n\\end{equation*}" % tex  # shrunk to a narrow column


def reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def models(derivation) -> tuple[Model, ...]:
    m = derivation.model
    if m is None:
        return ()
    return tuple(m) if isinstance(m, (tuple, list)) else (m,)
