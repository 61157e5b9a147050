"""Sealed verdicts: each exercise judged outside the student's interpreter.

A notebook's own tests run inside the student's kernel, where the student's code can
replace ``np.allclose``, the checkers or builtins, and pass anything. So every graded
exercise is also checked like this:

1. the grader draws hidden inputs (seeded per student and question) and writes them as
   ``.npz`` files into the submission's working folder;
2. harness cells appended to the notebook call the student's function on them, in the
   student's kernel, and save what it returns as plain arrays (``np.savez``);
3. this module, in the grader's own process, which never imports anything of the
   student's, loads them with ``allow_pickle=False`` and compares them with the reference
   answers in `solutions` (and, for layers and losses, with finite differences of the
   forward passes in `course`).

What the student's code returns is only data: monkeypatching, objects with a custom
``__eq__`` or ``__array__``, pre-seeded ``sys.modules`` change nothing about the verdict.

An analytic gradient agrees with the reference to rounding (about 1e-15). A "backward
pass" that is really a finite-difference loop lands near 1e-10 to 1e-6, and makes many
forward calls: it is flagged ``numerical-gradient`` and earns nothing.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

#: A right answer agrees with the reference to this relative error (norm-wise): analytic
#: formulas, however arranged, differ by rounding only (about 1e-16).
EXACT = 1e-11
#: Between EXACT and this, an answer is right only to the precision of finite differences.
NUMERIC = 1e-4
#: Forward-pass calls a backward pass may make by itself (a loss may compute its forward).
MAX_FORWARD_CALLS = 4
#: Folder, inside the submission's working folder, for hidden inputs.
FOLDER = ".sealed"
#: The MIME type of the harness's answers, displayed by the harness cells to the grader.
MIME = "application/vnd.autograder.sealed+json"

# The harness runs in the student's kernel: one self-contained cell per question. It
# imports what it needs under private names, calls the student's function on each case
# and saves the results; any failure is written down as text, never raised.
HARNESS = r'''
def __sealed_run(plan):
    import json as _json, os as _os
    import numpy as _np
    import course.layers as _layers, course.losses as _losses
    ns = globals()

    # FLATTEN

    def call(kind, fn, inp, args):
        if kind == "backward":
            parts = [float(inp[k]) if k in args["floats"] else inp[k] for k in args["cache"]]
            return fn(inp["dout"], tuple(parts) if args["tuple"] else parts[0])
        if kind == "loss":
            return fn(inp["x"], inp["y"])
        if kind == "scalars":
            return fn(*[float(inp[k]) if inp[k].ndim == 0 else [float(v) for v in inp[k]] for k in args["order"]])
        if kind == "net_loss":
            params = {k: inp[k] for k in ("W1", "b1", "W2", "b2")}
            return fn(params, inp["X"], inp["y"], float(inp["reg"]))
        if kind == "net_train":
            from course.data import load_digits
            from course.training import init_two_layer_net, train
            data = load_digits(_np.random.default_rng(args["data_seed"]))
            rng = _np.random.default_rng(args["seed"])
            start = init_two_layer_net(data.num_features, args["hidden"], data.num_classes, rng, scale=0.1)
            history = train(fn, start, data.X_train, data.y_train, data.X_val, data.y_val, rng, **args["train"])
            return dict(history.params)
        if kind == "op":
            context = {}
            out = fn.forward(context, *[inp[k] for k in args["order"]], **args["constants"])
            grads = fn.backward(context, inp["goutput"])
            return {"out": out, "grads": tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)}
        from course.autodiff import TensorNode
        if kind == "linear":
            x = TensorNode(inp["x"])
            layer = fn(inp["w"], inp["b"])
            out = layer(x)
            out.backward(inp["goutput"])
            return {"out": out.value, "dx": x.grad, "dw": layer.w.grad, "db": layer.b.grad}
        if kind == "autodiff_net":
            X, linear = TensorNode(inp["X"]), ns["Linear"]
            l1, l2 = linear(inp["W1"], inp["b1"]), linear(inp["W2"], inp["b2"])
            loss = fn(X, inp["y"], l1, l2, reg=float(inp["reg"]))
            loss.backward()
            return {"loss": loss.value, "dX": X.grad, "dW1": l1.w.grad, "db1": l1.b.grad,
                    "dW2": l2.w.grad, "db2": l2.b.grad}
        raise ValueError(kind)

    calls = [0]

    def counted(f):
        def wrapper(*a, **k):
            calls[0] += 1
            return f(*a, **k)
        return wrapper

    from IPython.display import display as _display
    import base64 as _b64, io as _io

    def report(tag, **record):
        # the answer travels back as a message to the grader, not as a file: the working
        # folder is the student's (and may be full)
        _display({MIME: dict(record, tag=tag)}, raw=True)

    fn = ns.get(plan["function"])
    for case in plan["cases"]:
        base = _os.path.join(plan["dir"], case["tag"])
        patched = []
        try:
            if fn is None:
                raise NameError(f"{plan['function']} is not defined")
            inp = dict(_np.load(base + ".in.npz", allow_pickle=False))
            # count forward passes made during the call: a finite-difference loop makes many
            for owner in (_layers, _losses) if plan["count"] else ():
                for name in dir(owner):
                    if name.endswith("_forward"):
                        patched.append((owner, name, getattr(owner, name)))
                        setattr(owner, name, counted(getattr(owner, name)))
            for name in [n for n in ns if plan["count"] and n.endswith("_forward") and callable(ns[n])]:
                patched.append((ns, name, ns[name]))
                ns[name] = counted(ns[name])
            calls[0] = 0
            result = flatten(call(plan["kind"], fn, inp, case["args"]))
            result["__forward_calls__"] = _np.asarray(float(calls[0]))
            # the inputs as the call left them: a function must not modify dout or its cache
            result.update({f"__after__.{k}": v for k, v in inp.items()})
            buffer = _io.BytesIO()
            _np.savez(buffer, **result)
            report(case["tag"], npz=_b64.b64encode(buffer.getvalue()).decode())
        except BaseException as e:
            report(case["tag"], error=f"{type(e).__name__}: {e}"[:500])
        finally:
            for owner, name, original in reversed(patched):
                if isinstance(owner, dict):
                    owner[name] = original
                else:
                    setattr(owner, name, original)


__sealed_run(__import__("json").loads(PLAN))
del __sealed_run
'''


@dataclass(frozen=True)
class Case:
    """One hidden input: arrays for the kernel, JSON-able arguments, and a name for messages."""

    name: str
    inputs: dict
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """How one question is sealed: what to call, on what, and what it should return."""

    question: str  # the test cell's grade_id
    function: str  # the name the student's answer defines (or the notebook's graded function)
    kind: str  # how the harness calls it (see HARNESS)
    cases: Callable[[np.random.Generator], list]  # rng -> [Case]
    expected: Callable[[Case], dict]  # case -> {output name: array}, from the reference
    requires: tuple = ()  # questions whose sealed verdict must be right too
    judge: Callable | None = None  # custom verdict (case, answer arrays) -> error message or ""
    #: forward-pass calls allowed during one call of the answer; None: not counted
    max_forward_calls: int | None = MAX_FORWARD_CALLS
    #: names of the outputs in messages ({"0": "dx"}); unnamed outputs show their key
    labels: dict = field(default_factory=dict)


# One definition of how a result becomes named arrays, for both sides: the harness carries
# its source into the kernel, and the grader runs the same text here.
FLATTEN = '''
def flatten(value, prefix=""):
    """Plain arrays of a nested result: tuples and dicts become dotted keys ("0", "grads.1")."""
    import numpy
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, tuple) or (isinstance(value, list) and prefix == ""):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix or "0": numpy.asarray(value, dtype=numpy.float64)}
    out = {}
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out
'''
_scope: dict = {}
exec(FLATTEN, _scope)
flatten = _scope["flatten"]
HARNESS = HARNESS.replace("    # FLATTEN\n", textwrap.indent(FLATTEN.strip("\n"), "    ") + "\n")


# --- the specs of the course's questions --------------------------------------------


def _backward_spec(exercise: str) -> Spec:
    import solutions
    from solutions.exercise_checks import LAYER_EXERCISES, cases

    forward = LAYER_EXERCISES[exercise]

    def make(rng):
        out = []
        for name, inputs in cases(exercise, seed=int(rng.integers(2**31))).items():
            y, cache = forward(*inputs)
            parts = cache if isinstance(cache, tuple) else (cache,)
            arrays = {f"c{i}": np.asarray(p, dtype=np.float64) for i, p in enumerate(parts)}
            floats = [f"c{i}" for i, p in enumerate(parts) if np.isscalar(p)]
            arrays["dout"] = rng.standard_normal(np.shape(y))
            args = {"cache": [f"c{i}" for i in range(len(parts))], "floats": floats,
                    "tuple": isinstance(cache, tuple)}
            out.append(Case(name, arrays, args))
        return out

    def expected(case):
        parts = [float(case.inputs[k]) if k in case.args["floats"] else case.inputs[k] for k in case.args["cache"]]
        cache = tuple(parts) if case.args["tuple"] else parts[0]
        return flatten(getattr(solutions, exercise)(case.inputs["dout"], cache))

    params = [p for p in inspect.signature(forward).parameters if p != "alpha"]
    labels = {str(i): f"d{p}" for i, p in enumerate(params)} if len(params) > 1 else {"0": f"d{params[0]}"}
    return Spec(f"test_{exercise}", exercise, "backward", make, expected, labels=labels)


def _loss_spec(exercise: str) -> Spec:
    import solutions
    from solutions.exercise_checks import cases

    def make(rng):
        return [Case(name, {"x": x, "y": y}) for name, (x, y) in cases(exercise, seed=int(rng.integers(2**31))).items()]

    return Spec(f"test_{exercise}", exercise, "loss", make,
                lambda case: flatten(getattr(solutions, exercise)(case.inputs["x"], case.inputs["y"])),
                labels={"0": "the loss", "1": "dx"})


_CIRCUITS = {  # exercise -> argument names and sizes (0: a number)
    "max_gradient": {"x": 0, "y": 0},
    "compound_backward": {"x": 0, "y": 0, "z": 0},
    "neuron_backward": {"w": 3, "x": 2},
    "staged_backward": {"x": 0, "y": 0},
    "patterns_backward": {"x": 0, "y": 0, "z": 0, "w": 0},
}


def _circuit_spec(exercise: str) -> Spec:
    import solutions.circuits as reference

    sizes = _CIRCUITS[exercise]

    def make(rng):
        out = []
        for i in range(3):
            inputs = {k: 3 * rng.standard_normal(n) if n else np.asarray(3 * rng.standard_normal()) for k, n in sizes.items()}
            out.append(Case(f"point {i + 1}", inputs, {"order": list(sizes)}))
        return out

    def expected(case):
        args = [float(v) if v.ndim == 0 else [float(t) for t in v] for v in (case.inputs[k] for k in sizes)]
        return flatten(getattr(reference, exercise)(*args))

    return Spec(f"test_{exercise}", exercise, "scalars", make, expected, max_forward_calls=None,
                labels={str(i): f"d{k}" for i, k in enumerate(sizes)})


def _net_params(rng, n, d, h, c, scale=0.5):
    return {"X": rng.standard_normal((n, d)), "y": rng.integers(0, c, size=n),
            "W1": scale * rng.standard_normal((d, h)), "b1": rng.standard_normal(h),
            "W2": scale * rng.standard_normal((h, c)), "b2": rng.standard_normal(c)}


def _net_loss_spec() -> Spec:
    from solutions.two_layer_net import two_layer_net_loss

    def make(rng):
        shapes = [((5, 4, 6, 3), 0.0), ((1, 3, 5, 2), 0.1), ((8, 6, 7, 4), 0.5)]
        return [Case(f"N={s[0]}, D={s[1]}, H={s[2]}, C={s[3]}, reg={reg}",
                     _net_params(rng, *s) | {"reg": np.asarray(reg)}) for s, reg in shapes]

    def expected(case):
        i = case.inputs
        params = {k: i[k] for k in ("W1", "b1", "W2", "b2")}
        return flatten(two_layer_net_loss(params, i["X"], i["y"], float(i["reg"])))

    # affine, relu, affine and the softmax loss: four calls, and some slack for helpers
    return Spec("test_two_layer_net_loss", "two_layer_net_loss", "net_loss", make, expected,
                max_forward_calls=8, labels={"0": "the loss"} | {f"1.{k}": f"grads['{k}']" for k in ("W1", "b1", "W2", "b2")})


#: The accuracy a trained net must reach on the validation digits (as the notebook asks).
ACCURACY_NEEDED = 0.92


def _net_train_spec() -> Spec:
    from course.data import load_digits
    from course.training import accuracy

    def make(rng):
        args = {"data_seed": 0, "seed": int(rng.integers(2**31)), "hidden": 64,
                "train": {"learning_rate": 0.1, "reg": 1e-3, "epochs": 20, "batch_size": 32}}
        return [Case("training on the digits", {}, args)]

    def judge(case, answer):
        data = load_digits(np.random.default_rng(case.args["data_seed"]))
        try:
            params = {k: answer[k] for k in ("W1", "b1", "W2", "b2")}
            acc = accuracy(params, data.X_val, data.y_val)
        except Exception as e:
            return f"the trained parameters could not be used: {type(e).__name__}: {e}"
        return "" if acc >= ACCURACY_NEEDED else f"validation accuracy {acc:.3f} is below {ACCURACY_NEEDED}"

    return Spec("test_two_layer_net_loss_accuracy", "two_layer_net_loss", "net_train", make,
                expected=lambda case: {}, requires=("test_two_layer_net_loss",), judge=judge,
                max_forward_calls=None)


_OPS = {  # class -> (input shapes from n, m, k; constants)
    "Plus": (lambda n, m, k: [(n, m), (n, m)], {}),
    "Multiply": (lambda n, m, k: [(n, m), (n, m)], {}),
    "MatMul": (lambda n, m, k: [(n, k), (k, m)], {}),
    "Sigmoid": (lambda n, m, k: [(n, m)], {}),
    "RowSum": (lambda n, m, k: [(n, m)], {}),
    "Expand": (lambda n, m, k: [(m,)], {"size": "n"}),
}


def _op_spec(name: str) -> Spec:
    import solutions.autodiff as reference

    shapes, constants = _OPS[name]

    def make(rng):
        out = []
        for n, m, k in [(3, 4, 2), (1, 3, 5), (4, 4, 4)]:
            arrays = {f"a{i}": 2 * rng.standard_normal(s) for i, s in enumerate(shapes(n, m, k))}
            consts = {c: {"n": n}[v] for c, v in constants.items()}
            y = getattr(reference, name).forward({}, *arrays.values(), **consts)
            arrays["goutput"] = rng.standard_normal(np.shape(y))
            out.append(Case(f"n={n}, m={m}, k={k}", arrays, {"order": [f"a{i}" for i in range(len(shapes(n, m, k)))], "constants": consts}))
        return out

    def expected(case):
        op, context = getattr(reference, name), {}
        out = op.forward(context, *[case.inputs[k] for k in case.args["order"]], **case.args["constants"])
        grads = op.backward(context, case.inputs["goutput"])
        return flatten({"out": out, "grads": tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)})

    return Spec(f"test_{name}", name, "op", make, expected, max_forward_calls=None)


def _linear_spec() -> Spec:
    import solutions.autodiff as reference
    from course.autodiff import TensorNode

    def make(rng):
        return [Case(f"x ({n}, {d}), w ({d}, {m})",
                     {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, m)),
                      "b": rng.standard_normal(m), "goutput": rng.standard_normal((n, m))})
                for n, d, m in [(4, 3, 2), (1, 3, 2), (3, 3, 3)]]

    def expected(case):
        i = case.inputs
        x, layer = TensorNode(i["x"]), reference.Linear(i["w"], i["b"])
        out = layer(x)
        out.backward(i["goutput"])
        return flatten({"out": out.value, "dx": x.grad, "dw": layer.w.grad, "db": layer.b.grad})

    return Spec("test_Linear", "Linear", "linear", make, expected, max_forward_calls=None)


def _autodiff_net_spec() -> Spec:
    import solutions.autodiff as reference
    from course.autodiff import TensorNode

    def make(rng):
        return [Case(f"N={s[0]}, D={s[1]}, H={s[2]}, C={s[3]}, reg={reg}",
                     _net_params(rng, *s, scale=scale) | {"reg": np.asarray(reg)})
                for s, reg, scale in [((4, 3, 5, 3), 0.1, 1.0), ((1, 3, 4, 2), 0.0, 1.0), ((4, 3, 5, 3), 0.0, 30.0)]]

    def expected(case):
        i = case.inputs
        X = TensorNode(i["X"])
        l1, l2 = reference.Linear(i["W1"], i["b1"]), reference.Linear(i["W2"], i["b2"])
        loss = reference.two_layer_net(X, i["y"], l1, l2, reg=float(i["reg"]))
        loss.backward()
        return flatten({"loss": loss.value, "dX": X.grad, "dW1": l1.w.grad, "db1": l1.b.grad,
                        "dW2": l2.w.grad, "db2": l2.b.grad})

    return Spec("test_two_layer_net", "two_layer_net", "autodiff_net", make, expected, max_forward_calls=None)


def course_specs() -> dict[str, Spec]:
    """The sealed check of every graded question of the course, by question id."""
    from solutions.exercise_checks import LAYER_EXERCISES, LOSS_EXERCISES

    specs = [_backward_spec(e) for e in LAYER_EXERCISES]
    specs += [_loss_spec(e) for e in LOSS_EXERCISES]
    specs += [_circuit_spec(e) for e in _CIRCUITS]
    specs += [_net_loss_spec(), _net_train_spec()]
    specs += [_op_spec(n) for n in _OPS] + [_linear_spec(), _autodiff_net_spec()]
    return {s.question: s for s in specs}


# --- preparing, and judging -----------------------------------------------------------


@dataclass
class Plan:
    """The sealed questions of one notebook run: their specs and cases."""

    folder: Path
    questions: dict = field(default_factory=dict)  # question -> (Spec, [Case])


@dataclass
class Verdict:
    ok: bool
    message: str
    flags: tuple = ()


def _seed(*parts: str) -> int:
    # stable across runs and machines (Python's hash() is salted per process)
    return zlib.crc32("/".join(parts).encode())


def harness_question(cell) -> str | None:
    """The question a harness cell checks, or None for the notebook's own cells."""
    return cell.get("metadata", {}).get("autograder", {}).get("sealed")


