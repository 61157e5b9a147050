"""Rebuild the notebook to grade from the instructor's source and the student's answers.

The graded notebook follows the source notebook cell by cell: the student's text is
taken only for answer cells (nbgrader ``solution`` cells, matched by grade_id); every
other cell, tests with their hidden part included, comes from the source. So an edited,
deleted, duplicated or moved test cell changes nothing, and each such repair is noted
for the student. Cells the student added (scratch work, helpers) are kept, after the
cell they followed.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

GENERAL = ""  # key of notes that concern no single question


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade")) and not is_answer(cell)


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def strip_solution_markers(source: str) -> str:
    """The cell's source without nbgrader's BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in SOLUTION_MARKERS)


def _text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _same_text(a: str, b: str) -> bool:
    """Equal but for trailing whitespace (editors and jupytext round trips add blank lines)."""
    return [line.rstrip() for line in a.strip().splitlines()] == [line.rstrip() for line in b.strip().splitlines()]


@dataclass
class Restored:
    """The notebook to execute and, per grade_id (GENERAL for the rest), what was repaired."""

    nb: NotebookNode
    notes: dict = field(default_factory=dict)
    found_by_name: list = field(default_factory=list)  # answers matched by what they define

    def note(self, key: str, text: str) -> None:
        self.notes.setdefault(key, []).append(text)


def _fresh(cell, extra=False) -> NotebookNode:
    cell = copy.deepcopy(cell)
    if extra:  # a student's own cell can claim nothing: no grade, no points
        cell.setdefault("metadata", {}).pop("nbgrader", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def defined_names(source: str) -> set[str]:
    """The functions and classes a cell defines at its top level (a cell that does not parse: by regex)."""
    try:
        return {n.name for n in ast.parse(source).body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    except (SyntaxError, ValueError):
        return set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", source, re.MULTILINE))


#: How an answer found by what it defines is noted for the student.
FOUND_BY_NAME = "found by its name: the cell had lost its nbgrader metadata"
IN_ANOTHER_CELL = "found by its name in a cell of its own: the exercise's cell still holds the stub"


def _canonical(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def restore(source: NotebookNode, release: NotebookNode, student: NotebookNode) -> Restored:
    """Merge the student's answers into the source notebook.

    source: the instructor's notebook (answers and hidden tests); release: the student
    version nbgrader made from it (stubs for answers); student: the submission.

    Cells are matched by nbgrader's grade_id. A cell that lost its metadata (VS Code,
    Colab, jupytext, a copy-paste) is matched by its text when it is a copy of one of the
    release's cells, and an answer whose cell cannot be matched so is found by what it
    defines: the last cell (in the student's order) defining the answer's function or
    class by name. Test and locked cells are always the instructor's, whatever the match.
    """
    released = {grade_id(c): c for c in release.cells if grade_id(c)}
    known = {grade_id(c) for c in source.cells if grade_id(c)}
    result = Restored(nb=copy.deepcopy(source))
    by_text = {_canonical(_text(c)): g for g, c in released.items() if _text(c).strip()}

    # The student's cells by grade_id (first copy wins), and the extra cells that follow each.
    theirs: dict[str, NotebookNode] = {}
    extras: list[tuple[str | None, NotebookNode]] = []  # (anchor, cell), in the student's order
    anchor = None
    for cell in student.cells:
        gid = grade_id(cell)
        if gid not in known and cell.get("cell_type") in ("code", "markdown", "raw"):
            gid = by_text.get(_canonical(_text(cell)))  # an instructor's cell copied without its metadata
            if gid in theirs:
                gid = None
        if gid in known:
            if gid in theirs:
                result.note(gid, f"cell '{gid}' appears more than once: the first copy was graded")
            else:
                theirs[gid] = cell
            anchor = gid
        elif cell.get("cell_type") in ("code", "markdown", "raw"):
            extras.append((anchor, cell))

    # answers whose cell was not found, or still holds the stub: the last extra code cell
    # defining the answer's function or class (in the student's order) is the answer
    for src_cell in source.cells:
        gid = grade_id(src_cell)
        if not (gid and is_answer(src_cell)):
            continue
        stub = gid in theirs and gid in released and _same_text(_text(theirs[gid]), _text(released[gid]))
        names = defined_names(_text(src_cell)) if gid not in theirs or stub else set()
        found = [i for i, (_, c) in enumerate(extras) if c.get("cell_type") == "code"
                 and names & defined_names(_text(c))] if names else []
        if found:
            _, theirs[gid] = extras.pop(found[-1])
            result.note(gid, IN_ANOTHER_CELL if stub else FOUND_BY_NAME)
            result.found_by_name.append(gid)

    following: dict[str | None, list] = {}
    for a, cell in extras:
        following.setdefault(a, []).append(cell)
    cells = [_fresh(c, extra=True) for c in following.get(None, [])]
    for src_cell in source.cells:
        gid = grade_id(src_cell)
        mine = theirs.get(gid) if gid else None
        if gid and is_answer(src_cell):
            if mine is None:
                result.note(gid, "your answer cell was deleted, so it was graded as unanswered")
                cells.append(_fresh(released.get(gid, src_cell)))
            elif mine.get("cell_type") != src_cell.cell_type:
                result.note(gid, f"your answer cell was changed to {mine.get('cell_type')}; graded as unanswered")
                cells.append(_fresh(released.get(gid, src_cell)))
            else:
                cell = _fresh(src_cell)
                cell.source = _text(mine)
                cells.append(cell)
        else:
            if gid and gid in released:
                if mine is None:
                    key = gid if is_test(src_cell) else GENERAL
                    result.note(key, f"cell '{gid}' was deleted; it was restored from the assignment")
                elif not _same_text(_text(mine), _text(released[gid])):
                    key = gid if is_test(src_cell) else GENERAL
                    result.note(key, f"cell '{gid}' was edited; the original was restored")
            cells.append(_fresh(src_cell))
        cells += [_fresh(c, extra=True) for c in following.get(gid, [])] if gid else []
    result.nb.cells = cells
    return result
