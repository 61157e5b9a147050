"""Submission times, due dates and late penalties, kept the way nbgrader keeps them.

nbgrader records when an assignment was submitted (``SubmittedAssignment.timestamp``, read
from the ``timestamp.txt`` that ``nbgrader collect`` leaves beside the notebooks), compares it
with the assignment's due date (``Assignment.duedate``, plus the student's ``extension``) and
lets a plugin set each submitted notebook's ``late_submission_penalty``: its
``AssignLatePenalties`` preprocessor loads ``plugin_class`` (default nbgrader's
``LateSubmissionPlugin``, ``penalty_method`` 'none' or 'zero'; a course may write its own,
nbgrader's docs/source/plugins/late-plugin.rst) and keeps the penalty between 0 and the
notebook's score. ``nbgrader export`` then reports ``max(0, score - penalty)``.

nbgrader does this inside its autograde converter. We grade ourselves, so `settle` does the
same once a class is graded, in the same gradebook, with the plugin made by nbgrader's own
``AssignLatePenalties`` from the same traitlets configuration (the course's nbgrader_config.py
and, with ``grade --config FILE``, the instructor's): an instructor's configuration works
unchanged, and ``nbgrader export`` agrees with grades.csv, the report and our exports.

- Time of a submission: ``SUBMITTED/<student>/<assignment>/timestamp.txt`` (nbgrader's
  format, e.g. ``2026-03-01 16:59:58.123456 UTC``), else the latest modification time of its
  submitted notebooks. Read like the notebooks are (`autograder.submission`: no link followed).
- Due date: ``grade --due`` (then written to the gradebook), else the gradebook's own
  (``nbgrader db assignment add ID --duedate=...``). No due date: nothing is late.
- Times are kept as nbgrader keeps them: naive datetimes, in UTC.
"""

from __future__ import annotations

import contextlib
import html
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from traitlets.config import Config, PyFileConfigLoader

from autograder import submission
from autograder.nbgrader_glue import GraderError, load_course_config
from autograder.paths import ROOT

#: What nbgrader collect writes beside a submission's notebooks.
TIMESTAMP_FILE = "timestamp.txt"
#: The columns lateness adds to grades.csv. The penalty is its notebook's (nbgrader keeps one
#: per submitted notebook), repeated on each of the notebook's rows: subtract it once.
CSV_COLUMNS = ["timestamp", "seconds_late", "notebook_late_penalty"]
ALL = "*"  # key of a due date given for every assignment of a run


@dataclass(frozen=True)
class Late:
    """The lateness of one submitted notebook, as the gradebook holds it.

    timestamp: when its assignment was submitted (UTC) or None when unknown; due: the due
    date that applied (extension included) or None; seconds_late: 0 when on time or without
    a due date; penalty: nbgrader's ``late_submission_penalty`` of the notebook (None: none).
    """

    timestamp: datetime | None
    due: datetime | None
    seconds_late: float
    penalty: float | None

    def csv(self) -> dict[str, str]:
        return {"timestamp": "" if self.timestamp is None else str(self.timestamp),
                "seconds_late": _number(self.seconds_late),
                "notebook_late_penalty": _number(self.penalty or 0.0)}


def _number(x: float) -> str:
    """A CSV number without float noise or exponent: 9000, 23712708.236, 0.5."""
    return f"{x:.3f}".rstrip("0").rstrip(".")


@contextlib.contextmanager
def _on_path(folders: Sequence[Path]) -> Iterator[None]:
    """Put folders first on sys.path for a while: a plugin module lives in the course folder."""
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for f in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(f)


