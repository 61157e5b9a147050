"""Tests of course.circuits: the lectures' circuits, their checker and their drawings."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course import circuits
from course.circuits import (
    COMPOUND,
    NEURON,
    PATTERNS,
    STAGED,
    Circuit,
    Gate,
    check_circuit,
    draw_backward,
    draw_circuit,
)

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def texts(ax) -> dict[str, str]:
    """The numbers and names drawn on an Axes, by gid ("value:q", "grad:x", "name:x")."""
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# --- forward values ------------------------------------------------------------------


def test_compound_forward_matches_lecture():
    """Does (x + y) z at x=-2, y=5, z=-4 give q = 3 and f = -12, as in the lecture?"""
    values = COMPOUND.forward(-2, 5, -4)
    assert values == {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0}
    assert circuits.compound(-2, 5, -4) == -12.0


def test_neuron_forward_matches_lecture():
    """Does the neuron with w=[2,-3,-3], x=[-1,-2] have dot product 1 and output 0.73?"""
    values = NEURON.forward(w0=2, w1=-3, w2=-3, x0=-1, x1=-2)
    assert values["dot"] == 1.0
    assert circuits.neuron([2, -3, -3], [-1, -2]) == pytest.approx(sig(1.0), rel=1e-15)


@given(st.floats(-30, 30), st.floats(-30, 30))
def test_staged_matches_closed_form(x, y):
    """Does the staged circuit compute (x + sigma(y)) / (sigma(x) + (x + y)^2) anywhere?"""
    expected = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    assert circuits.staged(x, y) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_patterns_forward_matches_lecture():
    """Does 2 (x y + max(z, w)) at x=3, y=-4, z=2, w=-1 give -20?"""
    assert circuits.patterns(3, -4, 2, -1) == -20.0
    assert circuits.maximum(4, 2) == 4.0


def test_sigmoid_gate_does_not_overflow():
    """Does the sigmoid gate give 0 and 1 at +-1000 without an OverflowError?"""
    assert STAGED.forward(1000.0, -1000.0)["sigy"] == 0.0
    assert STAGED.forward(1000.0, -1000.0)["sigx"] == 1.0


# --- bad input and bad circuits -------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Gate("pow", ("x",), "f"), "unknown gate op"),
        (lambda: Gate("+", ("x",), "f"), "takes 2 input"),
        (lambda: Circuit("t", ("x",), (Gate("+", ("x", "q"), "f"),)), "before any gate writes"),
        (lambda: Circuit("t", ("x",), (Gate("exp", ("x",), "x"),)), "written twice"),
        (lambda: Circuit("t", ("x", "x"), (Gate("+", ("x", "x"), "f"),)), "unique"),
        (lambda: Circuit("t", ("x",), ()), "at least one gate"),
    ],
)
def test_bad_circuits_are_refused(build, message):
    """Is a malformed circuit refused with a message that says what is wrong?"""
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_inputs_are_refused():
    """Do a wrong number of inputs, a non-number and a short weight list raise clearly?"""
    with pytest.raises(TypeError, match="takes 3 inputs"):
        COMPOUND.forward(1, 2)
    with pytest.raises(TypeError, match="input y must be a number"):
        COMPOUND.forward(1, "two", 3)
    with pytest.raises(TypeError, match="missing"):
        COMPOUND.forward(x=1, y=2)
    with pytest.raises(ValueError, match="w must be 3 numbers"):
        circuits.neuron([1, 2], [1, 2])


# --- nudged gradients -----------------------------------------------------------------


def test_nudged_gradients_of_the_patterns_circuit():
    """Do nudged gradients reproduce the lecture's -8, 6, 2, 0 and 2 on every inner wire?"""
    grads = PATTERNS.nudged_gradients(PATTERNS.forward(3, -4, 2, -1))
    expected = {"x": -8, "y": 6, "z": 2, "w": 0, "xy": 2, "m": 2, "s": 2, "f": 1}
    assert grads.keys() == expected.keys()
    for wire, g in expected.items():
        assert grads[wire] == pytest.approx(g, rel=1e-9, abs=1e-12), wire


