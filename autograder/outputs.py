"""Writing the grader's output files: whole or not at all, and inert in a spreadsheet.

Every file under OUT is written to a temporary name beside it and renamed into place, so a
reader (or a run stopped by a full disk) sees the old file or the new one, never half of
one. CSV cells that a spreadsheet would read as a formula are neutralized.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

#: A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write data to path through a temporary file and a rename; no partial file on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet shows as text: formulas get a leading apostrophe (OWASP's advice).

    Numbers are left alone (a score of -1 stays a number); only text is changed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, columns: list[str], rows: Iterable[dict]) -> None:
    """Write rows (dicts; extra keys ignored) as a CSV file with a header, atomically and inert."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    atomic_write(path, buffer.getvalue())
