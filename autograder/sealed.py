"""Sealed verdicts: each exercise judged outside the student's interpreter.

A notebook's own tests run inside the student's kernel, where the student's code can
replace ``np.allclose``, the checkers or builtins, and pass anything. So every declared
exercise (`course.exercises`) is also checked like this:

1. the grader draws the exercise's cases from its declaration, seeded per student and
   question, and writes them as ``.npz`` files into the submission's working folder;
2. a harness cell appended to the notebook (one for all its questions; one per question
   where that one did not end well, `follow_up`) runs `autograder.harness` in the student's
   kernel: it calls the student's answer the way the declaration says
   (`Convention.run`) and sends back what it returned as plain arrays;
3. this module, in the grader's own process, which never imports anything of the
   student's, loads them with ``allow_pickle=False`` and compares them, part by part,
   with what the same `Convention.run` returns for the reference answer in `solutions`.

What the student's code returns is only data: monkeypatching, objects with a custom
``__eq__`` or ``__array__``, pre-seeded ``sys.modules`` change nothing about the verdict.

An analytic gradient agrees with the reference to rounding (about 1e-15). A "backward
pass" that is really a finite-difference loop lands near 1e-10 to 1e-6, and makes many
forward calls: it is flagged ``numerical-gradient`` and earns nothing. A question's points
may be split across its parts (dx, dw, db): a wrong part costs only its share.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autograder.harness import MIME
from autograder.harness import MODULE as HARNESS_MODULE
from course import diagnosis
from course.exercises import EXERCISES, Exercise, Training

#: A right answer agrees with the reference to this relative error (norm-wise): analytic
#: formulas, however arranged, differ by rounding only (about 1e-16).
EXACT = 1e-11
#: Between EXACT and this, an answer is right only to the precision of finite differences.
NUMERIC = 1e-4
#: Forward-pass calls an answer may make by itself (a loss may compute its forward, a net
#: its four layers, with some slack for helpers).
MAX_FORWARD_CALLS = 8
#: The cost check (an exercise's `cost` case): the answer, run once on a large input, may
#: take COST_FACTOR forward passes' time (timed COST_REPS times, in the same kernel, by the
#: grader's clock), at least COST_FLOOR and at most COST_CEILING seconds. An analytic backward
#: pass costs about one or two forward passes; a loop over the batch, tens; any per-entry
#: numerical method, one per input entry (262,144 here: minutes). The ceiling also bounds
#: what a submission gains by slowing the forward passes down. The forward passes are timed
#: only for an answer that took more than COST_FLOOR: within it, it is in budget whatever
#: they take.
COST_REPS = 5
COST_FACTOR = 200
COST_FLOOR = 2.0
COST_CEILING = 10.0
#: Folder, inside the submission's working folder, for hidden inputs.
FOLDER = ".sealed"


@dataclass
class Plan:
    """The sealed questions of one notebook run: their exercises and drawn cases."""

    folder: Path
    student: str = ""  # the hidden inputs' seeds are drawn from it
    questions: dict = field(default_factory=dict)  # question -> (Exercise, [(Case, inputs)])
    payloads: dict = field(default_factory=dict)  # question -> what `harness.run` gets


@dataclass
class Verdict:
    """The sealed verdict on one question: points earned, and why the others were lost."""

    score: float
    points: float
    message: str
    flags: tuple = ()
    #: the codes of the misconceptions the answer shows (`course.diagnosis`), catalog order,
    #: and what they say to the student
    diagnosis: tuple = ()
    advice: str = ""

    @property
    def ok(self) -> bool:
        return self.score >= self.points


def declared(questions: list[str], exercises: dict | None = None) -> dict[str, Exercise]:
    """The declared exercise of each question that has one (the others are unsealed)."""
    by_question = {e.question: e for e in (EXERCISES if exercises is None else exercises).values()}
    return {q: by_question[q] for q in questions if q in by_question}


def _seed(*parts: str) -> int:
    # stable across runs and machines (Python's hash() is salted per process)
    return zlib.crc32("/".join(parts).encode())


def harness_questions(cell) -> list[str]:
    """The questions a harness cell checks (one, or every question of a combined cell); [] for
    the notebook's own cells."""
    found = cell.get("metadata", {}).get("autograder", {}).get("sealed")
    return [found] if isinstance(found, str) else list(found or [])


