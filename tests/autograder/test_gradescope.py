"""The Gradescope bundle: its run_autograder, run in a temporary root laid out as Gradescope's."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from autograder import kernel_env
from autograder.classroom import answers_of, fill
from autograder.demo import load_notebooks
from autograder.worker import FAULT_VAR
from tests.autograder.conftest import run_cli
from tests.autograder.test_lateness import write_course
from tests.autograder.tiny import AID, NB, write_tiny_source

pytestmark = pytest.mark.slow

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
#: 2 h 30 min late: the docs' plugin (one point an hour, rounded) takes 2 of perfect's 3 points
LATE_METADATA = {"id": 1, "created_at": "2026-03-01T20:30:00.000000+01:00",
                 "assignment": {"due_date": "2026-03-01T17:00:00.000000+00:00", "title": "Tiny"},
                 "users": [{"email": "pat@example.edu", "id": 7, "name": "Pat"}]}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The bundle of the tiny assignment, with the late plugin of nbgrader's docs; and its source folder."""
    root = tmp_path_factory.mktemp("gs")
    source = write_tiny_source(root / "source")
    course = write_course(root / "course")
    proc = run_cli("gradescope", AID, "--source", str(source), "--out", str(root / "bundle"), "--timeout", "20",
                   "--config", str(course / "nbgrader_config.py"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "bundle" / "autograder.zip", source


def run_autograder(zip_path: Path, root: Path, files: dict[str, bytes] | None, metadata: dict | None = None,
                   env: dict | None = None) -> subprocess.CompletedProcess:
    """Lay out root as Gradescope does (source/ unzipped, submission/, results/) and run run_autograder.

    files None: no submission folder at all. The bundle's own copy of the project is what runs.
    """
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():  # extractall drops the modes; Gradescope keeps run_autograder executable
            zf.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    (root / "results").mkdir(exist_ok=True)
    if files is not None:
        (root / "submission").mkdir()
        for name, data in files.items():
            (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "submission" / name).write_bytes(data)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    variables = {**os.environ, "AUTOGRADER_GRADESCOPE_ROOT": str(root), "AUTOGRADER_GRADESCOPE_PYTHON": sys.executable,
                 "PYTHONPATH": str(root / "source" / "project"),
                 kernel_env.ENV_VAR: os.environ.get(kernel_env.ENV_VAR) or str(kernel_env.location()),
                 **(env or {})}
    return subprocess.run([str(root / "source" / "run_autograder")], env=variables, capture_output=True,
                          text=True, timeout=600, check=False, cwd=root)


def _notebook(nb) -> bytes:
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def students(bundle, tmp_path_factory):
    """Five submissions: {student: files}. None: no submission folder at all."""
    _, source = bundle
    src, release = load_notebooks([AID], source)[AID, NB]
    right = answers_of(src)
    buggy = right | {"double": "def double(x):\n    return 3 * x"}
    return {
        "perfect": {f"{NB}.ipynb": _notebook(fill(release, right))},
        "blank": {f"{NB}.ipynb": _notebook(release)},
        "buggy": {f"{NB} (1).ipynb": _notebook(fill(release, buggy)), "notes.txt": b"scratch\n"},  # renamed
        "invalid": {f"{NB}.ipynb": _notebook(fill(release, right))[:-30]},
        "missing": {"answers.py": b"def double(x): return 2 * x\n"},
    }


@pytest.fixture(scope="module")
def graded(bundle, students, tmp_path_factory):
    """Each student run through run_autograder, and the same class through `grade`.

    Returns ({student: (process, results.json or None)}, {student: {question: score}} of grades.csv).
    """
    zip_path, source = bundle
    work = tmp_path_factory.mktemp("runs")
    for sid, files in students.items():
        folder = work / "submitted" / sid / AID
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    proc = run_cli("grade", str(work / "submitted"), "--out", str(work / "out"), "--source", str(source),
                   "--timeout", "20", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours = {}
    with (work / "out" / "grades.csv").open() as f:
        for r in csv.DictReader(f):
            ours.setdefault(r["student"], {})[r["question"]] = float(r["score"])
    runs = {}
    for sid, files in students.items():
        root = work / "gradescope" / sid
        done = run_autograder(zip_path, root, files, LATE_METADATA if sid == "perfect" else None)
        results = root / "results" / "results.json"
        runs[sid] = (done, json.loads(results.read_text()) if results.exists() else None)
    return runs, ours


def test_the_bundle_is_what_gradescope_expects(bundle):
    """Are setup.sh and run_autograder at the zip's root, executable, and does setup.sh install Python, bubblewrap, the course and check it?"""
    zip_path, _ = bundle
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "gradescope.json", f"release/{AID}/{NB}.ipynb",
            f"project/assignments/{AID}/{NB}.ipynb", "project/pyproject.toml", "project/autograder/grading.py",
            "course_config/nbgrader_config.py", "course_config/late.py"} <= names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    for needed in ("python3.11-venv", "bubblewrap", "util-linux", '-m pip install -e "$SOURCE/project[grader]"',
                   "-m autograder kernel-env", f"-m autograder doctor --assignment {AID}"):
        assert needed in setup
    assert subprocess.run(["bash", "-n", "-c", setup], check=False).returncode == 0


def test_every_result_is_valid_per_gradescopes_specification(graded):
    """Perfect, blank, buggy, invalid and missing: does each run exit 0 with a results.json the schema accepts?"""
    runs, _ = graded
    for sid, (done, results) in runs.items():
        assert done.returncode == 0, (sid, done.stdout[-2000:], done.stderr[-2000:])
        assert results is not None, sid
        jsonschema.Draft202012Validator(SCHEMA).validate(results)


def test_scores_are_those_grade_gives(graded):
    """Does each question score what `grade` gave it on the same file, and the total too (before the late penalty)?"""
    runs, ours = graded
    for sid, (_, results) in runs.items():
        scored = {t["name"].removeprefix(f"{NB}: "): t["score"] for t in results["tests"][1:]}
        assert scored == ours[sid], sid
        assert results["extra_data"]["raw_score"] == sum(ours[sid].values())
    assert {sid: r["score"] for sid, (_, r) in runs.items()} == {
        "perfect": 1.0, "blank": 0.0, "buggy": 2.0, "invalid": 0.0, "missing": 0.0}


def test_hidden_tests_wait_for_the_due_date_and_problems_show_at_once(graded):
    """Are graded questions with hidden tests shown after the due date, a missing or unreadable notebook said so at once?"""
    runs, _ = graded
    perfect = runs["perfect"][1]
    assert [t["visibility"] for t in perfect["tests"]] == ["visible", "after_due_date", "after_due_date"]
    assert "2 h 30 min after the due date" in perfect["output"] and "Late penalty: 2" in perfect["output"]
    buggy = {t["name"]: t for t in runs["buggy"][1]["tests"]}
    assert f"graded {NB} (1).ipynb in place of {NB}.ipynb" in runs["buggy"][1]["tests"][0]["output"]
    # the feedback page's message (with, as in grade, the note on the first question)
    assert buggy[f"{NB}: test_double"]["output"] == f"double(3) should be 6 (graded {NB} (1).ipynb in place of {NB}.ipynb)"
    assert buggy[f"{NB}: test_double"]["extra_data"]["status"] == "failed"
    missing = runs["missing"][1]["tests"]
    assert missing[0]["visibility"] == "visible"
    assert f"Upload a notebook named {NB}.ipynb" in missing[0]["output"] and "answers.py" in missing[0]["output"]
    assert {t["visibility"] for t in missing} == {"visible"}
    invalid = runs["invalid"][1]["tests"]
    assert "NOT READABLE" in invalid[0]["output"] and "not valid JSON" in invalid[0]["output"]
    assert {t["visibility"] for t in invalid} == {"visible"}
    assert "NotImplementedError" in {t["name"]: t for t in runs["blank"][1]["tests"]}[f"{NB}: test_double"]["output"]
    assert "sandbox: bubblewrap sandbox" in runs["perfect"][0].stdout  # for the instructor


def test_no_submission_folder_is_a_clear_result(bundle, tmp_path):
    """Nothing uploaded at all (no submission folder): is every question missing, said plainly, without a crash?"""
    done = run_autograder(bundle[0], tmp_path, None)
    assert done.returncode == 0, done.stdout[-2000:]
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(results)
    assert results["score"] == 0.0 and "no file at all" in results["tests"][0]["output"]
    assert {t["extra_data"]["status"] for t in results["tests"][1:]} == {"missing"}


def test_a_grader_error_is_no_score(bundle, students, tmp_path):
    """The grader itself fails: is no results.json left (no zero recorded), the cause on stdout, and exit 3?"""
    stale = tmp_path / "results" / "results.json"  # left by an earlier run of the same container
    stale.parent.mkdir()
    stale.write_text('{"score": 0}')
    done = run_autograder(bundle[0], tmp_path, students["perfect"], env={FAULT_VAR: "student"})
    assert done.returncode == 3
    assert "GRADER ERROR" in done.stdout and FAULT_VAR in done.stdout
    assert not stale.exists()
