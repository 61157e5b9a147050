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


@dataclass(frozen=True)
class Bug:
    """A wrong answer. exercise: the function it replaces; source: its full definition."""

    exercise: str
    name: str
    description: str
    source: str

    def load(self, namespace: dict | None = None):
        """Exec the source (with numpy as np and `namespace`) and return the function."""
        import numpy as np

        scope = {"np": np, **(namespace or {})}
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
