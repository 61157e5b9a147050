"""The table printed at the end of a grading run."""

from __future__ import annotations

from collections import Counter


def print_summary(result) -> None:
    """Print per-assignment means, status counts and where the outputs are."""
    rows = result.rows
    for w in result.warnings:
        print(f"warning: {w}")
    by_assignment = {}
    for r in rows:
        by_assignment.setdefault(r.assignment, {}).setdefault(r.student, [0.0, 0.0])
        acc = by_assignment[r.assignment][r.student]
        acc[0] += r.score
        acc[1] += r.max_score
    print(f"\n{'assignment':<20} {'students':>8} {'mean':>8} {'max':>6}")
    for aid, per in sorted(by_assignment.items()):
        scores = [s for s, _ in per.values()]
        possible = max(m for _, m in per.values())
        print(f"{aid:<20} {len(per):>8} {sum(scores) / len(scores):>8.2f} {possible:>6g}")
    counts = Counter(r.status for r in rows)
    recovered = [res for res in getattr(result, "results", []) if getattr(res, "found_by_name", None)]
    if recovered:
        print(f"\n{len(recovered)} notebook(s) had lost nbgrader's cell metadata: their answers were found "
              "by the function or class they define (see the report)")
    left_out = [res for res in getattr(result, "results", []) if res.left_out]
    if left_out:
        print(f"\n{len(left_out)} submission(s) had files left out (links, special files, size limits): "
              "see the report")
    print("\nquestions by status: " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())))
    mistakes = Counter(f"{r.question.removeprefix('test_')}: {c}" for r in rows for c in r.diagnosis.split(",") if c)
    if mistakes:
        print(f"misconceptions named: {sum(mistakes.values())}; most frequent: "
              + ", ".join(f"{k} ({n})" for k, n in mistakes.most_common(5)) + " (report: What the class got wrong)")
    late = [v for v in getattr(result, "lateness", {}).values() if v.seconds_late > 0]
    if late:
        print(f"late: {len(late)} notebook(s), penalties {sum(v.penalty or 0 for v in late):g} points in all "
              f"({result.late_policy}); see the report")
    where = getattr(result, "where", "")
    if where:
        print(f"\ngraded {result.graded} notebooks on the {where} in {result.wall_seconds:.1f} s"
              f" ({result.up_to_date} unchanged since the last run, kept)")
        by_worker = Counter(res.worker for res in result.results)
        print(f"graded on {len(by_worker)} worker(s); per-notebook seconds in grades.csv and the report")
    if getattr(result, "sandbox", ""):
        print(f"sandbox: {result.sandbox}")
    for notebook, bare in getattr(result, "unsealed", {}).items():
        print(f"unsealed: {notebook} {', '.join(bare)}: graded by the notebook's own tests only "
              "(no declaration in course/exercises.py, so no sealed check)")
    if getattr(result, "preflight_seconds", 0):
        print(f"preflight: the answer keys earned full marks here ({result.preflight_seconds:.1f} s)")
    failed = getattr(result, "grader_errors", [])
    if failed:
        print(f"\nGRADER ERROR on {len(failed)} notebook(s): the grader itself failed there (not the "
              "students); they have no grade and were not saved. Run the same command again to grade them:")
        for res in failed[:10]:
            print(f"  {res.task.student}/{res.task.assignment}/{res.task.notebook}: {res.rows[0].message}")
    out = result.out
    print(f"\ngrades:   {out / 'grades.csv'}\nfeedback: {out / 'feedback'}/<student>/\nreport:   {out / 'report.html'}")
