"""Do the loss forward passes in course.losses compute the mean loss, stably, and reject bad input?"""

from __future__ import annotations

import numpy as np
import pytest

from course import losses

SCORE_LOSSES = [losses.softmax_loss_forward, losses.svm_loss_forward]


def test_softmax_loss_of_uniform_scores_is_log_c():
    """With all scores equal, is the softmax loss log(C), the lectures' sanity check?"""
    loss, (probs, _) = losses.softmax_loss_forward(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert loss == pytest.approx(np.log(10))
    np.testing.assert_allclose(probs, 0.1)


def test_svm_loss_of_equal_scores_is_c_minus_one():
    """With all scores equal, is the SVM loss C - 1 (each wrong class has margin 1)?"""
    loss, _ = losses.svm_loss_forward(np.zeros((2, 4)), np.array([1, 3]))
    assert loss == pytest.approx(3.0)


def test_svm_loss_matches_a_loop():
    """Does the vectorized SVM loss equal the per-example sum of hinges, averaged?"""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    total = sum(max(0.0, x[i, j] - x[i, y[i]] + 1) for i in range(5) for j in range(4) if j != y[i])
    assert losses.svm_loss_forward(x, y)[0] == pytest.approx(total / 5)


@pytest.mark.parametrize("scale", [1e2, 1e3])
def test_losses_are_stable_for_large_scores(scale):
    """Are both losses finite and exact for scores of size 1e3, without warnings?"""
    rng = np.random.default_rng(1)
    x, y = scale * rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    soft, (probs, _) = losses.softmax_loss_forward(x, y)
    expected = np.mean([np.logaddexp.reduce(x[i]) - x[i, y[i]] for i in range(6)])
    assert np.isfinite(soft) and soft == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    svm, _ = losses.svm_loss_forward(x, y)
    assert np.isfinite(svm)


@pytest.mark.parametrize("forward", SCORE_LOSSES)
@pytest.mark.parametrize("x, y, error, pattern", [
    (np.ones(3), np.array([0]), ValueError, r"^x must have shape \(N, C\)"),
    (np.ones((2, 3)), np.array([0]), ValueError, r"^y must have shape \(N,\)"),
    (np.ones((2, 3)), np.array([0, 3]), ValueError, r"^labels in y must lie in \[0, C\)"),
    (np.ones((2, 3)), np.array([-1, 0]), ValueError, r"^labels in y must lie in \[0, C\)"),
    (np.ones((2, 3)), np.array([0.5, 1.0]), TypeError, r"^y must hold integer class labels"),
    (np.array([["a", "b"]]), np.array([0]), TypeError, r"^x must be an array of numbers"),
])
def test_bad_scores_or_labels_name_the_argument(forward, x, y, error, pattern):
    """Does a wrong shape, dtype or out-of-range label raise an error naming x or y?"""
    with pytest.raises(error, match=pattern):
        forward(x, y)


def test_loss_forwards_leave_inputs_unchanged():
    """Are x and y untouched by the loss forward passes?"""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    xb, yb = x.copy(), y.copy()
    for forward in SCORE_LOSSES:
        forward(x, y)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(y, yb)


@pytest.mark.parametrize("forward, p, t, pattern", [
    (losses.squared_error_forward, np.ones((2, 3)), np.ones((3, 2)), "^t must have the same shape as p"),
    (losses.binary_cross_entropy_forward, np.array([[0.5, 1.5]]), np.array([[0.0, 1.0]]), "^probabilities p must lie in"),
    (losses.binary_cross_entropy_forward, np.array([[0.5, 0.5]]), np.array([[0.0, 2.0]]), r"^targets t must take values in \(0, 1\)"),
    (losses.binary_hinge_forward, np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]]), r"^targets t must take values in \(-1, 1\)"),
])
def test_regression_and_binary_losses_reject_bad_targets(forward, p, t, pattern):
    """Does a mismatched shape or a target out of range raise a ValueError naming it?"""
    with pytest.raises(ValueError, match=pattern):
        forward(p, t)


def test_binary_cross_entropy_with_logits_is_stable():
    """Is the logits version finite for logits of size 1e3 and equal to the clipped-free formula?"""
    z, t = np.array([[-1e3, 1e3, 0.5]]), np.array([[1.0, 0.0, 1.0]])
    loss, _ = losses.binary_cross_entropy_with_logits_forward(z, t)
    assert loss == pytest.approx(1e3 + 1e3 + np.log1p(np.exp(-0.5)))
