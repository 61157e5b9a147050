"""Reference backward passes of the losses in `course.losses`, and the combined forms.

Each ``*_backward(dloss, cache)`` takes the upstream gradient of the (scalar) loss,
1.0 when the loss is the end of the graph, and returns the gradient of the first input.
"""

from __future__ import annotations

import numpy as np

from course.layers import sigmoid


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
    """Softmax (cross-entropy) loss and its gradient.

    x: (N, C) scores, y: (N,) integer labels in [0, C).
    Returns the mean loss over the N examples (a float) and dx (N, C).
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    rows = np.arange(n)
    # subtracting each row's max changes no probability and keeps every exp() <= 1
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / n
    # dL/dx = (softmax(x) - onehot(y)) / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= n
    return float(loss), dx
    ### END SOLUTION


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, and its gradient.

    x: (N, C) scores, y: (N,) integer labels in [0, C).
    Returns the mean loss over the N examples (a float) and dx (N, C).
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    # the correct class does not compete with itself (its margin would always be 1)
    margins[rows, y] = 0
    loss = margins.sum() / n
    # every positive margin pushes its own score up (+1) and the correct score down (-1)
    dx = (margins > 0).astype(np.float64)
    dx[rows, y] -= dx.sum(axis=1)
    dx /= n
    return float(loss), dx
    ### END SOLUTION


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
