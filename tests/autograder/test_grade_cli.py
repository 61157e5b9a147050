"""End to end through the command line, on a tiny assignment and a class with every bad input."""

from __future__ import annotations

import csv
import re
import urllib.parse

import pytest
from nbgrader.api import Gradebook

from autograder.batch import CSV_COLUMNS
from tests.autograder.conftest import run_cli

# student -> (test_double status, test_square status); double is worth 1, square 2
EXPECTED = {
    "perfect_1": ("ok", "ok"),
    "perfect_2": ("ok", "ok"),
    "blank": ("error", "error"),
    "partial": ("ok", "error"),
    "invalid_json": ("invalid", "invalid"),
    "empty_file": ("invalid", "invalid"),
    "missing": ("missing", "missing"),
    "renamed": ("ok", "ok"),
    "deleted_cells": ("error", "ok"),
    "edited_test": ("ok", "ok"),
    "reordered": ("ok", "ok"),
    "extra_files": ("ok", "ok"),
    "infinite_loop": ("timeout", "ok"),
    "kernel_exit": ("crashed", "ok"),
    "huge_output": ("ok", "ok"),
    "warning": ("ok", "ok"),
}
POINTS = {"test_double": 1.0, "test_square": 2.0}


def _rows(tiny_class):
    with (tiny_class.out / "grades.csv").open() as f:
        return list(csv.DictReader(f))


def test_exit_code_is_zero_whatever_the_students_scored(tiny_class):
    """Does the grader report success when it did its job, even with broken submissions?"""
    assert tiny_class.proc.returncode == 0, tiny_class.proc.stderr[-2000:]


def test_csv_has_the_contract_columns_and_one_row_per_question(tiny_class):
    """Does grades.csv hold one row per (student, notebook, question) with the agreed columns?"""
    rows = _rows(tiny_class)
    assert list(rows[0].keys()) == CSV_COLUMNS
    assert {"student", "assignment", "notebook", "question", "score", "max_score", "status", "message"} <= set(rows[0])
    keys = [(r["student"], r["question"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * len(tiny_class.roster)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_case_gets_its_status_and_exact_score(tiny_class, student):
    """Does every kind of submission get the status and score it deserves, and no more?"""
    rows = {r["question"]: r for r in _rows(tiny_class) if r["student"] == student}
    statuses = (rows["test_double"]["status"], rows["test_square"]["status"])
    assert statuses == EXPECTED[student], {q: r["message"] for q, r in rows.items()}
    for q, r in rows.items():
        assert float(r["max_score"]) == POINTS[q]
        assert float(r["score"]) == (POINTS[q] if r["status"] == "ok" else 0.0)
        assert r["message"], "every row explains itself"


def test_memory_bomb_costs_only_its_question(tiny_class):
    """Does a submission that eats all memory lose its own question and keep the other?"""
    rows = {r["question"]: r for r in _rows(tiny_class) if r["student"] == "memory_bomb"}
    assert rows["test_double"]["status"] in ("error", "crashed")
    assert rows["test_square"]["status"] == "ok"


def test_messages_say_what_happened(tiny_class):
    """Would a student understand from the message what went wrong?"""
    msg = {(r["student"], r["question"]): r["message"] for r in _rows(tiny_class)}
    assert "NotImplementedError" in msg["blank", "test_double"]
    assert "not valid JSON" in msg["invalid_json", "test_double"]
    assert "empty" in msg["empty_file", "test_square"]
    assert "not submitted" in msg["missing", "test_double"]
    assert "in place of" in msg["renamed", "test_double"]
    assert "restored" in msg["edited_test", "test_double"]
    assert "deleted" in msg["deleted_cells", "test_double"]
    assert "infinite loop" in msg["infinite_loop", "test_double"]
    assert "kernel died" in msg["kernel_exit", "test_double"]


def test_gradebook_holds_the_same_scores(tiny_class):
    """Does nbgrader's gradebook agree with grades.csv, student by student?"""
    totals = {}
    for r in _rows(tiny_class):
        if r["status"] not in ("missing", "invalid"):
            totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["score"])
    with Gradebook(f"sqlite:///{tiny_class.out / 'gradebook.db'}") as gb:
        for student, total in totals.items():
            assert gb.find_submission("00_tiny", student).score == pytest.approx(total)


def test_feedback_for_everyone_and_no_hidden_tests(tiny_class):
    """Does every student get feedback, and does none of it show a hidden test?"""
    pages = list((tiny_class.out / "feedback").rglob("*.html"))
    assert {p.parts[-3] for p in pages} == {s.sid for s in tiny_class.roster}
    for page in pages:
        text = page.read_text()
        assert "hidden:" not in text and "HIDDEN TESTS" not in text, page
        assert "Score:" in text


def test_huge_output_is_cut_in_feedback(tiny_class):
    """Is a flood of output cut short instead of bloating the feedback?"""
    page = tiny_class.out / "feedback" / "huge_output" / "00_tiny" / "tiny.html"
    assert "cut" in page.read_text() or "not shown" in page.read_text()
    assert page.stat().st_size < 200_000


def test_report_is_a_standalone_page_with_plots(tiny_class):
    """Can the report be opened from disk, with its plots inline (no file, no server)?"""
    text = (tiny_class.out / "report.html").read_text()
    assert text.count("<svg class='plot'") >= 2 and "<img" not in text and "src=" not in text
    assert "Slowest submissions" in text and "perfect_1" in text
    assert "No answer was flagged." in text  # the tiny assignment has no sealed checks to disagree


def test_report_links_each_student_to_their_feedback(tiny_class):
    """Does every student's score in the report link to a feedback page that exists?"""
    text = (tiny_class.out / "report.html").read_text()
    hrefs = [urllib.parse.unquote(h) for h in re.findall(r"<a href='([^']+)'>", text)]
    assert {h.split("/")[1] for h in hrefs} == {s.sid for s in tiny_class.roster}
    assert all(h.startswith("feedback/") and (tiny_class.out / h).is_file() for h in hrefs), hrefs


def test_missing_folder_is_a_clear_error(tmp_path):
    """Does a wrong path stop the grader with a clear message and a non-zero exit?"""
    proc = run_cli("grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no such folder" in proc.stderr


def test_unknown_assignment_is_a_clear_error(tiny_class, tmp_path):
    """Does asking for an assignment the course lacks stop with a clear message?"""
    proc = run_cli("grade", str(tiny_class.submitted), "--out", str(tmp_path / "out"),
                   "--source", str(tiny_class.source), "--assignment", "99_nope")
    assert proc.returncode == 2
    assert "unknown assignment" in proc.stderr
