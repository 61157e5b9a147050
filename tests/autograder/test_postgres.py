"""The gradebook on a real PostgreSQL server: grade, kill the grader, resume, re-grade.

The server is Debian's (install.sh installs it), started here in a temporary data
directory on a loopback port and stopped after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from collections import Counter

import pytest
from nbgrader.api import Grade, Gradebook, SubmittedAssignment
from sqlalchemy.exc import SAWarning

from tests.autograder.servers import (
    grade_cmd,
    grade_locally,
    grades,
    kill_group,
    postgres_bindir,
    postgres_server,
    slow_class,
)
from tests.autograder.tiny import AID

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_bindir() is None,
                       reason="PostgreSQL server binaries absent (install.sh installs Debian's postgresql)"),
]


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A tiny class with sleepy students, graded once with the default SQLite gradebook."""
    root = tmp_path_factory.mktemp("pgclass")
    k = slow_class(root, normal=2, slow=2)
    k.sqlite_rows = grade_locally(k, root / "sqlite")
    k.sqlite_book = gradebook(f"sqlite:///{root / 'sqlite' / 'gradebook.db'}")
    k.sqlite_times = timestamps(f"sqlite:///{root / 'sqlite' / 'gradebook.db'}")
    return k


def gradebook(url: str) -> dict[tuple[str, str, str], float]:
    """{(student, notebook, question): auto score} of every grade; fails on a duplicate key."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(url) as gb:
            keys = [(g.student.id, g.notebook.name, g.name, g.auto_score) for g in gb.db.query(Grade).all()]
    counts = Counter(k[:3] for k in keys)
    assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
    return {k[:3]: k[3] for k in keys}


def timestamps(url: str) -> dict[str, object]:
    """{student: submission time} as the gradebook holds it (`autograder.lateness`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(url) as gb:
            return {s.student_id: s.timestamp for s in gb.db.query(SubmittedAssignment).all()}


def _graded(stdout: str) -> int:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("graded ") and "notebooks" in ln)
    return int(line.split()[1])


def test_postgres_gradebook_survives_a_killed_grader_and_matches_sqlite(pg, klass, tmp_path):
    """Killed mid-run, resumed, re-graded: does PostgreSQL hold each grade once, as SQLite does?"""
    url = pg.create_database("resume")
    out, total = tmp_path / "out", len(klass.students)
    cmd = grade_cmd(klass.submitted, out, klass.source, "--db", url, "--workers", "2")

    # 1. kill the grader (SIGKILL, no chance to clean up) once some notebooks are finished
    cli = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("state/*/*/*.json")) and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.05)
        assert cli.poll() is None, f"the grader ended before it could be killed: {cli.stderr.read()[-3000:]}"
        os.kill(cli.pid, signal.SIGKILL)
    finally:
        kill_group(cli)  # and its pool of workers
        cli.stdout.close()
        cli.stderr.close()
    finished = len(list(out.glob("state/*/*/*.json")))
    assert 0 < finished < total, f"the kill should land mid-run ({finished} of {total} done)"
    partial = gradebook(url)
    assert {s for s, _, _ in partial} >= {p.parent.parent.name for p in out.glob("state/*/*/*.json")}

    # 2. resume: only the rest is graded, and the finished grades were kept
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _graded(proc.stdout) == total - finished
    assert grades(out) == klass.sqlite_rows
    assert gradebook(url) == klass.sqlite_book

    # 3. nothing changed: nothing graded again
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and _graded(proc.stdout) == 0, proc.stderr[-3000:]

    # 4. --force: everything graded again, still once per key
    proc = subprocess.run([*cmd, "--force"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _graded(proc.stdout) == total
    assert grades(out) == klass.sqlite_rows
    assert gradebook(url) == klass.sqlite_book
    assert timestamps(url) == klass.sqlite_times
    assert None not in klass.sqlite_times.values()  # every submission's time, from its notebook's
    assert set(klass.sqlite_book) >= {(s, "tiny", "test_double") for s in klass.students if s != "missing"}
    assert AID in proc.stdout
