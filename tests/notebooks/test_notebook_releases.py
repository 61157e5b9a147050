"""Is every student release safe to hand out: no answers, stubs that fail clearly, no hang?

The release is generated once per session by nbgrader's API (fixture `release_dir`).
"""

from __future__ import annotations

import json
import re

import pytest
from nbgrader.validator import Validator
from notebook_tools import (
    RUN_BUDGET,
    SOURCES,
    ansi_free,
    course_config,
    is_graded_cell,
    is_solution_cell,
    nbgrader_meta,
    normalized,
    notebook_id,
    read,
    released,
    run_notebook,
    secret_lines,
)

pytestmark = pytest.mark.slow

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
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
    """Run from the top unanswered, does only a check cell raise, with one line (no traceback)
    saying "not written yet" and naming an exercise of the notebook, never the course's own
    code? Example cells that call exercises print such a line instead (course.notwritten.needs)."""
    run = release_run(source)
    exercises = {nbgrader_meta(c)["grade_id"] for c in run.nb.cells if is_solution_cell(c)}
    unclear = []
    for cell in run.nb.cells:
        if cell.cell_type != "code":
            continue
        where = f"cell {nbgrader_meta(cell).get('grade_id', cell.get('id'))}"
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                shown = ansi_free("\n".join(out.traceback)).strip().splitlines()
                if not is_graded_cell(cell):
                    unclear.append(f"{where} (an example) raised {out.ename}: {out.evalue} "
                                   f"({len(shown)} lines): run it under course.notwritten.needs")
                elif out.ename != NOT_WRITTEN or not out.evalue.startswith("not written yet: "):
                    unclear.append(f"{where}: {out.ename}: {out.evalue}")
                elif len(shown) != 1 or not _names_exercises(out.evalue, exercises):
                    unclear.append(f"{where}: {shown}")
            elif out.output_type == "stream":
                unclear += [f"{where} printed: {line}" for line in out.text.splitlines()
                            if line.startswith("not written yet") and not _names_exercises(line, exercises)]
    assert not unclear, (
        f"the unanswered release of {notebook_id(source)} fails with confusing errors:\n" + "\n".join(unclear))
    assert not exercises or any(e[1] == NOT_WRITTEN for e in run.errors), (
        "no check said 'not written yet': do the exercise stubs get called by their checks?"
    )


def _names_exercises(message: str, exercises: set[str]) -> bool:
    """Does a "not written yet" message name exercises of the notebook (what a student can
    write) as what to write, use or need, and nothing else (not check_op, train, __call__)?"""
    named = re.findall(r"\b(?:write|uses) (\w+)", message)
    needed = re.search(r"\bneeds (\w+(?:, \w+)*(?: and \w+)?):", message)
    named += re.split(r", | and ", needed.group(1)) if needed else []
    named = [n for n in named if n not in ("it", "them")]
    return bool(named) and set(named) <= exercises
