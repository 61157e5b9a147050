"""Are the reference backward passes in `solutions` right, shaped right and pure?"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions
from course import gradcheck, layers, losses
from tests import strategies as S

LAYERS = {
    "affine": (layers.affine_forward, solutions.affine_backward),
    "relu": (layers.relu_forward, solutions.relu_backward),
    "sigmoid": (layers.sigmoid_forward, solutions.sigmoid_backward),
    "tanh": (layers.tanh_forward, solutions.tanh_backward),
    "leaky_relu": (lambda x: layers.leaky_relu_forward(x, 0.1), solutions.leaky_relu_backward),
}
ELEMENTWISE = ["relu", "sigmoid", "tanh", "leaky_relu"]
FAST = settings(max_examples=25, deadline=None)


def away(rng, shape):
    return S.away_from_kinks(rng.standard_normal(shape))


# --- gradient checks on chosen shapes -------------------------------------------------

@pytest.mark.parametrize("xshape, m", [((1, 3), 2), ((4, 5), 3), ((3, 2, 3), 4), ((2, 2, 2, 2), 5),
                                       ((4, 4), 4)])
@pytest.mark.parametrize("method", ["full", "projection"])
def test_affine_backward_matches_finite_differences(xshape, m, method):
    """Does affine_backward pass the check for N=1, x with 3+ dims and non-square w?"""
    rng = np.random.default_rng(sum(xshape) + m)
    d = int(np.prod(xshape[1:]))
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m)
    gradcheck.check_backward(layers.affine_forward, solutions.affine_backward, x, w, b,
                             method=method).assert_ok()


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_backward_matches_finite_differences(name, shape):
    """Does each elementwise backward pass the full check, inputs away from kinks?"""
    forward, backward = LAYERS[name]
    x = 2 * away(np.random.default_rng(len(shape)), shape)
    gradcheck.check_backward(forward, backward, x, names=["x"], method="full").assert_ok()


@pytest.mark.parametrize("n, c, scale", [(1, 3, 1.0), (5, 4, 1.0), (6, 10, 1e3), (1, 2, 1e3)])
@pytest.mark.parametrize("loss", ["softmax_loss", "svm_loss"])
def test_combined_losses_match_finite_differences(loss, n, c, scale):
    """Do softmax_loss and svm_loss pass, with the right loss value, also for scores of size 1e3?"""
    rng = np.random.default_rng(n * c)
    x, y = scale * rng.standard_normal((n, c)), rng.integers(0, c, n)
    forward = {"softmax_loss": losses.softmax_loss_forward, "svm_loss": losses.svm_loss_forward}[loss]
    gradcheck.check_loss(getattr(solutions, loss), x, y, reference=forward).assert_ok()


@pytest.mark.parametrize("dloss", [1.0, 2.5])
@pytest.mark.parametrize("forward, backward", [
    (losses.softmax_loss_forward, solutions.softmax_loss_backward),
    (losses.svm_loss_forward, solutions.svm_loss_backward),
])
def test_loss_backward_scales_with_upstream(forward, backward, dloss):
    """Is softmax/svm_loss_backward(dloss, cache) dloss times the loss's gradient?"""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    _, cache = forward(x, y)
    report = gradcheck.check_gradients(lambda z: dloss * forward(z, y)[0], [x],
                                       [backward(dloss, cache)], names=["x"])
    report.assert_ok()


