"""Grade on Gradescope: the autograder bundle, and the run that grades one submission there.

Gradescope's autograder specification (gradescope/autograder_samples, docs/specs.md and
docs/submission_metadata.md): a zip with ``setup.sh`` and ``run_autograder`` at its root,
unpacked to ``/autograder/source``; ``setup.sh`` runs once, as root, when Gradescope builds the
image (Ubuntu, 22.04 by default); ``run_autograder`` runs for each submission from
``/autograder``, with the student's files in ``/autograder/submission`` and
``/autograder/submission_metadata.json`` (submission time, due date, users); it must write
``/autograder/results/results.json``: a top-level ``score``, ``output``, ``execution_time``,
``stdout_visibility``, ``extra_data`` and ``tests``, each with ``score``, ``max_score``, ``name``,
``output``, ``visibility`` (``visible``, ``hidden``, ``after_due_date``, ``after_published``).
What run_autograder prints (its stdout) is shown to instructors only.

``python -m autograder gradescope ASSIGNMENT --out DIR`` writes DIR/autograder.zip, and the same
files unpacked in DIR/autograder/:

- ``setup.sh``: installs Python >= 3.11 with venv, bubblewrap and util-linux, then this project
  (``project/``, installed editable with its grader extra) in /autograder/venv, builds the
  grading kernels' environment (/autograder/kernel-env), and runs ``doctor`` on the assignment:
  an answer key short of full marks fails the image build, where the instructor sees it;
- ``run_autograder``: ``python -m autograder.gradescope --root /autograder``;
- ``gradescope.json``: the assignment, its notebooks, the grading options, when hidden tests show;
- ``project/``: this project (course, solutions, autograder, the assignment's source notebooks);
- ``release/<assignment>/``: the student version the submissions are restored against;
- ``course_config/``: the instructor's nbgrader configuration and late plugin (``--config``), if any.

Each submission is graded as `grade` grades a notebook (`worker.grade_and_render`: restore
from the source, the sandbox, the sealed checks). results.json has one test per question (its
score, and the message of our feedback page as output) and a first, always visible, test
saying what was found in the submission. A question whose test cell has hidden tests shows
``after_due_date`` (``--hidden-tests``); a missing or unreadable notebook's questions show at
once. A late submission (metadata's ``created_at`` after ``due_date``) is penalised by the
nbgrader late plugin of the bundled configuration, as `grade` does.

A grader error (the grader's own failure, not the student's) is not a grade: no results.json
is written and run_autograder exits 3, so Gradescope reports that the autograder failed on the
submission (to the student too) and shows the cause on stdout to the instructor, who runs it
again ("Rerun autograder"); no zero is recorded.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import re
import shutil
import stat
import sys
import time
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import lateness, submission
from autograder.grading import Options
from autograder.model import NotebookResult, Status, Task
from autograder.nbgrader_glue import GraderError, assignment_ids, release_notebooks
from autograder.outputs import atomic_write
from autograder.paths import ASSIGNMENTS, ROOT
from autograder.restore import grade_id, is_test

#: Gradescope's visibility values (docs/specs.md).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
DEFAULT_ROOT = Path("/autograder")
CONFIG = "gradescope.json"
#: Where the project, the grader's virtual environment and the kernels' environment go on Gradescope.
PROJECT = "project"
VENV = "/autograder/venv"
KERNEL_ENV = "/autograder/kernel-env"
#: What of the project the bundle carries (the assignment's sources are added on their own).
_PROJECT_FILES = ("pyproject.toml", "README.md", "nbgrader_config.py")
_PROJECT_PACKAGES = ("course", "solutions", "autograder")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.ipynb")
_SAFE = re.compile(r"[^A-Za-z0-9_.@-]")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu; 22.04 by
# default). Made by `python -m autograder gradescope {assignment}` ({made_by}).
set -euo pipefail
SOURCE=/autograder/source
export DEBIAN_FRONTEND=noninteractive
export AUTOGRADER_KERNEL_ENV={kernel_env}
apt-get update
# bubblewrap: the sandbox grading kernels run in; util-linux: its setpriv and prlimit
apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates
# Python >= 3.11 with venv: Ubuntu 24.04's python3 is 3.12; 22.04's is 3.10, and 3.11 is in its universe
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-venv
    PYTHON=python3
else
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv {venv}
{venv}/bin/python -m pip install --upgrade pip
{venv}/bin/python -m pip install -e "$SOURCE/{project}[grader]"
# the environment grading kernels run in: the student package's requirements and ipykernel
{venv}/bin/python -m autograder kernel-env
# the answer key must earn full marks here, or this build fails where the instructor sees it
{venv}/bin/python -m autograder doctor --assignment {assignment} --source "$SOURCE/{project}/assignments"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, from /autograder: it grades
# /autograder/submission/*.ipynb into /autograder/results/results.json (exit 3 and no
# results on a grader error: rerun it). The two AUTOGRADER_GRADESCOPE_* variables are for tests.
ROOT="${{AUTOGRADER_GRADESCOPE_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_GRADESCOPE_PYTHON:-{venv}/bin/python}}"
export AUTOGRADER_KERNEL_ENV="${{AUTOGRADER_KERNEL_ENV:-{kernel_env}}}"
cd "$ROOT" || exit 3
exec "$PYTHON" -m autograder.gradescope --root "$ROOT"
"""


