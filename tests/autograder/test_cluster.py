"""Grading on a real Dask cluster: a scheduler and two workers started here, on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from collections import Counter

import pytest

from tests.autograder.servers import (
    dask_cluster,
    grade_cmd,
    grade_locally,
    grades,
    kill_group,
    slow_class,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A tiny class (perfect, blank, partial, sleepy students) and its grades from the local pool."""
    root = tmp_path_factory.mktemp("cluster")
    k = slow_class(root, normal=4, slow=2)
    # a student whose folder links to the hidden tests and holds a named pipe: the Dask path
    # packs a submission with the same reader as the local pool, so both leave them out
    perfect = next(k.submitted.glob("perfect_*/*/*.ipynb"))
    linker = k.submitted / "linker" / perfect.parent.name
    linker.mkdir(parents=True)
    shutil.copy(perfect, linker)
    os.symlink(k.source, linker / "notes")
    os.mkfifo(linker / "pipe")
    k.local = grade_locally(k, root / "local")
    return k


def _one_row_per_key(rows) -> None:
    keys = Counter((r["student"], r["assignment"], r["notebook"], r["question"]) for r in rows)
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]


def test_cluster_grades_exactly_like_the_local_pool(klass, tmp_path):
    """Does a class graded on the cluster get the very same grades.csv as on local processes?"""
    with dask_cluster(2, tmp_path / "logs") as cluster:
        proc = subprocess.run(grade_cmd(klass.submitted, tmp_path / "out", klass.source,
                                        "--scheduler", cluster.address),
                              capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert grades(tmp_path / "out") == klass.local
    linker = [r["message"] for r in klass.local if r["student"] == "linker"]
    assert "notes: a symbolic link, not copied" in linker[0] and "pipe: a named pipe" in linker[0]
    where = {r["worker"] for r in grades(tmp_path / "out", drop=())}
    assert {w.split()[-1] for w in where} <= set(cluster.workers) | set(), where
    assert len(where) == 2, f"both workers should have graded: {where}"
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Dask cluster at" in report and "Where graded" in report


def _executing(client) -> dict[str, list[str]]:
    """{worker address: keys it is running right now}."""
    return {w: list(keys) for w, keys in client.call_stack().items() if keys}


def test_a_worker_killed_mid_task_loses_nothing(klass, tmp_path):
    """When a worker dies while grading, is its notebook graded elsewhere, once?"""
    from distributed import Client

    with dask_cluster(2, tmp_path / "logs") as cluster:
        cli = subprocess.Popen(grade_cmd(klass.submitted, tmp_path / "out", klass.source,
                                         "--scheduler", cluster.address),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            with warnings.catch_warnings():
                # the test's own client may warn about the cluster's config; not under test
                warnings.simplefilter("ignore", UserWarning)
                with Client(cluster.address, set_as_default=False) as client:
                    deadline, victim, running = time.monotonic() + 120, None, []
                    while victim is None and time.monotonic() < deadline:
                        for w, keys in _executing(client).items():
                            running = [k for k in keys if k.startswith("grade-slow_")]
                            if running:
                                victim = w
                                break
                        time.sleep(0.2)
                    assert victim, "no sleepy notebook was ever seen running"
                    cluster.kill_worker(victim)  # SIGKILL, mid-task
            stdout, stderr = cli.communicate(timeout=300)
        finally:
            kill_group(cli)
    assert cli.returncode == 0, stderr[-3000:]
    rows = grades(tmp_path / "out")
    _one_row_per_key(rows)
    assert rows == klass.local
    # the notebook being graded when its worker died was graded again by the other worker
    interrupted = running[0].split("-")[1]  # keys are grade-<student>-<assignment>-<notebook>-<id>
    where = {r["worker"].split()[-1] for r in grades(tmp_path / "out", drop=()) if r["student"] == interrupted}
    assert where and victim not in where, (interrupted, victim, where)
    assert "worker(s)" in stdout
