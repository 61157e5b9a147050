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

__all__ = [
    "absolute_error_backward",
    "affine_backward",
    "affine_param_backward",
    "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_backward",
    "binary_hinge_backward",
    "leaky_relu_backward",
    "relu_backward",
    "sigmoid_backward",
    "softmax_loss",
    "softmax_loss_backward",
    "squared_error_backward",
    "svm_loss",
    "svm_loss_backward",
    "tanh_backward",
]
