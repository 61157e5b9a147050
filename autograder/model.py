"""What grading is about, as data: a task, the status of a question, its row, a notebook's result.

The pipeline (`autograder.batch`): tasks found in SUBMITTED -> a plan -> a preflight ->
an executor grades each task into a `NotebookResult` (rows, one per question) -> one
writer records results (gradebook, grades.csv, feedback, state) -> the report.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    """What happened to one question (a str: it is written as its value)."""

    OK = "ok"  # full marks
    FAILED = "failed"  # a test said wrong (or part of it, with partial credit)
    ERROR = "error"  # the answer raised (or is not written yet)
    TIMEOUT = "timeout"  # a cell ran out of time
    CRASHED = "crashed"  # the student's code killed the kernel
    MISSING = "missing"  # the notebook was not submitted
    INVALID = "invalid"  # the notebook could not be read (or was a link)
    #: the grader's own failure (a kernel that never starts, an exception of ours): not a
    #: grade. Never written to the gradebook or marked done; the next run grades it again,
    #: and this one exits 3.
    GRADER_ERROR = "grader-error"


@dataclass(frozen=True)
class Task:
    """One notebook of one student's assignment. path None: nothing was submitted."""

    student: str
    assignment: str
    notebook: str  # the expected name, without .ipynb
    path: Path | None
    note: str = ""  # e.g. which file was graded in place of a renamed notebook


@dataclass
class Row:
    """The grade of one question (a row of grades.csv)."""

    student: str
    assignment: str
    notebook: str
    question: str
    score: float
    max_score: float
    status: str  # a Status
    message: str
    #: what an instructor should look at: "sealed-disagrees" (the notebook's own test and
    #: the sealed check differ; the sealed one counts), "numerical-gradient"
    flags: str = ""
    #: the codes of the misconceptions the answer shows, comma-separated (course.diagnosis):
    #: empty when it is right, or wrong in no known way
    diagnosis: str = ""


@dataclass
class NotebookResult:
    """Everything grading one notebook produced, sent back by a worker as plain data."""

    task: Task
    rows: list[Row]
    graded: dict | None = None  # the executed notebook (nbformat JSON), if it ran
    seconds: float = 0.0
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    #: entries of the submission's folder that were not copied (links, special files, limits)
    left_out: list[str] = field(default_factory=list)
    #: answers found by the function or class they define (their cells had lost nbgrader's metadata)
    found_by_name: list[str] = field(default_factory=list)

    @property
    def grader_error(self) -> bool:
        """Did the grader fail on this notebook (a result that is not a grade)?"""
        return any(r.status == Status.GRADER_ERROR for r in self.rows)
