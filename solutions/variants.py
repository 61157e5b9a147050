"""Correct answers written differently from the references: loops, index tricks, the textbook.

Each is the source of a complete exercise function, as a student might write it after the
lecture notes. The declarations' checks, hidden tests and sealed checks must all give them
full marks (tests/autograder/test_declarations.py, without a kernel, and
tests/autograder/test_correct_variants.py, through ``grade``).
"""

from __future__ import annotations

from textwrap import dedent

VARIANTS: dict[str, dict[str, str]] = {
    "affine_backward": {
        "loop_over_the_batch": """
            def affine_backward(dout, cache):
                x, w, b = cache
                n = x.shape[0]
                rows = x.reshape(n, -1)
                dx = np.zeros_like(rows)
                dw = np.zeros_like(w)
                db = np.zeros_like(b)
                for i in range(n):
                    dx[i] = w @ dout[i]
                    dw += np.outer(rows[i], dout[i])
                    db += dout[i]
                return dx.reshape(x.shape), dw, db
        """,
        "einsum_and_prod": """
            def affine_backward(dout, cache):
                x, w, b = cache
                flat = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
                dx = np.einsum("nm,dm->nd", dout, w).reshape(*x.shape)
                dw = np.einsum("nd,nm->dm", flat, dout)
                db = np.einsum("nm->m", dout)
                return dx, dw, db
        """,
        "dot_and_add_at": """
            def affine_backward(dout, cache):
                x, w, b = cache
                dx = np.dot(dout, w.T).reshape(x.shape)
                dw = np.dot(x.reshape(len(x), -1).T, dout)
                db = np.zeros(b.shape)
                np.add.at(db, np.arange(b.shape[0]), dout.sum(axis=0))
                return dx, dw, db
        """,
    },
    "relu_backward": {
        "where": """
            def relu_backward(dout, cache):
                return np.where(cache > 0, dout, 0.0)
        """,
        "copy_and_zero": """
            def relu_backward(dout, cache):
                dx = dout.copy()
                dx[cache <= 0] = 0
                return dx
        """,
    },
    "sigmoid_backward": {
        "expanded": """
            def sigmoid_backward(dout, cache):
                s = cache
                return dout * s - dout * s ** 2
        """,
    },
    "softmax_loss": {
        # the lecture's way: shift by the row max, then the log of the probabilities
        "textbook_log_of_probabilities": """
            def softmax_loss(x, y):
                n = x.shape[0]
                e = np.exp(x - x.max(axis=1, keepdims=True))
                probs = e / e.sum(axis=1, keepdims=True)
                loss = -np.log(probs[np.arange(n), y]).sum() / n
                dx = probs.copy()
                dx[np.arange(n), y] -= 1
                return loss, dx / n
        """,
        "loop_over_rows": """
            def softmax_loss(x, y):
                n = x.shape[0]
                loss = 0.0
                dx = np.zeros_like(x)
                for i in range(n):
                    shifted = x[i] - np.max(x[i])
                    p = np.exp(shifted) / np.sum(np.exp(shifted))
                    loss -= np.log(p[y[i]])
                    dx[i] = p
                    dx[i, y[i]] -= 1
                return loss / n, dx / n
        """,
    },
    "svm_loss": {
        # cs231n's naive version: two loops
        "two_loops": """
            def svm_loss(x, y):
                n, c = x.shape
                loss = 0.0
                dx = np.zeros_like(x)
                for i in range(n):
                    for j in range(c):
                        if j == y[i]:
                            continue
                        margin = x[i, j] - x[i, y[i]] + 1
                        if margin > 0:
                            loss += margin
                            dx[i, j] += 1
                            dx[i, y[i]] -= 1
                return loss / n, dx / n
        """,
        "add_at": """
            def svm_loss(x, y):
                n = len(y)
                correct = x[np.arange(n), y][:, None]
                margins = np.maximum(0, x - correct + 1)
                margins[np.arange(n), y] = 0
                dx = (margins > 0).astype(float)
                np.add.at(dx, (np.arange(n), y), -dx.sum(axis=1))
                return margins.sum() / n, dx / n
        """,
    },
}


def variants() -> list[tuple[str, str, str]]:
    """(exercise, variant name, source) of every variant."""
    return [(ex, name, dedent(src).strip() + "\n") for ex, by_name in VARIANTS.items() for name, src in by_name.items()]
