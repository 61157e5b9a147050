"""Fixtures of the notebook tests: the student release, generated once per session.

The helpers they use are plain functions in notebook_tools.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nbgrader.apps import NbGraderAPI
from notebook_tools import SOURCES, course_config

from autograder.paths import ASSIGNMENTS


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    """The student release of every assignment, generated once per session by nbgrader's API.

    Returns the release folder, holding ``<assignment>/<notebook>.ipynb``.
    """
    root = tmp_path_factory.mktemp("course")
    config = course_config(CourseDirectory={
        "root": str(root),
        # absolute, so nbgrader reads the real sources without copying them
        "source_directory": str(ASSIGNMENTS),
        "release_directory": "release",
    })
    api = NbGraderAPI(config=config)
    for assignment in sorted({p.parent.name for p in SOURCES}):
        result = api.generate_assignment(assignment)
        assert result["success"], f"nbgrader could not release {assignment}:\n{result.get('log', '')}"
    return root / "release"
