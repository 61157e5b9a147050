"""Do the library's forward and backward passes reproduce the lectures' worked examples?

Numbers from the cs231n backprop notes and slides: the notes
round to two decimals, so the checks allow half a unit in the last printed place.
"""

from __future__ import annotations

import numpy as np
import pytest

import solutions
from course import gradcheck, layers, losses

#: the notes print two decimals (three for the ||Wx||^2 slide)
TWO_DECIMALS = 0.005


def test_add_then_multiply_circuit():
    """Is f = (x + y) z at x=-2, y=5, z=-4 equal to -12 with gradients (-4, -4, 3)?"""
    x, y, z = -2.0, 5.0, -4.0
    q = x + y  # add gate
    f = q * z  # multiply gate
    dz, dq = q, z  # the multiply gate swaps its inputs
    dx, dy = dq, dq  # the add gate hands its gradient to both inputs
    assert (q, f) == (3.0, -12.0)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)
    numeric = gradcheck.numerical_gradient(lambda v: (v[0] + v[1]) * v[2], np.array([x, y, z]))
    np.testing.assert_allclose(numeric, [dx, dy, dz], rtol=1e-9)


def test_sigmoid_neuron_through_affine_and_sigmoid():
    """Does affine then sigmoid with w=[2,-3], b=-3, x=[-1,-2] give 0.73 and the notes' gradients?"""
    x = np.array([[-1.0, -2.0]])  # one example, N = 1
    w = np.array([[2.0], [-3.0]])  # w0, w1 as a (D, M) = (2, 1) matrix
    b = np.array([-3.0])  # w2, the bias
    dot, affine_cache = layers.affine_forward(x, w, b)
    out, sigmoid_cache = layers.sigmoid_forward(dot)
    assert dot[0, 0] == 1.0
    assert out[0, 0] == pytest.approx(0.73, abs=TWO_DECIMALS)

    ddot = solutions.sigmoid_backward(np.ones_like(out), sigmoid_cache)
    assert ddot[0, 0] == pytest.approx(0.2, abs=TWO_DECIMALS)  # (1 - 0.73) * 0.73
    dx, dw, db = solutions.affine_backward(ddot, affine_cache)
    np.testing.assert_allclose(dx[0], [0.39, -0.59], atol=TWO_DECIMALS)
    np.testing.assert_allclose(dw[:, 0], [-0.20, -0.39], atol=TWO_DECIMALS)
    np.testing.assert_allclose(db, [0.20], atol=TWO_DECIMALS)


def test_gate_circuit_routes_gradients():
    """Is 2 (x y + max(z, w)) at x=3, y=-4, z=2, w=-1 equal to -20 with gradients (-8, 6, 2, 0)?"""
    x, y, z, w = 3.0, -4.0, 2.0, -1.0
    xy = x * y
    m = max(z, w)
    s = xy + m
    f = 2 * s
    assert (xy, m, s, f) == (-12.0, 2.0, -10.0, -20.0)
    ds = 2.0  # the *2 gate scales its gradient
    dxy = dm = ds  # the add gate distributes
    dz, dw = (dm, 0.0) if z >= w else (0.0, dm)  # the max gate routes to the larger input
    dx, dy = y * dxy, x * dxy  # the multiply gate swaps
    assert (dx, dy, dz, dw) == (-8.0, 6.0, 2.0, 0.0)
    numeric = gradcheck.numerical_gradient(
        lambda v: 2 * (v[0] * v[1] + max(v[2], v[3])), np.array([x, y, z, w]))
    np.testing.assert_allclose(numeric, [dx, dy, dz, dw], rtol=1e-9, atol=1e-12)


def test_max_gate_routes_like_a_relu():
    """Is max(z, w) = w + relu(z - w), so that relu_backward routes the gate's gradient to z?"""
    z, w = 2.0, -1.0
    out, cache = layers.relu_forward(np.array([z - w]))
    assert w + out[0] == 2.0
    dz = solutions.relu_backward(np.array([2.0]), cache)[0]
    assert (dz, 2.0 - dz) == (2.0, 0.0)  # dw = upstream - dz: all of it went to z


def test_squared_norm_of_a_matrix_vector_product():
    """Is f = ||W x||^2 at W=[[0.1,0.5],[-0.3,0.8]], x=[0.2,0.4] equal to 0.116, with the slide's dW and dx?"""
    W = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    # q = W x as an affine layer on one example: row vector x (1, D) times w = W.T (D, M)
    q, affine_cache = layers.affine_forward(x[None, :], W.T, np.zeros(2))
    f, square_cache = losses.squared_error_forward(q, np.zeros_like(q))  # ||q||^2 / N, N = 1
    np.testing.assert_allclose(q[0], [0.22, 0.26], atol=1e-12)
    assert f == pytest.approx(0.116, abs=1e-12)

    dq = solutions.squared_error_backward(1.0, square_cache)
    np.testing.assert_allclose(dq[0], [0.44, 0.52], atol=1e-12)  # 2 q
    dx, dwt, _ = solutions.affine_backward(dq, affine_cache)
    dW = dwt.T  # the layer's w is W.T
    np.testing.assert_allclose(dW, [[0.088, 0.176], [0.104, 0.208]], atol=1e-12)  # 2 q x^T
    np.testing.assert_allclose(dx[0], [-0.112, 0.636], atol=1e-12)  # 2 W^T q

    numeric_dW = gradcheck.numerical_gradient(lambda V: np.sum((V @ x) ** 2), W)
    numeric_dx = gradcheck.numerical_gradient(lambda v: np.sum((W @ v) ** 2), x)
    np.testing.assert_allclose(numeric_dW, dW, rtol=1e-8)
    np.testing.assert_allclose(numeric_dx, dx[0], rtol=1e-8)
