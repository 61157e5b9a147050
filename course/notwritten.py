"""What the course says when an exercise is not written yet.

An exercise's stub raises NotImplementedError. A check cell turns that into one line,
``not written yet: write X in its exercise cell above, ...`` (`course.exercises.check`). The
notebooks' example cells that call your functions run under `needs`, which prints the same
kind of line instead of a traceback through the course's code, so that a fresh notebook runs
from the top with one short line under each example you have not made possible yet.

When the course's own code calls an exercise (training calls your loss, the autodiff engine
calls your ops' backward methods), the NotImplementedError it raises carries the name of the
exercise that is missing in its ``culprit`` attribute; `culprit` reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["culprit", "needs", "not_written"]


def not_written(message: str, name: str | None) -> NotImplementedError:
    """A NotImplementedError saying `message`, naming the exercise `name` that is missing."""
    exc = NotImplementedError(message)
    exc.culprit = name
    return exc


def _frames(exc: BaseException) -> list:
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _names(frame) -> list[str]:
    """What a frame may be called by a notebook: its class (a method's self or cls), its function."""
    names = []
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    if owner is not None:
        names.append((owner if isinstance(owner, type) else type(owner)).__name__)
    code = frame.f_code
    qualname = getattr(code, "co_qualname", code.co_name)  # Python 3.11+: "Plus.backward"
    names += reversed(qualname.split(".<locals>.")[-1].split("."))
    return names


def culprit(exc: BaseException) -> str | None:
    """The exercise whose stub raised `exc`: the name the course attached, else the class or
    function of the innermost frame (None if the traceback is empty)."""
    named = getattr(exc, "culprit", None)
    if named:
        return named
    frames = _frames(exc)
    return _names(frames[-1])[0] if frames else None


def _missing(exc: BaseException, exercises: tuple[str, ...]) -> list[str]:
    """Which exercise is not written yet: the one the course named, else the innermost of
    `exercises` in the traceback, else the innermost frame's (or, with `exercises`, all of them)."""
    named = getattr(exc, "culprit", None)
    if named:
        return [named]
    for frame in reversed(_frames(exc)):  # innermost first
        for name in _names(frame):
            if name in exercises:
                return [name]
    if exercises:
        return list(exercises)
    found = culprit(exc)
    return [found] if found else []


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@contextlib.contextmanager
def needs(*exercises: str) -> Iterator[None]:
    """Run an example that calls the exercises named; while one of them is not written yet,
    print one line saying which, instead of a traceback (the rest of the block is skipped).

    >>> with needs("softmax_loss"):
    ...     loss, dx = softmax_loss(scores, labels)
    """
    try:
        yield
    except NotImplementedError as exc:
        missing = _missing(exc, exercises)
        if not missing:
            print("not written yet: this example needs an exercise above: do it first, then run this cell again")
        else:
            it, cells, that = ("it", "its exercise cell", "that cell") if len(missing) == 1 else (
                "them", "their exercise cells", "those cells")
            print(f"not written yet: this example needs {_listed(missing)}: write {it} in {cells} above, "
                  f"run {that}, then this one")
