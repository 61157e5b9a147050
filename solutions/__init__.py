"""The answer key: reference backward passes for every forward pass in `course`.

Never part of what students receive. Executed solution notebooks live beside this
package in ``solutions/<assignment>/``.
"""

from solutions.layers import (
    affine_backward,
    affine_param_backward,
    leaky_relu_backward,
    relu_backward,
    sigmoid_backward,
    tanh_backward,
)
from solutions.losses import (
    absolute_error_backward,
    binary_cross_entropy_backward,
    binary_cross_entropy_with_logits_backward,
    binary_hinge_backward,
    softmax_loss,
    softmax_loss_backward,
    squared_error_backward,
    svm_loss,
    svm_loss_backward,
)


def reference(name: str):
    """The reference answer to the exercise function (or class) `name`, from any topic module."""
    from solutions import autodiff, circuits, layers, losses, two_layer_net

    for module in (layers, losses, circuits, two_layer_net, autodiff):
        found = getattr(module, name, None)
        if found is not None and not isinstance(found, type(autodiff)):
            return found
    raise KeyError(f"the answer key has no reference for {name!r}")


def namespace() -> dict:
    """What the reference answers run with: every name of the answer key's topic modules."""
    from solutions import autodiff, circuits, layers, losses, two_layer_net

    found = {}
    for module in (layers, losses, circuits, two_layer_net, autodiff):
        found |= {k: v for k, v in vars(module).items() if not k.startswith("_")}
    return found


__all__ = [
    "absolute_error_backward",
    "affine_backward",
    "affine_param_backward",
    "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_backward",
    "binary_hinge_backward",
    "leaky_relu_backward",
    "namespace",
    "reference",
    "relu_backward",
    "sigmoid_backward",
    "softmax_loss",
    "softmax_loss_backward",
    "squared_error_backward",
    "svm_loss",
    "svm_loss_backward",
    "tanh_backward",
]