def test_nudged_gradient_counts_every_use_of_a_forked_input():
    """Does nudging x in the staged circuit move all three of its uses (the sum of paths)?"""
    x, y = 3.0, -4.0
    grads = STAGED.nudged_gradients(STAGED.forward(x, y))
    h = 1e-6
    total = (circuits.staged(x + h, y) - circuits.staged(x - h, y)) / (2 * h)
    assert grads["x"] == pytest.approx(total, rel=1e-7)
    assert grads["x"] == pytest.approx(2.0596, abs=1e-4)


# --- check_circuit ---------------------------------------------------------------------


def compound_right(x, y, z):
    return z, z, x + y


def test_check_circuit_passes_a_right_gradient():
    """Does a correct compound gradient pass, with every input compared?"""
    report = check_circuit(compound_right, circuits.compound, -2.0, 5.0, -4.0)
    assert report.ok, str(report)
    assert [c.name for c in report.inputs] == ["x", "y", "z"]
    assert all(c.checked == 1 for c in report.inputs)


def test_check_circuit_accepts_integer_gradients():
    """Is a max gradient returned as the ints (1, 0) accepted (1 is a fine gradient)?"""
    report = check_circuit(lambda x, y: (1, 0), circuits.maximum, 4.0, 2.0)
    assert report.ok, str(report)


def test_check_circuit_names_a_sign_error():
    """Does a flipped dz fail with a first line that names dz and the flipped sign?"""
    report = check_circuit(lambda x, y, z: (z, z, -(x + y)), circuits.compound, -2.0, 5.0, -4.0,
                           title="compound_backward")
    assert not report.ok
    assert report.summary().startswith("NOT YET: compound_backward: z:")
    assert "sign flipped" in report.summary()


def test_check_circuit_points_at_max_routing():
    """Does sending the max's gradient to the smaller input point at the max?"""
    report = check_circuit(lambda x, y: (1.0, 1.0), circuits.maximum, 4.0, 2.0)
    assert not report.ok
    assert "smaller input" in report.summary()


def test_check_circuit_names_the_wrong_entry_of_a_list():
    """For the neuron, does a bias gradient of 1 (no upstream factor) point at dw[2]?"""
    def neuron_backward(w, x):
        dot = w[0] * x[0] + w[1] * x[1] + w[2]
        ddot = sig(dot) * (1 - sig(dot))
        return [x[0] * ddot, x[1] * ddot, 1.0], [w[0] * ddot, w[1] * ddot]

    report = check_circuit(neuron_backward, circuits.neuron, [2.0, -3.0, -3.0], [-1.0, -2.0])
    assert not report.ok
    assert "dw[2] is 1 but finite differences give 0.1966" in report.summary()


def test_check_circuit_counts_the_gradients():
    """Does returning two gradients for three inputs fail with a message naming dx, dy, dz?"""
    report = check_circuit(lambda x, y, z: (z, z), circuits.compound, -2.0, 5.0, -4.0)
    assert not report.ok
    assert "expected 3: (dx, dy, dz)" in report.summary()


def test_check_circuit_reports_warnings_instead_of_emitting_them(capsys):
    """Does a warning from a right answer end up in the report, not on stderr, at no cost?"""
    def noisy(x, y, z):
        np.float64(1.0) / np.float64(0.0)  # RuntimeWarning: divide by zero
        return z, z, x + y

    report = check_circuit(noisy, circuits.compound, -2.0, 5.0, -4.0)
    assert report.ok
    assert "RuntimeWarning" in str(report)
    assert capsys.readouterr().err == ""


def test_check_circuit_passes_plain_floats():
    """Does the backward function receive floats and lists of floats, not numpy arrays?"""
    seen = []

    def spy(w, x):
        seen.extend([type(w), type(w[0]), type(x)])
        return [0.0, 0.0, 0.0], [0.0, 0.0]

    check_circuit(spy, circuits.neuron, [2, -3, -3], [-1, -2])
    assert seen == [list, float, list]


# --- drawing --------------------------------------------------------------------------


