"""Wrong answers to the loss exercises: ``softmax_loss(x, y)`` and ``svm_loss(x, y)``.

Each source is a complete function returning ``(loss, dx)`` for scores x (N, C) and
labels y (N,), using only ``np``. Apart from the mistake named, each computes the loss
the stable way, so that a check flags the mistake and nothing else.
"""

from __future__ import annotations

from textwrap import dedent

from solutions.bugs import Bug


def _bug(exercise: str, name: str, code: str, description: str, source: str) -> Bug:
    return Bug(exercise, name, code, description, dedent(source).strip() + "\n")


SOFTMAX = [
    _bug("softmax_loss", "no_max_shift", "no-max-shift",
         "exp of the raw scores: right for small scores, overflows (inf, nan) for scores near 1e3",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             e = np.exp(x)
             probs = e / e.sum(axis=1, keepdims=True)
             loss = -np.log(probs[np.arange(n), y]).sum() / n
             dx = probs.copy()
             dx[np.arange(n), y] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "max_shift_in_place", "modifies-input",
         "x -= x.max(axis=1, keepdims=True) shifts the caller's scores in place: right numbers, changed input",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             x -= x.max(axis=1, keepdims=True)
             logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.exp(logp)
             dx[np.arange(n), y] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "grad_not_divided_by_n", "grad-not-averaged",
         "the loss is averaged over the batch but dx is not divided by N (N=1 hides it)",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.exp(logp)
             dx[np.arange(n), y] -= 1
             return loss, dx
         """),
    _bug("softmax_loss", "loss_not_divided_by_n", "loss-not-averaged",
         "the loss is summed over the batch while dx is averaged (N=1 hides it)",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum()
             dx = np.exp(logp)
             dx[np.arange(n), y] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "forgot_minus_one", "forgot-minus-one",
         "dx = probs / N: the -1 at the correct class forgotten (one entry per row wrong)",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.exp(logp)
             return loss, dx / n
         """),
    _bug("softmax_loss", "column_indexing", "wrong-class-index",
         "dx[:, y] -= 1 subtracts 1 in the columns of every label for every row",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.exp(logp)
             dx[:, y] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "sign_flipped", "sign-flipped",
         "dx = (onehot - probs) / N: the gradient of the negative loss",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = -np.exp(logp)
             dx[np.arange(n), y] += 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "normalized_over_batch", "normalized-over-batch",
         "probabilities normalized over the batch (axis=0) instead of over the classes",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             e = np.exp(x - x.max(axis=0, keepdims=True))
             probs = e / e.sum(axis=0, keepdims=True)
             loss = -np.log(probs[np.arange(n), y]).sum() / n
             dx = probs.copy()
             dx[np.arange(n), y] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "first_row_skipped", "loop-off-by-one",
         "a loop over the examples that starts at 1: row 0 of dx stays zero",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.zeros_like(x)
             for i in range(1, n):
                 dx[i] = np.exp(logp[i])
                 dx[i, y[i]] -= 1
             return loss, dx / n
         """),
    _bug("softmax_loss", "last_label_missed", "loop-off-by-one",
         "the correct-class loop stops one short: one entry of dx, in the last row, is wrong",
         """
         def softmax_loss(x, y):
             n = x.shape[0]
             shifted = x - x.max(axis=1, keepdims=True)
             logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
             loss = -logp[np.arange(n), y].sum() / n
             dx = np.exp(logp)
             for i in range(n - 1):
                 dx[i, y[i]] -= 1
             return loss, dx / n
         """),
]

SVM = [
    _bug("svm_loss", "correct_class_in_hinge", "correct-class-counted",
         "the correct class counted in the hinge sum: the loss is 1 too large (dx happens to be right)",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] = 0
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "missing_correct_class_gradient", "no-correct-class-gradient",
         "dx = (margins > 0) / N: the -count at the correct class forgotten (one entry per row)",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             return loss, dx / n
         """),
    _bug("svm_loss", "loss_not_divided_by_n", "loss-not-averaged",
         "the loss is summed over the batch while dx is averaged (N=1 hides it)",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum()
             dx = (margins > 0).astype(float)
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "shifts_scores_in_place", "modifies-input",
         "x -= x[rows, y][:, None] works on the caller's scores in place: right numbers, changed input",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             x -= x[rows, y][:, None]
             margins = np.maximum(0, x + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "grad_not_divided_by_n", "grad-not-averaged",
         "the loss is averaged over the batch but dx is not divided by N (N=1 hides it)",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx
         """),
    _bug("svm_loss", "counts_every_class", "counts-every-class",
         "margins >= 0 on the clipped margins is always true: every class counted as violating",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins >= 0).astype(float)
             dx[rows, y] = 0
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "minus_one_not_count", "minus-one-not-count",
         "the correct class gets -1 instead of minus the number of violating classes",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] -= 1
             return loss, dx / n
         """),
    _bug("svm_loss", "no_margin", "margin-zero",
         "the hinge max(0, x_j - x_y) without the margin 1",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None])
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] -= dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "correct_class_sign", "correct-class-sign",
         "the correct class gets +count instead of -count",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             dx[rows, y] += dx.sum(axis=1)
             return loss, dx / n
         """),
    _bug("svm_loss", "last_row_correct_class_missed", "loop-off-by-one",
         "the correct-class loop stops one short: one entry of dx, in the last row, is wrong",
         """
         def svm_loss(x, y):
             n = x.shape[0]
             rows = np.arange(n)
             margins = np.maximum(0, x - x[rows, y][:, None] + 1)
             margins[rows, y] = 0
             loss = margins.sum() / n
             dx = (margins > 0).astype(float)
             for i in range(n - 1):
                 dx[i, y[i]] -= dx[i].sum()
             return loss, dx / n
         """),
]

BUGS: list[Bug] = SOFTMAX + SVM
