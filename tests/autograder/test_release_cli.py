"""Is what `release` hands to students complete, installable and free of answers?"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

import course
from autograder.nbgrader_glue import assignment_ids
from autograder.paths import ASSIGNMENTS
from autograder.restore import is_answer
from tests.autograder.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel")
    # run beside an nbgrader course root named "course", which must not shadow the package
    (out / "course" / "source").mkdir(parents=True)
    proc = run_cli("release", "--out", str(out), cwd=out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / "release"


def test_every_assignment_is_released(release_dir):
    """Is there one released notebook per source notebook, in release/<assignment>/?"""
    from autograder.paths import source_notebooks

    expected = {(p.parent.name, p.name) for p in source_notebooks()}
    got = {(p.parent.name, p.name) for p in release_dir.glob("*/*.ipynb")}
    assert got == expected
    assert {a for a, _ in got} == set(assignment_ids())


def test_released_notebooks_hold_no_answers_or_hidden_tests(release_dir):
    """Are answers replaced by stubs and hidden tests gone from every released notebook?"""
    for path in release_dir.glob("*/*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path.name}: {marker}"
        nb = nbformat.read(path, as_version=4)
        stubs = [c for c in nb.cells if is_answer(c) and c.cell_type == "code"]
        assert stubs and all("raise NotImplementedError" in c.source for c in stubs), path.name


def test_wheel_holds_course_only_and_installs(release_dir, tmp_path):
    """Does the course wheel install and import, without solutions or the autograder?"""
    (wheel,) = release_dir.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n == "course/gradcheck.py" for n in names)
    assert not any(n.startswith(("solutions", "autograder", "tests")) for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True)
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info")) == ["course"]
    code = f"import sys; sys.path.insert(0, {str(target)!r}); import course.gradcheck; print(course.__file__)"
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert proc.stdout.strip().startswith(str(target))


def _getting_started(path) -> str:
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "getting_started"]
    return cell.source


def test_quick_start_names_the_wheel_of_this_version(release_dir):
    """Do the release's README.md and notebook 01's getting-started cell (source and release)
    tell students to install the wheel of course.__version__, the very file in the release,
    and no other version? (a version bump must update the cell)"""
    wheel = f"backprop_course_student-{course.__version__}-py3-none-any.whl"
    assert [p.name for p in release_dir.glob("*.whl")] == [wheel]
    texts = {
        "release/README.md": (release_dir / "README.md").read_text(encoding="utf-8"),
        "getting_started of assignments/01_circuits": _getting_started(ASSIGNMENTS / "01_circuits" / "circuits.ipynb"),
        "getting_started of release/01_circuits": _getting_started(release_dir / "01_circuits" / "circuits.ipynb"),
    }
    for where, text in texts.items():
        named = re.findall(r"backprop_course_student-[^\s\"'`\[\]]*", text)
        assert named and set(named) == {wheel}, f"{where} names {named}, not {wheel}"
        assert f'pip install "./{wheel}[jupyter]"' in text, f"{where}: no install command for {wheel}"


def test_readme_names_each_notebook_s_subject_and_time(release_dir):
    """Does the release's README give every notebook its title and its time (notebook 01's
    heading comes after its getting-started cell)?"""
    readme = (release_dir / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d\d_[^/]+)/([^`]+)\.ipynb` \| ([^|]*) \| ([^|]*) \|$", readme, re.M)
    assert len(rows) == len(list(release_dir.glob("*/*.ipynb")))
    for folder, stem, title, time in rows:
        assert title.strip() not in ("", stem) and "minutes" in time, (folder, title, time)