def is_harness(cell) -> bool:
    return harness_question(cell) is not None


def prepare(nb, questions: list[str], workdir: Path, student: str, specs: dict | None = None) -> Plan:
    """Write the hidden inputs under workdir and append one harness cell per sealed question."""
    specs = course_specs() if specs is None else specs
    plan = Plan(folder=workdir / FOLDER)
    plan.folder.mkdir(exist_ok=True)
    for question in questions:
        spec = specs.get(question)
        if spec is None:
            continue
        cases = spec.cases(np.random.default_rng(_seed(student, question)))
        listed = []
        for i, case in enumerate(cases):
            tag = f"{question}.{i}"
            with open(plan.folder / f"{tag}.in.npz", "wb") as f:
                np.savez(f, **case.inputs)
            listed.append({"tag": tag, "args": case.args})
        plan.questions[question] = (spec, cases)
        payload = {"function": spec.function, "kind": spec.kind, "dir": str(plan.folder), "cases": listed,
                   "count": spec.max_forward_calls is not None}
        source = f"PLAN = {json.dumps(json.dumps(payload))}\nMIME = {MIME!r}\n" + HARNESS + "del PLAN, MIME\n"
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"autograder": {"sealed": question}}))
    return plan


def records(cells) -> dict[str, dict]:
    """The answers the harness cells displayed, by case tag (a later record of a tag wins)."""
    found = {}
    for cell in cells:
        if not is_harness(cell):
            continue
        for out in cell.get("outputs", []):
            record = out.get("data", {}).get(MIME) if out.get("output_type") == "display_data" else None
            if isinstance(record, dict) and isinstance(record.get("tag"), str):
                found[record["tag"]] = record
    return found


