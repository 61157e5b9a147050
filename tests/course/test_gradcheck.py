"""Does course.gradcheck compute, compare and report gradients as documented?"""

from __future__ import annotations

import numpy as np
import pytest

import solutions
from course import gradcheck, layers, losses


def test_rel_error_is_never_nan():
    """Is rel_error 0 for two zeros, and inf (not nan) when an entry is inf or nan?"""
    assert gradcheck.rel_error(0.0, 0.0) == 0.0
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(np.inf, 1.0) == np.inf
    assert gradcheck.rel_error(np.inf, np.inf) == np.inf
    assert gradcheck.rel_error(np.nan, 1.0) == np.inf
    assert gradcheck.rel_error(np.array([]), np.array([])) == 0.0


def test_rel_error_values():
    """Is rel_error |a - b| / (|a| + |b|) at its largest entry?"""
    assert gradcheck.rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert gradcheck.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.rel_error([1.0, 1.0], [1.0, -1.0]) == pytest.approx(1.0)


def test_numerical_gradient_of_a_quadratic():
    """Is the numerical gradient of sum(x**2) equal to 2x, shaped like x?"""
    x = np.random.default_rng(0).standard_normal((3, 2, 2))
    grad = gradcheck.numerical_gradient(lambda z: np.sum(z**2), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_numerical_gradient_does_not_modify_x():
    """Is x left untouched by numerical_gradient?"""
    x = np.arange(4.0)
    before = x.copy()
    gradcheck.numerical_gradient(lambda z: np.sum(np.sin(z)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_of_a_cube():
    """Is the gradient of sum(x**3 * dout) equal to 3 x**2 dout?"""
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    grad = gradcheck.numerical_gradient_array(lambda z: z**3, x, dout)
    np.testing.assert_allclose(grad, 3 * x**2 * dout, rtol=1e-7)


@pytest.mark.parametrize("call", [
    lambda x: gradcheck.numerical_gradient(np.sum, x),
    lambda x: gradcheck.numerical_gradient_array(lambda z: z, x, np.ones(3)),
    lambda x: gradcheck.check_backward(layers.relu_forward, solutions.relu_backward, x),
    lambda x: gradcheck.check_loss(solutions.softmax_loss, x.reshape(1, 3), np.array([0])),
])
def test_float32_input_is_a_clear_type_error(call):
    """Does a float32 input raise a TypeError that says float64?"""
    with pytest.raises(TypeError, match="float64"):
        call(np.ones(3, dtype=np.float32))


def relu_report(backward=solutions.relu_backward):
    x = np.array([[0.5, -1.0, 2.0], [-0.3, 1.5, -2.0]])
    return gradcheck.check_backward(layers.relu_forward, backward, x)


def test_report_of_a_right_gradient():
    """Does a right gradient give an OK report, in text and HTML, that assert_ok lets through?"""
    report = relu_report()
    assert report.ok
    assert str(report).startswith("OK: relu_backward")
    assert "ok" in report._repr_html_() and "OK: relu_backward" in report._repr_html_()
    assert report.assert_ok() is report


def test_report_of_a_wrong_gradient():
    """Does a wrong gradient give a NOT YET report whose text assert_ok raises?"""
    report = relu_report(lambda dout, cache: dout)  # the mask forgotten
    assert not report.ok
    text = str(report)
    assert text.startswith("NOT YET: ") and "wrong" in text
    page = report._repr_html_()
    assert "NOT YET" in page and "wrong" in page
    # each note once, the method line once (under the notes, not inside them too)
    assert page.count("forward calls") == 1 and page.count("finite differences") == text.count("finite differences")
    with pytest.raises(AssertionError) as info:
        report.assert_ok()
    assert str(info.value) == text


def test_scaled_gradient_gets_a_hint():
    """Is a gradient that is 4x too small reported as a missing factor?"""
    report = relu_report(lambda dout, cache: solutions.relu_backward(dout, cache) / 4)
    assert "4x too small" in str(report)


def test_modified_cache_is_reported():
    """Is a backward pass that zeroes its cache in place caught?"""
    def backward(dout, cache):
        cache[cache < 0] = 0
        return dout * (cache > 0)

    report = relu_report(backward)
    assert not report.ok
    assert any("modified the cache" in p for p in report.problems)


def test_modified_dout_is_reported():
    """Is a backward pass that writes into dout caught?"""
    def backward(dout, cache):
        dout[cache <= 0] = 0
        return dout

    report = relu_report(backward)
    assert not report.ok
    assert any("modified dout" in p for p in report.problems)


def test_modified_loss_input_is_reported():
    """Is a loss that shifts its scores in place caught?"""
    def softmax_loss(x, y):
        x -= x.max(axis=1, keepdims=True)
        return solutions.softmax_loss(x, y)

    rng = np.random.default_rng(2)
    report = gradcheck.check_loss(softmax_loss, rng.standard_normal((3, 4)), np.array([0, 1, 2]),
                                  reference=losses.softmax_loss_forward)
    assert not report.ok
    assert any("modified in place" in p for p in report.problems)


def test_wrong_gradient_count_is_reported():
    """Does returning (dx, dw) from an affine backward say that three gradients were expected?"""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    report = gradcheck.check_backward(layers.affine_forward,
                                      lambda dout, cache: solutions.affine_backward(dout, cache)[:2],
                                      x, w, b)
    assert not report.ok
    assert "returned 2 gradient(s), expected 3: dx, dw, db" in str(report)


def test_wrong_gradient_shape_is_reported():
    """Is a dw of the transposed shape reported with both shapes and a hint?"""
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)

    def backward(dout, cache):
        dx, dw, db = solutions.affine_backward(dout, cache)
        return dx, dw.T, db

    report = gradcheck.check_backward(layers.affine_forward, backward, x, w, b)
    assert not report.ok
    assert "dw has shape (4, 3), expected (3, 4) (the shape of w): transposed?" in str(report)


def test_check_gradients_needs_one_gradient_per_input():
    """Does check_gradients refuse a list of gradients shorter than its inputs, saying so?"""
    with pytest.raises(ValueError, match="2 inputs, 1 gradients"):
        gradcheck.check_gradients(lambda a, b: float(np.sum(a * b)), [np.ones(2), np.ones(2)],
                                  [np.ones(2)])


def test_unknown_method_is_a_clear_error():
    """Does a misspelt method name raise a ValueError listing the methods?"""
    with pytest.raises(ValueError, match="'full', 'sampled' or 'projection'"):
        gradcheck.check_gradients(np.sum, [np.ones(2)], [np.ones(2)], method="fast")


def test_projection_costs_five_calls_whatever_the_size():
    """Does the projection check make the same number of forward calls for 10 and 10,000 entries?"""
    calls = []
    for n in (10, 10_000):
        x = np.linspace(0.1, 1.0, n)
        report = gradcheck.check_gradients(lambda z: float(np.sum(z**2)), [x], [2 * x],
                                           method="projection")
        assert report.ok
        calls.append(report.forward_calls)
    assert calls == [5, 5]


def test_projection_catches_one_wrong_entry_in_ten_thousand():
    """Is a gradient wrong at a single entry of 10,000 flagged by one random direction?"""
    x = np.linspace(0.1, 1.0, 10_000)
    grad = 2 * x
    grad[1234] += 0.5
    report = gradcheck.check_gradients(lambda z: float(np.sum(z**2)), [x], [grad],
                                       method="projection")
    assert not report.ok


def test_large_scores_use_a_relative_step():
    """Is a correct softmax gradient at scores of size 1e3 judged right (no rounding false alarm)?"""
    rng = np.random.default_rng(5)
    x, y = 1e3 * rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    report = gradcheck.check_loss(solutions.softmax_loss, x, y,
                                  reference=losses.softmax_loss_forward, method="full")
    assert report.ok, str(report)


def test_wrong_loss_value_is_reported():
    """Is a loss value that differs from the reference's reported with both numbers?"""
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 4)), np.array([0, 1, 2])

    def softmax_loss(x, y):
        loss, dx = solutions.softmax_loss(x, y)
        return 2 * loss, dx

    report = gradcheck.check_loss(softmax_loss, x, y, reference=losses.softmax_loss_forward)
    expected = losses.softmax_loss_forward(x, y)[0]
    assert not report.ok
    assert f"expected {expected:.6g}" in str(report)


def test_a_warning_from_a_correct_backward_is_noted_not_failed(capsys):
    """Does a right answer that warns still pass, with the warning shown and nothing on stderr?"""
    import warnings

    from solutions import relu_backward

    def noisy_relu_backward(dout, cache):
        warnings.warn("just saying", stacklevel=1)
        return relu_backward(dout, cache)

    x = np.random.default_rng(3).standard_normal((4, 5))
    report = gradcheck.check_backward(layers.relu_forward, noisy_relu_backward, x)
    assert report.ok
    assert any("just saying" in w for w in report.warnings)
    assert "just saying" in str(report)
    assert capsys.readouterr().err == ""
