"""Tests of solutions.circuits (the answer key of notebook 01) and its bug bank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course import circuits
from course.circuits import check_circuit
from solutions import circuits as ref
from solutions.bugs import bugs_for
from solutions.bugs.circuits import BUGS

#: exercise -> (forward pass in course.circuits, the lecture's point)
EXERCISES = {
    "max_gradient": (circuits.maximum, (4.0, 2.0)),
    "compound_backward": (circuits.compound, (-2.0, 5.0, -4.0)),
    "neuron_backward": (circuits.neuron, ([2.0, -3.0, -3.0], [-1.0, -2.0])),
    "staged_backward": (circuits.staged, (3.0, -4.0)),
    "patterns_backward": (circuits.patterns, (3.0, -4.0, 2.0, -1.0)),
}

# away from 0 so that max's ties (a kink) stay out of reach of a finite difference
numbers = st.floats(-6, 6).filter(lambda v: abs(v) > 0.05)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_passes_at_the_lectures_point(exercise):
    """Does each reference answer match finite differences at the lecture's numbers?"""
    forward, point = EXERCISES[exercise]
    report = check_circuit(getattr(ref, exercise), forward, *point)
    assert report.ok, str(report)


def test_reference_numbers_are_the_lectures():
    """Do the answers give the lecture's gradients (-4, -4, 3), (-0.20, ...), (-8, 6, 2, 0)?"""
    assert ref.compound_backward(-2, 5, -4) == (-4, -4, 3)
    dw, dx = ref.neuron_backward([2, -3, -3], [-1, -2])
    assert [round(v, 2) for v in dw + dx] == [-0.2, -0.39, 0.2, 0.39, -0.59]
    assert ref.patterns_backward(3, -4, 2, -1) == (-8, 6, 2, 0)
    assert ref.max_gradient(2, 2) == (1.0, 0.0)  # a tie goes to x, as documented


@given(numbers, numbers, numbers, numbers)
def test_reference_passes_anywhere(a, b, c, d):
    """Do the scalar answers match finite differences at random points away from ties?"""
    if abs(a - b) > 0.05:
        assert check_circuit(ref.max_gradient, circuits.maximum, a, b).ok
    assert check_circuit(ref.compound_backward, circuits.compound, a, b, c).ok
    assert check_circuit(ref.neuron_backward, circuits.neuron, [a, b, c], [d, a]).ok
    assert check_circuit(ref.staged_backward, circuits.staged, a, b).ok
    if abs(c - d) > 0.05:
        assert check_circuit(ref.patterns_backward, circuits.patterns, a, b, c, d).ok


def test_every_exercise_has_bugs():
    """Does the bug bank hold at least one wrong answer for each exercise, and nothing else?"""
    assert {b.exercise for b in BUGS} == set(EXERCISES)
    assert len({(b.exercise, b.name) for b in BUGS}) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"{b.exercise}:{b.name}")
def test_every_bug_fails_at_the_lectures_point(bug):
    """Is each wrong answer caught by the check at the lecture's point (the visible check)?"""
    forward, point = EXERCISES[bug.exercise]
    report = check_circuit(bug.load(), forward, *point)
    assert not report.ok
    assert report.summary().startswith(f"NOT YET: {bug.exercise}: ")


def test_bugs_are_found_by_exercise():
    """Does bugs_for find the circuits bugs by exercise name?"""
    assert [b.name for b in bugs_for("max_gradient")] == ["both_inputs", "routes_to_smaller"]