def harness_question(cell) -> str | None:
    """The question a harness cell of one question checks, else None."""
    found = cell.get("metadata", {}).get("autograder", {}).get("sealed")
    return found if isinstance(found, str) else None


def is_harness(cell) -> bool:
    return bool(harness_questions(cell))


def cost_step(cell) -> str | None:
    """"forward" or "answer" for the cells of a cost check, else None."""
    return cell.get("metadata", {}).get("autograder", {}).get("cost")


def cost_budget(forward_seconds: float) -> float:
    """Seconds the answer may take on the large input, given COST_REPS forward passes' seconds."""
    return min(COST_CEILING, max(COST_FLOOR, COST_FACTOR * forward_seconds / COST_REPS))


def _harness_cell(questions: list[str], code: str, **meta) -> nbformat.NotebookNode:
    source = f"import {HARNESS_MODULE} as _harness\n{code}\ndel _harness"
    sealed = questions[0] if len(questions) == 1 else questions
    return nbformat.v4.new_code_cell(source, metadata={"autograder": {"sealed": sealed, **meta}})


def prepare(questions: list[str], workdir: Path, student: str, exercises: dict | None = None) -> Plan:
    """Draw each sealed question's hidden inputs and write them under workdir; the harness
    cells that use them come from `follow_up`."""
    plan = Plan(folder=workdir / FOLDER, student=student)
    plan.folder.mkdir(exist_ok=True)
    for question, ex in declared(questions, exercises).items():
        drawn = ex.inputs(_seed(student, question))
        listed = []
        for i, (_, inputs) in enumerate(drawn):
            tag = f"{question}.{i}"
            path = plan.folder / f"{tag}.in.npz"
            with open(path, "wb") as f:
                np.savez(f, **inputs)
            listed.append({"tag": tag, "file": str(path)})
        plan.questions[question] = (ex, drawn)
        plan.payloads[question] = {"exercise": ex.name, "count": ex.count_forward, "cases": listed}
    return plan


def _run_cell(plan: Plan, questions: list[str]) -> nbformat.NotebookNode:
    payloads = [plan.payloads[q] for q in questions]
    return _harness_cell(questions, f"_harness.run_each(__import__('json').loads({json.dumps(json.dumps(payloads))}), "
                                    "globals())")


def _cost_cell(plan: Plan, questions: list[str], step: str) -> nbformat.NotebookNode:
    checks = [(plan.questions[q][0].name, _seed(plan.student, q, "cost")) for q in questions]
    if step == "forward":
        (name, seed), = checks
        return _harness_cell(questions, f"_harness.cost_forward({name!r}, {seed}, {COST_REPS})", cost=step)
    return _harness_cell(questions, f"_harness.cost_answers({checks!r}, globals())", cost=step)


def _ran(cells, outcomes: dict, combined: bool, step: str | None = None) -> list:
    """(cell, outcome) of the harness cells run so far: combined ones or one question's, of a step."""
    return [(c, outcomes[i]) for i, c in enumerate(cells) if i in outcomes and is_harness(c)
            and (harness_question(c) is None) == combined and cost_step(c) == step]


def _cost_steps(cells, outcomes: dict) -> dict[str, dict[str, list]]:
    """{question: {"answer": [outcome, ...], "forward": [...]}} of the one-question cost cells run so far."""
    steps: dict[str, dict[str, list]] = {}
    for i, cell in enumerate(cells):
        step, question = cost_step(cell), harness_question(cell)
        if step and question and i in outcomes:
            steps.setdefault(question, {"answer": [], "forward": []})[step].append(outcomes[i])
    return steps


def cost_timeout(cells, index: int, outcomes: dict) -> float | None:
    """The timeout of cell `index` if it times answers on the large inputs, else None: COST_FLOOR
    (and a second to report), or one answer's budget from its forward passes, when timed."""
    if cost_step(cells[index]) != "answer":
        return None
    forward = _cost_steps(cells[:index], outcomes).get(harness_question(cells[index]), {}).get("forward")
    return (cost_budget(forward[-1].seconds) if forward and forward[-1].status == "ok" else COST_FLOOR) + 1.0


