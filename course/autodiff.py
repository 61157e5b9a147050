"""A tiny eager automatic differentiation engine, after the DLVU lecture (part 4).

A computation graph has two kinds of nodes:

- a `TensorNode` holds a value (a float64 array), the gradient of the loss with
  respect to that value (filled in by backpropagation), and the `OpNode` that
  produced it (None for a leaf: an input or a parameter);
- an `OpNode` records one application of an `Op`: which op, its input tensor nodes,
  its constants, and the *context* in which the forward pass saved what the
  backward pass needs.

An op is a class with two static methods, as in the lecture and in MiniTorch:

- ``forward(context, *inputs, **constants)`` computes the output from the input
  values and may save values in the dict ``context``;
- ``backward(context, goutput)`` gets the gradient of the loss with respect to the
  output and returns the gradients with respect to the inputs: one array per
  tensor input, shaped like that input (keyword arguments are constants and get
  none).

``Op.apply(*nodes, **constants)`` runs the forward pass eagerly and records the
graph on the fly. ``loss.backward()`` then visits the tensor nodes in reverse
topological order; each op node passes gradients to its inputs, and where a tensor
feeds several ops (a fork) the gradients add up (multivariate chain rule).

This module has the engine and the ops of the loss (`Exp`, `Log`, `Sum`, `Scale`,
`Shift`, `Pick`). The ops you write in notebook 05 (Plus, Multiply, MatMul,
Sigmoid, RowSum, Expand) are not here; their forward passes are, as plain numpy
functions (`plus`, `multiply`, ...), for the gradient checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from course.gradcheck import GradReport, check_gradients
from course.layers import affine_forward, sigmoid_forward
from course.losses import softmax_loss_forward
from course.notwritten import culprit, not_written

__all__ = [
    "Exp",
    "Log",
    "Op",
    "OpNode",
    "Pick",
    "Scale",
    "Shift",
    "Sum",
    "TensorNode",
    "backward",
    "check_graph",
    "check_op",
    "draw_graph",
    "expand",
    "matmul",
    "multiply",
    "plus",
    "row_sum",
    "topological_order",
    "two_layer_net_reference",
    "zero_grad",
]


# --- the graph ------------------------------------------------------------------------


class TensorNode:
    """A value in the computation graph, its gradient, and the op node that made it.

    value: float64 array of any shape (a Python number becomes a 0-d array).
    grad: d loss / d value, shaped like value; zeros until backpropagation fills it.
    source: the `OpNode` that computed this value, or None for a leaf.
    """

    def __init__(self, value, *, name: str = "", source: OpNode | None = None):
        self.value = np.array(value, dtype=np.float64)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.source = source

    @property
    def shape(self) -> tuple:
        return self.value.shape

    def backward(self, goutput=None) -> None:
        """Backpropagate from this node: fill the .grad of every node it depends on."""
        backward(self, goutput)

    def __repr__(self):
        made_by = f", made by {self.source.op.__name__}" if self.source else ""
        label = f" {self.name!r}" if self.name else ""
        return f"<TensorNode{label} shape {self.shape}{made_by}>"


@dataclass
class OpNode:
    """One application of an op: op(*inputs, **constants) -> output, and its context."""

    op: type[Op]
    inputs: tuple
    constants: dict
    context: dict = field(default_factory=dict)


class Op:
    """An operation: subclasses define ``forward`` and ``backward`` as static methods."""

    @staticmethod
    def forward(context: dict, *inputs, **constants) -> np.ndarray:
        """Compute the output from the input values; save in `context` what backward needs."""
        raise NotImplementedError

    @staticmethod
    def backward(context: dict, goutput: np.ndarray):
        """Map d loss / d output to a tuple (d loss / d input for each tensor input)."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: TensorNode, **constants) -> TensorNode:
        """Run the forward pass now and record it in the graph; returns the output node."""
        for i, node in enumerate(inputs):
            if not isinstance(node, TensorNode):
                raise TypeError(
                    f"{cls.__name__}.apply takes TensorNodes, got {type(node).__name__} for "
                    f"input {i}: wrap arrays in TensorNode(...), pass constants by keyword"
                )
        opnode = OpNode(op=cls, inputs=inputs, constants=constants)
        value = cls.forward(opnode.context, *(node.value for node in inputs), **constants)
        return TensorNode(value, source=opnode)