def regression_targets(rng, shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 2)])
@pytest.mark.parametrize("name", ["squared_error", "absolute_error", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits", "binary_hinge"])
def test_other_loss_backwards_match_finite_differences(name, shape):
    """Does each remaining loss backward match finite differences of its forward, dloss = 1.7?"""
    rng = np.random.default_rng(len(shape))
    forward = getattr(losses, f"{name}_forward")
    backward = getattr(solutions, f"{name}_backward")
    if name in ("squared_error", "absolute_error"):
        t = rng.standard_normal(shape)
        p = t + away(rng, shape)  # |p - t| >= gap: away from the absolute value's kink
    elif name == "binary_cross_entropy":
        p, t = rng.uniform(0.05, 0.95, shape), rng.integers(0, 2, shape).astype(float)
    elif name == "binary_cross_entropy_with_logits":
        p, t = 3 * rng.standard_normal(shape), rng.integers(0, 2, shape).astype(float)
    else:
        t = rng.choice([-1.0, 1.0], shape)
        p = t * (1 + away(rng, shape))  # margin 1 - t p away from 0
    _, cache = forward(p, t)
    report = gradcheck.check_gradients(lambda z: 1.7 * forward(z, t)[0], [p],
                                       [backward(1.7, cache)], names=["p"], method="full")
    report.assert_ok()


# --- properties -------------------------------------------------------------------------

def run_backward(name, inputs, dout=None):
    forward, backward = LAYERS[name]
    out, cache = forward(*inputs)
    dout = np.ones_like(out) if dout is None else dout
    grads = backward(dout, cache)
    return out, cache, dout, grads if isinstance(grads, tuple) else (grads,)


@FAST
@given(S.affine_inputs())
def test_affine_gradients_are_shaped_like_inputs(xwb):
    """Are dx, dw, db shaped like x, w, b?"""
    _, _, _, grads = run_backward("affine", xwb)
    assert [g.shape for g in grads] == [a.shape for a in xwb]


@FAST
@given(S.affine_inputs(), st.integers(0, 2**32 - 1))
def test_affine_param_backward_is_affine_backward_without_dx(xwb, seed):
    """Does the first-layer form give exactly affine_backward's dw and db, inputs untouched?"""
    out, cache = layers.affine_forward(*xwb)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    before = copy.deepcopy([*cache, dout])
    got_dw, got_db = solutions.affine_param_backward(dout, cache)
    for was, now in zip(before, [*cache, dout], strict=True):
        np.testing.assert_array_equal(now, was)
    _, dw, db = solutions.affine_backward(dout, cache)
    np.testing.assert_array_equal(got_dw, dw)
    np.testing.assert_array_equal(got_db, db)


@FAST
@given(st.sampled_from(ELEMENTWISE), S.arrays())
def test_elementwise_dx_is_shaped_like_x(name, x):
    """Is dx shaped like x?"""
    _, _, _, (dx,) = run_backward(name, (x,))
    assert dx.shape == x.shape


@FAST
@given(st.data())
def test_backward_leaves_inputs_cache_and_dout_unchanged(data):
    """Are the inputs, the cache and dout left exactly as they were?"""
    name = data.draw(st.sampled_from(list(LAYERS)))
    inputs = data.draw(S.affine_inputs()) if name == "affine" else (data.draw(S.arrays()),)
    before = copy.deepcopy(inputs)
    out, cache = LAYERS[name][0](*inputs)
    cache_before = copy.deepcopy(cache)
    dout = data.draw(S.arrays(out.shape, kink_free=False))
    dout_before = dout.copy()
    LAYERS[name][1](dout, cache)
    for a, b in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(np.atleast_1d(cache) if isinstance(cache, np.ndarray) else cache,
                    np.atleast_1d(cache_before) if isinstance(cache_before, np.ndarray) else cache_before,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dout, dout_before)


@FAST
@given(st.data(), st.floats(-3, 3), st.floats(-3, 3))
def test_backward_is_linear_in_dout(data, a, b):
    """Is backward(a d1 + b d2) = a backward(d1) + b backward(d2)?"""
    name = data.draw(st.sampled_from(list(LAYERS)))
    inputs = data.draw(S.affine_inputs()) if name == "affine" else (data.draw(S.arrays()),)
    out, cache = LAYERS[name][0](*inputs)
    d1 = data.draw(S.arrays(out.shape, kink_free=False))
    d2 = data.draw(S.arrays(out.shape, kink_free=False))
    backward = LAYERS[name][1]
    combined = backward(a * d1 + b * d2, cache)
    g1, g2 = backward(d1, cache), backward(d2, cache)
    if not isinstance(combined, tuple):
        combined, g1, g2 = (combined,), (g1,), (g2,)
    for gc, x1, x2 in zip(combined, g1, g2, strict=True):
        np.testing.assert_allclose(gc, a * x1 + b * x2, rtol=1e-9, atol=1e-9)


@FAST
@given(st.sampled_from(["softmax_loss", "svm_loss"]), S.hinge_scores_and_labels(),
       st.sampled_from([1.0, 1e3]))
def test_loss_gradient_shaped_like_scores_and_inputs_unchanged(loss, xy, scale):
    """Is dx shaped like x, finite, with x and y untouched, also at scores 1e3?"""
    x, y = xy
    x = scale * x
    xb, yb = x.copy(), y.copy()
    value, dx = getattr(solutions, loss)(x, y)
    assert dx.shape == x.shape and np.all(np.isfinite(dx)) and np.isfinite(value)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(y, yb)


@FAST
@given(S.hinge_scores_and_labels())
def test_svm_gradient_matches_finite_differences_away_from_kinks(xy):
    """Does svm_loss pass the full check on random scores whose margins avoid 0?"""
    x, y = xy
    gradcheck.check_loss(solutions.svm_loss, x, y, reference=losses.svm_loss_forward,
                         method="full").assert_ok()


@FAST
@given(S.affine_inputs())
def test_affine_projection_check_passes(xwb):
    """Does affine_backward pass the projection check on random shapes?"""
    gradcheck.check_backward(layers.affine_forward, solutions.affine_backward, *xwb,
                             method="projection").assert_ok()
