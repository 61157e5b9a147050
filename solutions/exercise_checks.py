"""The inputs an exercise is graded on, and the gradient check of one answer on all of them.

For each exercise (``affine_backward``, ``relu_backward``, ..., ``softmax_loss``,
``svm_loss``) a few cases chosen so that the usual mistakes show: N = 1, x with three
dimensions, a non-square w, a square w with N = D = M (a transposed gradient then has
the right shape), and scores of magnitude 1e3 for the losses. Every check takes finite
differences of the reference forward pass in `course`, never of the answer's own.

Used by the bug-bank tests and by ``benchmarks/bench_checkers.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course import gradcheck, layers, losses

__all__ = ["LAYER_EXERCISES", "LOSS_EXERCISES", "CaseResult", "cases", "check_exercise"]

#: exercise -> reference forward pass whose finite differences judge the answer
LAYER_EXERCISES = {
    "affine_backward": layers.affine_forward,
    "relu_backward": layers.relu_forward,
    "sigmoid_backward": layers.sigmoid_forward,
    "tanh_backward": layers.tanh_forward,
    "leaky_relu_backward": layers.leaky_relu_forward,
}
LOSS_EXERCISES = {
    "softmax_loss": losses.softmax_loss_forward,
    "svm_loss": losses.svm_loss_forward,
}


def _away_from_zero(rng, shape, gap=0.1):
    """Standard normal entries pushed at least `gap` away from 0 (the relu kink)."""
    z = rng.standard_normal(shape)
    return np.where(z >= 0, 1.0, -1.0) * (gap + np.abs(z))


def _affine(rng, xshape, m):
    d = int(np.prod(xshape[1:]))
    return (rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m))


def _scores(rng, n, c, scale):
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def cases(exercise: str, seed: int = 0, size: str = "graded") -> dict[str, tuple]:
    """Named inputs of the forward pass for `exercise`, drawn from a seeded generator.

    size "graded": the small inputs of the notebooks' hidden tests (tens of entries);
    "large": a batch of realistic size (hundreds to thousands of entries), where
    checking every entry costs thousands of forward calls.
    """
    if size not in ("graded", "large"):
        raise ValueError(f"size must be 'graded' or 'large', got {size!r}")
    big = size == "large"
    # A stream of its own: inputs drawn from default_rng(seed) would repeat the checker's
    # dout and directions, and a relu mask taken on dout would then look right.
    rng = np.random.default_rng([seed, 2])
    if exercise == "affine_backward":
        if big:
            return {
                "x (32, 4, 8), w (32, 16)": _affine(rng, (32, 4, 8), 16),
                "square: x (24, 24), w (24, 24)": _affine(rng, (24, 24), 24),
            }
        return {
            "x (3, 2, 3), w (6, 5)": _affine(rng, (3, 2, 3), 5),
            "square: x (4, 4), w (4, 4)": _affine(rng, (4, 4), 4),
            "N=1: x (1, 3), w (3, 2)": _affine(rng, (1, 3), 2),
        }
    shape = (16, 8, 8) if big else (2, 3, 4)
    if exercise in ("relu_backward", "leaky_relu_backward"):
        extra = (0.1,) if exercise == "leaky_relu_backward" else ()
        named = {f"x {shape}": (_away_from_zero(rng, shape), *extra)}
        if not big:
            named["N=1: x (1, 5)"] = (_away_from_zero(rng, (1, 5)), *extra)
        return named
    if exercise in ("sigmoid_backward", "tanh_backward"):
        named = {f"x {shape}": (2 * rng.standard_normal(shape),)}
        if not big:
            named["N=1: x (1, 5)"] = (2 * rng.standard_normal((1, 5)),)
        return named
    if exercise in LOSS_EXERCISES:
        if big:
            return {
                "scores (64, 10)": _scores(rng, 64, 10, 2.0),
                "scores (64, 10) of size 1e3": _scores(rng, 64, 10, 1e3),
            }
        return {
            "scores (5, 4)": _scores(rng, 5, 4, 2.0),
            "scores (6, 5) of size 1e3": _scores(rng, 6, 5, 1e3),
            "N=1: scores (1, 3)": _scores(rng, 1, 3, 2.0),
        }
    known = sorted(LAYER_EXERCISES | LOSS_EXERCISES)
    raise ValueError(f"exercise must be one of {known}, got {exercise!r}")


@dataclass
class CaseResult:
    """The outcome of checking one answer on one case: a report, or the error it raised."""

    case: str
    report: gradcheck.GradReport | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.report is not None and self.report.ok


class _AnswerFailed(Exception):
    """Wraps an exception raised by the answer itself (not by the checker)."""


def _guarded(fn: Callable) -> Callable:
    def call(*args):
        try:
            return fn(*args)
        except Exception as exc:  # the answer's own crash is a result, not a checker failure
            raise _AnswerFailed(exc) from exc

    call.__name__ = getattr(fn, "__name__", "answer")
    return call


def check_exercise(exercise: str, fn: Callable, *, method: str = "full", seed: int = 0,
                   size: str = "graded", **options) -> list[CaseResult]:
    """Check answer `fn` to `exercise` on every case; `options` go to the gradcheck call.

    An exception raised by `fn` (a shape mismatch in a transposed product, say) is
    recorded in the result; exceptions of the checker itself propagate.
    """
    results = []
    for name, inputs in cases(exercise, seed, size).items():
        guarded = _guarded(fn)
        try:
            if exercise in LAYER_EXERCISES:
                report = gradcheck.check_backward(
                    LAYER_EXERCISES[exercise], guarded, *inputs, method=method, seed=seed,
                    title=exercise, **options)
            else:
                x, y = inputs
                report = gradcheck.check_loss(
                    guarded, x, y, reference=LOSS_EXERCISES[exercise], method=method,
                    seed=seed, title=exercise, **options)
        except _AnswerFailed as exc:
            results.append(CaseResult(name, error=exc.__cause__))
            continue
        results.append(CaseResult(name, report=report))
    return results
