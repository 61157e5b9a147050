"""The one writer of the nbgrader gradebook (SQLite by default, any SQLAlchemy URL)."""

from __future__ import annotations

import warnings

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from autograder.grading import NotebookResult
from autograder.nbgrader_glue import alembic_on_path


class GradebookWriter:
    """Saves each notebook's scores as nbgrader auto-grades, committing per notebook."""

    def __init__(self, db_url: str):
        alembic_on_path()
        self.gb = Gradebook(db_url)  # creates the tables of a new database (SQLite or a server)
        self._submitted: dict[str, set[str]] = {}

    def has(self, res: NotebookResult) -> bool:
        """Does the gradebook hold a submission for this result's student and assignment?"""
        aid = res.task.assignment
        if aid not in self._submitted:
            try:
                self._submitted[aid] = {s.student_id for s in self.gb.assignment_submissions(aid)}
            except MissingEntry:
                self._submitted[aid] = set()
            self.gb.db.rollback()  # end the read: nbgrader's generate_assignment writes next
        return res.task.student in self._submitted[aid]

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.gb.close()

    def save(self, res: NotebookResult) -> None:
        with warnings.catch_warnings():
            # nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings; harmless
            warnings.simplefilter("ignore", SAWarning)
            self._save(res)

    def _save(self, res: NotebookResult) -> None:
        # idempotent: each (student, assignment, notebook, question) is one nbgrader grade row,
        # found and overwritten, so saving a result twice (a re-run, a resume) never duplicates
        task = res.task
        self.gb.update_or_create_student(task.student)
        try:
            self.gb.find_submission(task.assignment, task.student)
        except MissingEntry:
            self.gb.add_submission(task.assignment, task.student)
        if task.assignment in self._submitted:
            self._submitted[task.assignment].add(task.student)
        for row in res.rows:
            grade = self.gb.find_grade(row.question, task.notebook, task.assignment, task.student)
            grade.auto_score = row.score
            grade.needs_manual_grade = False
        self.gb.db.commit()
