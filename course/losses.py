"""Loss functions (forward passes), each returning ``(loss, cache)``.

Every loss is the mean over the N examples of a batch, a Python float. Shapes use
N (batch), C (classes), M (outputs). The losses are those of the lectures' table:

=========================  ===========================================  ==========================
loss                       per example                                  targets
=========================  ===========================================  ==========================
softmax cross-entropy      -log softmax(x)[y]                           y in {0..C-1}
multiclass SVM (hinge)     sum_{j != y} max(0, x_j - x_y + 1)           y in {0..C-1}
squared error              ||p - t||^2                                  t real, shaped like p
absolute error             ||p - t||_1                                  t real, shaped like p
binary cross-entropy       -t log p - (1 - t) log(1 - p)                t in {0, 1}, p in [0, 1]
  ... on logits            the same with p = sigmoid(z), computed from z  t in {0, 1}
binary hinge               max(0, 1 - t s)                              t in {-1, 1}
=========================  ===========================================  ==========================
"""

from __future__ import annotations

import numpy as np

from course._checks import as_float_array, check_labels, check_ndim, check_same_shape

__all__ = [
    "softmax_loss_forward",
    "svm_loss_forward",
    "squared_error_forward",
    "absolute_error_forward",
    "binary_cross_entropy_forward",
    "binary_cross_entropy_with_logits_forward",
    "binary_hinge_forward",
    "log_softmax",
]

#: Probabilities are clipped to [PROB_EPS, 1 - PROB_EPS] before the log so that the
#: binary cross-entropy stays finite when a prediction is exactly 0 or 1.
PROB_EPS = 1e-12


def _scores_and_labels(x, y):
    x = as_float_array("x", x)
    check_ndim("x", x, 2, "N, C")
    return x, check_labels(y, x.shape[0], x.shape[1])


def log_softmax(x):
    """Row-wise log-softmax of scores x (N, C), stable for any magnitude of x."""
    # Shifting each row by its max changes nothing mathematically and keeps exp <= 1.
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_loss_forward(x, y):
    """Mean softmax cross-entropy. x: (N, C) scores, y: (N,) labels in [0, C).

    Returns the loss (float) and cache ``(probs, y)`` with probs (N, C) the softmax of x.
    """
    x, y = _scores_and_labels(x, y)
    n = x.shape[0]
    logp = log_softmax(x)
    loss = -logp[np.arange(n), y].sum() / n
    return float(loss), (np.exp(logp), y)


def svm_loss_forward(x, y):
    """Mean multiclass SVM (hinge) loss with margin 1. x: (N, C) scores, y: (N,) labels.

    The correct class contributes nothing. Returns the loss and cache
    ``(margins, y)``, margins (N, C) = max(0, x_j - x_y + 1) with 0 at the correct class.
    """
    x, y = _scores_and_labels(x, y)
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    return float(margins.sum() / n), (margins, y)


def _prediction_and_target(p, t, pname):
    p = as_float_array(pname, p)
    if p.ndim < 1:
        raise ValueError(f"{pname} must have shape (N, ...), got a scalar")
    t = as_float_array("t", t)
    check_same_shape("t", t, pname, p.shape)
    return p, t


def squared_error_forward(p, t):
    """Mean over N of the squared error ||p_n - t_n||^2. p, t: (N, ...) alike.

    Returns the loss and cache ``(p - t)``.
    """
    p, t = _prediction_and_target(p, t, "p")
    diff = p - t
    return float((diff**2).sum() / p.shape[0]), diff


def absolute_error_forward(p, t):
    """Mean over N of the absolute error ||p_n - t_n||_1. p, t: (N, ...) alike.

    Returns the loss and cache ``(p - t)``.
    """
    p, t = _prediction_and_target(p, t, "p")
    diff = p - t
    return float(np.abs(diff).sum() / p.shape[0]), diff


def _binary_targets(t, values):
    if not np.all(np.isin(t, values)):
        raise ValueError(f"targets t must take values in {values}")


def binary_cross_entropy_forward(p, t):
    """Mean binary cross-entropy on probabilities p in [0, 1]. p, t: (N, ...) alike, t in {0, 1}.

    p is clipped to [PROB_EPS, 1 - PROB_EPS] inside the log. Returns the loss and
    cache ``(p_clipped, t)``.
    """
    p, t = _prediction_and_target(p, t, "p")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities p must lie in [0, 1]; for scores use the logits version")
    _binary_targets(t, (0, 1))
    pc = np.clip(p, PROB_EPS, 1 - PROB_EPS)
    per = -(t * np.log(pc) + (1 - t) * np.log1p(-pc))
    return float(per.sum() / p.shape[0]), (pc, t)


def binary_cross_entropy_with_logits_forward(z, t):
    """Mean binary cross-entropy of sigmoid(z), computed stably from logits z. z, t: (N, ...).

    Uses -log sigma(z) t - log(1 - sigma(z)) (1 - t) = max(z, 0) - z t + log(1 + e^-|z|).
    Returns the loss and cache ``(z, t)``.
    """
    z, t = _prediction_and_target(z, t, "z")
    _binary_targets(t, (0, 1))
    per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return float(per.sum() / z.shape[0]), (z, t)


def binary_hinge_forward(s, t):
    """Mean binary hinge loss max(0, 1 - t s). s: (N, ...) scores, t: alike, in {-1, 1}.

    Returns the loss and cache ``(s, t)``.
    """
    s, t = _prediction_and_target(s, t, "s")
    _binary_targets(t, (-1, 1))
    return float(np.maximum(0, 1 - t * s).sum() / s.shape[0]), (s, t)
