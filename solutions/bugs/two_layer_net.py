"""Wrong answers to notebook 04's exercise, ``two_layer_net_loss(params, X, y, reg=0.0)``.

Each source is a complete function returning ``(loss, grads)``. Besides ``np`` it uses the
names the notebook has imported by the exercise cell: ``affine_forward`` and
``relu_forward`` (course.layers) and ``softmax_loss_forward`` (course.losses); pass them
in `Bug.load`'s namespace. Every bug is the correct flat backprop with one realistic
mistake, so that a check flags that mistake and nothing else.
"""

from __future__ import annotations

from textwrap import dedent

from solutions.bugs import Bug

#: The names a bug's source needs besides ``np``, as imported in the notebook.
NAMESPACE_NAMES = ("affine_forward", "relu_forward", "softmax_loss_forward")

_CORRECT = dedent('''
    def two_layer_net_loss(params, X, y, reg=0.0):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        n = X.shape[0]
        a1, _ = affine_forward(X, W1, b1)
        h1, _ = relu_forward(a1)
        scores, _ = affine_forward(h1, W2, b2)
        data_loss, (probs, _) = softmax_loss_forward(scores, y)
        loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        dW2 = h1.T @ dscores
        db2 = dscores.sum(axis=0)
        dh1 = dscores @ W2.T
        da1 = dh1 * (a1 > 0)
        dW1 = X.T @ da1
        db1 = da1.sum(axis=0)
        dW1 += reg * W1
        dW2 += reg * W2
        return float(loss), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''').strip() + "\n"


def _variant(name: str, code: str, description: str, old: str, new: str) -> Bug:
    """The correct source with `old` replaced by `new` (which must occur exactly once)."""
    if _CORRECT.count(old) != 1:
        raise ValueError(f"bug {name}: {old!r} must occur exactly once in the correct source")
    return Bug("two_layer_net_loss", name, code, description, _CORRECT.replace(old, new))


BUGS = [
    _variant("forgot_reg_gradient", "reg-gradient-missing",
             "the loss includes the L2 term but the weight gradients do not (reg=0 hides it)",
             "    dW1 += reg * W1\n    dW2 += reg * W2\n", ""),
    _variant("reg_gradient_doubled", "reg-gradient-doubled",
             "2 * reg * W, the gradient of reg * sum(W**2), with the loss's 0.5 * reg convention",
             "    dW1 += reg * W1\n    dW2 += reg * W2\n",
             "    dW1 += 2 * reg * W1\n    dW2 += 2 * reg * W2\n"),
    _variant("relu_mask_from_gradient", "relu-mask-from-gradient",
             "the relu mask taken from the upstream gradient dh1 instead of the relu input a1",
             "da1 = dh1 * (a1 > 0)", "da1 = dh1 * (dh1 > 0)"),
    _variant("db_not_summed", "db-not-summed",
             "db2 is the (N, C) upstream gradient itself, not its sum over the batch",
             "db2 = dscores.sum(axis=0)", "db2 = dscores"),
    _variant("one_over_n_twice", "divided-by-n-twice",
             "divides by N in the softmax gradient and again for dW1: dW1 is N times too small",
             "dW1 = X.T @ da1", "dW1 = X.T @ da1 / n"),
    _variant("missing_w2_transpose", "missing-transpose",
             "dh1 = dscores @ W2: raises a shape error unless H == C, wrong values when H == C",
             "dh1 = dscores @ W2.T", "dh1 = dscores @ W2"),
]
