"""Tests of notebook 05's reference ops and module, the loss built from them, and its bug bank."""

from __future__ import annotations

import inspect

import nbformat
import numpy as np
import pytest

import solutions.autodiff as ref
from autograder.paths import ASSIGNMENTS
from course.autodiff import (
    Exp,
    Op,
    Scale,
    Sum,
    TensorNode,
    check_graph,
    check_op,
    expand,
    matmul,
    multiply,
    plus,
    row_sum,
    two_layer_net_reference,
)
from course.layers import affine_forward, sigmoid
from course.losses import softmax_loss_forward
from solutions.autodiff import Expand, Linear, MatMul, Multiply, Plus
from solutions.bugs.autodiff import BUGS

NOTEBOOK = ASSIGNMENTS / "05_autodiff" / "autodiff.ipynb"


def _op_cases(exercise: str, seed: int) -> list[tuple]:
    """(reference forward, inputs, constants) for one op: N = 1, non-square and square shapes."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal
    if exercise in ("Plus", "Multiply"):
        fn = plus if exercise == "Plus" else multiply
        return [(fn, (normal(s), normal(s)), {}) for s in [(4, 5), (1, 3), (2, 3, 4), ()]]
    if exercise == "MatMul":
        return [(matmul, (normal((n, d)), normal((d, m))), {})
                for n, d, m in [(4, 3, 2), (1, 3, 5), (3, 3, 3), (4, 1, 2)]]
    if exercise == "Sigmoid":
        return [(sigmoid, (scale * normal(s),), {})
                for s, scale in [((4, 5), 1.0), ((1, 1), 1.0), ((2, 3, 4), 1.0), ((3, 4), 6.0)]]
    if exercise == "RowSum":
        return [(row_sum, (normal(s),), {}) for s in [(4, 5), (1, 4), (3, 1), (4, 4)]]
    if exercise == "Expand":
        return [(expand, (normal(m),), {"size": size}) for m, size in [(3, 4), (5, 1), (3, 3), (1, 7)]]
    raise ValueError(exercise)


def _linear_loss(linear_cls):
    """A non-linear loss on a Linear module, and the same in numpy from affine_forward."""

    def build(x, w, b):
        return Sum.apply(Exp.apply(Scale.apply(linear_cls(w, b)(x), factor=0.5)))

    def reference(x, w, b):
        return np.sum(np.exp(0.5 * affine_forward(x, w, b)[0]))

    return build, reference


def _exercise_ok(exercise: str, cls, seed: int = 0) -> bool:
    """Does `cls` pass the checks notebook 05 grades `exercise` with (any exception fails)?"""
    ops = {"Plus": Plus, "Multiply": Multiply, "MatMul": MatMul, "Expand": Expand, exercise: cls}
    try:
        if exercise == "Linear":
            build, reference = _linear_loss(cls)
            for n, d, m in [(4, 3, 2), (1, 3, 2), (3, 3, 3)]:
                rng = np.random.default_rng(seed + n)
                inputs = [rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)]
                if not check_graph(build, reference, inputs, ["x", "w", "b"]).ok:
                    return False
            return True
        for fn, inputs, constants in _op_cases(exercise, seed):
            if not check_op(cls, fn, *inputs, seed=seed, **constants).ok:
                return False
        if exercise in ("Plus", "Multiply"):
            a = np.random.default_rng(seed).standard_normal((3, 2))
            op = ops[exercise]
            factor = 2.0 if exercise == "Plus" else None
            fork = check_graph(
                lambda t: Sum.apply(op.apply(t, t)),
                lambda v: np.sum(factor * v if factor else v * v), [a])
            return fork.ok
        return True
    except Exception:  # a crash is a failed check, as in the notebook
        return False


OPS = ["Plus", "Multiply", "MatMul", "Sigmoid", "RowSum", "Expand"]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("exercise", OPS)
def test_reference_ops_match_finite_differences(exercise, seed):
    """Does every reference op's backward match finite differences of the library forward?"""
    for fn, inputs, constants in _op_cases(exercise, seed):
        check_op(getattr(ref, exercise), fn, *inputs, seed=seed, **constants).assert_ok()


def test_forks_add_up():
    """Do Plus(a, a) and Multiply(a, a) give 2 g and 2 a g, through the engine?"""
    a = TensorNode(np.array([[1.0, -2.0], [0.5, 3.0]]))
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    Plus.apply(a, a).backward(g)
    np.testing.assert_array_equal(a.grad, 2 * g)
    b = TensorNode(a.value)
    Multiply.apply(b, b).backward(g)
    np.testing.assert_allclose(b.grad, 2 * a.value * g, rtol=1e-15)


