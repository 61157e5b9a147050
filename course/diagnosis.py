"""Naming the mistake: which known misconception the numbers of a wrong answer match.

Backprop mistakes are few, and each leaves a fingerprint in the numbers: db averaged
instead of summed is the right db divided by N; a product without its transpose raises a
shape error on a rectangular matrix; a mask taken on dout agrees with the answer wherever
dout and x have the same sign. Each exercise declares the misconceptions students have
(`Misconception`: a stable code, a sentence for the student, one for the instructor); the
answer key holds an implementation of each (``solutions.bugs``), which never ships.

Diagnosis compares *outcomes*: what a function returned, part by part, on every case of
its exercise (or the kind of error it raised). An answer is diagnosed with a misconception
when, on some part the misconception gets wrong, it returns what the misconception returns
on every case, to rounding. Outcomes are compared through *fingerprints*: an array's shape,
its norm and a few projections on fixed random directions. The student's package carries
the fingerprints of every misconception on the visible check's inputs
(``course/fingerprints.json``): data from which no answer can be read. The grader computes
them afresh on each student's hidden inputs, and adds *probes* against the reference answer
(a constant factor, a sign, a transpose, nan at large inputs) for mistakes no
implementation matches. A right answer is never diagnosed; an answer that matches nothing
known is not diagnosed either: no guess.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PROBES", "Misconception", "diagnose", "fingerprints", "matched_parts", "outcomes", "probe", "signature"]

#: Structural fingerprints found without an implementation (the grader's fallback):
#: "modified": the function changed its inputs (its cache or dout) in place;
#: "matmul": it raised a shape error in a matrix product the reference runs without one;
#: "factor": a part is the right one times a constant (per case: 1/N varies with N);
#: "sign": a part is minus the right one; "transposed": a part is the right one transposed;
#: "nonfinite": a part is nan or inf where the right one is finite (an overflow).
PROBES = ("modified", "matmul", "factor", "sign", "transposed", "nonfinite")

#: Two fingerprints agree when their norms and projections agree to this, relative to the
#: larger norm (rounding differences are about 1e-15).
SAME = 1e-7
#: A misconception gets a part wrong when its outcome differs from the reference's by more
#: than this (relative): far above SAME, so a right answer can never match a wrong one.
DIFFERENT = 1e-4
#: Projections per fingerprint.
PROJECTIONS = 4
FINGERPRINTS = Path(__file__).with_name("fingerprints.json")


@dataclass(frozen=True)
class Misconception:
    """A known mistake on one exercise.

    code: short and stable ("db-mean"): what grades.csv and the report count.
    student: one sentence for the student: what is wrong and where to look, not the answer.
    instructor: one sentence for the instructor: what the student did.
    probe: a structural fingerprint (one of PROBES) that also names it, on `part` (or any).
    """

    code: str
    student: str
    instructor: str
    probe: str = ""
    part: str = ""

    def __post_init__(self):
        if self.probe and self.probe not in PROBES:
            raise ValueError(f"{self.code}: unknown probe {self.probe!r}; probes are {', '.join(PROBES)}")


# --- outcomes: what a function did on each case ------------------------------------------


def kind_of(type_name: str, message: str) -> str:
    """The kind of an error an answer raised: "modified", "matmul", or its type's name."""
    if type_name == "ModifiedInput" or "modified its" in message:
        return "modified"
    if type_name == "ValueError" and ("matmul" in message or "not aligned" in message):
        return "matmul"
    return type_name


