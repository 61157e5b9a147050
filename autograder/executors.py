"""Where notebooks are graded: a local process pool, or a Dask cluster (`autograder.cluster`).

Both take `Job`s and hand each finished result to a callback, in this process, as results
arrive. What they share lives here once: the progress bar, and turning a failure of the
grader's own machinery (a worker process that died, an exception in our code) into a
`grader-error` result for that notebook, which is never a student's zero.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context

from tqdm import tqdm

from autograder import sandbox
from autograder.grading import Options, grader_error
from autograder.model import NotebookResult, Task
from autograder.submission import Submission
from autograder.worker import grade_and_render, warm_up

#: on_result(result, feedback files or None, more): more says other results are ready too
OnResult = Callable[[NotebookResult, dict | None, bool], None]


@dataclass(frozen=True, eq=False)  # eq=False: jobs are told apart by identity (hashable)
class Job:
    """One notebook to grade: the task, what it is graded against, and (optionally) its files.

    files: the submission already read (the answer key in a preflight, a Dask task); None:
    the worker reads task.path itself.
    """

    task: Task
    source: dict
    release: dict
    files: Submission | None = None


class Executor:
    """Grades jobs somewhere; subclasses say where (`where`) and how (`_completed`)."""

    where = ""

    def run(self, jobs: list[Job], options: Options, on_result: OnResult, *,
            later: Callable[[], list[Job]] | None = None, progress: bool = True, desc: str = "grading") -> None:
        """Grade every job; call on_result here for each, as they finish (any order).

        later: makes more jobs to grade, called here once `jobs` are on their way (what it
        takes to make them, the workers spend grading those), before any on_result.
        """
        bar = tqdm(total=len(jobs), desc=desc, unit="nb", disable=not progress or not jobs, file=sys.stderr)

        def more() -> list[Job]:
            extra = later()
            bar.total += len(extra)
            bar.refresh()
            return extra

        completed = self._completed(jobs, options, more if later else None)
        try:
            for job, outcome, more in completed:
                if isinstance(outcome, BaseException):
                    res, feedback = grader_error(job.task, job.source, _why(outcome)), None
                else:
                    res, feedback = outcome
                    res.task = job.task  # the job's own task, not the worker's copy: callers may match by identity
                on_result(res, feedback, more)  # may raise (a failed preflight): the rest is cancelled
                bar.update(1)
        finally:
            completed.close()  # stops what is still queued or running, now (a no-op once all finished)
            bar.close()

    def _completed(self, jobs: list[Job], options: Options, later: Callable[[], list[Job]] | None
                   ) -> Iterator[tuple[Job, object, bool]]:
        """Yield (job, (result, feedback) or the exception that stopped it, more ready) per job,
        of jobs and of what later() returns (called once jobs are submitted)."""
        raise NotImplementedError

    def warm(self) -> None:
        """Get the workers ready (started, their imports done) while this process does other things."""

    def close(self) -> None:
        """Free what the executor holds between runs (worker processes); it may be used again."""


class WorkerLost(RuntimeError):
    """The process grading a notebook died, again and again (the message says where)."""


def _why(error: BaseException) -> str:
    if isinstance(error, WorkerLost):
        return str(error)
    return f"internal grader error: {type(error).__name__}: {error}"


def _start_method() -> str:
    """"fork" while this process runs one thread, else "spawn".

    A forked worker starts with what this process imported (nbclient, numpy, `course`, the
    grader: 0.6 s of CPU that each spawned worker spends again); with one thread, no lock can
    be held across the fork. A pool made later (after a worker died, with the progress bar's
    and the pool's own threads running) is spawned.
    """
    return "fork" if threading.active_count() == 1 else "spawn"


class LocalPool(Executor):
    """A pool of worker processes on this machine, kept for every `run` of a grading run (the
    preflight, then the class: spawning workers costs a second); `close` ends it. A worker lost
    mid-task gets its task again once, in a fresh pool."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.where = f"local pool of {self.workers} processes"
        self._pool: ProcessPoolExecutor | None = None

    def _fresh_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None and self._pool._broken:  # a worker died (between runs, or warming up)
            self.close()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context(_start_method()))
        return self._pool

    def warm(self) -> None:
        # one task per worker starts them all (a spawned pool starts a process per task it is given)
        sandbox.share_fork_server()  # one fork server for all of them, starting now
        pool = self._fresh_pool()
        for _ in range(self.workers):
            pool.submit(warm_up)

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
            self._pool = None

    def _completed(self, jobs, options, later=None):
        pending, attempts = list(jobs), dict.fromkeys(jobs, 0)
        while pending:
            retry = []
            pool = self._fresh_pool()
            try:
                futures = {pool.submit(grade_and_render, j.task, j.source, j.release, options, j.files): j
                           for j in pending}
                if later is not None:
                    extra, later = later(), None
                    attempts |= dict.fromkeys(extra, 0)
                    for j in extra:
                        try:
                            futures[pool.submit(grade_and_render, j.task, j.source, j.release, options, j.files)] = j
                        except BrokenProcessPool:  # a worker died meanwhile: the next round gets them
                            retry.append(j)
                finished = deque()  # futures done so far: the pool's thread appends, atomically
                for fut in futures:
                    fut.add_done_callback(finished.append)
                for taken, fut in enumerate(as_completed(futures), start=1):
                    job = futures[fut]
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        attempts[job] += 1
                        if attempts[job] < 2:
                            retry.append(job)
                            continue
                        outcome = WorkerLost("the grader's worker process died twice on this notebook")
                    except Exception as e:  # a bug of ours must not stop the class
                        outcome = e
                    yield job, outcome, len(finished) > taken
            except BaseException:  # Ctrl-C: stop now; finished results are already recorded
                self.close(wait=False)
                raise
            if retry:  # the pool is broken: the next round gets a new one
                self.close()
            pending = retry
