"""A tiny two-question assignment in nbgrader format, for fast grading tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

AID, NB = "00_tiny", "tiny"


def _meta(gid, *, solution=False, grade=False, locked=False, points=0):
    meta = {"grade_id": gid, "solution": solution, "grade": grade, "locked": locked, "schema_version": 3}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def tiny_notebook() -> nbformat.NotebookNode:
    """double(x) worth 1 point and square(x) worth 2, each with a hidden test."""
    cells = [
        new_markdown_cell("# Tiny", metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        new_code_cell(
            'def double(x):\n    """Return 2 x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION',
            metadata=_meta("double", solution=True),
        ),
        new_code_cell(
            "assert double(3) == 6, 'double(3) should be 6'\nprint('double: ok')\n"
            "### BEGIN HIDDEN TESTS\nassert double(-1.5) == -3.0, 'hidden: double(-1.5)'\n### END HIDDEN TESTS",
            metadata=_meta("test_double", grade=True, locked=True, points=1),
        ),
        new_code_cell(
            'def square(x):\n    """Return x squared."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION',
            metadata=_meta("square", solution=True),
        ),
        new_code_cell(
            "assert square(3) == 9, 'square(3) should be 9'\n"
            "### BEGIN HIDDEN TESTS\nassert square(-4) == 16, 'hidden: square(-4)'\n### END HIDDEN TESTS",
            metadata=_meta("test_square", grade=True, locked=True, points=2),
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_tiny_source(root: Path) -> Path:
    """Write root/<AID>/<NB>.ipynb; returns root (a source folder like assignments/)."""
    path = root / AID / f"{NB}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(tiny_notebook(), path)
    return root