def outcomes(ex, fn, inputs: list[dict], namespace: dict | None = None) -> list:
    """Per case: {part: float64 array} of what `fn` returned (run by the exercise's convention),
    or the kind of error it raised (`kind_of`); "modified" when it changed an input."""
    found = []
    for given in inputs:
        mine = copy.deepcopy(given)
        try:
            quiet = io.StringIO()  # an answer's debugging prints were seen when it ran the first time
            with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stdout(quiet), \
                    contextlib.redirect_stderr(quiet):
                warnings.simplefilter("ignore")  # an overflow is an outcome, not news
                result = ex.convention.run(fn, mine, namespace)
                result = {k: np.asarray(v, dtype=np.float64) for k, v in result.items()}
        except Exception as e:  # noqa: BLE001 (any error of the answer is an outcome)
            e.__traceback__ = None  # what the answer's frames held (a memory hog's) is freed now
            result = kind_of(type(e).__name__, str(e))
        changed = any(not np.array_equal(np.asarray(mine[k]), np.asarray(v), equal_nan=True)
                      for k, v in given.items() if k in mine)
        found.append("modified" if changed else result)
    return found


# --- fingerprints --------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _directions(key: str, size: int) -> np.ndarray:
    v = np.random.default_rng(zlib.crc32(key.encode())).standard_normal((PROJECTIONS, size))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fingerprint(a: np.ndarray, key: str) -> list:
    """[shape, norm, projections] of an array (nan and inf kept as such)."""
    flat = np.ravel(a).astype(np.float64)
    with np.errstate(all="ignore"):
        projections = _directions(key, flat.size) @ flat if flat.size else np.zeros(PROJECTIONS)
        norm = float(np.linalg.norm(flat))
    return [list(np.shape(a)), norm, [float(p) for p in projections]]


def fingerprints(found: list) -> list:
    """The fingerprints of outcomes: per case, {part: fingerprint}, or the error's kind."""
    return [o if isinstance(o, str) else {p: _fingerprint(a, f"{i}.{p}") for p, a in o.items()}
            for i, o in enumerate(found)]


def _same(f: list, g: list, tol: float = SAME) -> bool:
    if list(f[0]) != list(g[0]):
        return False
    a = np.array([f[1], *f[2]], dtype=np.float64)
    b = np.array([g[1], *g[2]], dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return bool(np.array_equal(a, b, equal_nan=True))
    scale = max(f[1], g[1])
    return bool(np.max(np.abs(a - b)) <= tol * scale) if scale else True


def _entry(case, part: str):
    return case if isinstance(case, str) else case.get(part)


def signature(mistake: list, reference: list) -> dict:
    """What identifies a misconception: {part: [entry per case]} for each part it gets wrong
    (on at least one case), an entry being a fingerprint or an error's kind. Both arguments
    are `fingerprints`."""
    parts = {p for case in reference if not isinstance(case, str) for p in case}
    found = {}
    for part in sorted(parts):
        entries = [_entry(case, part) for case in mistake]
        if any(e is None for e in entries):
            continue  # the mistake returns no such part: it cannot be matched on it
        differs = any(isinstance(e, str) or isinstance(r, str) or not _same(e, r[part], DIFFERENT)
                      for e, r in zip(entries, reference))
        if differs:
            found[part] = entries
    return found


def matched_parts(answer: list, sign: dict) -> set[str]:
    """The parts on which an answer (`fingerprints`) returns what a misconception does, on
    every case: a misconception's outcome, an error's kind or a fingerprint, to rounding."""
    return {part for part, entries in sign.items() if len(entries) == len(answer) and all(
        a == e if isinstance(e, str) else not isinstance(a, str) and part in a and _same(a[part], e)
        for e, a in zip(entries, answer))}


def _best(candidates: dict[str, tuple[set, bool]]) -> list[str]:
    """The misconceptions that explain an answer best, from {code: (parts matched, all of its
    parts?)}: complete matches before partial ones, and none whose parts are a strict subset
    of another's (add gates that halve the gradient look like a missing x2 on two parts)."""
    if any(complete for _, complete in candidates.values()):
        candidates = {c: v for c, v in candidates.items() if v[1]}
    return [c for c, (parts, _) in candidates.items()
            if not any(parts < other for o, (other, _) in candidates.items() if o != c)]


# --- probes: structural fingerprints against the reference --------------------------------


def _close(a: np.ndarray, e: np.ndarray, tol: float = 1e-9) -> bool:
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(e)))
    return a.shape == e.shape and (float(np.linalg.norm(a - e)) <= tol * scale if scale else True)


