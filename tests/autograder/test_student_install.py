"""The student's install, as the release's README says: the wheel with its ``[jupyter]`` extra
in a fresh virtual environment gives a working ``jupyter lab`` and ``python -m course check``.

The environment is made from this interpreter (``python -m venv``, no system site packages)
under the test's temporary folder; pip reads the package index as configured on this machine
(its own cache as usual). Nothing of this project's checkout is visible to it: PYTHONPATH is
cleared, and the commands run in the release folder, as a student's would.
Measured here: about a minute, most of it pip unpacking numpy, scipy, scikit-learn,
matplotlib and JupyterLab (``--no-compile``: modules are compiled when first imported).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest

import course
from autograder.classroom import answers_of, fill
from autograder.paths import ASSIGNMENTS
from autograder.release import release
from course.exercises import EXERCISES

pytestmark = pytest.mark.slow

AID, NB = "02_layers", "layers"


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, env=env, **kwargs)


def test_the_wheel_with_its_jupyter_extra_installs_jupyterlab_and_the_check_command(tmp_path):
    """In a fresh venv with `pip install "./<wheel>[jupyter]"`: does `jupyter lab --version` work,
    is `course` the venv's own, and does `python -m course check` run a blank and a finished
    notebook in the venv's kernel, print their tables and exit 1 (the blank one is not OK)?"""
    folder = tmp_path / "release"
    release(tmp_path, [AID])
    wheel = f"backprop_course_student-{course.__version__}-py3-none-any.whl"
    assert (folder / wheel).is_file()

    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", venv], timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    python, jupyter = venv / "bin" / "python", venv / "bin" / "jupyter"
    pip = _run([python, "-m", "pip", "install", "--quiet", "--no-compile", f"./{wheel}[jupyter]"],
               cwd=folder, timeout=600)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]

    lab = _run([jupyter, "lab", "--version"], cwd=folder, timeout=120)
    assert lab.returncode == 0 and re.fullmatch(r"4\.\d+\.\d+\S*", lab.stdout.strip()), lab.stdout + lab.stderr
    where = _run([python, "-c", "import course; print(course.__file__, course.__version__)"], cwd=folder, timeout=60)
    assert where.stdout.split() == [
        str(venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
            / "course" / "__init__.py"), course.__version__], where.stdout + where.stderr

    blank = folder / AID / f"{NB}.ipynb"
    done = folder / "done" / AID / f"{NB}.ipynb"
    done.parent.mkdir(parents=True)
    source = nbformat.read(ASSIGNMENTS / AID / f"{NB}.ipynb", as_version=4)
    nbformat.write(fill(nbformat.read(blank, as_version=4), answers_of(source)), done)
    checked = _run([python, "-m", "course", "check", blank.relative_to(folder), done.relative_to(folder)],
                   cwd=folder, timeout=600)
    assert checked.returncode == 1, checked.stdout + checked.stderr[-3000:]
    exercises = [e.function for e in EXERCISES.values() if e.notebook == f"{AID}/{NB}"]
    tables = checked.stdout.split(f"{done.relative_to(folder)}\n")
    assert len(tables) == 2, checked.stdout
    for table, result in zip(tables, ("not written yet", "OK"), strict=True):
        for name in exercises:
            assert re.search(rf"^  {name} +{result} ", table, re.MULTILINE), (name, result, checked.stdout)
    assert "ready to hand in" in tables[1] and "ready to hand in" not in tables[0]
