"""Shared fixtures: a tiny course graded once through the command line."""

from __future__ import annotations

import fcntl
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.classroom import make_class
from autograder.demo import load_notebooks
from tests.autograder.tiny import AID, write_tiny_source


def run_cli(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` (in cwd) and return the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
    )


@dataclass
class GradedClass:
    source: Path
    submitted: Path
    out: Path
    proc: subprocess.CompletedProcess
    roster: list


@pytest.fixture(scope="session")
def tiny_class(tmp_path_factory, worker_id) -> GradedClass:
    """A class of 17 synthetic students of the tiny assignment, graded by the CLI.

    Graded once per test run, however many xdist workers use it (tests only read it): the
    first worker to get the lock grades, the others wait for it and load what it saved.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # parent: shared by this run's workers
    saved = shared / "tiny-class.pickle"
    with (shared / "tiny-class.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            root = shared / "tiny-class"
            source = write_tiny_source(root / "source")
            roster = make_class(root / "submitted", load_notebooks([AID], source), 17)
            proc = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"),
                           "--source", str(source), "--timeout", "20", "--quiet")
            saved.write_bytes(pickle.dumps(GradedClass(source, root / "submitted", root / "out", proc, roster)))
        return pickle.loads(saved.read_bytes())
