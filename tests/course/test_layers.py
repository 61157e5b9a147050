"""Do the forward passes in course.layers compute the right thing and reject bad input clearly?"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from course import layers
from tests import strategies as S


def test_affine_forward_values_and_cache():
    """Is out = x.reshape(N, D) @ w + b, with cache (x, w, b)?"""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 2)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    out, cache = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(2, 6) @ w + b)
    assert out.shape == (2, 4)
    assert all(c is a for c, a in zip(cache, (x, w, b), strict=True))


@pytest.mark.parametrize("args, name", [
    ((np.ones(3), np.ones((3, 2)), np.ones(2)), "x"),
    ((np.ones((2, 3)), np.ones((4, 2)), np.ones(2)), "w"),
    ((np.ones((2, 3)), np.ones(3), np.ones(2)), "w"),
    ((np.ones((2, 3)), np.ones((3, 2)), np.ones(3)), "b"),
    ((np.ones((2, 3)), np.ones((3, 2)), np.ones((1, 2))), "b"),
])
def test_affine_forward_wrong_shapes_name_the_argument(args, name):
    """Does a wrong shape raise a ValueError whose message starts with the argument's name?"""
    with pytest.raises(ValueError, match=rf"^{name} must have shape"):
        layers.affine_forward(*args)


@pytest.mark.parametrize("forward", [layers.relu_forward, layers.sigmoid_forward,
                                     layers.tanh_forward, layers.leaky_relu_forward])
def test_non_numeric_input_is_a_type_error_naming_x(forward):
    """Does an array of strings raise a TypeError naming x?"""
    with pytest.raises(TypeError, match="^x must be an array of numbers"):
        forward(np.array(["a", "b"]))


@pytest.mark.parametrize("alpha", [-0.1, 1.0, np.array([0.1, 0.2])])
def test_leaky_relu_rejects_bad_alpha(alpha):
    """Does an alpha outside [0, 1), or not a number, raise a ValueError naming alpha?"""
    with pytest.raises(ValueError, match="^alpha must be"):
        layers.leaky_relu_forward(np.ones(2), alpha)


def test_sigmoid_is_stable_for_large_inputs():
    """Is sigmoid finite, in [0, 1] and exact at the extremes for |x| up to 1e3, without warnings?"""
    x = np.array([-1e3, -745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 745.0, 1e3])
    out, _ = layers.sigmoid_forward(x)  # pytest turns any RuntimeWarning into an error
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[4] == 0.5
    mid = np.abs(x) <= 50
    np.testing.assert_allclose(out[mid], 1 / (1 + np.exp(-x[mid])), rtol=1e-15)


def test_sigmoid_of_one_is_the_lectures_073():
    """Is sigmoid(1) 0.73 to two decimals, as in the notes?"""
    assert layers.sigmoid(1.0) == pytest.approx(0.7311, abs=1e-4)


def test_integer_input_becomes_float64():
    """Does an integer x come back as float64 output?"""
    out, _ = layers.relu_forward(np.array([-1, 2]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.0, 2.0])


@settings(max_examples=25, deadline=None)
@given(S.arrays(kink_free=False))
def test_forwards_leave_x_unchanged(x):
    """Do the elementwise forward passes leave x as it was?"""
    before = x.copy()
    for forward in (layers.relu_forward, layers.sigmoid_forward, layers.tanh_forward,
                    layers.leaky_relu_forward):
        forward(x)
        np.testing.assert_array_equal(x, before)


@settings(max_examples=25, deadline=None)
@given(S.arrays(kink_free=False))
def test_leaky_relu_matches_its_definition(x):
    """Is leaky relu x where x > 0 and alpha x elsewhere, with cache (x, alpha)?"""
    out, (cx, alpha) = layers.leaky_relu_forward(x, 0.2)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.2 * x))
    assert cx is x and alpha == 0.2
