"""Reference backward passes of the losses in `course.losses`, and the combined forms.

Each ``*_backward(dloss, cache)`` takes the upstream gradient of the (scalar) loss,
1.0 when the loss is the end of the graph, and returns the gradient of the first input.
"""

from __future__ import annotations

import numpy as np

from course.layers import sigmoid
from course.losses import softmax_loss_forward, svm_loss_forward


def softmax_loss_backward(dloss, cache):
    """cache (probs (N, C), y (N,)). Returns dx (N, C) = dloss * (probs - onehot(y)) / N."""
    probs, y = cache
    n = probs.shape[0]
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return dx * (dloss / n)


def svm_loss_backward(dloss, cache):
    """cache (margins (N, C), y (N,)). Returns dx (N, C).

    Every positive margin adds +1 to its own score's gradient and -1 to the correct class's.
    """
    margins, y = cache
    n = margins.shape[0]
    dx = (margins > 0).astype(float)
    dx[np.arange(n), y] -= dx.sum(axis=1)
    return dx * (dloss / n)


def softmax_loss(x, y):
    """Softmax loss and its gradient. x: (N, C), y: (N,). Returns (loss, dx (N, C))."""
    loss, cache = softmax_loss_forward(x, y)
    return loss, softmax_loss_backward(1.0, cache)


def svm_loss(x, y):
    """Multiclass SVM loss and its gradient. x: (N, C), y: (N,). Returns (loss, dx (N, C))."""
    loss, cache = svm_loss_forward(x, y)
    return loss, svm_loss_backward(1.0, cache)


def squared_error_backward(dloss, cache):
    """cache: diff = p - t, (N, ...). Returns dp = dloss * 2 diff / N."""
    diff = cache
    return diff * (2 * dloss / diff.shape[0])


def absolute_error_backward(dloss, cache):
    """cache: diff = p - t, (N, ...). Returns dp = dloss * sign(diff) / N."""
    diff = cache
    return np.sign(diff) * (dloss / diff.shape[0])


def binary_cross_entropy_backward(dloss, cache):
    """cache (p_clipped, t). Returns dp = dloss * (p - t) / (p (1 - p)) / N."""
    p, t = cache
    return (p - t) / (p * (1 - p)) * (dloss / p.shape[0])


def binary_cross_entropy_with_logits_backward(dloss, cache):
    """cache (z, t). Returns dz = dloss * (sigmoid(z) - t) / N."""
    z, t = cache
    return (sigmoid(z) - t) * (dloss / z.shape[0])


def binary_hinge_backward(dloss, cache):
    """cache (s, t). Returns ds = -dloss * t / N where the margin 1 - t s is positive, else 0."""
    s, t = cache
    return np.where(1 - t * s > 0, -t, 0.0) * (dloss / s.shape[0])
