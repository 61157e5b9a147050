"""Reference answers of notebook 05 (automatic differentiation): the ops and the module.

Each class is the notebook's solution cell, which is generated from it (`autograder.sync`):
nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` comments mark what students write.
The two functions at the end are the notebook's locked cells that build the loss from
these ops.
"""

from __future__ import annotations

import numpy as np

from course.autodiff import Exp, Log, Op, Pick, Scale, Shift, Sum, TensorNode
from course.layers import sigmoid

__all__ = [
    "Expand",
    "Linear",
    "MatMul",
    "Multiply",
    "Plus",
    "RowSum",
    "Sigmoid",
    "softmax_cross_entropy",
    "two_layer_net",
]


class Plus(Op):
    """a + b for a, b of the same shape (any shape)."""

    @staticmethod
    def forward(context, a, b):
        if a.shape != b.shape:
            raise ValueError(f"Plus adds tensors of one shape, got {a.shape} and {b.shape}: Expand first")
        return a + b

    @staticmethod
    def backward(context, goutput):
        """goutput: shaped like a and b. Returns (ga, gb)."""
        ### BEGIN SOLUTION
        # each output entry moves one for one with the matching entry of a, and of b
        return goutput, goutput
        ### END SOLUTION


class Multiply(Op):
    """Elementwise a * b for a, b of the same shape (any shape)."""

    @staticmethod
    def forward(context, a, b):
        if a.shape != b.shape:
            raise ValueError(f"Multiply needs tensors of one shape, got {a.shape} and {b.shape}")
        context["a"], context["b"] = a, b
        return a * b

    @staticmethod
    def backward(context, goutput):
        """goutput: shaped like a and b. Returns (ga, gb)."""
        ### BEGIN SOLUTION
        a, b = context["a"], context["b"]
        # d(a * b)/da = b and d(a * b)/db = a: each factor's gradient is the other factor
        return goutput * b, goutput * a
        ### END SOLUTION


class MatMul(Op):
    """Matrix product a @ b: a (N, D), b (D, M) -> (N, M)."""

    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a @ b

    @staticmethod
    def backward(context, goutput):
        """goutput: (N, M). Returns ga (N, D), gb (D, M)."""
        ### BEGIN SOLUTION
        a, b = context["a"], context["b"]
        return goutput @ b.T, a.T @ goutput
        ### END SOLUTION


class Sigmoid(Op):
    """Elementwise logistic sigmoid, any shape."""

    @staticmethod
    def forward(context, x):
        sigx = sigmoid(x)
        context["sigx"] = sigx  # the output is all the backward needs
        return sigx

    @staticmethod
    def backward(context, goutput):
        """goutput: shaped like x. Returns gx."""
        ### BEGIN SOLUTION
        sigx = context["sigx"]
        return goutput * sigx * (1 - sigx)
        ### END SOLUTION


class RowSum(Op):
    """Sum of each row: x (N, M) -> (N,)."""

    @staticmethod
    def forward(context, x):
        context["m"] = x.shape[1]  # the backward needs to know how wide the rows were
        return x.sum(axis=1)

    @staticmethod
    def backward(context, goutput):
        """goutput: (N,). Returns gx (N, M)."""
        ### BEGIN SOLUTION
        m = context["m"]
        # every entry of row n moved y[n] one for one: copy its gradient along the row
        return np.repeat(goutput[:, None], m, axis=1)
        ### END SOLUTION


class Expand(Op):
    """Stack copies of a vector: x (M,), constant size N -> (N, M)."""

    @staticmethod
    def forward(context, x, *, size):
        return np.repeat(x[None], size, axis=0)

    @staticmethod
    def backward(context, goutput):
        """goutput: (N, M). Returns gx (M,)."""
        ### BEGIN SOLUTION
        # x feeds every row: a fork, so the gradients of all rows add up
        return goutput.sum(axis=0)
        ### END SOLUTION


class Linear:
    """A fully connected layer that owns its parameters: x (N, D) -> x @ w + b (N, M)."""

    def __init__(self, w, b):
        """w: (D, M) and b: (M,), arrays or leaf TensorNodes (arrays get wrapped)."""
        self.w = w if isinstance(w, TensorNode) else TensorNode(w, name="w")
        self.b = b if isinstance(b, TensorNode) else TensorNode(b, name="b")

    def parameters(self):
        return [self.w, self.b]

    def __call__(self, x):
        """x: a TensorNode (N, D). Returns a TensorNode (N, M)."""
        ### BEGIN SOLUTION
        n = x.shape[0]
        return Plus.apply(MatMul.apply(x, self.w), Expand.apply(self.b, size=n))
        ### END SOLUTION


def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy as a graph. scores: TensorNode (N, C), y: (N,) labels.

    Returns a single-number TensorNode: mean over n of log sum_c e^s[n, c] - s[n, y[n]].
    """
    n = scores.shape[0]
    # subtracting each row's max changes no gradient (it is a constant) and keeps e^s <= 1
    shifted = Shift.apply(scores, c=-scores.value.max(axis=1, keepdims=True))
    log_sum_exp = Log.apply(RowSum.apply(Exp.apply(shifted)))
    correct = Pick.apply(shifted, y=y)  # shifted feeds two ops: a fork
    per_example = Plus.apply(log_sum_exp, Scale.apply(correct, factor=-1.0))
    return Scale.apply(Sum.apply(per_example), factor=1.0 / n)


def two_layer_net(X, y, layer1, layer2, reg=0.0):
    """Loss of affine - sigmoid - affine - softmax, plus 0.5 * reg * (|W1|^2 + |W2|^2).

    X: TensorNode (N, D); y: (N,) labels; layer1, layer2: Linear (D -> H, H -> C).
    Returns a single-number TensorNode.
    """
    scores = layer2(Sigmoid.apply(layer1(X)))
    loss = softmax_cross_entropy(scores, y)
    w1, w2 = layer1.w, layer2.w
    # w1 feeds both inputs of Multiply: its two gradients must add up to 2 * w1
    squares = Plus.apply(Sum.apply(Multiply.apply(w1, w1)), Sum.apply(Multiply.apply(w2, w2)))
    return Plus.apply(loss, Scale.apply(squares, factor=0.5 * reg))