class LatePolicy:
    """nbgrader's late-penalty rule, with the plugin its configuration names.

    The plugin is made by nbgrader's own ``AssignLatePenalties`` (``init_plugin``), and its
    answer is kept in bounds by that class's ``_check_late_penalty``: the same code path as
    ``nbgrader autograde``, minus the gradebook session it would open for each notebook.
    """

    def __init__(self, config: Config, search: Sequence[Path] = ()):
        from nbgrader.preprocessors import AssignLatePenalties

        with _on_path(search):
            try:
                self._assigner = AssignLatePenalties(config=config)
                self._assigner.init_plugin()
            except Exception as e:  # a missing module, a typo in the class name, a bad trait
                raise GraderError(
                    f"could not load the late-submission plugin of the nbgrader configuration "
                    f"(AssignLatePenalties.plugin_class): {type(e).__name__}: {e}") from e
        self.plugin = self._assigner.plugin_inst
        kind = type(self.plugin)
        method = getattr(self.plugin, "penalty_method", None)
        self.name = f"{kind.__module__}.{kind.__qualname__}" + (f" (penalty_method={method!r})" if method else "")

    def penalty(self, student: str, score: float, seconds_late: float) -> float | None:
        """The penalty of a notebook that scored `score` and was `seconds_late`; None: none."""
        if seconds_late <= 0:
            return None  # nbgrader asks the plugin about late notebooks only
        try:
            found = self.plugin.late_submission_penalty(student, score, seconds_late)
        except Exception as e:
            raise GraderError(f"the late-submission plugin {self.name} failed for {student}: "
                              f"{type(e).__name__}: {e}") from e
        if found is None:
            return None
        return float(self._assigner._check_late_penalty(SimpleNamespace(score=score), found))


def load_policy(config_file: Path | None = None) -> LatePolicy:
    """The late policy of the course's nbgrader_config.py, overlaid with `config_file` if given.

    A plugin named as ``module.Class`` is imported from config_file's folder, the course's
    root or the current folder (nbgrader imports it from where its commands run).
    """
    config = load_course_config()
    search = [ROOT, Path.cwd()]
    if config_file is not None:
        config_file = Path(config_file).resolve()
        if not config_file.is_file():
            raise GraderError(f"no such nbgrader configuration file: {config_file}")
        try:
            config.merge(PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config())
        except Exception as e:
            raise GraderError(f"could not read {config_file}: {type(e).__name__}: {e}") from e
        search.insert(0, config_file.parent)
    return LatePolicy(config, search)


_OFFSET = re.compile(r"^[+-]?\d{1,4}$")


def parse_due(text: str) -> datetime:
    """A due date as nbgrader reads one (``utils.parse_utc``), in UTC, naive.

    '2026-03-01 17:00:00 UTC', '2026-03-01 17:00 America/New_York', '2026-03-01T17:00:00+01:00';
    without a time zone, UTC. What nbgrader would misread silently (an unknown zone name, which
    it ignores; '... +0100', which it takes for 100 seconds) is an error here.
    """
    import dateutil.tz
    from nbgrader.utils import parse_utc

    parts = text.strip().split(" ")
    if len(parts) == 3 and _OFFSET.match(parts[2]):
        # parse_utc takes a third part that is a number for an offset in seconds: +0100 would
        # be 100 s, not an hour
        raise GraderError(f"write the offset of the due date {text!r} ISO-style, e.g. "
                          "'2026-03-01T17:00:00+01:00', or name the zone ('2026-03-01 17:00:00 Europe/Paris')")
    if len(parts) == 3 and dateutil.tz.gettz(parts[2]) is None:
        raise GraderError(f"unknown time zone {parts[2]!r} in the due date {text!r} "
                          "(e.g. UTC, Europe/Paris, America/New_York)")
    try:
        return parse_utc(text.strip())
    except (ValueError, OverflowError) as e:
        raise GraderError(f"cannot read the due date {text!r} ({e}); e.g. '2026-03-01 17:00:00 UTC'") from e


def parse_dues(values: Iterable[str] | None) -> dict[str, datetime]:
    """``--due`` values: 'DATE' (every assignment graded) or 'ASSIGNMENT=DATE'; {assignment or ALL: due}."""
    dues = {}
    for value in values or ():
        aid, sep, date = value.partition("=")
        dues[aid.strip() if sep else ALL] = parse_due(date if sep else value)
    return dues


def submission_time(submitted: Path, student: str, assignment: str,
                    notebooks: Iterable[Path | None]) -> tuple[datetime | None, str]:
    """When a student's assignment was submitted (UTC), and a warning if timestamp.txt was unusable.

    timestamp.txt beside the notebooks (what nbgrader collect writes), else the latest
    modification time of the submitted notebooks; None when neither can be read.
    """
    from nbgrader.utils import parse_utc

    warning = ""
    raw = submission.read_small(submitted / student / assignment / TIMESTAMP_FILE, submitted)
    if raw is not None and raw.strip():
        text = raw.decode("utf-8", "replace").strip()
        try:
            return parse_utc(text), ""
        except (ValueError, OverflowError):
            warning = (f"{student}/{assignment}/{TIMESTAMP_FILE} holds no time nbgrader can read "
                       f"({text[:60]!r}): the notebooks' modification time was used")
    times = [t for p in notebooks if p is not None and (t := submission.modified_time(p, submitted)) is not None]
    if not times:
        return None, warning
    return datetime.fromtimestamp(max(times), UTC).replace(tzinfo=None), warning


