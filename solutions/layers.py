"""Reference backward passes of the layers in `course.layers` (the answer key).

Each takes the upstream gradient ``dout`` (shaped like the layer's output) and the
cache its forward pass returned, and returns gradients shaped like the inputs.
"""

from __future__ import annotations

import numpy as np


def affine_backward(dout, cache):
    """Backward pass of the affine layer ``out = x.reshape(N, D) @ w + b``.

    dout: (N, M), the upstream gradient, shaped like out.
    cache: (x, w, b) as returned by affine_forward: x (N, d1, ..., dk), w (D, M), b (M,),
    with D = d1 * ... * dk.
    Returns (dx, dw, db), shaped like x, w and b.
    """
    ### BEGIN SOLUTION
    x, w, _ = cache
    x2 = x.reshape(x.shape[0], -1)
    # out = x2 @ w + b: each factor's gradient is the upstream gradient times the other factor.
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)  # b was broadcast over the batch, so its gradients add up
    return dx, dw, db
    ### END SOLUTION


def affine_param_backward(dout, cache):
    """The parameter gradients of the affine layer alone: ``(dw, db)``, without dx.

    For a network's first layer, whose input is data: its dx would be thrown away, and
    computing it is a multiply as large as the layer's forward one (PyTorch skips it too,
    as the data needs no gradient). Same dout and cache as `affine_backward`, whose
    dw and db these are; kept apart so that the notebook's `affine_backward` stays whole.
    Returns dw (D, M) and db (M,).
    """
    x, _, _ = cache
    return x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_backward(dout, cache):
    """Backward pass of the relu, ``out = max(0, x)`` elementwise.

    dout: the upstream gradient, any shape. cache: x as returned by relu_forward, shaped
    like dout. Returns dx, shaped like x.
    """
    ### BEGIN SOLUTION
    x = cache
    # multiplying by the boolean mask is about 3x faster than np.where(x > 0, dout, 0.0)
    return dout * (x > 0)
    ### END SOLUTION


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid, ``out = 1 / (1 + exp(-x))`` elementwise.

    dout: the upstream gradient, any shape. cache: the sigmoid's *output* s as returned
    by sigmoid_forward (not x), shaped like dout. Returns dx, shaped like x.
    """
    ### BEGIN SOLUTION
    s = cache
    # sigma'(x) = s (1 - s): the local gradient needs only the output
    return dout * s * (1 - s)
    ### END SOLUTION


def tanh_backward(dout, cache):
    """Backward pass of tanh, elementwise.

    dout: the upstream gradient, any shape. cache: tanh's *output* t as returned by
    tanh_forward, shaped like dout. Returns dx, shaped like x.
    """
    ### BEGIN SOLUTION
    t = cache
    return dout * (1 - t * t)
    ### END SOLUTION


def leaky_relu_backward(dout, cache):
    """Backward pass of the leaky relu: ``x`` where x > 0, ``alpha * x`` elsewhere.

    dout: the upstream gradient, any shape. cache: (x, alpha) as returned by
    leaky_relu_forward, x shaped like dout. Returns dx, shaped like x.
    """
    ### BEGIN SOLUTION
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)
    ### END SOLUTION