def follow_up(plan: Plan, cells, outcomes: dict, hopeless: frozenset = frozenset()) -> list:
    """The harness cells to run next, given what ran so far ([]: the sealed checks are done).

    hopeless: questions whose own test hung or killed the kernel (their sealed check would
    too: not run, their verdict is the notebook's).

    First, two cells for the whole notebook: every question's hidden inputs, then every cost
    check's answer on its large input, timed together: within COST_FLOOR, each is. Where one
    of them did not end well (a timeout, a dead kernel, an error that escaped the harness) or
    the answers took longer, the same again one question per cell (not the one a timed-out
    cell was running: `timed_out`). Then the forward passes of an answer slower than
    COST_FLOOR (they set its budget), and that answer again if it was stopped at COST_FLOOR
    where the budget turned out larger (a slow machine).
    """
    live = [q for q in plan.questions if q not in hopeless]
    costly = [q for q in live if plan.questions[q][0].cost is not None]
    if not any(is_harness(c) for c in cells):
        return ([_run_cell(plan, live)] if live else []) + ([_cost_cell(plan, costly, "answer")] if costly else [])
    more = []
    if any(o.status != "ok" for _, o in _ran(cells, outcomes, True)) and not _ran(cells, outcomes, False):
        stalled = timed_out(plan, cells, outcomes)  # it would run out of time again: not run again
        more += [_run_cell(plan, [q]) for q in _unanswered(plan, cells, live) if q not in stalled]
    if (any(o.status != "ok" or o.seconds > COST_FLOOR for _, o in _ran(cells, outcomes, True, "answer"))
            and not _cost_steps(cells, outcomes)):
        more += [_cost_cell(plan, [q], "answer") for q in costly]
    if more:
        return more
    for question, steps in _cost_steps(cells, outcomes).items():
        answer, forward = steps["answer"][-1], steps["forward"]
        slow = answer.status == "timeout" or (answer.status == "ok" and answer.seconds > COST_FLOOR)
        if not slow:
            continue
        if not forward:
            more.append(_cost_cell(plan, [question], "forward"))
        elif (len(steps["answer"]) == 1 and answer.status == "timeout" and forward[-1].status == "ok"
              and cost_budget(forward[-1].seconds) > COST_FLOOR):
            more.append(_cost_cell(plan, [question], "answer"))
    return more


def _unanswered(plan: Plan, cells, questions: list[str]) -> list[str]:
    """The questions without an answer record for every one of their hidden inputs."""
    found = records(cells)
    return [q for q in questions if any(f"{q}.{i}" not in found for i in range(len(plan.questions[q][1])))]


def timed_out(plan: Plan, cells, outcomes: dict) -> set[str]:
    """The questions whose hidden inputs ran out of time: a cell of their own that timed out, or
    the one a combined cell was running when it did (the first without every answer)."""
    stalled = set()
    for cell, outcome in _ran(cells, outcomes, False) + _ran(cells, outcomes, True):
        if outcome.status == "timeout":
            stalled |= set(_unanswered(plan, cells, harness_questions(cell))[:1])
    return stalled


def costs(cells, outcomes: dict) -> dict[str, Cost]:
    """What the grader's clock said of each question's cost check (see `Cost`); none for a
    question whose forward passes, when timed, did not run fine (no budget to judge by)."""
    found = {}
    for cell, outcome in _ran(cells, outcomes, True, "answer"):
        if outcome.status == "ok" and outcome.seconds <= COST_FLOOR:  # each answer took less
            found |= {q: Cost(None, "ok", outcome.seconds) for q in harness_questions(cell)}
    for question, steps in _cost_steps(cells, outcomes).items():
        answer, forward = steps["answer"][-1], steps["forward"]
        if answer.status == "skipped" or (forward and forward[-1].status != "ok"):
            continue
        found[question] = Cost(forward[-1].seconds if forward else None, answer.status, answer.seconds)
    return found


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
        arrays = {k: np.asarray(data[k]) for k in data.files}
    for k, a in arrays.items():  # a record the student's code forged may hold strings
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
            raise ValueError(f"{k} holds {a.dtype}, not numbers")
    return arrays


def _error(a: np.ndarray, e: np.ndarray) -> float:
    """Norm-wise relative error, 0 for two zero arrays, inf for nan or inf."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return float("inf")
    scale = max(float(np.linalg.norm(e)), float(np.linalg.norm(a)))
    return float(np.linalg.norm(a - e)) / scale if scale else 0.0


def expected(ex: Exercise, inputs: dict) -> dict:
    """What the reference answer returns on inputs, run by the same convention as the student's."""
    import solutions

    return ex.convention.run(solutions.reference(ex.function), inputs, solutions.namespace())


