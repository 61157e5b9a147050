"""Helpers of the notebook tests: which notebooks exist, reading, running and picking cells.

Plain functions (the fixtures are in conftest.py). Every list here is built from the
notebooks that exist (`autograder.paths.source_notebooks`), so a new assignment is checked
as soon as its source notebook is committed.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets.config import Config

from autograder.nbgrader_glue import load_course_config
from autograder.paths import ROOT, SOLUTIONS, source_notebooks
from autograder.restore import is_answer as is_solution_cell
from autograder.restore import nbgrader_meta

SOURCES = source_notebooks()
#: Answer keys that exist, including orphans whose source was removed or renamed.
ANSWER_KEYS = sorted(p for p in SOLUTIONS.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)

#: Longest an answer-key or a release notebook may take to run top to bottom, in seconds.
RUN_BUDGET = 60.0


def notebook_id(path: Path) -> str:
    """``03_losses/losses`` for any notebook path: readable test ids."""
    return f"{path.parent.name}/{path.stem}"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def is_graded_cell(cell) -> bool:
    """A cell nbgrader scores automatically or, if it is a solution, gives 0 while unchanged."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and (cell.cell_type == "code" or bool(meta.get("solution")))


def course_config(**overrides) -> Config:
    """The course's own nbgrader_config.py (stubs, timeouts), merged with `overrides`."""
    config = load_course_config()
    config.merge(Config(overrides))
    return config


@dataclass
class Run:
    """A notebook executed top to bottom with errors allowed: what happened and how long it took."""

    nb: nbformat.NotebookNode
    seconds: float
    crash: str = ""  # why execution stopped early (dead kernel, timeout), "" if it ran to the end
    errors: list = field(default_factory=list)  # (cell id, ename, evalue) of every error output


def run_notebook(path: Path, cell_timeout: float = RUN_BUDGET) -> Run:
    """Execute a notebook in a fresh kernel in its own folder, keeping going after errors."""
    nb = read(path)
    client = NotebookClient(
        nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    crash = ""
    try:
        client.execute()
    except (DeadKernelError, CellTimeoutError) as exc:
        crash = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    errors = [
        (cell.get("id", "?"), out.ename, out.evalue)
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.output_type == "error"
    ]
    return Run(nb=nb, seconds=seconds, crash=crash, errors=errors)


def released(release_dir: Path, source: Path) -> Path:
    """The released copy of a source notebook."""
    return release_dir / source.parent.name / source.name


def cells_signature(nb: nbformat.NotebookNode) -> list[tuple]:
    """What an answer key must share with its source: each cell's type, source and metadata.

    Execution timestamps (metadata "execution") are left out: they differ on every run.
    """
    return [
        (cell.cell_type, cell.source,
         {k: v for k, v in cell.metadata.items() if k != "execution"})
        for cell in nb.cells
    ]


def reference_objects() -> dict[str, list]:
    """Top-level functions and classes of every module of `solutions` but the bug bank.

    Maps a name to the objects defined under it (more than one means an ambiguous name).
    """
    import solutions

    found: dict[str, list] = {}
    for info in pkgutil.walk_packages(solutions.__path__, "solutions."):
        if info.name == "solutions.bugs" or info.name.startswith("solutions.bugs."):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
                found.setdefault(name, []).append(obj)
    return found


def normalized(line: str) -> str:
    """A line without indentation and without a trailing ``  # comment``; "" for a comment line."""
    text = line.strip()
    return "" if text.startswith("#") else text.split("  #", 1)[0].rstrip()


def rstrip_lines(text: str) -> str:
    """Text with trailing whitespace removed from every line and from the end."""
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


#: Shorter code lines (``n = x.shape[0]``) are too common to tell a leak from a coincidence.
DISTINCTIVE_MIN_CHARS = 20


def distinctive_lines(obj, public: str) -> set[str]:
    """Code lines of obj's body that would give its answer away if a student saw them.

    Leaves out the signature, docstrings, comments, short lines and lines that `public`
    (the source of the `course` package, which students get anyway) also contains.
    """
    source = textwrap.dedent(inspect.getsource(obj))
    tree = ast.parse(source)
    skip = _docstring_lines(tree)
    header = tree.body[0]
    # the signature (def line, possibly wrapped) ends where the body's first statement starts
    skip.update(range(header.lineno, header.body[0].lineno))
    public_lines = {normalized(line) for line in public.split("\n")}
    found = set()
    for number, line in enumerate(source.split("\n"), start=1):
        code = normalized(line)
        if number in skip or len(code) < DISTINCTIVE_MIN_CHARS or code in public_lines:
            continue
        found.add(code)
    return found


def public_source() -> str:
    """All the Python source students get: the `course` package."""
    return "\n".join(p.read_text() for p in sorted((ROOT / "course").rglob("*.py")))


def ansi_free(text: str) -> str:
    """Tracebacks from the kernel without their terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


_REGIONS = {"### BEGIN SOLUTION": "### END SOLUTION", "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}


def hidden_and_given_lines(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """Stripped code lines nbgrader removes from the release, and lines it keeps.

    Removed: lines between BEGIN/END SOLUTION or BEGIN/END HIDDEN TESTS, and every line of
    a solution cell without markers (nbgrader replaces such a cell by the stub).
    """
    hidden, given = set(), set()
    for cell in nb.cells:
        lines = cell.source.split("\n")
        has_markers = any(line.strip() in _REGIONS for line in lines)
        if is_solution_cell(cell) and not has_markers:
            hidden.update(normalized(line) for line in lines)
            continue
        end = None
        for line in lines:
            text = line.strip()
            if end is None and text in _REGIONS:
                end = _REGIONS[text]
            elif end is not None and text == end:
                end = None
            else:
                (hidden if end is not None else given).add(normalized(line))
    return hidden, given


def secret_lines(source: Path) -> dict[str, str]:
    """Lines a release of `source` must not contain, each with where it comes from.

    The distinctive lines of every reference in the `solutions` package and the lines
    nbgrader hides in any source notebook, minus what students see anyway: the `course`
    package and the parts of this notebook that the release keeps by design (the given
    forward pass of a worked example, an exercise's signature and docstring).
    """
    public = public_source()
    secrets = {}
    for objects in reference_objects().values():
        for obj in objects:
            for line in distinctive_lines(obj, public):
                secrets[line] = f"{obj.__module__}.{obj.__qualname__}"
    for other in SOURCES:
        hidden, _ = hidden_and_given_lines(nbformat.read(other, as_version=4))
        for line in hidden:
            if len(line) >= DISTINCTIVE_MIN_CHARS:
                secrets.setdefault(line, f"a hidden part of {other.parent.name}/{other.name}")
    _, given = hidden_and_given_lines(nbformat.read(source, as_version=4))
    public_lines = {normalized(line) for line in public.split("\n")}
    return {line: origin for line, origin in secrets.items()
            if line not in given and line not in public_lines}
