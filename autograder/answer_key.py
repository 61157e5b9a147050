"""Build the executed solution notebooks, ``solutions/<assignment>/<notebook>.ipynb``.

They are the source notebooks (answers and hidden tests included) run top to bottom,
with their outputs kept, so that nbval can check in CI that they still reproduce. The
sources' generated cells (checks, solution cells) are brought in step first.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.paths import solution_path, source_notebooks
from autograder.sync import sync
from course.check import RUNNING

#: Longest a solution notebook may take to run, in seconds (budget: under 60 s).
TIMEOUT = 120


def execute(source: Path, timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel, in its own folder, and return it with outputs."""
    os.environ[RUNNING] = "1"  # the notebook's "check this notebook" cell stays quiet (the kernel inherits it)
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
    )
    client.execute()
    for cell in nb.cells:
        # run times and dates only make diffs noisy
        cell.metadata.pop("execution", None)
    return nb


def build(sources: list[Path] | None = None) -> list[Path]:
    """Bring each source notebook in step with the declarations and the answer key
    (`autograder.sync`), execute it and write its answer key; and the misconceptions'
    fingerprints the student package ships (course/fingerprints.json); returns the written paths."""
    from solutions.bugs import write_fingerprints

    written = [write_fingerprints()]
    for source in sources or source_notebooks():
        if sync(source):
            written.append(source)
        out = solution_path(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(execute(source), out)
        written.append(out)
    return written
