"""Reference answer of notebook 04 (`04_two_layer_net`): the two-layer net's loss and gradients.

`two_layer_net_loss` is the single source of the notebook's solution cell: the cell holds
exactly this function's source, with the body between the nbgrader solution markers.
"""

from __future__ import annotations

import numpy as np

from course.layers import affine_forward, relu_forward
from course.losses import softmax_loss_forward

__all__ = ["two_layer_net_loss"]


def two_layer_net_loss(params, X, y, reg=0.0):
    """Loss and gradients of the two-layer net affine - relu - affine - softmax.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); X: (N, D) inputs;
    y: (N,) integer labels in [0, C); reg: L2 regularization strength.
    Returns (loss, grads): the mean softmax loss plus 0.5 * reg * (sum(W1**2) + sum(W2**2)),
    a float, and a dict with the gradient of the loss under each key of params, shaped
    like that parameter.
    """
    ### BEGIN SOLUTION
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    # forward pass, stage by stage, keeping every intermediate value for the way back
    a1, _ = affine_forward(X, W1, b1)  # (N, H)
    h1, _ = relu_forward(a1)  # (N, H)
    scores, _ = affine_forward(h1, W2, b2)  # (N, C)
    data_loss, (probs, _) = softmax_loss_forward(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    # backward pass, the same stages in reverse
    dscores = probs.copy()  # softmax: (p - onehot(y)) / N
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dW2 = h1.T @ dscores  # (H, C)
    db2 = dscores.sum(axis=0)  # b2 was added to every row, so its gradients add up
    dh1 = dscores @ W2.T  # (N, H)
    da1 = dh1 * (a1 > 0)  # relu lets the gradient through where its input was positive
    dW1 = X.T @ da1  # (D, H)
    db1 = da1.sum(axis=0)
    # the regularization term adds reg * W to each weight's gradient
    dW1 += reg * W1
    dW2 += reg * W2
    return float(loss), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION
