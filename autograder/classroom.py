"""Make a class of synthetic submissions: perfect, blank, partial, buggy and broken.

Used by the demo, the end-to-end tests and the benchmarks. Every student is built from
the student release (what a real student starts from) with answer cells filled in from
the source notebook (right answers) or from the bug bank (wrong ones).
"""

from __future__ import annotations

import ast
import copy
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.restore import grade_id, is_answer, is_test, strip_solution_markers
from solutions.bugs import all_bugs

#: A snippet per sabotage, placed in one answer cell (after the right answer).
SABOTAGE = {
    "infinite_loop": "while True:\n    pass",
    "kernel_exit": "import os\nos._exit(1)",
    "memory_bomb": "_hog = []\nwhile True:\n    _hog.append(bytearray(10**7))",
    "huge_output": "for _ in range(20_000):\n    print('spam ' * 40)",
    "warning": "import warnings\nwarnings.warn('a harmless warning from a correct answer')",
}


@dataclass
class Student:
    """A synthetic student: id, what they are, and how their notebook is made."""

    sid: str
    kind: str
    detail: str = ""


def answers_of(nb) -> dict[str, str]:
    """grade_id -> source of every answer cell, without nbgrader's solution markers."""
    return {grade_id(c): strip_solution_markers(c.source) for c in nb.cells if is_answer(c) and grade_id(c)}


def fill(release, answers: dict[str, str]):
    """A copy of the release notebook with some answer cells replaced."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def _with_sabotage(nb, gid: str, snippet: str):
    """Put snippet first in the body of answer gid's function: it runs when its test calls it."""
    for cell in nb.cells:
        if grade_id(cell) != gid:
            continue
        lines = cell.source.split("\n")
        fn = next((n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef | ast.ClassDef)), None)
        if fn is None:
            cell.source = snippet + "\n" + cell.source
            continue
        body = fn.body
        if isinstance(fn, ast.ClassDef):  # sabotage the first method instead
            body = next(n for n in body if isinstance(n, ast.FunctionDef)).body
        has_doc = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
        target = body[1] if has_doc and len(body) > 1 else body[0]
        indent = " " * target.col_offset
        at = target.lineno - 1
        lines[at:at] = [indent + s for s in snippet.split("\n")]
        cell.source = "\n".join(lines)
    return nb


def roster(exercises: list[str], n: int) -> list[Student]:
    """n students: a fixed mix of archetypes first, then bug-bank students cycling the bugs
    (one of each exercise in turn)."""
    by_exercise = {}
    for b in all_bugs():
        if b.exercise in exercises:
            by_exercise.setdefault(b.exercise, []).append(b)
    # round robin over the exercises: a class makes mistakes in all of them
    bugs = [b for group in itertools.zip_longest(*by_exercise.values()) for b in group if b is not None]
    base = [
        Student("perfect_1", "perfect"), Student("perfect_2", "perfect"), Student("blank", "blank"),
        Student("partial", "partial"), Student("invalid_json", "invalid_json"), Student("empty_file", "empty_file"),
        Student("missing", "missing"), Student("renamed", "renamed"), Student("deleted_cells", "deleted_cells"),
        Student("edited_test", "edited_test"), Student("reordered", "reordered"),
        Student("extra_files", "extra_files"),
        *(Student(k, k) for k in SABOTAGE),
    ]
    students = base[:n]
    for i in range(n - len(students)):
        if not bugs:
            students.append(Student(f"perfect_{i + 3}", "perfect"))
            continue
        bug = bugs[i % len(bugs)]
        students.append(Student(f"bug_{i + 1:02d}", "bug", f"{bug.exercise}:{bug.name}"))
    return students


def write_student(student: Student, source, release, dest: Path) -> None:
    """Write one student's submission of one notebook to dest (…/<student>/<aid>/<nb>.ipynb)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    right = answers_of(source)
    first = next(iter(right), None)
    kind = student.kind
    if kind == "missing":
        return
    if kind == "empty_file":
        dest.write_text("")
        return
    if kind == "invalid_json":
        dest.write_text(nbformat.writes(fill(release, right))[:-40])
        return
    nb = fill(release, {} if kind == "blank" else right)
    if kind == "partial":
        nb = fill(release, dict(list(right.items())[: max(1, len(right) // 2)]))
    elif kind == "bug":
        exercise, name = student.detail.split(":")
        bug = next(b for b in all_bugs() if (b.exercise, b.name) == (exercise, name))
        nb = fill(nb, {exercise: bug.source}) if exercise in right else nb
    elif kind == "deleted_cells":
        tests = [c for c in nb.cells if is_test(c)]
        nb.cells = [c for c in nb.cells if c is not tests[0] and grade_id(c) != first]
    elif kind == "edited_test":
        for cell in nb.cells:
            if is_test(cell):
                cell.source = "pass  # trust me"
    elif kind == "reordered":
        nb.cells = nb.cells[::-1] + [copy.deepcopy(c) for c in nb.cells if is_answer(c)]
    elif kind in SABOTAGE and first:
        nb = _with_sabotage(nb, first, SABOTAGE[kind])
    if kind == "renamed":
        dest = dest.with_name(dest.stem + " (1).ipynb")
    if kind == "extra_files":  # scratch work beside the answer: a copy, notes, a data folder
        (dest.parent / "scratch.ipynb").write_text(nbformat.writes(release))
        (dest.parent / "notes.txt").write_text("things to ask in office hours\n")
        (dest.parent / "data").mkdir(exist_ok=True)
        (dest.parent / "data" / "weights.npy").write_bytes(b"\x93NUMPY not really")
    dest.write_text(json.dumps(nbformat.from_dict(nb), indent=1))


def make_class(submitted: Path, notebooks: dict, n: int) -> list[Student]:
    """Write a class of n students under submitted/<student>/<aid>/<nb>.ipynb.

    notebooks: {(assignment, notebook): (source, release)}. Returns the roster.
    """
    exercises = sorted({g for src, _ in notebooks.values() for g in answers_of(src)})
    students = roster(exercises, n)
    for student in students:
        for (aid, name), (source, release) in notebooks.items():
            write_student(student, source, release, submitted / student.sid / aid / f"{name}.ipynb")
    return students


def bug_students(source, release) -> list[tuple[str, dict]]:
    """Students carrying every bug of the bank that fits this notebook, packed tightly.

    Bugs of different exercises share a student (each must then lose exactly its own
    questions), so there are about as many students as the most bugs of any one exercise;
    an exercise that uses others' answers (its declaration's `requires`) gets its bugs in
    students whose answers to those are right. Returns [(student id, {exercise: Bug})].
    """
    from course.exercises import EXERCISES

    by_exercise = {}
    for bug in all_bugs():
        if bug.exercise in answers_of(source):
            by_exercise.setdefault(bug.exercise, []).append(bug)
    start = {}
    for ex in by_exercise:
        needs = [r for e in EXERCISES.values() if e.function == ex for r in e.requires]
        start[ex] = max((start.get(r, 0) + len(by_exercise.get(r, [])) for r in needs), default=0)
    n = max((start[ex] + len(b) for ex, b in by_exercise.items()), default=0)
    return [
        (f"bugs_{i + 1:02d}", {ex: bugs[i - start[ex]] for ex, bugs in by_exercise.items()
                               if 0 <= i - start[ex] < len(bugs)})
        for i in range(n)
    ]
