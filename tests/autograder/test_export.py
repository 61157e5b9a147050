"""Exports of grades.csv: Canvas's gradebook import and the wide table for spreadsheets."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import pytest

from autograder.batch import _write_csv
from autograder.export import CANVAS_IDENTITY, POINTS_POSSIBLE, export, read_grades
from autograder.lateness import Late
from autograder.model import NotebookResult, Row, Status, Task
from autograder.nbgrader_glue import GraderError
from tests.autograder.conftest import run_cli

#: assignment -> notebook -> [(question, points)]
LAYOUT = {"01_a": {"one": [("q1", 1.0), ("q2", 2.0)], "two": [("q3", 3.0)]}, "02_b": {"b": [("q4", 4.0)]}}


def _result(student, assignment, notebook, status="ok", lost=()):
    rows = [Row(student, assignment, notebook, q, 0.0 if (q in lost or status != "ok") else pts, pts,
                status if q not in lost else "failed", "m")
            for q, pts in LAYOUT[assignment][notebook]]
    return NotebookResult(Task(student, assignment, notebook, None), rows)


@pytest.fixture
def out(tmp_path) -> Path:
    """A grades.csv as `grade` writes it: a late notebook, a grader error, a student without 02_b."""
    results = [
        _result("ann", "01_a", "one"), _result("ann", "01_a", "two"), _result("ann", "02_b", "b"),
        _result("bob", "01_a", "one", lost=("q2",)), _result("bob", "01_a", "two"),
        _result("bob", "02_b", "b", status=Status.GRADER_ERROR),
        _result("cy", "01_a", "one"), _result("cy", "01_a", "two"),  # never submitted 02_b
    ]
    late = {("bob", "01_a", "two"): Late(datetime(2026, 3, 2), datetime(2026, 3, 1), 86400.0, 1.5),
            ("ann", "01_a", "one"): Late(datetime(2026, 2, 28), datetime(2026, 3, 1), 0.0, None)}
    _write_csv(tmp_path / "grades.csv", results, late)
    return tmp_path


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _dicts(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def canvas_reads(rows: list[list[str]]) -> tuple[list[str], dict[str, str], list[dict]]:
    """Read a file as Canvas's GradebookImporter does (app/models/gradebook_importer.rb): fails where it would.

    Returns (assignment titles, points possible, students as {identity column or title: cell}).
    """
    header = rows[0]
    assert len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1]), "invalid header row"
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    student_columns = 5
    assert re.search("Section", header[student_columns - 1]), "the last identity column must be Section"
    titles = header[student_columns:]
    points, students = {}, []
    for row in rows[1:]:
        assert len(row) == len(header)
        if re.search("Points Possible", row[0]):
            points = dict(zip(titles, row[student_columns:]))
            continue
        students.append(dict(zip(header, row)))
    return titles, points, students


def test_the_canvas_file_is_what_canvas_imports(out, tmp_path):
    """Does the Canvas file have Canvas's identity columns, a points possible row and each student's score after penalties?"""
    export(out, "canvas", tmp_path / "canvas.csv")
    rows = _read(tmp_path / "canvas.csv")
    assert rows[0] == [*CANVAS_IDENTITY, "01_a", "02_b"]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "6", "4"]
    titles, points, students = canvas_reads(rows)
    assert points == {"01_a": "6", "02_b": "4"}
    assert [(s["Student"], s["SIS Login ID"], s["01_a"], s["02_b"]) for s in students] == [
        ("ann", "ann", "6", "4"),
        ("bob", "bob", "2.5", ""),  # 4 - 1.5 late; 02_b a grader error: no grade, blank
        ("cy", "cy", "6", ""),  # nothing submitted: blank, Canvas keeps what it has
    ]


def test_a_roster_maps_our_ids_to_canvas_students(out, tmp_path):
    """With a roster of the instructor's columns, are Canvas's identity columns filled from it, in its order, with titles mapped?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufefflogin,Name,Canvas id,SIS User ID,Section\n"
                      "cy,\"Young, Cy\",303,S3,B\nann,\"Ames, Ann\",101,S1,A\ndee,\"Dale, Dee\",404,S4,B\n")
    warnings = export(out, "canvas", tmp_path / "canvas.csv", roster=roster, roster_key="login",
                      roster_columns=["Student=Name", "ID=Canvas id", "SIS Login ID=login"],
                      titles=["01_a=Lab A (9001)"])
    titles, points, students = canvas_reads(_read(tmp_path / "canvas.csv"))
    assert titles == ["Lab A (9001)", "02_b"] and points == {"Lab A (9001)": "6", "02_b": "4"}
    assert [list(s.values()) for s in students] == [
        ["Young, Cy", "303", "S3", "cy", "B", "6", ""],
        ["Ames, Ann", "101", "S1", "ann", "A", "6", "4"],
        ["Dale, Dee", "404", "S4", "dee", "B", "", ""],
        ["bob", "", "", "bob", "", "2.5", ""],  # graded, not in the roster: Canvas asks whom
    ]
    assert any("not in the roster" in w and "bob" in w for w in warnings)
    assert any("no grade here" in w and "dee" in w for w in warnings)
    assert any("grader-error" in w and "bob/02_b" in w for w in warnings)


