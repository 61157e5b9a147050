"""What a class did, question by question: score statistics and the misconceptions it showed.

Plain data from grades' rows (`model.Row`); the report (`autograder.report`) draws it.
Discrimination is PrairieLearn's: the correlation, over the students, between a question's
score and the score on the rest of its assignment (high: the question separates the
students who know the material from those who do not; near 0 or negative: look at it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np


@dataclass
class QuestionStats:
    """One question of one assignment, over the students graded on it."""

    assignment: str
    question: str
    points: float
    students: int
    mean: float  # mean score, in points
    spread: float  # standard deviation of the score, in points
    full_marks: float  # share of students with every point
    discrimination: float | None  # None: a constant score or rest (no correlation to speak of)
    #: misconception code -> students who show it, most frequent first
    mistakes: dict = field(default_factory=dict)


def _correlation(a: list[float], b: list[float]) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def question_stats(rows) -> list[QuestionStats]:
    """Per (assignment, question), in that order: its statistics and its misconceptions."""
    totals = defaultdict(float)  # (student, assignment) -> score
    for r in rows:
        totals[r.student, r.assignment] += r.score
    by_question = defaultdict(list)
    for r in rows:
        by_question[r.assignment, r.question].append(r)
    found = []
    for (assignment, question), qrows in sorted(by_question.items()):
        scores = [r.score for r in qrows]
        rest = [totals[r.student, assignment] - r.score for r in qrows]
        who = defaultdict(list)
        for r in qrows:
            for code in filter(None, r.diagnosis.split(",")):
                who[code].append(r)
        points = max(r.max_score for r in qrows)
        found.append(QuestionStats(
            assignment, question, points, len(qrows), float(np.mean(scores)), float(np.std(scores)),
            sum(s >= points for s in scores) / len(qrows), _correlation(scores, rest),
            dict(sorted(who.items(), key=lambda kv: (-len(kv[1]), kv[0])))))
    return found
