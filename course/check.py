"""Check whole notebooks before handing them in: ``python -m course check NOTEBOOK.ipynb ...``.

Each notebook runs from the top in a fresh kernel of your own Jupyter (the one it names),
every cell whatever the earlier ones did, and one table lists every check: OK, NOT YET or
not written yet, the first line of what it said, and the points at stake. The exit code is
0 only when every check says OK (a course's submission hook or your own CI can use it).
It runs the checks you see in the notebooks, nothing else: the graded tests are the same
checks on other random inputs.

The last cell of each notebook does the same for the notebook itself (`check_notebook`);
save the notebook first, since it runs the saved file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Set while a notebook is being checked: its own "check this notebook" cell does nothing then.
RUNNING = "COURSE_CHECK_RUNNING"
_CHECK_CALL = re.compile(r"^check\(\s*['\"](\w+)['\"]", re.MULTILINE)


@dataclass
class Row:
    """One check of a notebook: the exercise, what the check said, its points."""

    exercise: str
    result: str  # OK, NOT YET, not written yet, ERROR
    message: str
    points: float


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _row(cell, exercise: str, points: float) -> Row:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        first = next((line for line in text.splitlines() if line.strip()), "passed")
        return Row(exercise, "OK", first.removeprefix("OK: "), points)
    ename, evalue = errors[0].get("ename", ""), errors[0].get("evalue", "")
    first = next((line for line in evalue.splitlines() if line.strip()), ename)
    if ename in ("NotWrittenYet", "NotImplementedError"):
        return Row(exercise, "not written yet", first.removeprefix("not written yet: "), points)
    if ename in ("CheckFailed", "AssertionError"):
        return Row(exercise, "NOT YET", first.removeprefix("NOT YET: "), points)
    return Row(exercise, "ERROR", f"{ename}: {first}", points)


def run(path: Path, timeout: int = 600) -> tuple[list[Row], list[str]]:
    """Run a notebook from the top in a fresh kernel; its checks, and warnings about the notebook."""
    import nbformat
    from nbclient import NotebookClient

    from course.exercises import EXERCISES

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    warnings = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and not any(_nbgrader(c) for c in code):
        warnings.append(
            "this notebook's cells have lost their nbgrader metadata (VS Code's notebook editor, Colab or a "
            "jupytext round trip drop it): your answers will still be found by the names of the functions "
            "they define, but JupyterLab (or `jupytext --update`) keeps the metadata; hand in the file "
            "as it came from the release, edited in JupyterLab, if you can")
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    # what the kernel inherits: the notebook's own check cell stays quiet, and figures are
    # made but not drawn (nobody sees them here, and drawing is slow)
    quiet = {RUNNING: "1", "MPLBACKEND": "agg", "PYTHONWARNINGS": "ignore:FigureCanvasAgg is non-interactive::"}
    previous = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines are not for the student
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    rows = []
    for cell in code:
        found = _CHECK_CALL.search(cell.source)
        if not found:
            continue
        name = found.group(1)
        points = _nbgrader(cell).get("points")
        if points is None:
            points = EXERCISES[name].total if name in EXERCISES else 0.0
        rows.append(_row(cell, EXERCISES[name].function if name in EXERCISES else name, float(points)))
    return rows, warnings


def table(path: Path, rows: list[Row], warnings: list[str]) -> str:
    """The report of one notebook, as text."""
    lines = [str(path)]
    lines += [f"  warning: {w}" for w in warnings]
    if not rows:
        return "\n".join([*lines, "  no check found in this notebook"])
    width = max(len(r.exercise) for r in rows)
    lines.append(f"  {'exercise':<{width}}  {'result':<15}  {'points':>6}  message")
    for r in rows:
        message = r.message if len(r.message) <= 100 else r.message[:97] + "..."
        lines.append(f"  {r.exercise:<{width}}  {r.result:<15}  {r.points:>6g}  {message}")
    ok = sum(r.points for r in rows if r.result == "OK")
    total = sum(r.points for r in rows)
    todo = [r.exercise for r in rows if r.result != "OK"]
    lines.append(f"  {ok:g} of {total:g} points checked OK" + (f"; not yet: {', '.join(todo)}" if todo else
                                                                  ": ready to hand in"))
    return "\n".join(lines)


def check_notebook(name: str) -> None:
    """Check this notebook as saved (the last cell of each notebook calls it); prints the table."""
    if os.environ.get(RUNNING):
        print("(this notebook is being checked from the top: this cell does nothing then)")
        return
    path = Path(name)
    if not path.exists():
        print(f"{name} is not in this folder ({Path.cwd()}): run `python -m course check` on it in a terminal")
        return
    print(f"running {name} as saved, from the top, in a fresh kernel (save it first: Ctrl-S)...")
    rows, warnings = run(path)
    print(table(path, rows, warnings))


def main(argv: list[str] | None = None) -> int:
    """``python -m course check NOTEBOOK.ipynb ...``: 0 when every check of every notebook says OK."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("check", help="run notebooks from the top and list every check")
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--timeout", type=int, default=600, help="seconds a cell may take (default %(default)s)")
    args = parser.parse_args(argv)
    all_ok = True
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: no such notebook", file=sys.stderr)
            all_ok = False
            continue
        rows, warnings = run(path, args.timeout)
        print(table(path, rows, warnings))
        all_ok = all_ok and bool(rows) and all(r.result == "OK" for r in rows)
    return 0 if all_ok else 1
