"""Tests of course.data: digits split, spiral generator and the CIFAR-10 reader."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from course.data import Split, load_cifar10, load_digits, make_spiral, split_and_normalize


@pytest.fixture(scope="module")
def digits() -> Split:
    return load_digits(np.random.default_rng(0))


def test_digits_shapes_and_dtypes(digits):
    """Are the parts (N, 64) float64 with (N,) int64 labels, adding up to all 1797 images?"""
    parts = [(digits.X_train, digits.y_train), (digits.X_val, digits.y_val),
             (digits.X_test, digits.y_test)]
    for X, y in parts:
        assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == 64
        assert y.dtype == np.int64 and y.shape == (X.shape[0],)
    assert sum(len(y) for _, y in parts) == 1797
    assert digits.num_features == 64 and digits.num_classes == 10


def test_split_is_a_partition():
    """Does every example land in exactly one part (no leak between train, val and test)?"""
    ids = np.arange(200, dtype=np.float64)[:, None]  # one feature: the example's own index
    parts = split_and_normalize(ids, np.arange(200) % 4, np.random.default_rng(0))
    seen = np.concatenate([parts.denormalize(X)[:, 0] for X in (parts.X_train, parts.X_val, parts.X_test)])
    assert np.array_equal(np.sort(seen.round()), np.arange(200))
    assert (len(parts.y_train), len(parts.y_val), len(parts.y_test)) == (136, 32, 32)  # round(0.15 * 50) = 8 per class


def test_digits_normalized_with_train_statistics_only(digits):
    """Is the training part centered and scaled while val/test use train's mean and std?"""
    assert np.allclose(digits.X_train.mean(axis=0), 0, atol=1e-12)
    varying = digits.std != 1.0
    assert np.allclose(digits.X_train.std(axis=0)[varying], 1)
    # val was transformed with the same stats: undoing them gives raw pixel values 0..16
    raw_val = digits.denormalize(digits.X_val)
    assert np.allclose(raw_val, raw_val.round(), atol=1e-9)
    assert raw_val.min() > -1e-9 and raw_val.max() < 16 + 1e-9


def test_digits_constant_pixels_keep_unit_std(digits):
    """Does a pixel that is always 0 in training get std 1 instead of a division by zero?"""
    assert np.all(np.isfinite(digits.X_val)) and np.all(np.isfinite(digits.X_test))
    assert np.any(digits.std == 1.0)  # the corner pixels of the digits are always blank


def test_digits_stratified(digits):
    """Does every part hold each class in about the same proportion as the whole set?"""
    for y in (digits.y_train, digits.y_val, digits.y_test):
        frac = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(frac - 0.1) < 0.015)


def test_digits_seeded():
    """Does the same seed give the same split and another seed a different one?"""
    a, b = load_digits(np.random.default_rng(3)), load_digits(np.random.default_rng(3))
    c = load_digits(np.random.default_rng(4))
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_requires_generator():
    """Is an int seed in place of a Generator refused with a message that shows the fix?"""
    with pytest.raises(TypeError, match="default_rng"):
        load_digits(0)


