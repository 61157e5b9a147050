"""Hypothesis strategies shared by the tests (MiniTorch style: one module, small inputs).

Every strategy keeps its numbers away from kinks (relu at 0, hinge margins at 0) and
from overflow, so that a finite difference is meaningful at every entry; tests of the
kinks themselves build their inputs by hand.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: smallest distance of an entry from a kink (relu input 0, hinge margin 0)
KINK_GAP = 0.05

dims = st.integers(min_value=1, max_value=4)
shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)
batch_shapes = hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4)


def away_from_kinks(x: np.ndarray, gap: float = KINK_GAP) -> np.ndarray:
    """Entries of x pushed at least `gap` away from 0, keeping their sign."""
    return np.where(x >= 0, 1.0, -1.0) * (gap + np.abs(x))


@st.composite
def arrays(draw, shape=shapes, bound: float = 5.0, kink_free: bool = True):
    """A float64 array of the given shape (or shape strategy), entries in [-bound, bound]."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    x = draw(hnp.arrays(np.float64, shape,
                        elements=st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)))
    return away_from_kinks(x) if kink_free else x


@st.composite
def affine_inputs(draw):
    """x (N, d1..dk) with k in 1..3, w (D, M), b (M,): N = 1 and non-square w included."""
    xshape = draw(batch_shapes)
    d = int(np.prod(xshape[1:]))
    m = draw(dims)
    return draw(arrays(xshape)), draw(arrays((d, m))), draw(arrays((m,)))


@st.composite
def scores_and_labels(draw, scale: float = 1.0):
    """Scores x (N, C), C >= 2, entries of size about `scale`, and labels y (N,) in [0, C)."""
    n, c = draw(dims), draw(st.integers(2, 5))
    x = scale * draw(arrays((n, c), bound=3.0, kink_free=False))
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.intp)
    return x, y


@st.composite
def hinge_scores_and_labels(draw):
    """Like `scores_and_labels`, with every SVM margin x_j - x_y + 1 at least KINK_GAP from 0."""
    x, y = draw(scores_and_labels())
    rows = np.arange(x.shape[0])
    margins = x - x[rows, y][:, None] + 1
    shift = away_from_kinks(margins) - margins
    shift[rows, y] = 0  # moving the correct score would move every margin of its row
    return x + shift, y
