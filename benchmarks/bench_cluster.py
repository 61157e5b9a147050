"""How fast does a class grade on local processes and on a Dask cluster, and what does the cluster add?

One class of perfect submissions of one assignment (default: 20 of 02_layers) is graded by
``autograder.batch.grade_class``

- on the local pool with 1 and with 2 processes, and
- through a Dask cluster started here (``dask scheduler`` + 2 ``dask worker --nthreads 1``
  on loopback), with ``scheduler=ADDRESS`` (cluster start-up timed apart, not in the run),

each into a fresh OUT (SQLite gradebook; release, feedback, state, report included).
Then the per-task overhead: a class of "trivial" notebooks (students who submitted nothing:
grading returns at once, no kernel) graded the same ways measures what the pipeline costs
around a notebook (dispatch, transfer, the parent's gradebook/feedback/state writes), and a
bare Dask round trip (``client.submit`` of a no-op) measures the cluster's own share.

Printed: wall seconds, notebooks per minute, the median seconds per notebook on the workers,
the parent's writing time per notebook (gradebook, feedback, state, grades.csv: the one
serial part), and the overheads. Run: ``python benchmarks/bench_cluster.py [--students 20] [--trivial 200]``.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.batch import grade_class
from autograder.classroom import answers_of, fill
from autograder.demo import load_notebooks
from autograder.nbgrader_glue import alembic_on_path, assignment_ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(workers: int, logs: Path):
    """A scheduler and `workers` single-threaded workers on loopback; yields (address, start-up s)."""
    dask = [str(Path(sys.executable).parent / "dask")]
    port, procs, start = free_port(), [], time.perf_counter()
    address = f"tcp://127.0.0.1:{port}"
    try:
        with (logs / "scheduler.log").open("w") as log:
            procs.append(subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                           "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        for i in range(workers):
            with (logs / f"worker{i}.log").open("w") as log:
                procs.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                               "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0",
                                               "--local-directory", str(logs / f"w{i}")],
                                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        while (logs / "scheduler.log").read_text().count("Register worker") < workers:
            if time.perf_counter() - start > 120:
                raise TimeoutError("the dask workers did not register")
            time.sleep(0.05)
        yield address, time.perf_counter() - start
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def perfect_class(root: Path, aid: str, students: int) -> Path:
    submitted = root / "submitted"
    for (a, name), (source, release) in load_notebooks([aid]).items():
        nb = fill(release, answers_of(source))
        for i in range(students):
            dest = submitted / f"student_{i:03d}" / a / f"{name}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest)
    return submitted


def trivial_class(root: Path, aid: str, students: int) -> Path:
    """Students with an empty assignment folder: each notebook is graded 'missing' at once."""
    submitted = root / "trivial"
    for i in range(students):
        (submitted / f"student_{i:04d}" / aid).mkdir(parents=True)
    return submitted


def run(submitted: Path, out: Path, **kw) -> tuple[float, int, float, float]:
    """(wall s, notebooks, median s per notebook on a worker, s per notebook the parent spent writing)."""
    start = time.perf_counter()
    result = grade_class(submitted, out, progress=False, **kw)
    wall = time.perf_counter() - start
    assert result.graded == len(result.results), "a fresh OUT grades everything"
    n = len(result.results)
    return wall, n, statistics.median(r.seconds for r in result.results), result.record_seconds / n


def dask_round_trip(address: str, n: int) -> tuple[float, float]:
    """(seconds per no-op task one at a time, seconds per no-op task when n are in flight)."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        start = time.perf_counter()
        for _ in range(n // 4):
            client.submit(int, 0, pure=False).result()
        serial = (time.perf_counter() - start) / (n // 4)
        start = time.perf_counter()
        client.gather([client.submit(int, 0, pure=False) for _ in range(n)])
        batch = (time.perf_counter() - start) / n
    return serial, batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="02_layers", choices=assignment_ids())
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--trivial", type=int, default=200, help="trivial notebooks for the overhead")
    args = parser.parse_args(argv)
    alembic_on_path()
    aid = args.assignment
    load = lambda: " ".join(f"{x:.2f}" for x in os.getloadavg())  # noqa: E731
    print(f"{args.students} perfect submissions of {aid}; {os.cpu_count()} cores; load average before: {load()}")

    table, overhead = [], []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        tmp = Path(tmp)
        submitted = perfect_class(tmp, aid, args.students)
        trivial = trivial_class(tmp, aid, args.trivial)
        for n in (1, 2):
            table.append((f"local pool, {n} process{'es' if n > 1 else ''}", *run(submitted, tmp / f"local{n}", workers=n)))
            print("  measured:", table[-1], flush=True)
            if n == 2:
                overhead.append(("local pool, 2 processes", *run(trivial, tmp / "trivial-local", workers=2)))
        logs = tmp / "logs"
        logs.mkdir()
        with dask_cluster(2, logs) as (address, startup):
            table.append(("Dask cluster, 2 workers", *run(submitted, tmp / "dask", scheduler=address)))
            print("  measured:", table[-1], f"(cluster start-up {startup:.1f} s)", flush=True)
            overhead.append(("Dask cluster, 2 workers", *run(trivial, tmp / "trivial-dask", scheduler=address)))
            serial, batch = dask_round_trip(address, 400)

    print(f"load average after: {load()}\n")
    print(f"{'grading on':<26} {'notebooks':>9} {'wall s':>8} {'nb/min':>8} {'median s/nb':>12} {'write ms/nb':>12}")
    for name, wall, count, median, write in table:
        print(f"{name:<26} {count:>9} {wall:>8.1f} {count / wall * 60:>8.1f} {median:>12.2f} {write * 1000:>12.1f}")
    print("\ntrivial notebooks (nothing submitted: no kernel), whole pipeline per notebook:")
    print(f"{'grading on':<26} {'notebooks':>9} {'wall s':>8} {'ms/nb':>8} {'write ms/nb':>12}")
    for name, wall, count, _, write in overhead:
        print(f"{name:<26} {count:>9} {wall:>8.1f} {wall / count * 1000:>8.1f} {write * 1000:>12.1f}")
    print(f"\nDask alone: no-op task round trip {serial * 1000:.1f} ms one at a time, "
          f"{batch * 1000:.2f} ms per task with 400 in flight; cluster start-up (scheduler + 2 workers) "
          f"{startup:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