def test_plus_refuses_to_broadcast():
    """Does Plus raise on (N, M) + (M,) and say to Expand, instead of broadcasting silently?"""
    with pytest.raises(ValueError, match="Expand"):
        Plus.apply(TensorNode(np.ones((3, 2))), TensorNode(np.ones(2)))


@pytest.mark.parametrize(("n", "d", "m"), [(4, 3, 2), (1, 3, 2), (3, 3, 3), (2, 1, 5)])
def test_linear_matches_affine_forward(n, d, m):
    """Does Linear compute affine_forward, with every gradient shaped like its input and right?"""
    rng = np.random.default_rng(n * 100 + d * 10 + m)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    layer = Linear(w, b)
    out = layer(TensorNode(x))
    np.testing.assert_allclose(out.value, affine_forward(x, w, b)[0], rtol=1e-12)
    assert [p.shape for p in layer.parameters()] == [(d, m), (m,)]
    build, reference = _linear_loss(Linear)
    check_graph(build, reference, [x, w, b], ["x", "w", "b"]).assert_ok()


def test_linear_keeps_given_tensor_nodes():
    """Does Linear use the TensorNodes it is given, so that their .grad fills in?"""
    w, b = TensorNode(np.ones((2, 3))), TensorNode(np.zeros(3))
    layer = Linear(w, b)
    assert layer.w is w
    assert layer.b is b
    Sum.apply(layer(TensorNode(np.ones((4, 2))))).backward()
    np.testing.assert_array_equal(b.grad, [4.0, 4.0, 4.0])  # the bias was expanded to 4 rows


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_softmax_cross_entropy_is_the_course_loss(scale):
    """Does the graph's loss equal softmax_loss_forward, finite even for scores of 1e3?"""
    rng = np.random.default_rng(7)
    scores, y = scale * rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    node = TensorNode(scores)
    loss = ref.softmax_cross_entropy(node, y)
    assert float(loss.value) == pytest.approx(softmax_loss_forward(scores, y)[0], rel=1e-12)
    loss.backward()
    assert np.all(np.isfinite(node.grad))
    check_graph(lambda s: ref.softmax_cross_entropy(s, y),
                lambda s: softmax_loss_forward(s, y)[0], [scores], ["scores"]).assert_ok()


@pytest.mark.parametrize(("n", "reg", "seed"), [(1, 0.0, 0), (5, 0.1, 1), (3, 0.0, 2)])
def test_two_layer_net_gradients_match_finite_differences(n, reg, seed):
    """Do the engine's gradients of the whole net (X, W1, b1, W2, b2) match the course forwards?"""
    rng = np.random.default_rng(seed)
    d, h, c = 4, 5, 3
    y = rng.integers(0, c, size=n)
    inputs = [rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h),
              rng.standard_normal((h, c)), rng.standard_normal(c)]
    report = check_graph(
        lambda X, W1, b1, W2, b2: ref.two_layer_net(X, y, Linear(W1, b1), Linear(W2, b2), reg=reg),
        lambda X, W1, b1, W2, b2: two_layer_net_reference(X, y, W1, b1, W2, b2, reg=reg),
        inputs, ["X", "W1", "b1", "W2", "b2"], method="full")
    report.assert_ok()
    assert len(report.inputs) == 5


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"{b.exercise}:{b.name}")
def test_every_bug_fails_the_notebook_checks(bug):
    """Is every wrong answer in the bug bank caught by the checks that grade its exercise?"""
    scope = {"Op": Op, "TensorNode": TensorNode, "sigmoid": sigmoid,
             "Plus": Plus, "MatMul": MatMul, "Expand": Expand}
    cls = bug.load(scope)
    assert cls.__name__ == bug.exercise
    assert not _exercise_ok(bug.exercise, cls)


@pytest.mark.parametrize("exercise", [*OPS, "Linear"])
def test_reference_passes_the_notebook_checks(exercise):
    """Does each reference pass the same checks the bugs fail (so those checks are fair)?"""
    assert _exercise_ok(exercise, getattr(ref, exercise))


def test_bug_bank_covers_every_exercise():
    """Has every exercise of notebook 05 at least one bug?"""
    assert {b.exercise for b in BUGS} == {*OPS, "Linear"}


@pytest.mark.parametrize("grade_id", ["softmax_cross_entropy", "two_layer_net"])
def test_notebook_helper_cells_are_the_reference(grade_id):
    """Is the notebook's locked cell `grade_id` the source of solutions.autodiff's function?"""
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(NOTEBOOK, as_version=4).cells}
    assert cells[grade_id].source == inspect.getsource(getattr(ref, grade_id)).rstrip("\n")
