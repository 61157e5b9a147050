"""The student release: notebooks without answers or hidden tests, and the `course` wheel.

``release --out DIR`` writes ``DIR/release/<assignment>/<notebook>.ipynb`` and
``DIR/release/backprop_course_student-<version>-py3-none-any.whl``, which holds the
`course` package only (no `solutions`, no `autograder`), for ``pip install``, and
``DIR/release/README.md``, the students' quick start (install, work, check, hand in).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

import course
from autograder.kernel_env import student_extra, student_requirements
from autograder.nbgrader_glue import release_notebooks
from autograder.paths import ASSIGNMENTS, ROOT

DIST = "backprop_course_student"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_course_wheel(dest: Path) -> Path:
    """Write a pure-Python wheel of the `course` package into dest; returns its path."""
    version = course.__version__
    info = f"{DIST}-{version}.dist-info"
    files = {
        f"course/{p.relative_to(ROOT / 'course').as_posix()}": p.read_bytes()
        for p in sorted((ROOT / "course").rglob("*")) if p.suffix in (".py", ".json")
    }
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        f"Name: {DIST.replace('_', '-')}\nVersion: {version}\n"
        "Summary: The library of the backpropagation course (layers, losses, gradient checkers, data)\n"
        "Requires-Python: >=3.9\n" + "".join(f"Requires-Dist: {r}\n" for r in student_requirements())
        + "Provides-Extra: jupyter\n" + "".join(f'Requires-Dist: {r}; extra == "jupyter"\n' for r in student_extra())
    ).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: autograder\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/top_level.txt"] = b"course\n"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{DIST}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            # a fixed date keeps the wheel byte-identical from one release to the next
            info_ = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info_.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info_, data)
    return path


def _about(notebook: Path) -> tuple[str, str]:
    """(title, time) of a notebook, from its first cell with a heading (notebook 01 opens with
    a getting-started cell before it) and that cell's **Time** line."""
    import nbformat

    cells = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"]
    first = next((c for c in cells if any(line.startswith("# ") for line in c.splitlines())), "")
    title = next((line.lstrip("# ").strip() for line in first.splitlines() if line.startswith("# ")), notebook.stem)
    time = re.search(r"\*\*Time\*\*:?\s*(?:about\s+)?([^.\n]*)", first)
    return title, time.group(1).strip() if time else ""


def student_readme(wheel: str, notebooks: list[Path]) -> str:
    """The release's README.md: what a student needs to install, work, check and hand in."""
    rows = "\n".join(f"| `{p.parent.name}/{p.name}` | {title} | {time} |"
                      for p in notebooks for title, time in [_about(p)])
    first = notebooks[0] if notebooks else Path("01_circuits/circuits.ipynb")
    return f"""# Backpropagation, layer by layer

Five notebooks in which you derive and write the backward passes of a small neural-network
library, checking every step against finite differences as you go.

## Install (once)

You need Python 3.9 or newer (`python3 --version`). In this folder, preferably in a virtual
environment of its own:

```bash
python3 -m venv .venv && . .venv/bin/activate      # Windows: .venv\\Scripts\\activate
pip install "./{wheel}[jupyter]"
```

That installs the course's library (`course`) with JupyterLab. (Without `[jupyter]` you get
the library only, for your own Jupyter.)

## Work

```bash
jupyter lab
```

Open the notebooks in order; each opens with what you will learn and how long it takes:

| notebook | what it is about | time |
|---|---|---|
{rows}

Write your code in the cells marked `# YOUR CODE HERE` (replace the `raise
NotImplementedError()`). The cell after each exercise checks it on every kind of input it is
graded on and says `OK: ...`, or `NOT YET: ...` with what to look at, or `not written yet`.
The graded tests are the same checks on other random inputs: when every check says OK, you
have the points.

## Check before you hand in

Save the notebook, then run its last cell, or in a terminal:

```bash
python -m course check {first.parent.name}/{first.name}
```

Either runs the notebook as saved, from the top, in a fresh kernel, runs every check
whatever the earlier ones said, and prints one table: each exercise, `OK` / `NOT YET` /
`not written yet`, what the check said, and the points at stake. It exits with 0 only when
every check says OK.

## Hand in

The notebooks (`.ipynb` files), with their names, each in its folder as you got it, as
your course asks (a learning platform, nbgrader's "Submit" button, or a shared folder).
Files you add beside a notebook (data, notes) travel with it.

Work in JupyterLab if you can: other editors (VS Code's notebook editor, Colab, jupytext
round trips) may drop the cell metadata the grader uses to find your answers. Your answers
are still found by the names of the functions and classes they define, and `python -m
course check` warns you when the metadata is gone, but keep each answer in its own
exercise cell and keep the function names as given.
"""


def release(out: Path, assignments: list[str] | None = None, source: Path = ASSIGNMENTS) -> list[Path]:
    """Write the student release under out/release; returns the files written."""
    dest = Path(out) / "release"
    written = release_notebooks(dest, assignments, Path(source).resolve())
    wheel = build_course_wheel(dest)
    readme = dest / "README.md"
    readme.write_text(student_readme(wheel.name, sorted(p for p in written if p.suffix == ".ipynb")), encoding="utf-8")
    return [*written, wheel, readme]
