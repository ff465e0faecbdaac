"""MkDocs hook: the catalogue, one page per topic, rendered from the registry.

Each entry shows its title, stable name, the docstring (closed form, assumptions,
references), the result as LaTeX, the assumptions and every check with its
reference and the reason for its tolerance. Nothing here is written by hand: a new
entry appears when it is registered."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from mkdocs.structure.files import File

_MATH_BLOCK = re.compile(r"^(\s*)\.\. math::\s*(.*)$")


def _markdown(doc: str) -> str:
    """The docstring's reStructuredText subset as Markdown with MathJax."""
    lines = doc.splitlines()
    out, i = [], 0
    while i < len(lines):
        m = _MATH_BLOCK.match(lines[i])
        if m:
            indent, body = len(m[1]), [m[2]] if m[2].strip() else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            out.append("\\[" + " ".join(b for b in body if b) + "\\]")
            continue
        out.append(lines[i])
        i += 1
    text = "\n".join(out)
    text = re.sub(r":math:`([^`]*)`", lambda m: "\\(" + m[1] + "\\)", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _inline(text: str) -> str:
    return re.sub(r"\$([^$]+)\$", lambda m: "\\(" + m[1] + "\\)", text)


def _entry(d) -> str:
    import pricesym as ps

    lines = [f"## {d.title}", "", f"Stable name: `{d.name}`", ""]
    doc = d.doc.split("\n", 1)[1].strip() if "\n" in d.doc else ""
    lines += [_markdown(doc), "", "**Result.**", ""]
    for left, right in d.equations():
        lines.append("\\[" + (f"{left} = {right}" if left else right) + "\\]")
    if d.observables:
        lines.append("where " + ", ".join(f"\\({ps.latex(s)} = {ps.latex(e)}\\)" for s, e in d.observables.items()))
    if d.assumptions:
        lines += ["", "**Assumptions.**", ""] + [f"- {_inline(a)}" for a in d.assumptions]
    lines += ["", "**Checks.**", "", "| check | method | reference | tolerance (reason) |", "|---|---|---|---|"]
    for c in d.checks:
        cells = [c.label, c.method, _inline(c.describe), _inline(c.tolerance)]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    if d.references:
        lines += ["", "**References.**", ""] + [f"1. {_inline(r)}" for r in d.references]
    return "\n".join(lines) + "\n"


def on_files(files, config):
    import pricesym as ps

    catalogue = ps.load()
    topics: dict[str, list] = defaultdict(list)
    for entry in catalogue.entries():
        topics[Path(entry.source).stem].append(entry.name)
    index = ["# The catalogue", "", "Every entry is registered in `derivations/` through the public API, checked by an "
             "independent numeric reference, and rendered here from the registry.", ""]
    for topic, names in sorted(topics.items()):
        page = [f"# {topic.replace('_', ' ').capitalize()}", ""]
        page += [_entry(catalogue[n]) for n in names]
        files.append(File.generated(config, f"catalogue/{topic}.md", content="\n".join(page)))
        index.append(f"- [{topic.replace('_', ' ')}]({topic}.md): " + ", ".join(f"`{n}`" for n in names))
    files.append(File.generated(config, "catalogue/index.md", content="\n".join(index) + "\n"))
    return files
