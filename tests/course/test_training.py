"""Tests of course.training: initialization, the forward loss, accuracy, SGD and the plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests; must precede pyplot's import

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course.data import make_spiral
from course.losses import softmax_loss_forward
from course.training import (
    PARAM_NAMES,
    History,
    accuracy,
    init_two_layer_net,
    plot_history,
    plot_weights,
    predict,
    train,
    two_layer_net_forward_loss,
    two_layer_net_scores,
)


def _quadratic_loss(params, X, y, reg=0.0):
    """A loss with a known minimum, 0.5 * sum((p - 1)**2) over every parameter p."""
    loss = sum(0.5 * np.sum((p - 1.0) ** 2) for p in params.values())
    return loss, {k: p - 1.0 for k, p in params.items()}


def _softmax_net_loss(params, X, y, reg=0.0):
    """A correct loss-and-gradients of the net, written independently of solutions/."""
    a1 = X @ params["W1"] + params["b1"]
    h1 = np.maximum(a1, 0)
    scores = h1 @ params["W2"] + params["b2"]
    loss, (probs, _) = softmax_loss_forward(scores, y)
    n = len(y)
    ds = (probs - np.eye(scores.shape[1])[y]) / n
    dh1 = (ds @ params["W2"].T) * (a1 > 0)
    loss += 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return loss, {"W1": X.T @ dh1 + reg * params["W1"], "b1": dh1.sum(0),
                  "W2": h1.T @ ds + reg * params["W2"], "b2": ds.sum(0)}


def test_init_shapes_scale_and_zero_biases():
    """Are W1 (D, H), b1 (H,), W2 (H, C), b2 (C,) with weights of std about `scale`, biases 0?"""
    p = init_two_layer_net(64, 50, 10, np.random.default_rng(0), scale=0.1)
    assert {k: v.shape for k, v in p.items()} == {"W1": (64, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert abs(p["W1"].std() - 0.1) < 0.01
    assert not p["b1"].any() and not p["b2"].any()
    assert all(v.dtype == np.float64 for v in p.values())


def test_init_seeded_and_validated():
    """Does the same rng seed give the same weights, and are bad sizes and rngs refused?"""
    a = init_two_layer_net(3, 4, 2, np.random.default_rng(5))
    b = init_two_layer_net(3, 4, 2, np.random.default_rng(5))
    assert np.array_equal(a["W1"], b["W1"]) and np.array_equal(a["W2"], b["W2"])
    with pytest.raises(ValueError, match="H must be a positive integer"):
        init_two_layer_net(3, 0, 2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        init_two_layer_net(3, 4, 2, 0)


def test_forward_loss_matches_hand_computation():
    """Is the loss the mean softmax loss of relu(X W1 + b1) W2 + b2 plus 0.5 reg ||W||^2?"""
    rng = np.random.default_rng(1)
    p = init_two_layer_net(5, 4, 3, rng, scale=1.0)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, size=6)
    scores = np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    assert np.allclose(two_layer_net_scores(p, X), scores)
    shifted = scores - scores.max(1, keepdims=True)
    data = np.mean(np.log(np.exp(shifted).sum(1)) - shifted[np.arange(6), y])
    l2 = np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2)
    assert two_layer_net_forward_loss(p, X, y) == pytest.approx(data, rel=1e-12)
    assert two_layer_net_forward_loss(p, X, y, reg=0.3) == pytest.approx(data + 0.15 * l2, rel=1e-12)


def test_forward_loss_rejects_bad_params():
    """Does a params dict with a missing key raise a ValueError listing the expected keys?"""
    with pytest.raises(ValueError, match="W1"):
        two_layer_net_scores({"W1": np.ones((2, 2))}, np.ones((1, 2)))


def test_predict_and_accuracy():
    """Is accuracy the fraction of rows whose largest score is at the label?"""
    # identity net: W1 = I, W2 = I, so the scores are relu(X)
    p = {"W1": np.eye(3), "b1": np.zeros(3), "W2": np.eye(3), "b2": np.zeros(3)}
    X = np.array([[3.0, 1, 0], [0, 2, 1], [0, 0, 5], [1, 0, 0]])
    assert np.array_equal(predict(p, X), [0, 1, 2, 0])
    assert accuracy(p, X, np.array([0, 1, 2, 2])) == 0.75
    with pytest.raises(ValueError, match="shape"):
        accuracy(p, X, np.array([0, 1]))


def test_train_steps_against_the_gradient():
    """Does one SGD step move every parameter by -learning_rate * gradient?"""
    p = {k: np.zeros(s) for k, s in zip(PARAM_NAMES, [(2, 3), (3,), (3, 2), (2,)], strict=True)}
    X, y = np.zeros((4, 2)), np.zeros(4, dtype=int)
    h = train(_quadratic_loss, p, X, y, X, y, np.random.default_rng(0),
              learning_rate=0.25, epochs=1, batch_size=4)
    for k in PARAM_NAMES:
        assert np.allclose(h.params[k], 0.25)  # 0 - 0.25 * (0 - 1)
    assert h.loss == [pytest.approx(0.5 * 17)]  # 6 + 3 + 6 + 2 parameters, each (0 - 1)^2 / 2


def test_train_does_not_modify_start_params():
    """Are the caller's starting parameters left untouched?"""
    p = init_two_layer_net(2, 3, 2, np.random.default_rng(0))
    before = {k: v.copy() for k, v in p.items()}
    X, y = np.ones((6, 2)), np.zeros(6, dtype=int)
    train(_quadratic_loss, p, X, y, X, y, np.random.default_rng(0), epochs=2, batch_size=2)
    assert all(np.array_equal(p[k], before[k]) for k in PARAM_NAMES)


