"""The bug bank: realistic wrong answers to every exercise, for testing checkers and grading.

Each `Bug` carries the full source of a function with the exercise's own name and
signature (``def affine_backward(dout, cache): ...``), so the same text can be exec'd
by library tests and pasted into a notebook's solution cell by grading tests.
Topic modules (``solutions/bugs/<topic>.py``) each define ``BUGS: list[Bug]``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bug:
    """A wrong answer. exercise: the function it replaces; code: the misconception it makes
    (a code of the exercise's catalog, `course.misconceptions`); source: its full definition."""

    exercise: str
    name: str
    code: str
    description: str
    source: str

    def load(self, namespace: dict | None = None):
        """Exec the source (with numpy as np, math and `namespace`) and return the function."""
        import math

        import numpy as np

        scope = {"np": np, "math": math, **(namespace or {})}
        exec(compile(self.source, f"<bug {self.exercise}:{self.name}>", "exec"), scope)
        return scope[self.exercise]


def all_bugs() -> list[Bug]:
    """Every bug of every topic module, in module then definition order."""
    bugs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        bugs += importlib.import_module(f"{__name__}.{info.name}").BUGS
    return bugs


def bugs_for(exercise: str) -> list[Bug]:
    """The bugs that replace one exercise function."""
    return [b for b in all_bugs() if b.exercise == exercise]


def signatures(ex, inputs: list[dict], reference: list | None = None) -> dict[str, list[dict]]:
    """{code: [signature, ...]} of every implementation of exercise `ex`'s misconceptions, on
    these inputs (`course.diagnosis.signature`). reference: the reference answer's outcomes on
    them, if already computed."""
    import solutions
    from course import diagnosis

    names = solutions.namespace()
    if reference is None:
        reference = diagnosis.outcomes(ex, solutions.reference(ex.function), inputs, names)
    right = diagnosis.fingerprints(reference)
    found: dict[str, list[dict]] = {}
    for bug in bugs_for(ex.function):
        made = diagnosis.outcomes(ex, bug.load(names), inputs, names)
        found.setdefault(bug.code, []).append(diagnosis.signature(diagnosis.fingerprints(made), right))
    return found


def shipped_fingerprints() -> dict:
    """What the student's package carries (``course/fingerprints.json``): for each exercise with
    misconceptions, {code: [signature]} on the visible check's inputs (seed `diagnosis.SEED`).

    Signatures are fingerprints of *wrong* answers only (shapes, norms, a few projections):
    nothing in them is an answer, or leads to one."""
    from course import diagnosis
    from course.exercises import EXERCISES

    return {name: signatures(ex, [inputs for _, inputs in ex.inputs(diagnosis.SEED)])
            for name, ex in EXERCISES.items() if ex.misconceptions}


def write_fingerprints() -> Path:
    """Write `shipped_fingerprints` into the course package; returns the file's path."""
    import json

    from course import diagnosis

    def rounded(v):
        if isinstance(v, float):
            return float(f"{v:.12g}")
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return [rounded(x) for x in v] if isinstance(v, list) else v

    text = json.dumps(rounded(shipped_fingerprints()), separators=(",", ":"), sort_keys=True)
    diagnosis.FINGERPRINTS.write_text(text + "\n")
    diagnosis._shipped.cache_clear()
    return diagnosis.FINGERPRINTS
