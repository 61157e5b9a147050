"""Per-student feedback: the graded notebook as HTML, with scores and without hidden tests.

nbgrader's own feedback shows hidden tests (its issues #917, #1363); here the hidden part
of every test cell is cut out, and a failing test shows only its error message, never a
traceback (which would quote the hidden lines).

HTML from the notebook (markdown cells, HTML outputs of a student's code) is sanitized,
as outputs are untrusted, with an allow-list of our own: nbconvert's (its
``sanitize_html``) has no headings and no paragraphs, so every markdown cell would reach
the student as its tags in plain text (jupyter/nbconvert#2016).
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import bleach
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from nbconvert import HTMLExporter

from autograder.grading import NotebookResult
from autograder.outputs import atomic_write
from autograder.restore import is_test

HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.DOTALL)
#: Characters of text output shown per output in feedback (the grader keeps more).
SHOWN_OUTPUT = 5_000

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table.scores { border-collapse: collapse; margin-bottom: 2rem; }
table.scores td, table.scores th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
div.input_area pre, div.output_area pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; }
div.cell { margin: 1rem 0; }
"""


_TAGS = [
    *bleach.ALLOWED_TAGS, "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "span",
    "pre", "code", "kbd", "samp", "var", "sub", "sup", "small", "u", "s", "del", "ins", "mark",
    "dl", "dt", "dd", "details", "summary", "table", "caption", "thead", "tbody", "tfoot", "tr",
    "th", "td", "img",
]


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Attributes kept by the sanitizer: no event handlers, no scripts by any URL."""
    if name in ("class", "id", "title", "style"):
        return True
    if tag == "a" and name == "href":
        return not value.lower().startswith("data:")  # bleach itself keeps only http(s), mailto, data
    if tag == "img":
        # an embedded raster image only: an svg can carry script, a remote one leaks the reader
        return name in ("alt", "width", "height") or (
            name == "src" and value.startswith(("data:image/png", "data:image/jpeg", "data:image/gif")))
    return tag in ("th", "td") and name in ("colspan", "rowspan", "align")


_CSS_SANITIZER = CSSSanitizer(allowed_css_properties=[
    "color", "background-color", "font-weight", "font-style", "text-align", "text-decoration"])


def clean_html(element) -> str:
    """The sanitizer for every HTML fragment of the page (nbconvert's ``clean_html`` filter)."""
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=_TAGS, attributes=_allowed_attribute,
                        protocols=["http", "https", "mailto", "data"], css_sanitizer=_CSS_SANITIZER)


def for_student(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a graded notebook that is safe to show its student."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if is_test(cell):
            cell.source = HIDDEN.sub("", cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        for out in cell.get("outputs", []):
            text = out.get("text")
            if isinstance(text, str) and len(text) > SHOWN_OUTPUT:
                out["text"] = text[:SHOWN_OUTPUT] + f"\n[... {len(text) - SHOWN_OUTPUT:,} more characters not shown]\n"
    return nb


def _scores_table(res: NotebookResult) -> str:
    total = sum(r.score for r in res.rows)
    possible = sum(r.max_score for r in res.rows)
    lines = [
        f"<h1>{html.escape(res.task.assignment)} / {html.escape(res.task.notebook)}</h1>",
        f"<p>Student: <b>{html.escape(res.task.student)}</b>. Score: <b>{total:g} / {possible:g}</b></p>",
        "<table class='scores'><tr><th>question</th><th>score</th><th>status</th><th>message</th></tr>",
    ]
    for r in res.rows:
        cls = "ok" if r.status == "ok" else "bad"
        lines.append(
            f"<tr><td>{html.escape(r.question)}</td><td>{r.score:g} / {r.max_score:g}</td>"
            f"<td class='{cls}'>{r.status}</td><td>{html.escape(r.message)}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def write_feedback(out: Path, res: NotebookResult) -> Path:
    """Write feedback/<student>/<assignment>/<notebook>.html (and the autograded notebook)."""
    t = res.task
    path = out / "feedback" / t.student / t.assignment / f"{t.notebook}.html"
    body = ""
    if res.graded is not None:
        graded = nbformat.from_dict(res.graded)
        auto = out / "autograded" / t.student / t.assignment / f"{t.notebook}.ipynb"
        atomic_write(auto, nbformat.writes(graded))
        exporter = HTMLExporter(template_name="basic", sanitize_html=True, filters={"clean_html": clean_html})
        body, _ = exporter.from_notebook_node(for_student(graded))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(t.notebook)} feedback</title>"
        f"<style>{_CSS}</style></head><body>{_scores_table(res)}{body}</body></html>"
    )
    atomic_write(path, page)
    return path
