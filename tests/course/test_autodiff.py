"""Tests of the autodiff engine students get: graph, backward driver, given ops, checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course.autodiff import (
    Exp,
    Log,
    Op,
    Pick,
    Scale,
    Shift,
    Sum,
    TensorNode,
    backward,
    check_graph,
    check_op,
    draw_graph,
    expand,
    row_sum,
    topological_order,
    two_layer_net_reference,
    zero_grad,
)
from course.layers import affine_forward, sigmoid
from course.losses import softmax_loss_forward


class Add(Op):
    """A two-input op for the engine tests (the notebook's Plus is an exercise)."""

    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, goutput):
        return goutput, goutput


def _wrong_backward(result):
    """An op whose backward returns `result` whatever the upstream gradient."""

    class Wrong(Op):
        @staticmethod
        def forward(context, x):
            return x * 2.0

        @staticmethod
        def backward(context, goutput):
            return result

    return Wrong


def test_topological_order_puts_every_node_after_its_inputs():
    """Does every tensor node come after all its inputs, each node once, the root last?"""
    x = TensorNode(np.ones(3), name="x")
    e = Exp.apply(x)
    diamond = Add.apply(Log.apply(e), Scale.apply(e, factor=2.0))  # e feeds two ops
    root = Sum.apply(Add.apply(diamond, x))
    order = topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(order) == len(position) == 7
    assert order[-1] is root
    for node in order:
        for inp in node.source.inputs if node.source else ():
            assert position[id(inp)] < position[id(node)]


def test_topological_order_handles_deep_chains():
    """Does a chain of 5000 ops sort without hitting the recursion limit?"""
    node = TensorNode(np.array(0.5))
    for _ in range(5000):
        node = Scale.apply(node, factor=1.0)
    assert len(topological_order(node)) == 5001


def test_fork_gradients_add_up():
    """Does a tensor used by two ops get the sum of both gradients (d/dx of e^x + 3x)?"""
    x = TensorNode(np.array([0.0, 1.0, -2.0]))
    root = Sum.apply(Add.apply(Exp.apply(x), Scale.apply(x, factor=3.0)))
    root.backward()
    np.testing.assert_allclose(x.grad, np.exp(x.value) + 3.0, rtol=1e-12)


