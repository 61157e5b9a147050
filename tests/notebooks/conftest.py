"""Fixtures of the notebook tests: the student release, generated once per session.

The helpers they use are plain functions in notebook_tools.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.nbgrader_glue import release_notebooks


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    """The student release of every assignment, generated once per session by nbgrader's API.

    Returns the release folder, holding ``<assignment>/<notebook>.ipynb``.
    """
    out = tmp_path_factory.mktemp("course") / "release"
    # the same nbgrader run as `python -m autograder release`
    release_notebooks(out)
    return out
