"""Grade one submitted notebook: read it, restore it, run it, score each question.

This runs in a worker process and returns plain data (`NotebookResult`); the parent
process alone writes the gradebook, the CSV and the feedback.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import sandbox, sealed, submission
from autograder.execute import CELL_TIMEOUT, DISK_LIMIT, MEMORY_LIMIT, KernelStartError, execute
from autograder.model import NotebookResult, Row, Status, Task
from autograder.restore import GENERAL, grade_id, is_test, restore


@dataclass(frozen=True)
class Options:
    timeout: int = CELL_TIMEOUT
    memory_limit: int = MEMORY_LIMIT
    disk_limit: int = DISK_LIMIT  # bytes a submission's kernel may write in its working folder
    sealed: bool = True  # judge each question outside the student's interpreter too
    #: what a submission may bring beside its notebook
    limits: submission.Limits = field(default_factory=submission.Limits)


def questions(source: nbformat.NotebookNode) -> list[tuple[str, float]]:
    """The graded questions of a source notebook: (grade_id, points) of each test cell."""
    return [
        (grade_id(c), float(c.metadata["nbgrader"].get("points", 0)))
        for c in source.cells
        if is_test(c) and grade_id(c)
    ]


def grader_error(task: Task, source, why: str, seconds: float = 0.0) -> NotebookResult:
    """A result that says the grader failed on this notebook (every question `grader-error`)."""
    return NotebookResult(task, _all_rows(task, nbformat.from_dict(source), Status.GRADER_ERROR, why), seconds=seconds)


def _all_rows(task, source, status, message):
    return [
        Row(task.student, task.assignment, task.notebook, q, 0.0, pts, status, message)
        for q, pts in questions(source)
    ]


def read_task(task: Task, limits: submission.Limits) -> submission.Submission:
    """Read a task's notebook and the files beside it, as data (see `autograder.submission`)."""
    assert task.path is not None
    # nbgrader's layout: SUBMITTED/<student>/<assignment>/<notebook>.ipynb
    return submission.read(task.path, task.path.parents[2], limits)


def parse_notebook(raw: bytes) -> tuple[nbformat.NotebookNode | None, str]:
    """Parse a submitted notebook; returns (notebook, "") or (None, why it cannot be read)."""
    if not raw.strip():
        return None, "the notebook file is empty"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the notebook file is not text (UTF-8)"
    except json.JSONDecodeError as e:
        return None, f"the notebook file is not valid JSON (line {e.lineno}, column {e.colno}): was it edited outside Jupyter?"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "the file is JSON but not a notebook (no list of cells)"
    try:
        with warnings.catch_warnings():
            # duplicate or missing cell ids are repaired by nbformat; nothing to shout about
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as e:  # nbformat raises several types for malformed notebooks
        return None, f"the notebook could not be read: {type(e).__name__}: {str(e)[:200]}"
    return nb, ""


#: Libraries that would compute a gradient for the student (not in the grading kernels).
AUTODIFF_LIBRARIES = ("torch", "jax", "tensorflow", "autograd", "mxnet", "chainer", "tinygrad", "micrograd")


def _message(outcome, timeout) -> tuple[str, str]:
    """(status, message) of a test cell's outcome, in words a student understands."""
    if outcome is None or outcome.status == "skipped":
        return Status.CRASHED, "not run: the kernel kept dying, so grading of this notebook stopped before this question"
    if outcome.status == "ok":
        return Status.OK, "passed"
    if outcome.status == "timeout":
        return Status.TIMEOUT, f"stopped after {timeout} s without finishing: an infinite loop or a very slow answer?"
    if outcome.status == "crashed":
        return Status.CRASHED, (
            "the Python kernel died during this test (os._exit, a crash or too much memory); "
            "the other questions were graded after a restart"
        )
    first = (outcome.evalue or "").strip().splitlines()
    detail = first[0][:300] if first else ""
    if outcome.ename in ("AssertionError", "CheckFailed"):
        return Status.FAILED, detail or "a test failed"
    if outcome.ename in ("NotImplementedError", "NotWrittenYet"):
        return Status.ERROR, "not answered yet: the answer still raises NotImplementedError"
    library = next((m for m in AUTODIFF_LIBRARIES if outcome.ename == "ModuleNotFoundError" and f"'{m}" in detail), None)
    if library:
        return Status.ERROR, (f"{detail}: grading kernels have only what the course's package needs, no autodiff "
                              "library; a backward pass must be derived by hand")
    return Status.ERROR, f"{outcome.ename}: {detail}" if detail else outcome.ename


