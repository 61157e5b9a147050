"""How fast is one training step of a two-layer net built from the course's layers?

Times one full step (forward and backward with every parameter gradient) of
affine - relu - affine - softmax at N=512, D=3072, H=512, C=10 in float64 three ways:

- ``course``: `course.layers` / `course.losses` forward passes and `solutions` backward passes;
- ``torch``: the same step in PyTorch on the CPU (float64, autograd);
- ``matmuls``: only the step's matrix multiplies (2 forward, 3 backward), the floor that any
  implementation pays.

The training step needs no gradient of the data X: its first layer's backward pass is
`solutions.affine_param_backward` (dw and db only), as PyTorch skips dX for data that needs
no gradient. The contract's `affine_backward` always returns dx, so a second course row
uses it for both layers (one more (N, H) x (H, D) multiply, as large as the two big ones),
beside torch and the multiplies with dX too. The last row times the step's multiplies in
torch: numpy and torch use different BLAS libraries (OpenBLAS and MKL), and that row shows
how much of any gap is theirs.

Each is timed in blocks of calls, the blocks taken in turns (see `timed_in_blocks`); the
table shows medians and quartiles, then the ratios the goals are about.
Run it with ``python benchmarks/bench_mlp.py [--rounds 10] [--block 4] [--threads 1]``.
It prints a table and never fails: it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from course.layers import affine_forward, relu_forward
from course.losses import softmax_loss_forward
from solutions.layers import affine_backward, affine_param_backward, relu_backward
from solutions.losses import softmax_loss_backward


def make_problem(n, d, h, c, rng):
    """Inputs X (N, D), labels y (N,) and parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)."""
    return {
        "X": rng.standard_normal((n, d)),
        "y": rng.integers(0, c, size=n),
        "W1": rng.standard_normal((d, h)) * np.sqrt(2.0 / d),
        "b1": np.zeros(h),
        "W2": rng.standard_normal((h, c)) * np.sqrt(2.0 / h),
        "b2": np.zeros(c),
    }


def course_step(p, with_dx=False):
    """The step with the course's layers: returns the loss and (dW1, db1, dW2, db2).

    with_dx: the first layer's backward pass is the contract's `affine_backward`, whose dx
    (the gradient of the data X) is computed and thrown away.
    """
    a1, c1 = affine_forward(p["X"], p["W1"], p["b1"])
    h1, cr = relu_forward(a1)
    scores, c2 = affine_forward(h1, p["W2"], p["b2"])
    loss, cl = softmax_loss_forward(scores, p["y"])
    dscores = softmax_loss_backward(1.0, cl)
    dh1, dW2, db2 = affine_backward(dscores, c2)
    da1 = relu_backward(dh1, cr)
    if with_dx:
        _, dW1, db1 = affine_backward(da1, c1)
    else:
        dW1, db1 = affine_param_backward(da1, c1)
    return loss, (dW1, db1, dW2, db2)


def matmul_step_factory(p, with_dx):
    """The step's matrix multiplies alone: X W1, h W2, h^T ds, ds W2^T, X^T da (+ da W1^T)."""
    X, W1, W2 = p["X"], p["W1"], p["W2"]
    ds = np.ones((X.shape[0], W2.shape[1]))  # any upstream gradient of the right shape

    def step():
        a1 = X @ W1
        s = a1 @ W2
        dW2 = a1.T @ ds
        dh = ds @ W2.T
        dW1 = X.T @ dh
        dX = dh @ W1.T if with_dx else None
        return s, dW2, dW1, dX

    return step


def torch_matmul_factory(p):
    """The step's 5 matrix multiplies in torch: separates the BLAS libraries from the rest."""
    import torch

    X, W1, W2 = (torch.from_numpy(p[k]) for k in ("X", "W1", "W2"))
    ds = torch.ones((X.shape[0], W2.shape[1]), dtype=torch.float64)

    def step():
        a1 = X @ W1
        s = a1 @ W2
        dh = ds @ W2.T
        return s, a1.T @ ds, X.T @ dh

    return step


