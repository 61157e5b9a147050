"""The declarations of the exercises, and what is derived from them, without a kernel.

The visible check, the hidden tests (the same check on the hidden seeds the notebooks
carry) and the sealed verdict (the grader's judge on answers run by the same convention)
must agree: an answer the visible check calls right earns every point, and every bug of
the bank the hidden tests or the sealed check catch is caught by the visible check too.
"""

from __future__ import annotations

import base64
import io
import warnings

import nbformat
import numpy as np
import pytest

import solutions
from autograder import harness, sealed
from autograder.paths import source_notebooks
from autograder.restore import grade_id, is_test
from autograder.sync import hidden_seeds
from course.exercises import EXERCISES, CheckFailed, Training, check
from solutions.bugs import all_bugs
from solutions.variants import variants

#: every (exercise, bug) pair of the bank, for each declaration of the bug's function
BUG_CASES = [(name, bug) for bug in all_bugs() for name, ex in EXERCISES.items() if ex.function == bug.exercise]


def _record(ex, fn, inputs, namespace) -> dict:
    """What the harness sends back for one hidden input (`autograder.harness.answer`, as in the kernel)."""
    try:
        arrays = harness.answer(ex, fn, {k: np.array(v, copy=True) for k, v in inputs.items()}, namespace)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return {"npz": base64.b64encode(buffer.getvalue()).decode()}


def sealed_verdict(name: str, fn, namespace: dict, student: str = "someone") -> sealed.Verdict:
    """The grader's sealed verdict on fn, for the cases a student would get."""
    ex = EXERCISES[name]
    drawn = ex.inputs(sealed._seed(student, ex.question))
    cases = [(case.name, sealed._judge_case(ex, case.name, inputs, _record(ex, fn, inputs, namespace)))
             for case, inputs in drawn]
    return sealed._verdict(ex, cases)


def visible_ok(name: str, fn, namespace: dict, seeds=(0,)) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for seed in seeds:
                check(name, fn, seed=seed, show=False, namespace=namespace)
    except (CheckFailed, Exception):
        return False
    return True


def test_every_question_of_the_course_is_declared_once():
    """Does every graded cell of the sources have a declaration, in its notebook, with its points?"""
    found = {}
    for path in source_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if is_test(cell):
                found[grade_id(cell)] = (f"{path.parent.name}/{path.stem}", cell.metadata["nbgrader"]["points"])
    declared = {ex.question: (ex.notebook, ex.total) for ex in EXERCISES.values()}
    assert found == declared


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_reference_passes_everything(name):
    """Does the answer key pass the visible check, the hidden tests and the sealed check?"""
    ex, namespace = EXERCISES[name], solutions.namespace()
    reference = solutions.reference(ex.function)
    seeds = [0] if isinstance(ex.convention, Training) else [0, *hidden_seeds(ex)]
    assert visible_ok(name, reference, namespace, seeds)
    verdict = sealed_verdict(name, reference, namespace)
    assert verdict.ok and verdict.score == ex.total, verdict.message


@pytest.mark.parametrize("name, bug", BUG_CASES, ids=lambda v: getattr(v, "name", v))
def test_what_the_visible_check_calls_right_is_right(name, bug):
    """For every bug of the bank: if the visible check says OK, do the hidden tests and the sealed
    check pass too (no bug is caught only out of the student's sight)?"""
    ex, namespace = EXERCISES[name], solutions.namespace()
    fn = bug.load(dict(namespace))
    if visible_ok(name, fn, namespace):
        if not isinstance(ex.convention, Training):
            assert visible_ok(name, fn, namespace, hidden_seeds(ex)), "caught by the hidden tests only"
        verdict = sealed_verdict(name, fn, namespace)
        assert verdict.ok or ex.requires, f"caught by the sealed check only: {verdict.message}"
    else:  # caught in sight: the sealed check agrees that something is wrong
        assert not sealed_verdict(name, fn, namespace).ok


@pytest.mark.parametrize("name, bug", [(n, b) for n, b in BUG_CASES if not EXERCISES[n].requires],
                         ids=lambda v: getattr(v, "name", v))
def test_every_bug_is_caught_in_sight(name, bug):
    """Is every bug of the bank (but the ones only a dependent question sees) caught by the visible check?"""
    assert not visible_ok(name, bug.load(dict(solutions.namespace())), solutions.namespace())


@pytest.mark.parametrize("exercise, variant, source", variants(), ids=lambda v: v if isinstance(v, str) and "\n" not in v else "")
def test_correct_answers_written_differently_earn_every_point(exercise, variant, source):
    """Does a right answer written another way (loops, einsum, np.add.at, the textbook softmax)
    pass the visible check, the hidden tests and the sealed check with full marks?"""
    namespace = {"np": np} | solutions.namespace()
    exec(compile(source, f"<{variant}>", "exec"), namespace)
    fn, ex = namespace[exercise], EXERCISES[exercise]
    assert visible_ok(exercise, fn, namespace, [0, *hidden_seeds(ex)])
    verdict = sealed_verdict(exercise, fn, namespace)
    assert verdict.score == ex.total, verdict.message


def test_partial_credit_by_part():
    """Does a wrong db alone cost db's point only, and does the message say which part lost what?"""
    source = [v for e, n, v in variants() if n == "loop_over_the_batch"][0].replace("db += dout[i]", "db += 2 * dout[i]")
    namespace = {"np": np}
    exec(source, namespace)
    verdict = sealed_verdict("affine_backward", namespace["affine_backward"], namespace)
    assert (verdict.score, verdict.points) == (2.0, 3.0)
    assert "db is off by" in verdict.message and "1 of 3 points lost: db" in verdict.message


def test_a_training_run_s_seed_is_valid_for_every_student():
    """The training case's seed is drawn per student: a non-negative integer for every one (a
    normal draw gave half the student ids a negative seed, and their right answer 0 points)."""
    import numpy as np

    from autograder.sealed import _seed
    from course.exercises import Training

    for ex in EXERCISES.values():
        if isinstance(ex.convention, Training):
            for i in range(300):
                (_, inputs), = ex.inputs(_seed(f"student_{i}", ex.question))
                np.random.default_rng(int(inputs["seed"]))  # raises for a negative seed
                assert int(inputs["seed"]) == inputs["seed"] >= 0
