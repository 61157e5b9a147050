"""Grading on an existing Dask distributed cluster (``grade --scheduler ADDRESS``).

Each notebook is one Dask task: its submission folder travels to the worker as bytes (no
shared filesystem needed), read by the parent as grading always reads it (no link followed,
within limits: `autograder.submission`); the worker grades it with
`grading.grade_notebook`, and only the result (`NotebookResult`: rows, the executed notebook,
seconds, where) travels back. The parent records results one at a time as they arrive,
exactly as with the local pool. Tasks are submitted with ``pure=False`` and retries; a
worker that dies mid-task has its task re-run elsewhere by the scheduler (up to
``distributed.scheduler.allowed-failures`` times, then the notebook is a grader-error).

A worker needs this package installed with its ``grader`` extra (the same version as the
parent: the tasks are pickled references to ``autograder.cluster.grade_remote``), a
Python kernel (ipykernel) and the sandbox's tools (bubblewrap).
"""

from __future__ import annotations

import contextlib
import socket
import uuid

from autograder.executors import Executor, Job, WorkerLost
from autograder.grading import read_task
from autograder.model import NotebookResult, Task
from autograder.nbgrader_glue import GraderError
from autograder.submission import Submission
from autograder.worker import grade_and_render

#: Notebooks in flight per worker thread: enough to keep every worker busy while the
#: parent records results, few enough that the client does not hold a whole class in memory.
IN_FLIGHT_PER_THREAD = 4
#: Retries of a task that raised (grade_notebook catches the students' errors; this is for ours).
RETRIES = 2


def grade_remote(task: Task, files: Submission | None, source: dict, release: dict, options
                 ) -> tuple[NotebookResult, dict[str, bytes]]:
    """Run on a worker: grade the submission read by the parent (`grading.read_task`).

    The worker needs no access to SUBMITTED: the notebook and the files beside it travel
    as bytes, read there without following links and within the limits of `options`.
    Returns the result and its feedback files (`worker.grade_and_render`).
    """
    from distributed import get_worker

    res, feedback = grade_and_render(task, source, release, options, files=files)
    with contextlib.suppress(ValueError):  # ValueError: not inside a worker (called directly)
        res.worker = f"{socket.gethostname()} {get_worker().address}"
    return res, feedback


def _key(task: Task) -> str:
    return f"grade-{task.student}-{task.assignment}-{task.notebook}-{uuid.uuid4().hex[:8]}"


def _kind(job: Job) -> tuple[str, str, bool]:
    return job.task.assignment, job.task.notebook, job.source is job.release


class DaskCluster(Executor):
    """The Dask cluster of a scheduler: each job one task, a bounded number in flight."""

    def __init__(self, address: str):
        self.address = address
        self.where = f"Dask cluster at {address}"

    def _completed(self, jobs, options, later=None):
        from distributed import Client, as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        try:
            client = Client(self.address, timeout="30s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise GraderError(f"could not reach the Dask scheduler at {self.address}: {e}") from e
        try:
            if later is not None:  # made before anything is sent: the cluster needs every kind first
                jobs = [*jobs, *later()]
            threads = sum(client.nthreads().values()) or 1
            # each kind of notebook (source, release) travels to the cluster once, not per task;
            # an answer key (preflight) is graded as its own release
            kinds = {}
            for job in jobs:
                kinds.setdefault(_kind(job), job)
            shared = {k: client.scatter([j.source, j.release], hash=False) for k, j in sorted(kinds.items())}
            todo = iter(jobs)
            futures = {}

            def submit_next():
                job = next(todo, None)
                if job is None:
                    return None
                src, rel = shared[_kind(job)]
                # read here, as the local pool's workers read: the cluster never sees SUBMITTED
                files = job.files
                if files is None and job.task.path is not None:
                    files = read_task(job.task, options.limits)
                fut = client.submit(grade_remote, job.task, files, src, rel, options,
                                    key=_key(job.task), pure=False, retries=RETRIES)
                futures[fut] = job
                return fut

            first = [f for _ in range(max(2, IN_FLIGHT_PER_THREAD * threads)) if (f := submit_next()) is not None]
            queue = as_completed(first, loop=client.loop)
            for fut in queue:
                job = futures.pop(fut)
                try:
                    outcome = fut.result()
                except KilledWorker:
                    outcome = WorkerLost("the cluster's workers died again and again grading this notebook")
                except FutureCancelledError as e:
                    raise GraderError(f"the cluster cancelled the grading of {job.task.student}/"
                                      f"{job.task.assignment}: {e}") from e
                except Exception as e:  # a bug of ours must not stop the class
                    outcome = e
                fut.release()
                yield job, outcome, queue.has_ready()
                if (nxt := submit_next()) is not None:
                    queue.add(nxt)
        finally:
            client.close()
