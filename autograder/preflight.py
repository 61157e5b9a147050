"""Before a class is graded: the answer key must earn full marks here, by the same path.

A grader that cannot start a kernel, whose sandbox hides the interpreter, or whose sealed
checks disagree with the notebooks would otherwise give every student a zero and exit as if
all were well. So each notebook about to be graded is first graded once from its source
(the answer key, hidden tests included) on the same executor, in the same sandbox, with
the same limits and sealed checks. Anything short of full marks stops the run before any
student's grade is kept or anything is written, with a message naming the notebook, the
question and the reason (and, when kernels could not start, which step of starting one
failed: `doctor.kernel_steps`).

A grading run (`autograder.batch`) hands the answer keys to its workers first and the class
right behind them, so no worker waits for the preflight: what the students' notebooks gave
is held in memory until every answer key passed (`check`), and thrown away if one did not.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from autograder.executors import Executor, Job
from autograder.grading import Options
from autograder.model import NotebookResult, Status, Task
from autograder.nbgrader_glue import GraderError
from autograder.submission import Submission

#: The student id the answer key is graded under (its hidden inputs are seeded by it).
ANSWER_KEY = "answer-key"


@dataclass
class Preflight:
    """What the preflight graded, and how long it took."""

    results: list[NotebookResult] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """One line per question the answer key did not get full marks on."""
        return [f"{r.assignment}/{r.notebook} {r.question}: {r.status}: {r.message}"
                for res in self.results for r in res.rows
                if r.status != "ok" or r.score != r.max_score]


def answer_key_jobs(sources: dict) -> list[Job]:
    """One job per notebook kind: its source graded as a submission (and as its own release)."""
    return [Job(Task(ANSWER_KEY, aid, name, None), nb, nb,
                files=Submission(json.dumps(nb).encode()))
            for (aid, name), nb in sorted(sources.items())]


def run(executor: Executor, sources: dict, options: Options, progress: bool = True) -> Preflight:
    """Grade the answer key of each notebook in `sources`; raise GraderError unless all earn full marks.

    sources: {(assignment, notebook): source notebook}.
    """
    started = time.monotonic()
    found = Preflight()
    executor.run(answer_key_jobs(sources), options, lambda res, feedback, more: found.results.append(res),
                 progress=progress, desc="preflight")
    found.seconds = time.monotonic() - started
    check(found)
    return found


def check(found: Preflight) -> None:
    """Raise GraderError, naming every question short of full marks (and why), unless all earned them."""
    problems = found.problems()
    if problems:
        lines = "\n".join(f"  {p}" for p in problems[:20])
        advice = ""
        if any(r.status == Status.GRADER_ERROR for res in found.results for r in res.rows):
            from autograder.doctor import kernel_steps

            failed = [s for s in kernel_steps(time_kernel=False) if not s.ok]
            advice = ("\nstarting a kernel here: " + "; ".join(f"{s.name}: {s.detail}" for s in failed)
                      if failed else "") + "\nrun `python -m autograder doctor` for what to install or fix"
        raise GraderError(
            "preflight failed: the answer key does not earn full marks on this machine, so no "
            "student was graded and nothing was written (notebooks started beside the answer key were "
            f"discarded):\n{lines}{advice}"
        )
