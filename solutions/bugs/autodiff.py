"""Wrong answers to notebook 05's exercises: the backward of each op, and the Linear module.

Every source is a complete class with the exercise's name (the whole solution cell), so
it can replace the cell in a notebook or be loaded with `Bug.load`. The names each class
needs besides ``np`` are given at the end of its description, as ``needs: ...``; they
are the ones the notebook imports (``Op``, ``TensorNode`` from `course.autodiff`,
``sigmoid`` from `course.layers`) or defines (``Plus``, ``MatMul``, ``Expand``).
"""

from __future__ import annotations

from textwrap import dedent

from solutions.bugs import Bug

_OP = "needs: Op"


def _bug(exercise: str, name: str, code: str, description: str, source: str) -> Bug:
    return Bug(exercise, name, code, description, dedent(source).strip() + "\n")


_PLUS_FORWARD = '''
class Plus(Op):
    @staticmethod
    def forward(context, a, b):
        if a.shape != b.shape:
            raise ValueError(f"Plus adds tensors of one shape, got {a.shape} and {b.shape}")
        return a + b
'''

_MULTIPLY_FORWARD = '''
class Multiply(Op):
    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a * b
'''

_MATMUL_FORWARD = '''
class MatMul(Op):
    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a @ b
'''

_ROWSUM_FORWARD = '''
class RowSum(Op):
    @staticmethod
    def forward(context, x):
        context["m"] = x.shape[1]
        return x.sum(axis=1)
'''

_EXPAND_FORWARD = '''
class Expand(Op):
    @staticmethod
    def forward(context, x, *, size):
        return np.repeat(x[None], size, axis=0)
'''


def _op(exercise, name, code, description, forward, backward_body):
    """A bug that keeps the given forward and replaces the body of backward."""
    backward = "\n    @staticmethod\n    def backward(context, goutput):\n" + "".join(
        f"        {line}\n" for line in dedent(backward_body).strip().split("\n")
    )
    return _bug(exercise, name, code, f"{description}; {_OP}", forward.strip("\n") + "\n" + backward)


BUGS = [
    _op("Plus", "one_gradient", "one-gradient",
        "returns goutput alone: one gradient for two inputs",
        _PLUS_FORWARD, "return goutput"),
    _op("Plus", "split_in_half", "split-in-half",
        "splits the gradient between the inputs (goutput / 2 each) instead of copying it",
        _PLUS_FORWARD, "return goutput / 2, goutput / 2"),
    _op("Multiply", "not_swapped", "not-swapped",
        "gives each factor its own value (goutput * a for a) instead of the other factor's",
        _MULTIPLY_FORWARD, 'a, b = context["a"], context["b"]\nreturn goutput * a, goutput * b'),
    _op("Multiply", "no_upstream", "no-upstream",
        "returns the local derivatives (b, a) without multiplying by goutput",
        _MULTIPLY_FORWARD, 'a, b = context["a"], context["b"]\nreturn b, a'),
    _op("MatMul", "no_transpose", "missing-transpose",
        "goutput @ b and a @ goutput: no transposes (runs only when every size agrees)",
        _MATMUL_FORWARD, 'a, b = context["a"], context["b"]\nreturn goutput @ b, a @ goutput'),
    _op("MatMul", "gb_transposed", "gb-transposed",
        "gb = goutput.T @ a: the transpose of the right gradient, shaped (M, D)",
        _MATMUL_FORWARD, 'a, b = context["a"], context["b"]\nreturn goutput @ b.T, goutput.T @ a'),
    _bug("Sigmoid", "input_not_output", "input-as-output",
         f"saves the input x and returns goutput * x * (1 - x), as if x were the output; {_OP}, sigmoid",
         '''
         class Sigmoid(Op):
             @staticmethod
             def forward(context, x):
                 context["x"] = x
                 return sigmoid(x)

             @staticmethod
             def backward(context, goutput):
                 x = context["x"]
                 return goutput * x * (1 - x)
         '''),
    _bug("Sigmoid", "no_upstream", "no-upstream",
         f"returns the local derivative sigx (1 - sigx) without the factor goutput; {_OP}, sigmoid",
         '''
         class Sigmoid(Op):
             @staticmethod
             def forward(context, x):
                 sigx = sigmoid(x)
                 context["sigx"] = sigx
                 return sigx

             @staticmethod
             def backward(context, goutput):
                 sigx = context["sigx"]
                 return sigx * (1 - sigx)
         '''),
    _op("RowSum", "wrong_axis", "wrong-axis",
        "copies goutput down the columns instead of along the rows: (M, N), transposed",
        _ROWSUM_FORWARD, 'm = context["m"]\nreturn np.repeat(goutput[None, :], m, axis=0)'),
    _op("RowSum", "ones_only", "no-upstream",
        "returns ones (N, M): the local derivative, not multiplied by goutput",
        _ROWSUM_FORWARD, 'm = context["m"]\nreturn np.ones((goutput.shape[0], m))'),
    _op("Expand", "first_row", "first-row",
        "returns the gradient of the first copy only (goutput[0]), not the sum over copies",
        _EXPAND_FORWARD, "return goutput[0]"),
    _op("Expand", "mean_not_sum", "mean-not-sum",
        "averages the gradients of the copies (mean over axis 0) instead of adding them",
        _EXPAND_FORWARD, "return goutput.mean(axis=0)"),
    _bug("Linear", "bias_detached", "bias-detached",
         "adds the bias as a new leaf holding a copy of b.value, so b never gets a gradient "
         "(the bias is not summed back over the batch); needs: TensorNode, Plus, MatMul",
         '''
         class Linear:
             def __init__(self, w, b):
                 self.w = w if isinstance(w, TensorNode) else TensorNode(w, name="w")
                 self.b = b if isinstance(b, TensorNode) else TensorNode(b, name="b")

             def parameters(self):
                 return [self.w, self.b]

             def __call__(self, x):
                 n = x.shape[0]
                 bias = TensorNode(np.repeat(self.b.value[None], n, axis=0))
                 return Plus.apply(MatMul.apply(x, self.w), bias)
         '''),
    _bug("Linear", "no_bias", "no-bias",
         "forgets the bias: x @ w only; needs: TensorNode, MatMul",
         '''
         class Linear:
             def __init__(self, w, b):
                 self.w = w if isinstance(w, TensorNode) else TensorNode(w, name="w")
                 self.b = b if isinstance(b, TensorNode) else TensorNode(b, name="b")

             def parameters(self):
                 return [self.w, self.b]

             def __call__(self, x):
                 return MatMul.apply(x, self.w)
         '''),
]
