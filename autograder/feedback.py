"""Per-student feedback: the graded notebook as HTML, with scores and without hidden tests.

nbgrader's own feedback shows hidden tests (its issues #917, #1363); here the hidden part
of every test cell is cut out, and a failing test shows only its error message, never a
traceback (which would quote the hidden lines).

The page is rendered by `autograder.render`: markdown with its formulas as MathML, code,
outputs, all through one sanitizer (outputs and added cells are untrusted).
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import nbformat

from autograder import render
from autograder.model import NotebookResult
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
"""


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
        body = render.notebook(for_student(graded))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(t.notebook)} feedback</title>"
        f"<style>{_CSS}{render.CSS}</style></head><body>{_scores_table(res)}{body}</body></html>"
    )
    atomic_write(path, page)
    return path
