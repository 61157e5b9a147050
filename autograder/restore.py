"""Rebuild the notebook to grade from the instructor's source and the student's answers.

The graded notebook follows the source notebook cell by cell: the student's text is
taken only for answer cells (nbgrader ``solution`` cells, matched by grade_id); every
other cell, tests with their hidden part included, comes from the source. So an edited,
deleted, duplicated or moved test cell changes nothing, and each such repair is noted
for the student. Cells the student added (scratch work, helpers) are kept, after the
cell they followed.
"""

from __future__ import annotations

import copy
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


@dataclass
class Restored:
    """The notebook to execute and, per grade_id (GENERAL for the rest), what was repaired."""

    nb: NotebookNode
    notes: dict = field(default_factory=dict)

    def note(self, key: str, text: str) -> None:
        self.notes.setdefault(key, []).append(text)


def _fresh(cell, extra=False) -> NotebookNode:
    cell = copy.deepcopy(cell)
    if extra:  # a student's own cell can claim nothing: no grade, no points
        cell.setdefault("metadata", {}).pop("nbgrader", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def restore(source: NotebookNode, release: NotebookNode, student: NotebookNode) -> Restored:
    """Merge the student's answers into the source notebook.

    source: the instructor's notebook (answers and hidden tests); release: the student
    version nbgrader made from it (stubs for answers); student: the submission.
    """
    released = {grade_id(c): c for c in release.cells if grade_id(c)}
    known = {grade_id(c) for c in source.cells if grade_id(c)}
    result = Restored(nb=copy.deepcopy(source))

    # The student's cells by grade_id (first copy wins), and the extra cells that follow each.
    theirs: dict[str, NotebookNode] = {}
    extras: dict[str | None, list] = {}
    anchor = None
    for cell in student.cells:
        gid = grade_id(cell)
        if gid in known:
            if gid in theirs:
                result.note(gid, f"cell '{gid}' appears more than once: the first copy was graded")
            else:
                theirs[gid] = cell
            anchor = gid
        elif cell.get("cell_type") in ("code", "markdown", "raw"):
            extras.setdefault(anchor, []).append(cell)

    cells = [_fresh(c, extra=True) for c in extras.get(None, [])]
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
                elif _text(mine) != _text(released[gid]):
                    key = gid if is_test(src_cell) else GENERAL
                    result.note(key, f"cell '{gid}' was edited; the original was restored")
            cells.append(_fresh(src_cell))
        cells += [_fresh(c, extra=True) for c in extras.get(gid, [])] if gid else []
    result.nb.cells = cells
    return result
