"""Shared fixtures: a tiny course graded once through the command line."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.classroom import make_class
from autograder.demo import load_notebooks
from tests.autograder.tiny import AID, write_tiny_source


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` and return the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@dataclass
class GradedClass:
    source: Path
    submitted: Path
    out: Path
    proc: subprocess.CompletedProcess
    roster: list


@pytest.fixture(scope="session")
def tiny_class(tmp_path_factory) -> GradedClass:
    """A class of 17 synthetic students of the tiny assignment, graded by the CLI."""
    root = tmp_path_factory.mktemp("tiny")
    source = write_tiny_source(root / "source")
    roster = make_class(root / "submitted", load_notebooks([AID], source), 17)
    proc = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"),
                   "--source", str(source), "--timeout", "20", "--quiet")
    return GradedClass(source, root / "submitted", root / "out", proc, roster)
