"""The JupyterHub path: nbgrader's exchange hands out and collects the work, `grade` grades it."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from autograder.classroom import answers_of, fill
from autograder.demo import load_notebooks
from tests.autograder.conftest import run_cli
from tests.autograder.test_lateness import exported, nbgrader
from tests.autograder.tiny import AID, NB, write_tiny_source

pytestmark = pytest.mark.slow
COURSE = "backprop"


def student(home: Path, sid: str, exchange: Path, answers: dict[str, str]) -> None:
    """What a student does in their JupyterHub server: fetch, answer, submit (as `sid`, since the test is one user)."""
    home.mkdir()
    where = [f"--Exchange.root={exchange}", f"--Exchange.cache={home / '.cache'}", f"--course={COURSE}"]
    nbgrader("fetch_assignment", AID, *where, cwd=home)
    path = home / AID / f"{NB}.ipynb"
    nbformat.write(fill(nbformat.read(path, as_version=4), answers), path)
    nbgrader("submit", AID, *where, f"--student={sid}", cwd=home)


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """A course released through a local exchange; alice submits on time (half done), bob after the due date.

    The course's nbgrader_config.py gives every late notebook a zero (nbgrader's penalty_method
    'zero'); the due date is set with `nbgrader db assignment add`, in the course's gradebook.
    """
    root = tmp_path_factory.mktemp("hub")
    exchange, course = root / "exchange", root / "course"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)  # nbgrader's exchange must be writable by every student
    source = write_tiny_source(course / "source")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {COURSE!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    nbgrader("generate_assignment", AID, cwd=course)
    nbgrader("release_assignment", AID, cwd=course)

    src, _ = load_notebooks([AID], source)[AID, NB]
    right = answers_of(src)
    student(root / "alice", "alice", exchange, {"double": right["double"]})
    due = datetime.now(UTC).replace(tzinfo=None)
    time.sleep(1.5)
    student(root / "bob", "bob", exchange, right)
    nbgrader("db", "assignment", "add", AID, f"--duedate={due.isoformat(sep=' ')} UTC", cwd=course)
    nbgrader("collect", AID, cwd=course)

    proc = run_cli("grade", str(course / "submitted"), "--out", str(root / "graded"), "--source", str(source),
                   "--db", f"sqlite:///{course / 'gradebook.db'}", "--config", str(course / "nbgrader_config.py"),
                   "--timeout", "20", "--quiet")
    return root, course, due, proc


def test_collect_leaves_nbgraders_timestamps(collected):
    """Did nbgrader's collect put each student's submission, with its timestamp.txt, where `grade` reads it?"""
    _, course, _, _ = collected
    for sid in ("alice", "bob"):
        folder = course / "submitted" / sid / AID
        assert (folder / f"{NB}.ipynb").is_file() and (folder / "timestamp.txt").read_text().endswith("UTC")


def test_grade_on_the_collected_folder_gets_grades_and_lateness_right(collected):
    """Are alice (on time, half done) and bob (late, all right) graded right, bob's lateness and nbgrader's zero recorded?"""
    root, course, due, proc = collected
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (root / "graded" / "grades.csv").open() as f:
        rows = {(r["student"], r["question"]): r for r in csv.DictReader(f)}
    assert {k: float(r["score"]) for k, r in rows.items()} == {
        ("alice", "test_double"): 1.0, ("alice", "test_square"): 0.0,
        ("bob", "test_double"): 1.0, ("bob", "test_square"): 2.0}
    for sid in ("alice", "bob"):
        stamp = (course / "submitted" / sid / AID / "timestamp.txt").read_text().removesuffix(" UTC")
        assert rows[sid, "test_double"]["timestamp"] == stamp
    assert rows["alice", "test_double"]["seconds_late"] == "0"
    assert 1.0 < float(rows["bob", "test_double"]["seconds_late"]) < 120
    assert rows["bob", "test_square"]["notebook_late_penalty"] == "3"
    assert "late: 1 notebook(s), penalties 3 points in all" in proc.stdout


def test_nbgrader_export_of_the_course_gradebook_has_times_and_penalties(collected):
    """Does `nbgrader export` of the course's own gradebook show every timestamp, bob's penalty and the final scores?"""
    root, course, due, _ = collected
    export = exported(root, course / "gradebook.db")
    assert {s: (r["raw_score"], r["late_submission_penalty"], r["score"]) for s, r in export.items()} == {
        "alice": ("1.0", "0.0", "1.0"), "bob": ("3.0", "3.0", "0.0")}
    assert all(r["timestamp"] for r in export.values())
    assert {r["duedate"] for r in export.values()} == {str(due)}
