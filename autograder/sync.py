"""Source notebooks made from the declarations and the answer key, never kept equal by hand.

Two kinds of cells of a source notebook are generated (``python -m autograder solutions``
runs this before executing the answer keys; a test fails when a notebook is not in sync):

- a graded cell whose grade_id is a declared question (``test_<name>``, see
  `course.exercises`) holds the declared check, visible part and hidden part, and the
  declaration's points;
- a solution cell whose grade_id names a reference of the answer key (``solutions``) holds
  that reference's source, nbgrader's solution markers included (they are comments in
  the reference module, around what students write).

Everything else in a notebook (its prose, examples, pictures, the stub students see) is the
instructor's.
"""

from __future__ import annotations

import inspect
import textwrap
import zlib
from pathlib import Path

import nbformat

from autograder.restore import grade_id, is_answer, is_test
from course.exercises import EXERCISES, Exercise, Training

#: How many other seeds the hidden part of a check draws (the same kinds of inputs).
HIDDEN_SEEDS = 2


def hidden_seeds(ex: Exercise) -> list[int]:
    """The seeds of an exercise's hidden tests: fixed, other than the visible check's 0."""
    base = zlib.crc32(ex.name.encode()) % 90_000 + 10_000
    return [base + i for i in range(HIDDEN_SEEDS)]


def test_parts(ex: Exercise) -> tuple[str, str]:
    """(visible check, hidden tests) of an exercise's graded cell; the hidden part may be "".

    The hidden tests are the visible check on other seeds: the same kinds of inputs the
    sealed check draws per student and compares with the reference (`autograder.sealed`).
    """
    visible = f"check({ex.name!r}, {ex.function})"
    if isinstance(ex.convention, Training):  # a training run is slow: its sealed check trains again
        return visible, ""
    seeds = ", ".join(str(s) for s in hidden_seeds(ex))
    return visible, ("### BEGIN HIDDEN TESTS\n# the same kinds of inputs, drawn from other seeds\n"
                     f"for seed in ({seeds}):\n    check({ex.name!r}, {ex.function}, seed=seed, show=False)\n"
                     "### END HIDDEN TESTS")


def test_source(ex: Exercise) -> str:
    """The code of an exercise's graded cell: the visible check, then the hidden tests."""
    visible, hidden = test_parts(ex)
    return f"{visible}\n\n{hidden}" if hidden else visible


def solution_source(name: str) -> str | None:
    """The reference's source (markers included), or None if the answer key has none by that name."""
    import solutions

    try:
        found = solutions.reference(name)
    except KeyError:
        return None
    return textwrap.dedent(inspect.getsource(found)).rstrip("\n")


def synced(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with its generated cells regenerated (a copy; nb is not changed)."""
    nb = nbformat.from_dict(nb)
    by_question = {e.question: e for e in EXERCISES.values()}
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or gid is None:
            continue
        if is_test(cell) and gid in by_question:
            ex = by_question[gid]
            cell.source = test_source(ex)
            cell.metadata["nbgrader"]["points"] = int(ex.total) if ex.total.is_integer() else ex.total
        elif is_answer(cell) and (source := solution_source(gid)) is not None:
            cell.source = source
    return nb


def sync(path: Path) -> bool:
    """Regenerate a source notebook's generated cells in place; True if it changed."""
    nb = nbformat.read(path, as_version=4)
    new = synced(nb)
    if nbformat.writes(new) == nbformat.writes(nb):
        return False
    nbformat.write(new, path)
    return True
