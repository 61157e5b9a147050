"""The grader fails closed: it grades correctly, or says it cannot; its failure is never a student's zero.

- grading works from a virtual environment made under /tmp (the sandbox's own /tmp must not
  hide the interpreter);
- kernels that cannot start stop the run at the preflight: exit 2, no grade written;
- a failure of the grader on one notebook is `grader-error`, not a score: exit 3, nothing in
  the gradebook, graded on the next run;
- answers that misbehave (memory, time, crashes, exits) cost exactly their own question,
  and the same class graded three times gets the same grades.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom import _with_sabotage, answers_of, fill
from autograder.demo import load_notebooks
from autograder.worker import FAULT_VAR
from tests.autograder.conftest import run_cli
from tests.autograder.tiny import AID, NB, write_tiny_source

pytestmark = pytest.mark.slow


def _tiny_class(root: Path, students=("alice", "bob", "carol")) -> tuple[Path, Path]:
    source = write_tiny_source(root / "source")
    (aid, name), (src, release) = next(iter(load_notebooks([AID], source).items()))
    for sid in students:
        path = root / "submitted" / sid / aid / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(fill(release, answers_of(src)), path)
    return source, root / "submitted"


def _rows(out: Path) -> list[dict]:
    with (out / "grades.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_grading_works_from_a_venv_under_tmp(tmp_path_factory):
    """Does a grader installed in a virtual environment under /tmp give the perfect students full marks?"""
    root = tmp_path_factory.mktemp("venv-class")
    assert str(root).startswith("/tmp/")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    source, submitted = _tiny_class(root)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "autograder", "grade", str(submitted),
                           "--out", str(root / "out"), "--source", str(source), "--quiet"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _rows(root / "out")
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows), rows
    assert "preflight: the answer keys earned full marks" in proc.stdout


def _broken_kernel_env(path: Path) -> Path:
    """A kernel environment whose interpreter is gone (as after `pyenv uninstall`)."""
    from autograder import kernel_env

    good = kernel_env.ensure()
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to("/nonexistent/python3.11")
    info = json.loads((good.prefix / "autograder-kernel-env.json").read_text())
    (path / "autograder-kernel-env.json").write_text(json.dumps(info | {"base_prefix": "/nonexistent"}))
    (path / "mpl-cache").mkdir()
    return path


def test_kernels_that_cannot_start_stop_the_run_before_any_grade(tmp_path):
    """With a kernel interpreter that does not exist: exit 2 after the preflight, nothing graded, the cause named?"""
    source, submitted = _tiny_class(tmp_path)
    env = os.environ | {"AUTOGRADER_KERNEL_ENV": str(_broken_kernel_env(tmp_path / "kernel-env"))}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
                           "--source", str(source), "--quiet"],
                          capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "preflight failed" in proc.stderr and "no student was graded" in proc.stderr
    assert f"{AID}/{NB} test_double: grader-error" in proc.stderr
    assert "/nonexistent/python3.11" in proc.stderr or "does not exist" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "grades.csv").exists() and not (out / "gradebook.db").exists()
    doctor = subprocess.run([sys.executable, "-m", "autograder", "doctor", "--source", str(source)],
                            capture_output=True, text=True, timeout=600, check=False, env=env)
    assert doctor.returncode == 1 and "Can this machine grade? NO" in doctor.stdout
    assert "kernel-env --rebuild" in doctor.stdout


def test_a_grader_error_is_not_a_grade_and_is_graded_again(tmp_path):
    """A fault of the grader on one notebook: grader-error there, exit 3, no score saved, a rerun grades it?"""
    source, submitted = _tiny_class(tmp_path)
    out = tmp_path / "out"
    args = ["grade", str(submitted), "--out", str(out), "--source", str(source), "--quiet"]
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          timeout=600, check=False, env=os.environ | {FAULT_VAR: "bob"})
    assert proc.returncode == 3, proc.stderr[-2000:]
    rows = {(r["student"], r["question"]): r for r in _rows(out)}
    assert {rows["bob", q]["status"] for q in ("test_double", "test_square")} == {"grader-error"}
    assert {rows["bob", q]["score"] for q in ("test_double", "test_square")} == {""}  # no score to import
    assert all(rows[s, q]["status"] == "ok" for s in ("alice", "carol") for q in ("test_double", "test_square"))
    assert "GRADER ERROR on 1 notebook" in proc.stdout
    assert "Grader error on 1 notebook" in (out / "report.html").read_text()
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert {s.student_id for s in gb.assignment_submissions(AID)} == {"alice", "carol"}
    assert not (out / "state" / "bob").exists()
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "graded 1 notebooks" in proc.stdout  # bob only: the others were kept
    assert all(r["status"] == "ok" for r in _rows(out))
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission(AID, "bob").score == 3.0


#: Misbehaving code, each put first in the body of affine_backward of an otherwise perfect
#: student of 02_layers: it runs when the question's test (and its sealed check) calls it.
MISBEHAVING = {
    "hog_1mb": "_hog = []\nwhile True:\n    _hog.append(bytearray(10**6))",
    "hog_10mb": "_hog = []\nwhile True:\n    _hog.append(bytearray(10**7))",
    "hog_100mb": "_hog = []\nwhile True:\n    _hog.append(bytearray(10**8))",
    "global_hog": "global _kept\n_kept = []\nwhile True:\n    _kept.append(bytearray(10**7))",
    "alloc_3gib": "_big = bytearray(3 * 2**30)",
    "sleep": "import time\ntime.sleep(10**6)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "recursion": "def _down(n):\n    return _down(n + 1)\n_down(0)",
    "sys_exit": "import sys\nsys.exit(1)",
}


#: A short notebook made of notebook 02's cells: three sealed questions, no examples or plots
MINI = ("imports", "affine_backward", "test_affine_backward", "relu_backward", "test_relu_backward",
        "sigmoid_backward", "test_sigmoid_backward")


def test_misbehaving_answers_cost_exactly_their_question_every_time(tmp_path):
    """Each misbehaving answer loses its own question only, and three gradings give identical grades.csv?"""
    from autograder.paths import ASSIGNMENTS

    mini = nbformat.read(ASSIGNMENTS / "02_layers" / "layers.ipynb", as_version=4)
    mini.cells = [c for c in mini.cells if c.metadata["nbgrader"]["grade_id"] in MINI]
    source = tmp_path / "source"
    (source / "02_layers").mkdir(parents=True)
    nbformat.write(mini, source / "02_layers" / "layers.ipynb")
    (aid, name), (src, release) = next(iter(load_notebooks(["02_layers"], source).items()))
    right = answers_of(src)
    submitted = tmp_path / "submitted"
    for sid, snippet in MISBEHAVING.items():
        nb = _with_sabotage(fill(release, right), "affine_backward", snippet)
        path = submitted / sid / aid / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    runs = []
    # a timeout well above what a hog needs to reach the memory limit on a loaded machine: its
    # status is then MemoryError's, not the clock's, in every run
    for i in range(3):
        out = tmp_path / f"out{i}"
        proc = run_cli("grade", str(submitted), "--out", str(out), "--source", str(source), "--timeout", "15",
                       "--quiet", timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append([{k: r[k] for k in ("student", "question", "score", "status")} for r in _rows(out)])
    assert runs[0] == runs[1] == runs[2]
    for sid in MISBEHAVING:
        mine = {r["question"]: r for r in runs[0] if r["student"] == sid}
        assert mine["test_affine_backward"]["score"] == "0.0", (sid, mine["test_affine_backward"])
        others = {q: r["status"] for q, r in mine.items() if q != "test_affine_backward"}
        assert others and set(others.values()) == {"ok"}, (sid, others)