def test_train_records_history_and_learning_rate_decay():
    """Is there one loss per minibatch and one accuracy per epoch, and does lr_decay shrink steps?"""
    p = {k: np.zeros(s) for k, s in zip(PARAM_NAMES, [(2, 2), (2,), (2, 2), (2,)], strict=True)}
    X, y = np.zeros((10, 2)), np.zeros(10, dtype=int)
    h = train(_quadratic_loss, p, X, y, X[:3], y[:3], np.random.default_rng(0),
              learning_rate=0.5, epochs=2, batch_size=4, lr_decay=0.5)
    assert len(h.loss) == 6 and len(h.train_acc) == 2 and len(h.val_acc) == 2
    assert h.best_val_acc == max(h.val_acc)
    # distance to the minimum shrinks by (1 - lr) per step: 3 steps at 0.5, 3 at 0.25
    assert np.allclose(h.params["W1"], 1 - 0.5**3 * 0.75**3)


def test_train_learns_the_spiral():
    """Does SGD with a correct loss fit the spiral that no linear classifier can?"""
    rng = np.random.default_rng(0)
    X, y = make_spiral(100, 3, rng)
    p = init_two_layer_net(2, 100, 3, rng, scale=1.0)
    h = train(_softmax_net_loss, p, X, y, X, y, rng, learning_rate=1.0, reg=1e-3,
              epochs=300, batch_size=300)
    assert h.train_acc[-1] > 0.95
    assert h.loss[-1] < h.loss[0] / 3


def test_train_reports_unwritten_loss():
    """Does a loss function that raises NotImplementedError give a message naming it?"""
    def two_layer_net_loss(params, X, y, reg=0.0):
        raise NotImplementedError()

    p = init_two_layer_net(2, 3, 2, np.random.default_rng(0))
    X, y = np.ones((4, 2)), np.zeros(4, dtype=int)
    with pytest.raises(NotImplementedError, match="two_layer_net_loss is not written yet"):
        train(two_layer_net_loss, p, X, y, X, y, np.random.default_rng(0))


@pytest.mark.parametrize("bad, match", [
    (lambda p, X, y, reg: (np.nan, {k: 0 * v for k, v in p.items()}), "diverged"),
    (lambda p, X, y, reg: (1.0, {"W1": p["W1"]}), "keys"),
    (lambda p, X, y, reg: (1.0, {**{k: v for k, v in p.items()}, "b1": np.zeros(7)}), r"grads\['b1'\]"),
])
def test_train_rejects_bad_loss_output(bad, match):
    """Are a nan loss, missing gradients and a wrongly shaped gradient reported clearly?"""
    p = init_two_layer_net(2, 3, 2, np.random.default_rng(0))
    X, y = np.ones((4, 2)), np.zeros(4, dtype=int)
    with pytest.raises((FloatingPointError, ValueError), match=match):
        train(bad, p, X, y, X, y, np.random.default_rng(0))


def test_progress_bar_is_deterministic_and_on_stdout(capsys):
    """Does the progress bar write to stdout only, the same text on every run (no timings)?"""
    p = init_two_layer_net(2, 3, 2, np.random.default_rng(0))
    X, y = np.ones((4, 2)), np.zeros(4, dtype=int)
    outs = []
    for _ in range(2):
        train(_quadratic_loss, p, X, y, X, y, np.random.default_rng(0), epochs=3, progress=True)
        captured = capsys.readouterr()
        assert captured.err == ""
        outs.append(captured.out)
    assert outs[0] == outs[1]
    assert "3/3 epochs" in outs[0] and "val acc" in outs[0] and "it/s" not in outs[0]


def test_plots_draw_history_and_weights():
    """Do the plots show the loss and both accuracies, and one image per hidden unit?"""
    h = History(params={}, loss=list(np.linspace(2, 0.1, 50)), train_acc=[0.5, 0.9], val_acc=[0.4, 0.8])
    fig = plot_history(h)
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 2 and len(ax_acc.lines) == 2
    plt.close(fig)
    fig = plot_weights(np.random.default_rng(0).standard_normal((64, 10)))
    assert sum(len(ax.images) for ax in fig.axes) == 10
    plt.close(fig)
    h.params = {"W1": np.ones((64, 40))}
    fig = plot_weights(h)  # a History shows its trained W1, at most 32 units
    assert sum(len(ax.images) for ax in fig.axes) == 32
    plt.close(fig)


def test_plots_explain_missing_inputs():
    """Does plotting before training (history None) or a W1 of the wrong size say what to do?"""
    with pytest.raises(ValueError, match="run the training cell"):
        plot_history(None)
    with pytest.raises(ValueError, match="run the training cell"):
        plot_weights(None)
    with pytest.raises(ValueError, match="D = 64"):
        plot_weights(np.zeros((10, 3)))
