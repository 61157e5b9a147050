"""Where the course's files live, defined once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ROOT / "assignments"
SOLUTIONS = ROOT / "solutions"


def source_notebooks(assignments: Path = ASSIGNMENTS) -> list[Path]:
    """Every source notebook, ``assignments/<assignment>/<notebook>.ipynb``, in order."""
    return sorted(p for p in assignments.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def solution_path(source: Path) -> Path:
    """The executed answer-key notebook for a source notebook."""
    return SOLUTIONS / source.parent.name / source.name
