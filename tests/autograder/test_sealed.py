"""Can a submission fool the grade by tampering with its own interpreter? (sealed verdicts)

Every cheater below submits a WRONG affine_backward (all zeros) together with a way to
make the notebook's own tests pass. The sealed check, computed in the grader's process
from plain arrays, must give that question nothing, flag it, and leave the other
questions and the honest students alone.
"""

from __future__ import annotations

import csv
import re

import nbformat
import pytest

from autograder.classroom import answers_of, fill
from autograder.demo import load_notebooks
from tests.autograder.conftest import run_cli

pytestmark = pytest.mark.slow

WRONG = '''
def affine_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
'''

#: cheater -> code placed before the wrong answer, in the same answer cell
CHEATS = {
    "allclose": "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
    "report_always_ok": "import course.gradcheck as _g\n_g.GradReport.ok = property(lambda self: True)",
    "own_checker": (
        "def check(*args, **kwargs):\n    print('OK: trust me')"
    ),
    "sys_modules": (
        "import sys, types\n_fake = types.ModuleType('course.exercises')\n"
        "_fake.__dict__.update(sys.modules['course.exercises'].__dict__)\n"
        "_fake.check = lambda *a, **k: None\n"
        "sys.modules['course.exercises'] = _fake\nfrom course.exercises import check"
    ),
    "builtins": (
        "import builtins\n_real_isinstance = builtins.isinstance\n"
        "class _AlwaysEqual:\n    def __eq__(self, other): return True\n"
        "    def __array__(self, dtype=None, copy=None): return np.zeros(1)\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})"
    ),
}

FINITE_DIFFERENCES = '''
def relu_backward(dout, cache):
    x = cache
    dx = np.zeros_like(x)
    h = 1e-5
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        dx[i] = np.sum((relu_forward(xp)[0] - relu_forward(xm)[0]) * dout) / (2 * h)
    return dx
'''

# Per-entry numerical methods that are exact (or nearly): only the cost check can tell them
COMPLEX_STEP = '''
def affine_backward(dout, cache):
    x, w, b = cache

    def forward(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b

    grads = []
    for i, a in enumerate((x, w, b)):
        g = np.zeros(a.shape)
        for idx in np.ndindex(a.shape):
            args = [x.astype(complex), w.astype(complex), b.astype(complex)]
            args[i][idx] += 1e-30j
            g[idx] = np.sum(dout * forward(*args).imag) / 1e-30
        grads.append(g)
    return tuple(grads)
'''

RICHARDSON = '''
def relu_backward(dout, cache):
    x = cache

    def f(z):
        return np.sum(np.maximum(0, z) * dout)

    def central(idx, h):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        return (f(up) - f(down)) / (2 * h)

    dx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        dx[idx] = (4 * central(idx, 1e-4) - central(idx, 2e-4)) / 3
    return dx
'''

NUMERICAL_SOFTMAX = '''
def softmax_loss(x, y):
    def loss_of(z):
        shifted = z - z.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(y)), y].mean()

    dx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        h = 1e-5 * max(1.0, abs(x[idx]))
        up[idx] += h
        down[idx] -= h
        dx[idx] = (loss_of(up) - loss_of(down)) / (2 * h)
    return loss_of(x), dx
'''

ARRAY_LIKE = '''
class _Liar:
    """Equal to everything; turns into zeros when numpy asks."""
    def __init__(self, shape):
        self.shape = shape
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)

def affine_backward(dout, cache):
    x, w, b = cache
    return _Liar(x.shape), _Liar(w.shape), _Liar(b.shape)
'''


def _memorizer() -> str:
    """A relu_backward right on the visible check's inputs only (it knows their upstream
    gradients' sums), half the answer elsewhere: the hidden tests and the sealed check see it."""
    import numpy as np

    from course.exercises import exercise

    known = sorted({round(float(np.sum(inputs["dout"])), 9) for _, inputs in exercise("relu_backward").inputs(0)})
    return f'''
def relu_backward(dout, cache):
    dx = dout * (cache > 0)
    return dx if round(float(np.sum(dout)), 9) in {known} else 0.5 * dx
'''