@pytest.mark.parametrize("val, test", [(0.0, 0.2), (0.2, 1.0), (0.5, 0.5)])
def test_split_rejects_bad_fractions(val, test):
    """Are fractions that leave a part (or the training set) empty refused?"""
    X, y = np.zeros((20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match="fraction"):
        split_and_normalize(X, y, np.random.default_rng(0), val, test)


def test_split_rejects_mismatched_labels():
    """Does y with the wrong length raise a ValueError naming the expected shape?"""
    with pytest.raises(ValueError, match=r"\(N,\) = \(5,\)"):
        split_and_normalize(np.zeros((5, 2)), np.zeros(4), np.random.default_rng(0))


def test_split_does_not_modify_inputs():
    """Are the caller's X and y left untouched?"""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 4
    X0, y0 = X.copy(), y.copy()
    split_and_normalize(X, y, np.random.default_rng(0))
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_spiral_shapes_and_labels():
    """Does make_spiral return (K*n, 2) points and n labels of each class, ordered by class?"""
    X, y = make_spiral(50, 3, np.random.default_rng(0))
    assert X.shape == (150, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.array_equal(y, np.repeat([0, 1, 2], 50))


def test_spiral_radius_and_angle():
    """Without noise, does point i of arm j sit at radius i/(n-1) and angle 4j + 4i/(n-1)?"""
    n = 11
    X, _ = make_spiral(n, 2, np.random.default_rng(0), noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r, np.tile(np.linspace(0, 1, n), 2))
    # x = r sin(theta), y = r cos(theta)
    theta = 4 * 1 + 4 * np.linspace(0, 1, n)
    assert np.allclose(X[n:], np.c_[r[n:] * np.sin(theta), r[n:] * np.cos(theta)])


def test_spiral_is_not_linearly_separable():
    """Does a linear classifier fail on the spiral (the reason to use a two-layer net)?"""
    from sklearn.linear_model import LogisticRegression

    X, y = make_spiral(100, 3, np.random.default_rng(0))
    acc = LogisticRegression(max_iter=1000).fit(X, y).score(X, y)
    assert acc < 0.7


def test_spiral_seeded_and_validated():
    """Is the spiral reproducible from its rng, and is a zero count refused?"""
    a, _ = make_spiral(20, 3, np.random.default_rng(7))
    b, _ = make_spiral(20, 3, np.random.default_rng(7))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="n_per_class"):
        make_spiral(0, 3, np.random.default_rng(0))


# --- CIFAR-10 on small fake batches ---------------------------------------------------


def _write_batch(path, n, seed, str_keys=False):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    keys = ("data", "labels") if str_keys else (b"data", b"labels")
    with path.open("wb") as f:
        pickle.dump({keys[0]: data, keys[1]: labels, b"batch_label": b"fake"}, f)
    return data, labels


@pytest.fixture
def cifar_folder(tmp_path):
    written = {}
    for i in range(1, 6):
        written[f"data_batch_{i}"] = _write_batch(tmp_path / f"data_batch_{i}", 4, seed=i)
    written["test_batch"] = _write_batch(tmp_path / "test_batch", 3, seed=9)
    return tmp_path, written


def test_cifar_concatenates_batches_in_order(cifar_folder):
    """Are the five training batches stacked in order and labels kept as int64?"""
    folder, written = cifar_folder
    cifar = load_cifar10(folder)
    assert cifar.X_train.shape == (20, 32, 32, 3) and cifar.X_train.dtype == np.uint8
    assert cifar.X_test.shape == (3, 32, 32, 3)
    expected = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    assert cifar.y_train.dtype == np.int64 and np.array_equal(cifar.y_train, expected)
    assert np.array_equal(cifar.y_test, written["test_batch"][1])


def test_cifar_image_layout(cifar_folder):
    """Is a row's red plane, then green, then blue, unpacked into (32, 32, 3) pixels?"""
    folder, written = cifar_folder
    cifar = load_cifar10(folder)
    row = written["data_batch_1"][0][2]
    img = cifar.X_train[2]
    assert img[0, 0, 0] == row[0]  # red, top-left
    assert img[0, 1, 0] == row[1]  # red, next pixel to the right
    assert img[1, 0, 1] == row[1024 + 32]  # green, second row
    assert img[31, 31, 2] == row[3071]  # blue, bottom-right


def test_cifar_accepts_str_keys(tmp_path):
    """Does a batch pickled with str keys (by a Python 3 tool) load too?"""
    for i in range(1, 6):
        _write_batch(tmp_path / f"data_batch_{i}", 2, seed=i, str_keys=True)
    _write_batch(tmp_path / "test_batch", 2, seed=0, str_keys=True)
    assert load_cifar10(tmp_path).X_train.shape == (10, 32, 32, 3)


def test_cifar_missing_folder(tmp_path):
    """Does a folder that does not exist raise FileNotFoundError naming it?"""
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_cifar10(missing)


def test_cifar_missing_batch(cifar_folder):
    """Does a missing batch raise FileNotFoundError naming that batch?"""
    folder, _ = cifar_folder
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        load_cifar10(folder)


def test_cifar_rejects_wrong_shape(cifar_folder):
    """Is a batch whose rows are not 3072 bytes refused with the shape it found?"""
    folder, _ = cifar_folder
    with (folder / "test_batch").open("wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"\(2, 100\)"):
        load_cifar10(folder)
