"""Is every student release safe to hand out: no answers, stubs that fail clearly, no hang?

The release is generated once per session by nbgrader's API (fixture `release_dir`).
"""

from __future__ import annotations

import json

import pytest
from nbgrader.validator import Validator
from notebook_tools import (
    RUN_BUDGET,
    SOURCES,
    course_config,
    is_graded_cell,
    normalized,
    notebook_id,
    read,
    released,
    run_notebook,
    secret_lines,
)

pytestmark = pytest.mark.slow

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: What a cell of an unanswered release may raise: the stub's own error, or a check's clear message.
STUB_ERROR = "NotImplementedError"
#: what a check says of an exercise whose stub still raises (course.exercises)
NOT_WRITTEN = "NotWrittenYet"


@pytest.fixture(scope="module")
def release_run(release_dir):
    """Run each released notebook once (errors allowed) and keep the result."""
    cache = {}

    def get(source):
        if source not in cache:
            cache[source] = run_notebook(released(release_dir, source))
        return cache[source]

    return get


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_release_leaks_no_answer(source, release_dir):
    """Is the release free of solution markers, hidden tests and lines of any reference solution?"""
    nb = read(released(release_dir, source))
    secrets = secret_lines(source)
    leaks = []
    for cell in nb.cells:
        text = cell.source + "\n" + json.dumps(cell.get("outputs", []))
        leaks += [f"cell {cell.get('id')}: marker {m!r}" for m in MARKERS if m in text]
        outputs = "\n".join(_output_text(out) for out in cell.get("outputs", []))
        lines = {normalized(line) for line in (cell.source + "\n" + outputs).split("\n")}
        leaks += [f"cell {cell.get('id')}: {line}   (from {origin})"
                  for line, origin in secrets.items() if line in lines]
    assert not leaks, f"the release of {notebook_id(source)} gives answers away:\n" + "\n".join(leaks)


def _output_text(output) -> str:
    """The text of a cell output, whatever its kind (stream, result, error)."""
    if "text" in output:
        return output["text"]
    if "data" in output:
        return str(output["data"].get("text/plain", ""))
    return "\n".join(output.get("traceback", []))


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_release_fails_validation(source, release_dir):
    """Does `nbgrader validate` fail the unanswered release on every graded cell, and only there?"""
    path = released(release_dir, source)
    graded = [c for c in read(path).cells if is_graded_cell(c)]
    results = Validator(config=course_config()).validate(str(path))
    assert set(results) <= {"failed"}, f"unexpected validation results: {sorted(results)}"
    failed = results.get("failed", [])
    assert len(failed) == len(graded), (
        f"{len(failed)} of {len(graded)} graded cells fail in the unanswered release: a test that "
        "passes without an answer gives free points"
    )


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_release_runs_to_the_end(source, release_run):
    """Does the unanswered release run top to bottom without a dead kernel, within the budget?"""
    run = release_run(source)
    assert not run.crash, f"the release of {notebook_id(source)} stopped: {run.crash}"
    assert run.seconds < RUN_BUDGET, f"the release took {run.seconds:.1f} s, budget {RUN_BUDGET:.0f} s"


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_release_errors_are_clear(source, release_run):
    """Are the release's errors all stubs' NotImplementedError, "not written yet" checks, or
    assertions with a message?"""
    run = release_run(source)
    unclear = [
        f"cell {cell_id}: {ename}: {evalue}" for cell_id, ename, evalue in run.errors
        if not (ename == STUB_ERROR or (ename == NOT_WRITTEN and evalue.startswith("not written yet"))
                or (ename in ("AssertionError", "CheckFailed") and evalue.strip()))
    ]
    assert not unclear, (
        f"the unanswered release of {notebook_id(source)} fails with confusing errors:\n"
        + "\n".join(unclear)
    )
    has_exercises = any(c.metadata.get("nbgrader", {}).get("solution") for c in run.nb.cells)
    assert not has_exercises or any(e[1] in (STUB_ERROR, NOT_WRITTEN) for e in run.errors), (
        "no cell raised NotImplementedError: do the exercise stubs get called by their checks?"
    )