def topological_order(root: TensorNode) -> list[TensorNode]:
    """Every tensor node `root` depends on (root included), each after all its inputs."""
    order, seen = [], set()
    # iterative depth-first search: deep graphs would hit Python's recursion limit
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node.source is not None:
            stack.extend((inp, False) for inp in reversed(node.source.inputs) if id(inp) not in seen)
    return order


def _as_gradients(op: type[Op], result, inputs: Sequence) -> tuple:
    """Normalize what op.backward returned to one gradient per input, or raise clearly."""
    grads = result if isinstance(result, (tuple, list)) else (result,)
    if len(grads) != len(inputs):
        raise ValueError(
            f"{op.__name__}.backward returned {len(grads)} gradient(s) but the op has "
            f"{len(inputs)} tensor input(s): return one gradient per input, in order"
        )
    return tuple(grads)


def backward(root: TensorNode, goutput=None) -> None:
    """Backpropagation from `root`: fill .grad of every tensor node that root depends on.

    goutput: d loss / d root, shaped like root.value; 1 by default (root is the loss,
    a single number). Leaves accumulate their gradient (call `zero_grad` between
    steps); the gradients of intermediate nodes are recomputed from zero.
    """
    if goutput is None:
        if root.value.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a single-number loss, got shape {root.shape}"
            )
        goutput = np.ones_like(root.value)
    goutput = np.asarray(goutput, dtype=np.float64)
    if goutput.shape != root.shape:
        raise ValueError(f"goutput has shape {goutput.shape}, expected {root.shape}")
    order = topological_order(root)
    for node in order:
        if node.source is not None:
            node.grad = np.zeros_like(node.value)
    root.grad += goutput
    # reverse topological order: every consumer of a node has passed its gradient back
    # before the node's own op node runs
    for node in reversed(order):
        opnode = node.source
        if opnode is None:
            continue
        try:
            result = opnode.op.backward(opnode.context, node.grad)
        except NotImplementedError as err:
            raise not_written(f"{opnode.op.__name__}.backward is not written yet: do its exercise first",
                              opnode.op.__name__) from err
        for inp, grad in zip(opnode.inputs, _as_gradients(opnode.op, result, opnode.inputs)):
            grad = np.asarray(grad, dtype=np.float64)
            if grad.shape != inp.shape:
                raise ValueError(
                    f"{opnode.op.__name__}.backward returned a gradient of shape {grad.shape} "
                    f"for an input of shape {inp.shape}: a gradient is shaped like its input"
                )
            inp.grad += grad  # a fork: the gradients of all paths add up


def zero_grad(nodes: Sequence[TensorNode]) -> None:
    """Reset the gradients of `nodes` (parameters) to zero before the next backward."""
    for node in nodes:
        node.grad = np.zeros_like(node.value)


# --- the ops of the loss ----------------------------------------------------------------


class Exp(Op):
    """Elementwise e^x, any shape. Saves the output: d e^x / dx = e^x."""

    @staticmethod
    def forward(context, x):
        out = np.exp(x)
        context["out"] = out
        return out

    @staticmethod
    def backward(context, goutput):
        return (goutput * context["out"],)


class Log(Op):
    """Elementwise natural log of x > 0, any shape. Saves x: d log x / dx = 1 / x."""

    @staticmethod
    def forward(context, x):
        context["x"] = x
        return np.log(x)

    @staticmethod
    def backward(context, goutput):
        return (goutput / context["x"],)


class Sum(Op):
    """The sum of all entries: x of any shape -> a single number (shape ())."""

    @staticmethod
    def forward(context, x):
        context["shape"] = x.shape
        return np.sum(x)

    @staticmethod
    def backward(context, goutput):
        # every entry moved the sum one for one
        return (np.full(context["shape"], goutput),)


