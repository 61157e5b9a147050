"""How well do the gradient checkers catch the bug bank, and at what cost?

For each method of `course.gradcheck` (full, sampled, projection) every bug of
`solutions.bugs` is checked on the cases of `solutions.exercise_checks`, over several
seeds, on the small inputs the notebooks grade with and on larger batches. Printed:
detection rate (bugs flagged / bugs checked), forward calls per checked input (mean)
and time; the reference answers are checked the same way and must never be flagged.

Run: ``python benchmarks/bench_checkers.py [--seeds 10]``. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import time

import solutions
from solutions.bugs import layers as layer_bugs
from solutions.bugs import losses as loss_bugs
from solutions.exercise_checks import check_exercise

METHODS = ("full", "sampled", "projection")


def bank():
    """The bugs of the layer and loss exercises (the ones `check_exercise` has cases for)."""
    return layer_bugs.BUGS + loss_bugs.BUGS


def measure(method: str, size: str, seeds: int) -> dict:
    """Detection rate, forward calls per input and time of one method on the bug bank."""
    bugs = bank()
    flagged = checked = calls = inputs = false_alarms = 0
    missed: dict[str, int] = {}
    start = time.perf_counter()
    for seed in range(seeds):
        for bug in bugs:
            results = check_exercise(bug.exercise, bug.load(), method=method, seed=seed, size=size)
            checked += 1
            if any(not r.ok for r in results):
                flagged += 1
            else:
                missed[bug.name] = missed.get(bug.name, 0) + 1
            for r in results:
                if r.report is not None:
                    calls += r.report.forward_calls
                    inputs += len(r.report.inputs)
    elapsed = time.perf_counter() - start
    for exercise in sorted({b.exercise for b in bugs}):
        for seed in range(seeds):
            results = check_exercise(exercise, getattr(solutions, exercise), method=method,
                                     seed=seed, size=size)
            false_alarms += sum(not r.ok for r in results)
    return {
        "method": method, "size": size, "rate": flagged / checked, "flagged": flagged,
        "checked": checked, "calls": calls / max(inputs, 1), "time": elapsed,
        "missed": missed, "false_alarms": false_alarms,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10,
                        help="seeds per bug on the graded inputs (default 10)")
    parser.add_argument("--large-seeds", type=int, default=2,
                        help="seeds per bug on the large inputs (default 2; full is slow there)")
    args = parser.parse_args(argv)
    n_bugs = len(bank())
    print(f"bug bank: {n_bugs} bugs; graded = the notebooks' small inputs (tens of entries), "
          f"{args.seeds} seeds; large = batches of 500 to 1600 entries, {args.large_seeds} seeds\n")
    head = f"{'inputs':<7} {'method':<11} {'detected':>16} {'forward calls/input':>20} " \
           f"{'time (s)':>9} {'false alarms':>13}"
    print(head)
    print("-" * len(head))
    rows = []
    for size in ("graded", "large"):
        for method in METHODS:
            r = measure(method, size, args.seeds if size == "graded" else args.large_seeds)
            rows.append(r)
            det = f"{r['rate']:.1%} ({r['flagged']}/{r['checked']})"
            print(f"{size:<7} {method:<11} {det:>16} {r['calls']:>20.1f} {r['time']:>9.2f} "
                  f"{r['false_alarms']:>13}", flush=True)
    print()
    for r in rows:
        if r["missed"]:
            worst = ", ".join(f"{k} ({v}x)" for k, v in sorted(r["missed"].items(), key=lambda kv: -kv[1]))
            print(f"missed by {r['method']} on {r['size']} inputs: {worst}")


if __name__ == "__main__":
    main()
