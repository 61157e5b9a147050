"""The cost check's margins: honest answers against the budget, numerical ones far above it.

For each exercise with a cost case (`course.exercises`), on its large input: one forward
pass, the reference answer, the correct variants of tests/variants.py (loops over the
batch, over rows and classes, einsum, np.add.at), and a per-entry central difference,
timed on 200 entries and extrapolated to all of them. The budget is the grader's
(`autograder.sealed.cost_budget`). Run it idle and under load (``--load``: a busy process
on every other core) to see the margin hold.

    python benchmarks/bench_cost.py [--load]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np

import solutions
from autograder import sealed
from course.exercises import EXERCISES
from solutions.variants import variants


def _busy(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _seconds(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _numerical_estimate(ex, inputs) -> float:
    """Seconds a per-entry central difference of the forward pass would take on all entries."""
    arrays = [k for k, v in inputs.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
              and k not in ("dout", "reg")]
    entries = sum(inputs[k].size for k in arrays)
    key = arrays[0]
    start = time.perf_counter()
    for i in range(100):
        for h in (1e-5, -1e-5):
            moved = dict(inputs)
            moved[key] = inputs[key].copy()
            moved[key].flat[i] += h
            ex.convention.forward_once(moved)
    return (time.perf_counter() - start) / 100 * entries


def _rows(ex) -> list[tuple[str, float, float]]:
    """(answer, seconds, budget) on the exercise's large input."""
    inputs = ex.draw(ex.cost, np.random.default_rng(0))
    forward = _seconds(lambda: [ex.convention.forward_once(inputs) for _ in range(sealed.COST_REPS)])
    budget = sealed.cost_budget(forward)
    namespace = {"np": np} | solutions.namespace()
    reference = solutions.reference(ex.function)
    rows = [("one forward pass", forward / sealed.COST_REPS),
            ("reference", _seconds(lambda: ex.convention.run(reference, inputs, namespace)))]
    for exercise, variant, source in variants():
        if exercise == ex.function:
            scope = dict(namespace)
            exec(compile(source, variant, "exec"), scope)
            rows.append((variant, _seconds(lambda s=scope: ex.convention.run(s[ex.function], inputs, s), 1)))
    rows.append(("central differences (est.)", _numerical_estimate(ex, inputs)))
    return [(what, seconds, budget) for what, seconds in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", action="store_true", help="a busy process on every other core")
    args = parser.parse_args()
    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=_busy, args=(stop,)) for _ in range((os.cpu_count() or 2) - 1)] \
        if args.load else []
    for h in hogs:
        h.start()
    print(f"{'exercise':<20} {'answer':<28} {'seconds':>9} {'budget s':>9} {'x budget':>9}")
    try:
        for name, ex in EXERCISES.items():
            if ex.cost is None:
                continue
            for what, seconds, budget in _rows(ex):
                print(f"{name:<20} {what:<28} {seconds:>9.4f} {budget:>9.2f} {seconds / budget:>9.3f}")
    finally:
        stop.set()
        for h in hogs:
            h.join()


if __name__ == "__main__":
    main()
