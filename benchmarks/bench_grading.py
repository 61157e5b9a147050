"""How fast does our grader grade a class, next to nbgrader at its best, and where does the time go?

One class of N perfect submissions of one assignment (the release filled with the answer
key's answers, as the demo and the tests make them), written once into an nbgrader course
root (``source/<aid>/``, ``submitted/<student>/<aid>/<notebook>.ipynb``, the repository's
nbgrader_config.py with ``source_directory = "source"``), is graded in one run

- by our grader: ``python -m autograder grade SUBMITTED --out OUT`` (its default worker
  count: one per core; preflight, release, gradebook, feedback pages and report included);
- by nbgrader, best case: ``nbgrader autograde <aid>`` once per run, for the whole class, in one
  process (how an instructor runs it: its start-up is paid once);
- by nbgrader, per student: ``nbgrader autograde <aid> --student <sid>``, one process per
  student, on the first few students (``--per-student``), scaled to the class.

Printed: wall seconds, notebooks per minute, the ratio ours / nbgrader's best case (the
median of its runs: with ``--repeat N`` each grader runs N times, in turn), the same per
core used, CPU seconds per notebook, and whether the per-student totals agree.
Then the per-notebook floor (the answer key's code cells run in an already warm
interpreter: what grading would cost with no machinery at all) and where our time per
notebook goes, from a second, instrumented run of our grader in this process on a few
students (``--profile``), one notebook at a time: kernel start (sandbox, interpreter,
ipykernel), the notebook's imports, its other cells, the sealed checks (drawing hidden
inputs, the harness and cost cells in the kernel, judging), feedback rendering, and the
parent's writing (gradebook, feedback files, state, grades.csv) and report.

Run: ``python benchmarks/bench_grading.py [--students 16] [--assignment 02_layers]
[--workers N] [--per-student 4] [--profile 4] [--compare TREE --repeat 2]`` (``--compare``: an
earlier commit unpacked, e.g. ``git archive COMMIT | tar -x -C TREE``, graded in turn with this
tree for a before/after on the same class in one run). A measurement, not a test; exits 1 if the
graders' totals differ. Kernels import the `course` package of the tree this script runs
from (the grader copies it into the sandbox; nbgrader's kernels get it through PYTHONPATH).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree's autograder and course, whatever is installed

from nbgrader.api import Gradebook  # noqa: E402
from sqlalchemy.exc import SAWarning  # noqa: E402

from autograder.classroom import answers_of, fill  # noqa: E402
from autograder.nbgrader_glue import alembic_on_path, assignment_ids  # noqa: E402
from autograder.paths import ASSIGNMENTS  # noqa: E402
from autograder.sandbox import NO_FIGURES  # noqa: E402

#: Every child (our CLI, nbgrader and their kernels) imports this tree's packages first.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
#: nbgrader's kernels get what ours get (`autograder.sandbox.NO_FIGURES`): figures made but
#: never drawn, and the notebook's last "check this notebook" cell (a second kernel running
#: every check again, `course.check`) does nothing: nbgrader at its best, the same work as ours.
NBGRADER_ENV = {**ENV, **NO_FIGURES}


def nbgrader_command() -> list[str]:
    """The `nbgrader` executable of this environment (or the module if it has no script)."""
    script = Path(sys.executable).parent / "nbgrader"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbgrader"]


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


@contextlib.contextmanager
def cpu_group():
    """A cpuacct cgroup (v1) of its own, if this machine lets us make one: (join, CPU seconds so far).

    Every process started in it and their descendants count, even kernels orphaned when
    their sandbox is killed (which the rusage of children misses): CPU seconds are steadier
    than wall seconds on a machine others share.
    """
    group = CPUACCT / f"bench-grading-{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        yield None, lambda: float("nan")
        return
    try:
        yield (lambda: (group / "cgroup.procs").write_text(str(os.getpid()))), \
            (lambda: int((group / "cpuacct.usage").read_text()) / 1e9)
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()


def run(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> tuple[float, float]:
    """Run argv to completion; (wall seconds, CPU seconds of it and every process it started). Exits on failure."""
    with cpu_group() as (join, cpu):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env or ENV, capture_output=True, text=True, check=False,
                              preexec_fn=join)
        wall = time.perf_counter() - start
        time.sleep(0.2)  # orphaned kernels, killed with their sandbox, are gone by now
        seconds = cpu()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, seconds


def course_root(root: Path, aid: str) -> None:
    """An nbgrader course root: the repository's config, sources under source/."""
    shutil.copytree(ASSIGNMENTS / aid, root / "source" / aid)
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(
        config + '\n# benchmark course root: sources in source/ (nbgrader\'s default layout)\n'
        'c.CourseDirectory.source_directory = "source"\n'
    )


