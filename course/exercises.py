"""Every graded exercise of the course, declared once, and the check a notebook runs on it.

A declaration (`Exercise`) says what a student writes (its name, and how it is called:
its *convention*), what it is checked against (a forward pass of this package), on which
inputs (`Case`s: a batch of one, inputs with three dimensions, a square weight matrix,
scores of size 1000, ties and kinks...), how its points split into parts, and what must be
right first. Everything that checks an exercise comes from it:

- the notebook's visible check, ``check("affine_backward", affine_backward)``: every case,
  against finite differences of the forward pass, with a one-line verdict;
- its hidden tests: the same check on other seeds (the same kinds of cases, so honest code
  the visible check calls right earns the points; hidden tests only stop hard-coding);
- the grader's sealed check: the same cases drawn per student, the student's function run
  by the same `Convention.run` in the kernel as the reference answer in the grader;
- the tests of the bug bank, the demo's buggy students and the benchmarks.

The reference answers are not here: the answer key (``solutions``), which students never
receive, holds one under each exercise's name. An instructor who adds an exercise writes
its forward pass (if new), its declaration below, its reference in ``solutions``, and its
cells in the notebook.

Shapes: N (batch), D (features), M (outputs), C (classes), H (hidden units).
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from course import autodiff, circuits, gradcheck, layers, losses, training
from course.gradcheck import GradReport
from course.misconceptions import CATALOG

__all__ = ["EXERCISES", "Case", "CheckFailed", "Exercise", "NotWrittenYet", "check", "exercise"]


# --- inputs: what a case is made of -----------------------------------------------------


@dataclass(frozen=True)
class Normal:
    """An array of standard normal draws times `scale`, plus `offset`.

    gap: every entry at least this far from 0 (keeps a relu's input off its kink).
    """

    shape: tuple
    scale: float = 1.0
    offset: float = 0.0
    gap: float = 0.0

    def draw(self, rng: np.random.Generator, drawn: dict):
        z = rng.standard_normal(self.shape)
        if self.gap:
            z = np.where(z >= 0, 1.0, -1.0) * (self.gap + np.abs(z))
        return self.offset + self.scale * z


@dataclass(frozen=True)
class Labels:
    """n integer class labels in [0, classes)."""

    n: int
    classes: int

    def draw(self, rng: np.random.Generator, drawn: dict):
        return rng.integers(0, self.classes, size=self.n)


@dataclass(frozen=True)
class Number:
    """One number: `value` if given (a lecture's example), else a normal draw times `scale`."""

    value: float | None = None
    scale: float = 3.0

    def draw(self, rng: np.random.Generator, drawn: dict):
        return np.float64(self.value if self.value is not None else self.scale * rng.standard_normal())


@dataclass(frozen=True)
class Seed:
    """A random seed for a run the case makes (a training run): a non-negative integer."""

    def draw(self, rng: np.random.Generator, drawn: dict):
        return np.int64(rng.integers(0, 2**31))


@dataclass(frozen=True)
class Numbers:
    """A short list of numbers (a neuron's weights): given `values`, or normal draws."""

    n: int
    values: tuple | None = None
    scale: float = 3.0

    def draw(self, rng: np.random.Generator, drawn: dict):
        return np.array(self.values, dtype=np.float64) if self.values else self.scale * rng.standard_normal(self.n)


@dataclass(frozen=True)
class Same:
    """The same value as another input of the case (a tie in a max)."""

    name: str

    def draw(self, rng: np.random.Generator, drawn: dict):
        return np.array(drawn[self.name], copy=True)


@dataclass(frozen=True)
class Fixed:
    """A constant (a leaky relu's alpha, a regularization strength)."""

    value: float

    def draw(self, rng: np.random.Generator, drawn: dict):
        return np.float64(self.value)


@dataclass(frozen=True)
class Case:
    """One kind of input an exercise is checked on: a name students read, and how to draw it.

    beside: for a point where the function has no derivative (a tie in a max), the rule
    for the answer there: the gradient just beside it, with these inputs moved by these
    amounts ({"z": 1e-3}: as if z were the larger). Finite differences are taken there.
    """

    name: str
    inputs: dict  # input name -> Normal, Labels, Number, Numbers, Same or Fixed
    beside: dict = field(default_factory=dict)

    def draw(self, rng: np.random.Generator) -> dict:
        drawn = {}
        for name, template in self.inputs.items():
            drawn[name] = template.draw(rng, drawn)
        return drawn


# --- conventions: how an exercise is called, and checked in a notebook ------------------


def _float_arrays(value) -> dict:
    """Plain float64 arrays of a nested result: tuples and dicts become dotted keys."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (tuple, list)) and not _is_numbers(value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {"": np.asarray(value, dtype=np.float64)}
    out = {}
    for k, v in items:
        for sub, arr in _float_arrays(v).items():
            out[f"{k}.{sub}" if sub else str(k)] = arr
    return out


def _is_numbers(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, (int, float, np.floating, np.integer)) for v in value)


def _copies(value):
    """A deep enough copy of a cache (arrays, numbers, tuples of them) to tell if it changed."""
    if isinstance(value, (tuple, list)):
        return type(value)(_copies(v) for v in value)
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _same(value, before) -> bool:
    if isinstance(value, (tuple, list)):
        return len(value) == len(before) and all(_same(v, b) for v, b in zip(value, before))
    if isinstance(value, np.ndarray):
        return np.array_equal(value, before, equal_nan=True)
    return value == before


class ModifiedInput(ValueError):
    """An answer changed its inputs (its cache) in place."""


def _named(names: list[str], grads, what: str) -> dict:
    """{name: array} of a function's gradients, in order; a clear error for the wrong count."""
    if len(names) == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(names):
        got = len(grads) if isinstance(grads, (tuple, list)) else 1
        raise ValueError(f"{what} returned {got} value(s), expected {len(names)}: ({', '.join(names)})")
    return {n: np.asarray(g, dtype=np.float64) for n, g in zip(names, grads)}


class Convention:
    """How an exercise is called: the same `run` computes a student's answer and the reference's.

    run(fn, inputs, namespace, counted) -> {part: float64 array}. namespace: where other
    names the exercise uses are found (a student's notebook, or the answer key);
    counted: a context manager around the exercise's own call only (the grader counts
    forward passes made there).
    """

    def parts(self) -> list[str]:
        raise NotImplementedError

    def complete(self, inputs: dict, rng: np.random.Generator) -> dict:
        """Inputs that depend on others (an upstream gradient shaped like the output)."""
        return inputs

    def run(self, fn, inputs: dict, namespace=None, counted=contextlib.nullcontext) -> dict:
        raise NotImplementedError

    def forward_once(self, inputs: dict) -> None:
        """One forward pass on inputs: what an analytic backward pass costs about as much as
        (the cost check of `Exercise.cost` compares with it)."""
        raise NotImplementedError

    def check(self, fn, inputs: dict, namespace: dict, seed: int, title: str, case: Case) -> GradReport:
        raise NotImplementedError


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


@dataclass(frozen=True)
class Backward(Convention):
    """``fn(dout, cache)`` for ``out, cache = forward(*inputs)``: one gradient per array input."""

    forward: Callable
    constants: tuple = ()  # inputs that are numbers, not arrays (get no gradient)

    def arrays(self) -> list[str]:
        return [p for p in _params(self.forward) if p not in self.constants]

    def parts(self) -> list[str]:
        return [f"d{p}" for p in self.arrays()]

    def _args(self, inputs):
        return [float(inputs[p]) if p in self.constants else inputs[p]
                for p in _params(self.forward) if p in inputs]

    def complete(self, inputs, rng):
        out, _ = self.forward(*self._args(inputs))
        return inputs | {"dout": rng.standard_normal(np.shape(out))}

    def forward_once(self, inputs):
        self.forward(*self._args(inputs))

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        _, cache = self.forward(*self._args(inputs))
        before = _copies(cache)
        with counted():
            grads = fn(inputs["dout"], cache)
        if not _same(cache, before):
            raise ModifiedInput(f"{getattr(fn, '__name__', 'backward')} modified its cache in place: work on a copy")
        return _named(self.parts(), grads, getattr(fn, "__name__", "backward"))

    def check(self, fn, inputs, namespace, seed, title, case):
        return gradcheck.check_backward(self.forward, fn, *self._args(inputs), dout=inputs["dout"],
                                        method="full", seed=seed, title=title)


@dataclass(frozen=True)
class Loss(Convention):
    """``fn(x, y) -> (loss, dx)`` for scores x (N, C) and labels y (N,)."""

    forward: Callable

    def parts(self):
        return ["loss", "dx"]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        with counted():
            result = fn(inputs["x"], inputs["y"])
        if not isinstance(result, tuple) or len(result) != 2:
            raise ValueError(f"{getattr(fn, '__name__', 'the loss')} must return (loss, dx)")
        return {"loss": np.asarray(result[0], dtype=np.float64), "dx": np.asarray(result[1], dtype=np.float64)}

    def check(self, fn, inputs, namespace, seed, title, case):
        return gradcheck.check_loss(fn, inputs["x"], inputs["y"], reference=self.forward, method="full",
                                    seed=seed, title=title)

    def forward_once(self, inputs):
        self.forward(inputs["x"], inputs["y"])


def _plain(v):
    """What a circuit exercise receives: a float, or a list of floats."""
    v = np.asarray(v, dtype=np.float64)
    return float(v) if v.ndim == 0 else [float(t) for t in v]


@dataclass(frozen=True)
class Circuit(Convention):
    """``fn(*numbers) -> (dx, dy, ...)``: one gradient per input of a circuit of numbers."""

    forward: Callable

    def parts(self):
        return [f"d{p}" for p in _params(self.forward)]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        with counted():
            grads = fn(*(_plain(inputs[p]) for p in _params(self.forward)))
        return _named(self.parts(), tuple(grads) if isinstance(grads, list) and len(self.parts()) > 1 else grads,
                      getattr(fn, "__name__", "backward"))

    def check(self, fn, inputs, namespace, seed, title, case):
        args = [_plain(inputs[p]) for p in _params(self.forward)]
        if not case.beside:
            return circuits.check_circuit(fn, self.forward, *args, title=title)
        # at a kink: the answer at the point, finite differences just beside it
        beside = [_plain(inputs[p] + case.beside.get(p, 0.0)) for p in _params(self.forward)]
        answer = fn(*args)
        return circuits.check_circuit(lambda *_: answer, self.forward, *beside, title=title)


@dataclass(frozen=True)
class NetLoss(Convention):
    """``fn(params, X, y, reg) -> (loss, grads)``, params and grads dicts W1, b1, W2, b2."""

    forward: Callable = training.two_layer_net_forward_loss

    def parts(self):
        return ["loss", *training.PARAM_NAMES]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        params = {k: inputs[k] for k in training.PARAM_NAMES}
        with counted():
            loss, grads = fn(params, inputs["X"], inputs["y"], float(inputs["reg"]))
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict with keys {list(training.PARAM_NAMES)}, got {type(grads).__name__}")
        missing = [k for k in training.PARAM_NAMES if k not in grads]
        if missing:
            raise KeyError(f"grads has no {', '.join(missing)}")
        return {"loss": np.asarray(loss, dtype=np.float64)} | {
            k: np.asarray(grads[k], dtype=np.float64) for k in training.PARAM_NAMES}

    def forward_once(self, inputs):
        self.forward({k: inputs[k] for k in training.PARAM_NAMES}, inputs["X"], inputs["y"], float(inputs["reg"]))

    def check(self, fn, inputs, namespace, seed, title, case):
        params = {k: inputs[k] for k in training.PARAM_NAMES}
        X, y, reg = inputs["X"], inputs["y"], float(inputs["reg"])
        report = GradReport(title=title, method="full", inputs=[])
        loss, grads = gradcheck._call_quietly(report, title, fn, params, X, y, reg)
        expected = self.forward(params, X, y, reg)
        if not np.isfinite(float(loss)) or gradcheck.rel_error(float(loss), expected) > gradcheck.RTOL_OK:
            report.problems.append(f"the loss is {float(loss):.6g}, expected {expected:.6g}: the mean softmax "
                                   "loss plus 0.5 * reg * (sum(W1**2) + sum(W2**2))?")
        if not isinstance(grads, dict):
            report.problems.append(f"grads must be a dict, got {type(grads).__name__}")
            return report

        def loss_of(W1, b1, W2, b2):
            return self.forward({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, X, y, reg)

        sub = gradcheck.check_gradients(loss_of, [params[k] for k in training.PARAM_NAMES],
                                        [grads.get(k) for k in training.PARAM_NAMES],
                                        names=list(training.PARAM_NAMES), method="full", seed=seed, title=title)
        sub.problems = report.problems + sub.problems
        sub.warnings = report.warnings + sub.warnings
        return sub


@dataclass(frozen=True)
class Training(Convention):
    """A training run with ``fn`` as the loss (notebook 04's settings): judged by accuracy."""

    settings: training.Settings = training.DIGITS

    def parts(self):
        return ["accuracy"]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        history = training.train_on_digits(fn, int(inputs["seed"]), self.settings)
        return {k: np.asarray(v, dtype=np.float64) for k, v in history.params.items()}

    def accuracy(self, params: dict) -> float:
        data = training.digits_split()
        return training.accuracy(params, data.X_val, data.y_val)

    def check(self, fn, inputs, namespace, seed, title, case):
        report = GradReport(title=title, method="training", inputs=[])
        params = self.run(fn, inputs)
        acc = self.accuracy(params)
        report.inputs.append(gradcheck.InputCheck(name="validation accuracy", shape=(), checked=1,
                                                  max_error=0.0 if acc >= self.settings.accuracy_needed else 1.0))
        if acc < self.settings.accuracy_needed:
            report.problems.append(f"validation accuracy {acc:.3f} is below {self.settings.accuracy_needed}: "
                                   "does the gradient check of two_layer_net_loss pass?")
        report.title = f"{title}: validation accuracy {acc:.3f} (needs {self.settings.accuracy_needed})"
        return report


@dataclass(frozen=True)
class Op(Convention):
    """An autodiff op class: ``forward(context, *arrays, **constants)``, ``backward(context, g)``."""

    forward: Callable  # the op's forward as a plain numpy function (course.autodiff.plus, ...)
    constants: tuple = ()

    def arrays(self):
        return [p for p in _params(self.forward) if p not in self.constants]

    def parts(self):
        return ["out", *(f"d{p}" for p in self.arrays())]

    def complete(self, inputs, rng):
        out = self.forward(*(inputs[p] for p in self.arrays()), **self._constants(inputs))
        return inputs | {"goutput": rng.standard_normal(np.shape(out))}

    def _constants(self, inputs):
        return {c: int(inputs[c]) for c in self.constants}

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        context = {}
        out = fn.forward(context, *(inputs[p] for p in self.arrays()), **self._constants(inputs))
        with counted():
            grads = fn.backward(context, inputs["goutput"])
        return {"out": np.asarray(out, dtype=np.float64)} | _named(
            self.parts()[1:], tuple(grads) if isinstance(grads, list) else grads, f"{fn.__name__}.backward")

    def check(self, fn, inputs, namespace, seed, title, case):
        arrays = [inputs[p] for p in self.arrays()]
        return autodiff.check_op(fn, self.forward, *arrays, seed=seed, names=self.arrays(),
                                 **self._constants(inputs))


@dataclass(frozen=True)
class Module(Convention):
    """A module class built from (w, b) and called on a TensorNode x: notebook 05's Linear."""

    def parts(self):
        return ["out", "dx", "dw", "db"]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        x = autodiff.TensorNode(inputs["x"])
        layer = fn(inputs["w"], inputs["b"])
        out = layer(x)
        with counted():
            out.backward(inputs["goutput"])
        return {"out": out.value, "dx": x.grad, "dw": layer.w.grad, "db": layer.b.grad}

    def complete(self, inputs, rng):
        n, m = inputs["x"].shape[0], inputs["w"].shape[1]
        return inputs | {"goutput": rng.standard_normal((n, m))}

    def check(self, fn, inputs, namespace, seed, title, case):
        def build(x, w, b):
            return autodiff.Sum.apply(autodiff.Exp.apply(autodiff.Scale.apply(fn(w, b)(x), factor=0.5)))

        def reference(x, w, b):
            return np.sum(np.exp(0.5 * layers.affine_forward(x, w, b)[0]))

        return autodiff.check_graph(build, reference, [inputs["x"], inputs["w"], inputs["b"]],
                                    ["x", "w", "b"], title=title, seed=seed)


@dataclass(frozen=True)
class GraphLoss(Convention):
    """``fn(X, y, layer1, layer2, reg)`` -> the loss as a TensorNode, layers built with ``Linear``."""

    def parts(self):
        return ["loss", "dX", "dW1", "db1", "dW2", "db2"]

    def run(self, fn, inputs, namespace=None, counted=contextlib.nullcontext):
        linear = (namespace or {})["Linear"]
        X = autodiff.TensorNode(inputs["X"])
        l1, l2 = linear(inputs["W1"], inputs["b1"]), linear(inputs["W2"], inputs["b2"])
        loss = fn(X, inputs["y"], l1, l2, reg=float(inputs["reg"]))
        with counted():
            loss.backward()
        return {"loss": np.asarray(loss.value, dtype=np.float64), "dX": X.grad, "dW1": l1.w.grad,
                "db1": l1.b.grad, "dW2": l2.w.grad, "db2": l2.b.grad}

    def check(self, fn, inputs, namespace, seed, title, case):
        linear, y, reg = namespace["Linear"], inputs["y"], float(inputs["reg"])
        names = ["X", "W1", "b1", "W2", "b2"]

        def build(X, W1, b1, W2, b2):
            return fn(X, y, linear(W1, b1), linear(W2, b2), reg=reg)

        def reference(X, W1, b1, W2, b2):
            return autodiff.two_layer_net_reference(X, y, W1, b1, W2, b2, reg=reg)

        return autodiff.check_graph(build, reference, [inputs[n] for n in names], names, title=title, seed=seed)


# --- the declarations ------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """Everything the course knows about one exercise; see the module docstring.

    points: the question's points, a number, or {part: points} to split them across the
    convention's parts (one wrong part then costs only its share).
    """

    name: str  # the exercise's key; its graded cell is "test_<name>"
    notebook: str  # "<assignment>/<notebook>", without .ipynb
    convention: Convention
    cases: tuple
    points: float | dict
    function: str = ""  # what the student writes, when not `name` (the accuracy question)
    requires: tuple = ()  # exercises whose answers this one uses (checked first)
    needs: tuple = ()  # other names the exercise calls, from the notebook (autodiff's Linear)
    count_forward: bool = True  # count forward-pass calls (a finite-difference loop makes many)
    #: a large input on which any per-entry numerical method (finite differences, complex
    #: steps, extrapolation) costs far more than the analytic backward pass (the grader times it)
    cost: Case | None = None
    #: the known mistakes on it, each with a code and a sentence (`course.diagnosis`); the
    #: answer key holds an implementation of each (solutions/bugs)
    misconceptions: tuple = ()

    def __post_init__(self):
        if not self.function:
            object.__setattr__(self, "function", self.name)
        if isinstance(self.points, dict) and set(self.points) - set(self.convention.parts()):
            raise ValueError(f"{self.name}: points for unknown parts {set(self.points) - set(self.convention.parts())}")

    @property
    def question(self) -> str:
        """The grade_id of its graded cell."""
        return f"test_{self.name}"

    @property
    def total(self) -> float:
        return float(sum(self.points.values())) if isinstance(self.points, dict) else float(self.points)

    def part_points(self) -> dict:
        """{part: points}; a single number covers every part at once ("all")."""
        return dict(self.points) if isinstance(self.points, dict) else {"all": float(self.points)}

    def draw(self, case: Case, rng: np.random.Generator) -> dict:
        """The inputs of one case, drawn from rng (and completed: dout, goutput)."""
        return self.convention.complete(case.draw(rng), rng)

    def inputs(self, seed: int) -> list[tuple[Case, dict]]:
        """Every case with its inputs for one seed (each case a stream of its own)."""
        return [(case, self.draw(case, np.random.default_rng([seed, i]))) for i, case in enumerate(self.cases)]


def _affine(name, xshape, m):
    d = int(np.prod(xshape[1:]))
    return Case(name, {"x": Normal(xshape), "w": Normal((d, m)), "b": Normal((m,))})


#: The large inputs of the cost checks: 262,144 entries each, so a per-entry method needs
#: that many forward passes (minutes) where the analytic backward pass costs one or two.
def _elementwise_cost(gap=0.0, **constants):
    return Case("large: x (512, 512)", {"x": Normal((512, 512), gap=gap)} | {k: Fixed(v) for k, v in constants.items()})


def _elementwise(scale=1.0, gap=0.0, **constants):
    def inputs(shape, s=scale):
        return {"x": Normal(shape, scale=s, gap=gap)} | {k: Fixed(v) for k, v in constants.items()}

    cases = [Case("x (2, 3, 4)", inputs((2, 3, 4))), Case("N=1: x (1, 5)", inputs((1, 5))),
             Case("x (4, 5)", inputs((4, 5)))]
    if gap == 0.0:  # a smooth function: large inputs too, where it saturates
        cases.append(Case("large inputs: x (3, 4) of size 20", inputs((3, 4), 20.0 * scale)))
    return tuple(cases)


#: Scores near 1000: exp() overflows unless each row is shifted by its max first (the
#: lecture's stability advice); their spread (30) keeps every probability far from 0, so the
#: log of the probabilities, computed as the lecture does, stays finite.
_LARGE_SCORES = {"scale": 30.0, "offset": 1000.0}


def _scores(name, n, c, scale=2.0, offset=0.0):
    return Case(name, {"x": Normal((n, c), scale=scale, offset=offset), "y": Labels(n, c)})


_LOSS_CASES = (
    _scores("scores (5, 4)", 5, 4), _scores("two classes: scores (6, 2)", 6, 2),
    _scores("N=1: scores (1, 3)", 1, 3), _scores("scores near 1000: (6, 5)", 6, 5, **_LARGE_SCORES),
)
#: Tiny scores first: a sanity check of the loss before any gradient (about log C for the
#: softmax, C - 1 for the SVM: what a fresh classifier starts from).
_TINY_SCORES = _scores("tiny scores (50, 10)", 50, 10, scale=0.001)
_LARGE_BATCH = _scores("large: scores (2048, 128)", 2048, 128)


def _net(n, d, h, c, reg, scale=1.0):
    return Case(f"N={n}, D={d}, H={h}, C={c}, reg={reg}",
                {"X": Normal((n, d)), "y": Labels(n, c), "W1": Normal((d, h), scale=scale),
                 "b1": Normal((h,)), "W2": Normal((h, c), scale=scale), "b2": Normal((c,)), "reg": Fixed(reg)})


def _op(forward, name, *shapes, **constants):
    names = [p for p in _params(forward) if p not in constants]
    assert len(names) == len(shapes), (name, names, shapes)
    return Case(name, {n: Normal(s) for n, s in zip(names, shapes)}
                | {k: Fixed(v) for k, v in constants.items()})


def _ops():
    two = [("a, b (2, 3)", (2, 3), (2, 3)), ("N=1: a, b (1, 4)", (1, 4), (1, 4)),
           ("a, b (2, 3, 4)", (2, 3, 4), (2, 3, 4))]
    one = [("x (2, 3)", (2, 3)), ("N=1: x (1, 4)", (1, 4)), ("x (2, 3, 4)", (2, 3, 4))]
    yield "Plus", Op(autodiff.plus), 1, [_op(autodiff.plus, *c) for c in two]
    yield "Multiply", Op(autodiff.multiply), 1, [_op(autodiff.multiply, *c) for c in two]
    yield "MatMul", Op(autodiff.matmul), 2, [
        _op(autodiff.matmul, "a (4, 3), b (3, 2)", (4, 3), (3, 2)),
        _op(autodiff.matmul, "N=1: a (1, 3), b (3, 5)", (1, 3), (3, 5)),
        _op(autodiff.matmul, "square: a (3, 3), b (3, 3)", (3, 3), (3, 3))]
    yield "Sigmoid", Op(layers.sigmoid), 1, [_op(layers.sigmoid, *c) for c in one]
    yield "RowSum", Op(autodiff.row_sum), 1, [
        _op(autodiff.row_sum, "x (4, 5)", (4, 5)), _op(autodiff.row_sum, "N=1: x (1, 4)", (1, 4)),
        _op(autodiff.row_sum, "square: x (4, 4)", (4, 4))]
    yield "Expand", Op(autodiff.expand, constants=("size",)), 1, [
        _op(autodiff.expand, "x (3,), 4 copies", (3,), size=4),
        _op(autodiff.expand, "x (5,), 1 copy", (5,), size=1),
        _op(autodiff.expand, "x (3,), 3 copies", (3,), size=3)]


_CIRCUITS = "01_circuits/circuits"
_LAYERS = "02_layers/layers"
_LOSSES = "03_losses/losses"
_NET = "04_two_layer_net/two_layer_net"
_AUTODIFF = "05_autodiff/autodiff"

#: Every exercise of the course, by name. Each notebook grades them in this order.
EXERCISES: dict[str, Exercise] = {e.name: e for e in [
    # notebook 01: circuits of numbers, the lecture's own numbers first
    Exercise("max_gradient", _CIRCUITS, Circuit(circuits.maximum), points=1, count_forward=False, cases=(
        Case("the lecture's x = 4, y = 2", {"x": Number(4.0), "y": Number(2.0)}),
        Case("a random point", {"x": Number(), "y": Number()}),
        Case("y larger than x", {"x": Number(-1.0), "y": Number(3.0)}),
        Case("a tie: x = y (the gradient goes to x)", {"x": Number(), "y": Same("x")}, beside={"x": 1e-3}),
    ), misconceptions=CATALOG['max_gradient']),
    Exercise("compound_backward", _CIRCUITS, Circuit(circuits.compound), points=2, count_forward=False, cases=(
        Case("the lecture's x = -2, y = 5, z = -4", {"x": Number(-2.0), "y": Number(5.0), "z": Number(-4.0)}),
        Case("a random point", {"x": Number(), "y": Number(), "z": Number()}),
        Case("another random point", {"x": Number(), "y": Number(), "z": Number()}),
    ), misconceptions=CATALOG['compound_backward']),
    Exercise("neuron_backward", _CIRCUITS, Circuit(circuits.neuron), points=2, count_forward=False, cases=(
        Case("the lecture's w = [2, -3, -3], x = [-1, -2]",
             {"w": Numbers(3, (2.0, -3.0, -3.0)), "x": Numbers(2, (-1.0, -2.0))}),
        Case("random weights and inputs", {"w": Numbers(3, scale=1.0), "x": Numbers(2, scale=2.0)}),
        Case("other random weights and inputs", {"w": Numbers(3, scale=1.0), "x": Numbers(2, scale=2.0)}),
    ), misconceptions=CATALOG['neuron_backward']),
    Exercise("staged_backward", _CIRCUITS, Circuit(circuits.staged), points=3, count_forward=False, cases=(
        Case("the lecture's x = 3, y = -4", {"x": Number(3.0), "y": Number(-4.0)}),
        Case("a random point", {"x": Number(scale=2.0), "y": Number(scale=2.0)}),
        Case("x = y", {"x": Number(scale=2.0), "y": Same("x")}),
    ), misconceptions=CATALOG['staged_backward']),
    Exercise("patterns_backward", _CIRCUITS, Circuit(circuits.patterns), points=2, count_forward=False, cases=(
        Case("the lecture's x = 3, y = -4, z = 2, w = -1",
             {"x": Number(3.0), "y": Number(-4.0), "z": Number(2.0), "w": Number(-1.0)}),
        Case("a random point", {"x": Number(), "y": Number(), "z": Number(), "w": Number()}),
        Case("w larger than z", {"x": Number(), "y": Number(), "z": Number(-2.0), "w": Number(1.5)}),
        Case("a tie: z = w (the max's gradient goes to z)",
             {"x": Number(), "y": Number(), "z": Number(), "w": Same("z")}, beside={"z": 1e-3}),
    ), misconceptions=CATALOG['patterns_backward']),
    # notebook 02: layers
    Exercise("affine_backward", _LAYERS, Backward(layers.affine_forward), points={"dx": 1, "dw": 1, "db": 1},
             cases=(_affine("x (3, 2, 3), w (6, 5)", (3, 2, 3), 5),
                    _affine("square: x (4, 4), w (4, 4)", (4, 4), 4),
                    _affine("N=1: x (1, 3), w (3, 2)", (1, 3), 2),
                    _affine("x (2, 2, 2, 2), w (8, 3)", (2, 2, 2, 2), 3)),
             cost=_affine("large: x (256, 512), w (512, 256)", (256, 512), 256), misconceptions=CATALOG['affine_backward']),
    Exercise("relu_backward", _LAYERS, Backward(layers.relu_forward), points=2, cases=_elementwise(gap=0.1),
             cost=_elementwise_cost(gap=0.1), misconceptions=CATALOG['relu_backward']),
    Exercise("sigmoid_backward", _LAYERS, Backward(layers.sigmoid_forward), points=2, cases=_elementwise(),
             cost=_elementwise_cost(), misconceptions=CATALOG['sigmoid_backward']),
    Exercise("tanh_backward", _LAYERS, Backward(layers.tanh_forward), points=1, cases=_elementwise(),
             cost=_elementwise_cost(), misconceptions=CATALOG['tanh_backward']),
    Exercise("leaky_relu_backward", _LAYERS, Backward(layers.leaky_relu_forward, constants=("alpha",)), points=1,
             cases=_elementwise(gap=0.1, alpha=0.1)
             + (Case("alpha = 0: a plain relu", {"x": Normal((3, 4), gap=0.1), "alpha": Fixed(0.0)}),),
             cost=_elementwise_cost(gap=0.1, alpha=0.1), misconceptions=CATALOG['leaky_relu_backward']),
    # notebook 03: losses
    Exercise("softmax_loss", _LOSSES, Loss(losses.softmax_loss_forward), points={"loss": 2, "dx": 3},
             cases=(_TINY_SCORES, *_LOSS_CASES), cost=_LARGE_BATCH, misconceptions=CATALOG['softmax_loss']),
    Exercise("svm_loss", _LOSSES, Loss(losses.svm_loss_forward), points={"loss": 2, "dx": 3},
             cases=(_TINY_SCORES, *_LOSS_CASES) + (
        Case("all-zero scores: every wrong class has a margin of exactly 1",
             {"x": Normal((3, 4), scale=0.0), "y": Labels(3, 4)}),
    ), cost=_LARGE_BATCH, misconceptions=CATALOG['svm_loss']),
    # notebook 04: the two-layer net
    Exercise("two_layer_net_loss", _NET, NetLoss(), points={"loss": 2, "W1": 2, "b1": 2, "W2": 2, "b2": 2}, cases=(
        _net(4, 5, 7, 3, 0.05), _net(1, 6, 4, 3, 0.1), _net(8, 3, 5, 4, 0.0), _net(5, 8, 6, 10, 1.0),
    ), cost=_net(128, 256, 256, 10, 0.01, scale=0.1), misconceptions=CATALOG['two_layer_net_loss']),
    Exercise("two_layer_net_loss_accuracy", _NET, Training(), points=5, function="two_layer_net_loss",
             requires=("two_layer_net_loss",), count_forward=False,
             cases=(Case("training on the digits", {"seed": Seed()}),)),
    # notebook 05: autodiff
    *[Exercise(name, _AUTODIFF, convention, points=pts, count_forward=False, cases=tuple(cases), misconceptions=CATALOG.get(name, ()))
      for name, convention, pts, cases in _ops()],
    Exercise("Linear", _AUTODIFF, Module(), points=2, count_forward=False, requires=("Plus", "MatMul", "Expand"),
             cases=(_affine("x (4, 3), w (3, 2)", (4, 3), 2), _affine("N=1: x (1, 3), w (3, 2)", (1, 3), 2),
                    _affine("square: x (3, 3), w (3, 3)", (3, 3), 3)), misconceptions=CATALOG['Linear']),
    Exercise("two_layer_net", _AUTODIFF, GraphLoss(), points=2, count_forward=False, needs=("Linear",),
             requires=("Linear", "Sigmoid", "Multiply"),
             cases=(_net(4, 3, 5, 3, 0.1), _net(1, 3, 4, 2, 0.0), _net(4, 3, 5, 3, 0.0, scale=30.0))),
    # an instructor's own exercises: add their declarations here (README: Adding an exercise)
]}


def exercise(name: str) -> Exercise:
    """The declaration of an exercise, by name (a clear error for a name the course lacks)."""
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise {name!r}; the course has {', '.join(EXERCISES)}") from None


# --- the visible check -----------------------------------------------------------------


class CheckFailed(AssertionError):
    """A check said NOT YET. In a notebook it shows only its message, never a traceback
    through the course's code (IPython asks an exception for ``_render_traceback_``)."""

    def _render_traceback_(self):
        return [f"\x1b[31m{line}\x1b[0m" for line in str(self).splitlines()]


class NotWrittenYet(CheckFailed):
    """The exercise (or one it uses) still raises NotImplementedError."""


_COURSE = str(__import__("pathlib").Path(__file__).resolve().parent)


def _your_lines(exc: BaseException) -> str:
    """The frames of a traceback that are the student's code (not the course's, not numpy's)."""
    ours = (_COURSE, sys.prefix, sys.base_prefix, sys.exec_prefix)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(ours)]
    return "\n".join(f"  in {f.name}, line {f.lineno}: {(f.line or '').strip()}" for f in frames[-3:])


def _not_written(exc: BaseException, title: str) -> str:
    """Which function is not written yet: the innermost frame that raised NotImplementedError."""
    frames = traceback.extract_tb(exc.__traceback__)
    culprit = getattr(exc, "culprit", None) or (frames[-1].name if frames else title)  # named by the course
    if culprit in ("forward", "backward") and len(frames) >= 1:
        culprit = f"a {culprit} method"
    if culprit == title or culprit.startswith("a "):
        return f"not written yet: write {title} in its exercise cell above, run that cell, then this one"
    return f"not written yet: {title} uses {culprit}, which is not written yet: do its exercise first"


def _caller_namespace() -> dict:
    """The globals of the notebook (or module) that called `check`."""
    frame = inspect.currentframe()
    try:
        return frame.f_back.f_back.f_globals if frame and frame.f_back and frame.f_back.f_back else {}
    finally:
        del frame


def _show(report) -> None:
    try:
        from IPython.display import display
    except ImportError:  # outside Jupyter: text
        print(report)
        return
    display(report)


def _named_mistake(ex: Exercise, fn, namespace: dict, message: str) -> str:
    """A check's message, led by the misconception the answer shows, when it is a known one."""
    from course import diagnosis

    codes = diagnosis.check_diagnosis(ex, fn, namespace)
    if not codes:
        return message
    return f"NOT YET: {diagnosis.sentences(ex, codes)}\n{message.removeprefix('NOT YET: ')}"


def check(name: str, fn, *, seed: int = 0, show: bool = True, namespace: dict | None = None) -> None:
    """Check your answer to an exercise on every kind of input it is graded on.

    Prints one line, ``OK: ...``; or shows the report of the first input where it is wrong
    and raises CheckFailed, whose first line says what to look at (``NOT YET: ...``).
    name: the exercise (``"affine_backward"``); fn: your function (or class). The inputs
    are drawn from `seed`: the graded tests use other seeds, and the same kinds of inputs.
    show: False prints nothing when all is well (the graded tests use it).
    """
    ex = exercise(name)
    namespace = namespace if namespace is not None else _caller_namespace()
    title = ex.function
    for case, inputs in ex.inputs(seed):
        try:
            report = ex.convention.check(fn, inputs, namespace, seed, title, case)
        except NotImplementedError as exc:
            raise NotWrittenYet(_not_written(exc, title)) from None
        except Exception as exc:  # the answer itself raised: show where, in its own lines
            # what the answer's frames held is freed first (a memory hog's list): the report
            # is then made, and the answer run again to name its mistake, with memory to spare
            traceback.clear_frames(exc.__traceback__)
            lines = _your_lines(exc)
            detail = str(exc).strip().splitlines()
            raise CheckFailed(_named_mistake(ex, fn, namespace, (
                f"NOT YET: {title} raised {type(exc).__name__}"
                f"{': ' + detail[0] if detail else ''} (on {case.name})" + (f"\n{lines}" if lines else "")))
            ) from None
        if not report.ok:
            report.title = f"{title} on {case.name}"
            if show:
                _show(report)
            raise CheckFailed(_named_mistake(ex, fn, namespace, report.summary()))
    if show:
        kinds = "; ".join(c.name for c in ex.cases)
        print(f"OK: {title} is right on every kind of input it is graded on ({kinds}).")
