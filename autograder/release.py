"""The student release: notebooks without answers or hidden tests, and the `course` wheel.

``release --out DIR`` writes ``DIR/release/<assignment>/<notebook>.ipynb`` and
``DIR/release/backprop_course_student-<version>-py3-none-any.whl``, which holds the
`course` package only (no `solutions`, no `autograder`), for ``pip install``.
"""

from __future__ import annotations

import base64
import hashlib
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
        for p in sorted((ROOT / "course").rglob("*.py"))
    }
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        f"Name: {DIST.replace('_', '-')}\nVersion: {version}\n"
        "Summary: The library of the backpropagation course (layers, losses, gradient checkers, data)\n"
        "Requires-Python: >=3.11\n" + "".join(f"Requires-Dist: {r}\n" for r in student_requirements())
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


def release(out: Path, assignments: list[str] | None = None, source: Path = ASSIGNMENTS) -> list[Path]:
    """Write the student release under out/release; returns the files written."""
    dest = Path(out) / "release"
    written = release_notebooks(dest, assignments, Path(source).resolve())
    written.append(build_course_wheel(dest))
    return written
