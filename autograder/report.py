"""The instructor's report: one self-contained HTML page (plots embedded), no server needed."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from autograder import plots
from autograder.lateness import report_section
from autograder.model import Status
from autograder.outputs import atomic_write
from autograder.statistics import question_stats

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; } .warn { color: #9a6700; }
.banner { background: #cf222e; color: #fff; padding: .8rem 1rem; border-radius: 6px; margin: 1rem 0; }
svg.plot { max-width: 100%; height: auto; }
.plots { display: flex; flex-wrap: wrap; gap: .5rem; }
"""
_STATUS_COLORS = {
    "ok": "#2da44e", "failed": "#cf222e", "error": "#fb8500", "timeout": "#8250df",
    "crashed": "#6e7781", "missing": "#d0d7de", "invalid": "#1b1f24", "grader-error": "#ff00aa",
}


class _Html(str):
    """A table cell that is HTML already (built here from escaped parts): not escaped again."""


def _cell(v) -> str:
    if isinstance(v, float | int):
        return f"<td class='num'>{v:g}</td>"
    return f"<td>{v if isinstance(v, _Html) else html.escape(str(v))}</td>"


def _table(head, rows) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _feedback_link(student: str, assignment: str, notebook: str, text: str) -> str:
    """A link, relative to the report, to the feedback page feedback.write_feedback writes."""
    href = "/".join(quote(part) for part in ("feedback", student, assignment, f"{notebook}.html"))
    return f"<a href='{html.escape(href)}'>{html.escape(text)}</a>"


def _scores_with_links(student: str, assignment: str, mine) -> _Html:
    """'6 / 9', linked to the student's feedback page (one link per notebook if several)."""
    score = f"{sum(r.score for r in mine):g} / {sum(r.max_score for r in mine):g}"
    notebooks = sorted({r.notebook for r in mine})
    if len(notebooks) == 1:
        return _Html(_feedback_link(student, assignment, notebooks[0], score))
    links = ", ".join(_feedback_link(student, assignment, nb, nb) for nb in notebooks)
    return _Html(f"{html.escape(score)} ({links})")


def _question_plots(rows) -> str:
    """Per question: a histogram of scores; then the statuses of all questions as stacked bars."""
    by_q = defaultdict(list)
    for r in rows:
        by_q[(r.assignment, r.notebook, r.question)].append(r)
    keys = sorted(by_q)
    if not keys:
        return ""
    hists = "".join(plots.histogram(k[0], k[2], [r.score for r in by_q[k]], max(r.max_score for r in by_q[k]))
                    for k in keys)
    statuses = plots.hbars("Statuses per question", [f"{k[0]} / {k[2]}" for k in keys],
                           [(str(s), _STATUS_COLORS[s], [sum(r.status == s for r in by_q[k]) for k in keys])
                            for s in Status], "submissions", legend=True)
    return f"<div class='plots'>{hists}</div><h3>Statuses per question</h3>{statuses}"


def _instructor_sentence(question: str, code: str) -> str:
    from course.exercises import EXERCISES

    ex = next((e for e in EXERCISES.values() if e.question == question), None)
    return next((m.instructor for m in (ex.misconceptions if ex else ()) if m.code == code), "")


def _mistakes_section(stats) -> str:
    """What the class got wrong: each question's misconceptions, most frequent first, a plot
    of the most frequent ones across the class, and a link to one example of each."""
    rows = []
    for q in stats:
        for code, who in q.mistakes.items():
            example = who[0]
            rows.append([q.assignment, q.question, code, _instructor_sentence(q.question, code), len(who),
                         f"{100 * len(who) / q.students:.0f}%",
                         _Html(_feedback_link(example.student, example.assignment, example.notebook,
                                              example.student))])
    head = ("<h2 id='what-the-class-got-wrong'>What the class got wrong</h2>"
            "<p>Each wrong answer whose numbers match a known misconception of its exercise (its catalog in "
            "<code>course/misconceptions.py</code>) is counted here; <code>grades.csv</code> has the codes in "
            "its <code>diagnosis</code> column, and the student's feedback names the mistake. Answers wrong in "
            "no known way are not guessed at.</p>")
    if not rows:
        return head + "<p>No answer of this class showed a known misconception.</p>"
    rows.sort(key=lambda r: (-r[4], r[0], r[1], r[2]))
    return head + _mistakes_plot(rows[:15]) + _table(
        ["assignment", "question", "misconception", "what the students did", "students", "share of the class",
         "example"], rows)


