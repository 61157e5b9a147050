"""Tests of the reference answer and the bug bank of notebook 04 (two-layer net)."""

from __future__ import annotations

import numpy as np
import pytest

from course.gradcheck import check_gradients
from course.layers import affine_forward, relu_forward
from course.losses import softmax_loss_forward
from course.training import PARAM_NAMES, init_two_layer_net, two_layer_net_forward_loss
from solutions.bugs.two_layer_net import BUGS, NAMESPACE_NAMES
from solutions.two_layer_net import two_layer_net_loss

NAMESPACE = {"affine_forward": affine_forward, "relu_forward": relu_forward,
             "softmax_loss_forward": softmax_loss_forward}

# (D, H, C, N, reg, seed): non-square layers, a single example, with and without reg
CASES = [(5, 7, 3, 4, 0.0, 0), (5, 7, 3, 4, 0.5, 1), (6, 4, 3, 1, 0.1, 2), (3, 5, 4, 8, 1.0, 3)]


def _problem(D, H, C, N, seed):
    rng = np.random.default_rng(seed)
    params = init_two_layer_net(D, H, C, rng, scale=1.0)
    return params, rng.standard_normal((N, D)), rng.integers(0, C, size=N)


def _check(loss_fn, D, H, C, N, reg, seed):
    """Gradient check of loss_fn against finite differences of the library's forward loss."""
    params, X, y = _problem(D, H, C, N, seed)
    loss, grads = loss_fn(params, X, y, reg)
    report = check_gradients(
        lambda *ps: two_layer_net_forward_loss(dict(zip(PARAM_NAMES, ps, strict=True)), X, y, reg),
        [params[k] for k in PARAM_NAMES], [grads.get(k) for k in PARAM_NAMES],
        names=list(PARAM_NAMES), method="full", seed=seed)
    return loss, two_layer_net_forward_loss(params, X, y, reg), report


@pytest.mark.parametrize("case", CASES)
def test_reference_matches_finite_differences(case):
    """Does the reference loss equal the library's forward loss, with every gradient right?"""
    loss, expected, report = _check(two_layer_net_loss, *case)
    assert loss == pytest.approx(expected, rel=1e-12)
    report.assert_ok()


def test_reference_leaves_inputs_alone():
    """Are params, X and y unchanged after a call with reg > 0?"""
    params, X, y = _problem(4, 3, 2, 5, 0)
    before = ({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
    two_layer_net_loss(params, X, y, reg=0.3)
    assert all(np.array_equal(params[k], before[0][k]) for k in PARAM_NAMES)
    assert np.array_equal(X, before[1]) and np.array_equal(y, before[2])


def test_bug_namespace_is_what_the_bugs_use():
    """Does every bug load with exactly the documented names in scope?"""
    assert set(NAMESPACE) == set(NAMESPACE_NAMES)
    assert len(BUGS) >= 4 and len({b.name for b in BUGS}) == len(BUGS)
    for bug in BUGS:
        assert bug.exercise == "two_layer_net_loss"
        assert callable(bug.load(NAMESPACE))


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_every_bug_fails_some_case(bug):
    """Is every bug caught by at least one of the cases the notebook's hidden tests use?"""
    fn = bug.load(NAMESPACE)
    caught = False
    for case in CASES:
        try:
            _, _, report = _check(fn, *case)
        except ValueError:  # a shape error inside the bug is a failure too
            caught = True
            continue
        caught = caught or not report.ok
    assert caught
