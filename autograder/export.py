"""Grades from OUT/grades.csv into what instructors import or paste: Canvas's gradebook, a wide table.

``python -m autograder export OUT --format canvas|csv --out FILE``. Both read the grades.csv of
a `grade` run (every result, old and new; late penalties included) and count as
``nbgrader export`` does: an assignment's score is the sum of its questions' scores minus its
notebooks' late penalties, never below 0.

**canvas**: a file for Canvas's gradebook import (Grades > Import), in the layout Canvas's own
export writes and its importer reads (instructure/canvas-lms, lib/gradebook_exporter.rb and
app/models/gradebook_importer.rb): a header ``Student, ID, SIS User ID, SIS Login ID, Section``
then one column per assignment; a second row whose first cell is ``    Points Possible`` giving
each assignment's points; then one row per student. Canvas finds a student by its ``ID``
(Canvas's user id), else ``SIS User ID``, else ``SIS Login ID``, else by name; an assignment
column by ``Title (canvas id)``, else by its exact title, else it creates the assignment with
the points possible row. A blank cell changes nothing in Canvas.

Our student ids are the folder names under SUBMITTED (JupyterHub user names with nbgrader's
exchange). Without a roster they go into ``Student`` and ``SIS Login ID``, which works when
they are the students' Canvas logins. A roster (``--roster FILE``) maps them: a CSV with a header,
one row per student, in which ``--roster-key`` (default ``SIS Login ID``) holds our id and the
identity columns are copied from roster columns of the same name, or of the name given by
``--roster-column "CANVAS=ROSTER"``. So Canvas's own gradebook export is a roster as it is.

**csv**: one row per student, one column per question (``assignment/notebook/question``), then
per assignment its late penalty and total, then the total: the table to paste into a spreadsheet.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from autograder.model import Status
from autograder.nbgrader_glue import GraderError
from autograder.outputs import write_csv

FORMATS = ("canvas", "csv")
#: Canvas's student identity columns, in the order its importer expects them.
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
#: The first cell of Canvas's points-possible row (its exporter writes four leading spaces;
#: its importer looks for "Points Possible").
POINTS_POSSIBLE = "    Points Possible"
DEFAULT_ROSTER_KEY = "SIS Login ID"


def _number(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


@dataclass
class Gradesheet:
    """What grades.csv says, by student.

    questions: (assignment, notebook, question) in the order grades.csv first lists them;
    scores: {student: {question key: score, or None for a grader error}};
    penalties: {student: {(assignment, notebook): late penalty}}.
    """

    questions: list[tuple[str, str, str]] = field(default_factory=list)
    max_score: dict[tuple[str, str, str], float] = field(default_factory=dict)
    scores: dict[str, dict[tuple[str, str, str], float | None]] = field(default_factory=dict)
    penalties: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)

    @property
    def students(self) -> list[str]:
        return sorted(self.scores)

    @property
    def assignments(self) -> list[str]:
        return sorted({a for a, _, _ in self.questions})

    def possible(self, assignment: str) -> float:
        return sum(m for (a, _, _), m in self.max_score.items() if a == assignment)

    def penalty(self, student: str, assignment: str) -> float:
        return sum(p for (a, _), p in self.penalties.get(student, {}).items() if a == assignment)

    def score(self, student: str, assignment: str) -> float | None:
        """The assignment's score after late penalties (nbgrader export's), or None when
        there is none: nothing submitted, or a grader error (not a grade)."""
        mine = [s for (a, _, _), s in self.scores.get(student, {}).items() if a == assignment]
        if not mine or any(s is None for s in mine):
            return None
        return max(0.0, sum(mine) - self.penalty(student, assignment))

    def grader_errors(self) -> list[tuple[str, str]]:
        return sorted({(st, a) for st, qs in self.scores.items() for (a, _, _), s in qs.items() if s is None})


def read_grades(out: Path) -> Gradesheet:
    """The Gradesheet of OUT/grades.csv (as `grade` writes it)."""
    path = Path(out) / "grades.csv"
    if not path.is_file():
        raise GraderError(f"no grades.csv in {out}: export reads the output folder of `grade`")
    sheet = Gradesheet()
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                key = (row["assignment"], row["notebook"], row["question"])
                student, status = row["student"], row["status"]
                max_score = float(row["max_score"])
                score = None if status == Status.GRADER_ERROR else float(row["score"])
                penalty = float(row.get("notebook_late_penalty") or 0.0)
            except (KeyError, TypeError, ValueError) as e:
                raise GraderError(f"{path} is not a grades.csv of this grader ({type(e).__name__}: {e})") from e
            if key not in sheet.max_score:
                sheet.questions.append(key)
            sheet.max_score[key] = max_score
            sheet.scores.setdefault(student, {})[key] = score
            sheet.penalties.setdefault(student, {})[key[0], key[1]] = penalty
    return sheet


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """'NAME=VALUE' options as a dict."""
    found = {}
    for v in values or ():
        name, sep, value = v.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GraderError(f"{what} takes NAME=VALUE, got {v!r}")
        found[name.strip()] = value.strip()
    return found


def read_roster(path: Path, key: str = DEFAULT_ROSTER_KEY,
                columns: dict[str, str] | None = None) -> list[tuple[str, dict[str, str]]]:
    """[(our student id, {Canvas identity column: value})] from a roster CSV, in its order.

    key: the roster column holding our ids; columns: {Canvas column: roster column}, on top
    of same-named columns. Rows without an id (Canvas's points-possible row, its test
    student) are skipped; an id twice is an error.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's BOM
            rows = list(csv.DictReader(f))
            header = list(rows[0].keys()) if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise GraderError(f"cannot read the roster {path}: {e}") from e
    mapping = {c: c for c in CANVAS_IDENTITY if c in header} | (columns or {})
    unknown_canvas = sorted(set(columns or {}) - set(CANVAS_IDENTITY))
    if unknown_canvas:
        raise GraderError(f"--roster-column names {unknown_canvas}, not Canvas columns ({', '.join(CANVAS_IDENTITY)})")
    missing = sorted({key, *mapping.values()} - set(header))
    if missing:
        raise GraderError(f"the roster {path} has no column {missing}; its columns: {header}")
    found, seen = [], set()
    for row in rows:
        sid = (row.get(key) or "").strip()
        if not sid or "Points Possible" in (row.get("Student") or ""):
            continue
        if sid in seen:
            raise GraderError(f"the roster {path} lists {key} {sid!r} twice")
        seen.add(sid)
        found.append((sid, {canvas: (row.get(col) or "").strip() for canvas, col in mapping.items()}))
    return found


