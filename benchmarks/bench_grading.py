"""How fast does our grader grade a class, next to nbgrader's own command line?

One class of complete (perfect) submissions of one assignment, written once into an
nbgrader course root (``source/<aid>/``, ``submitted/<student>/<aid>/<notebook>.ipynb``,
the repository's nbgrader_config.py with ``source_directory = "source"``), is graded

- by our grader: ``autograder.batch.grade_class(submitted, out, workers=N)`` (its release,
  feedback, report and gradebook included in the time), and
- by plain nbgrader: ``nbgrader autograde <aid> --student <sid>``, one student after the
  other, each a fresh process in the course root (``generate_assignment`` first, not timed).

Printed: wall seconds, notebooks per minute, throughput ratio ours / nbgrader, whether the
per-student total scores agree, and the median time per notebook of ours; the machine's load
before and after. Exits 1 if the scores differ.

Run: ``python benchmarks/bench_grading.py [--assignment 02_layers] [--students 40] [--workers 2]``.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.batch import grade_class
from autograder.classroom import answers_of, fill
from autograder.nbgrader_glue import alembic_on_path, assignment_ids
from autograder.paths import ASSIGNMENTS, ROOT


def nbgrader_command() -> list[str]:
    """The `nbgrader` executable of this environment (or the module if it has no script)."""
    script = Path(sys.executable).parent / "nbgrader"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbgrader"]


def nbgrader(root: Path, *args: str) -> None:
    proc = subprocess.run([*nbgrader_command(), *args], cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def course_root(root: Path, aid: str) -> None:
    """An nbgrader course root: the repository's config, sources under source/."""
    shutil.copytree(ASSIGNMENTS / aid, root / "source" / aid)
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(
        config + '\n# benchmark course root: sources in source/ (nbgrader\'s default layout)\n'
        'c.CourseDirectory.source_directory = "source"\n'
    )


def make_class(root: Path, aid: str, students: int) -> list[str]:
    """Write `students` perfect submissions of every notebook of aid under root/submitted."""
    sids = [f"student_{i:03d}" for i in range(1, students + 1)]
    for source in sorted((ASSIGNMENTS / aid).glob("*.ipynb")):
        release = nbformat.read(root / "release" / aid / source.name, as_version=4)
        nb = fill(release, answers_of(nbformat.read(source, as_version=4)))
        for sid in sids:
            dest = root / "submitted" / sid / aid / source.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest)
    return sids


def nbgrader_totals(db: Path, aid: str, sids: list[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own SQLAlchemy 2 warnings
        with Gradebook(f"sqlite:///{db}") as gb:
            return {sid: float(gb.find_submission(aid, sid).score) for sid in sids}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="02_layers", choices=assignment_ids())
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", default=str(os.cpu_count() or 1),
                        help="worker counts of our grader, comma-separated (default: the core count)")
    args = parser.parse_args(argv)
    aid, workers = args.assignment, [int(w) for w in args.workers.split(",")]
    alembic_on_path()  # nbgrader runs `alembic` when it creates a gradebook

    print(f"{args.students} perfect submissions of {aid}; {os.cpu_count()} cores; "
          f"load average (1, 5, 15 min) before: {load()}")
    rows, ours_medians = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root = Path(tmp) / "course"
        course_root(root, aid)
        nbgrader(root, "generate_assignment", aid, "--force")  # not timed
        sids = make_class(root, aid, args.students)
        notebooks = len(list((root / "submitted").glob("*/*/*.ipynb")))

        ours, why = {}, {}
        for n in workers:
            out = Path(tmp) / f"ours-{n}"
            start = time.perf_counter()
            result = grade_class(root / "submitted", out, workers=n, progress=False)
            seconds = time.perf_counter() - start
            totals = {sid: sum(r.score for r in result.rows if r.student == sid) for sid in sids}
            ours[n] = totals
            why[n] = {sid: [f"{r.question}: {r.score:g}/{r.max_score:g} {r.status} {r.message[:300]}"
                            for r in result.rows if r.student == sid] for sid in sids}
            ours_medians[n] = statistics.median(res.seconds for res in result.results)
            rows.append(("ours (autograder.batch)", n, seconds))

        start = time.perf_counter()
        for sid in sids:
            nbgrader(root, "autograde", aid, "--student", sid, "--force")
        seconds = time.perf_counter() - start
        rows.append(("nbgrader autograde CLI", 1, seconds))
        theirs = nbgrader_totals(root / "gradebook.db", aid, sids)

    base = notebooks / rows[-1][2] * 60
    print(f"load average after: {load()}\n")
    print(f"{'tool':<26} {'workers':>7} {'wall s':>8} {'nb/min':>8} {'ratio':>6}  scores")
    mismatches = []
    for (tool, n, seconds), totals in zip(rows, [*ours.values(), theirs], strict=True):
        rate = notebooks / seconds * 60
        bad = [sid for sid in sids if abs(totals[sid] - theirs[sid]) > 1e-9]
        mismatches += [f"{sid}: ours ({n} workers) {totals[sid]:g}, nbgrader {theirs[sid]:g}\n      "
                       + "\n      ".join(why[n][sid]) for sid in bad]
        same = "reference" if totals is theirs else ("identical" if not bad else f"MISMATCH ({len(bad)})")
        print(f"{tool:<26} {n:>7} {seconds:>8.1f} {rate:>8.1f} {rate / base:>6.2f}  {same}")
    print()
    for n, median in ours_medians.items():
        print(f"ours, {n} workers: median {median:.2f} s per notebook (one worker's grading of one notebook)")
    totals = sorted(set(theirs.values()))
    print(f"nbgrader's total per student: {', '.join(f'{t:g}' for t in totals)}")
    if mismatches:
        print("MISMATCH of per-student totals:\n  " + "\n  ".join(mismatches))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