def _trouble(outcome) -> str:
    """What went wrong in an answer cell itself, for the message of its question."""
    if outcome.status == "timeout":
        return "timed out"
    if outcome.status == "crashed":
        return "killed the kernel"
    detail = (outcome.evalue or "").strip().splitlines()
    return f"raised {outcome.ename}: {detail[0][:200]}" if detail else f"raised {outcome.ename}"


def _with_verdict(status: str, message: str, points: float, verdict) -> tuple[str, float, str, str]:
    """(status, score, message, flags): the notebook's own test and the sealed verdict combined.

    The sealed verdict counts, part by part; the notebook's own test (its message is the
    most telling for the student) only decides the status when both agree something is wrong.
    """
    if verdict is None:
        return status, points if status == Status.OK else 0.0, message, ""
    flags = list(verdict.flags)
    if verdict.ok and status != Status.OK:
        flags.append("sealed-disagrees")
        return (Status.OK, verdict.score, f"passed the sealed check, though the notebook's own test said: {message}",
                ",".join(flags))
    if not verdict.ok and status == Status.OK:
        flags.append("sealed-disagrees")
        return (Status.FAILED, verdict.score,
                f"{verdict.message} (the notebook's own test passed: it was fooled, or is weaker)", ",".join(flags))
    if not verdict.ok and (flags or verdict.score > 0):
        return Status.FAILED, verdict.score, verdict.message, ",".join(flags)
    if verdict.advice and not message.startswith(f"NOT YET: {verdict.advice}"):
        # the notebook's own words, led by the mistake the sealed check named
        message = f"{verdict.advice} ({message})"
    return status, verdict.score, message, ",".join(flags)


def _deferrable(nb, declared: dict) -> dict[int, tuple[str, str]]:
    """{test cell index: (visible check, hidden tests)} of each declared question whose test
    cell is the one its declaration makes (`autograder.sync`), hidden tests and all.

    Those hidden tests are the visible check on other seeds, which the sealed check
    supersedes (the same kinds of inputs, this student's own seeds, the reference's answers):
    they run only where they can still say something, after a sealed check marked the
    question down though its visible check passed. An instructor's own test cell runs whole.
    """
    from autograder.sync import test_parts, test_source

    found = {}
    for i, cell in enumerate(nb.cells):
        ex = declared.get(grade_id(cell)) if is_test(cell) else None
        if ex is not None and (parts := test_parts(ex))[1] and cell.source == test_source(ex):
            found[i] = parts
    return found


def _hidden_part(question: str, source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"autograder": {"hidden_tests_of": question}})


def _is_hidden_part(cell) -> bool:
    return "hidden_tests_of" in cell.get("metadata", {}).get("autograder", {})


