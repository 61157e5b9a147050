"""The catalog: the misconceptions students have about each exercise, by exercise name.

Each exercise's declaration (`course.exercises`) takes its tuple from here. A code is
short and stable (grades.csv and the report count it); the student's sentence says what
is wrong and where to look, never the answer; the instructor's says what the student did.
The implementations that make each mistake live in the answer key (``solutions.bugs``,
one or more per code), which students never receive. See `course.diagnosis`.
"""

from __future__ import annotations

from course.diagnosis import Misconception as M

__all__ = ["CATALOG"]

_MODIFIES = M("modifies-input", "Your function changes its cache (or dout) in place; the caller still needs them, "
              "so compute on new arrays.", "modifies its inputs in place (cache or upstream gradient)",
              probe="modified")
_NO_UPSTREAM = ("The local gradient alone is not the answer: the chain rule multiplies it by the upstream "
                "gradient dout.", "returns the local gradient without multiplying by dout")

CATALOG: dict[str, tuple[M, ...]] = {
    # notebook 01: circuits of numbers
    "max_gradient": (
        M("max-as-add", "Both inputs get the gradient, as in an add gate: a max gate routes it to the larger "
          "input only.", "treats the max gate like an add gate"),
        M("max-to-smaller", "The gradient goes to the smaller input: check the comparison.",
          "routes the max gate's gradient to the smaller input"),
    ),
    "compound_backward": (
        M("no-upstream", "dx and dy are the add gate's local gradients alone: multiply them by what flows into "
          "the add gate from above.", "add gate's local gradients without the upstream gradient"),
        M("multiply-not-swapped", "A multiply gate gives each input the *other* input's value times the "
          "upstream gradient.", "multiply gate not swapped"),
    ),
    "neuron_backward": (
        M("sigmoid-of-input", "The sigmoid's local gradient (1 - s) s takes s, the sigmoid's *output*, not its "
          "input.", "sigmoid's local gradient evaluated at its input"),
        M("no-upstream", "The bias's gradient is its local gradient alone: multiply by the gradient arriving from "
          "the sigmoid.", "bias gradient without the upstream gradient"),
        M("multiply-not-swapped", "Each weight's gradient takes its *input's* value, and each input's gradient "
          "its weight's.", "multiply gates not swapped (dw from w, dx from x)"),
    ),
    "staged_backward": (
        M("forgot-plus-equals", "Where a variable feeds two paths, the gradients of both paths add up (+=), not "
          "the last one only.", "= instead of += where the paths fork"),
        M("reciprocal-sign", "Check the sign of the 1/x gate's local gradient.", "d(1/x) = +1/x**2"),
        M("square-missing-two", "Check the square gate's local gradient: d(u**2)/du.",
          "square gate's gradient without the factor 2"),
    ),
    "patterns_backward": (
        M("max-as-add", "Both z and w get the gradient, as in an add gate: a max gate routes it to the larger "
          "one only.", "treats the max gate like an add gate"),
        M("gradients-halved", "Every gradient is half of what it should be: does an add gate split its gradient "
          "(it passes it on unchanged), or is the final x2 gate missing?",
          "all gradients halved: add gate splitting its gradient, or the final x2 gate forgotten (the numbers "
          "are the same)"),
    ),
    # notebook 02: layers
    "affine_backward": (
        M("db-mean", "db is the mean over the batch; every row of the batch uses b, so its gradients add up.",
          "db averaged over the batch instead of summed"),
        M("db-one-row", "db comes from one row of dout: every example of the batch uses b, and each contributes.",
          "db taken from one row of dout"),
        M("db-wrong-axis", "db is summed over the wrong axis: b has one entry per output, like a row of dout.",
          "db summed over the outputs instead of the batch"),
        M("dw-transposed", "dw has its axes swapped: it must have w's shape (D, M); check the order of the "
          "product.", "dw transposed (dout.T @ x)", probe="transposed", part="dw"),
        M("dw-x-not-flattened", "dw uses x before it is flattened to (N, D): reshape x as the forward pass does.",
          "dw from x not reshaped to (N, D)"),
        M("dw-scrambled", "dw has the right shape but scrambled entries: a reshape is not a transpose.",
          "x reshaped to (D, N) instead of transposed"),
        M("dx-not-reshaped", "dx has the flattened shape (N, D): give it back the shape of x.",
          "dx not reshaped to x's shape"),
        M("missing-transpose", "A matrix product is missing a transpose: compare each factor's shape with the "
          "shape the gradient must have.", "a product without its transpose", probe="matmul"),
        M("extra-factor", "A gradient is off by a constant factor (1/N?): the affine layer sums over the batch; "
          "it does not average.", "a gradient off by a constant factor (such as 1/N)", probe="factor"),
        M("sign-flipped", "A gradient has the wrong sign: the backward pass returns the gradient, not a descent "
          "step.", "a gradient with its sign flipped", probe="sign"),
        M("wrong-order", "The gradients come back in the wrong order: return them as dx, dw, db.",
          "gradients returned in the wrong order"),
        _MODIFIES,
    ),
    "relu_backward": (
        M("mask-on-dout", "The mask is taken on dout: whether the gradient passes depends on the layer's input x.",
          "relu mask taken on dout instead of x"),
        M("no-upstream", *_NO_UPSTREAM),
        M("inverted-mask", "The gradient passes where x is negative: a relu lets it through where x > 0.",
          "inverted relu mask"),
        M("no-mask", "dout passes through unchanged: where the relu's input was negative its output did not "
          "depend on it.", "no relu mask at all"),
        M("times-output", "dout is multiplied by the relu's output: the local gradient is 0 or 1, not max(0, x).",
          "dout times relu(x) instead of the indicator"),
        _MODIFIES,
    ),
    "sigmoid_backward": (
        M("no-upstream", *_NO_UPSTREAM),
        M("sigmoid-of-output", "The cache already holds s = sigmoid(x): applying the sigmoid to it again is one "
          "sigmoid too many.", "sigmoid applied to the cached output (cache treated as the input)"),
        M("wrong-local-gradient", "The local gradient is not the sigmoid's: derive d sigmoid(x) / dx in terms of "
          "its output s.", "wrong local gradient (sign, or another function's derivative)"),
        _MODIFIES,
    ),
    "tanh_backward": (
        M("no-upstream", *_NO_UPSTREAM),
        M("tanh-of-output", "The cache already holds t = tanh(x): applying tanh to it again is one tanh too many.",
          "tanh applied to the cached output"),
        M("missing-square", "Check the local gradient: d tanh(x) / dx in terms of t has a square.",
          "1 - t instead of 1 - t**2"),
    ),
    "leaky_relu_backward": (
        M("alpha-ignored", "Where x is negative the gradient is not 0: the slope there is alpha.",
          "slope alpha forgotten (plain relu gradient)"),
        M("alpha-without-upstream", "Where x is negative, the local gradient alpha still multiplies dout.",
          "alpha instead of alpha * dout"),
        M("mask-on-dout", "The mask is taken on dout: which slope applies depends on the layer's input x.",
          "mask taken on dout instead of x"),
    ),
    # notebook 03: losses
    "softmax_loss": (
        M("no-max-shift", "exp overflows for large scores: shift each row by its maximum before exp (the "
          "probabilities do not change).", "no max shift: nan or inf for large scores", probe="nonfinite"),
        M("forgot-minus-one", "dx misses the correct class's term: d loss / d score of the correct class has an "
          "extra -1.", "forgot the -1 at the correct class"),
        M("grad-not-averaged", "dx is N times too large: the loss is a mean over the batch, so is its gradient.",
          "dx not divided by N"),
        M("loss-not-averaged", "The loss is summed over the batch: it is the mean of the examples' losses.",
          "loss not divided by N"),
        M("sign-flipped", "dx has the wrong sign: it is the gradient of the loss, probabilities minus one-hot.",
          "dx with its sign flipped", probe="sign", part="dx"),
        M("wrong-class-index", "The -1 lands in the wrong entries: each row's correct class is one entry, "
          "row i and column y[i].", "correct classes indexed wrongly (e.g. dx[:, y])"),
        M("normalized-over-batch", "The probabilities are normalized over the batch: each example's scores "
          "become probabilities on their own row.", "softmax normalized over axis 0"),
        M("loop-off-by-one", "One example is skipped or handled twice: check where your loop starts and stops.",
          "a loop over the examples off by one"),
        _MODIFIES,
    ),
    "svm_loss": (
        M("correct-class-counted", "The correct class is counted in the hinge sum: its own margin is always 1 "
          "and must be left out.", "correct class counted in the hinge sum"),
        M("no-correct-class-gradient", "dx misses the correct class's entries: its score appears in every "
          "violating margin.", "no gradient at the correct class"),
        M("grad-not-averaged", "dx is N times too large: the loss is a mean over the batch, so is its gradient.",
          "dx not divided by N"),
        M("loss-not-averaged", "The loss is summed over the batch: it is the mean of the examples' losses.",
          "loss not divided by N"),
        M("margin-zero", "Check the margin: the hinge is max(0, s_j - s_y + 1), with a margin of 1.",
          "hinge without the margin of 1"),
        M("minus-one-not-count", "The correct class gets -1: it gets minus one for *every* class over the margin.",
          "correct class gets -1 instead of minus the count"),
        M("counts-every-class", "Every class is counted as over the margin: test the margins before clipping "
          "them at 0.", "every class counted as violating"),
        M("correct-class-sign", "The correct class's gradient has the wrong sign: raising its score lowers the "
          "loss.", "+count instead of -count at the correct class"),
        M("loop-off-by-one", "One example is skipped or handled twice: check where your loop starts and stops.",
          "a loop over the examples off by one"),
        _MODIFIES,
    ),
    # notebook 04: the two-layer net
    "two_layer_net_loss": (
        M("reg-gradient-missing", "The loss has the L2 term, the weight gradients do not: add its gradient "
          "(reg = 0 hides it).", "regularization missing from the weight gradients"),
        M("reg-gradient-doubled", "The regularization gradient is twice too large: the loss uses 0.5 * reg.",
          "2 * reg * W with the 0.5 * reg convention"),
        M("relu-mask-from-gradient", "The relu mask is taken on the upstream gradient: it comes from the relu's "
          "input.", "relu mask from dh1 instead of the relu input"),
        M("db-not-summed", "A bias gradient keeps the batch axis: sum it over the examples.",
          "bias gradient not summed over the batch"),
        M("divided-by-n-twice", "dW1 is N times too small: the 1/N of the mean is already in the scores' "
          "gradient.", "divides by N twice"),
        M("missing-transpose", "A matrix product is missing a transpose: compare each factor's shape with the "
          "shape the gradient must have.", "a product without its transpose", probe="matmul"),
    ),
    # notebook 05: autodiff
    "Plus": (
        M("one-gradient", "Plus has two inputs, so backward returns two gradients.", "one gradient for two inputs"),
        M("split-in-half", "An add passes the upstream gradient on unchanged to each input; it does not split it.",
          "gradient split in halves"),
    ),
    "Multiply": (
        M("not-swapped", "Each factor's gradient takes the *other* factor's value.", "multiply not swapped"),
        M("no-upstream", "The local derivatives alone are not the gradients: multiply them by goutput.",
          "local derivatives without goutput"),
    ),
    "MatMul": (
        M("missing-transpose", "A matrix product is missing a transpose: compare each factor's shape with the "
          "shape the gradient must have.", "no transposes", probe="matmul"),
        M("gb-transposed", "gb has its axes swapped: it must have b's shape.", "gb transposed",
          probe="transposed", part="db"),
    ),
    "Sigmoid": (
        M("input-as-output", "The local gradient takes the sigmoid's *output*: save that in forward, not its "
          "input.", "sigmoid's derivative formula applied to its input"),
        M("no-upstream", "The local derivative alone is not the gradient: multiply it by goutput.",
          "local derivative without goutput"),
    ),
    "RowSum": (
        M("wrong-axis", "The gradient is copied along the wrong axis: it must have x's shape.",
          "gradient copied down the columns"),
        M("no-upstream", "Ones are the local derivative alone: each row's entries get that row's goutput.",
          "ones without goutput"),
    ),
    "Expand": (
        M("first-row", "Only the first copy's gradient is kept: every copy used x, so their gradients add up.",
          "gradient of the first copy only"),
        M("mean-not-sum", "The copies' gradients are averaged: every copy used x, so they add up.",
          "mean over the copies instead of the sum"),
    ),
    "Linear": (
        M("bias-detached", "b never gets a gradient: use the layer's own b in the graph, not a copy of its value.",
          "bias added as a detached copy"),
        M("no-bias", "The layer forgets its bias: x @ w + b.", "no bias"),
    ),
}
