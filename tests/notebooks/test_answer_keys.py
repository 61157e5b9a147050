"""Are the answer keys in step with their sources, and the sources with the declarations?

One source of truth: a source notebook's prose and examples (assignments/), the exercises'
declarations (course/exercises.py) and the reference answers (solutions/*.py) are written by
hand; the graded cells, the solution cells (`autograder.sync`) and the answer keys
(solutions/<assignment>/*.ipynb) are generated from them by `python -m autograder
solutions`. nbval (see pyproject.toml) re-runs the answer keys.
"""

from __future__ import annotations

import difflib
import inspect
import textwrap

import pytest
from notebook_tools import (
    ANSWER_KEYS,
    SOURCES,
    cells_signature,
    is_solution_cell,
    nbgrader_meta,
    notebook_id,
    read,
    reference_objects,
    rstrip_lines,
)

from autograder.paths import ASSIGNMENTS, solution_path
from autograder.sync import synced

REFERENCES = reference_objects()
#: (source notebook, grade_id) of every solution cell named after a reference function or class
EXERCISE_CELLS = [
    (source, nbgrader_meta(cell)["grade_id"])
    for source in SOURCES
    for cell in read(source).cells
    if is_solution_cell(cell) and nbgrader_meta(cell).get("grade_id") in REFERENCES
]


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_answer_key_is_up_to_date(source):
    """Does the answer key have exactly the cells (type, source, metadata) of its source notebook?"""
    key = solution_path(source)
    rebuild = f"run `python -m autograder solutions {source.parent.name}` and commit {key.name}"
    assert key.exists(), f"no answer key {key}: {rebuild}"
    got, want = cells_signature(read(key)), cells_signature(read(source))
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        pytest.fail(
            f"{key} is out of date with {source} ({len(got)} vs {len(want)} cells, first "
            f"difference at cell {first}): {rebuild}"
        )


@pytest.mark.parametrize("key", ANSWER_KEYS, ids=notebook_id)
def test_answer_key_has_a_source(key):
    """Is every answer key the output of a source notebook that still exists?"""
    source = ASSIGNMENTS / key.parent.name / key.name
    assert source.exists(), f"{key} has no source {source}: delete it or restore the source"


def test_exercise_cells_are_found():
    """Does the single-source check below see some solution cells (rather than none by accident)?"""
    any_solution = any(is_solution_cell(c) for s in SOURCES for c in read(s).cells)
    assert EXERCISE_CELLS or not any_solution, (
        "no solution cell's grade_id names a function of the solutions package"
    )


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_generated_cells_are_in_sync(source):
    """Are the graded cells the declared checks, and the solution cells their references' source?"""
    nb = read(source)
    want = synced(nb)
    stale = [nbgrader_meta(a).get("grade_id") for a, b in zip(nb.cells, want.cells, strict=True)
             if (a.source, a.metadata) != (b.source, b.metadata)]
    assert not stale, (f"{notebook_id(source)}: cells {stale} differ from the declarations or references: "
                       f"run `python -m autograder solutions {source.parent.name}` and commit")


@pytest.mark.parametrize(
    ("source", "grade_id"), EXERCISE_CELLS, ids=[f"{notebook_id(s)}:{g}" for s, g in EXERCISE_CELLS]
)
def test_solution_cell_is_the_reference(source, grade_id):
    """Is the solution cell the reference's source line for line (markers included)?"""
    objects = REFERENCES[grade_id]
    assert len(objects) == 1, f"{grade_id} is defined in several solutions modules: {objects}"
    (cell,) = [c for c in read(source).cells if nbgrader_meta(c).get("grade_id") == grade_id]
    got = rstrip_lines(cell.source)
    want = rstrip_lines(textwrap.dedent(inspect.getsource(objects[0])))
    if got != want:
        diff = "\n".join(difflib.unified_diff(
            want.split("\n"), got.split("\n"),
            f"{objects[0].__module__}.{grade_id}", f"{notebook_id(source)} cell {grade_id}",
            lineterm="",
        ))
        pytest.fail(f"the solution cell has drifted from its reference:\n{diff}")
