"""How well the grader names mistakes: the bug bank, mistakes written differently, right answers.

For every bug of the bank (``solutions/bugs``), on several seeds' inputs: does the grader's
diagnosis (`autograder.sealed.diagnosed`'s way: the catalog's implementations on the same
inputs, then the probes) give exactly its code, another code, or none; the same for the
visible check (shipped fingerprints only); and with the bug's own implementation withheld
(what is left: probes, and the other implementations), which is how an answer written in
no known way fares. Then mistakes written differently from the bank (same mistake, other
code), and every right answer (the references and solutions/variants.py), which must never
be diagnosed. The peer row is what nbgrader and otter-grader name: nothing (they report the
failing assertion).

    python benchmarks/bench_diagnosis.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import time
import warnings
from textwrap import dedent

import numpy as np

import solutions
from course import diagnosis
from course.exercises import EXERCISES
from solutions.bugs import all_bugs, signatures
from solutions.variants import variants

NAMES = solutions.namespace()

#: The same mistakes as some of the bank's, written as other students would.
REWRITTEN = [
    ("affine_backward", "db-mean", """
        def affine_backward(dout, cache):
            x, w, b = cache
            N = x.shape[0]
            X = np.reshape(x, (N, -1))
            return np.dot(dout, w.T).reshape(x.shape), np.dot(X.T, dout), np.sum(dout, axis=0) / N
    """),
    ("affine_backward", "dw-transposed", """
        def affine_backward(dout, cache):
            x, w, b = cache
            X = x.reshape(len(x), -1)
            return (dout @ w.T).reshape(x.shape), (X.T @ dout).T, dout.sum(0)
    """),
    ("affine_backward", "extra-factor", """
        def affine_backward(dout, cache):
            x, w, b = cache
            X = x.reshape(len(x), -1)
            return (dout @ w.T).reshape(x.shape), X.T @ dout / len(x), dout.sum(0)
    """),
    ("relu_backward", "mask-on-dout", """
        def relu_backward(dout, cache):
            return dout * (dout > 0)
    """),
    ("relu_backward", "no-upstream", """
        def relu_backward(dout, cache):
            return np.where(cache > 0, 1.0, 0.0)
    """),
    ("sigmoid_backward", "sigmoid-of-output", """
        def sigmoid_backward(dout, cache):
            sig = np.exp(cache) / (1 + np.exp(cache))
            return dout * sig * (1 - sig)
    """),
    ("softmax_loss", "grad-not-averaged", """
        def softmax_loss(x, y):
            z = x - np.max(x, axis=1, keepdims=True)
            p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
            loss = np.mean(-np.log(p[range(len(y)), y]))
            p[range(len(y)), y] -= 1
            return loss, p
    """),
    ("softmax_loss", "forgot-minus-one", """
        def softmax_loss(x, y):
            z = x - np.max(x, axis=1, keepdims=True)
            p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
            return np.mean(-np.log(p[range(len(y)), y])), p / len(y)
    """),
    ("svm_loss", "margin-zero", """
        def svm_loss(x, y):
            n = len(y)
            correct = x[np.arange(n), y].reshape(-1, 1)
            m = np.clip(x - correct, 0, None)
            m[np.arange(n), y] = 0
            g = (m > 0) * 1.0
            g[np.arange(n), y] = -g.sum(axis=1)
            return m.sum() / n, g / n
    """),
    ("svm_loss", "loss-not-averaged", """
        def svm_loss(x, y):
            n = len(y)
            correct = x[np.arange(n), y][:, None]
            m = np.maximum(x - correct + 1.0, 0.0)
            m[np.arange(n), y] = 0.0
            g = (m > 0).astype(float)
            g[np.arange(n), y] = -g.sum(axis=1)
            return m.sum(), g / n
    """),
]


def _load(source: str, name: str):
    scope = {"np": np} | NAMES
    exec(compile(dedent(source).strip() + "\n", f"<{name}>", "exec"), scope)
    return scope[name]


def _exercise(function: str):
    return next(e for e in EXERCISES.values() if e.function == function and e.misconceptions)


def _grader(ex, fn, seed, without=""):
    inputs = [i for _, i in ex.inputs(seed)]
    reference = diagnosis.outcomes(ex, solutions.reference(ex.function), inputs, NAMES)
    known = {c: s for c, s in signatures(ex, inputs, reference).items() if c != without}
    return diagnosis.diagnose(ex, diagnosis.outcomes(ex, fn, inputs, NAMES), known, reference)


def _tally(results: list[tuple[list[str], str]]) -> tuple[int, int, int, int]:
    """(runs, right code alone, a wrong code, none) of (codes found, code expected) pairs."""
    right = sum(found == [want] for found, want in results)
    wrong = sum(bool(found) and found != [want] for found, want in results)
    return len(results), right, wrong, len(results) - right - wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    seeds = list(range(1, args.seeds + 1))
    bugs = all_bugs()
    start = time.perf_counter()
    rows = []
    grader = [(_grader(_exercise(b.exercise), b.load(NAMES), s), b.code) for b in bugs for s in seeds]
    rows.append(("bug bank, grader (hidden inputs)", *_tally(grader)))
    check = [(diagnosis.check_diagnosis(_exercise(b.exercise), b.load(NAMES), NAMES), b.code) for b in bugs]
    rows.append(("bug bank, visible check (shipped fingerprints)", *_tally(check)))
    withheld = [(_grader(_exercise(b.exercise), b.load(NAMES), s, without=b.code), b.code)
                for b in bugs for s in seeds[:2]]
    rows.append(("bug bank, its own implementation withheld", *_tally(withheld)))
    rewritten = [(_grader(_exercise(f), _load(src, f), s), code) for f, code, src in REWRITTEN for s in seeds]
    rows.append(("the same mistakes written differently, grader", *_tally(rewritten)))
    rewritten_check = [(diagnosis.check_diagnosis(_exercise(f), _load(src, f), NAMES), code)
                       for f, code, src in REWRITTEN]
    rows.append(("the same mistakes written differently, check", *_tally(rewritten_check)))
    rows.append(("bug bank, nbgrader / otter-grader (peer)", len(bugs), 0, 0, len(bugs)))

    right_answers = [(EXERCISES[e], _load(src, e)) for e, _, src in variants()]
    right_answers += [(ex, solutions.reference(ex.function)) for ex in EXERCISES.values() if ex.misconceptions]
    false = sum(bool(_grader(ex, fn, s)) for ex, fn in right_answers for s in seeds)
    false_check = sum(bool(diagnosis.check_diagnosis(ex, fn, NAMES)) for ex, fn in right_answers)
    seconds = time.perf_counter() - start

    print(f"Misconception diagnosis: {len(bugs)} bugs of the bank, {len(REWRITTEN)} rewritten mistakes, "
          f"{len(right_answers)} right answers, seeds {seeds}\n")
    print(f"{'answers':50s} {'runs':>5s} {'right code':>11s} {'wrong code':>11s} {'none':>6s}")
    for name, n, right, wrong, none in rows:
        print(f"{name:50s} {n:5d} {right:5d} {100 * right / n:4.0f}% {wrong:5d} {100 * wrong / n:4.0f}% "
              f"{none:6d}")
    runs = len(right_answers) * len(seeds)
    print(f"\nright answers diagnosed (false diagnoses): grader {false} of {runs}, "
          f"visible check {false_check} of {len(right_answers)}")
    print(f"({seconds:.1f} s in all)")


if __name__ == "__main__":
    main()