# A right relu_backward that turns wrong for every caller but the harness once a sealed check
# has run: right whenever the notebook's own test runs in place, it fails hidden tests run
# after the harness (and is flagged, the two disagreeing), which must then not run at all
WRONG_AFTER_THE_HARNESS = '''
import sys
import autograder_harness as _h
_after, _run = [], _h.run
_h.run = lambda plan, namespace: (_run(plan, namespace), _after.append(1))

def relu_backward(dout, cache):
    dx = dout * (cache > 0)
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") != "autograder_harness":
        frame = frame.f_back
    return 2 * dx if _after and frame is None else dx
'''


# A right relu_backward that clears the cell's output each time (a progress display): the
# harness's earlier answers in the same cell are the grader's, and stay
CLEARS_OUTPUT = '''
def relu_backward(dout, cache):
    from IPython.display import clear_output
    clear_output()
    return dout * (cache > 0)
'''

# A wrong relu_backward whose error cannot even be put in words: it escapes the harness's own
# handler and ends the harness cell; the questions after it are still checked
UNSPEAKABLE_ERROR = '''
class _Unspeakable(Exception):
    def __str__(self):
        raise RuntimeError("no words")

def relu_backward(dout, cache):
    raise _Unspeakable()
'''


# an answer cell that fills the kernel's memory, keeps it (a global) and ends in an error:
# every cell after it, the sealed harness included, then runs out of memory
MEMORY_HOG = """
_hog = []
try:
    while True:
        _hog.append(bytearray(10**5))
except MemoryError:
    pass
raise MemoryError("out of memory, and still holding it")
"""