def _made_by() -> str:
    import course

    return f"backprop-course {course.__version__}"


# --- the bundle --------------------------------------------------------------------------


def build(assignment: str, out: Path, *, source: Path = ASSIGNMENTS, options: Options | None = None,
          hidden_tests: str = "after_due_date", late_config: Path | None = None) -> Path:
    """Write the bundle for `assignment` under out (out/autograder/, out/autograder.zip); returns the zip."""
    options = options or Options()
    source = Path(source).resolve()
    if assignment not in assignment_ids(source):
        raise GraderError(f"unknown assignment {assignment!r}; known: {assignment_ids(source)}")
    if hidden_tests not in VISIBILITIES:
        raise GraderError(f"--hidden-tests must be one of {', '.join(VISIBILITIES)}")
    out = Path(out)
    bundle = out / "autograder"
    if bundle.exists():
        shutil.rmtree(bundle)
    project = bundle / PROJECT
    project.mkdir(parents=True)
    for name in _PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    for name in _PROJECT_PACKAGES:
        shutil.copytree(ROOT / name, project / name, ignore=_IGNORE)
    shutil.copytree(source / assignment, project / "assignments" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    notebooks = sorted(p.stem for p in (source / assignment).glob("*.ipynb"))
    release_notebooks(bundle / "release", [assignment], source)
    late = _bundle_late_config(late_config, bundle / "course_config") if late_config else None
    config = {"assignment": assignment, "notebooks": notebooks, "hidden_tests": hidden_tests,
              "options": {k: v for k, v in dataclasses.asdict(options).items() if k != "limits"},
              "late_config": late, "made_by": _made_by()}
    atomic_write(bundle / CONFIG, json.dumps(config, indent=1))
    fill = {"assignment": assignment, "made_by": _made_by(), "venv": VENV, "kernel_env": KERNEL_ENV, "project": PROJECT}
    for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
        atomic_write(bundle / name, text.format(**fill))
        os.chmod(bundle / name, 0o755)
    return _zip(bundle, out / "autograder.zip")


def _bundle_late_config(config_file: Path, dest: Path) -> str:
    """Copy an nbgrader config and the late plugin module beside it into dest; its name in the bundle."""
    config_file = Path(config_file).resolve()
    policy = lateness.load_policy(config_file)  # refuses a config whose plugin cannot be loaded
    dest.mkdir(parents=True)
    shutil.copy2(config_file, dest / "nbgrader_config.py")
    module_file = inspect.getsourcefile(type(policy.plugin))
    if module_file and Path(module_file).resolve().parent == config_file.parent:
        shutil.copy2(module_file, dest / Path(module_file).name)
    return "course_config/nbgrader_config.py"


def _zip(folder: Path, dest: Path) -> Path:
    """Zip the files of folder at the archive's root (Gradescope wants them there), modes kept."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (stat.S_IFREG | (0o755 if os.access(path, os.X_OK) else 0o644)) << 16
                zf.writestr(info, path.read_bytes())
    os.replace(tmp, dest)
    return dest


# --- grading one submission ---------------------------------------------------------------


@dataclass
class Found:
    """Where a notebook of the assignment was found in the submission, and what to tell the student."""

    name: str
    path: Path | None
    note: str = ""


def _find(submitted: Path, names: list[str]) -> tuple[list[Found], list[str]]:
    """Locate each expected notebook in the submission; also every file the submission holds.

    At the top of the submission first; else in a folder (an uploaded zip of a folder); a single
    expected notebook may also be the submission's only other notebook (a renamed copy).
    """
    try:
        files = sorted(p for p in submitted.rglob("*") if ".ipynb_checkpoints" not in p.parts
                       and not p.is_symlink() and p.is_file())
    except OSError:
        files = []
    rel = [p.relative_to(submitted).as_posix() for p in files]
    found = []
    for name in names:
        path = submitted / f"{name}.ipynb"
        if os.path.lexists(path):
            found.append(Found(name, path))
            continue
        nested = [p for p in files if p.name == f"{name}.ipynb"]
        if len(nested) == 1:
            found.append(Found(name, nested[0], f"graded {nested[0].relative_to(submitted)}"))
            continue
        others = [p for p in files if p.suffix == ".ipynb" and p.stem not in names]
        if len(names) == 1 and len(others) == 1:
            found.append(Found(name, others[0], f"graded {others[0].relative_to(submitted)} in place of {name}.ipynb"))
            continue
        found.append(Found(name, None))
    return found, rel


def _metadata(root: Path) -> dict:
    try:
        data = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _student(meta: dict) -> str:
    """The id sealed inputs are seeded with: the first submitter's email (or Gradescope id)."""
    users = meta.get("users") or [{}]
    first = users[0] if isinstance(users[0], dict) else {}
    who = str(first.get("email") or first.get("id") or "student")
    return _SAFE.sub("_", who)[:100] or "student"


def _seconds_late(meta: dict) -> tuple[float, str]:
    """(seconds late, a sentence for the output) from the metadata's submission time and due date."""
    from nbgrader.utils import parse_utc

    try:
        created = parse_utc(meta["created_at"])
        due = parse_utc((meta.get("assignment") or {})["due_date"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return 0.0, ""
    late = max(0.0, (created - due).total_seconds())
    return late, (f"Submitted {lateness._duration(late)} after the due date ({due} UTC)." if late else "")


def _has_hidden_tests(cell) -> bool:
    return "BEGIN HIDDEN TESTS" in "".join(cell.get("source", ""))


def _results(config: dict, graded: list[tuple[Found, NotebookResult]], sources: dict, listing: list[str],
             late: tuple[float, str], policy: lateness.LatePolicy | None, student: str, seconds: float) -> dict:
    """results.json (Gradescope's format) from the graded notebooks."""
    hidden_when = config["hidden_tests"]
    checks, tests, total, penalties = [], [], 0.0, 0.0
    for found, res in graded:
        statuses = {r.status for r in res.rows}
        hidden = {grade_id(c) for c in sources[found.name].cells if is_test(c) and _has_hidden_tests(c)}
        if found.path is None:
            shown = ", ".join(listing[:20]) or "no file at all"
            checks.append(f"{found.name}.ipynb: MISSING. Upload a notebook named {found.name}.ipynb "
                          f"(your submission holds: {shown}).")
        elif statuses <= {"invalid"}:
            checks.append(f"{found.name}.ipynb: NOT READABLE: {res.rows[0].message if res.rows else ''} "
                          "Upload the notebook as Jupyter saves it.")
        else:
            checks.append(f"{found.name}.ipynb: received and graded ({len(res.rows)} questions)."
                          + (f" Note: {found.note}." if found.note else ""))
        score = sum(r.score for r in res.rows)
        total += score
        late_penalty = policy.penalty(student, score, late[0]) if policy and late[0] > 0 else None
        penalties += late_penalty or 0.0
        for r in res.rows:
            nothing_ran = r.status in ("missing", "invalid")
            tests.append({
                "name": f"{found.name}: {r.question}",
                "score": r.score,
                "max_score": r.max_score,
                "output": r.message,
                "visibility": hidden_when if r.question in hidden and not nothing_ran else "visible",
                "extra_data": {"status": r.status, "flags": r.flags, "diagnosis": r.diagnosis},
            })
    if any(t["visibility"] != "visible" for t in tests):
        when = {"after_due_date": "after the due date", "after_published": "once grades are published",
                "hidden": "to course staff only"}.get(hidden_when, "")
        checks.append(f"Questions with hidden tests show their scores and messages {when}.")
    if late[1]:
        checks.append(late[1] + (f" Late penalty: {penalties:g} point(s)." if penalties else ""))
    summary = "\n".join(checks)
    received = "\n".join(checks[:len(graded)])  # what was found: the test students see first
    return {
        "score": max(0.0, total - penalties),
        "execution_time": round(seconds),
        "output": summary,
        "stdout_visibility": "hidden",
        "extra_data": {"grader": config.get("made_by", ""), "raw_score": total, "late_penalty": penalties},
        "tests": [{"name": "Submission received", "score": 0.0, "max_score": 0.0, "output": received,
                   "visibility": "visible"}, *tests],
    }


def grade_submission(root: Path) -> tuple[dict | None, str]:
    """Grade root/submission; (results.json as a dict, report for stdout), or (None, why) on a grader error."""
    from autograder import sandbox
    from autograder.worker import grade_and_render

    started = time.monotonic()
    source_dir = root / "source"
    config = json.loads((source_dir / CONFIG).read_text(encoding="utf-8"))
    aid, names = config["assignment"], config["notebooks"]
    options = Options(**config["options"])
    sources = {n: nbformat.read(source_dir / PROJECT / "assignments" / aid / f"{n}.ipynb", as_version=4)
               for n in names}
    releases = {n: nbformat.read(source_dir / "release" / aid / f"{n}.ipynb", as_version=4) for n in names}
    late_config = config.get("late_config")
    policy = lateness.load_policy(source_dir / late_config if late_config else None)
    meta = _metadata(root)
    student = _student(meta)
    submitted = root / "submission"
    found, listing = _find(submitted, names)

    graded, report = [], [f"{config.get('made_by', '')}: {aid} for {student}",
                          f"sandbox: {sandbox.status()[1]}", f"late policy: {policy.name}"]
    for f in found:
        task = Task(student, aid, f.name, f.path, note=f.note)
        files = None if f.path is None else submission.read(f.path, submitted, options.limits)
        res, _feedback = grade_and_render(task, dict(sources[f.name]), dict(releases[f.name]), options, files=files)
        graded.append((f, res))
        report += [f"  {f.name} {r.question}: {r.status} {r.score:g}/{r.max_score:g} {r.flags} {r.message[:200]}"
                   for r in res.rows]
    failed = [r for _, res in graded for r in res.rows if r.status == Status.GRADER_ERROR]
    if failed:
        return None, "\n".join([*report, f"GRADER ERROR (not the student's): {failed[0].message}"])
    results = _results(config, graded, sources, listing, _seconds_late(meta), policy, student,
                       time.monotonic() - started)
    report.append(f"score {results['score']:g} (raw {results['extra_data']['raw_score']:g}, "
                  f"late penalty {results['extra_data']['late_penalty']:g})")
    return results, "\n".join(report)


def run(root: Path = DEFAULT_ROOT) -> int:
    """Grade the submission under root, write root/results/results.json; 0, or 3 on a grader error."""
    root = Path(root)
    results_file = root / "results" / "results.json"
    try:
        results, report = grade_submission(root)
    except Exception:  # a bug of ours, a broken bundle: not the student's doing, not a zero
        results, report = None, "GRADER ERROR (not the student's):\n" + traceback.format_exc()
    print(report, flush=True)
    if results is None:
        results_file.unlink(missing_ok=True)
        print("No results.json was written: Gradescope shows that the autograder failed on this "
              "submission and records no score; rerun the autograder on it.", flush=True)
        return 3
    atomic_write(results_file, json.dumps(results, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="grade one Gradescope submission (what run_autograder runs)")
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="Gradescope's /autograder (tests use another)")
    return run(Path(parser.parse_args(argv).root))


if __name__ == "__main__":
    sys.exit(main())
