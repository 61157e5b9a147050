"""Right answers written differently earn full marks through ``grade`` (sandbox, sealed checks).

The variants (solutions/variants.py): loops over the batch or over rows and classes, einsum,
np.add.at, other reshapes, and the softmax as the lecture computes it (the log of the
probabilities, after the max shift).
"""

from __future__ import annotations

import csv
from itertools import zip_longest

import nbformat
import pytest

from autograder.classroom import answers_of, fill
from autograder.demo import load_notebooks
from solutions.variants import variants
from tests.autograder.conftest import run_cli

pytestmark = pytest.mark.slow


def test_variants_earn_every_point_unflagged(tmp_path):
    """Does every student made of correct variants get full marks, with no flag?"""
    notebooks = load_notebooks(["02_layers", "03_losses"])
    by_exercise = {}
    for exercise, name, source in variants():
        by_exercise.setdefault(exercise, []).append((name, source))
    written = {}
    for (aid, nb_name), (source, release) in notebooks.items():
        right = answers_of(source)
        mine = [e for e in by_exercise if e in right]
        # student i takes the i-th variant of each exercise (the right answer where none is left)
        for i, chosen in enumerate(zip_longest(*(by_exercise[e] for e in mine))):
            sid = f"variants_{i + 1}"
            answers = right | {e: v[1] for e, v in zip(mine, chosen, strict=True) if v}
            written[sid, aid] = [v[0] for v in chosen if v]
            path = tmp_path / "submitted" / sid / aid / f"{nb_name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(fill(release, answers), path)
    proc = run_cli("grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (tmp_path / "out" / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["student"], r["assignment"]) for r in rows} == set(written)
    wrong = [(r["student"], r["question"], written[r["student"], r["assignment"]], r["message"]) for r in rows
             if float(r["score"]) != float(r["max_score"]) or r["flags"]]
    assert not wrong