def test_same_node_twice_in_one_op_counts_twice():
    """Does Add(x, x) give x a gradient of 2, one from each input slot?"""
    x = TensorNode(np.array([1.0, 2.0]))
    Sum.apply(Add.apply(x, x)).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_leaves_accumulate_until_zero_grad_and_intermediates_do_not():
    """Do two backward calls double a leaf's gradient but not an intermediate's?"""
    x = TensorNode(np.array([1.0, 2.0]))
    e = Exp.apply(x)
    root = Sum.apply(e)
    root.backward()
    root.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.value), rtol=1e-12)
    np.testing.assert_array_equal(e.grad, [1.0, 1.0])
    zero_grad([x])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_backward_with_an_upstream_gradient():
    """Does backward(root, g) on a non-scalar root pass g through the graph?"""
    x = TensorNode(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = Scale.apply(x, factor=-2.0)
    g = np.array([[1.0, 0.0], [0.5, 2.0]])
    backward(y, g)
    np.testing.assert_array_equal(x.grad, -2.0 * g)


def test_backward_of_a_non_scalar_root_needs_a_gradient():
    """Is calling backward() on a vector without a gradient a clear error?"""
    with pytest.raises(ValueError, match="single-number loss"):
        Exp.apply(TensorNode(np.ones(3))).backward()
    with pytest.raises(ValueError, match="expected"):
        Exp.apply(TensorNode(np.ones(3))).backward(np.ones(2))


def test_apply_rejects_plain_arrays():
    """Does Op.apply refuse an ndarray input and say to wrap it or pass it by keyword?"""
    with pytest.raises(TypeError, match="wrap arrays in TensorNode"):
        Add.apply(TensorNode(np.ones(2)), np.ones(2))


@pytest.mark.parametrize(
    ("result", "message"),
    [((np.ones(3), np.ones(3)), "returned 2 gradient"), (np.ones(2), "shape \\(2,\\)")],
)
def test_wrong_backward_results_raise_naming_the_op(result, message):
    """Do a wrong count or shape of gradients raise an error that names the op?"""
    op = _wrong_backward(result)
    root = Sum.apply(op.apply(TensorNode(np.ones(3))))
    with pytest.raises(ValueError, match=message) as info:
        root.backward()
    assert "Wrong.backward" in str(info.value)


def test_unwritten_backward_says_which_exercise():
    """Does a stub backward raise NotImplementedError naming the op, through the engine and check_op?"""

    class Stub(Op):
        @staticmethod
        def forward(context, x):
            return x

        @staticmethod
        def backward(context, goutput):
            raise NotImplementedError()

    with pytest.raises(NotImplementedError, match="Stub.backward is not written yet"):
        Sum.apply(Stub.apply(TensorNode(np.ones(2)))).backward()
    with pytest.raises(NotImplementedError, match="Stub.backward is not written yet"):
        check_op(Stub, lambda x: x, np.ones(2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_given_ops_match_finite_differences(seed):
    """Do Exp, Log, Sum, Scale, Shift and Pick match finite differences of numpy forwards?"""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    positive = rng.uniform(0.5, 2.0, size=(2, 3))
    y = rng.integers(0, 4, size=3)
    c = rng.standard_normal((3, 1))
    checks = [
        check_op(Exp, np.exp, x, seed=seed),
        check_op(Log, np.log, positive, seed=seed),
        check_op(Sum, np.sum, x, seed=seed),
        check_op(Scale, lambda v, factor: v * factor, x, factor=-0.7, seed=seed),
        check_op(Shift, lambda v, c: v + c, x, c=c, seed=seed),
        check_op(Pick, lambda v, y: v[np.arange(v.shape[0]), y], x, y=y, seed=seed),
        check_op(Pick, lambda v, y: v[np.arange(v.shape[0]), y], x[:1], y=y[:1], seed=seed),
    ]
    for report in checks:
        report.assert_ok()


def test_check_op_catches_a_wrong_backward():
    """Does check_op fail an op whose backward is off by a factor of 2?"""

    class HalfExp(Op):
        @staticmethod
        def forward(context, x):
            context["out"] = np.exp(x)
            return context["out"]

        @staticmethod
        def backward(context, goutput):
            return goutput * context["out"] / 2

    report = check_op(HalfExp, np.exp, np.random.default_rng(0).standard_normal(4))
    assert not report.ok
    assert "too small" in report.summary()


def test_check_op_reports_a_missing_gradient():
    """Does check_op report a backward that returns one gradient for two inputs?"""

    class OneGradient(Op):
        @staticmethod
        def forward(context, a, b):
            return a + b

        @staticmethod
        def backward(context, goutput):
            return goutput

    report = check_op(OneGradient, np.add, np.ones(2), np.ones(2))
    assert not report.ok
    assert "returned 1 gradient" in report.summary()


def test_check_graph_catches_a_graph_that_differs_from_the_reference():
    """Does check_graph fail when the graph computes a different function than the reference?"""
    x = np.random.default_rng(0).standard_normal(5)
    good = check_graph(lambda t: Sum.apply(Exp.apply(t)), lambda v: np.sum(np.exp(v)), [x])
    bad = check_graph(lambda t: Sum.apply(Exp.apply(t)), lambda v: np.sum(np.exp(1.1 * v)), [x])
    assert good.ok
    assert not bad.ok


def test_forward_helpers_have_the_documented_shapes():
    """Do row_sum (N, M) -> (N,) and expand (M,) -> (size, M) give the documented shapes?"""
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(row_sum(x), [3.0, 12.0])
    np.testing.assert_array_equal(expand(np.array([1.0, 2.0]), size=3), [[1.0, 2.0]] * 3)


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_two_layer_net_reference_is_notebook_04s_loss(reg):
    """Does the reference equal softmax(affine(sigmoid(affine))) plus 0.5 reg |W|^2, by hand?"""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    W1, b1 = rng.standard_normal((3, 5)), rng.standard_normal(5)
    W2, b2 = rng.standard_normal((5, 3)), rng.standard_normal(3)
    scores = sigmoid(X @ W1 + b1) @ W2 + b2
    expected = softmax_loss_forward(scores, y)[0] + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2))
    assert two_layer_net_reference(X, y, W1, b1, W2, b2, reg=reg) == pytest.approx(expected, rel=1e-12)
    assert affine_forward(X, W1, b1)[0].shape == (4, 5)


def test_draw_graph_draws_one_circle_per_tensor_node():
    """Does the picture have a circle per tensor node and a box label per op node?"""
    x = TensorNode(np.array([0.0, 1.0]), name="x")
    root = Sum.apply(Log.apply(Exp.apply(x)))
    root.backward()
    fig, ax = plt.subplots()
    try:
        draw_graph(root, ax=ax)
        assert len(ax.patches) == 4
        texts = {t.get_text() for t in ax.texts}
        assert {"Exp", "Log", "Sum", "x"} <= texts
    finally:
        plt.close(fig)
