"""Forward passes of the layers, each returning ``(out, cache)``.

The cache holds exactly what the matching backward pass needs (see DESIGN.md):
you write the backward passes in the notebooks. Shapes use N (batch),
D (features), M (outputs). Functions never modify their inputs.
"""

from __future__ import annotations

import numpy as np

from course._checks import as_float_array, check_ndim

__all__ = [
    "affine_forward",
    "relu_forward",
    "sigmoid_forward",
    "tanh_forward",
    "leaky_relu_forward",
    "sigmoid",
]


def affine_forward(x, w, b):
    """Fully connected layer: ``out = x.reshape(N, D) @ w + b``.

    x: (N, d1, ..., dk) with D = d1 * ... * dk; w: (D, M); b: (M,).
    Returns out (N, M) and cache ``(x, w, b)``.
    """
    x = as_float_array("x", x)
    w = as_float_array("w", w)
    b = as_float_array("b", b)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d1, ..., dk) with at least 2 dimensions, got {x.shape}")
    check_ndim("w", w, 2, "D, M")
    check_ndim("b", b, 1, "M,")
    n, d = x.shape[0], int(np.prod(x.shape[1:]))
    if w.shape[0] != d:
        raise ValueError(
            f"w must have shape (D, M) with D = {d} (x is {x.shape}), got {w.shape}"
        )
    if b.shape[0] != w.shape[1]:
        raise ValueError(f"b must have shape (M,) = ({w.shape[1]},) to match w, got {b.shape}")
    out = x.reshape(n, d) @ w + b
    return out, (x, w, b)


def relu_forward(x):
    """Rectified linear unit, elementwise ``max(0, x)``. x: any shape. Cache: ``x``."""
    x = as_float_array("x", x)
    return np.maximum(x, 0), x


def sigmoid(x):
    """Logistic function 1 / (1 + e^-x), stable for any |x| (no overflow warnings)."""
    x = as_float_array("x", x)
    # exp of a non-positive number never overflows; pick the form that needs only that.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x):
    """Elementwise sigmoid. x: any shape. Cache: ``out``, since sigma' = out (1 - out)."""
    out = sigmoid(x)
    return out, out


def tanh_forward(x):
    """Elementwise tanh. x: any shape. Cache: ``out``, since tanh' = 1 - out**2."""
    out = np.tanh(as_float_array("x", x))
    return out, out


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: ``x`` where x > 0, ``alpha * x`` elsewhere. Cache: ``(x, alpha)``."""
    x = as_float_array("x", x)
    if not np.isscalar(alpha) or not 0 <= alpha < 1:
        raise ValueError(f"alpha must be a number in [0, 1), got {alpha!r}")
    return np.where(x > 0, x, alpha * x), (x, alpha)
