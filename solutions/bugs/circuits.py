"""Wrong answers to the circuits exercises: max, compound, neuron, staged and patterns backward.

Every source is a complete function with the exercise's name and signature. They use only
``math``, as the notebook's answers do, so they run both when exec'd by library tests and
when pasted into the notebook's solution cells. Each mistake is
one students make; the description says what a report should make them look at.
"""

from __future__ import annotations

from textwrap import dedent

from solutions.bugs import Bug


def _bug(exercise: str, name: str, code: str, description: str, source: str) -> Bug:
    return Bug(exercise, name, code, description, dedent(source).strip() + "\n")


MAX = [
    _bug("max_gradient", "both_inputs", "max-as-add",
         "max treated like add: both inputs get gradient 1 (the smaller one should get 0)",
         """
         def max_gradient(x, y):
             return 1.0, 1.0
         """),
    _bug("max_gradient", "routes_to_smaller", "max-to-smaller",
         "comparison the wrong way round: the gradient goes to the smaller input",
         """
         def max_gradient(x, y):
             dx = 1.0 if x < y else 0.0
             return dx, 1.0 - dx
         """),
]

COMPOUND = [
    _bug("compound_backward", "local_without_upstream", "no-upstream",
         "dx, dy are the add gate's local gradients (1) without the upstream dq = z",
         """
         def compound_backward(x, y, z):
             q = x + y
             dz = q
             dx = 1.0
             dy = 1.0
             return dx, dy, dz
         """),
    _bug("compound_backward", "multiply_not_swapped", "multiply-not-swapped",
         "multiply gate not swapped: each factor gets its own value instead of the other's",
         """
         def compound_backward(x, y, z):
             q = x + y
             dq = q
             dz = z
             return dq, dq, dz
         """),
]

NEURON = [
    _bug("neuron_backward", "sigmoid_grad_of_input", "sigmoid-of-input",
         "sigmoid's local gradient (1 - s) s evaluated at the input dot instead of the output s",
         """
         def neuron_backward(w, x):
             dot = w[0] * x[0] + w[1] * x[1] + w[2]
             ddot = (1 - dot) * dot
             return [x[0] * ddot, x[1] * ddot, ddot], [w[0] * ddot, w[1] * ddot]
         """),
    _bug("neuron_backward", "bias_local_only", "no-upstream",
         "the bias gets its local gradient 1 without the upstream ddot",
         """
         def neuron_backward(w, x):
             dot = w[0] * x[0] + w[1] * x[1] + w[2]
             f = 1.0 / (1.0 + math.exp(-dot))
             ddot = (1 - f) * f
             return [x[0] * ddot, x[1] * ddot, 1.0], [w[0] * ddot, w[1] * ddot]
         """),
    _bug("neuron_backward", "weights_not_swapped", "multiply-not-swapped",
         "multiply not swapped: dw from w and dx from x instead of the other factor",
         """
         def neuron_backward(w, x):
             dot = w[0] * x[0] + w[1] * x[1] + w[2]
             f = 1.0 / (1.0 + math.exp(-dot))
             ddot = (1 - f) * f
             return [w[0] * ddot, w[1] * ddot, ddot], [x[0] * ddot, x[1] * ddot]
         """),
]

STAGED = [
    _bug("staged_backward", "forgot_plus_equals", "forgot-plus-equals",
         "= instead of += where x and y fork: only the last path's gradient survives",
         """
         def staged_backward(x, y):
             sigy = 1.0 / (1 + math.exp(-y))
             num = x + sigy
             sigx = 1.0 / (1 + math.exp(-x))
             xpy = x + y
             den = sigx + xpy**2
             invden = 1.0 / den
             dnum = invden
             dden = (-1.0 / den**2) * num
             dxpy = (2 * xpy) * dden
             dx = dxpy
             dy = dxpy
             dx = ((1 - sigx) * sigx) * dden
             dx = dnum
             dy = ((1 - sigy) * sigy) * dnum
             return dx, dy
         """),
    _bug("staged_backward", "reciprocal_sign", "reciprocal-sign",
         "sign error in the 1/x gate: d(1/den) = +1/den**2 instead of -1/den**2",
         """
         def staged_backward(x, y):
             sigy = 1.0 / (1 + math.exp(-y))
             num = x + sigy
             sigx = 1.0 / (1 + math.exp(-x))
             xpy = x + y
             den = sigx + xpy**2
             invden = 1.0 / den
             dnum = invden
             dden = (1.0 / den**2) * num
             dxpy = (2 * xpy) * dden
             dx = dxpy + ((1 - sigx) * sigx) * dden + dnum
             dy = dxpy + ((1 - sigy) * sigy) * dnum
             return dx, dy
         """),
    _bug("staged_backward", "square_missing_two", "square-missing-two",
         "the square gate's local gradient taken as xpy instead of 2 xpy",
         """
         def staged_backward(x, y):
             sigy = 1.0 / (1 + math.exp(-y))
             num = x + sigy
             sigx = 1.0 / (1 + math.exp(-x))
             xpy = x + y
             den = sigx + xpy**2
             invden = 1.0 / den
             dnum = invden
             dden = (-1.0 / den**2) * num
             dxpy = xpy * dden
             dx = dxpy + ((1 - sigx) * sigx) * dden + dnum
             dy = dxpy + ((1 - sigy) * sigy) * dnum
             return dx, dy
         """),
]

PATTERNS = [
    _bug("patterns_backward", "max_to_both", "max-as-add",
         "max treated like add: z and w both receive the gradient",
         """
         def patterns_backward(x, y, z, w):
             ds = 2.0
             return y * ds, x * ds, ds, ds
         """),
    _bug("patterns_backward", "add_halves", "gradients-halved",
         "add gate splits the gradient in halves instead of passing it on unchanged",
         """
         def patterns_backward(x, y, z, w):
             ds = 2.0
             dxy = ds / 2
             dm = ds / 2
             dz = dm if z >= w else 0.0
             dw = dm if w > z else 0.0
             return y * dxy, x * dxy, dz, dw
         """),
    _bug("patterns_backward", "forgot_times_two", "gradients-halved",
         "the final x2 gate forgotten: every gradient is half what it should be",
         """
         def patterns_backward(x, y, z, w):
             dz = 1.0 if z >= w else 0.0
             dw = 1.0 if w > z else 0.0
             return y, x, dz, dw
         """),
]

BUGS: list[Bug] = MAX + COMPOUND + NEURON + STAGED + PATTERNS
