"""The course's own assignments graded end to end through the command line.

A perfect class earns full marks, a blank one 0, and every bug of the bank loses (points of)
its own question: never another exercise's. (A question without an answer cell of its own, such
as notebook 05's whole-network test, checks several answers at once and may fail too.)
"""

from __future__ import annotations

import csv
from collections import defaultdict

import nbformat
import pytest

from autograder.classroom import answers_of, bug_students, fill
from autograder.demo import load_notebooks
from autograder.grading import questions
from autograder.nbgrader_glue import assignment_ids
from tests.autograder.conftest import run_cli
from tests.autograder.test_pages_in_browser import browser, context  # noqa: F401 (fixtures used below)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """(notebooks, {student: {notebook: {exercise: bug}}}, rows by (student, assignment, question), OUT)."""
    root = tmp_path_factory.mktemp("course")
    notebooks = load_notebooks(assignment_ids())
    bugs = defaultdict(dict)
    for (aid, name), (source, release) in notebooks.items():
        right = answers_of(source)
        students = {"perfect": fill(release, right), "blank": release}
        for sid, chosen in bug_students(source, release):
            students[sid] = fill(release, right | {ex: b.source for ex, b in chosen.items()})
            bugs[sid][aid] = chosen
        for sid, nb in students.items():
            path = root / "submitted" / sid / aid / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
    proc = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (root / "out" / "grades.csv").open() as f:
        rows = {(r["student"], r["assignment"], r["question"]): r for r in csv.DictReader(f)}
    return notebooks, bugs, rows, root / "out"


def _questions(notebooks):
    for (aid, _), (source, _) in notebooks.items():
        for q, points in questions(source):
            yield aid, q, points


def test_perfect_class_gets_full_marks(graded_course):
    """Do the solutions, pasted into the release, earn every point of every question?"""
    notebooks, _, rows, _ = graded_course
    for aid, q, points in _questions(notebooks):
        row = rows["perfect", aid, q]
        assert (row["status"], float(row["score"])) == ("ok", points), row


def test_blank_class_gets_zero(graded_course):
    """Does an untouched release earn nothing, each question saying it is not answered?"""
    notebooks, _, rows, _ = graded_course
    for aid, q, _ in _questions(notebooks):
        row = rows["blank", aid, q]
        assert float(row["score"]) == 0.0, row
        assert row["status"] in ("error", "failed"), row


def test_each_bug_loses_its_own_question_and_no_other(graded_course):
    """Does every bug of the bank cost exactly its own question (and at most the questions
    that use its answer)?"""
    from course.exercises import EXERCISES

    notebooks, bugs, rows, _ = graded_course
    checked = 0
    for (aid, _), (source, _) in notebooks.items():
        answered = set(answers_of(source))
        for sid, per_assignment in bugs.items():
            chosen = per_assignment.get(aid)
            if not chosen:
                continue
            lost = {q for a, q, _ in _questions({k: v for k, v in notebooks.items() if k[0] == aid})
                    if rows[sid, aid, q]["status"] != "ok"}
            for exercise, bug in chosen.items():
                checked += 1
                assert f"test_{exercise}" in lost, f"{aid}: bug {exercise}:{bug.name} was not caught"
            # a question whose exercise uses a chosen one's answer (its `requires`) may lose too
            uses = {e.question for e in EXERCISES.values() if set(e.requires) & set(chosen)}
            others = {q for q in lost if q.removeprefix("test_") in answered} - {f"test_{e}" for e in chosen} - uses
            assert not others, f"{aid}/{sid}: bugs {sorted(chosen)} also cost {sorted(others)}"
            for q in lost:  # a wrong part costs its share (dx, dw, db), never more than the question
                assert float(rows[sid, aid, q]["score"]) < float(rows[sid, aid, q]["max_score"])
    assert checked == sum(len(c) for per in bugs.values() for c in per.values()) > 0


def test_every_bug_is_named_in_grades_csv_and_its_message(graded_course):
    """Does each bug's row carry its misconception's code, its message the student's sentence;
    and no right or blank answer a diagnosis?"""
    from course.exercises import EXERCISES

    notebooks, bugs, rows, _ = graded_course
    named = 0
    for sid, per_assignment in bugs.items():
        for aid, chosen in per_assignment.items():
            for exercise, bug in chosen.items():
                row = rows[sid, aid, f"test_{exercise}"]
                sentence = {m.code: m.student for m in EXERCISES[exercise].misconceptions}[bug.code]
                assert row["diagnosis"] == bug.code, (sid, exercise, bug.name, row["diagnosis"], row["message"])
                assert sentence in row["message"], row["message"]
                named += 1
    assert named == sum(len(c) for per in bugs.values() for c in per.values()) > 80
    for (sid, _, _), row in rows.items():
        if sid in ("perfect", "blank"):
            assert row["diagnosis"] == "", row


_TABLE_UNDER_JS = """(heading) => {
  const h = Array.from(document.querySelectorAll('h2')).find(e => e.innerText.trim() === heading);
  let t = h && h.nextElementSibling;
  while (t && t.tagName !== 'TABLE' && t.tagName !== 'H2') t = t.nextElementSibling;
  if (!t || t.tagName !== 'TABLE') return null;
  return Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()));
}"""


def test_the_report_shows_what_the_class_got_wrong(graded_course, context):  # noqa: F811 (the fixture)
    """In the browser: the section's table counts what grades.csv's diagnosis column says, most
    frequent first, each with a working example link; its plot draws the most frequent; the per-question
    statistics are there."""
    from collections import Counter

    from tests.autograder.test_pages_in_browser import Tab

    _, _, rows, out = graded_course
    tab = Tab(context).open(out / "report.html")
    assert not tab.image_problems()
    table = tab.page.evaluate(_TABLE_UNDER_JS, "What the class got wrong")
    assert table is not None, "no table under 'What the class got wrong'"
    head, body = table[0], table[1:]
    assert head[:3] == ["assignment", "question", "misconception"] and "students" in head
    counted = Counter((a, q, code) for (_, a, q), r in rows.items() for code in r["diagnosis"].split(",") if code)
    shown = {(r[0], r[1], r[2]): int(r[head.index("students")]) for r in body}
    assert shown == dict(counted) and len(shown) > 60
    counts = [int(r[head.index("students")]) for r in body]
    assert counts == sorted(counts, reverse=True)
    plot = next(p for p in tab.plots() if p["label"] == "The most frequent misconceptions")
    assert [int(b["text"].rpartition(": ")[2]) for b in plot["bars"]] == counts[:15]
    assert all(b["width"] > 0 for b in plot["bars"]) and plot["shown"]
    assert all(r[head.index("what the students did")] for r in body)
    links = tab.page.locator("h2#what-the-class-got-wrong ~ table").first.locator("a")
    assert links.count() == len(body)
    for href in links.evaluate_all("as => as.map(a => a.getAttribute('href'))")[:10]:
        assert (out / href).is_file(), href
    stats = tab.page.evaluate(_TABLE_UNDER_JS, "Questions")
    assert stats[0][:7] == ["assignment", "question", "points", "mean score", "spread", "full marks",
                            "discrimination"]
