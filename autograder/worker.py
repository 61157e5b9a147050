"""What a worker runs for one notebook (a local pool process or a Dask worker alike).

It grades the notebook and renders its feedback page there: rendering (nbconvert) costs
about ten times the gradebook write, and done in the one parent process it would cap a
whole cluster's throughput. The parent then only writes the returned bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from autograder.grading import grade_notebook
from autograder.model import NotebookResult, Task

#: Tests only: comma-separated student ids whose grading fails as a bug of the grader would.
FAULT_VAR = "AUTOGRADER_INJECT_FAULT"


def warm_up() -> None:
    """What a worker does as it starts, before its first notebook: import what grading needs
    (this module imported `grading`, hence nbclient, numpy, `course`), check the sandbox once,
    copy `course` for it and start its fork server (warm kernels), if the kernels' environment
    is built (the parent builds it)."""
    from autograder import feedback, kernel_env, sandbox  # noqa: F401

    if kernel_env.built():
        sandbox.status()
        sandbox.support_lib()
        sandbox.fork_server()


def render_feedback(res: NotebookResult) -> dict[str, bytes]:
    """The files `feedback.write_feedback` writes for res, as {path relative to OUT: bytes}."""
    from autograder.feedback import write_feedback

    with tempfile.TemporaryDirectory(prefix="autograder-feedback-") as tmp:
        write_feedback(Path(tmp), res)
        return {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}


def grade_and_render(task: Task, source: dict, release: dict, options, files=None
                     ) -> tuple[NotebookResult, dict[str, bytes]]:
    """Grade one notebook; return its result (without the executed notebook) and its feedback files.

    files: the submission as read by the parent (`grading.read_task`), or None to read it here.
    """
    if task.student in os.environ.get(FAULT_VAR, "").split(","):
        raise RuntimeError(f"a fault injected by {FAULT_VAR} (tests only)")
    res = grade_notebook(task, source, release, options, files=files)
    files = render_feedback(res)
    res.graded = None  # it is in the files; no need to send it back twice
    return res, files