@dataclass
class _Case:
    """What one hidden input says: a problem with the whole answer, or each part's error."""

    problem: str = ""
    errors: dict = field(default_factory=dict)  # part -> relative error (inf: wrong shape or missing)
    calls: float = 0.0


def _judge_case(ex: Exercise, name: str, inputs: dict, record: dict | None) -> _Case:
    if record is None:
        return _Case(f"no answer for a hidden input ({name}): the kernel died or timed out")
    if "error" in record:
        return _Case(f"on a hidden input ({name}) your code raised {str(record['error'])[:300]}")
    try:
        answer = _load(record)
    except Exception as e:  # a record the student's code displayed itself can be anything
        return _Case(f"the answer to a hidden input could not be read ({type(e).__name__})")
    calls = float(answer.pop("__forward_calls__", np.asarray(0.0)))
    after = {k.removeprefix("__after__."): answer.pop(k) for k in list(answer) if k.startswith("__after__.")}
    changed = [k for k, v in inputs.items() if k in after and not np.array_equal(after[k], v, equal_nan=True)]
    if changed:
        return _Case(f"your function modified its input ({', '.join(sorted(changed))}) in place: work on a copy",
                     calls=calls)
    if isinstance(ex.convention, Training):
        try:
            acc = ex.convention.accuracy({k: answer[k] for k in answer})
        except Exception as e:
            return _Case(f"the trained parameters could not be used: {type(e).__name__}: {e}", calls=calls)
        needed = ex.convention.settings.accuracy_needed
        return _Case(errors={"accuracy": 0.0 if acc >= needed else np.inf}, calls=calls,
                     problem="" if acc >= needed else f"validation accuracy {acc:.3f} is below {needed}")
    errors = {}
    for part, e in expected(ex, inputs).items():
        a = answer.get(part)
        errors[part] = np.inf if a is None or a.shape != e.shape else _error(a.astype(np.float64), e)
    return _Case(errors=errors, calls=calls)


def _part_points(ex: Exercise) -> dict:
    """{part: points}, a single number spread over every part as one group ("all")."""
    return ex.part_points()


def _verdict(ex: Exercise, cases: list[tuple[str, _Case]]) -> Verdict:
    """Combine the cases of one question into its verdict, part by part."""
    points = ex.total
    for _, case in cases:
        if case.problem:
            return Verdict(0.0, points, case.problem)
    worst = {}
    where = {}
    for name, case in cases:
        for part, err in case.errors.items():
            if err > worst.get(part, -1.0):
                worst[part], where[part] = err, name
    calls = max((c.calls for _, c in cases), default=0.0)
    wrong = {p for p, e in worst.items() if e > NUMERIC}
    numeric = any(EXACT < e <= NUMERIC for e in worst.values())
    if ex.count_forward and calls > MAX_FORWARD_CALLS or (numeric and not wrong):
        how = (f"made {calls:.0f} forward-pass calls" if calls > MAX_FORWARD_CALLS
               else f"is right only to {max(worst.values()):.0e}")
        return Verdict(0.0, points, (f"your answer {how}, like a finite-difference estimate: a backward pass "
                                     "must be derived, not measured numerically (flagged for the instructor)"),
                       ("numerical-gradient",))
    if not wrong:
        return Verdict(points, points, "passed the sealed check")
    split = _part_points(ex)
    lost = {g: p for g, p in split.items() if (g == "all" and wrong) or g in wrong}
    score = points - sum(lost.values())
    details = "; ".join(
        f"{p} {'has the wrong shape or is missing' if worst[p] == np.inf else f'is off by {worst[p]:.1e} (relative)'}"
        f" on a hidden input ({where[p]})" for p in sorted(wrong, key=list(worst).index))
    share = "" if score == 0 else f" ({sum(lost.values()):g} of {points:g} points lost: {', '.join(lost)})"
    return Verdict(score, points, f"wrong: {details}{share}")


@dataclass(frozen=True)
class Cost:
    """What the grader's clock said of a cost check: the answer, and COST_REPS forward passes
    when the answer took more than COST_FLOOR (None: not timed, the budget is COST_FLOOR)."""

    forward_seconds: float | None
    answer_status: str  # the answer cell's outcome: ok, error, timeout, crashed
    answer_seconds: float

    @property
    def budget(self) -> float:
        return COST_FLOOR if self.forward_seconds is None else cost_budget(self.forward_seconds)

    def too_slow(self) -> bool:
        return self.answer_status == "timeout" or (self.answer_status == "ok" and self.answer_seconds > self.budget)


