"""Command line: ``python -m autograder VERB ...`` (also installed as ``autograder``).

Each verb is a thin wrapper over a function of `autograder.api`; defaults live there.
Exit code 0 when the grader did its job (whatever the students scored), 2 when it could not
(nothing graded: bad folders, a failed preflight, a full disk), 3 when it graded the class
but failed on some notebooks (their rows say `grader-error`; run the same command again),
130 when interrupted (Ctrl-C): finished grades are kept, and the same command resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# `python -m` puts the working folder first on sys.path: a folder there named like one of our
# packages (an nbgrader course root called "course", say) would shadow the installed package
# as an empty namespace package. The working folder stays only if this package came from it.
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.getcwd() or os.getcwd() == _here]

from autograder import api  # noqa: E402
from autograder.execute import CELL_TIMEOUT, DISK_LIMIT, MEMORY_LIMIT  # noqa: E402
from autograder.nbgrader_glue import GraderError  # noqa: E402
from autograder.paths import ASSIGNMENTS  # noqa: E402
from autograder.submission import Limits  # noqa: E402

MIB = 1024**2


def _release(args) -> int:
    for path in api.release(Path(args.out), args.assignment or None, source=Path(args.source)):
        print(f"wrote {path}")
    return 0


def _grade(args) -> int:
    from autograder.grading import Options
    from autograder.lateness import parse_dues
    from autograder.summary import print_summary

    try:
        result = api.grade(
            Path(args.submitted), Path(args.out), workers=args.workers, db_url=args.db,
            options=Options(timeout=args.timeout, memory_limit=args.memory_mb * MIB, disk_limit=args.disk_mb * MIB,
                            limits=Limits(files=args.max_files, largest_file=args.max_file_mb * MIB,
                                          total_bytes=args.max_total_mb * MIB)),
            assignments=args.assignment or None, progress=not args.quiet, source=Path(args.source),
            scheduler=args.scheduler, force=args.force, due=parse_dues(args.due),
            late_config=Path(args.config) if args.config else None,
        )
    except KeyboardInterrupt:
        print("\ninterrupted: every finished grade is saved; run the same command again to grade the rest",
              file=sys.stderr)
        return 130
    print_summary(result)
    return 3 if result.grader_errors else 0


def _export(args) -> int:
    for warning in api.export(Path(args.out_dir), args.format, Path(args.out),
                              roster=Path(args.roster) if args.roster else None, roster_key=args.roster_key,
                              roster_columns=args.roster_column, titles=args.title):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out}")
    return 0


def _gradescope(args) -> int:
    from autograder.grading import Options

    path = api.gradescope(args.assignment, Path(args.out), source=Path(args.source), hidden_tests=args.hidden_tests,
                 options=Options(timeout=args.timeout, memory_limit=args.memory_mb * MIB, disk_limit=args.disk_mb * MIB),
                 late_config=Path(args.config) if args.config else None)
    print(f"wrote {path} (and its files in {path.parent / 'autograder'}): upload it as the assignment's "
          "autograder on Gradescope")
    return 0


def _solutions(args) -> int:
    for path in api.solutions(args.assignment or None):
        print(f"wrote {path}")
    return 0


def _kernel_env(args) -> int:
    env = api.kernel_env(rebuild=args.rebuild)
    print(f"grading kernels run {env.python} (Python {env.version})")
    print("packages they can import: " + ", ".join(f"{k} {v}" for k, v in sorted(env.versions.items())))
    return 0


def _doctor(args) -> int:
    return api.doctor(args.assignment, Path(args.source))


def _demo(args) -> int:
    return api.demo(Path(args.out), students=args.students, workers=args.workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("release", help="write the student release (notebooks and the course wheel)")
    p.add_argument("--out", required=True, help="writes OUT/release/<assignment>/<notebook>.ipynb")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--source", default=str(ASSIGNMENTS), help="source notebooks (default: the course's)")
    p.set_defaults(run=_release)

    p = verbs.add_parser("grade", help="grade SUBMITTED/<student>/<assignment>/<notebook>.ipynb")
    p.add_argument("submitted", help="folder of submissions, nbgrader's layout")
    p.add_argument("--out", required=True, help="folder for grades.csv, feedback/, report.html, gradebook")
    p.add_argument("--workers", type=int, default=None, help="parallel notebooks (default: one per core)")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument("--memory-mb", type=int, default=MEMORY_LIMIT // MIB,
                   help="memory per submission in MiB (default %(default)s)")
    p.add_argument("--disk-mb", type=int, default=DISK_LIMIT // MIB,
                   help="what a submission's code may write, in MiB in all (default %(default)s)")
    p.add_argument("--max-files", type=int, default=Limits.files,
                   help="files and folders a submission may bring beside its notebook (default %(default)s)")
    p.add_argument("--max-file-mb", type=int, default=Limits.largest_file // MIB,
                   help="largest file beside the notebook, MiB (default %(default)s)")
    p.add_argument("--max-total-mb", type=int, default=Limits.total_bytes // MIB,
                   help="all files beside the notebook together, MiB (default %(default)s)")
    p.add_argument("--db", default=None,
                   help="gradebook SQLAlchemy URL, e.g. postgresql://user@host/db (default: sqlite under OUT)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on the Dask cluster of this scheduler (tcp://host:8786) instead of local processes")
    p.add_argument("--force", action="store_true",
                   help="grade every submission again, even those unchanged since the last run into OUT")
    p.add_argument("--due", action="append", metavar="[ASSIGNMENT=]DATE",
                   help="due date, recorded in the gradebook (default: the gradebook's), e.g. "
                        "'2026-03-01 17:00:00 UTC'; without ASSIGNMENT= for every assignment graded (repeatable)")
    p.add_argument("--config", default=None, metavar="NBGRADER_CONFIG",
                   help="an nbgrader_config.py read after the course's (late-penalty plugin, as nbgrader reads it)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--source", default=str(ASSIGNMENTS), help="source notebooks (default: the course's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_grade)

    from autograder.export import DEFAULT_ROSTER_KEY, FORMATS

    p = verbs.add_parser("export", help="grades of a grade run (OUT/grades.csv) for Canvas's import or a spreadsheet")
    p.add_argument("out_dir", metavar="OUT", help="the output folder of `grade`")
    p.add_argument("--format", choices=FORMATS, default="csv",
                   help="canvas: Canvas's gradebook import; csv: a row per student, a column per question "
                        "(default %(default)s)")
    p.add_argument("--out", required=True, metavar="FILE", help="the CSV file to write")
    p.add_argument("--roster", default=None, help="canvas: a CSV mapping our student ids to Canvas's students "
                   "(Canvas's own gradebook export will do)")
    p.add_argument("--roster-key", default=DEFAULT_ROSTER_KEY,
                   help="canvas: the roster column holding our student ids (default %(default)r)")
    p.add_argument("--roster-column", action="append", metavar="CANVAS=ROSTER",
                   help="canvas: fill Canvas column CANVAS (Student, ID, SIS User ID, SIS Login ID, Section) "
                        "from roster column ROSTER (default: the column of the same name; repeatable)")
    p.add_argument("--title", action="append", metavar="ASSIGNMENT=TITLE",
                   help="canvas: the column title of an assignment, e.g. '02_layers=Layers (12345)' to "
                        "match Canvas assignment 12345 (default: the assignment id; repeatable)")
    p.set_defaults(run=_export)

    from autograder.gradescope import VISIBILITIES

    p = verbs.add_parser("gradescope", help="write the Gradescope autograder bundle of an assignment")
    p.add_argument("assignment", help="the assignment to grade on Gradescope")
    p.add_argument("--out", required=True, help="writes OUT/autograder.zip (and its files in OUT/autograder/)")
    p.add_argument("--hidden-tests", choices=VISIBILITIES, default="after_due_date",
                   help="when students see the questions that have hidden tests (default %(default)s)")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument("--memory-mb", type=int, default=MEMORY_LIMIT // MIB,
                   help="memory per submission in MiB (default %(default)s)")
    p.add_argument("--disk-mb", type=int, default=DISK_LIMIT // MIB,
                   help="what a submission's code may write, in MiB in all (default %(default)s)")
    p.add_argument("--config", default=None, metavar="NBGRADER_CONFIG",
                   help="an nbgrader_config.py with a late-penalty plugin, bundled with its module")
    p.add_argument("--source", default=str(ASSIGNMENTS), help="source notebooks (default: the course's)")
    p.set_defaults(run=_gradescope)

    p = verbs.add_parser("solutions", help="execute the source notebooks into solutions/")
    p.add_argument("assignment", nargs="*", help="only these assignments (default: all)")
    p.set_defaults(run=_solutions)

    p = verbs.add_parser("kernel-env", help="build (if missing) the Python environment grading kernels run in")
    p.add_argument("--rebuild", action="store_true", help="build it again from scratch")
    p.set_defaults(run=_kernel_env)

    p = verbs.add_parser("doctor", help="can this machine grade? sandbox, kernels, a preflight of one notebook")
    p.add_argument("--assignment", default=None, help="preflight this assignment (default: the first)")
    p.add_argument("--source", default=str(ASSIGNMENTS), help="source notebooks (default: the course's)")
    p.set_defaults(run=_doctor)

    p = verbs.add_parser("demo", help="release, make a class of students, grade it, summarize")
    p.add_argument("--out", default="demo-out", help="folder for the demo's outputs (default %(default)s)")
    p.add_argument("--students", type=int, default=30, help="class size (default %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="parallel notebooks (default: one per core)")
    p.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except GraderError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