class Scale(Op):
    """x * factor for a constant number factor (a keyword argument). x: any shape."""

    @staticmethod
    def forward(context, x, *, factor):
        context["factor"] = factor
        return x * factor

    @staticmethod
    def backward(context, goutput):
        return (goutput * context["factor"],)


class Shift(Op):
    """x + c for a constant array c that broadcasts to x's shape (a keyword argument)."""

    @staticmethod
    def forward(context, x, *, c):
        return x + c

    @staticmethod
    def backward(context, goutput):
        return (goutput,)


class Pick(Op):
    """One entry per row: x (N, C), constant labels y (N,) -> x[n, y[n]] (N,)."""

    @staticmethod
    def forward(context, x, *, y):
        rows = np.arange(x.shape[0])
        context["shape"], context["rows"], context["y"] = x.shape, rows, y
        return x[rows, y]

    @staticmethod
    def backward(context, goutput):
        # the entries that were not picked did not influence the output
        gx = np.zeros(context["shape"])
        gx[context["rows"], context["y"]] = goutput
        return (gx,)


# --- forward passes of the notebook's ops, as plain functions (for the checks) --------


def plus(a, b):
    """a + b for a, b of the same shape."""
    return a + b


def multiply(a, b):
    """Elementwise a * b for a, b of the same shape."""
    return a * b


def matmul(a, b):
    """Matrix product: a (N, D) @ b (D, M) -> (N, M)."""
    return a @ b


def row_sum(x):
    """Sum of each row: x (N, M) -> (N,)."""
    return x.sum(axis=1)


def expand(x, *, size):
    """Stack `size` copies of x: x (M,) -> (size, M)."""
    return np.repeat(x[None], size, axis=0)


def two_layer_net_reference(X, y, W1, b1, W2, b2, reg=0.0):
    """The loss of notebook 04's net from course's forward passes: a float.

    affine - sigmoid - affine - softmax cross-entropy, plus 0.5 * reg * (|W1|^2 + |W2|^2).
    X: (N, D), y: (N,) labels in [0, C), W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    """
    hidden, _ = sigmoid_forward(affine_forward(X, W1, b1)[0])
    scores, _ = affine_forward(hidden, W2, b2)
    loss, _ = softmax_loss_forward(scores, y)
    return loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))


# --- checks ----------------------------------------------------------------------------


def check_op(op: type[Op], reference: Callable, *inputs: np.ndarray, seed: int = 0,
             names: Sequence[str] | None = None, **constants) -> GradReport:
    """Check op.backward against finite differences of `reference`, a numpy forward.

    inputs: float64 arrays, the op's tensor inputs; constants: its keyword arguments.
    The upstream gradient is a seeded standard normal array g shaped like the output,
    and the numerical gradients are those of sum(reference(*inputs, **constants) * g):
    the op's own forward is never differentiated. Returns a `GradReport`.
    """
    if names is None:
        names = ["x"] if len(inputs) == 1 else [chr(ord("a") + i) for i in range(len(inputs))]
    context: dict = {}
    out = np.asarray(op.forward(context, *(x.copy() for x in inputs), **constants))
    expected = reference(*inputs, **constants)
    g = np.random.default_rng(seed).standard_normal(np.shape(expected))
    problems = []
    if out.shape != np.shape(expected) or not np.allclose(out, expected, rtol=1e-12, atol=0):
        problems.append(f"{op.__name__}.forward does not compute what it should: was it edited?")
    g_before = g.copy()
    try:
        result = op.backward(context, g)
    except NotImplementedError as err:
        raise not_written(f"{op.__name__}.backward is not written yet: do its exercise first", op.__name__) from err
    if not np.array_equal(g, g_before):
        problems.append("backward modified goutput: work on a copy")
    try:
        grads = _as_gradients(op, result, inputs)
    except ValueError as err:
        return GradReport(title=op.__name__, method="-", inputs=[], problems=[str(err)])

    def scalar(*xs):
        return float(np.sum(reference(*xs, **constants) * g))

    report = check_gradients(scalar, list(inputs), list(grads), names=names, method="full",
                             title=op.__name__)
    report.problems = problems + report.problems
    return report