def _cost_verdict(ex: Exercise, cost: Cost) -> Verdict:
    took = f"more than {cost.budget:.1f} s" if cost.answer_status == "timeout" else f"{cost.answer_seconds:.1f} s"
    compared = ""
    if cost.forward_seconds is not None:
        forward = cost.forward_seconds / COST_REPS
        compared = (f", where one forward pass takes {forward * 1000:.1f} ms: that is more than "
                    f"{cost.budget / max(forward, 1e-9):.0f} forward passes")
    return Verdict(0.0, ex.total, (
        f"your {ex.function} took {took} on a large input ({ex.cost.name}){compared}, as if it "
        "evaluated the forward pass once per input entry (finite differences, complex steps or another numerical "
        "method): derive the backward pass instead (flagged for the instructor)"), ("numerical-gradient",))


def _outcomes(question: str, drawn: list, answers: dict[str, dict]) -> list | None:
    """What the answer did on each hidden input, as `course.diagnosis.outcomes` says it: arrays,
    an error's kind, or "modified"; None when a case has no readable record (no diagnosis)."""
    found = []
    for i, (_, inputs) in enumerate(drawn):
        record = answers.get(f"{question}.{i}")
        if record is None:
            return None
        if "error" in record:
            kind, _, message = str(record["error"]).partition(": ")
            found.append(diagnosis.kind_of(kind, message))
            continue
        try:
            arrays = _load(record)
        except Exception:  # noqa: BLE001 (judged elsewhere; nothing to diagnose)
            return None
        arrays.pop("__forward_calls__", None)
        after = {k.removeprefix("__after__."): arrays.pop(k) for k in list(arrays) if k.startswith("__after__.")}
        changed = any(k in after and not np.array_equal(after[k], v, equal_nan=True) for k, v in inputs.items())
        found.append("modified" if changed else {k: v.astype(np.float64) for k, v in arrays.items()})
    return found


def diagnosed(ex: Exercise, question: str, drawn: list, answers: dict[str, dict]) -> tuple[str, ...]:
    """The misconceptions a wrong answer shows on its hidden inputs: its outcomes matched with
    those of the answer key's implementation of each (run here, on the same inputs), then
    the structural probes against the reference."""
    import solutions
    from solutions.bugs import signatures

    answer = _outcomes(question, drawn, answers) if ex.misconceptions else None
    if answer is None:
        return ()
    inputs = [i for _, i in drawn]
    reference = diagnosis.outcomes(ex, solutions.reference(ex.function), inputs, solutions.namespace())
    try:
        return tuple(diagnosis.diagnose(ex, answer, signatures(ex, inputs, reference), reference))
    except Exception:  # noqa: BLE001 (arrays a student's code forged: a diagnosis is never worth a crash)
        return ()


def _with_diagnosis(ex: Exercise, verdict: Verdict, codes: tuple) -> Verdict:
    if not codes:
        return verdict
    advice = diagnosis.sentences(ex, list(codes))
    return Verdict(verdict.score, verdict.points, f"{advice} ({verdict.message})", verdict.flags, codes, advice)


def judge(plan: Plan, answers: dict[str, dict], costs: dict[str, Cost] | None = None) -> dict[str, Verdict]:
    """The verdict on each sealed question, from the answer records (`records`) of its cases.

    costs: what the grader's clock said of each question's cost check (see `Cost`).
    """
    costs = costs or {}
    verdicts = {}
    for question, (ex, drawn) in plan.questions.items():
        cases = []
        for i, (case, inputs) in enumerate(drawn):
            judged = _judge_case(ex, case.name, inputs, answers.get(f"{question}.{i}"))
            cases.append((case.name, judged))
            if judged.problem:
                break
        verdicts[question] = _verdict(ex, cases)
        if question in costs and costs[question].too_slow() and verdicts[question].score > 0:
            verdicts[question] = _cost_verdict(ex, costs[question])
        if not verdicts[question].ok and not verdicts[question].flags:
            verdicts[question] = _with_diagnosis(ex, verdicts[question], diagnosed(ex, question, drawn, answers))
    for question, (ex, _) in plan.questions.items():
        missing = [f"test_{r}" for r in ex.requires if f"test_{r}" in verdicts and not verdicts[f"test_{r}"].ok]
        if missing and verdicts[question].score > 0:
            verdicts[question] = Verdict(0.0, ex.total, f"needs a right answer to {', '.join(missing)} first")
    return verdicts
