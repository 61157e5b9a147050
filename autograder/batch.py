"""Grade a whole class: find the submissions, grade them in parallel, write everything.

Layout read (nbgrader's): ``SUBMITTED/<student>/<assignment>/<notebook>.ipynb``.
Written under OUT: grades.csv, feedback/<student>/<assignment>/<notebook>.html,
autograded/<student>/<assignment>/<notebook>.ipynb, report.html and the gradebook
(``gradebook.db`` unless a database URL is given).

Workers run notebooks, on a local process pool or on a Dask cluster (`autograder.cluster`);
only this process writes, one result at a time, as results arrive: a crash of the grader
itself loses nothing already graded. Each result is also kept in OUT/state/ with a
fingerprint of its inputs (`autograder.resume`): a re-run grades only what changed or is
missing (``force=True`` grades everything), and grades.csv and the report cover all results.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from multiprocessing import get_context
from pathlib import Path

import nbformat
import sqlalchemy.exc
from tqdm import tqdm

from autograder.grading import NotebookResult, Options, Row, Task, questions
from autograder.nbgrader_glue import GraderError, assignment_ids, generate
from autograder.outputs import atomic_write, write_csv
from autograder.paths import ASSIGNMENTS
from autograder.worker import grade_and_render

CSV_COLUMNS = [f.name for f in fields(Row)] + ["seconds", "worker"]
#: Failures to write OUT (or the gradebook) that stop a run cleanly: a full or read-only disk.
_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass
class ClassResult:
    """Everything a grading run produced, in memory."""

    out: Path
    results: list[NotebookResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    where: str = ""  # "local pool of N processes" or "Dask cluster at ADDRESS"
    sandbox: str = ""  # how kernels were isolated, or a warning that they were not
    graded: int = 0  # notebooks graded by this run
    up_to_date: int = 0  # notebooks whose earlier result was kept (unchanged inputs)
    wall_seconds: float = 0.0
    record_seconds: float = 0.0  # time this process spent writing results (gradebook, feedback, state, csv)

    @property
    def rows(self) -> list[Row]:
        return [r for res in self.results for r in res.rows]


def _sandbox_note(scheduler) -> str:
    if scheduler:
        return "as set up on each Dask worker (bubblewrap when installed there)"
    from autograder.sandbox import status

    ok, how = status()
    return how if ok else f"NONE ({how}): submissions could read and write what the grader can"


def discover(submitted: Path, source: Path, only: list[str] | None = None) -> tuple[list[Task], list[str]]:
    """Every (student, assignment, notebook) to grade, and warnings about what was skipped."""
    if not submitted.is_dir():
        raise GraderError(f"no such folder: {submitted} (expected SUBMITTED/<student>/<assignment>/<notebook>.ipynb)")
    known = assignment_ids(source)
    if only:
        unknown = [a for a in only if a not in known]
        if unknown:
            raise GraderError(f"unknown assignment(s) {unknown}; known: {known}")
    expected = {a: sorted(p.stem for p in (source / a).glob("*.ipynb")) for a in known}
    tasks, warnings = [], []
    for student_dir in sorted(submitted.iterdir()):
        if not student_dir.is_dir():
            warnings.append(f"ignored {student_dir.name}: not a student folder")
            continue
        student = student_dir.name
        if not _SAFE_ID.match(student):
            warnings.append(f"ignored student folder {student!r}: ids may hold letters, digits and _.@- only")
            continue
        for adir in sorted(student_dir.iterdir()):
            if not adir.is_dir():
                continue
            if adir.name not in expected:
                warnings.append(f"ignored {student}/{adir.name}: not an assignment of this course")
                continue
            if only and adir.name not in only:
                continue
            for name in expected[adir.name]:
                tasks.append(_locate(student, adir, name, expected[adir.name]))
    return tasks, warnings


def _locate(student: str, adir: Path, name: str, expected: list[str]) -> Task:
    path = adir / f"{name}.ipynb"
    if os.path.lexists(path):  # a link or a special file too: reading it says what is wrong
        return Task(student, adir.name, name, path)
    # A renamed notebook ("layers (1).ipynb") is graded in place of the missing one
    # when there is no doubt about which file it is.
    others = [p for p in adir.glob("*.ipynb") if p.stem not in expected]
    if len(expected) == 1 and len(others) == 1:
        return Task(student, adir.name, name, others[0], note=f"graded {others[0].name} in place of {name}.ipynb")
    return Task(student, adir.name, name, None)


def _write_csv(path: Path, results: list[NotebookResult]) -> None:
    rows = sorted(
        (asdict(r) | {"seconds": f"{res.seconds:.2f}", "worker": res.worker} for res in results for r in res.rows),
        key=lambda d: (d["student"], d["assignment"], d["notebook"]),
    )
    write_csv(path, CSV_COLUMNS, rows)  # atomic: readers never see a half-written file


class _CsvEvery:
    """Rewrites grades.csv as results arrive, at most about every `period` seconds.

    The state files are the durable record; grades.csv is rebuilt from them at the end of
    every run, so a throttled rewrite keeps a class of thousands from costing O(n^2) writes.
    """

    def __init__(self, path: Path, period: float = 2.0):
        self.path, self.period, self.last = path, period, 0.0

    def __call__(self, results, *, now: bool = False) -> None:
        if now or time.monotonic() - self.last >= self.period:
            start = time.monotonic()
            _write_csv(self.path, results)
            # never spend more than about a fifth of the time rewriting
            self.period = max(self.period, 5 * (time.monotonic() - start))
            self.last = time.monotonic()


def grade_class(
    submitted: Path,
    out: Path,
    *,
    workers: int | None = None,
    options: Options | None = None,
    db_url: str | None = None,
    assignments: list[str] | None = None,
    source: Path = ASSIGNMENTS,
    progress: bool = True,
    scheduler: str | None = None,
    force: bool = False,
) -> ClassResult:
    """Grade every submission under `submitted` into `out`; see the module docstring.

    scheduler: address of a Dask scheduler (``tcp://host:8786``) to grade on instead of
    a local pool of `workers` processes. force: grade again what is up to date.
    """
    try:
        return _grade_class(submitted, out, workers=workers, options=options or Options(), db_url=db_url,
                            assignments=assignments, source=source, progress=progress,
                            scheduler=scheduler, force=force)
    except (OSError, sqlalchemy.exc.OperationalError) as e:
        if isinstance(e, OSError) and e.errno not in _DISK_ERRORS:
            raise
        why = getattr(e, "strerror", None) or str(getattr(e, "orig", e))
        raise GraderError(
            f"could not write the results under {out}: {why}. Every result written before this "
            "is complete (files are replaced whole, a grade is marked done only once the gradebook "
            "holds it); free some space and run the same command again to grade the rest."
        ) from e


def _grade_class(submitted, out, *, workers, options, db_url, assignments, source, progress, scheduler,
                 force) -> ClassResult:
    from autograder import resume
    from autograder.feedback import write_feedback
    from autograder.gradebook import GradebookWriter
    from autograder.report import write_report

    start = time.monotonic()
    submitted, out, source = Path(submitted), Path(out), Path(source).resolve()
    tasks, warnings = discover(submitted, source, assignments)
    out.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{(out / 'gradebook.db').resolve()}"
    workers = workers or os.cpu_count() or 1
    where = f"Dask cluster at {scheduler}" if scheduler else f"local pool of {workers} processes"
    result = ClassResult(out=out, warnings=warnings, where=where, sandbox=_sandbox_note(scheduler))

    # what is up to date: same fingerprint as the saved result (unless forced)
    contexts = {}
    for t in tasks:
        if (t.assignment, t.notebook) not in contexts:
            nb = nbformat.read(source / t.assignment / f"{t.notebook}.ipynb", as_version=4)
            contexts[t.assignment, t.notebook] = resume.context_digest(nb, options)
    saved = resume.load(out)
    done = {key: res for key, (_, res) in saved.items()}  # every result, old and new
    fingerprints = {t: resume.fingerprint(t, contexts[t.assignment, t.notebook], options.limits) for t in tasks}
    todo = [t for t in tasks if force or saved.get(_key(t), ("",))[0] != fingerprints[t]]
    todo_set = set(todo)
    result.up_to_date = len(tasks) - len(todo)
    csv_every = _CsvEvery(out / "grades.csv")

    with GradebookWriter(db_url) as gradebook:
        # kept results the gradebook lacks (a new --db, a deleted gradebook) are saved again
        resync = [res for t in tasks if t not in todo_set and not gradebook.has(res := done[_key(t)])]
        needed = sorted({t.assignment for t in todo} | {r.task.assignment for r in resync})
        with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
            sources, releases = {}, {}
            if needed:
                # registers (or re-registers) the assignments in the gradebook; existing grades stay
                gen = generate(needed, db_url, Path(tmp), source)
                for aid in needed:
                    for nb_path in (source / aid).glob("*.ipynb"):
                        sources[aid, nb_path.stem] = nbformat.read(nb_path, as_version=4)
                        releases[aid, nb_path.stem] = nbformat.read(gen.release / aid / nb_path.name, as_version=4)
            for res in resync:
                gradebook.save(res, more=True)  # committed in batches, or with the first result

            def record(res: NotebookResult, feedback: dict[str, bytes] | None = None, more: bool = False) -> None:
                # more: other results are ready too (the gradebook commits them together)
                # order matters: feedback and the gradebook first; the state file that marks
                # the result done only once the gradebook has committed it (batched writes)
                began = time.perf_counter()
                if feedback is None:  # a result made here (a crash): render it here
                    write_feedback(out, res)
                for rel, data in feedback.items() if feedback else ():
                    atomic_write(out / rel, data)
                gradebook.save(res, then=lambda: resume.save(out, res, fingerprints[res.task]), more=more)
                done[_key(res.task)] = res
                result.graded += 1
                csv_every(list(done.values()))
                result.record_seconds += time.perf_counter() - began

            try:
                if not todo:
                    pass
                elif scheduler:
                    from autograder.cluster import run_cluster

                    run_cluster(todo, sources, releases, options, scheduler, record, progress, _crash_result)
                else:
                    _run_pool(todo, sources, releases, options, workers, record, progress)
                began = time.perf_counter()
                gradebook.flush()  # the last batch (on an error, leaving the writer commits it)
                result.record_seconds += time.perf_counter() - began
            finally:
                # whatever happened, grades.csv holds every finished result (if the disk allows)
                result.results = sorted(done.values(), key=lambda r: _key(r.task))
                with contextlib.suppress(OSError):
                    csv_every(result.results, now=True)

    result.wall_seconds = time.monotonic() - start
    write_report(out, result)
    return result


def _key(task: Task) -> tuple[str, str, str]:
    return task.student, task.assignment, task.notebook


def _crash_result(task: Task, source, why: str) -> NotebookResult:
    rows = [Row(task.student, task.assignment, task.notebook, q, 0.0, pts, "crashed", why) for q, pts in questions(source)]
    return NotebookResult(task, rows)


def _run_pool(tasks, sources, releases, options, workers, record, progress) -> None:
    """Grade tasks on a process pool; a worker lost mid-task gets its task retried once."""
    bar = tqdm(total=len(tasks), desc="grading", unit="nb", disable=not progress, file=sys.stderr)
    pending, attempts = list(tasks), dict.fromkeys(tasks, 0)
    while pending:
        retry = []
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        try:
            futures = {
                pool.submit(grade_and_render, t, sources[t.assignment, t.notebook],
                            releases[t.assignment, t.notebook], options): t
                for t in pending
            }
            finished = deque()  # futures done so far: the pool's thread appends, atomically
            for fut in futures:
                fut.add_done_callback(finished.append)
            for taken, fut in enumerate(as_completed(futures), start=1):
                task = futures[fut]
                feedback = None
                try:
                    res, feedback = fut.result()
                except BrokenProcessPool:
                    attempts[task] += 1
                    if attempts[task] < 2:
                        retry.append(task)
                        continue
                    res = _crash_result(task, sources[task.assignment, task.notebook],
                                        "the grader's worker process died twice on this notebook")
                except Exception as e:  # a bug of ours must not stop the class
                    res = _crash_result(task, sources[task.assignment, task.notebook],
                                        f"internal grader error: {type(e).__name__}: {e}")
                record(res, feedback, more=len(finished) > taken)
                bar.update(1)
        except BaseException:  # Ctrl-C: stop now; finished results are already recorded
            pool.shutdown(wait=False, cancel_futures=True)
            bar.close()
            raise
        pool.shutdown()
        pending = retry
    bar.close()
