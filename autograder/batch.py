"""Grade a whole class: find the submissions, grade them in parallel, write everything.

Layout read (nbgrader's): ``SUBMITTED/<student>/<assignment>/<notebook>.ipynb``.
Written under OUT: grades.csv, feedback/<student>/<assignment>/<notebook>.html,
autograded/<student>/<assignment>/<notebook>.ipynb, report.html and the gradebook
(``gradebook.db`` unless a database URL is given).

A run goes in phases (`_grade_class`): plan (what is up to date, `autograder.resume`),
preflight (the answer keys must earn full marks here, `autograder.preflight`), resync (kept
results the gradebook lacks), execute (an `autograder.executors` executor: the local pool
or a Dask cluster) and finish (grades.csv, the report). Workers run notebooks; only this
process writes (`_Recorder`), one result at a time, as results arrive: a crash of the
grader itself loses nothing already graded. Each result is also kept in OUT/state/ with a
fingerprint of its inputs: a re-run grades only what changed or is missing (``force=True``
grades everything), and grades.csv and the report cover all results. A result the grader
failed on (`grader-error`) is never saved as a grade, so the next run grades it again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import nbformat
import sqlalchemy.exc

from autograder import lateness, sealed
from autograder.cluster import DaskCluster
from autograder.executors import Job, LocalPool
from autograder.grading import Options, questions
from autograder.model import NotebookResult, Row, Status, Task
from autograder.nbgrader_glue import GraderError, assignment_ids, generate
from autograder.outputs import atomic_write, write_csv
from autograder.paths import ASSIGNMENTS

CSV_COLUMNS = [f.name for f in fields(Row)] + ["seconds", "worker"] + lateness.CSV_COLUMNS
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
    preflight_seconds: float = 0.0  # grading the answer keys before the class
    #: questions graded by the notebook's own test only (no declaration, so no sealed check)
    unsealed: dict = field(default_factory=dict)  # "<assignment>/<notebook>" -> [question]
    sandbox: str = ""  # how kernels were isolated, or a warning that they were not
    graded: int = 0  # notebooks graded by this run
    up_to_date: int = 0  # notebooks whose earlier result was kept (unchanged inputs)
    wall_seconds: float = 0.0
    record_seconds: float = 0.0  # time this process spent writing results (gradebook, feedback, state, csv)
    #: (student, assignment, notebook) -> lateness.Late, settled in the gradebook at the end of a run
    lateness: dict = field(default_factory=dict)
    late_policy: str = ""  # the late-penalty plugin that applied (nbgrader's configuration)

    @property
    def rows(self) -> list[Row]:
        return [r for res in self.results for r in res.rows]

    @property
    def grader_errors(self) -> list[NotebookResult]:
        """Results the grader failed on (never grades): the run exits 3 when there are any."""
        return [res for res in self.results if res.grader_error]


def _sandbox_note(on_cluster: bool) -> str:
    if on_cluster:
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


def _write_csv(path: Path, results: list[NotebookResult], late: dict | None = None) -> None:
    late = late or {}
    rows = sorted(
        (asdict(r) | {"seconds": f"{res.seconds:.2f}", "worker": res.worker}
         | (late[_key(res.task)].csv() if _key(res.task) in late else {})
         # a grader error is not a grade: no score to import by mistake
         | ({"score": ""} if r.status == Status.GRADER_ERROR else {})
         for res in results for r in res.rows),
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

    def __call__(self, results, *, now: bool = False, late: dict | None = None) -> None:
        if now or time.monotonic() - self.last >= self.period:
            start = time.monotonic()
            _write_csv(self.path, results, late)
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
    due: dict | None = None,
    late_config: Path | None = None,
) -> ClassResult:
    """Grade every submission under `submitted` into `out`; see the module docstring.

    scheduler: address of a Dask scheduler (``tcp://host:8786``) to grade on instead of
    a local pool of `workers` processes. force: grade again what is up to date.
    due: due dates to record, {assignment or lateness.ALL: naive UTC datetime} (else the
    gradebook's); late_config: an nbgrader_config.py overlaid on the course's for the
    late-penalty plugin (`autograder.lateness`).
    Raises GraderError when it cannot grade (bad folders, a failed preflight, a full disk).
    """
    executor = DaskCluster(scheduler) if scheduler else LocalPool(workers)
    try:
        executor.warm()  # workers start while this process reads the course and releases it
        return _grade_class(Path(submitted), Path(out), executor, options or Options(), db_url,
                            assignments, Path(source).resolve(), progress, force, due or {}, late_config)
    except (OSError, sqlalchemy.exc.OperationalError) as e:
        if isinstance(e, OSError) and e.errno not in _DISK_ERRORS:
            raise
        why = getattr(e, "strerror", None) or str(getattr(e, "orig", e))
        raise GraderError(
            f"could not write the results under {out}: {why}. Every result written before this "
            "is complete (files are replaced whole, a grade is marked done only once the gradebook "
            "holds it); free some space and run the same command again to grade the rest."
        ) from e
    finally:
        executor.close()


@dataclass
class _Plan:
    """What a run will do: every task, those to grade, and the kept results."""

    tasks: list[Task]
    todo: list[Task]
    fingerprints: dict[Task, str]
    done: dict  # (student, assignment, notebook) -> NotebookResult: every result, old and new


def _plan(tasks: list[Task], out: Path, source: Path, options: Options, force: bool) -> _Plan:
    """Which tasks are up to date (same fingerprint as their saved result), which to grade."""
    from autograder import resume

    contexts = {}
    for t in tasks:
        if (t.assignment, t.notebook) not in contexts:
            nb = nbformat.read(source / t.assignment / f"{t.notebook}.ipynb", as_version=4)
            contexts[t.assignment, t.notebook] = resume.context_digest(nb, options)
    saved = resume.load(out)
    fingerprints = {t: resume.fingerprint(t, contexts[t.assignment, t.notebook], options.limits) for t in tasks}
    todo = [t for t in tasks if force or saved.get(_key(t), ("",))[0] != fingerprints[t]]
    return _Plan(tasks, todo, fingerprints, {key: res for key, (_, res) in saved.items()})


class _Recorder:
    """The one writer of a run's results: feedback, gradebook, state files, grades.csv.

    The order matters: feedback and the gradebook first; the state file that marks a result
    done only once the gradebook has committed it (batched writes). A grader-error result is
    shown (grades.csv, report) but never saved as a grade nor marked done.
    """

    def __init__(self, out: Path, gradebook, plan: _Plan, result: ClassResult):
        self.out, self.gradebook, self.plan, self.result = out, gradebook, plan, result
        self.csv = _CsvEvery(out / "grades.csv")

    def __call__(self, res: NotebookResult, feedback: dict[str, bytes] | None = None, more: bool = False) -> None:
        from autograder import resume
        from autograder.feedback import write_feedback

        began = time.perf_counter()
        if feedback is None:  # a result made here (a grader error): render it here
            write_feedback(self.out, res)
        for rel, data in feedback.items() if feedback else ():
            atomic_write(self.out / rel, data)
        if res.grader_error:
            self.gradebook.flush()  # what came before is committed all the same
        else:
            fp = self.plan.fingerprints[res.task]
            self.gradebook.save(res, then=lambda: resume.save(self.out, res, fp), more=more)
        self.plan.done[_key(res.task)] = res
        self.result.graded += 1
        self.csv(list(self.plan.done.values()))
        self.result.record_seconds += time.perf_counter() - began

    def finish(self) -> None:
        began = time.perf_counter()
        self.gradebook.flush()  # the last batch (on an error, leaving the writer commits it)
        self.result.record_seconds += time.perf_counter() - began

    def write_csv(self) -> None:
        """grades.csv with every result, old and new (if the disk allows)."""
        self.result.results = sorted(self.plan.done.values(), key=lambda r: _key(r.task))
        with contextlib.suppress(OSError):
            self.csv(self.result.results, now=True, late=self.result.lateness)


class _Run:
    """Results as they arrive, from the preflight's answer keys and the class alike.

    The class's results are held until every answer key passed (`preflight.check`); then the
    output folder and the gradebook are opened (`open`), the assignments registered and the
    held results recorded. A failed preflight raises before anything is written.
    """

    def __init__(self, out: Path, db_url: str | None, plan: _Plan, result: ClassResult, tasks: list[Task],
                 source: Path, tmp: Path, preflight_jobs: list[Job]):
        self.out, self.db_url, self.plan, self.result = out, db_url, plan, result
        self.tasks, self.source, self.tmp = tasks, source, tmp
        self.answer_keys = {id(j.task) for j in preflight_jobs}
        self.waiting = len(preflight_jobs)
        self.started = time.monotonic()
        self.held: list[tuple[NotebookResult, dict | None]] = []
        self.record: _Recorder | None = None
        self.stack = contextlib.ExitStack()
        from autograder.preflight import Preflight

        self.preflight = Preflight()

    def open(self) -> None:
        """The output folder, the gradebook with the assignments registered, kept results resynced."""
        from autograder.gradebook import GradebookWriter

        self.out.mkdir(parents=True, exist_ok=True)
        db_file = (self.out / "gradebook.db").resolve()
        db_url = self.db_url or f"sqlite:///{db_file}"
        released = self.tmp / "release.db"  # what nbgrader filled as it made the releases (`_grade_class`)
        if self.db_url is None and not db_file.exists() and released.exists() \
                and {t.assignment for t in self.tasks} <= {t.assignment for t in self.plan.todo}:
            # a new gradebook: nbgrader registered these assignments in the releases' one already
            # (making it again cost a second per assignment, beside the workers)
            shutil.copyfile(released, db_file)
            registered = {t.assignment for t in self.plan.todo}
        else:
            registered = set()
        gradebook = self.stack.enter_context(GradebookWriter(db_url))
        # resync: kept results the gradebook lacks (a new --db, a deleted gradebook) are saved again
        todo = set(self.plan.todo)
        resync = [res for t in self.tasks if t not in todo and not gradebook.has(res := self.plan.done[_key(t)])]
        needed = sorted(({t.assignment for t in self.plan.todo} | {r.task.assignment for r in resync}) - registered)
        if needed:
            # registers (or re-registers) the assignments in the gradebook; existing grades stay
            (self.tmp / "gradebook").mkdir(exist_ok=True)
            generate(needed, db_url, self.tmp / "gradebook", self.source)
        for res in resync:
            gradebook.save(res, more=True)  # committed in batches, or with the first result
        self.record = _Recorder(self.out, gradebook, self.plan, self.result)

    def __call__(self, res: NotebookResult, feedback: dict | None = None, more: bool = False) -> None:
        from autograder import preflight

        if id(res.task) in self.answer_keys:
            self.preflight.results.append(res)
            self.waiting -= 1
            if self.waiting == 0:
                self.result.preflight_seconds = self.preflight.seconds = time.monotonic() - self.started
                preflight.check(self.preflight)  # raises, and nothing is written
                self.open()
                held, self.held = self.held, []
                for i, (r, f) in enumerate(held):
                    self.record(r, f, more=more or i < len(held) - 1)
            return
        if self.record is None:
            self.held.append((res, feedback))
            return
        self.record(res, feedback, more)


def _grade_class(submitted: Path, out: Path, executor, options: Options, db_url: str | None,
                 assignments: list[str] | None, source: Path, progress: bool, force: bool,
                 due: dict, late_config: Path | None) -> ClassResult:
    from autograder import kernel_env, preflight
    from autograder.report import write_report

    start = time.monotonic()
    tasks, warnings = discover(submitted, source, assignments)
    result = ClassResult(out=out, warnings=warnings, where=executor.where,
                         sandbox=_sandbox_note(isinstance(executor, DaskCluster)))
    unknown = sorted(set(due) - {lateness.ALL} - {t.assignment for t in tasks})
    if unknown:
        raise GraderError(f"--due names assignment(s) {unknown} that this run does not grade")

    # 1. plan: what is up to date, what to grade
    plan = _plan(tasks, out, source, options, force)
    result.up_to_date = len(tasks) - len(plan.todo)
    sources = {}
    for t in plan.todo:
        if (t.assignment, t.notebook) not in sources:
            sources[t.assignment, t.notebook] = nbformat.read(source / t.assignment / f"{t.notebook}.ipynb", as_version=4)

    for (aid, name), nb in sorted(sources.items()):
        asked = [q for q, _ in questions(nb)]
        bare = [q for q in asked if q not in sealed.declared(asked)]
        if bare:
            result.unsealed[f"{aid}/{name}"] = bare

    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        if plan.todo and not isinstance(executor, DaskCluster):
            kernel_env.ensure()  # built once, here, before the workers need it
        policy = None

        def students() -> list[Job]:
            """The class's jobs, made while the workers grade the answer keys."""
            nonlocal policy
            policy = lateness.load_policy(late_config)  # a broken plugin stops the run before any student
            # the releases students are graded against, made beside (not in) the gradebook:
            # nothing is written under OUT before the preflight passed
            gen = generate(sorted({t.assignment for t in plan.todo}), f"sqlite:///{Path(tmp) / 'release.db'}",
                           Path(tmp), source)
            releases = {(aid, name): nbformat.read(gen.release / aid / f"{name}.ipynb", as_version=4)
                        for aid, name in sources}
            return [Job(t, sources[t.assignment, t.notebook], releases[t.assignment, t.notebook]) for t in plan.todo]

        # 2. preflight (the answer key earns full marks here, or nothing is kept or written) and
        # 3. execute, on the same workers: the answer keys first, the class right behind them
        checks = preflight.answer_key_jobs(sources) if plan.todo else []
        run = _Run(out, db_url, plan, result, tasks, source, Path(tmp), checks)
        with run.stack:
            if not checks:
                policy = lateness.load_policy(late_config)
                run.open()  # nothing to grade: kept results only
            try:
                executor.run(checks, options, run, later=students if checks else None, progress=progress)
                result.late_policy = policy.name
                assert run.record is not None
                run.record.finish()
                # times, due dates and late penalties of every result, as nbgrader records them
                result.lateness, late_warnings = lateness.settle(
                    run.record.gradebook.gb, plan.done.values(), submitted, due, policy)
                result.warnings += late_warnings
            finally:
                if run.record is not None:
                    run.record.write_csv()  # whatever happened, grades.csv holds every finished result

    # 4. finish
    result.wall_seconds = time.monotonic() - start
    write_report(out, result)
    return result


def _key(task: Task) -> tuple[str, str, str]:
    return task.student, task.assignment, task.notebook
