"""Reference answers of the circuits notebook: backward passes of small expressions, by hand.

Each function takes the inputs of one expression (numbers, or short lists of numbers),
redoes the forward pass keeping every intermediate value, then walks back through it,
multiplying each gate's local gradient by the gradient arriving from above. Their forward
passes are in `course.circuits` (`maximum`, `compound`, `neuron`, `staged`, `patterns`).
"""

from __future__ import annotations

import math


def max_gradient(x, y):
    """Gradient of f = max(x, y). x, y: numbers.

    Returns (dx, dy), numbers: df/dx and df/dy. At a tie (x == y) send the gradient to x.
    """
    ### BEGIN SOLUTION
    # max routes: the larger input gets all of the gradient, the other gets none
    dx = 1.0 if x >= y else 0.0
    dy = 1.0 - dx
    return dx, dy
    ### END SOLUTION


def compound_backward(x, y, z):
    """Gradient of f = (x + y) z. x, y, z: numbers.

    Returns (dx, dy, dz), numbers: df/dx, df/dy, df/dz.
    """
    ### BEGIN SOLUTION
    # forward pass, keeping the intermediate value q
    q = x + y
    # f = q * z: each factor's gradient is the other factor (times df/df = 1)
    dq = z
    dz = q
    # q = x + y: the add gate passes dq on unchanged to both inputs
    dx = 1.0 * dq
    dy = 1.0 * dq
    return dx, dy, dz
    ### END SOLUTION


def neuron_backward(w, x):
    """Gradient of the neuron f = sigmoid(w[0] x[0] + w[1] x[1] + w[2]).

    w: 3 numbers (two weights and a bias), x: 2 numbers (the inputs).
    Returns (dw, dx): a list of 3 numbers df/dw[i] and a list of 2 numbers df/dx[i].
    """
    ### BEGIN SOLUTION
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1.0 + math.exp(-dot))
    # the sigmoid's local gradient needs only its output: sigma' = (1 - sigma) sigma
    ddot = (1 - f) * f
    # the dot product multiplies: each weight gets its input times ddot, and vice versa
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    dx = [w[0] * ddot, w[1] * ddot]
    return dw, dx
    ### END SOLUTION


def staged_backward(x, y):
    """Gradient of f = (x + sigmoid(y)) / (sigmoid(x) + (x + y)**2). x, y: numbers.

    Returns (dx, dy), numbers: df/dx and df/dy.
    """
    ### BEGIN SOLUTION
    # forward pass in stages, each simple enough to know its local gradient
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    # backward pass, stage by stage in reverse order
    dnum = invden  # f = num * invden
    dinvden = num
    dden = (-1.0 / den**2) * dinvden  # invden = 1 / den
    dsigx = 1.0 * dden  # den = sigx + xpysqr
    dxpysqr = 1.0 * dden
    dxpy = (2 * xpy) * dxpysqr  # xpysqr = xpy**2
    dx = 1.0 * dxpy  # xpy = x + y
    dy = 1.0 * dxpy
    # x and y are used more than once: their gradients add up (+=, not =)
    dx += ((1 - sigx) * sigx) * dsigx  # sigx = sigmoid(x)
    dx += 1.0 * dnum  # num = x + sigy
    dsigy = 1.0 * dnum
    dy += ((1 - sigy) * sigy) * dsigy  # sigy = sigmoid(y)
    return dx, dy
    ### END SOLUTION


def patterns_backward(x, y, z, w):
    """Gradient of f = 2 (x y + max(z, w)). x, y, z, w: numbers.

    Returns (dx, dy, dz, dw), numbers. At a tie (z == w) send the max's gradient to z.
    """
    ### BEGIN SOLUTION
    # forward: xy = x y, m = max(z, w), s = xy + m, f = 2 s; only the inputs are needed
    ds = 2.0  # f = 2 s
    # add distributes: both terms receive ds unchanged
    dxy = ds
    dm = ds
    # max routes: all of dm goes to the larger input
    dz = dm if z >= w else 0.0
    dw = dm if w > z else 0.0
    # multiply swaps and scales: each factor gets the other factor times dxy
    dx = y * dxy
    dy = x * dxy
    return dx, dy, dz, dw
    ### END SOLUTION