def make_class(root: Path, aid: str, sids: list[str]) -> None:
    """Perfect submissions of every notebook of aid under root/submitted, one per student id."""
    for source in sorted((ASSIGNMENTS / aid).glob("*.ipynb")):
        release = nbformat.read(root / "release" / aid / source.name, as_version=4)
        nb = fill(release, answers_of(nbformat.read(source, as_version=4)))
        for sid in sids:
            dest = root / "submitted" / sid / aid / source.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest)


def nbgrader_totals(db: Path, aid: str, sids: list[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own SQLAlchemy 2 warnings
        with Gradebook(f"sqlite:///{db}") as gb:
            return {sid: float(gb.find_submission(aid, sid).score) for sid in sids}


def our_totals(grades: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    with grades.open() as f:
        for row in csv.DictReader(f):
            totals[row["student"]] += float(row["score"] or "nan")
    return dict(totals)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the floor: the answer key's cells in an already warm interpreter ------------------------

_FLOOR = """
import json, os, statistics, sys, time
os.environ.update(MPLBACKEND="agg", COURSE_CHECK_RUNNING="1")
cells = json.loads(sys.stdin.read())
import matplotlib.pyplot as plt

def once():
    start = time.perf_counter()
    ns = {"__name__": "__main__"}
    for code in cells:
        exec(compile(code, "<cell>", "exec"), ns)
    plt.close("all")
    return time.perf_counter() - start

first = once()  # the imports, paid once
print(json.dumps({"first": first, "warm": statistics.median(once() for _ in range(REPS))}))
"""


def floor(aid: str, reps: int = 5) -> tuple[float, float]:
    """(first, warm) seconds to run every answer-key notebook of aid in one interpreter."""
    first = warm = 0.0
    for source in sorted((ASSIGNMENTS / aid).glob("*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        cells = ["\n".join(line for line in c.source.split("\n") if not line.lstrip().startswith(("%", "!")))
                 for c in nb.cells if c.cell_type == "code"]
        proc = subprocess.run([sys.executable, "-c", _FLOOR.replace("REPS", str(reps))], input=json.dumps(cells),
                              cwd=source.parent, env=ENV, capture_output=True, text=True, check=True)
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        first, warm = first + got["first"], warm + got["warm"]
    return first, warm


# --- where our time goes: an instrumented run in this process --------------------------------

class Timers:
    """Seconds spent per phase, summed over calls."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.only: str | None = None  # while set, only this phase is timed (the preflight's own)

    @contextlib.contextmanager
    def phase(self, name: str):
        if self.only is not None and name != self.only:
            yield
            return
        if name == PREFLIGHT:
            self.only = name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.calls[name] += 1
            if name == PREFLIGHT:
                self.only = None

    def wrap(self, owner, attr: str, name, patches: list) -> None:
        """Time every call of owner.attr under `name` (a string, or a function of the call's args)."""
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            with self.phase(name(*args, **kwargs) if callable(name) else name):
                return original(*args, **kwargs)

        patches.append((owner, attr, original))
        setattr(owner, attr, timed)


KERNEL_START = "kernel start (sandbox, Python, ipykernel)"
KERNEL_STOP = "kernel shutdown"
IMPORTS = "notebook's imports cell (numpy, matplotlib, course)"
CELLS = "notebook's other cells (examples, answers, tests)"
SEALED_KERNEL = "sealed checks: hidden inputs run in the kernel"
COST_KERNEL = "sealed checks: cost checks in the kernel"
SEALED_GRADER = "sealed checks: drawing inputs, judging (grader)"
FEEDBACK = "feedback page (render)"
GRADE = "grade_notebook (whole)"
WORKER = "worker total per notebook"
RECORD = "parent: gradebook, feedback files, state, csv"
REPORT = "parent: report.html"
PREFLIGHT = "preflight (the answer key, once per run)"
GENERATE = "nbgrader generate_assignment: release, gradebook (per run)"
RUN = "whole run"


def profile(submitted: Path, out: Path, aid: str) -> tuple[Timers, int]:
    """Grade submitted one notebook at a time in this process, timing each phase."""
    from autograder import batch, execute, grading, preflight, report, sealed, worker
    from autograder.executors import Executor
    from autograder.grading import Options

    class InProcess(Executor):
        where = "this process (instrumented)"

        def _completed(self, jobs, options, later=None):
            for job in [*jobs, *(later() if later else [])]:
                answer_key = job.task.student == preflight.ANSWER_KEY and job.task.path is None
                with timers.phase(PREFLIGHT if answer_key else WORKER):
                    outcome = worker.grade_and_render(job.task, job.source, job.release, options, job.files)
                yield job, outcome, False

    def cell_kind(kernel, cell, index, timeout=None):
        if sealed.is_harness(cell):
            return COST_KERNEL if sealed.cost_step(cell) else SEALED_KERNEL
        return IMPORTS if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "imports" else CELLS

    timers, patches = Timers(), []
    timers.wrap(execute._Kernel, "start", KERNEL_START, patches)
    timers.wrap(execute._Kernel, "stop", KERNEL_STOP, patches)
    timers.wrap(execute._Kernel, "run", cell_kind, patches)
    timers.wrap(sealed, "prepare", SEALED_GRADER, patches)
    timers.wrap(sealed, "judge", SEALED_GRADER, patches)
    timers.wrap(worker, "render_feedback", FEEDBACK, patches)
    timers.wrap(worker, "grade_notebook", GRADE, patches)
    timers.wrap(batch._Recorder, "__call__", RECORD, patches)
    timers.wrap(batch._Recorder, "finish", RECORD, patches)
    timers.wrap(report, "write_report", REPORT, patches)
    timers.wrap(batch, "generate", GENERATE, patches)
    assert grading.sealed is sealed
    try:
        with timers.phase(RUN):
            result = batch._grade_class(submitted, out, InProcess(), Options(), None, [aid], ASSIGNMENTS.resolve(),
                                        False, True, {}, None)
    finally:
        for owner, attr, original in reversed(patches):
            setattr(owner, attr, original)
    if any(r.status != "ok" for r in result.rows):
        sys.exit("the instrumented run did not give full marks:\n" + "\n".join(
            f"  {r.student} {r.question}: {r.status} {r.message}" for r in result.rows if r.status != "ok"))
    return timers, len(result.results)


def print_profile(timers: Timers, notebooks: int, rate_per_worker: float) -> None:
    s = defaultdict(float, {k: v / notebooks for k, v in timers.seconds.items()})
    in_kernel = s[KERNEL_START] + s[KERNEL_STOP] + s[IMPORTS] + s[CELLS] + s[SEALED_KERNEL] + s[COST_KERNEL]
    rest = s[GRADE] - in_kernel - s[SEALED_GRADER]
    worker_rest = s[WORKER] - s[GRADE] - s[FEEDBACK]
    rows = [(KERNEL_START, s[KERNEL_START]), (IMPORTS, s[IMPORTS]), (CELLS, s[CELLS]),
            (SEALED_KERNEL, s[SEALED_KERNEL]), (COST_KERNEL, s[COST_KERNEL]), (SEALED_GRADER, s[SEALED_GRADER]), (KERNEL_STOP, s[KERNEL_STOP]),
            ("reading, restoring, staging the submission", rest), (FEEDBACK, s[FEEDBACK]),
            ("worker: other", worker_rest)]
    worker_total = s[WORKER]
    print(f"\nwhere a notebook's time goes (instrumented run in this process, one notebook at a time, "
          f"{notebooks} notebooks):")
    print(f"  {'phase':<56} {'s/notebook':>10} {'share':>6}")
    for name, sec in rows:
        print(f"  {name:<56} {sec:>10.3f} {sec / worker_total:>6.0%}")
    print(f"  {'= one worker per notebook':<56} {worker_total:>10.3f}")
    print(f"  {RECORD:<56} {s[RECORD]:>10.3f}  (in the parent, beside the workers)")
    for name in (REPORT, GENERATE, PREFLIGHT, RUN):
        print(f"  {name:<56} {timers.seconds[name]:>10.2f} s in all")
    print(f"  (kernel start, {timers.calls[KERNEL_START] / notebooks:.1f} per notebook; a worker at "
          f"{worker_total:.2f} s/notebook would grade {60 / worker_total:.1f} notebooks/min; "
          f"measured in the CLI run: {rate_per_worker:.1f} per worker)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="02_layers", choices=assignment_ids())
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--workers", default="",
                        help="our grader's worker counts, comma-separated, one run each (default: its own "
                             "default, one per core)")
    parser.add_argument("--per-student", type=int, default=4,
                        help="students graded by one nbgrader process each, scaled to the class (0: skip)")
    parser.add_argument("--profile", type=int, default=4,
                        help="students graded again, instrumented, for the breakdown (0: skip)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="only our grader (quick before/after)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another source tree of this project (an earlier commit, unpacked): its grader "
                             "grades the same class in turn with this one's, for a before/after in one run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each grader (ours, --compare's, nbgrader's best case), in turn")
    args = parser.parse_args(argv)
    aid = args.assignment
    alembic_on_path()  # nbgrader runs `alembic` when it creates a gradebook
    cores = os.cpu_count() or 1
    counts = [int(w) for w in args.workers.split(",")] if args.workers else [None]

    print(f"{args.students} perfect submissions of {aid}; {cores} cores; load average (1, 5, 15 min) "
          f"before: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root = Path(tmp) / "course"
        course_root(root, aid)
        run([*nbgrader_command(), "generate_assignment", aid, "--force"], cwd=root)  # not timed
        sids = [f"student_{i:03d}" for i in range(1, args.students + 1)]
        make_class(root, aid, sids)
        notebooks = len(list((root / "submitted").glob("*/*/*.ipynb")))
        per_student_nb = notebooks // len(sids)
        pristine = Path(tmp) / "pristine"
        shutil.copytree(root, pristine)

        rows = []  # (grader, processes, wall, CPU seconds, notebooks, per-student totals)
        trees = [(ROOT, "ours")] + ([(args.compare.resolve(), "ours before")] if args.compare else [])
        for rep in range(args.repeat):  # in turn, so that what the machine does meanwhile falls on all
            for n in counts:
                for tree, name in trees:
                    out = Path(tmp) / f"ours-{len(rows)}"
                    argv = [sys.executable, "-m", "autograder", "grade", str(root / "submitted"), "--out", str(out),
                            "--quiet"]
                    wall, cpu = run(argv + (["--workers", str(n)] if n else []), cwd=tree,
                                    env={**ENV, "PYTHONPATH": str(tree)})
                    label = f"{name}: autograder grade" + ("" if n is None else f" --workers {n}")
                    rows.append((label, n or cores, wall, cpu, notebooks, our_totals(out / "grades.csv")))
            if not args.skip_nbgrader:
                course = Path(tmp) / f"nbgrader-{rep}"
                shutil.copytree(pristine, course)
                wall, cpu = run([*nbgrader_command(), "autograde", aid], cwd=course, env=NBGRADER_ENV)
                rows.append(("nbgrader autograde, one process", 1, wall, cpu, notebooks,
                             nbgrader_totals(course / "gradebook.db", aid, sids)))

        if not args.skip_nbgrader and args.per_student:
            each = Path(tmp) / "each"
            shutil.copytree(pristine, each)
            few = sids[:args.per_student]
            each_run = [run([*nbgrader_command(), "autograde", aid, "--student", sid], cwd=each,
                            env=NBGRADER_ENV) for sid in few]
            wall, cpu = (sum(x) for x in zip(*each_run, strict=True))
            rows.append((f"nbgrader autograde, per student ({len(few)})", 1, wall, cpu, len(few) * per_student_nb,
                         nbgrader_totals(each / "gradebook.db", aid, few)))

        first, warm = floor(aid)
        timers = None
        if args.profile:
            prof = Path(tmp) / "profiled"
            (prof / "submitted").mkdir(parents=True)
            for sid in sids[:args.profile]:
                shutil.copytree(root / "submitted" / sid, prof / "submitted" / sid)
            timers, profiled = profile(prof / "submitted", prof / "out", aid)

    print(f"load average after: {load()}\n")
    # nbgrader's best case: the median of its runs (each ratio below is to it)
    best = [r for r in rows if r[0].startswith("nbgrader autograde, one")]
    base = statistics.median(r[4] / r[2] * 60 for r in best) if best else None
    base_cpu = statistics.median(r[4] / r[3] * 60 for r in best) if best else None
    reference = best[0][5] if best else None
    print(f"{'grader':<38} {'procs':>5} {'wall s':>7} {'nb/min':>7} {'ratio':>6} {'per core':>8} "
          f"{'ratio/core':>10} {'CPU s/nb':>8} {'nb/CPU-min':>10} {'ratio':>6}  scores")
    mismatches = []
    for tool, procs, wall, cpu, n, totals in rows:
        rate = n / wall * 60
        per_core = rate / min(procs, cores)
        if reference is None:
            same = "-"
        elif totals is reference:
            same = "reference"
        else:
            bad = [sid for sid in totals if abs(totals[sid] - reference[sid]) > 1e-9]
            mismatches += [f"{sid}: {tool} {totals[sid]:g}, nbgrader {reference[sid]:g}" for sid in bad]
            same = "identical" if not bad else f"MISMATCH ({len(bad)})"
        ratio = f"{rate / base:.2f}" if base else "-"
        ratio_core = f"{per_core / base:.2f}" if base else "-"
        per_cpu = n / cpu * 60
        ratio_cpu = f"{per_cpu / base_cpu:.2f}" if base_cpu else "-"
        print(f"{tool:<38} {procs:>5} {wall:>7.1f} {rate:>7.1f} {ratio:>6} {per_core:>8.1f} {ratio_core:>10} "
              f"{cpu / n:>8.2f} {per_cpu:>10.1f} {ratio_cpu:>6}  {same}")
    if args.repeat > 1 or args.compare:
        by = defaultdict(list)
        for tool, _, wall, cpu, n, _ in rows:
            by[tool].append((n / wall * 60, cpu / n))
        print("\nmedians over the runs (ratio: to nbgrader's best case, per core: of the cores used):")
        for tool, got in by.items():
            rate = statistics.median(r for r, _ in got)
            procs = min(next(r[1] for r in rows if r[0] == tool), cores)
            ratios = f"ratio {rate / base:.2f}, per core {rate / procs / base:.2f}  " if base else ""
            print(f"  {tool:<44} {rate:7.1f} nb/min {statistics.median(c for _, c in got):6.2f} CPU s/nb  "
                  f"{ratios}({len(got)} runs)")
    if reference:
        ours = sorted({t for r in rows if r[0].startswith("ours") for t in r[5].values()})
        print(f"\nper-student totals: ours {ours}, nbgrader {sorted(set(reference.values()))} "
              f"({'identical for every student' if not mismatches else 'DIFFERENT'})")
    print(f"\nfloor: the answer key's cells in one warm interpreter: {warm:.3f} s per notebook "
          f"({60 / warm:.0f} notebooks/min per core; {first:.2f} s the first time, imports included)")
    if timers:
        print_profile(timers, profiled, rows[0][4] / rows[0][2] * 60 / rows[0][1])
        print(f"  (the floor, {warm:.3f} s, is {warm / (timers.seconds[WORKER] / profiled):.0%} of a worker's "
              "time per notebook)")
    if mismatches:
        print("MISMATCH of per-student totals:\n  " + "\n  ".join(mismatches))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
