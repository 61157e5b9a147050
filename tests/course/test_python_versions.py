"""Does the package students install stay within Python 3.9, as its wheel says?"""

from __future__ import annotations

import subprocess
import sysconfig
from pathlib import Path

import course

COURSE = Path(course.__file__).parent


def test_course_needs_nothing_newer_than_python_3_9():
    """Does vermin find no feature of a Python newer than 3.9 in course/ (zip(strict=...), match, ...)?"""
    vermin = Path(sysconfig.get_path("scripts")) / "vermin"
    proc = subprocess.run([str(vermin), "-t=3.9-", "--no-tips", "--violations",
                           "--eval-annotations", str(COURSE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Minimum required versions: 3.9" in proc.stdout or "Minimum required versions: 3.0" in proc.stdout
