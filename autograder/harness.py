"""The kernel's side of a sealed check: run the student's answer on hidden inputs, report it.

This module runs inside the student's kernel (the sandbox puts a copy beside `course`, as
``autograder_harness``): a harness cell appended to the notebook calls `run` with the
notebook's globals. For each hidden input it calls the exercise the way its declaration
says (`course.exercises.Convention.run`, the very function the grader runs on the
reference answer) and displays what came back as plain arrays, as a message to the grader
(`MIME`), never as a file. Any failure is reported as text, never raised.

It imports nothing of the grader: only numpy and `course`. What it reports is data the
grader judges in its own process; the student's code can change anything here, and gain
nothing but a wrong answer.
"""

from __future__ import annotations

import base64
import contextlib
import io

MIME = "application/vnd.autograder.sealed+json"
#: The name this module has in the kernel.
MODULE = "autograder_harness"


def _report(tag: str, **record) -> None:
    from IPython.display import display

    display({MIME: dict(record, tag=tag)}, raw=True)


class _Counter:
    """Counts calls to every forward pass (``*_forward``) of `course` and of the notebook.

    A backward pass that calls forward passes many times is measuring its gradient with
    finite differences instead of deriving it.
    """

    def __init__(self, namespace: dict):
        self.namespace, self.calls = namespace, 0

    def _wrap(self, f):
        def counted(*args, **kwargs):
            self.calls += 1
            return f(*args, **kwargs)

        return counted

    @contextlib.contextmanager
    def __call__(self):
        import course.layers
        import course.losses

        modules = [(m, n, getattr(m, n)) for m in (course.layers, course.losses) for n in dir(m)
                   if n.endswith("_forward")]
        notebook = [(n, f) for n, f in list(self.namespace.items()) if n.endswith("_forward") and callable(f)]
        try:
            for module, name, f in modules:
                setattr(module, name, self._wrap(f))
            for name, f in notebook:
                self.namespace[name] = self._wrap(f)
            yield
        finally:
            for module, name, f in modules:
                setattr(module, name, f)
            for name, f in notebook:
                self.namespace[name] = f


def answer(ex, fn, inputs: dict, namespace: dict, counter: _Counter | None = None) -> dict:
    """The arrays sent back for one hidden input: what the answer returned, part by part, the
    forward passes it called, and the inputs as the call left them (an answer must not modify
    dout or its cache)."""
    import numpy as np

    if counter is not None:
        counter.calls = 0
    result = ex.convention.run(fn, inputs, namespace, counter if counter is not None else contextlib.nullcontext)
    result = {k: np.asarray(v, dtype=np.float64) for k, v in result.items()}
    result["__forward_calls__"] = np.asarray(float(counter.calls if counter is not None else 0))
    return result | {f"__after__.{k}": v for k, v in inputs.items()}


def run(plan: dict, namespace: dict) -> None:
    """Run one exercise's answer on each hidden input of `plan`, and report every result.

    plan: {"exercise": name, "count": bool, "cases": [{"tag": str, "file": path of an .npz}]}.
    namespace: the notebook's globals, where the answer (and what it needs) is defined.
    """
    import numpy as np

    from course.exercises import exercise

    ex = exercise(plan["exercise"])
    fn = namespace.get(ex.function)
    counter = _Counter(namespace) if plan["count"] else None
    for case in plan["cases"]:
        try:
            if fn is None:
                raise NameError(f"{ex.function} is not defined")
            inputs = dict(np.load(case["file"], allow_pickle=False))
            buffer = io.BytesIO()
            np.savez(buffer, **answer(ex, fn, inputs, namespace, counter))
            _report(case["tag"], npz=base64.b64encode(buffer.getvalue()).decode())
        except BaseException as e:  # noqa: BLE001 (a KeyboardInterrupt is a timeout: reported too)
            e.__traceback__ = None  # what the answer's frames held (a memory hog's) is freed first
            _report(case["tag"], error=f"{type(e).__name__}: {e}"[:500])


def run_each(plans: list[dict], namespace: dict) -> None:
    """`run` for each plan in turn (one cell for all the notebook's sealed questions)."""
    for plan in plans:
        run(plan, namespace)


# --- the cost check: is the answer about as cheap as a forward pass? ------------------------
# Each cell draws the exercise's large input (its declaration's `cost` case) from the same
# seed, so the two need nothing from each other, and frees it when done.


def _large(name: str, seed: int):
    import numpy as np

    from course.exercises import exercise

    ex = exercise(name)
    return ex, ex.draw(ex.cost, np.random.default_rng(seed))


def cost_answer(name: str, seed: int, namespace: dict) -> None:
    """Run the answer once on the large input; the grader times this cell, with a budget
    (the drawing adds to its time what it adds to the forward passes')."""
    ex, inputs = _large(name, seed)
    ex.convention.run(namespace[ex.function], inputs, namespace)


def cost_answers(checks: list[tuple[str, int]], namespace: dict) -> None:
    """`cost_answer` for each (exercise, seed), timed together by the grader; an answer that
    raises only ends its own turn (what it computes is judged by `run`, not here)."""
    for name, seed in checks:
        try:
            cost_answer(name, seed, namespace)
        except Exception as e:  # noqa: BLE001
            e.__traceback__ = None  # what the answer's frames held is freed first


def cost_forward(name: str, seed: int, reps: int) -> None:
    """Run the forward pass `reps` times on the large input; the grader times this cell
    (only for an answer slower than the least budget: it says what the budget is)."""
    ex, inputs = _large(name, seed)
    for _ in range(reps):
        ex.convention.forward_once(inputs)
