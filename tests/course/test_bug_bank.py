"""Does course.gradcheck flag every bug of the layer and loss bug bank, and nothing else?"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

import solutions
from course import gradcheck, layers, losses
from solutions.bugs import layers as layer_bugs
from solutions.bugs import losses as loss_bugs
from solutions.exercise_checks import LAYER_EXERCISES, LOSS_EXERCISES, check_exercise

BUGS = layer_bugs.BUGS + loss_bugs.BUGS
EXERCISES = sorted(LAYER_EXERCISES | LOSS_EXERCISES)
SIGNATURES = {e: "(dout, cache)" for e in LAYER_EXERCISES} | {e: "(x, y)" for e in LOSS_EXERCISES}

#: Bugs that touch one entry per row or one row only: a sample of entries can miss them
#: on a large input (the documented weakness of method="sampled").
SAMPLED_CAN_MISS = ["first_row_skipped", "last_label_missed", "last_row_correct_class_missed"]


def flagged(results) -> bool:
    return any(not r.ok for r in results)


def by_name(name: str, exercise: str):
    return next(b for b in BUGS if b.name == name and b.exercise == exercise)


def test_bank_is_large_and_names_are_unique():
    """Are there at least 25 bugs, every exercise covered, and no name twice per exercise?"""
    assert len(BUGS) >= 25
    assert {b.exercise for b in BUGS} == set(EXERCISES)
    keys = [(b.exercise, b.name) for b in BUGS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"{b.exercise}:{b.name}")
def test_source_is_a_self_contained_exercise_function(bug):
    """Does the source define exactly the exercise's function, importing nothing but using np?"""
    tree = ast.parse(bug.source)
    assert [type(n) for n in tree.body] == [ast.FunctionDef]
    assert tree.body[0].name == bug.exercise
    assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
    fn = bug.load()
    assert str(inspect.signature(fn)) == SIGNATURES[bug.exercise]


@pytest.mark.parametrize("method", ["full", "projection"])
@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"{b.exercise}:{b.name}")
def test_full_and_projection_flag_every_bug(bug, method):
    """Does the check flag the bug on the graded cases?"""
    assert flagged(check_exercise(bug.exercise, bug.load(), method=method, seed=0))


@pytest.mark.parametrize("bug", [b for b in BUGS if b.name not in SAMPLED_CAN_MISS],
                         ids=lambda b: f"{b.exercise}:{b.name}")
def test_sampled_flags_bugs_that_touch_many_entries(bug):
    """Does the sampled check flag a bug whose wrong entries are many?"""
    assert flagged(check_exercise(bug.exercise, bug.load(), method="sampled", seed=0))


@pytest.mark.parametrize("name, exercise", [
    ("first_row_skipped", "softmax_loss"),
    ("last_label_missed", "softmax_loss"),
    ("last_row_correct_class_missed", "svm_loss"),
])
def test_sampled_can_miss_a_bug_in_one_row_where_projection_cannot(name, exercise):
    """On (64, 10) scores, does sampling miss a one-row bug for some seed while projection never does?"""
    fn = by_name(name, exercise).load()
    seeds = range(8)
    sampled = [flagged(check_exercise(exercise, fn, method="sampled", seed=s, size="large"))
               for s in seeds]
    projection = [flagged(check_exercise(exercise, fn, method="projection", seed=s, size="large"))
                  for s in seeds]
    assert all(projection)
    assert not all(sampled)


@pytest.mark.parametrize("method", ["full", "sampled", "projection"])
@pytest.mark.parametrize("exercise", EXERCISES)
def test_references_pass(exercise, method):
    """Does the answer key pass every graded case with every method?"""
    for seed in range(3):
        results = check_exercise(exercise, getattr(solutions, exercise), method=method, seed=seed)
        assert all(r.ok for r in results), [str(r.report or r.error) for r in results]


def test_unstable_softmax_is_flagged_only_at_large_scores_and_silently(capfd):
    """Is a softmax without the max shift right at small scores, flagged at 1e3, with nothing on stderr?"""
    fn = by_name("no_max_shift", "softmax_loss").load()
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    small = gradcheck.check_loss(fn, x, y, reference=losses.softmax_loss_forward)
    large = gradcheck.check_loss(fn, 1e3 * x, y, reference=losses.softmax_loss_forward,
                                 method="projection")
    out, err = capfd.readouterr()
    assert small.ok
    assert not large.ok
    assert any("RuntimeWarning" in w for w in large.warnings)
    assert err == "" and out == ""


