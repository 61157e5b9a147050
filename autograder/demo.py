"""The demo: release the course, make a class of about 30 students, grade it, summarize.

The class mixes perfect and blank students, partial work, one bug of the bug bank per
student, and broken submissions (invalid JSON, empty file, missing or renamed notebook,
deleted or edited cells, an infinite loop, a kernel killed by os._exit, a memory bomb,
a flood of output, warnings on stderr).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.batch import grade_class
from autograder.classroom import make_class
from autograder.grading import Options
from autograder.nbgrader_glue import assignment_ids, release_notebooks
from autograder.paths import ASSIGNMENTS
from autograder.release import release
from autograder.summary import print_summary

#: The demo grades these assignments (the quick ones), or every assignment if none exists.
DEMO_ASSIGNMENTS = ["02_layers", "03_losses"]
#: Seconds per cell in the demo: these notebooks' cells take under 2 s, and the class's
#: infinite loop should not hold the demo up for the default minute (twice: test and sealed check).
DEMO_TIMEOUT = 15


def load_notebooks(assignments: list[str], source: Path = ASSIGNMENTS) -> dict:
    """{(assignment, notebook): (source notebook, release notebook)} for the given assignments."""
    with tempfile.TemporaryDirectory(prefix="demo-release-") as tmp:
        paths = release_notebooks(Path(tmp), assignments, source)
        return {
            (p.parent.name, p.stem): (
                nbformat.read(source / p.parent.name / p.name, as_version=4),
                nbformat.read(p, as_version=4),
            )
            for p in paths
        }


def run(out: Path, students: int = 30, workers: int | None = None) -> int:
    out = Path(out)
    for sub in ("release", "submitted", "graded"):
        shutil.rmtree(out / sub, ignore_errors=True)
    start = time.monotonic()
    written = release(out)
    print(f"released {len(written) - 1} notebooks and the course wheel to {out / 'release'}")

    demo = [a for a in DEMO_ASSIGNMENTS if a in assignment_ids()] or assignment_ids()
    roster = make_class(out / "submitted", load_notebooks(demo), students)
    print(f"made a class of {len(roster)} students for {', '.join(demo)} in {out / 'submitted'}")

    result = grade_class(out / "submitted", out / "graded", workers=workers, options=Options(timeout=DEMO_TIMEOUT))
    print_summary(result)
    kinds = {s.sid: f"{s.kind} {s.detail}".strip() for s in roster}
    print(f"\n{'student':<16} {'made as':<44} {'score':>9}")
    for sid in sorted(kinds):
        mine = [r for r in result.rows if r.student == sid]
        got, possible = sum(r.score for r in mine), sum(r.max_score for r in mine)
        print(f"{sid:<16} {kinds[sid]:<44} {got:>4g} / {possible:<4g}")
    print(f"\ndone in {time.monotonic() - start:.0f} s; open {(out / 'graded' / 'report.html').resolve()} in a browser")
    return 0