def torch_step_factory(p, with_dx):
    """The step in PyTorch (float64, autograd); with_dx: also the gradient of X, as course does."""
    import torch

    t = {k: torch.from_numpy(v) for k, v in p.items()}
    params = [t[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")]
    X = t["X"].clone().requires_grad_(with_dx)
    y = t["y"]

    def step():
        for q in [*params, X]:
            q.grad = None
        W1, b1, W2, b2 = params
        scores = torch.relu(X @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(scores, y)
        loss.backward()
        return loss.detach().item()

    return step, params


def timed_in_blocks(fns, rounds, block, pause=0.25):
    """Median, 25th and 75th percentile seconds of each fn, timed in blocks taken in turns.

    Each round runs every fn `block` + 1 times in a row and keeps the last `block` times:
    taking turns spreads the noise of a shared machine evenly over the implementations,
    and blocks (rather than single calls in turns) keep the two BLAS libraries out of each
    other's way. Their idle threads spin for a while before they sleep (OpenBLAS's for up
    to about 0.1 s), and a spinning thread of one library steals a core from the other on
    this 2-core machine: timed call by call in turns, torch here measured 2-3x slower than
    alone. So each block starts with a pause and an untimed call.
    """
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, ts in zip(fns, times, strict=True):
            time.sleep(pause)
            fn()
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
    return [(float(np.median(ts)), float(np.percentile(ts, 25)), float(np.percentile(ts, 75)))
            for ts in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--d", type=int, default=3072)
    parser.add_argument("--h", type=int, default=512)
    parser.add_argument("--c", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: each library's own default)")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    if args.threads:
        # the same number of threads on both sides, or the ratio measures the thread counts
        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture', '')} "
                     f"({i['num_threads']} threads)" for i in threadpool_info()
                     if i["user_api"] == "blas" and "numpy" in i["filepath"] + i.get("prefix", ""))

    p = make_problem(args.n, args.d, args.h, args.c, np.random.default_rng(0))

    # the same numbers every way before timing anything
    step, params = torch_step_factory(p, with_dx=False)
    loss_t = step()
    worst = 0.0
    for with_dx in (False, True):
        loss_c, grads = course_step(p, with_dx)
        if abs(loss_c - loss_t) > 1e-10 * max(1.0, abs(loss_t)):
            raise SystemExit(f"course and torch disagree: loss {loss_c} vs {loss_t}")
        for g, q in zip(grads, params, strict=True):
            worst = max(worst, float(np.max(np.abs(g - q.grad.numpy())) / (np.max(np.abs(g)) or 1.0)))
    if worst > 1e-10:
        raise SystemExit(f"course and torch disagree: gradients differ by {worst:.1e}")

    rows = {
        "course": ("course training step", lambda: course_step(p)),
        "torch": ("torch, parameter grads", step),
        "mm": ("numpy multiplies (5)", matmul_step_factory(p, with_dx=False)),
        "torch_mm": ("torch multiplies (5)", torch_matmul_factory(p)),
        "course_dx": ("course, affine_backward + dX", lambda: course_step(p, with_dx=True)),
        "torch_dx": ("torch, + dX", torch_step_factory(p, with_dx=True)[0]),
        "mm_dx": ("numpy multiplies (6, + dX)", matmul_step_factory(p, with_dx=True)),
    }
    stats = dict(zip(rows, timed_in_blocks([fn for _, fn in rows.values()], args.rounds,
                                           args.block), strict=True))
    print(f"two-layer MLP step, N={args.n} D={args.d} H={args.h} C={args.c}, float64, "
          f"median of {args.rounds} rounds x {args.block} calls, timed in blocks taken in turns")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{platform.machine()}, {os.cpu_count()} cpus, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    torch_blas = "MKL" if torch.backends.mkl.is_available() else "not MKL"
    print(f"numpy BLAS: {blas or 'unknown'}; torch BLAS: {torch_blas}")
    print(f"loss and parameter gradients agree with torch (max relative difference {worst:.1e})")
    print()
    print(f"{'implementation':<30} {'median ms':>10} {'IQR ms':>15}")
    for key, (name, _) in rows.items():
        med, q1, q3 = stats[key]
        print(f"{name:<30} {med * 1e3:>10.2f} {f'{q1 * 1e3:.2f}-{q3 * 1e3:.2f}':>15}")
    print()
    print(f"{'ratio of medians':<58} {'ratio':>6}  goal")
    for a, b, goal in [("course", "torch", 1.0), ("course", "mm", 1.15), ("mm", "torch_mm", None),
                       ("course_dx", "torch_dx", None), ("course_dx", "mm_dx", None)]:
        ratio = stats[a][0] / stats[b][0]
        verdict = "" if goal is None else f"<= {goal:.2f} " + ("met" if ratio <= goal else "NOT met")
        print(f"{rows[a][0] + ' / ' + rows[b][0]:<58} {ratio:>6.3f}  {verdict}")

if __name__ == "__main__":
    main()
