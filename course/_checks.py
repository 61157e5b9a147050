"""Argument checks shared by the layers and losses: clear messages for bad input.

Every message names the argument, what was expected and what arrived, so that a
student reading a traceback knows which array to look at.
"""

from __future__ import annotations

import numpy as np


def as_float_array(name: str, value) -> np.ndarray:
    """Return `value` as a floating-point ndarray or raise a TypeError naming `name`."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_ndim(name: str, arr: np.ndarray, ndim: int, letters: str) -> None:
    """Raise a ValueError unless `arr` has exactly `ndim` dimensions (described by `letters`)."""
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape ({letters}), got shape {arr.shape}")


def check_labels(y, n: int, c: int) -> np.ndarray:
    """Return labels `y` as an int array of shape (n,) with values in [0, c), or raise."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must have shape (N,) = ({n},) to match x, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.intp)
        else:
            raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= c):
        bad = y[(y < 0) | (y >= c)][0]
        raise ValueError(f"labels in y must lie in [0, C) = [0, {c}), found {bad}")
    return y


def check_same_shape(name: str, arr: np.ndarray, other_name: str, shape: tuple) -> None:
    """Raise a ValueError unless `arr` has the given `shape` (that of `other_name`)."""
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{name} must have the same shape as {other_name}, {tuple(shape)}, got {arr.shape}"
        )