def probe(answer: list, reference: list) -> set[tuple[str, str]]:
    """The structural fingerprints of a wrong answer: {(probe, part)}, part "" for a whole case.

    answer, reference: `outcomes` (arrays, not fingerprints): only the grader has both.
    """
    found = set()
    for a, r in zip(answer, reference):
        if isinstance(a, str) and not isinstance(r, str) and a in ("modified", "matmul"):
            found.add((a, ""))
    parts = {p for r in reference if not isinstance(r, str) for p in r}
    for part in parts:
        pairs = [(a[part], r[part]) for a, r in zip(answer, reference)
                 if not isinstance(a, str) and not isinstance(r, str) and part in a]
        wrong = [(a, e) for a, e in pairs if not _close(a, e)]
        if not wrong or len(pairs) < len([r for r in reference if not isinstance(r, str)]):
            continue
        if any(np.all(np.isfinite(e)) and not np.all(np.isfinite(a)) for a, e in wrong):
            found.add(("nonfinite", part))
            continue
        if all(a.ndim == 2 and a.shape == e.T.shape and _close(a, e.T) for a, e in wrong):
            found.add(("transposed", part))
            continue
        factors = []
        for a, e in wrong:
            ee = float(np.vdot(e, e))
            c = float(np.vdot(a, e)) / ee if ee and a.shape == e.shape else np.nan
            factors.append(c if np.isfinite(c) and _close(a, c * e) else np.nan)
        if all(np.isfinite(c) and abs(c + 1) < 1e-9 for c in factors):
            found.add(("sign", part))
        elif all(np.isfinite(c) and c > 0 and abs(c - 1) > 1e-6 for c in factors):
            found.add(("factor", part))
    return found


# --- diagnosis -------------------------------------------------------------------------------


def diagnose(ex, answer: list, signatures: dict, reference: list | None = None) -> list[str]:
    """The codes of the misconceptions of exercise `ex` an answer shows, in catalog order.

    answer: its `outcomes` on the cases the signatures were made on; signatures: {code: [a
    `signature`, ...]}; reference: the reference's outcomes on the same cases, for the probes
    (the grader's fallback; without it only the probes that need no reference run).
    """
    prints = fingerprints(answer)
    candidates = {}
    for m in ex.misconceptions:
        for sign in signatures.get(m.code, ()):
            parts = matched_parts(prints, sign)
            if parts and (m.code not in candidates or len(parts) > len(candidates[m.code][0])):
                candidates[m.code] = (parts, parts == set(sign))
    named = _best(candidates)
    if named:
        return named
    if reference is None:
        reference = [{} for _ in answer]
    found = probe(answer, reference)
    return [m.code for m in ex.misconceptions
            if m.probe and any(p == m.probe and (not m.part or part in ("", m.part)) for p, part in found)]


def sentences(ex, codes: list[str], who: str = "student") -> str:
    """The sentences of misconceptions, by code, joined (who: "student" or "instructor")."""
    by_code = {m.code: m for m in ex.misconceptions}
    return " ".join(getattr(by_code[c], who) for c in codes if c in by_code)


@functools.lru_cache(maxsize=1)
def _shipped() -> dict:
    try:
        return json.loads(FINGERPRINTS.read_text())
    except (OSError, ValueError):
        return {}


def shipped(name: str) -> dict:
    """The signatures the student's package carries for an exercise ({code: [signature]})."""
    return _shipped().get(name, {})


#: The seed of the inputs the shipped fingerprints are taken on (the visible check's).
SEED = 0


def check_diagnosis(ex, fn, namespace: dict | None) -> list[str]:
    """The codes an answer shows on the visible check's inputs, from the shipped fingerprints."""
    signatures = shipped(ex.name)
    if not ex.misconceptions:
        return []
    try:
        found = outcomes(ex, fn, [inputs for _, inputs in ex.inputs(SEED)], namespace)
    except Exception:  # noqa: BLE001 (a diagnosis never breaks a check)
        return []
    return diagnose(ex, found, signatures)
