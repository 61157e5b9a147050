"""The gradient check of one answer on all the inputs of its exercise, with any method.

For the layer and loss exercises (``affine_backward``, ``relu_backward``, ...,
``softmax_loss``, ``svm_loss``): the inputs they are graded on come from their
declarations (`course.exercises`); "large" inputs of realistic size (hundreds to
thousands of entries, where checking every entry costs thousands of forward calls) are
for comparing the checker's methods. Every check takes finite differences of the
reference forward pass in `course`, never of the answer's own.

Used by the bug-bank tests and by ``benchmarks/bench_checkers.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course import gradcheck
from course.exercises import EXERCISES, Backward, Loss

__all__ = ["LAYER_EXERCISES", "LOSS_EXERCISES", "CaseResult", "cases", "check_exercise"]

#: exercise -> reference forward pass whose finite differences judge the answer
LAYER_EXERCISES = {n: e.convention.forward for n, e in EXERCISES.items() if isinstance(e.convention, Backward)}
LOSS_EXERCISES = {n: e.convention.forward for n, e in EXERCISES.items() if isinstance(e.convention, Loss)}


def _away_from_zero(rng, shape, gap=0.1):
    """Standard normal entries pushed at least `gap` away from 0 (the relu kink)."""
    z = rng.standard_normal(shape)
    return np.where(z >= 0, 1.0, -1.0) * (gap + np.abs(z))


def _affine(rng, xshape, m):
    d = int(np.prod(xshape[1:]))
    return (rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m))


def _scores(rng, n, c, scale):
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _large(exercise: str, rng) -> dict[str, tuple]:
    if exercise == "affine_backward":
        return {"x (32, 4, 8), w (32, 16)": _affine(rng, (32, 4, 8), 16),
                "square: x (24, 24), w (24, 24)": _affine(rng, (24, 24), 24)}
    if exercise in ("relu_backward", "leaky_relu_backward"):
        return {"x (16, 8, 8)": (_away_from_zero(rng, (16, 8, 8)), *((0.1,) if exercise.startswith("leaky") else ()))}
    if exercise in ("sigmoid_backward", "tanh_backward"):
        return {"x (16, 8, 8)": (2 * rng.standard_normal((16, 8, 8)),)}
    return {"scores (64, 10)": _scores(rng, 64, 10, 2.0), "scores (64, 10) of size 1e3": _scores(rng, 64, 10, 1e3)}


def cases(exercise: str, seed: int = 0, size: str = "graded") -> dict[str, tuple]:
    """Named inputs of the forward pass for `exercise`, drawn from a seeded generator.

    size "graded": the cases of the exercise's declaration (what the notebooks and the
    grader check); "large": a batch of realistic size.
    """
    if size not in ("graded", "large"):
        raise ValueError(f"size must be 'graded' or 'large', got {size!r}")
    if exercise not in LAYER_EXERCISES | LOSS_EXERCISES:
        known = sorted(LAYER_EXERCISES | LOSS_EXERCISES)
        raise ValueError(f"exercise must be one of {known}, got {exercise!r}")
    if size == "large":
        # a stream of its own: inputs drawn from default_rng(seed) would repeat the checker's
        # dout and directions, and a relu mask taken on dout would then look right
        return _large(exercise, np.random.default_rng([seed, 2]))
    ex = EXERCISES[exercise]
    out = {}
    for case, inputs in ex.inputs(seed + 1000):
        if isinstance(ex.convention, Backward):
            out[case.name] = tuple(ex.convention._args(inputs))
        else:
            out[case.name] = (inputs["x"], inputs["y"])
    return out


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