def check_graph(build: Callable, reference: Callable, inputs: Sequence[np.ndarray],
                names: Sequence[str] | None = None, *, title: str = "graph",
                method: str = "auto", seed: int = 0) -> GradReport:
    """Check the engine's gradients of a whole graph against finite differences.

    build(*nodes) -> a single-number TensorNode, given one leaf TensorNode per input;
    reference(*arrays) -> float, the same function in plain numpy (never the graph).
    Returns a `GradReport` with one row per input.
    """
    names = list(names or [f"x{i}" for i in range(len(inputs))])
    if len(names) != len(inputs):
        raise ValueError(f"check_graph needs one name per input: got {len(inputs)} inputs and {len(names)} names")
    leaves = [TensorNode(x, name=n) for x, n in zip(inputs, names)]
    try:
        root = build(*leaves)
    except NotImplementedError as err:
        detail = f" ({err})" if str(err) else ""
        raise not_written(f"{title}: an op or module it uses is not written yet{detail}", culprit(err)) from err
    root.backward()
    return check_gradients(lambda *xs: float(reference(*xs)), list(inputs),
                           [leaf.grad for leaf in leaves], names=names, method=method,
                           seed=seed, title=title)


# --- pictures --------------------------------------------------------------------------


def _summary(value: np.ndarray) -> str:
    """A number for a single number; the shape, in brackets, for an array (never mistaken for a value)."""
    if value.size == 1:
        return f"{float(value.reshape(())):.3g}"
    return "[" + "\u00d7".join(map(str, value.shape)) + "]"


def draw_graph(root: TensorNode, ax=None):
    """Draw the graph of `root`: tensor nodes as circles, op nodes as boxes.

    Above each tensor node its value in green (the number, or the shape of an array in
    brackets, [4×3]), below it its gradient in red, as the lectures draw them. Name the
    leaves (TensorNode(W1, name="W1")) to see them labelled. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    order = topological_order(root)
    # column of a tensor node: twice its longest distance from a leaf, ops sit in between
    depth: dict[int, int] = {}
    for node in order:
        inputs = node.source.inputs if node.source else ()
        depth[id(node)] = 2 + max((depth[id(i)] for i in inputs), default=-2)
    columns: dict[int, list[TensorNode]] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    pos: dict[int, tuple[float, float]] = {}
    for d in sorted(columns):
        col = columns[d]
        if d > 0:
            # order a column by where its inputs are, so that few edges cross
            col.sort(key=lambda n: np.mean([pos[id(i)][1] for i in n.source.inputs]))
        for i, node in enumerate(col):
            pos[id(node)] = (float(d), i - (len(col) - 1) / 2)
    if ax is None:
        rows = max(len(c) for c in columns.values())
        _, ax = plt.subplots(figsize=(min(1.0 * (max(columns) + 2), 15), min(1.3 * rows + 0.8, 8)))
    arrow = {"arrowstyle": "->", "color": "0.55", "shrinkA": 0, "shrinkB": 0}
    for node in order:
        x, y = pos[id(node)]
        if node.source is not None:
            ox = x - 1  # the op node sits left of its output, at the same height
            for inp in node.source.inputs:
                ix, iy = pos[id(inp)]
                ax.annotate("", (ox - 0.3, y), (ix + 0.2, iy), arrowprops=arrow)
            ax.annotate("", (x - 0.2, y), (ox + 0.3, y), arrowprops=arrow)
            ax.text(ox, y, node.source.op.__name__, ha="center", va="center", fontsize=7,
                    bbox={"boxstyle": "square,pad=0.3", "fc": "#fff4d6", "ec": "0.4"})
        ax.add_patch(Circle((x, y), 0.2, fc="#dbe9ff", ec="0.4", zorder=3))
        ax.text(x, y, node.name[:6], ha="center", va="center", fontsize=7, zorder=4)
        ax.text(x, y + 0.26, _summary(node.value), ha="center", va="bottom",
                color="#1a7f37", fontsize=7)
        ax.text(x, y - 0.26, _summary(node.grad), ha="center", va="top",
                color="#cf222e", fontsize=7)
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
