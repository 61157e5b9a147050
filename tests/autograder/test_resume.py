"""Idempotent, resumable grading: what is unchanged is kept, what is interrupted is finished."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
from nbgrader.api import Grade, Gradebook
from sqlalchemy.exc import SAWarning

from autograder import resume
from autograder.grading import Options
from autograder.model import NotebookResult, Row, Task
from tests.autograder.servers import grade_cmd, kill_group, slow_class


def _task(tmp_path: Path) -> Task:
    folder = tmp_path / "alice" / "00_tiny"
    folder.mkdir(parents=True)
    (folder / "tiny.ipynb").write_text('{"cells": []}')
    (folder / "data.csv").write_text("1,2\n")
    return Task("alice", "00_tiny", "tiny", folder / "tiny.ipynb")


def test_fingerprint_follows_the_files_grading_reads(tmp_path):
    """Does the fingerprint change with the notebook, its folder's files and the options, and only then?"""
    task, ctx = _task(tmp_path), resume.context_digest({"cells": []}, Options())
    fp = resume.fingerprint(task, ctx)
    assert resume.fingerprint(task, ctx) == fp
    (task.path.parent / "other.ipynb").write_text("{}")  # another notebook: graded on its own
    assert resume.fingerprint(task, ctx) == fp
    (task.path.parent / "data.csv").write_text("1,3\n")
    assert resume.fingerprint(task, ctx) != fp
    fp = resume.fingerprint(task, ctx)
    task.path.write_text('{"cells": [1]}')
    assert resume.fingerprint(task, ctx) != fp
    outside = tmp_path / "outside.txt"
    outside.write_text("a")
    (task.path.parent / "link").symlink_to(outside)  # noted, never read
    fp = resume.fingerprint(task, ctx)
    outside.write_text("b")
    assert resume.fingerprint(task, ctx) == fp
    assert resume.context_digest({"cells": []}, Options(timeout=1)) != ctx
    assert resume.fingerprint(Task("bob", "00_tiny", "tiny", None), ctx) != fp


def test_state_round_trip_and_half_written_files(tmp_path):
    """Does a saved result come back the same, and is a file left by a killed run ignored?"""
    task = _task(tmp_path)
    res = NotebookResult(task, [Row("alice", "00_tiny", "tiny", "test_double", 1.0, 1.0, "ok", "passed")],
                         seconds=1.5, worker="host tcp://1.2.3.4:5")
    out = tmp_path / "out"
    resume.save(out, res, "abc")
    (out / "state" / "alice" / "00_tiny" / "half.json.123.tmp").write_text("{")
    (out / "state" / "alice" / "00_tiny" / "broken.json").write_text("{")
    loaded = resume.load(out)
    assert list(loaded) == [("alice", "00_tiny", "tiny")]
    fp, back = loaded["alice", "00_tiny", "tiny"]
    assert fp == "abc" and back.rows == res.rows and back.task == task
    assert (back.seconds, back.worker) == (1.5, "host tcp://1.2.3.4:5")
    assert not list(out.glob("state/*/*/*.tmp"))
    assert json.loads((out / "state" / "alice" / "00_tiny" / "tiny.json").read_text())["fingerprint"] == "abc"


def _rows(out: Path) -> list[dict]:
    with (out / "grades.csv").open() as f:
        return list(csv.DictReader(f))


def _graded(stdout: str) -> int:
    return int(next(ln for ln in stdout.splitlines() if ln.startswith("graded ")).split()[1])


def _gradebook(out: Path) -> Counter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
            return Counter((g.student.id, g.notebook.name, g.name) for g in gb.db.query(Grade).all())


@pytest.mark.slow
def test_ctrl_c_then_resume_then_nothing_then_one_change(tmp_path):
    """Ctrl-C mid-run keeps what finished; a re-run grades the rest, then nothing, then only what changed."""
    klass = slow_class(tmp_path, normal=2, slow=2)
    out, total = tmp_path / "out", len(klass.students)
    cmd = grade_cmd(klass.submitted, out, klass.source, "--workers", "2")

    cli = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("state/*/*/*.json")) and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.05)
        assert cli.poll() is None, "the grader ended before the interruption"
        kill_group(cli, signal.SIGINT)  # what Ctrl-C does to the terminal's foreground group
        _, stderr = cli.communicate(timeout=60)
    finally:
        kill_group(cli)
    assert cli.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr
    finished = len(list(out.glob("state/*/*/*.json")))
    assert 0 < finished < total
    assert len(_rows(out)) == 2 * finished  # grades.csv holds exactly the finished ones

    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _graded(proc.stdout) == total - finished
    first = _rows(out)
    assert {r["student"] for r in first} == set(klass.students)
    assert all(r["status"] == "ok" for r in first), [r["message"] for r in first if r["status"] != "ok"]

    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and _graded(proc.stdout) == 0, proc.stderr[-3000:]
    assert _rows(out) == first  # kept as they were, seconds and worker included

    (klass.submitted / "slow_0" / "00_tiny" / "notes.txt").write_text("a file the notebook may read")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and _graded(proc.stdout) == 1, proc.stderr[-3000:]
    again = _rows(out)
    assert len(again) == len(first) == 2 * total
    assert [r for r in again if r["student"] != "slow_0"] == [r for r in first if r["student"] != "slow_0"]
    book = _gradebook(out)
    assert len(book) == 2 * total and set(book.values()) == {1}
