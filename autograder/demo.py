"""The demo: until grading lands, check a correct and a wrong backward pass and print the reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course.gradcheck import check_backward, check_loss
from course.layers import affine_forward
from course.losses import softmax_loss_forward
from solutions import affine_backward, softmax_loss


def _affine_backward_forgot_sum(dout, cache):
    """A classic mistake: the bias gradient is taken from the first example only."""
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw, dout[0]


def run(out: Path) -> int:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3, 5)), rng.standard_normal((15, 6)), rng.standard_normal(6)
    print(check_backward(affine_forward, affine_backward, x, w, b), end="\n\n")
    print(check_backward(affine_forward, _affine_backward_forgot_sum, x, w, b), end="\n\n")
    scores, y = 1e3 * rng.standard_normal((8, 10)), rng.integers(0, 10, 8)
    print(check_loss(softmax_loss, scores, y, reference=softmax_loss_forward))
    return 0
