"""Naming the mistake: every misconception of the catalog is diagnosed from the implementation
that makes it, by the grader (on any inputs) and by the visible check (from the shipped
fingerprints); a right answer, however written, never is; nothing shipped is an answer."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import solutions
from course import diagnosis
from course.exercises import EXERCISES, CheckFailed, check
from solutions.bugs import all_bugs, bugs_for, shipped_fingerprints, signatures
from solutions.variants import variants

NAMES = solutions.namespace()
DIAGNOSED = [e for e in EXERCISES.values() if e.misconceptions]


def _exercise(function: str):
    return next(e for e in DIAGNOSED if e.function == function)


def _load(source: str, function: str):
    scope = {"np": np} | NAMES
    exec(compile(source, f"<{function}>", "exec"), scope)
    return scope[function]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflows are what some of these answers do
        yield


def _grader(ex, fn, seed: int, without: str = "") -> list[str]:
    """The grader's diagnosis: signatures and probes on the inputs of one seed."""
    inputs = [i for _, i in ex.inputs(seed)]
    reference = diagnosis.outcomes(ex, solutions.reference(ex.function), inputs, NAMES)
    known = {c: s for c, s in signatures(ex, inputs, reference).items() if c != without}
    return diagnosis.diagnose(ex, diagnosis.outcomes(ex, fn, inputs, NAMES), known, reference)


def test_the_issue_s_codes_are_in_the_catalog():
    """Are the codes instructors were promised there, spelled exactly so?"""
    promised = {
        "affine_backward": "db-mean db-one-row db-wrong-axis dw-transposed dw-x-not-flattened dx-not-reshaped "
                           "missing-transpose extra-factor sign-flipped wrong-order modifies-input",
        "relu_backward": "mask-on-dout no-upstream inverted-mask no-mask modifies-input",
        "sigmoid_backward": "no-upstream sigmoid-of-output wrong-local-gradient modifies-input",
        "softmax_loss": "no-max-shift forgot-minus-one grad-not-averaged loss-not-averaged sign-flipped "
                        "wrong-class-index modifies-input",
        "svm_loss": "correct-class-counted no-correct-class-gradient grad-not-averaged loss-not-averaged "
                    "margin-zero minus-one-not-count modifies-input",
    }
    for name, codes in promised.items():
        assert set(codes.split()) <= {m.code for m in EXERCISES[name].misconceptions}, name


def test_every_code_has_an_implementation_and_every_bug_a_code():
    for ex in DIAGNOSED:
        codes = [m.code for m in ex.misconceptions]
        assert len(codes) == len(set(codes)), ex.name
        made = {b.code for b in bugs_for(ex.function)}
        assert made == set(codes), (ex.name, set(codes) ^ made)
        for m in ex.misconceptions:
            assert m.student.endswith((".", "?")) and m.instructor, m


@pytest.mark.parametrize("bug", all_bugs(), ids=lambda b: f"{b.exercise}-{b.name}")
def test_the_grader_names_each_bug_on_any_inputs(bug):
    """On three seeds' inputs (other shapes' values), the bug gets its own code and no other."""
    ex = _exercise(bug.exercise)
    for seed in (0, 11, 2024):
        assert _grader(ex, bug.load(NAMES), seed) == [bug.code], seed


@pytest.mark.parametrize("bug", all_bugs(), ids=lambda b: f"{b.exercise}-{b.name}")
def test_the_visible_check_names_each_bug_first(bug):
    """The check's first line is the misconception's sentence (from the shipped fingerprints)."""
    ex = _exercise(bug.exercise)
    sentence = {m.code: m.student for m in ex.misconceptions}[bug.code]
    for seed in (0, 5):  # the hidden tests check other seeds: the diagnosis is the same
        with pytest.raises(CheckFailed) as failed:
            check(ex.name, bug.load(NAMES), seed=seed, show=False, namespace=NAMES)
        assert str(failed.value).splitlines()[0] == f"NOT YET: {sentence}"


