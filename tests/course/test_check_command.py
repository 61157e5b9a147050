"""``python -m course check``: a student's whole notebook checked before handing it in.

Blank, half-done, buggy and perfect notebooks of every assignment, each checked in a
fresh kernel: the table's rows and the exit code.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from autograder.classroom import answers_of, bug_students, fill
from autograder.demo import load_notebooks
from autograder.nbgrader_glue import assignment_ids
from course.exercises import EXERCISES

pytestmark = pytest.mark.slow

NOTEBOOKS = load_notebooks(assignment_ids())


def _students(source, release) -> dict:
    right = answers_of(source)
    half = dict(list(right.items())[: len(right) // 2])
    chosen = bug_students(source, release)[0][1]
    return {"blank": release, "half": fill(release, half), "perfect": fill(release, right),
            "buggy": fill(release, right | {e: b.source for e, b in chosen.items()})}, half, chosen


def _check(paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", "check", *map(str, paths)], capture_output=True,
                          text=True, timeout=900, check=False, cwd=paths[0].parent.parent)


def _table(stdout: str, path) -> dict[str, str]:
    """{exercise: result} from the table printed for one notebook."""
    block = stdout.split(f"{path}\n", 1)[1].split("\n\n")[0]
    rows = {}
    for line in block.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and parts[0] in {e.function for e in EXERCISES.values()}:
            result = "not written yet" if parts[1] == "not" else "NOT YET" if parts[1:3] == ["NOT", "YET"] else parts[1]
            rows.setdefault(parts[0], result)
    return rows


@pytest.mark.parametrize("kind", sorted(NOTEBOOKS), ids=lambda k: k[0])
def test_every_check_of_every_kind_of_notebook(tmp_path, kind):
    """Does the table list every exercise, OK where right, NOT YET where buggy, not written yet
    where blank, and does the exit code say whether all is OK?"""
    aid, name = kind
    source, release = NOTEBOOKS[kind]
    students, half, chosen = _students(source, release)
    graded = [e for e in EXERCISES.values() if e.notebook == f"{aid}/{name}"]
    paths = {}
    for sid, nb in students.items():
        paths[sid] = tmp_path / sid / aid / f"{name}.ipynb"
        paths[sid].parent.mkdir(parents=True)
        nbformat.write(nb, paths[sid])
    perfect = _check([paths["perfect"]])
    assert perfect.returncode == 0, perfect.stdout + perfect.stderr[-1000:]
    others = _check([paths[sid] for sid in ("blank", "half", "buggy")])  # one command, several notebooks
    assert others.returncode == 1, others.stdout + others.stderr[-1000:]
    stdout = perfect.stdout + "\n" + others.stdout
    for sid, path in paths.items():
        rows = _table(stdout, path)
        assert set(rows) == {e.function for e in graded}, stdout
        if sid == "perfect":
            assert set(rows.values()) == {"OK"}, stdout
            assert "ready to hand in" in perfect.stdout
        elif sid == "blank":
            assert set(rows.values()) == {"not written yet"}, stdout
        elif sid == "half":
            for e in graded:
                if e.function in half and not e.requires:
                    assert rows[e.function] == "OK", (e.name, stdout)
            assert "not written yet" in rows.values()
        else:
            for exercise in chosen:
                assert rows[exercise] == "NOT YET", (exercise, stdout)


def test_a_notebook_that_lost_its_metadata_is_warned_about(tmp_path):
    """Does check warn, and say what keeps the metadata, when the cells have lost it?"""
    source, release = NOTEBOOKS["02_layers", "layers"]
    nb = fill(release, answers_of(source))
    for cell in nb.cells:
        cell.metadata = {}
    path = tmp_path / "02_layers" / "layers.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    proc = _check([path])
    assert "lost their nbgrader metadata" in proc.stdout and "JupyterLab" in proc.stdout
    assert proc.returncode == 0 and "ready to hand in" in proc.stdout
