"""Real servers for the scale-out tests, started on loopback and stopped after.

- `dask_cluster`: a ``dask scheduler`` and ``dask worker`` processes (``--nthreads 1``).
- `postgres_server`: Debian's PostgreSQL in a temporary data directory, run as the
  ``postgres`` user when we are root (postgres refuses to run as root).
- `slow_class`: a tiny class with students whose answers sleep, so that a test can stop
  a worker or the grader while a notebook is being graded.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.classroom import make_class
from autograder.demo import load_notebooks
from autograder.restore import grade_id
from tests.autograder.tiny import AID, NB, write_tiny_source

SLEEP = 2  # seconds a slow student's answer sleeps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


def kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Signal a process started with start_new_session=True and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)


def _dask() -> list[str]:
    script = Path(sys.executable).parent / "dask"
    return [str(script)] if script.exists() else [sys.executable, "-m", "distributed.cli.dask_spec"]


@dataclass
class DaskCluster:
    address: str
    log_dir: Path
    scheduler: subprocess.Popen | None = None
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)  # worker address -> process

    def kill_worker(self, address: str) -> None:
        kill_group(self.workers.pop(address))

    def close(self) -> None:
        for proc in self.workers.values():
            kill_group(proc, signal.SIGTERM)
        if self.scheduler:
            kill_group(self.scheduler, signal.SIGTERM)
        for proc in [*self.workers.values(), self.scheduler]:
            if proc and proc.poll() is None:
                kill_group(proc)


@contextlib.contextmanager
def dask_cluster(workers: int = 2, log_dir: Path | None = None):
    """A scheduler and `workers` single-threaded workers on 127.0.0.1 free ports."""
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="dask-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cluster = DaskCluster(f"tcp://127.0.0.1:{port}", log_dir)
    env = os.environ | {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    try:
        with (log_dir / "scheduler.log").open("w") as log:  # the child keeps its own copy
            cluster.scheduler = subprocess.Popen(
                [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        _wait(lambda: "Scheduler at" in (log_dir / "scheduler.log").read_text(), 60, "the dask scheduler")
        for i in range(workers):
            wport = free_port()
            address = f"tcp://127.0.0.1:{wport}"
            # no nanny: killing this process is losing the worker, as when a machine dies
            with (log_dir / f"worker{i}.log").open("w") as wlog:
                cluster.workers[address] = subprocess.Popen(
                    [*_dask(), "worker", cluster.address, "--nthreads", "1", "--no-nanny",
                     "--host", "127.0.0.1", "--worker-port", str(wport), "--no-dashboard",
                     "--memory-limit", "0", "--local-directory", str(log_dir / f"worker{i}")],
                    stdout=wlog, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        _wait(lambda: (log_dir / "scheduler.log").read_text().count("Register worker") >= workers,
              90, "the dask workers")
        yield cluster
    finally:
        cluster.close()


@dataclass
class Postgres:
    url: str  # the server, database "postgres"
    host: str
    port: int

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@{self.host}:{self.port}/{name}"


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres")) or [shutil.which("postgres")]
    return Path(found[-1]).parent if found[-1] and (Path(found[-1]).parent / "initdb").exists() else None


@contextlib.contextmanager
def postgres_server():
    """Debian's PostgreSQL on a loopback port, in a temporary data directory; trust auth."""
    import psycopg

    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    as_user = {}
    if os.geteuid() == 0:  # postgres will not run as root: the postgres user owns the cluster
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, port = root / "data", free_port()
    proc = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, cwd=root, **as_user)
        log = root / "server.log"
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
             "-k", str(root), "-F", "-c", "max_connections=50"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root, start_new_session=True, **as_user)

        def accepting() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited ({proc.returncode}); see {log}")
            try:
                psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres").close()
                return True
            except psycopg.OperationalError:
                return False

        _wait(accepting, 60, "postgres")
        yield Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", "127.0.0.1", port)
    finally:
        if proc:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_group(proc)
        shutil.rmtree(root, ignore_errors=True)


def write_slow_student(submitted: Path, sid: str, perfect: Path, seconds: float = SLEEP) -> None:
    """A perfect submission whose first answer cell sleeps (to stop a grading mid-notebook)."""
    nb = nbformat.read(perfect, as_version=4)
    for cell in nb.cells:
        if grade_id(cell) == "double":
            cell.source = f"import time\ntime.sleep({seconds})\n" + cell.source
    dest = submitted / sid / AID / f"{NB}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


@dataclass
class SlowClass:
    source: Path
    submitted: Path
    students: list[str]


def slow_class(root: Path, normal: int = 4, slow: int = 3) -> SlowClass:
    """`normal` students of the tiny roster (perfect, blank, partial...) and `slow` sleepy ones."""
    source = write_tiny_source(root / "source")
    roster = make_class(root / "submitted", load_notebooks([AID], source), normal)
    perfect = next(root / "submitted" / s.sid / AID / f"{NB}.ipynb" for s in roster if s.sid.startswith("perfect"))
    slow_ids = [f"slow_{i}" for i in range(slow)]
    for sid in slow_ids:
        write_slow_student(root / "submitted", sid, perfect)
    return SlowClass(source, root / "submitted", [s.sid for s in roster] + slow_ids)


def grades(out: Path, *, drop=("seconds", "worker")) -> list[dict]:
    """grades.csv as a list of rows, without the columns that differ between runs."""
    with (out / "grades.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def grade_cmd(submitted: Path, out: Path, source: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
            "--source", str(source), "--timeout", "10", "--quiet", *extra]


def grade_locally(klass: SlowClass, out: Path) -> list[dict]:
    """Grade the class on the local pool of 2 processes (SQLite gradebook) into out; its grades."""
    proc = subprocess.run(grade_cmd(klass.submitted, out, klass.source, "--workers", "2"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return grades(out)