def test_probes_name_what_no_implementation_matches():
    """Without its own implementation's signature, a bug with a probe is still named by it."""
    probed = [(b, _exercise(b.exercise)) for b in all_bugs()
              if {m.code: m.probe for m in _exercise(b.exercise).misconceptions}[b.code]]
    assert len(probed) >= 15
    for bug, ex in probed:
        assert bug.code in _grader(ex, bug.load(NAMES), 3, without=bug.code), bug.name


def test_two_mistakes_at_once_get_both_codes():
    source = dedent_source("""
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.mean(axis=0)
    """)
    assert _grader(EXERCISES["affine_backward"], _load(source, "affine_backward"), 4) == ["db-mean", "dw-transposed"]


def dedent_source(text: str) -> str:
    from textwrap import dedent

    return dedent(text).strip() + "\n"


@pytest.mark.parametrize("exercise, name, source", variants(), ids=[f"{e}-{n}" for e, n, _ in variants()])
def test_a_right_answer_is_never_diagnosed(exercise, name, source):
    """Loops, np.add.at, einsum, other reshapes, the textbook softmax: no diagnosis, ever."""
    ex = EXERCISES[exercise]
    fn = _load(source, exercise)
    for seed in (0, 1, 99):
        assert _grader(ex, fn, seed) == []
        assert diagnosis.check_diagnosis(ex, fn, NAMES) == []


def test_no_reference_is_ever_diagnosed():
    for ex in DIAGNOSED:
        fn = solutions.reference(ex.function)
        assert _grader(ex, fn, 8) == [] and diagnosis.check_diagnosis(ex, fn, NAMES) == [], ex.name


def test_an_unknown_wrong_answer_gets_no_guess():
    """Zeros of the right shapes, or noise: wrong, and like no known mistake."""
    ex = EXERCISES["affine_backward"]

    def zeros(dout, cache):
        x, w, b = cache
        return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)

    def noise(dout, cache):
        x, w, b = cache
        rng = np.random.default_rng(1)
        return rng.standard_normal(x.shape), rng.standard_normal(w.shape), rng.standard_normal(b.shape)

    for fn in (zeros, noise):
        assert _grader(ex, fn, 2) == [] and diagnosis.check_diagnosis(ex, fn, NAMES) == []


def test_the_shipped_fingerprints_are_up_to_date():
    """course/fingerprints.json is what the bug bank makes now (python -m autograder solutions)."""
    shipped = json.loads(diagnosis.FINGERPRINTS.read_text())
    fresh = shipped_fingerprints()
    assert set(shipped) == set(fresh)
    for name, by_code in fresh.items():
        assert set(shipped[name]) == set(by_code), name
        for code, signs in by_code.items():
            for mine, theirs in zip(signs, shipped[name][code], strict=True):
                assert set(mine) == set(theirs), (name, code)
                for part, entries in mine.items():
                    for e, t in zip(entries, theirs[part], strict=True):
                        assert e == t if isinstance(e, str) else diagnosis._same(e, t, 1e-9), (name, code, part)


def test_no_answer_can_be_read_from_the_shipped_fingerprints():
    """No reference outcome is among them, and each holds a handful of numbers per array."""
    shipped = json.loads(diagnosis.FINGERPRINTS.read_text())
    for name, by_code in shipped.items():
        ex = EXERCISES[name]
        right = diagnosis.fingerprints(diagnosis.outcomes(
            ex, solutions.reference(ex.function), [i for _, i in ex.inputs(diagnosis.SEED)], NAMES))
        for signs in by_code.values():
            for sign in signs:
                for part, entries in sign.items():
                    assert any(isinstance(e, str) or not diagnosis._same(e, r[part], diagnosis.DIFFERENT)
                               for e, r in zip(entries, right)), (name, part)
                    for e in entries:
                        assert isinstance(e, str) or len(e[2]) == diagnosis.PROJECTIONS
    text = diagnosis.FINGERPRINTS.read_text()
    assert "def " not in text and "return" not in text
