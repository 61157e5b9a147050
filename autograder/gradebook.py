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
        self.gb = Gradebook(db_url)

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
        task = res.task
        self.gb.update_or_create_student(task.student)
        try:
            self.gb.find_submission(task.assignment, task.student)
        except MissingEntry:
            self.gb.add_submission(task.assignment, task.student)
        for row in res.rows:
            grade = self.gb.find_grade(row.question, task.notebook, task.assignment, task.student)
            grade.auto_score = row.score
            grade.needs_manual_grade = False
        self.gb.db.commit()
