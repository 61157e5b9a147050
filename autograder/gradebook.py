"""The one writer of the nbgrader gradebook (SQLite by default, any SQLAlchemy URL).

Results are written in batches, one transaction per burst of results that arrive
together, with no query per result for a new submission: a commit costs an fsync on SQLite and a round trip on a server, and
nbgrader's own `add_submission` and `find_grade` commit or query once per call. Through
them the parent process spent about 55 ms per notebook writing (the one serial part of
grading a class); batched, about 12 ms, feedback and state files included. What a
result must not outrun (its state file, which marks it done for a resumed run) is handed
over as a callback and runs only after the commit that holds the result.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy.exc import SAWarning

from autograder.model import NotebookResult
from autograder.nbgrader_glue import alembic_on_path, use_alembic_head


class GradebookWriter:
    """Saves each notebook's scores as nbgrader auto-grades, committing in batches.

    A batch is committed as soon as no other result is waiting to be saved (so a finished
    result never waits on a slow notebook), or once it holds `batch` results or its oldest
    is `period` seconds old during a burst, and always on leaving the ``with`` block,
    whether the run ended, failed or was interrupted: every result handed to `save` is
    committed or its callback never runs.
    """

    def __init__(self, db_url: str, *, batch: int = 100, period: float = 1.0):
        alembic_on_path()
        use_alembic_head()
        self.gb = Gradebook(db_url)  # creates the tables of a new database (SQLite or a server)
        self.batch, self.period = batch, period
        self._pending: list[Callable[[], None]] = []
        self._oldest = 0.0
        self._students = {s.id for s in self.gb.students}
        self._submitted: dict[str, set[str]] = {}
        self._grade_rows: dict[tuple[str, str], dict[str, dict[str, Grade]]] = {}
        self._layouts: dict[str, tuple] = {}

    def has(self, res: NotebookResult) -> bool:
        """Does the gradebook hold a submission for this result's student and assignment?"""
        aid = res.task.assignment
        if aid not in self._submitted:
            try:
                self._submitted[aid] = {s.student_id for s in self.gb.assignment_submissions(aid)}
            except MissingEntry:
                self._submitted[aid] = set()
            self.flush()  # nothing staged may be lost to the rollback below
            self.gb.db.rollback()  # end the read: nbgrader's generate_assignment writes next
        return res.task.student in self._submitted[aid]

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.flush()
        except Exception:
            if exc is None:
                raise
            # already failing: the pending results are simply graded again on resume
        finally:
            self.gb.close()

    def save(self, res: NotebookResult, then: Callable[[], None] | None = None, *, more: bool = False) -> None:
        """Stage `res`'s grades; `then()` runs once they are committed.

        more: other results are ready to be saved right away, so the commit may wait for them.
        """
        with warnings.catch_warnings():
            # nbgrader's models trip SQLAlchemy 2's autoflush warnings; harmless
            warnings.simplefilter("ignore", SAWarning)
            self._stage(res)
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending.append(then or (lambda: None))
        if not more or len(self._pending) >= self.batch or time.monotonic() - self._oldest >= self.period:
            self.flush()

    def flush(self) -> None:
        """Commit the staged results, then run their callbacks in order."""
        if not self._pending:
            return
        try:
            self.gb.db.commit()
        except Exception:
            self.gb.db.rollback()
            self._pending.clear()
            # what the rollback undid is unknown: read it all again
            self._submitted.clear()
            self._grade_rows.clear()
            self._students = {s.id for s in self.gb.students}
            raise
        done, self._pending = self._pending, []
        for then in done:
            then()

    def _stage(self, res: NotebookResult) -> None:
        # idempotent: each (student, assignment, notebook, question) is one nbgrader grade row,
        # found and overwritten, so saving a result twice (a re-run, a resume) never duplicates
        task = res.task
        with self.gb.db.no_autoflush:  # the rows go out together at the commit
            grades = self._grades(task.assignment, task.student)[task.notebook]
        for row in res.rows:
            if row.question not in grades:
                raise MissingEntry(f"No such grade: {task.assignment}/{task.notebook}/{row.question}")
            grades[row.question].auto_score = row.score
            grades[row.question].needs_manual_grade = False

    def _grades(self, assignment: str, student: str) -> dict[str, dict[str, Grade]]:
        """{notebook: {question: Grade}} of a submission, found or made once per run."""
        key = assignment, student
        if key not in self._grade_rows:
            if student not in self._students:
                self.gb.db.add(Student(id=student))
                self._students.add(student)
            try:
                submission = self.gb.find_submission(assignment, student)
            except MissingEntry:
                self._grade_rows[key] = self._new_submission(assignment, student)
            else:
                self._grade_rows[key] = {nb.name: {g.name: g for g in nb.grades} for nb in submission.notebooks}
            if assignment in self._submitted:
                self._submitted[assignment].add(student)
        return self._grade_rows[key]

    def _new_submission(self, assignment: str, student: str) -> dict[str, dict[str, Grade]]:
        """Stage the rows nbgrader's `Gradebook.add_submission` makes, without its commit.

        The same structure, so nbgrader's tools read it as their own (a test compares the
        two): one submitted notebook per notebook, a grade per grade cell, a comment per
        solution cell, a comment and a grade per task cell. Returns its grades like `_grades`.
        """
        if assignment not in self._layouts:
            a = self.gb.find_assignment(assignment)
            self._layouts[assignment] = (a.id, [
                (nb.id, nb.name, [(c.id, c.name) for c in nb.grade_cells],
                 [c.id for c in nb.solution_cells], [(c.id, c.name) for c in nb.task_cells])
                for nb in a.notebooks
            ])
        assignment_id, notebooks = self._layouts[assignment]
        # ids rather than objects: nothing to load, and nothing loaded goes stale at a commit
        submission = SubmittedAssignment(assignment_id=assignment_id, student_id=student)
        grades = {}
        for nb_id, nb_name, grade_cells, solution_cells, task_cells in notebooks:
            nb = SubmittedNotebook(notebook_id=nb_id, assignment=submission)
            grades[nb_name] = {name: Grade(cell_id=cid, notebook=nb) for cid, name in grade_cells + task_cells}
            for cid in solution_cells + [cid for cid, _ in task_cells]:
                Comment(cell_id=cid, notebook=nb)
        self.gb.db.add(submission)
        return grades