def test_canvas_own_export_is_a_roster(out, tmp_path):
    """Is a gradebook exported from Canvas usable as the roster as it is (its points and test-student rows skipped)?"""
    roster = tmp_path / "canvas-export.csv"
    roster.write_text('Student,ID,SIS User ID,SIS Login ID,Section,Lab A (9001),Current Score\n'
                      '    Points Possible,,,,,6,(read only)\n'
                      '"Ames, Ann",101,S1,ann,A,,\n"Bo, Bob",102,S2,bob,A,,\n"Student, Test",999,,,A,,\n')
    warnings = export(out, "canvas", tmp_path / "canvas.csv", roster=roster)
    _, _, students = canvas_reads(_read(tmp_path / "canvas.csv"))
    assert [(s["Student"], s["ID"], s["01_a"]) for s in students] == [
        ("Ames, Ann", "101", "6"), ("Bo, Bob", "102", "2.5"), ("cy", "", "6")]
    assert len(warnings) == 2  # cy not in it; bob's grader error


def test_roster_mistakes_are_clear_errors(out, tmp_path):
    """A roster without the key column, an id twice, a mapping to a non-Canvas column: is each refused with a reason?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,login\nAnn,ann\n")
    with pytest.raises(GraderError, match=r"no column \['SIS Login ID'\]"):
        export(out, "canvas", tmp_path / "x.csv", roster=roster)
    roster.write_text("Student,login\nAnn,ann\nAnnie,ann\n")
    with pytest.raises(GraderError, match="twice"):
        export(out, "canvas", tmp_path / "x.csv", roster=roster, roster_key="login")
    with pytest.raises(GraderError, match="not Canvas columns"):
        export(out, "canvas", tmp_path / "x.csv", roster=roster, roster_key="login", roster_columns=["Email=login"])
    with pytest.raises(GraderError, match="not assignments"):
        export(out, "canvas", tmp_path / "x.csv", titles=["03_c=Lab C"])
    assert not (tmp_path / "x.csv").exists()
    proc = run_cli("export", str(tmp_path / "nowhere"), "--format", "canvas", "--out", str(tmp_path / "x.csv"))
    assert proc.returncode == 2 and "no grades.csv" in proc.stderr


def test_the_wide_table_has_a_row_per_student_and_a_column_per_question(out, tmp_path):
    """Does the wide CSV hold every score of grades.csv in its cell, blank for a grader error, and totals after penalties?"""
    proc = run_cli("export", str(out), "--format", "csv", "--out", str(tmp_path / "wide.csv"))
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in _dicts(tmp_path / "wide.csv")}
    assert list(next(iter(rows.values()))) == [
        "student", "01_a/one/q1", "01_a/one/q2", "01_a/two/q3", "02_b/b/q4",
        "01_a/late_penalty", "01_a/total", "02_b/late_penalty", "02_b/total", "total"]
    assert rows["bob"] == {"student": "bob", "01_a/one/q1": "1", "01_a/one/q2": "0", "01_a/two/q3": "3",
                           "02_b/b/q4": "", "01_a/late_penalty": "1.5", "01_a/total": "2.5",
                           "02_b/late_penalty": "0", "02_b/total": "", "total": ""}
    assert (rows["cy"]["02_b/total"], rows["cy"]["total"]) == ("", "6")
    assert rows["ann"]["total"] == "10"


@pytest.mark.slow
def test_exports_of_a_graded_class_agree_with_grades_csv(tiny_class, tmp_path):
    """For a class graded by the command line: is every grades.csv score in the wide table, and every total in the Canvas file?"""
    assert tiny_class.proc.returncode == 0, tiny_class.proc.stderr[-2000:]
    for fmt in ("csv", "canvas"):
        proc = run_cli("export", str(tiny_class.out), "--format", fmt, "--out", str(tmp_path / f"{fmt}.csv"))
        assert proc.returncode == 0, proc.stderr
    grades = _dicts(tiny_class.out / "grades.csv")
    wide = {r["student"]: r for r in _dicts(tmp_path / "csv.csv")}
    assert set(wide) == {r["student"] for r in grades} == {s.sid for s in tiny_class.roster}
    totals = {}
    for r in grades:
        assert wide[r["student"]][f"{r['assignment']}/{r['notebook']}/{r['question']}"] == f"{float(r['score']):g}"
        totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["score"])
    assert {s: float(w["total"]) for s, w in wide.items()} == totals
    _, points, students = canvas_reads(_read(tmp_path / "canvas.csv"))
    assert points == {"00_tiny": "3"}
    assert {s["SIS Login ID"]: float(s["00_tiny"]) for s in students} == totals
    assert read_grades(tiny_class.out).students == sorted(totals)

    roster = tmp_path / "roster.csv"  # the instructor's own columns, students in the registrar's order
    people = sorted(totals, reverse=True)
    roster.write_text("netid,Full name,canvas_user,Section\n" + "".join(
        f"{sid},Student {i},{9000 + i},Lab {i % 2}\n" for i, sid in enumerate(people)))
    proc = run_cli("export", str(tiny_class.out), "--format", "canvas", "--out", str(tmp_path / "roster.csv.out"),
                   "--roster", str(roster), "--roster-key", "netid", "--roster-column", "Student=Full name",
                   "--roster-column", "ID=canvas_user", "--roster-column", "SIS Login ID=netid",
                   "--title", "00_tiny=Tiny (4242)")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    rows = _read(tmp_path / "roster.csv.out")
    assert rows[0] == [*CANVAS_IDENTITY, "Tiny (4242)"] and rows[1] == [POINTS_POSSIBLE, "", "", "", "", "3"]
    assert rows[2:] == [[f"Student {i}", str(9000 + i), "", sid, f"Lab {i % 2}", f"{totals[sid]:g}"]
                        for i, sid in enumerate(people)]
