"""What a student is told when an exercise is not written yet: the check cells' one line names
the exercise to do (never the course's own functions), and example cells run under
`course.notwritten.needs` print the same kind of line instead of a traceback."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import solutions.autodiff
from course.autodiff import Op, Sum, TensorNode
from course.exercises import NotWrittenYet, check
from course.notwritten import culprit, needs
from course.training import init_two_layer_net, train


def _stub_backward(context, goutput):
    raise NotImplementedError()


def _notebook(**stubs) -> dict:
    """Notebook 05's answers as one namespace (what a notebook's globals are), with the named
    op classes replaced by stubs whose backward is not written yet."""
    namespace: dict = {}
    exec(compile(inspect.getsource(solutions.autodiff), "<notebook 05>", "exec"), namespace)
    for name in stubs:
        reference = namespace[name]
        namespace[name] = type(name, (Op,), {
            "forward": reference.forward,
            "backward": staticmethod(_stub_backward),
        })
    return namespace


def _stub_linear(namespace: dict) -> None:
    def __call__(self, x):
        raise NotImplementedError()

    namespace["Linear"] = type("Linear", (namespace["Linear"],), {"__call__": __call__})


def _says(name, fn, namespace) -> str:
    with pytest.raises(NotWrittenYet) as caught:
        check(name, fn, namespace=namespace)
    return str(caught.value)


def test_an_op_check_names_the_op_not_the_checker():
    """Does a stub op's check say to write that op (not "Plus uses check_op")?"""
    nb = _notebook(Plus=True)
    assert _says("Plus", nb["Plus"], nb) == (
        "not written yet: write Plus in its exercise cell above, run that cell, then this one")


def test_a_module_check_names_the_module_or_the_op_it_needs():
    """Does Linear's check name Linear when it is a stub, and MatMul when only MatMul is?"""
    nb = _notebook()
    _stub_linear(nb)
    assert _says("Linear", nb["Linear"], nb).startswith("not written yet: write Linear in its exercise cell")
    nb = _notebook(MatMul=True)
    assert _says("Linear", nb["Linear"], nb) == (
        "not written yet: Linear uses MatMul, which is not written yet: do its exercise first")


def test_the_net_check_names_what_the_given_net_uses():
    """Does the check of the given two_layer_net name Linear, or Sigmoid, whichever is missing?"""
    nb = _notebook()
    _stub_linear(nb)
    assert _says("two_layer_net", nb["two_layer_net"], nb) == (
        "not written yet: two_layer_net uses Linear, which is not written yet: do its exercise first")
    nb = _notebook(Sigmoid=True)
    assert _says("two_layer_net", nb["two_layer_net"], nb) == (
        "not written yet: two_layer_net uses Sigmoid, which is not written yet: do its exercise first")


def test_training_names_the_loss_it_trains():
    """Does the accuracy check (a training run) say to write the loss, not "uses train"?"""
    def two_layer_net_loss(params, X, y, reg=0.0):
        raise NotImplementedError()

    assert _says("two_layer_net_loss_accuracy", two_layer_net_loss, {}) == (
        "not written yet: write two_layer_net_loss in its exercise cell above, run that cell, then this one")
    p = init_two_layer_net(2, 3, 2, np.random.default_rng(0))
    with pytest.raises(NotImplementedError) as caught:
        train(two_layer_net_loss, p, np.ones((4, 2)), np.zeros(4, int), np.ones((4, 2)), np.zeros(4, int),
              np.random.default_rng(0))
    assert culprit(caught.value) == "two_layer_net_loss"


def test_needs_prints_one_line_naming_the_missing_exercise(capsys):
    """Does an example under `needs` print which exercise it needs (a function, a method's
    class, an op reached through the engine) and raise nothing?"""
    def softmax_loss(x, y):
        raise NotImplementedError()

    def svm_loss(x, y):
        return 0.0, x

    with needs("softmax_loss", "svm_loss"):
        svm_loss(1, 2)
        softmax_loss(1, 2)
        pytest.fail("the rest of the block must be skipped")
    assert capsys.readouterr().out == (
        "not written yet: this example needs softmax_loss: write it in its exercise cell above, "
        "run that cell, then this one\n")

    nb = _notebook(Multiply=True)
    x = TensorNode(np.array([1.0, -2.0]))
    with needs():  # nothing listed: the engine names the op
        Sum.apply(nb["Multiply"].apply(x, x)).backward()
    assert capsys.readouterr().out.startswith("not written yet: this example needs Multiply: write it")

    _stub_linear(nb)
    with needs("Linear", "Sigmoid"):
        nb["Linear"](np.ones((2, 2)), np.ones(2))(x)
    assert "this example needs Linear: write it" in capsys.readouterr().out


def test_needs_lists_the_exercises_when_the_traceback_cannot_tell(capsys):
    """When no frame names one of them, does `needs` list every exercise it was given?"""
    def helper():
        raise NotImplementedError()

    with needs("Plus", "Multiply"):
        helper()
    assert capsys.readouterr().out == (
        "not written yet: this example needs Plus and Multiply: write them in their exercise cells above, "
        "run those cells, then this one\n")


def test_needs_lets_other_errors_and_success_through(capsys):
    """Is an example that works silent, and any other error (a wrong answer's) raised as it is?"""
    with needs("softmax_loss"):
        value = 1 + 1
    assert value == 2 and capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="shapes"), needs("softmax_loss"):
        raise ValueError("shapes (2,) and (3,) do not match")