def grade_notebook(task: Task, source: dict, release: dict, options: Options = Options(),
                   files: submission.Submission | None = None) -> NotebookResult:
    """Grade one submitted notebook against its source (answers, hidden tests) and release.

    files: the submission, already read (a Dask worker gets it as bytes); else it is read here.
    """
    start = time.monotonic()
    source_nb = nbformat.from_dict(source)
    if task.path is None and files is None:
        rows = _all_rows(task, source_nb, Status.MISSING, f"{task.notebook}.ipynb was not submitted")
        return NotebookResult(task, rows, seconds=time.monotonic() - start)
    sub = files if files is not None else read_task(task, options.limits)
    student_nb, problem = parse_notebook(sub.notebook) if sub.notebook is not None else (None, sub.problem)
    if student_nb is None:
        return NotebookResult(task, _all_rows(task, source_nb, Status.INVALID, problem), seconds=time.monotonic() - start)

    restored = restore(source_nb, nbformat.from_dict(release), student_nb)
    if sub.left_out:
        shown = sub.left_out[:5] + ([f"and {len(sub.left_out) - 5} more"] if len(sub.left_out) > 5 else [])
        restored.note(GENERAL, "left out of your folder: " + "; ".join(shown))
    nb = restored.nb
    for cell in nb.cells:  # what marks the grader's own cells (harness, hidden tests) is never a submission's
        cell.metadata.pop("autograder", None)
    graded_cells = len(nb.cells)
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        work = Path(tmp)
        # the submission's own files (data it brought), as read: never a link, never outside it
        submission.write_files(sub, work)
        plan, deferred, whole, verdicts = None, {}, {}, {}
        if options.sealed:
            asked = [q for q, _ in questions(source_nb)]
            plan = sealed.prepare(asked, work, task.student)
            deferred = _deferrable(nb, sealed.declared(asked))
            whole = {i: nb.cells[i].source for i in deferred}  # put back once run
            for i, (visible, _) in deferred.items():
                nb.cells[i].source = visible
        test_cell = {grade_id(c): i for i, c in enumerate(nb.cells) if is_test(c)}

        def then(outcomes):
            # the sealed checks first; then the verdicts, and the hidden tests worth running
            if plan is None:
                return []
            # a question whose own test hung or killed the kernel would do it again in its
            # sealed check: not run, its verdict stays the notebook's (timeout, crashed)
            hung = frozenset(q for q, i in test_cell.items()
                             if (o := outcomes.get(i)) is not None and o.status in ("timeout", "crashed"))
            if more := sealed.follow_up(plan, nb.cells, outcomes, hung):
                return more
            if verdicts:  # judged already: only hidden tests ran since, which change no verdict
                return []
            verdicts.update(sealed.judge(plan, sealed.records(nb.cells[graded_cells:]),
                                         sealed.costs(nb.cells, outcomes)))
            # (not where the sealed check ran out of time: the hidden tests would too)
            stalled = sealed.timed_out(plan, nb.cells, outcomes)
            return [_hidden_part(q, hidden) for i, (_, hidden) in deferred.items()
                    if (q := grade_id(nb.cells[i])) in verdicts and not verdicts[q].ok and q not in stalled
                    and (o := outcomes.get(i)) is not None and o.status == "ok"]

        try:
            outcomes = execute(
                nb, work, replayable=lambda c: not is_test(c) and not sealed.is_harness(c) and not _is_hidden_part(c),
                timeout=options.timeout,
                timeout_for=lambda i, outcomes: sealed.cost_timeout(nb.cells, i, outcomes),
                limits=sandbox.Limits(memory=options.memory_limit, workdir_size=options.disk_limit),
                keep_whole=sealed.MIME, then=then,
            )
        except KernelStartError as e:
            return grader_error(task, source_nb, f"the grader could not start a kernel: {e}", time.monotonic() - start)
    # a test cell's hidden tests, when they ran, count as its own: their outcome, their outputs
    for j in range(graded_cells, len(nb.cells)):
        if _is_hidden_part(nb.cells[j]):
            i = test_cell[nb.cells[j].metadata["autograder"]["hidden_tests_of"]]
            nb.cells[i].outputs += nb.cells[j].get("outputs", [])
            if outcomes.get(j) is not None and outcomes[j].status not in ("ok", "skipped"):
                outcomes[i] = outcomes[j]
    for i, source in whole.items():
        nb.cells[i].source = source
    del nb.cells[graded_cells:]  # the harness is the grader's, not part of the feedback

    answer_trouble = {
        grade_id(c): o for i, c in enumerate(nb.cells)
        if (o := outcomes.get(i)) and o.status in ("timeout", "crashed", "error") and not is_test(c)
    }
    rows = []
    for i, cell in enumerate(nb.cells):
        if not is_test(cell) or not grade_id(cell):
            continue
        gid = grade_id(cell)
        points = float(cell.metadata["nbgrader"].get("points", 0))
        status, message = _message(outcomes.get(i), options.timeout)
        answer = gid.removeprefix("test_")
        if status != Status.OK and answer in answer_trouble:
            message = f"your answer cell '{answer}' {_trouble(answer_trouble[answer])}; " + message
        status, score, message, flags = _with_verdict(status, message, points, verdicts.get(gid))
        # what restoring the notebook noted: of this question, its answer, and (first row) the notebook
        notes = (restored.notes.get(gid, []) + restored.notes.get(answer, [])
                 + (restored.notes.get(GENERAL, []) if not rows else []))
        if task.note and not rows:
            notes.insert(0, task.note)
        if notes:
            message = message + " (" + "; ".join(notes) + ")"
        codes = ",".join(verdicts[gid].diagnosis) if gid in verdicts else ""
        rows.append(Row(task.student, task.assignment, task.notebook, gid, score, points, status, message, flags,
                        codes))
    return NotebookResult(task, rows, graded=dict(nb), seconds=time.monotonic() - start, left_out=sub.left_out,
                          found_by_name=restored.found_by_name)
