"""Data sets for the notebooks: handwritten digits, a toy spiral, and CIFAR-10 from disk.

Nothing here downloads. The digits (1797 images of 8x8 pixels, 10 classes) ship inside
scikit-learn; the spiral is generated; CIFAR-10 is read from a folder you already have.
Shapes use N (examples), D (features) and C (classes). Randomness comes only from the
``rng: np.random.Generator`` you pass, so the same seed gives the same split.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "Cifar10",
    "Split",
    "load_cifar10",
    "load_digits",
    "make_spiral",
    "split_and_normalize",
]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _require_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator such as np.random.default_rng(0), got {type(rng).__name__}"
        )
    return rng


@dataclass(frozen=True)
class Split:
    """A data set split into train, validation and test parts, normalized with train statistics.

    X_*: (N_*, D) float64, y_*: (N_*,) int64 labels in [0, C). mean and std: (D,), the
    per-feature statistics of the *raw* training features; every part was transformed as
    ``(X_raw - mean) / std``, so no information from validation or test leaks into it.
    Features that are constant in the training set get std 1 (they are only centered).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    @property
    def num_features(self) -> int:
        """D, the number of features of one example."""
        return self.X_train.shape[1]

    @property
    def num_classes(self) -> int:
        """C, one more than the largest label in any part."""
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    def denormalize(self, X: np.ndarray) -> np.ndarray:
        """Undo the normalization: (N, D) normalized features back to raw feature values."""
        return X * self.std + self.mean


def _stratified_indices(y, fractions, rng):
    """Split indices 0..N-1 into len(fractions) + 1 shuffled parts, class by class.

    Each class contributes round(fraction * its count) examples to each of the first
    parts and the rest to the last one, so every part keeps the class proportions.
    """
    parts = [[] for _ in range(len(fractions) + 1)]
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        start = 0
        for k, frac in enumerate(fractions):
            size = round(frac * len(idx))
            parts[k].append(idx[start:start + size])
            start += size
        parts[-1].append(idx[start:])
    # shuffle within each part so that minibatches taken in order are not sorted by class
    return [rng.permutation(np.concatenate(p)) for p in parts]


def split_and_normalize(X, y, rng, val_fraction=0.15, test_fraction=0.15) -> Split:
    """Stratified train/val/test split of X (N, D) and y (N,), normalized on train only."""
    rng = _require_rng(rng)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({X.shape[0]},), got {y.shape}")
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < frac < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {frac}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1 to leave training data, "
            f"got {val_fraction} + {test_fraction}"
        )
    val, test, train = _stratified_indices(y, (val_fraction, test_fraction), rng)
    mean = X[train].mean(axis=0)
    std = X[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant pixel carries no information to rescale

    def norm(idx):
        return (X[idx] - mean) / std, y[idx].astype(np.int64)

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = norm(train), norm(val), norm(test)
    return Split(X_train, y_train, X_val, y_val, X_test, y_test, mean, std)


def load_digits(rng, val_fraction=0.15, test_fraction=0.15) -> Split:
    """scikit-learn's handwritten digits, split and normalized (see `Split`).

    1797 grayscale images of 8x8 pixels (D = 64, values 0..16) in C = 10 classes. The split
    is stratified by class and shuffled with rng; with the default fractions it gives
    about 1257 training, 270 validation and 270 test examples. Reshape a row to (8, 8)
    to see the image. Nothing is downloaded: the data ship with scikit-learn.
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    digits = _sklearn_digits()
    return split_and_normalize(digits.data, digits.target, rng, val_fraction, test_fraction)


def make_spiral(n_per_class, n_classes, rng, noise=0.2):
    """The cs231n spiral: n_classes arms of n_per_class points each in the plane.

    Arm j has radii evenly spaced in [0, 1] and angles evenly spaced in [4j, 4(j+1)]
    radians plus Gaussian noise of standard deviation `noise`: no straight line separates
    the classes, so a linear classifier fails where a two-layer net succeeds.
    Returns X (N, 2) float64 and y (N,) int64, N = n_per_class * n_classes, ordered by class.
    """
    rng = _require_rng(rng)
    for name, value in (("n_per_class", n_per_class), ("n_classes", n_classes)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    radius = np.linspace(0.0, 1.0, n_per_class)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    for j in range(n_classes):
        theta = np.linspace(4.0 * j, 4.0 * (j + 1), n_per_class)
        theta = theta + noise * rng.standard_normal(n_per_class)
        rows = slice(j * n_per_class, (j + 1) * n_per_class)
        X[rows, 0] = radius * np.sin(theta)
        X[rows, 1] = radius * np.cos(theta)
    return X, y


@dataclass(frozen=True)
class Cifar10:
    """CIFAR-10 as stored on disk, unnormalized.

    X_train: (50000, 32, 32, 3) uint8 images (height, width, RGB), y_train: (50000,) int64;
    X_test: (10000, 32, 32, 3), y_test: (10000,). Convert to float64 and normalize before
    training; ``X.reshape(len(X), -1)`` gives the (N, D = 3072) rows an affine layer takes.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple = CIFAR10_CLASSES


_CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


def _load_cifar_batch(path: Path):
    """One pickled batch: a dict with b"data" (n, 3072) uint8 and b"labels" (n,) ints."""
    if not path.is_file():
        raise FileNotFoundError(
            f"CIFAR-10 batch {path.name!r} is missing from {path.parent}: the folder must hold "
            f"{', '.join(_CIFAR_BATCHES)} and test_batch (the 'python version' of CIFAR-10, "
            f"cifar-10-batches-py)"
        )
    with path.open("rb") as f:
        # The official files are Python 2 pickles: encoding="bytes" keeps their keys as bytes.
        batch = pickle.load(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{path} does not hold a CIFAR-10 batch (a dict), got {type(batch).__name__}")
    # accept str keys too, as written by Python 3 tools
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path} has no 'data' and 'labels' entries: not a CIFAR-10 batch")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{path}: data must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"{path}: labels must be {data.shape[0]} integers in [0, 9]")
    # each row is the red plane, then green, then blue, each 32x32 in row-major order
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def load_cifar10(folder) -> Cifar10:
    """Read CIFAR-10 from a local folder in the standard Python pickle format.

    folder: the unpacked ``cifar-10-batches-py`` directory, holding data_batch_1 ..
    data_batch_5 and test_batch. Nothing is downloaded; a missing folder or batch raises
    FileNotFoundError naming it. Only load files you trust: pickle can run code.
    Returns a `Cifar10` with uint8 images of shape (N, 32, 32, 3).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 folder {str(folder)!r} does not exist: download and unpack the "
            f"'python version' (cifar-10-python.tar.gz) and pass the cifar-10-batches-py folder"
        )
    parts = [_load_cifar_batch(folder / name) for name in _CIFAR_BATCHES]
    X_test, y_test = _load_cifar_batch(folder / "test_batch")
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return Cifar10(X_train, y_train, X_test, y_test)