def settle(gb, results: Iterable, submitted: Path, dues: dict[str, datetime],
           policy: LatePolicy) -> tuple[dict[tuple[str, str, str], Late], list[str]]:
    """Record times, due dates and penalties in the gradebook for `results`; commit.

    gb: an open nbgrader ``Gradebook`` holding the results' grades (committed). Every result
    of a run is settled, kept ones too (a due date may have changed). Grader errors are not
    in the gradebook and are skipped. Returns ({(student, assignment, notebook): Late}, warnings).
    """
    from nbgrader.api import SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.orm import selectinload

    by_assignment: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for res in results:
        if not res.grader_error:
            by_assignment[res.task.assignment][res.task.student].append(res)
    found, warnings = {}, []
    for aid, students in sorted(by_assignment.items()):
        assignment = gb.find_assignment(aid)
        due = dues.get(aid, dues.get(ALL))
        if due is not None:
            assignment.duedate = due
        subs = {s.student_id: s for s in gb.db.query(SubmittedAssignment)
                .filter(SubmittedAssignment.assignment_id == assignment.id)
                .options(selectinload(SubmittedAssignment.notebooks).selectinload(SubmittedNotebook.grades))}
        for student, mine in sorted(students.items()):
            sub = subs.get(student)
            if sub is None:
                continue
            when, warning = submission_time(submitted, student, aid, [r.task.path for r in mine])
            if warning:
                warnings.append(warning)
            if when is not None:
                sub.timestamp = when  # else what the gradebook had (a submission deleted since)
            late = sub.total_seconds_late
            notebooks = {nb.name: nb for nb in sub.notebooks}
            for res in mine:
                nb = notebooks.get(res.task.notebook)
                if nb is None:
                    continue
                # nbgrader's SubmittedNotebook.score: manual scores (formgrader) before ours
                penalty = policy.penalty(student, sum(g.score for g in nb.grades), late)
                nb.late_submission_penalty = penalty
                found[student, aid, res.task.notebook] = Late(sub.timestamp, sub.duedate, late, penalty)
    gb.db.commit()
    return found, warnings


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{days} d " if days else "") + f"{hours} h {minutes:02d} min"


def report_section(result) -> str:
    """The report's 'Late submissions' section (HTML) from a ClassResult's `lateness`."""
    lateness = getattr(result, "lateness", {}) or {}
    head = "<h2>Late submissions</h2>"
    if not lateness:
        return head + "<p>No submission time was recorded (nothing graded went to the gradebook).</p>"
    policy = html.escape(getattr(result, "late_policy", ""))
    dues = sorted({(k[1], str(v.due)) for k, v in lateness.items() if v.due is not None})
    due_text = ", ".join(f"{html.escape(a)}: {html.escape(d)} UTC" for a, d in dues) or "none set"
    late = [(k, v) for k, v in sorted(lateness.items()) if v.seconds_late > 0]
    parts = [head, f"<p>Due dates: {due_text}. Penalties by {policy or 'nbgrader'}, as nbgrader "
             "applies them (per notebook, at most its score); the totals above and the exports "
             "subtract them.</p>"]
    if not late:
        return "".join(parts) + "<p>No submission was late.</p>"
    scores = defaultdict(float)
    for r in result.rows:
        scores[r.student, r.assignment, r.notebook] += r.score
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{html.escape(a)}</td><td>{html.escape(n)}</td>"
        f"<td>{v.timestamp}</td><td>{v.due}</td><td>{_duration(v.seconds_late)}</td>"
        f"<td class='num'>{v.penalty or 0:g}</td>"
        f"<td class='num'>{max(0.0, scores[s, a, n] - (v.penalty or 0)):g}</td></tr>"
        for (s, a, n), v in late)
    parts.append(f"<p class='warn'>{len(late)} late notebook(s).</p><table><tr><th>student</th>"
                 "<th>assignment</th><th>notebook</th><th>submitted (UTC)</th><th>due (UTC)</th>"
                 f"<th>late by</th><th>penalty</th><th>score after penalty</th></tr>{rows}</table>")
    return "".join(parts)