def canvas_table(sheet: Gradesheet, roster: list[tuple[str, dict[str, str]]] | None = None,
                 titles: dict[str, str] | None = None) -> tuple[list[str], list[dict], list[str]]:
    """(columns, rows, warnings) of Canvas's gradebook import; rows[0] is the points possible row."""
    assignments = sheet.assignments
    titles = {a: (titles or {}).get(a, a) for a in assignments}
    columns = CANVAS_IDENTITY + [titles[a] for a in assignments]
    rows = [{"Student": POINTS_POSSIBLE} | {titles[a]: _number(sheet.possible(a)) for a in assignments}]
    warnings = []
    people = list(roster) if roster is not None else []
    listed = {sid for sid, _ in people}
    strays = [s for s in sheet.students if s not in listed]
    if roster is not None and strays:
        warnings.append(f"{len(strays)} graded student(s) not in the roster, written with their id as "
                        f"Student and SIS Login ID (Canvas asks whom they are): {', '.join(strays[:10])}")
    people += [(s, {"Student": s, "SIS Login ID": s}) for s in strays]
    ungraded = [sid for sid, _ in people if sid not in sheet.scores]
    if ungraded:
        warnings.append(f"{len(ungraded)} roster student(s) have no grade here; their cells are blank "
                        f"(Canvas keeps what it has): {', '.join(ungraded[:10])}")
    for sid, identity in people:
        row = {c: identity.get(c, "") for c in CANVAS_IDENTITY}
        for a in assignments:
            score = sheet.score(sid, a)
            row[titles[a]] = "" if score is None else _number(score)
        rows.append(row)
    errors = sheet.grader_errors()
    if errors:
        warnings.append(f"{len(errors)} assignment(s) left blank: the grader failed on them (grader-error, "
                        "not a grade); run grade again, then export: "
                        + ", ".join(f"{s}/{a}" for s, a in errors[:10]))
    return columns, rows, warnings


def wide_table(sheet: Gradesheet) -> tuple[list[str], list[dict]]:
    """(columns, rows): one row per student, a column per question, per assignment penalty and total."""
    qcols = {k: "/".join(k) for k in sheet.questions}
    columns = ["student", *qcols.values()]
    for a in sheet.assignments:
        columns += [f"{a}/late_penalty", f"{a}/total"]
    columns.append("total")
    rows = []
    for student in sheet.students:
        mine = sheet.scores[student]
        row = {"student": student}
        for k, col in qcols.items():
            row[col] = "" if mine.get(k) is None else _number(mine[k])
        totals = []
        for a in sheet.assignments:
            score = sheet.score(student, a)
            submitted = any(k[0] == a for k in mine)
            row[f"{a}/late_penalty"] = _number(sheet.penalty(student, a)) if submitted else ""
            row[f"{a}/total"] = "" if score is None else _number(score)
            totals.append(score if submitted else 0.0)  # nothing submitted: 0, as nbgrader export
        row["total"] = "" if any(t is None for t in totals) else _number(sum(totals))
        rows.append(row)
    return columns, rows


def export(out: Path, fmt: str, dest: Path, *, roster: Path | None = None, roster_key: str = DEFAULT_ROSTER_KEY,
           roster_columns: list[str] | None = None, titles: list[str] | None = None) -> list[str]:
    """Write the grades of OUT in format `fmt` to dest; returns warnings for the instructor.

    roster_columns: 'CANVAS=ROSTER' strings; titles: 'ASSIGNMENT=CANVAS TITLE' strings.
    """
    if fmt not in FORMATS:
        raise GraderError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    sheet = read_grades(out)
    if fmt == "csv":
        if roster is not None or roster_columns or titles:
            raise GraderError("--roster, --roster-column and --title are for --format canvas")
        columns, rows = wide_table(sheet)
        warnings = []
    else:
        people = read_roster(roster, roster_key, _pairs(roster_columns, "--roster-column")) if roster else None
        names = _pairs(titles, "--title")
        unknown = sorted(set(names) - set(sheet.assignments))
        if unknown:
            raise GraderError(f"--title names {unknown}, not assignments of {out}/grades.csv ({sheet.assignments})")
        columns, rows, warnings = canvas_table(sheet, people, names)
    write_csv(Path(dest), columns, rows)
    return warnings
