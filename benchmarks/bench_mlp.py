"""How fast is one training step of a two-layer net built from the course's layers?

Times one full step (forward and backward with every parameter gradient) of
affine - relu - affine - softmax at N=512, D=3072, H=512, C=10 in float64 three ways:

- ``course``: `course.layers` / `course.losses` forward passes and `solutions` backward passes;
- ``torch``: the same step in PyTorch on the CPU (float64, autograd);
- ``matmuls``: only the step's matrix multiplies (2 forward, 3 backward), the floor that any
  implementation pays.

`affine_backward` always returns dx, so the course step also computes the gradient of the
input X (one more (N, H) x (H, D) multiply, as large as the two big ones). Torch and the
matmul floor are therefore timed twice: with parameter gradients only, and with dX too.
The last row times the same six multiplies in torch: numpy and torch use different BLAS
libraries (OpenBLAS and MKL), and that row shows how much of any gap is theirs.

Each is warmed up, then repeated; the table shows medians and the ratios course/torch and
course/matmuls. Run it with ``python benchmarks/bench_mlp.py [--repeat 30]``.
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
from solutions.layers import affine_backward, relu_backward
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


def course_step(p):
    """The step with the course's layers: returns the loss and (dW1, db1, dW2, db2)."""
    a1, c1 = affine_forward(p["X"], p["W1"], p["b1"])
    h1, cr = relu_forward(a1)
    scores, c2 = affine_forward(h1, p["W2"], p["b2"])
    loss, cl = softmax_loss_forward(scores, p["y"])
    dscores = softmax_loss_backward(1.0, cl)
    dh1, dW2, db2 = affine_backward(dscores, c2)
    da1 = relu_backward(dh1, cr)
    _, dW1, db1 = affine_backward(da1, c1)
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
    """The same 6 matrix multiplies in torch: separates the BLAS libraries from the rest."""
    import torch

    X, W1, W2 = (torch.from_numpy(p[k]) for k in ("X", "W1", "W2"))
    ds = torch.ones((X.shape[0], W2.shape[1]), dtype=torch.float64)

    def step():
        a1 = X @ W1
        s = a1 @ W2
        dh = ds @ W2.T
        return s, a1.T @ ds, X.T @ dh, dh @ W1.T

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


def interleaved_medians(fns, repeat, warmup):
    """Median, 25th and 75th percentile seconds of each fn, timed in turns.

    Taking turns (a, b, c, a, b, c, ...) spreads the noise of a shared machine evenly over
    the implementations, so their ratios are steadier than their absolute times.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times, strict=True):
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
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
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

    # the same numbers both ways before timing anything
    step, params = torch_step_factory(p, with_dx=False)
    loss_t = step()
    loss_c, grads = course_step(p)
    worst = max(
        float(np.max(np.abs(g - q.grad.numpy())) / (np.max(np.abs(g)) or 1.0))
        for g, q in zip(grads, params, strict=True)
    )
    if abs(loss_c - loss_t) > 1e-10 * max(1.0, abs(loss_t)) or worst > 1e-10:
        raise SystemExit(f"course and torch disagree: loss {loss_c} vs {loss_t}, grads {worst:.1e}")

    rows = [
        ("course (layers + solutions)", lambda: course_step(p)),
        ("torch, parameter grads", step),
        ("torch, + dX like course", torch_step_factory(p, with_dx=True)[0]),
        ("matmuls only (5)", matmul_step_factory(p, with_dx=False)),
        ("matmuls only (6, + dX)", matmul_step_factory(p, with_dx=True)),
        ("torch matmuls only (6, + dX)", torch_matmul_factory(p)),
    ]
    stats = interleaved_medians([fn for _, fn in rows], args.repeat, args.warmup)
    base = stats[0][0]
    print(f"two-layer MLP step, N={args.n} D={args.d} H={args.h} C={args.c}, float64, "
          f"median of {args.repeat} (timed in turns) after {args.warmup} warm-ups")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{platform.machine()}, {os.cpu_count()} cpus, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    torch_blas = "MKL" if torch.backends.mkl.is_available() else "not MKL"
    print(f"numpy BLAS: {blas or 'unknown'}; torch BLAS: {torch_blas}")
    print(f"loss and parameter gradients agree with torch (max relative difference {worst:.1e})")
    print()
    print(f"{'implementation':<30} {'median ms':>10} {'IQR ms':>15} {'course / this':>14}")
    for (name, _), (med, q1, q3) in zip(rows, stats, strict=True):
        print(f"{name:<30} {med * 1e3:>10.2f} {f'{q1 * 1e3:.2f}-{q3 * 1e3:.2f}':>15} {base / med:>14.3f}")


if __name__ == "__main__":
    main()
