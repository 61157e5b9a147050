"""Submission times, due dates and late penalties, as nbgrader records and applies them."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import warnings
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder import lateness
from autograder.classroom import make_class
from autograder.demo import load_notebooks
from autograder.nbgrader_glue import GraderError
from tests.autograder.conftest import run_cli
from tests.autograder.tiny import AID, write_tiny_source

DUE = "2026-03-01 17:00:00 UTC"
#: student -> timestamp.txt: on time; 2.5 h late; 5 h late with 1 point to lose; 30 min late with 0
STAMPS = {
    "perfect_1": "2026-03-01 16:59:59.500000 UTC",
    "perfect_2": "2026-03-01 20:30:00.000000 Europe/Paris",  # 19:30 UTC
    "partial": "2026-03-01 22:00:00.000000 UTC",
    "blank": "2026-03-01 17:30:00.000000 UTC",
}
#: nbgrader's docs (docs/source/plugins/late-plugin.rst): one point per hour late, as written there
LATE_PLUGIN = '''from __future__ import division
from nbgrader.plugins import BasePlugin


class SubMarks(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Penalty of 1 mark per hour late"""
        hours_late = total_seconds_late / 3600
        return round(hours_late, 0)
'''
LATE_CONFIG = "c = get_config()\nc.AssignLatePenalties.plugin_class = 'late.SubMarks'\n"


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run nbgrader's own command line (this interpreter's) in cwd."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def exported(cwd: Path, db: Path) -> dict[str, dict]:
    """`nbgrader export` of a gradebook: {student: row}."""
    nbgrader("export", f"--db=sqlite:///{db}", "--to=export.csv", cwd=cwd)
    with (cwd / "export.csv").open() as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def write_course(root: Path) -> Path:
    """The instructor's course folder: late.py and nbgrader_config.py from nbgrader's docs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "late.py").write_text(LATE_PLUGIN)
    (root / "nbgrader_config.py").write_text(LATE_CONFIG)
    return root


# --- fast: reading times and dates, the plugin -------------------------------------------


def test_due_dates_are_read_as_nbgrader_reads_them():
    """Are due dates with a zone name, an offset or none read in UTC, and a zone nbgrader would ignore refused?"""
    assert lateness.parse_due("2026-03-01 17:00:00 UTC") == datetime(2026, 3, 1, 17)
    assert lateness.parse_due("2026-03-01 18:00:00 Europe/Paris") == datetime(2026, 3, 1, 17)
    assert lateness.parse_due("2026-03-01T12:00:00-05:00") == datetime(2026, 3, 1, 17)
    assert lateness.parse_due("2026-03-01 17:00") == datetime(2026, 3, 1, 17)
    with pytest.raises(GraderError, match="unknown time zone"):
        lateness.parse_due("2026-03-01 17:00:00 Mars/Olympus")
    with pytest.raises(GraderError, match="ISO-style"):
        lateness.parse_due("2026-03-01 18:00:00 +0100")  # nbgrader would read 100 seconds
    with pytest.raises(GraderError, match="cannot read the due date"):
        lateness.parse_due("next friday-ish")
    assert lateness.parse_dues(["2026-03-01 17:00 UTC", "02_layers=2026-03-08 17:00 UTC"]) == {
        lateness.ALL: datetime(2026, 3, 1, 17), "02_layers": datetime(2026, 3, 8, 17)}


def test_submission_time_comes_from_timestamp_txt_else_the_notebook(tmp_path):
    """Is timestamp.txt used first, the notebook's time otherwise, and a bad or linked timestamp.txt never trusted?"""
    folder = tmp_path / "alice" / AID
    folder.mkdir(parents=True)
    nb = folder / "tiny.ipynb"
    nb.write_text("{}")
    os.utime(nb, (1_772_384_400, 1_772_384_400))  # 2026-03-01 17:00:00 UTC
    when, warning = lateness.submission_time(tmp_path, "alice", AID, [nb])
    assert when == datetime(2026, 3, 1, 17) and not warning
    (folder / "timestamp.txt").write_text("2026-03-01 09:00:00.250000 America/New_York\n")
    assert lateness.submission_time(tmp_path, "alice", AID, [nb]) == (datetime(2026, 3, 1, 14, 0, 0, 250000), "")
    (folder / "timestamp.txt").write_text("yesterday, roughly")
    when, warning = lateness.submission_time(tmp_path, "alice", AID, [nb])
    assert when == datetime(2026, 3, 1, 17) and "timestamp.txt" in warning
    (folder / "timestamp.txt").unlink()
    outside = tmp_path / "forged.txt"
    outside.write_text("2020-01-01 00:00:00 UTC")
    (folder / "timestamp.txt").symlink_to(outside)  # a link is never followed
    assert lateness.submission_time(tmp_path, "alice", AID, [nb]) == (datetime(2026, 3, 1, 17), "")
    assert lateness.submission_time(tmp_path, "bob", AID, [None]) == (None, "")


def test_the_course_configuration_loads_nbgraders_default_plugin():
    """Without a course plugin, is nbgrader's LateSubmissionPlugin used, with no penalty ('none')?"""
    policy = lateness.load_policy()
    assert policy.name == "nbgrader.plugins.latesubmission.LateSubmissionPlugin (penalty_method='none')"
    assert policy.penalty("alice", 3.0, 3600) is None
    assert policy.penalty("alice", 3.0, 0) is None


def test_a_course_plugin_is_loaded_from_its_configuration_and_kept_in_bounds(tmp_path):
    """Is the docs' plugin found beside its nbgrader_config.py, and its penalty kept within [0, score] as nbgrader does?"""
    policy = lateness.load_policy(write_course(tmp_path) / "nbgrader_config.py")
    assert policy.name == "late.SubMarks"
    assert policy.penalty("alice", 3.0, 2.5 * 3600) == 2.0
    assert policy.penalty("alice", 3.0, 10 * 3600) == 3.0  # no more than the score
    assert policy.penalty("alice", 3.0, 20 * 60) == 0.0  # late, but rounds to nothing
    assert policy.penalty("alice", 3.0, 0) is None
    (tmp_path / "zero.py").write_text("c = get_config()\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    assert lateness.load_policy(tmp_path / "zero.py").penalty("bob", 2.5, 1) == 2.5


def test_a_broken_plugin_configuration_is_a_clear_error(tmp_path):
    """A plugin that cannot be imported: does the grader say so before grading anything?"""
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.AssignLatePenalties.plugin_class = 'nolate.Nope'\n")
    with pytest.raises(GraderError, match="AssignLatePenalties.plugin_class"):
        lateness.load_policy(tmp_path / "nbgrader_config.py")
    proc = run_cli("grade", str(tmp_path), "--out", str(tmp_path / "out"), "--config", str(tmp_path / "nbgrader_config.py"))
    assert proc.returncode == 2 and "late-submission plugin" in proc.stderr
    assert not (tmp_path / "out").exists()


# --- slow: a class graded by us and by nbgrader ---------------------------------------------


@pytest.fixture(scope="module")
def late_class(tmp_path_factory):
    """Four students with timestamp.txt around one due date, graded by `grade` and by nbgrader autograde.

    Both read the same late-penalty configuration (the plugin of nbgrader's docs) and the same
    submissions; nbgrader's course gets the due date from `nbgrader db assignment add`, ours from --due.
    """
    root = tmp_path_factory.mktemp("late")
    source = write_tiny_source(root / "source")
    make_class(root / "submitted", load_notebooks([AID], source), 4)  # perfect_1, perfect_2, blank, partial
    for student, stamp in STAMPS.items():
        (root / "submitted" / student / AID / "timestamp.txt").write_text(stamp)
    course = write_course(root / "course")
    ours = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"), "--source", str(source),
                   "--due", DUE, "--config", str(course / "nbgrader_config.py"), "--timeout", "20", "--quiet")
    assert ours.returncode == 0, ours.stderr[-3000:]

    theirs = write_course(root / "nbgrader")
    with (theirs / "nbgrader_config.py").open("a") as f:
        f.write(f"c.CourseDirectory.source_directory = {str(source)!r}\n")
    nbgrader("generate_assignment", AID, cwd=theirs)
    nbgrader("db", "assignment", "add", AID, f"--duedate={DUE}", cwd=theirs)
    shutil.copytree(root / "submitted", theirs / "submitted")
    nbgrader("autograde", AID, "--create", cwd=theirs)
    return root, ours


def _grades(out: Path) -> list[dict]:
    with (out / "grades.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_our_gradebook_exports_what_nbgraders_autograde_computes(late_class):
    """Same submissions, same plugin configuration: does `nbgrader export` read the same times, penalties and scores from both gradebooks?"""
    root, _ = late_class
    ours = exported(root, root / "out" / "gradebook.db")
    theirs = exported(root, root / "nbgrader" / "gradebook.db")
    columns = ["duedate", "timestamp", "raw_score", "late_submission_penalty", "score", "max_score"]
    assert {s: [r[c] for c in columns] for s, r in ours.items()} == {s: [r[c] for c in columns] for s, r in theirs.items()}
    assert {s: float(r["late_submission_penalty"]) for s, r in ours.items()} == {
        "perfect_1": 0.0, "perfect_2": 2.0, "partial": 1.0, "blank": 0.0}
    assert {s: float(r["score"]) for s, r in ours.items()} == {"perfect_1": 3.0, "perfect_2": 1.0, "partial": 0.0, "blank": 0.0}


@pytest.mark.slow
def test_our_exports_count_as_nbgrader_export(late_class, tmp_path):
    """Are the totals of our wide CSV and Canvas file the scores `nbgrader export` computes, penalties included?"""
    root, _ = late_class
    for fmt in ("csv", "canvas"):
        proc = run_cli("export", str(root / "out"), "--format", fmt, "--out", str(tmp_path / f"{fmt}.csv"))
        assert proc.returncode == 0, proc.stderr
    theirs = {s: float(r["score"]) for s, r in exported(root, root / "nbgrader" / "gradebook.db").items()}
    with (tmp_path / "csv.csv").open() as f:
        assert {r["student"]: float(r["total"]) for r in csv.DictReader(f)} == theirs
    with (tmp_path / "canvas.csv").open() as f:
        rows = list(csv.DictReader(f))[1:]  # after the points possible row
    assert {r["SIS Login ID"]: float(r[AID]) for r in rows} == theirs


@pytest.mark.slow
def test_grades_csv_and_the_report_show_lateness_and_the_penalty(late_class):
    """Does every row carry its submission time, lateness and notebook penalty, and does the report list the late ones?"""
    root, proc = late_class
    rows = _grades(root / "out")
    by_student = {r["student"]: r for r in rows}
    assert by_student["perfect_1"]["timestamp"] == "2026-03-01 16:59:59.500000"
    assert by_student["perfect_1"]["seconds_late"] == "0"
    assert by_student["perfect_2"]["seconds_late"] == "9000"
    assert {r["notebook_late_penalty"] for r in rows if r["student"] == "perfect_2"} == {"2"}
    assert by_student["partial"]["notebook_late_penalty"] == "1"
    report = (root / "out" / "report.html").read_text()
    assert "late.SubMarks" in report and "2 h 30 min" in report and "5 h 00 min" in report
    # the students' table: perfect_2's 3 / 3, and a total of 1 after the penalty of 2
    assert re.search(r"<td>perfect_2</td><td><a [^>]*>3 / 3</a></td><td class='num'>1</td>", report)
    assert "late: 3 notebook(s), penalties 3 points in all" in proc.stdout


@pytest.mark.slow
def test_an_extension_or_a_new_due_date_is_applied_to_kept_grades(late_class, tmp_path):
    """Nothing to grade again: are an extension granted in the gradebook and a later --due applied all the same?"""
    root, _ = late_class
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
            gb.grant_extension(AID, "perfect_2", hours=3)  # due 20:00 for them: 19:30 is on time
    config = str(root / "course" / "nbgrader_config.py")
    proc = run_cli("grade", str(root / "submitted"), "--out", str(out), "--source", str(root / "source"),
                   "--config", config, "--timeout", "20", "--quiet")  # the gradebook's due date, set by the first run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(4 unchanged since the last run, kept)" in proc.stdout
    assert exported(tmp_path, out / "gradebook.db")["perfect_2"]["score"] == "3.0"
    proc = run_cli("grade", str(root / "submitted"), "--out", str(out), "--source", str(root / "source"),
                   "--config", config, "--timeout", "20", "--due", f"{AID}=2026-03-02 17:00:00 UTC", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {r["seconds_late"] for r in _grades(out)} == {"0"}
    assert {s: r["score"] for s, r in exported(tmp_path, out / "gradebook.db").items()} == {
        "perfect_1": "3.0", "perfect_2": "3.0", "partial": "1.0", "blank": "0.0"}