def test_transposed_dw_has_the_right_shape_only_when_w_is_square():
    """Is dw = dout.T @ x reported as a wrong shape for a non-square w and as wrong values for a square one?"""
    results = check_exercise("affine_backward", by_name("dw_transposed", "affine_backward").load())
    text = {r.case: str(r.report) for r in results}
    assert "transposed?" in text["x (3, 2, 3), w (6, 5)"]
    square = next(r for r in results if r.case.startswith("square"))
    dw = next(c for c in square.report.inputs if c.name == "w")
    assert dw.verdict == "wrong" and not dw.problems


# --- no false alarms at kinks ----------------------------------------------------------

#: Offsets from a kink: exactly on it, far inside h, and around h and h/2.
H = gradcheck.H
NEAR = np.array([0.0, 0.0, 1e-300, 1e-12, -1e-12, 1e-9, -1e-9, 1e-7, -3e-7, 1e-6, -1e-6,
                 H / 2, -H / 2, H, -H, 2 * H, -2 * H, 1.5 * H])


def relu_input_near_kinks(rng, shape=(2, 3)):
    """Half the entries at or within about h of 0, the rest standard normal."""
    x = rng.standard_normal(shape)
    near = rng.random(shape) < 0.5
    x[near] = rng.choice(NEAR, size=near.sum())
    return x


def hinge_input_near_kinks(rng, n=2, c=3):
    """Scores whose SVM margins are often exactly 0 or within h of it, with ties."""
    x, y = rng.standard_normal((n, c)), rng.integers(0, c, n)
    for i in range(n):
        for j in range(c):
            r = rng.random()
            if j != y[i] and r < 0.4:
                x[i, j] = x[i, y[i]] - 1 + rng.choice(NEAR)  # margin at or near 0
            elif j != y[i] and r < 0.55:
                x[i, j] = x[i, y[i]]  # a tie with the correct score
    return x, y


def aligned_hinge_kinks():
    """Three margins at -h/2, 0 and h/2 around one correct score: kinks on an even grid."""
    x = np.array([[-1.6966058318413637, -1.6966108318413637, -0.6966058318413638,
                   -1.6966008318413637]])
    return x, np.array([2])


def test_aligned_kinks_are_not_mistaken_for_a_smooth_function():
    """Are three hinge kinks at -h/2, 0 and +h/2 detected rather than averaged into a wrong slope?"""
    x, y = aligned_hinge_kinks()
    for method in ("full", "projection"):
        report = gradcheck.check_loss(solutions.svm_loss, x, y,
                                      reference=losses.svm_loss_forward, method=method)
        assert report.ok, str(report)


CHUNKS = 10
SEEDS_PER_CHUNK = 100  # 1,000 seeds in all, split so that xdist can spread them


@pytest.mark.parametrize("method", ["full", "projection"])
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_no_false_alarm_near_kinks(chunk, method):
    """Do correct relu (or leaky relu) and SVM gradients pass with inputs at and near kinks, for 1,000 seeds?"""
    failures = []
    for seed in range(chunk * SEEDS_PER_CHUNK, (chunk + 1) * SEEDS_PER_CHUNK):
        rng = np.random.default_rng(seed)
        x = relu_input_near_kinks(rng)
        scores, y = hinge_input_near_kinks(rng)
        # relu and leaky relu share their kink: alternate them to keep the test fast
        relu = (layers.relu_forward, solutions.relu_backward, x) if seed % 2 else \
            (layers.leaky_relu_forward, solutions.leaky_relu_backward, x, 0.1)
        reports = [
            gradcheck.check_backward(*relu, method=method, seed=seed),
            gradcheck.check_loss(solutions.svm_loss, scores, y,
                                 reference=losses.svm_loss_forward, method=method, seed=seed),
        ]
        failures += [(seed, r.summary()) for r in reports if not r.ok]
    assert failures == []


def test_kinks_leave_entries_out_and_say_so():
    """When a relu input is exactly 0, is that entry skipped and counted rather than judged?"""
    x = np.array([[0.0, 1.0, -2.0]])
    for method in ("full", "projection"):
        report = gradcheck.check_backward(layers.relu_forward, solutions.relu_backward, x,
                                          method=method)
        assert report.ok
        assert report.inputs[0].skipped == 1
        assert "at kinks skipped" in str(report)