@pytest.fixture(scope="module")
def graded_out(tmp_path_factory):
    """The OUT folder of a class of honest students and cheaters of 02_layers and 03_losses, graded by the CLI."""
    root = tmp_path_factory.mktemp("sealed")
    notebooks = load_notebooks(["02_layers", "03_losses"])
    (layers, (source, release)), (losses, (lsource, lrelease)) = notebooks.items()
    right = answers_of(source)
    students = {"honest": right, "finite_differences": right | {"relu_backward": FINITE_DIFFERENCES},
                "array_like": right | {"affine_backward": ARRAY_LIKE},
                "complex_step": right | {"affine_backward": COMPLEX_STEP},
                "richardson": right | {"relu_backward": RICHARDSON},
                "memory_hog": right | {"affine_backward": right["affine_backward"] + "\n" + MEMORY_HOG},
                "memorizer": right | {"relu_backward": _memorizer()},
                "wrong_after_the_harness": right | {"relu_backward": WRONG_AFTER_THE_HARNESS},
                "clears_output": right | {"relu_backward": CLEARS_OUTPUT},
                "unspeakable_error": right | {"relu_backward": UNSPEAKABLE_ERROR}, "grader_metadata": right}
    students |= {f"cheat_{k}": right | {"affine_backward": code + "\n" + WRONG} for k, code in CHEATS.items()}
    for sid, answers in students.items():
        path = root / "submitted" / sid / layers[0] / f"{layers[1]}.ipynb"
        path.parent.mkdir(parents=True)
        nb = fill(release, answers)
        if sid == "grader_metadata":  # a cell dressed as the grader's own harness
            nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"autograder": {"sealed": "mine", "cost": "answer"}}))
        nbformat.write(nb, path)
    lright = answers_of(lsource)
    for sid, answers in {"honest": lright, "numerical_softmax": lright | {"softmax_loss": NUMERICAL_SOFTMAX}}.items():
        path = root / "submitted" / sid / losses[0] / f"{losses[1]}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(fill(lrelease, answers), path)
    proc = run_cli("grade", str(root / "submitted"), "--out", str(root / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "out"


@pytest.fixture(scope="module")
def graded(graded_out):
    """{(student, question): grades.csv row}."""
    with (graded_out / "grades.csv").open() as f:
        return {(r["student"], r["question"]): r for r in csv.DictReader(f)}


@pytest.mark.parametrize("sid, question", [("complex_step", "test_affine_backward"),
                                           ("richardson", "test_relu_backward"),
                                           ("numerical_softmax", "test_softmax_loss")])
def test_a_per_entry_numerical_method_is_caught_by_its_cost(graded, sid, question):
    """Is a numerical gradient (complex steps, extrapolation, differences) flagged and worth nothing,
    with its evidence (its time on a large input, or its precision), while the student's other
    answers keep their points? (Complex steps and extrapolation are exact: only their cost shows.)"""
    row = graded[sid, question]
    assert (float(row["score"]), row["status"]) == (0.0, "failed"), row
    assert "numerical-gradient" in row["flags"]
    by_cost = "on a large input" in row["message"] and "forward pass takes" in row["message"]
    assert by_cost or (sid == "numerical_softmax" and "finite-difference" in row["message"]), row["message"]
    others = [r for (s, q), r in graded.items() if s == sid and q != question]
    assert others and all(float(r["score"]) == float(r["max_score"]) for r in others)


@pytest.mark.parametrize("cheat", sorted(CHEATS) + ["array_like"])
def test_a_wrong_answer_earns_nothing_however_the_tests_are_fooled(graded, cheat):
    """Does tampering with numpy, the checker, sys.modules or builtins leave a wrong answer at 0?"""
    sid = cheat if cheat == "array_like" else f"cheat_{cheat}"
    row = graded[sid, "test_affine_backward"]
    assert float(row["score"]) == 0.0, row
    assert row["status"] in ("failed", "error"), row


def test_fooled_notebook_tests_are_flagged(graded):
    """When the notebook's own test was fooled, is the row flagged for the instructor?"""
    flagged = {sid for (sid, q), r in graded.items() if q == "test_affine_backward" and "sealed-disagrees" in r["flags"]}
    assert {"cheat_own_checker", "cheat_report_always_ok", "cheat_sys_modules"} <= flagged


def test_cheaters_keep_their_honest_answers(graded):
    """Does a cheat on one question cost nothing on the others (answered correctly)?"""
    for (sid, q), row in graded.items():
        if sid.startswith("cheat_") and q != "test_affine_backward":
            assert float(row["score"]) == float(row["max_score"]), row


def test_a_finite_difference_backward_is_flagged_and_earns_nothing(graded):
    """Is a 'backward pass' that loops over finite differences caught as such?"""
    row = graded["finite_differences", "test_relu_backward"]
    assert float(row["score"]) == 0.0
    assert "numerical-gradient" in row["flags"]
    assert "finite-difference" in row["message"]


def test_an_answer_right_on_the_visible_inputs_only_fails_its_hidden_tests(graded_out, graded):
    """An answer that passes the visible check and is wrong elsewhere: the sealed check marks
    it down, and its hidden tests (run once that is known) give the message and the feedback,
    as when they ran in place: failed, not flagged as a fooled test."""
    row = graded["memorizer", "test_relu_backward"]
    assert (float(row["score"]), row["status"]) == (0.0, "failed"), row
    assert row["message"].startswith("NOT YET: relu_backward on ") and "2x too small" in row["message"], row
    assert "sealed-disagrees" not in row["flags"], row
    page = next((graded_out / "feedback" / "memorizer").rglob("*.html")).read_text()
    assert "2x too small" in page and "OK: relu_backward is right" in page


def test_hidden_tests_do_not_run_for_a_right_answer(graded):
    """Hidden tests a sealed check supersedes are not run for a question it gave full marks (they
    would run after the harness, where this answer turns wrong, and disagree with it)."""
    rows = [r for (sid, _), r in graded.items() if sid == "wrong_after_the_harness"]
    assert rows and all(float(r["score"]) == float(r["max_score"]) and not r["flags"] for r in rows), [
        (r["question"], r["score"], r["status"], r["message"]) for r in rows]


@pytest.mark.parametrize("sid", ["clears_output", "grader_metadata"])
def test_what_a_submission_does_to_its_cells_leaves_the_sealed_checks_alone(graded, sid):
    """A right answer that clears its cell's output (the harness's answers are in that cell too),
    or a cell carrying the grader's own metadata: full marks on every question."""
    rows = [r for (s, _), r in graded.items() if s == sid]
    assert rows and all(float(r["score"]) == float(r["max_score"]) for r in rows), [
        (r["question"], r["score"], r["message"]) for r in rows]


def test_an_error_that_escapes_the_harness_costs_only_its_question(graded):
    """An answer whose error cannot be put in words ends the harness cell: the questions after it
    are checked again one by one, and keep their points."""
    rows = {q: r for (s, q), r in graded.items() if s == "unspeakable_error"}
    assert float(rows.pop("test_relu_backward")["score"]) == 0.0
    assert rows and all(float(r["score"]) == float(r["max_score"]) for r in rows.values()), rows


def test_honest_student_gets_full_marks_unflagged(graded):
    """Does an honest, right submission keep every point, with no flag?"""
    rows = [r for (sid, _), r in graded.items() if sid == "honest"]
    assert rows and all(float(r["score"]) == float(r["max_score"]) and not r["flags"] for r in rows)


def test_a_memory_hog_costs_only_its_own_question(graded):
    """An answer that keeps the memory full and fails: do the other, right answers keep their
    points? Their sealed checks get a fresh kernel (the failed cell is not replayed)."""
    rows = {q: r for (sid, q), r in graded.items() if sid == "memory_hog"}
    assert float(rows.pop("test_affine_backward")["score"]) == 0.0
    assert rows and all(float(r["score"]) == float(r["max_score"]) for r in rows.values()), rows


def test_the_report_lists_every_flagged_answer(graded_out, graded):
    """Does the instructor's report show each flagged row (student, question, flag) and no other?"""
    page = (graded_out / "report.html").read_text()
    section = page.split("<h2>Flagged for a look</h2>")[1].split("<h2>")[0]
    shown = {tuple(re.findall(r"<td>([^<]*)</td>", tr)[:4:2]) for tr in section.split("<tr>")[2:]}
    flagged = {(sid, q) for (sid, q), r in graded.items() if r["flags"]}
    assert flagged and shown == flagged


def test_a_forged_record_of_strings_is_wrong_not_a_grader_error():
    """Records a student's code displays itself may hold strings or odd shapes: the case is
    unreadable (no points), and the diagnosis names nothing; neither raises in the grader."""
    import base64
    import io

    import numpy as np

    from autograder import sealed
    from course.exercises import EXERCISES

    ex = EXERCISES["relu_backward"]
    drawn = ex.inputs(3)

    def record(**arrays):
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return {"npz": base64.b64encode(buf.getvalue()).decode()}

    judged = sealed._judge_case(ex, "x", drawn[0][1], record(dx=np.array(["a", "b"])))
    assert "could not be read" in judged.problem
    odd = {f"q.{i}": record(dx=np.zeros((1,) * 20)) for i in range(len(drawn))}
    assert sealed.diagnosed(ex, "q", drawn, odd) == ()


def _harness_run(tmp, outcome_of):
    """The harness cells the grader appends for test_affine_backward and test_relu_backward
    (`sealed.follow_up`), run with outcome_of(kind, questions, cell) for each:
    ([(kind, questions), ...] in the order run, sealed.costs, the answers' cells' timeouts).

    kinds: "inputs" (hidden inputs; a run that is "ok" leaves a record of every case), "answers"
    (cost checks, timed), "forward" (forward passes, timed)."""
    from autograder import sealed
    from autograder.execute import CellOutcome

    plan = sealed.prepare(["test_affine_backward", "test_relu_backward"], tmp, "student")
    cells, outcomes, ran = [], {}, []
    while more := sealed.follow_up(plan, cells, outcomes):
        for cell in more:
            kind = {None: "inputs", "answer": "answers", "forward": "forward"}[sealed.cost_step(cell)]
            questions = sealed.harness_questions(cell)
            timeout = sealed.cost_timeout(cells + [cell], len(cells), outcomes)
            outcome = outcome_of(kind, questions, cell) or CellOutcome("ok", 0.01)
            cell.outputs = [{"output_type": "display_data", "data": {sealed.MIME: {"tag": f"{q}.{i}"}}}
                            for q in questions for i in range(len(plan.questions[q][1]))
                            ] if kind == "inputs" and outcome.status == "ok" else []
            outcomes[len(cells)] = outcome
            cells.append(cell)
            ran.append((kind, questions, timeout))
    return [(k, q) for k, q, _ in ran], sealed.costs(cells, outcomes), [t for k, _, t in ran if k == "answers"]


BOTH = ["test_affine_backward", "test_relu_backward"]
AFFINE, RELU = ["test_affine_backward"], ["test_relu_backward"]


def test_quick_answers_are_in_budget_in_two_cells(tmp_path):
    """Every question's hidden inputs in one cell, every answer on its large input in another:
    within the least budget (COST_FLOOR) together, no forward passes are timed, none is too slow."""
    ran, costs, timeouts = _harness_run(tmp_path, lambda kind, qs, cell: None)
    assert ran == [("inputs", BOTH), ("answers", BOTH)] and timeouts == [3.0]
    assert set(costs) == set(BOTH) and not any(c.too_slow() for c in costs.values())


def test_a_slow_answer_is_judged_by_the_forward_passes(tmp_path):
    """Answers slower than COST_FLOOR together are timed one by one; a slow one gets its forward
    passes timed, which set its budget."""
    from autograder.execute import CellOutcome

    def slow_relu(forward_seconds):
        def outcome(kind, qs, cell):
            if kind == "answers":
                return CellOutcome("ok", 2.6 if "test_relu_backward" in qs else 0.05)
            return CellOutcome("ok", forward_seconds) if kind == "forward" else None
        return outcome

    ran, costs, _ = _harness_run(tmp_path, slow_relu(0.02))  # budget: 200 x 4 ms < 2 s
    assert ran == [("inputs", BOTH), ("answers", BOTH), ("answers", AFFINE), ("answers", RELU), ("forward", RELU)]
    assert costs["test_relu_backward"].too_slow() and not costs["test_affine_backward"].too_slow()
    _, costs, _ = _harness_run(tmp_path, slow_relu(0.1))  # budget: 200 x 20 ms = 4 s
    assert not costs["test_relu_backward"].too_slow()


def test_an_answer_stopped_at_the_floor_runs_again_with_a_larger_budget(tmp_path):
    """On a slow machine (forward passes worth a budget above COST_FLOOR), an answer stopped at
    COST_FLOOR is run again with that budget; stopped again, it is too slow."""
    from autograder.execute import CellOutcome

    def stopped(second):
        relu_runs = []

        def outcome(kind, qs, cell):
            if kind == "answers" and qs == RELU:
                relu_runs.append(1)
                return CellOutcome("timeout", 3.0) if len(relu_runs) == 1 else second
            if kind == "answers":
                return CellOutcome("timeout", 3.0) if len(qs) > 1 else CellOutcome("ok", 0.05)
            return CellOutcome("ok", 0.1) if kind == "forward" else None
        return outcome

    ran, costs, timeouts = _harness_run(tmp_path, stopped(CellOutcome("ok", 3.5)))
    assert ran[-2:] == [("forward", RELU), ("answers", RELU)] and timeouts == [3.0, 3.0, 3.0, 5.0]
    assert not costs["test_relu_backward"].too_slow()
    _, costs, _ = _harness_run(tmp_path, stopped(CellOutcome("timeout", 5.0)))
    assert costs["test_relu_backward"].too_slow()


def test_inputs_a_dead_kernel_left_unanswered_are_run_again_one_question_a_cell(tmp_path):
    """The hidden inputs' cell killed the kernel (or timed out): the questions without an answer
    to every case get a cell each, in a fresh kernel."""
    from autograder.execute import CellOutcome

    ran, _, _ = _harness_run(tmp_path, lambda kind, qs, cell: CellOutcome("crashed", 0.5)
                             if kind == "inputs" and len(qs) > 1 else None)
    assert ran == [("inputs", BOTH), ("answers", BOTH), ("inputs", AFFINE), ("inputs", RELU)]


def test_an_answer_that_hangs_on_its_hidden_inputs_runs_out_of_time_once(tmp_path):
    """The hidden inputs' cell timed out while checking the first question: that one is not run
    again (it would time out again), the questions after it are, one a cell."""
    from autograder.execute import CellOutcome

    ran, _, _ = _harness_run(tmp_path, lambda kind, qs, cell: CellOutcome("timeout", 60.0)
                             if kind == "inputs" and len(qs) > 1 else None)
    assert ran == [("inputs", BOTH), ("answers", BOTH), ("inputs", RELU)]


def test_forward_passes_that_fail_leave_no_cost_verdict(tmp_path):
    """Forward passes that raise (a submission that broke them) give no budget: no cost verdict."""
    from autograder.execute import CellOutcome

    def outcome(kind, qs, cell):
        if kind == "answers":
            return CellOutcome("ok", 2.5)
        return CellOutcome("error", 0.01, "ValueError") if kind == "forward" else None

    _, costs, _ = _harness_run(tmp_path, outcome)
    assert not costs
