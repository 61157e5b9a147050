"""What the command line does, as functions: ``python -m autograder VERB`` calls one of these.

Defaults live here and in the modules named below, once; the command line only parses
its arguments and prints. Every function raises `GraderError` when it cannot do its job
(the command line's exit code 2).
"""

from __future__ import annotations

from pathlib import Path

from autograder.nbgrader_glue import GraderError
from autograder.paths import ASSIGNMENTS


def release(out: Path, assignments: list[str] | None = None, source: Path = ASSIGNMENTS) -> list[Path]:
    """Write the student release (notebooks and the course's wheel) under out/release."""
    from autograder.release import release as write_release

    return write_release(Path(out), assignments, source=Path(source))


def grade(submitted: Path, out: Path, **kwargs):
    """Grade a class: see `autograder.batch.grade_class` for the options. Returns a ClassResult."""
    from autograder.batch import grade_class

    return grade_class(Path(submitted), Path(out), **kwargs)


def export(out: Path, fmt: str, dest: Path, **kwargs) -> list[str]:
    """Write grades from OUT for a gradebook elsewhere (Canvas, a wide CSV); the warnings.

    See `autograder.export.export` for the options (roster, columns, titles).
    """
    from autograder.export import export as write_export

    return write_export(Path(out), fmt, Path(dest), **kwargs)


def gradescope(assignment: str, out: Path, **kwargs) -> Path:
    """Write the bundle that grades `assignment` as a Gradescope autograder; the zip's path.

    See `autograder.gradescope.build` for the options.
    """
    from autograder.gradescope import build

    return build(assignment, Path(out), **kwargs)


def solutions(assignments: list[str] | None = None, source: Path = ASSIGNMENTS) -> list[Path]:
    """Regenerate the sources' generated cells and execute the answer keys; the files written."""
    from autograder.answer_key import build
    from autograder.paths import source_notebooks

    sources = source_notebooks(source)
    if assignments:
        sources = [s for s in sources if s.parent.name in assignments]
        if not sources:
            raise GraderError(f"no assignment {assignments} in {source}")
    return build(sources)


def kernel_env(rebuild: bool = False):
    """The Python environment grading kernels run in, built if missing (or again if rebuild)."""
    from autograder import kernel_env as env

    if rebuild:
        env.build(env.location())
    return env.ensure()


def doctor(assignment: str | None = None, source: Path = ASSIGNMENTS) -> int:
    """Print whether this machine can grade; 0 if it can."""
    from autograder.doctor import run

    return run(assignment, Path(source))


def demo(out: Path, students: int = 30, workers: int | None = None) -> int:
    """Release, make a class of synthetic students, grade it and print the summary."""
    from autograder.demo import run

    return run(Path(out), students=students, workers=workers)