def _mistakes_plot(rows) -> str:
    return plots.hbars("The most frequent misconceptions",
                       [f"{r[1].removeprefix('test_')}: {r[2]}" for r in rows],
                       [("students", "#cf222e", [r[4] for r in rows])], "students")


def write_report(out: Path, result) -> Path:
    """Write out/report.html from a `batch.ClassResult`."""
    rows, results = result.rows, result.results
    students = sorted({r.student for r in rows})
    assignments = sorted({r.assignment for r in rows})
    status_counts = Counter(r.status for r in rows)

    penalties = defaultdict(float)  # late penalties, one per notebook, as nbgrader export counts
    for (student, _, _), late in getattr(result, "lateness", {}).items():
        penalties[student] += late.penalty or 0.0
    per_student = []
    for s in students:
        cells = []
        for a in assignments:
            mine = [r for r in rows if r.student == s and r.assignment == a]
            cells.append(_scores_with_links(s, a, mine) if mine else "-")
        total = sum(r.score for r in rows if r.student == s) - penalties[s]
        trouble = sorted({r.status for r in rows if r.student == s} - {"ok", "failed", "error"})
        per_student.append([s, *cells, total, ", ".join(trouble)])

    stats = question_stats(rows)
    per_question = [[q.assignment, q.question, q.points, round(q.mean, 2), round(q.spread, 2),
                     f"{100 * q.full_marks:.0f}%", "-" if q.discrimination is None else round(q.discrimination, 2),
                     ", ".join(f"{c} ({len(w)})" for c, w in q.mistakes.items())] for q in stats]

    by_worker = defaultdict(list)
    for res in results:
        by_worker[res.worker].append(res.seconds)
    worker_rows = [[w, len(s), round(sum(s), 1), round(sum(s) / len(s), 2), round(max(s), 2)]
                   for w, s in sorted(by_worker.items())]
    every = [[res.task.student, res.task.assignment, res.task.notebook, round(res.seconds, 2), res.worker]
             for res in sorted(results, key=lambda r: (r.task.student, r.task.assignment, r.task.notebook))]
    run = getattr(result, "where", "")
    run_line = (
        f"<p>This run graded {result.graded} notebooks on the {html.escape(run)} in "
        f"{result.wall_seconds:.1f} s; {result.up_to_date} were unchanged since an earlier run and kept "
        f"(kept ones show where they were first graded).</p>"
        if run else ""
    )
    if getattr(result, "sandbox", ""):
        cls = " class='warn'" if result.sandbox.startswith("NONE") else ""
        run_line += f"<p{cls}>Sandbox: {html.escape(result.sandbox)}.</p>"

    flagged = [[r.student, r.assignment, r.question, r.flags, f"{r.score:g} / {r.max_score:g}", r.message]
               for r in sorted(rows, key=lambda r: (r.student, r.assignment, r.question)) if r.flags]

    recovered = [f"{res.task.student}/{res.task.assignment}/{res.task.notebook}" for res in results if res.found_by_name]
    left_out = [[res.task.student, res.task.assignment, res.task.notebook, line]
                for res in sorted(results, key=lambda r: (r.task.student, r.task.assignment, r.task.notebook))
                for line in res.left_out]

    slow = sorted(results, key=lambda res: res.seconds, reverse=True)[:10]
    slow_rows = [[res.task.student, res.task.assignment, res.task.notebook, round(res.seconds, 2), res.worker]
                 for res in slow]

    failed = [[res.task.student, res.task.assignment, res.task.notebook, res.rows[0].message]
              for res in results if res.grader_error]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grading report</title><style>{_CSS}</style></head><body>",
        "<h1>Grading report</h1>",
    ]
    if failed:
        parts.append(
            f"<div class='banner'><b>Grader error on {len(failed)} notebook(s).</b> The grader itself failed "
            "there, not the students: those notebooks have no grade, nothing was saved for them, and the "
            "next run of the same command grades them again.</div>"
            + _table(["student", "assignment", "notebook", "what failed"], failed))
    parts += [
        f"<p>{len(students)} students, {len(results)} notebooks, {len(rows)} graded questions. "
        f"Grades: <code>grades.csv</code>; feedback: <code>feedback/&lt;student&gt;/</code> "
        f"(a student's scores below link to their pages).</p>",
    ]
    if result.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(
            f"<li class='warn'>{html.escape(w)}</li>" for w in result.warnings) + "</ul>")
    parts += [
        "<h2>Statuses</h2>",
        _table(["status", "questions"], [[s, status_counts.get(s, 0)] for s in Status]),
        _mistakes_section(stats),
        "<h2>Questions</h2>",
        "<p>Spread: the standard deviation of the score. Discrimination: the correlation of the question's "
        "score with the score on the rest of the assignment (as PrairieLearn computes it; near 0 or below: "
        "the question does not separate strong from weak answers; '-': no spread to correlate).</p>",
        _table(["assignment", "question", "points", "mean score", "spread", "full marks", "discrimination",
                "misconceptions"], per_question),
        "<h3>Score distribution per question</h3>",
        _question_plots(rows),
        "<h2>Flagged for a look</h2>",
        *([f"<p class='warn'>Unsealed questions, graded by the notebook's own tests only (they have no "
           f"declaration in course/exercises.py, so no sealed check): "
           f"{html.escape('; '.join(f'{nb}: ' + ', '.join(qs) for nb, qs in result.unsealed.items()))}.</p>"]
          if getattr(result, "unsealed", None) else []),
        "<p>sealed-disagrees: the notebook's own test and the grader's sealed check differ (the sealed "
        "one counts; a fooled test is a hint of tampering). numerical-gradient: a backward pass "
        "measured by finite differences instead of derived.</p>",
        _table(["student", "assignment", "question", "flags", "score", "message"], flagged)
        if flagged else "<p>No answer was flagged.</p>",
        *([f"<p class='warn'>{len(recovered)} notebook(s) had lost nbgrader's cell metadata (an editor such "
           "as VS Code or Colab, a jupytext round trip, copy-pasted cells); their answers were found by the "
           f"function or class they define: {html.escape(', '.join(recovered))}.</p>"] if recovered else []),
        "<h2>Left out of submissions</h2>",
        "<p>A submission is read as data: symbolic links, named pipes, devices, hard links and files "
        "over the size limits beside a notebook are never read or copied (the notebook itself is still "
        "graded; a notebook that is a link is invalid).</p>",
        (f"<p class='warn'>{len({tuple(r[:3]) for r in left_out})} submissions had entries left out.</p>"
         + _table(["student", "assignment", "notebook", "left out"], left_out))
        if left_out else "<p>Nothing was left out of any submission.</p>",
        "<h2>Students</h2>",
        _table(["student", *assignments, "total", "problems"], per_student),
        report_section(result),
        "<h2>Where graded</h2>",
        run_line,
        _table(["graded on", "notebooks", "seconds", "mean seconds", "max seconds"], worker_rows),
        "<h2>Slowest submissions</h2>",
        _table(["student", "assignment", "notebook", "seconds", "graded on"], slow_rows),
        "<h2>Every submission: where graded, how long</h2>",
        _table(["student", "assignment", "notebook", "seconds", "graded on"], every),
        "</body></html>",
    ]
    path = out / "report.html"
    atomic_write(path, "\n".join(parts))
    return path
