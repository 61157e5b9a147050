"""Answers survive editors that drop nbgrader's cell metadata (VS Code, Colab, jupytext, copy-paste).

Every transformation of a perfect and of a buggy notebook must be restored to exactly the
notebook the original is restored to (hence graded the same), for every assignment; then a
few are graded through ``grade`` to see the scores and the message.
"""

from __future__ import annotations

import copy
import csv

import jupytext
import nbformat
import pytest

from autograder.classroom import answers_of, bug_students, fill
from autograder.demo import load_notebooks
from autograder.nbgrader_glue import assignment_ids
from autograder.restore import FOUND_BY_NAME, IN_ANOTHER_CELL, grade_id, restore
from tests.autograder.conftest import run_cli

NOTEBOOKS = load_notebooks(assignment_ids())


def stripped(nb):
    """Every cell's metadata gone (VS Code's editor, a cell re-created by hand)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def jupytext_default(nb):
    """A round trip through a py:percent file with jupytext's default settings."""
    return jupytext.reads(jupytext.writes(nb, "py:percent"), "py:percent")


def jupytext_no_metadata(nb):
    """A round trip through a py:percent file configured to keep no cell metadata."""
    nb = copy.deepcopy(nb)
    nb.metadata["jupytext"] = {"cell_metadata_filter": "-all", "notebook_metadata_filter": "-all"}
    return jupytext.reads(jupytext.writes(nb, "py:percent"), "py:percent")


def colab(nb):
    """Cell ids renumbered and Colab's notebook metadata added."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:04d}"
    nb.metadata |= {"colab": {"provenance": [], "name": "layers.ipynb"},
                    "accelerator": "GPU", "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    return nb


TRANSFORMS = [stripped, jupytext_default, jupytext_no_metadata, colab]


def _students(source, release):
    right = answers_of(source)
    (_, bugs), *_ = bug_students(source, release) or [(None, {})]
    return {"perfect": fill(release, right), "buggy": fill(release, right | {e: b.source for e, b in bugs.items()})}


def _graded_cells(nb):
    """What runs: each cell's kind and code (trailing blank lines, which editors add, aside)."""
    return [(c.cell_type, c.source.rstrip()) for c in nb.cells]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", sorted(NOTEBOOKS), ids=lambda k: k[0])
def test_a_transformed_notebook_is_restored_as_the_original(kind, transform):
    """Is every answer found (by name where the metadata is gone) and every test the instructor's?"""
    source, release = NOTEBOOKS[kind]
    for sid, nb in _students(source, release).items():
        original = restore(source, release, nb)
        changed = restore(source, release, nbformat.from_dict(transform(nb)))
        assert _graded_cells(changed.nb) == _graded_cells(original.nb), (sid, transform.__name__)
        if transform in (stripped, jupytext_no_metadata):
            assert changed.found_by_name == [grade_id(c) for c in source.cells
                                             if c.metadata.get("nbgrader", {}).get("solution")]


def _stripped_with(release, cells):
    nb = stripped(release)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def test_the_last_definition_is_the_answer():
    """With two definitions in cells without metadata (a wrong draft, then a right one), is the later graded?"""
    source, release = NOTEBOOKS["02_layers", "layers"]
    right = answers_of(source)["relu_backward"]
    draft = "def relu_backward(dout, cache):\n    return dout\n"
    restored = restore(source, release, _stripped_with(release, [draft, right]))
    cell = next(c for c in restored.nb.cells if grade_id(c) == "relu_backward")
    assert cell.source == right
    assert IN_ANOTHER_CELL in restored.notes["relu_backward"]  # the stub, copied, lost its metadata too
    without_stub = _stripped_with(release, [draft, right])
    without_stub.cells = [c for c in without_stub.cells if "raise NotImplementedError" not in c.source
                          or "relu_backward" not in c.source]
    restored = restore(source, release, without_stub)
    assert next(c for c in restored.nb.cells if grade_id(c) == "relu_backward").source == right
    assert FOUND_BY_NAME in restored.notes["relu_backward"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """02_layers: perfect and buggy students, each as submitted and as every transform makes it,
    and a stripped notebook with a wrong answer and a cell of its own claiming to be the test."""
    root = tmp_path_factory.mktemp("lost-metadata")
    source, release = NOTEBOOKS["02_layers", "layers"]
    written = {}
    for sid, nb in _students(source, release).items():
        for transform in [None, *TRANSFORMS]:
            name = f"{sid}-{transform.__name__ if transform else 'original'}"
            written[name] = transform(nb) if transform else nb
    wrong = "def affine_backward(dout, cache):\n    x, w, b = cache\n    return 0 * x, 0 * w, 0 * b\n"
    fake = stripped(fill(release, answers_of(source) | {"affine_backward": wrong}))
    fake.cells.append(nbformat.v4.new_code_cell(
        "print('OK: affine_backward is right')",
        metadata={"nbgrader": {"grade_id": "test_affine_backward", "grade": True, "points": 3, "locked": True,
                               "solution": False, "schema_version": 3}}))
    written["fake_test"] = fake
    for sid, nb in written.items():
        path = root / "submitted" / sid / "02_layers" / "layers.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nbformat.from_dict(nb), path)
    proc = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"), "--quiet",
                   "--assignment", "02_layers")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lost nbgrader's cell metadata" in proc.stdout
    with (root / "out" / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {(r["student"], r["question"]): r for r in rows}, (root / "out" / "report.html").read_text()




@pytest.mark.slow
@pytest.mark.parametrize("sid", ["perfect", "buggy"])
def test_every_transform_earns_what_the_original_earns(graded, sid):
    """Does each transformed notebook get the very scores and statuses of the one as submitted?"""
    rows, _ = graded
    original = {q: (r["score"], r["status"]) for (s, q), r in rows.items() if s == f"{sid}-original"}
    for transform in TRANSFORMS:
        got = {q: (r["score"], r["status"]) for (s, q), r in rows.items() if s == f"{sid}-{transform.__name__}"}
        assert got == original, transform.__name__


@pytest.mark.slow
def test_the_message_says_how_the_answer_was_found(graded):
    """Does a stripped notebook's row say its answer was found by name, and the report count it?"""
    rows, report = graded
    assert FOUND_BY_NAME in rows["perfect-stripped", "test_affine_backward"]["message"]
    assert "notebook(s) had lost nbgrader's cell metadata" in report


@pytest.mark.slow
def test_a_cell_claiming_to_be_the_test_earns_nothing(graded):
    """Does a student's own cell named like the test, in a stripped notebook, give a wrong answer no credit?"""
    rows, _ = graded
    row = rows["fake_test", "test_affine_backward"]
    assert (row["score"], row["status"]) == ("0.0", "failed"), row