def _load(record: dict) -> dict:
    """The arrays of an answer record (base64 of an .npz); never unpickles."""
    with np.load(io.BytesIO(base64.b64decode(record["npz"], validate=True)), allow_pickle=False) as data:
        return {k: np.asarray(data[k]) for k in data.files}


def _error(a: np.ndarray, e: np.ndarray) -> float:
    """Norm-wise relative error, 0 for two zero arrays, inf for nan or inf."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return float("inf")
    scale = max(float(np.linalg.norm(e)), float(np.linalg.norm(a)))
    return float(np.linalg.norm(a - e)) / scale if scale else 0.0


def _judge_case(spec: Spec, case: Case, record: dict | None) -> tuple[str, float, float]:
    """(problem or "", worst relative error, forward calls) of one case, from its answer record."""
    if record is None:
        return f"no answer for a hidden input ({case.name}): the kernel died or timed out", np.inf, 0
    if "error" in record:
        return f"on a hidden input ({case.name}) your code raised {str(record['error'])[:300]}", np.inf, 0
    try:
        answer = _load(record)
    except Exception as e:  # a record the student's code displayed itself can be anything
        return f"the answer to a hidden input could not be read ({type(e).__name__})", np.inf, 0
    calls = float(answer.pop("__forward_calls__", np.asarray(0.0)))
    after = {k.removeprefix("__after__."): answer.pop(k) for k in list(answer) if k.startswith("__after__.")}
    changed = [k for k, v in case.inputs.items() if k in after and not np.array_equal(after[k], v, equal_nan=True)]
    if changed:
        names = ", ".join(sorted({"the cache" if k[0] == "c" and k[1:].isdigit() else k for k in changed}))
        return f"your function modified its input ({names}) in place: work on a copy", np.inf, calls
    if spec.judge is not None:
        return spec.judge(case, answer), 0.0, calls
    expected = spec.expected(case)
    if sorted(answer) != sorted(expected):
        return f"on a hidden input ({case.name}) the result has parts {sorted(answer)}, expected {sorted(expected)}", np.inf, calls
    worst = 0.0
    for key, e in expected.items():
        a = answer[key]
        if a.shape != e.shape:
            return f"on a hidden input ({case.name}) {spec.labels.get(key, key)} has shape {a.shape}, expected {e.shape}", np.inf, calls
        err = _error(a.astype(np.float64), e)
        if err > NUMERIC:
            return f"wrong on a hidden input ({case.name}): {spec.labels.get(key, key)} is off by {err:.1e} (relative)", err, calls
        worst = max(worst, err)
    return "", worst, calls


def judge(plan: Plan, answers: dict[str, dict]) -> dict[str, Verdict]:
    """The verdict on each sealed question, from the answer records (`records`) of its cases."""
    verdicts = {}
    for question, (spec, cases) in plan.questions.items():
        worst, calls, problem = 0.0, 0.0, ""
        for i, case in enumerate(cases):
            problem, err, n = _judge_case(spec, case, answers.get(f"{question}.{i}"))
            worst, calls = max(worst, err), max(calls, n)
            if problem:
                break
        if problem:
            verdicts[question] = Verdict(False, problem)
        elif worst > EXACT or (spec.max_forward_calls is not None and calls > spec.max_forward_calls):
            how = f"is right only to {worst:.0e}" if worst > EXACT else f"made {calls:.0f} forward-pass calls"
            verdicts[question] = Verdict(False, (
                f"your answer {how}, like a finite-difference estimate: a backward pass must be "
                "derived, not measured numerically (flagged for the instructor)"), ("numerical-gradient",))
        else:
            verdicts[question] = Verdict(True, "passed the sealed check")
    for question, (spec, _) in plan.questions.items():
        missing = [r for r in spec.requires if r in verdicts and not verdicts[r].ok]
        if missing and verdicts[question].ok:
            verdicts[question] = Verdict(False, f"needs a right answer to {', '.join(missing)} first")
    return verdicts
