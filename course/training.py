"""Training a two-layer net with minibatch SGD, whatever loss-and-gradient function you wrote.

The net is affine - relu - affine - softmax with parameters in a dict
``{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}``. `train` takes the loss
function as an argument, ``loss_fn(params, X, y, reg) -> (loss, grads)`` with grads a
dict shaped like params, so the same loop trains your notebook's function or any other.
Shapes use N (batch), D (features), H (hidden units) and C (classes).

The regularized loss is the mean softmax loss plus ``0.5 * reg * (||W1||^2 + ||W2||^2)``
(the 1/2 makes its gradient simply ``reg * W``); biases are not regularized.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from course.layers import affine_forward, relu_forward
from course.losses import softmax_loss_forward
from course.notwritten import culprit, not_written

__all__ = [
    "DIGITS",
    "PARAM_NAMES",
    "Settings",
    "History",
    "accuracy",
    "init_two_layer_net",
    "plot_history",
    "plot_weights",
    "predict",
    "digits_split",
    "train",
    "train_on_digits",
    "two_layer_net_forward_loss",
    "two_layer_net_scores",
]

PARAM_NAMES = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Settings:
    """How notebook 04 trains its net on the digits, and the accuracy it must reach.

    One place for these numbers: the notebook reads them from here, and so does its graded
    check (the same run, seeded per student, must reach `accuracy_needed`).
    """

    hidden: int = 64  # H, hidden units
    scale: float = 0.1  # of the initial weights
    learning_rate: float = 0.1
    reg: float = 1e-3
    epochs: int = 20
    batch_size: int = 32
    data_seed: int = 0  # the split of the digits
    accuracy_needed: float = 0.92  # on the validation set


DIGITS = Settings()


def init_two_layer_net(D, H, C, rng, scale=1e-2):
    """Small random weights and zero biases: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).

    Weights are ``scale`` times standard normal draws from rng (a np.random.Generator);
    small random weights break the symmetry between hidden units (zero weights would
    give every unit the same gradient forever).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    for name, value in (("D", D), ("H", H), ("C", C)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return {
        "W1": scale * rng.standard_normal((D, H)),
        "b1": np.zeros(H),
        "W2": scale * rng.standard_normal((H, C)),
        "b2": np.zeros(C),
    }


def _check_params(params):
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {list(PARAM_NAMES)}, got {got}")


def two_layer_net_scores(params, X):
    """Class scores of the net: relu(X W1 + b1) W2 + b2. X: (N, D). Returns (N, C)."""
    _check_params(params)
    hidden, _ = relu_forward(affine_forward(X, params["W1"], params["b1"])[0])
    return affine_forward(hidden, params["W2"], params["b2"])[0]


def two_layer_net_forward_loss(params, X, y, reg=0.0):
    """The regularized loss alone (no gradients), from the course's forward passes.

    X: (N, D), y: (N,) labels in [0, C). Returns a float: the mean softmax loss plus
    ``0.5 * reg * (sum(W1**2) + sum(W2**2))``. Gradient checks differentiate this
    function numerically, so they never depend on the loss you are checking.
    """
    loss, _ = softmax_loss_forward(two_layer_net_scores(params, X), y)
    return loss + 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))


def predict(params, X):
    """Predicted class of each row of X (N, D): the index of the largest score. Returns (N,)."""
    return np.argmax(two_layer_net_scores(params, X), axis=1)


def accuracy(params, X, y):
    """Fraction of rows of X (N, D) whose predicted class equals the label in y (N,)."""
    y = np.asarray(y)
    if y.shape != (np.shape(X)[0],):
        raise ValueError(f"y must have shape (N,) = ({np.shape(X)[0]},), got {y.shape}")
    return float(np.mean(predict(params, X) == y))


@dataclass
class History:
    """What `train` returns: the trained params and what happened on the way.

    loss: the minibatch loss of every iteration; train_acc and val_acc: accuracy on the
    whole training and validation sets after each epoch.
    """

    params: dict
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)

    @property
    def best_val_acc(self) -> float:
        return max(self.val_acc) if self.val_acc else float("nan")


def _check_grads(grads, params, loss, iteration):
    if not np.isfinite(loss):
        raise FloatingPointError(
            f"the loss is {loss} at iteration {iteration}: the training diverged "
            f"(learning rate too large?) or the loss function returns nan"
        )
    if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise ValueError(f"the loss function must return grads as a dict with keys "
                         f"{list(PARAM_NAMES)}, got {got}")
    for name in PARAM_NAMES:
        if np.shape(grads[name]) != params[name].shape:
            raise ValueError(f"grads[{name!r}] has shape {np.shape(grads[name])}, "
                             f"expected {params[name].shape} (the shape of {name})")


def _progress_bar(total, enabled):
    """A tqdm bar on stdout whose text depends only on the progress, never on the clock.

    It redraws at every update (mininterval=0) and shows no rates or times, so a notebook's
    saved output is the same on every run; stdout, because graders treat stderr as an error.
    """
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, file=sys.stdout, mininterval=0, miniters=1,
                ncols=80, ascii=True, unit="epoch",
                bar_format="{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} epochs{postfix}")


