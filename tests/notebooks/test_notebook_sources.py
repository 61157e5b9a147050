"""Do the source notebooks pass `nbgrader validate`, answers and hidden tests included, in time?

Validation runs each source notebook top to bottom; that is the execution that produces
its answer key, so the same run measures the answer key's time budget.
"""

from __future__ import annotations

import time

import pytest
from nbgrader.validator import Validator
from notebook_tools import RUN_BUDGET, SOURCES, ansi_free, course_config, notebook_id

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validated():
    """Validate each source notebook once: its nbgrader results and the seconds it took."""
    cache = {}

    def get(source):
        if source not in cache:
            # validate_all: every code cell, not only the graded ones, must run without an
            # error and without writing to stderr
            validator = Validator(config=course_config(Validator={"validate_all": True}))
            start = time.perf_counter()
            results = validator.validate(str(source))
            cache[source] = results, time.perf_counter() - start
        return cache[source]

    return get


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_source_passes_validation(source, validated):
    """Does every cell of the source notebook run cleanly (no error, nothing on stderr)?"""
    results, _ = validated(source)
    problems = [
        f"--- {kind}:\n{item['source'][:300]}\n{ansi_free(item.get('raw_error', ''))[-1500:]}"
        for kind, items in results.items() for item in items
    ]
    assert not problems, f"nbgrader validate fails on {source}:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", SOURCES, ids=notebook_id)
def test_answer_key_runs_within_budget(source, validated):
    """Does the notebook, answers included, run top to bottom within the time budget?"""
    _, seconds = validated(source)
    assert seconds < RUN_BUDGET, f"{source} took {seconds:.1f} s to run, budget {RUN_BUDGET:.0f} s"
