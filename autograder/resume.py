"""What was already graded: one small state file per notebook result, under OUT/state/.

A grade is keyed by (student, assignment, notebook, question). Each finished notebook
leaves ``OUT/state/<student>/<assignment>/<notebook>.json``: its rows, where and how long
it was graded, and a fingerprint of everything its grade depends on (the submitted file
and the other files of its folder as grading reads them, the source notebook, the
grading options). A re-run
grades only the tasks whose fingerprint changed or that have no state file; grades.csv
and the report are rebuilt from all the state files, old and new.

The file is written with a rename after the gradebook commit, so an interruption at any
point leaves either a finished result (the gradebook and the state agree) or nothing
(graded again next time, and saved over the same gradebook rows: never a duplicate).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from autograder.grading import read_task
from autograder.model import NotebookResult, Row, Task
from autograder.outputs import atomic_write
from autograder.submission import Limits

STATE = "state"
_VERSION = 3  # bump to re-grade everything after a change of the state format


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()


def context_digest(source: dict, options) -> str:
    """A hash of what every notebook of one kind is graded against: its source, the options."""
    return hashlib.sha256(_canonical({"version": _VERSION, "source": source,
                                      "options": dataclasses.asdict(options)})).hexdigest()


def fingerprint(task: Task, context: str, limits: Limits | None = None) -> str:
    """A hash of everything the grade of `task` depends on (sha256, hex).

    context: `context_digest` of the task's source notebook and the grading options. The
    submission is read as grading reads it (`grading.read_task`): what it leaves out, it
    leaves out of the hash too (and says so, which is hashed).
    """
    h = hashlib.sha256()
    h.update(_canonical([context, task.student, task.assignment, task.notebook, task.note]))
    if task.path is None:
        h.update(b"missing")
        return h.hexdigest()
    sub = read_task(task, limits or Limits())
    h.update(_canonical([sub.problem, sub.left_out]))
    h.update(hashlib.sha256(sub.notebook or b"").digest())
    for rel, data in sorted(sub.files.items()):
        h.update(_canonical(rel))
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def _path(out: Path, student: str, assignment: str, notebook: str) -> Path:
    return out / STATE / student / assignment / f"{notebook}.json"


def save(out: Path, res: NotebookResult, fp: str) -> None:
    """Write the state file of one result atomically (a reader sees the old or the new one)."""
    t = res.task
    path = _path(out, t.student, t.assignment, t.notebook)
    record = {
        "fingerprint": fp,
        "task": {"student": t.student, "assignment": t.assignment, "notebook": t.notebook,
                 "path": None if t.path is None else str(t.path), "note": t.note},
        "rows": [dataclasses.asdict(r) for r in res.rows],
        "seconds": res.seconds,
        "worker": res.worker,
        "left_out": res.left_out,
        "found_by_name": res.found_by_name,
    }
    atomic_write(path, json.dumps(record, indent=1))


def _build(cls, data: dict):
    """cls(**data) keeping only the fields cls knows (state files outlive code changes)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def load(out: Path) -> dict[tuple[str, str, str], tuple[str, NotebookResult]]:
    """Every saved result: {(student, assignment, notebook): (fingerprint, result)}."""
    found = {}
    for path in sorted((out / STATE).glob("*/*/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            t = record["task"]
            task = _build(Task, t | {"path": None if t["path"] is None else Path(t["path"])})
            rows = [_build(Row, r) for r in record["rows"]]
            res = NotebookResult(task, rows, seconds=record["seconds"], worker=record["worker"],
                                 left_out=list(record.get("left_out", [])),
                                 found_by_name=list(record.get("found_by_name", [])))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable or from an older format: that notebook is graded again
        found[task.student, task.assignment, task.notebook] = (record["fingerprint"], res)
    for tmp in (out / STATE).glob("*/*/*.tmp"):  # left by a run killed mid-write
        tmp.unlink(missing_ok=True)
    return found
