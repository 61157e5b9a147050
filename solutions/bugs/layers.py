"""Wrong answers to the layer exercises: affine, relu, sigmoid, tanh and leaky relu backward.

Every source is a complete function with the exercise's name and signature that uses
only ``np``: it is exec'd by the library tests and pasted into solution cells by the
grading tests. Each mistake is one students make; the description says what a report
should make them look at.
"""

from __future__ import annotations

from textwrap import dedent

from solutions.bugs import Bug


def _bug(exercise: str, name: str, code: str, description: str, source: str) -> Bug:
    return Bug(exercise, name, code, description, dedent(source).strip() + "\n")


AFFINE = [
    _bug("affine_backward", "dx_not_reshaped", "dx-not-reshaped",
         "dx left as (N, D): not reshaped back to x's shape (only shows for x with 3+ dims)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = dout @ w.T
             dw = x2.T @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dw_x_not_flattened", "dw-x-not-flattened",
         "dw uses x.T without flattening x to (N, D) first (only shows for x with 3+ dims)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             dx = (dout @ w.T).reshape(x.shape)
             dw = np.dot(x.T, dout)
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dw_reshape_not_transpose", "dw-scrambled",
         "dw flattens x with reshape(D, N) instead of transposing: right shape, scrambled values",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2.reshape(w.shape[0], -1) @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "db_first_row", "db-one-row",
         "db = dout[0]: the bias gradient of the first example only, not summed over the batch",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2.T @ dout
             db = dout[0]
             return dx, dw, db
         """),
    _bug("affine_backward", "db_mean", "db-mean",
         "db = dout.mean(0): averaged over the batch instead of summed (1/N too small; N=1 hides it)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2.T @ dout
             db = dout.mean(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "db_wrong_axis", "db-wrong-axis",
         "db = dout.sum(axis=1): summed over the outputs instead of the batch (shape (N,))",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2.T @ dout
             db = dout.sum(axis=1)
             return dx, dw, db
         """),
    _bug("affine_backward", "dw_transposed", "dw-transposed",
         "dw = dout.T @ x: the transpose of the right answer (passes a shape check when w is square)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = dout.T @ x2
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dw_missing_x_transpose", "missing-transpose",
         "dw = x @ dout: the transpose of x forgotten (only runs when N == D)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2 @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dx_w_not_transposed", "missing-transpose",
         "dx = dout @ w instead of dout @ w.T (only runs when w is square)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w).reshape(x.shape)
             dw = x2.T @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dx_divided_by_n", "extra-factor",
         "dx divided by the batch size, as if the layer averaged over the batch",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             n = x.shape[0]
             x2 = x.reshape(n, -1)
             dx = (dout @ w.T).reshape(x.shape) / n
             dw = x2.T @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "dw_sign_flipped", "sign-flipped",
         "dw with the sign flipped (a gradient-descent step folded into the gradient)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = -(x2.T @ dout)
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
    _bug("affine_backward", "wrong_order", "wrong-order",
         "returns dw, dx, db: the gradients in another order than the inputs (x, w, b)",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             x2 = x.reshape(x.shape[0], -1)
             dx = (dout @ w.T).reshape(x.shape)
             dw = x2.T @ dout
             db = dout.sum(axis=0)
             return dw, dx, db
         """),
    _bug("affine_backward", "reshapes_cache_in_place", "modifies-input",
         "x.shape = (N, D) changes the cached array itself: right gradients, modified cache",
         """
         def affine_backward(dout, cache):
             x, w, b = cache
             shape = x.shape
             x.shape = (shape[0], -1)
             dx = (dout @ w.T).reshape(shape)
             dw = x.T @ dout
             db = dout.sum(axis=0)
             return dx, dw, db
         """),
]

RELU = [
    _bug("relu_backward", "mask_on_dout", "mask-on-dout",
         "mask taken on dout instead of the cached input x",
         """
         def relu_backward(dout, cache):
             x = cache
             return np.where(dout > 0, dout, 0.0)
         """),
    _bug("relu_backward", "modifies_dout", "modifies-input",
         "dout[x <= 0] = 0 zeroes the caller's upstream gradient in place",
         """
         def relu_backward(dout, cache):
             x = cache
             dout[x <= 0] = 0
             return dout
         """),
    _bug("relu_backward", "modifies_cache", "modifies-input",
         "x[x < 0] = 0 on the cache: right gradient, but the cached input is destroyed",
         """
         def relu_backward(dout, cache):
             x = cache
             x[x < 0] = 0
             return dout * (x > 0)
         """),
    _bug("relu_backward", "missing_dout", "no-upstream",
         "returns the local gradient (x > 0) without multiplying by the upstream gradient",
         """
         def relu_backward(dout, cache):
             x = cache
             return (x > 0).astype(float)
         """),
    _bug("relu_backward", "times_output", "times-output",
         "multiplies dout by relu(x) instead of by the indicator x > 0",
         """
         def relu_backward(dout, cache):
             x = cache
             return dout * np.maximum(x, 0)
         """),
    _bug("relu_backward", "inverted_mask", "inverted-mask",
         "passes the gradient where x < 0 instead of where x > 0",
         """
         def relu_backward(dout, cache):
             x = cache
             return np.where(x < 0, dout, 0.0)
         """),
    _bug("relu_backward", "no_mask", "no-mask",
         "returns dout unchanged: the relu's gradient passed through everywhere",
         """
         def relu_backward(dout, cache):
             x = cache
             return dout.copy()
         """),
]

SIGMOID = [
    _bug("sigmoid_backward", "missing_dout", "no-upstream",
         "returns s * (1 - s) without multiplying by the upstream gradient",
         """
         def sigmoid_backward(dout, cache):
             s = cache
             return s * (1 - s)
         """),
    _bug("sigmoid_backward", "input_formula_on_output", "sigmoid-of-output",
         "applies sigma(x) (1 - sigma(x)) to the cache, which already holds s = sigma(x)",
         """
         def sigmoid_backward(dout, cache):
             s = cache
             sig = 1 / (1 + np.exp(-s))
             return dout * sig * (1 - sig)
         """),
    _bug("sigmoid_backward", "sign_flipped", "wrong-local-gradient",
         "dout * s * (s - 1): the factors of the derivative in the wrong order",
         """
         def sigmoid_backward(dout, cache):
             s = cache
             return dout * s * (s - 1)
         """),
    _bug("sigmoid_backward", "tanh_formula", "wrong-local-gradient",
         "uses tanh's derivative 1 - s**2 for the sigmoid",
         """
         def sigmoid_backward(dout, cache):
             s = cache
             return dout * (1 - s**2)
         """),
    _bug("sigmoid_backward", "modifies_cache", "modifies-input",
         "s *= 1 - s overwrites the cached output in place",
         """
         def sigmoid_backward(dout, cache):
             s = cache
             s *= 1 - s
             return dout * s
         """),
]

TANH = [
    _bug("tanh_backward", "missing_square", "missing-square",
         "1 - t instead of 1 - t**2",
         """
         def tanh_backward(dout, cache):
             t = cache
             return dout * (1 - t)
         """),
    _bug("tanh_backward", "input_formula_on_output", "tanh-of-output",
         "1 - tanh(t)**2 applied to the cache, which already holds t = tanh(x)",
         """
         def tanh_backward(dout, cache):
             t = cache
             return dout * (1 - np.tanh(t) ** 2)
         """),
    _bug("tanh_backward", "missing_dout", "no-upstream",
         "returns 1 - t**2 without multiplying by the upstream gradient",
         """
         def tanh_backward(dout, cache):
             t = cache
             return 1 - t**2
         """),
]

LEAKY_RELU = [
    _bug("leaky_relu_backward", "alpha_ignored", "alpha-ignored",
         "gradient 0 for x <= 0, as for a plain relu: the slope alpha forgotten",
         """
         def leaky_relu_backward(dout, cache):
             x, alpha = cache
             return np.where(x > 0, dout, 0.0)
         """),
    _bug("leaky_relu_backward", "alpha_without_dout", "alpha-without-upstream",
         "alpha instead of alpha * dout for x <= 0",
         """
         def leaky_relu_backward(dout, cache):
             x, alpha = cache
             return np.where(x > 0, dout, alpha)
         """),
    _bug("leaky_relu_backward", "mask_on_dout", "mask-on-dout",
         "mask taken on dout instead of the cached input x",
         """
         def leaky_relu_backward(dout, cache):
             x, alpha = cache
             return np.where(dout > 0, dout, alpha * dout)
         """),
]

BUGS: list[Bug] = AFFINE + RELU + SIGMOID + TANH + LEAKY_RELU