def train(loss_fn, params, X_train, y_train, X_val, y_val, rng, *, learning_rate=0.1,
          reg=0.0, epochs=10, batch_size=100, lr_decay=1.0, progress=False):
    """Minibatch stochastic gradient descent on ``loss_fn``.

    loss_fn(params, X, y, reg) -> (loss, grads), grads a dict shaped like params.
    params: the starting point (not modified; `History.params` holds the result).
    X_train (N, D), y_train (N,), X_val, y_val: the data; rng: np.random.Generator that
    shuffles the training set at every epoch. Each epoch visits every training example
    once in minibatches of batch_size; after each epoch the learning rate is multiplied
    by lr_decay. progress: show a progress bar (on stdout). Returns a `History`.
    """
    _check_params(params)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    n = len(X_train)
    if len(y_train) != n or len(X_val) != len(y_val):
        raise ValueError("X and y must have the same number of rows (N) in both sets")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    # work on copies: the caller's starting point stays as it was
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    history = History(params=params)
    with _progress_bar(epochs, progress) as bar:
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                batch = order[start:start + batch_size]
                try:
                    loss, grads = loss_fn(params, X_train[batch], y_train[batch], reg)
                except NotImplementedError as err:
                    name = getattr(loss_fn, "__name__", "the loss function")
                    raise not_written(f"{name} is not written yet: complete it above, then rerun this cell",
                                      culprit(err) or name) from err
                loss = float(loss)
                _check_grads(grads, params, loss, len(history.loss))
                for name in PARAM_NAMES:
                    # the step goes against the gradient, scaled by the learning rate
                    params[name] -= learning_rate * grads[name]
                history.loss.append(loss)
            history.train_acc.append(accuracy(params, X_train, y_train))
            history.val_acc.append(accuracy(params, X_val, y_val))
            learning_rate *= lr_decay
            bar.set_postfix_str(f"loss {loss:.3f}, val acc {history.val_acc[-1]:.3f}",
                                refresh=False)
            bar.update(1)
    return history


def digits_split(settings: Settings = DIGITS):
    """The digits split as notebook 04 uses it (`course.data.load_digits`, seeded)."""
    from course.data import load_digits

    return load_digits(np.random.default_rng(settings.data_seed))


def train_on_digits(loss_fn, seed: int, settings: Settings = DIGITS, progress: bool = False) -> History:
    """Train a fresh net with loss_fn on the digits, as notebook 04 does; seed: its rng."""
    data = digits_split(settings)
    rng = np.random.default_rng(seed)
    start = init_two_layer_net(data.num_features, settings.hidden, data.num_classes, rng, scale=settings.scale)
    return train(loss_fn, start, data.X_train, data.y_train, data.X_val, data.y_val, rng,
                 learning_rate=settings.learning_rate, reg=settings.reg, epochs=settings.epochs,
                 batch_size=settings.batch_size, progress=progress)


def _require_history(history):
    if not isinstance(history, History):
        raise ValueError("no training history to plot: run the training cell first "
                         f"(got {type(history).__name__})")


def plot_history(history, smooth=20):
    """Two panels: the minibatch loss per iteration (and its running mean), and accuracy per epoch.

    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    _require_history(history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    loss = np.asarray(history.loss)
    ax_loss.plot(loss, color="0.75", lw=0.8, label="minibatch")
    if len(loss) >= smooth > 1:
        # a running mean shows the trend through the minibatch noise
        mean = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        ax_loss.plot(np.arange(smooth - 1, len(loss)), mean, color="C0", label=f"mean of {smooth}")
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    ax_loss.legend()
    epochs = np.arange(1, len(history.val_acc) + 1)
    ax_acc.plot(epochs, history.train_acc, "o-", label="train")
    ax_acc.plot(epochs, history.val_acc, "s-", label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.legend()
    fig.tight_layout()
    return fig


def plot_weights(W1, image_shape=(8, 8), columns=8, max_units=32, title="first-layer weights"):
    """The first layer's weights as images: column j of W1 (D, H) reshaped to image_shape.

    W1 may also be a `History`, whose trained ``params["W1"]`` is shown. Each hidden unit
    computes a dot product of the input with its column, so the image shows which pixels
    push that unit up (light) or down (dark). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if W1 is None:
        _require_history(W1)
    if isinstance(W1, History):
        W1 = W1.params["W1"]
    W1 = np.asarray(W1)
    if W1.ndim != 2 or W1.shape[0] != int(np.prod(image_shape)):
        raise ValueError(f"W1 must have shape (D, H) with D = {int(np.prod(image_shape))} "
                         f"for images of {image_shape}, got {W1.shape}")
    units = min(W1.shape[1], max_units)
    rows = -(-units // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.1), squeeze=False)
    for j, ax in enumerate(axes.flat):
        ax.axis("off")
        if j < units:
            w = W1[:, j].reshape(image_shape)
            lim = np.abs(w).max() or 1.0  # symmetric color range: 0 is always mid-gray
            ax.imshow(w, cmap="gray", vmin=-lim, vmax=lim)
    fig.suptitle(f"{title} of {units} hidden units")
    return fig
