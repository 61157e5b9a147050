"""An instructor adds an exercise through the documented path only, and it is graded like the course's own.

In a copy of the course: ``elu_backward`` gets its forward pass (course/layers.py), its
declaration (course/exercises.py), its reference (solutions/layers.py) and three cells in
notebook 02, then ``python -m autograder solutions 02_layers``, ``release`` and ``grade``;
no file of the autograder is touched. The perfect student earns its points, a bug loses
them (and nothing else), and a student who fools the notebook's own test earns nothing
for a wrong answer.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.classroom import answers_of, fill
from autograder.paths import ROOT

pytestmark = pytest.mark.slow

FORWARD = '''

def elu_forward(x, alpha=1.0):
    """ELU, elementwise: x where x > 0, alpha (e^x - 1) elsewhere. Cache: (x, alpha)."""
    x = as_float_array("x", x)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    return out, (x, alpha)
'''
DECLARATION = '''    Exercise("elu_backward", _LAYERS, Backward(layers.elu_forward, constants=("alpha",)), points=2,
             cases=_elementwise(gap=0.1, alpha=1.0)),
'''
REFERENCE = '''

def elu_backward(dout, cache):
    """Backward pass of the ELU. dout: any shape; cache: (x, alpha). Returns dx, shaped like x."""
    ### BEGIN SOLUTION
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    ### END SOLUTION
'''
BUG = '''def elu_backward(dout, cache):
    x, alpha = cache
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
'''
FOOL_THE_TEST = "import course.gradcheck as _g\n_g.GradReport.ok = property(lambda self: True)\n"
PATCH_ALLCLOSE = "import numpy as np\nnp.allclose = lambda *a, **k: True\n"


def _meta(gid, **flags):
    meta = {"grade_id": gid, "schema_version": 3, "solution": False, "grade": False, "locked": True, "task": False}
    return {"nbgrader": meta | flags}


def _add_cells(path: Path) -> None:
    """The instructor's cells: an explanation, the exercise (any body) and its graded cell (any code)."""
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.metadata["nbgrader"]["grade_id"] == "recap")
    nb.cells[at:at] = [
        new_markdown_cell("## 6. ELU\n\n**Exercise 6.** Write `elu_backward(dout, cache)`.",
                          metadata=_meta("elu_explain")),
        new_code_cell("def elu_backward(dout, cache):\n    pass", metadata=_meta("elu_backward", solution=True,
                                                                             locked=False)),
        new_code_cell("pass", metadata=_meta("test_elu_backward", grade=True, points=0)),
    ]
    nbformat.write(nb, path)


def _insert(path: Path, before: str, text: str) -> None:
    source = path.read_text()
    assert before in source, f"{path} has no {before!r}"
    path.write_text(source.replace(before, text + before, 1))


def _cli(copy: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("course-copy")
    for name in ("course", "solutions", "autograder"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", copy)
    shutil.copytree(ROOT / "assignments" / "02_layers", copy / "assignments" / "02_layers")
    # the documented path: forward pass, declaration, reference, notebook cells
    (copy / "course" / "layers.py").write_text((copy / "course" / "layers.py").read_text() + FORWARD)
    _insert(copy / "course" / "exercises.py", "    # an instructor's own exercises", DECLARATION)
    (copy / "solutions" / "layers.py").write_text((copy / "solutions" / "layers.py").read_text() + REFERENCE)
    _add_cells(copy / "assignments" / "02_layers" / "layers.ipynb")
    proc = _cli(copy, "solutions", "02_layers")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return copy


def test_the_notebook_gets_the_declared_check_and_the_reference(course_copy):
    """Did `solutions` write the reference into the exercise cell and the check into the graded cell?"""
    nb = nbformat.read(course_copy / "assignments" / "02_layers" / "layers.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    assert "### BEGIN SOLUTION" in cells["elu_backward"].source and "np.exp" in cells["elu_backward"].source
    assert cells["test_elu_backward"].source.startswith("check('elu_backward', elu_backward)")
    assert cells["test_elu_backward"].metadata["nbgrader"]["points"] == 2
    key = nbformat.read(course_copy / "solutions" / "02_layers" / "layers.ipynb", as_version=4)
    outputs = [c.outputs for c in key.cells if c.metadata["nbgrader"]["grade_id"] == "test_elu_backward"][0]
    assert outputs[0]["text"].startswith("OK: elu_backward is right")


@pytest.fixture(scope="module")
def graded(course_copy, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("elu-class")
    proc = _cli(course_copy, "release", "--out", str(root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    release = nbformat.read(root / "release" / "02_layers" / "layers.ipynb", as_version=4)
    assert "np.exp" not in next(c.source for c in release.cells if c.metadata["nbgrader"]["grade_id"] == "elu_backward")
    source = nbformat.read(course_copy / "assignments" / "02_layers" / "layers.ipynb", as_version=4)
    right = answers_of(source)
    students = {"perfect": right, "buggy": right | {"elu_backward": BUG},
                "fools_the_test": right | {"elu_backward": FOOL_THE_TEST + BUG},
                "patches_allclose": right | {"elu_backward": PATCH_ALLCLOSE + BUG}}
    for sid, answers in students.items():
        path = root / "submitted" / sid / "02_layers" / "layers.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(fill(release, answers), path)
    proc = _cli(course_copy, "grade", str(root / "submitted"), "--out", str(root / "out"), "--quiet",
                "--source", str(course_copy / "assignments"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "unsealed" not in proc.stdout
    with (root / "out" / "grades.csv").open() as f:
        return {(r["student"], r["question"]): r for r in csv.DictReader(f)}


def test_the_perfect_student_earns_the_new_points(graded):
    """Does the answer key's elu_backward, in a student's notebook, earn its 2 points with the rest?"""
    mine = {q: r for (s, q), r in graded.items() if s == "perfect"}
    assert (mine["test_elu_backward"]["status"], mine["test_elu_backward"]["score"]) == ("ok", "2.0")
    assert all(r["status"] == "ok" for r in mine.values())


def test_a_bug_loses_the_question_and_nothing_else(graded):
    """Does the wrong elu_backward (no upstream gradient) lose its question only?"""
    mine = {q: r for (s, q), r in graded.items() if s == "buggy"}
    assert mine.pop("test_elu_backward")["score"] == "0.0"
    assert all(r["status"] == "ok" for r in mine.values())


@pytest.mark.parametrize("sid", ["fools_the_test", "patches_allclose"])
def test_fooling_the_notebook_earns_nothing(graded, sid):
    """Does a wrong answer earn nothing, however the notebook's own test is tampered with?"""
    row = graded[sid, "test_elu_backward"]
    assert (row["status"], row["score"]) == ("failed", "0.0"), row
    if sid == "fools_the_test":
        assert "sealed-disagrees" in row["flags"]
