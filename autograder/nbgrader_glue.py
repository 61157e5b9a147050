"""What we ask of nbgrader: the student version of each assignment and the gradebook.

nbgrader strips answers and hidden tests (generate_assignment) and owns the gradebook
format; grading itself runs in `autograder.execute`, which nbgrader has no parallel or
crash-proof version of.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from traitlets.config import Config, PyFileConfigLoader

from autograder.paths import ASSIGNMENTS, ROOT


class GraderError(Exception):
    """The grader could not do its job (bad folder, unknown assignment...): exit non-zero."""


@functools.cache
def alembic_head() -> str:
    """The schema version nbgrader stamps on a new gradebook, read in this process.

    nbgrader asks the `alembic` command for it (`nbgrader.api.get_alembic_version`) each
    time it creates a gradebook: a subprocess that costs seconds, twice per grading run
    (the gradebook, and the throwaway one of generate_assignment). Alembic's own API
    reads the same migration scripts in a fraction of a second; the answer is the same
    (tests/autograder/test_gradebook.py checks it).
    """
    import nbgrader
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", os.path.join(os.path.dirname(nbgrader.__file__), "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


def use_alembic_head() -> None:
    """Make nbgrader take the schema version from `alembic_head` (no subprocess)."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def alembic_on_path() -> None:
    # nbgrader runs the `alembic` executable when it creates a gradebook; it sits next to
    # this interpreter, which is not on PATH when a venv is used without activating it.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def load_course_config() -> Config:
    """The course's own nbgrader_config.py (stubs, timeouts): the one place they are set."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def course_config(root: Path, source: Path, db_url: str) -> Config:
    """nbgrader config: the course's nbgrader_config.py, rooted at `root`, sources from `source`."""
    config = load_course_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = str(source)
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = db_url
    config.CourseDirectory.course_id = "default_course"
    config.Exchange.root = str(root / "exchange")
    return config


def assignment_ids(source: Path = ASSIGNMENTS) -> list[str]:
    """The assignments of a source folder: its subfolders holding a notebook, in order."""
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


@dataclass
class Generated:
    """The student versions nbgrader made, by assignment, and the gradebook it filled."""

    release: Path  # release/<assignment>/<notebook>.ipynb
    db_url: str


def generate(assignments: list[str], db_url: str, workdir: Path, source: Path = ASSIGNMENTS) -> Generated:
    """Run nbgrader's generate_assignment for each assignment into `workdir`/release.

    Registers the assignments, notebooks and grade cells in the gradebook at db_url.
    Raises GraderError with nbgrader's log if it fails.
    """
    from nbgrader.apps import NbGraderAPI

    alembic_on_path()
    use_alembic_head()
    known = assignment_ids(source)
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise GraderError(f"unknown assignment(s) {unknown}; known: {known}")
    api = NbGraderAPI(config=course_config(workdir, source, db_url))
    for aid in assignments:
        result = api.generate_assignment(aid, force=True, create=True)
        if not result["success"]:
            raise GraderError(f"nbgrader could not generate {aid}:\n{result.get('error') or result.get('log')}")
    return Generated(release=workdir / "release", db_url=db_url)


def release_notebooks(out: Path, assignments: list[str] | None = None, source: Path = ASSIGNMENTS) -> list[Path]:
    """Write the student version of every assignment to ``out/<assignment>/<notebook>.ipynb``."""
    assignments = assignments or assignment_ids(source)
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        work = Path(tmp)
        gen = generate(assignments, f"sqlite:///{work / 'gradebook.db'}", work, source)
        written = []
        for aid in assignments:
            for nb_path in sorted((gen.release / aid).glob("*.ipynb")):
                dest = out / aid / nb_path.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                nb = nbformat.read(nb_path, as_version=4)
                nbformat.write(nb, dest)
                written.append(dest)
        return written
