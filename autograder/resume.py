"""What was already graded: one small state file per notebook result, under OUT/state/.

A grade is keyed by (student, assignment, notebook, question). Each finished notebook
leaves ``OUT/state/<student>/<assignment>/<notebook>.json``: its rows, where and how long
it was graded, and a fingerprint of everything its grade depends on (the submitted file
and the other files of its folder, the source notebook, the grading options). A re-run
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
import os
from pathlib import Path

from autograder.grading import NotebookResult, Row, Task

STATE = "state"
_VERSION = 1  # bump to re-grade everything after a change of the state format


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()


def folder_files(task: Task) -> list[Path]:
    """The files a grading of `task` reads: the notebook and its folder's other files."""
    if task.path is None:
        return []
    files = [task.path]
    for item in sorted(task.path.parent.iterdir()):
        if item.suffix == ".ipynb" or item.name == ".ipynb_checkpoints":
            continue
        files += sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item]
    return files


def context_digest(source: dict, options) -> str:
    """A hash of what every notebook of one kind is graded against: its source, the options."""
    return hashlib.sha256(_canonical({"version": _VERSION, "source": source,
                                      "options": dataclasses.asdict(options)})).hexdigest()


def fingerprint(task: Task, context: str) -> str:
    """A hash of everything the grade of `task` depends on (sha256, hex).

    context: `context_digest` of the task's source notebook and the grading options.
    """
    h = hashlib.sha256()
    h.update(_canonical([context, task.student, task.assignment, task.notebook, task.note]))
    if task.path is None:
        h.update(b"missing")
    for path in folder_files(task):
        rel = path.name if path == task.path else str(path.relative_to(task.path.parent))
        h.update(_canonical(rel))
        try:
            data = path.read_bytes()
        except OSError as e:  # unreadable now: graded as such, and graded again once readable
            data = f"unreadable: {e.strerror}".encode()
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def _path(out: Path, student: str, assignment: str, notebook: str) -> Path:
    return out / STATE / student / assignment / f"{notebook}.json"


def save(out: Path, res: NotebookResult, fp: str) -> None:
    """Write the state file of one result atomically (a reader sees the old or the new one)."""
    t = res.task
    path = _path(out, t.student, t.assignment, t.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "fingerprint": fp,
        "task": {"student": t.student, "assignment": t.assignment, "notebook": t.notebook,
                 "path": None if t.path is None else str(t.path), "note": t.note},
        "rows": [dataclasses.asdict(r) for r in res.rows],
        "seconds": res.seconds,
        "worker": res.worker,
    }
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)


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
            res = NotebookResult(task, rows, seconds=record["seconds"], worker=record["worker"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable or from an older format: that notebook is graded again
        found[task.student, task.assignment, task.notebook] = (record["fingerprint"], res)
    for tmp in (out / STATE).glob("*/*/*.tmp"):  # left by a run killed mid-write
        tmp.unlink(missing_ok=True)
    return found