def test_draw_circuit_puts_forward_values_above_and_gradients_below():
    """Does the compound drawing carry the lecture's numbers, values green above, grads red below?"""
    values = COMPOUND.forward(-2, 5, -4)
    ax = draw_circuit(COMPOUND, values, COMPOUND.nudged_gradients(values))
    drawn = texts(ax)
    assert {w: drawn[f"value:{w}"] for w in COMPOUND.wires} == {
        "x": "-2.00", "y": "5.00", "z": "-4.00", "q": "3.00", "f": "-12.00"}
    assert {w: drawn[f"grad:{w}"] for w in COMPOUND.wires} == {
        "x": "-4.00", "y": "-4.00", "z": "3.00", "q": "-4.00", "f": "1.00"}
    by_gid = {t.get_gid(): t for t in ax.texts if t.get_gid()}
    for w in COMPOUND.wires:
        value, grad = by_gid[f"value:{w}"], by_gid[f"grad:{w}"]
        assert value.get_position()[1] > grad.get_position()[1]
        assert value.get_color() == circuits.GREEN and grad.get_color() == circuits.RED
    assert ax.get_title() == "f = (x + y) z"


def test_draw_circuit_forward_only_shows_no_gradient():
    """Without grads, does the drawing show every value and no gradient at all?"""
    ax = draw_circuit(NEURON, NEURON.forward(2, -3, -3, -1, -2))
    drawn = texts(ax)
    assert not [g for g in drawn if g.startswith("grad:")]
    assert drawn["value:f"] == "0.73" and drawn["value:e"] == "0.37"
    assert drawn["name:w0"] == "w0"


def test_draw_circuit_never_prints_minus_zero():
    """Is a zero gradient drawn as 0.00, never -0.00?"""
    values = PATTERNS.forward(3, -4, 2, -1)
    ax = draw_circuit(PATTERNS, values, {"w": -0.0, "z": 2.0})
    assert texts(ax)["grad:w"] == "0.00"


def test_draw_circuit_needs_every_value():
    """Does drawing with a wire's value missing raise and name the wire?"""
    with pytest.raises(ValueError, match="'f'"):
        draw_circuit(COMPOUND, {"x": 1.0, "y": 2.0, "z": 3.0, "q": 3.0})


def test_draw_backward_draws_the_gradients_of_a_right_function(capsys):
    """With a right backward, are the inputs' gradients drawn, silently, from that function?"""
    def staged_backward(x, y):
        return 2.0595697955721652, 1.5922327514838093

    ax = draw_backward(STAGED, staged_backward, 3.0, -4.0)
    drawn = texts(ax)
    assert drawn["grad:x"] == "2.06" and drawn["grad:y"] == "1.59"
    assert drawn["grad:den"] == "-0.79" and drawn["grad:f"] == "1.00"
    assert "staged_backward" in ax.get_title()
    assert capsys.readouterr().out == ""


def test_draw_backward_hides_gradients_until_the_function_is_written(capsys):
    """With a stub that raises NotImplementedError, is only the forward pass drawn, with a note?"""
    def compound_backward(x, y, z):
        raise NotImplementedError()

    ax = draw_backward(COMPOUND, compound_backward, -2.0, 5.0, -4.0)
    assert not [g for g in texts(ax) if g.startswith("grad:")]
    assert capsys.readouterr().out.startswith("not written yet: write compound_backward in its exercise cell")


def test_draw_backward_hides_gradients_of_a_wrong_function(capsys):
    """With a wrong backward, are its numbers kept off the drawing, with a note?"""
    ax = draw_backward(COMPOUND, lambda x, y, z: (1.0, 1.0, x + y), -2.0, 5.0, -4.0)
    assert not [g for g in texts(ax) if g.startswith("grad:")]
    assert "does not match finite differences" in capsys.readouterr().out


def test_draw_backward_flattens_list_arguments():
    """For the neuron (w, x), do dw and dx land on the wires w0..w2 and x0, x1?"""
    def neuron_backward(w, x):
        d = sig(1.0) * (1 - sig(1.0))
        return [x[0] * d, x[1] * d, d], [w[0] * d, w[1] * d]

    drawn = texts(draw_backward(NEURON, neuron_backward, [2.0, -3.0, -3.0], [-1.0, -2.0]))
    assert [drawn[f"grad:{w}"] for w in ("w0", "x0", "w1", "x1", "w2")] == [
        "-0.20", "0.39", "-0.39", "-0.59", "0.20"]
