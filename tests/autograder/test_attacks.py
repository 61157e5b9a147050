"""The attack bank: cheating and destructive submissions graded through the CLI beside honest ones.

Each attack's answer cell tries its trick and sets `_ok` when the trick worked; its double()
is right only then, so a sandbox that lets the trick through hands the attacker the point
for double. square() is honest everywhere: what an attack does not target still earns.
"""

from __future__ import annotations

import csv
import hashlib
import os
import site
import socket
import sysconfig
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from tests.autograder.conftest import run_cli
from tests.autograder.tiny import AID, NB, tiny_notebook, write_tiny_source

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sandbox.status()[0], reason=f"no sandbox here: {sandbox.status()[1]}"),
]

REPO = Path(__file__).resolve().parents[2]
HONEST = ("honest", "victim")
#: where the grader's own packages (nbgrader, torch) are installed
GRADER_SITE = sorted({*site.getsitepackages(), sysconfig.get_paths()["purelib"]})
DOUBLE_IF_OK = "\ndef double(x):\n    return 2 * x if _ok else 0\n"


def _guarded(line: str) -> str:
    return f"try:\n    {line}\nexcept OSError:\n    _ok = False"


def _attacks(source: Path, submitted: Path, out: Path, port: int) -> dict[str, tuple[str, tuple[str, str]]]:
    """student -> (answer cell code, expected (test_double, test_square) statuses)."""
    hidden = source / AID / f"{NB}.ipynb"
    victim = submitted / "victim" / AID / f"{NB}.ipynb"
    return {
        "read_source": (_guarded(f"_ok = 'HIDDEN TESTS' in open({str(hidden)!r}).read()"), ("failed", "ok")),
        "read_repo": (
            "import os\n_ok = False\n"
            f"for _p in [{str(REPO / 'assignments')!r}, {str(REPO / 'solutions')!r}, {str(REPO / 'autograder')!r}]:\n"
            "    try:\n        _ok = _ok or bool(os.listdir(_p))\n    except OSError:\n        pass\n"
            "try:\n    import solutions\n    _ok = True\nexcept Exception:\n    pass",
            ("failed", "ok")),
        "read_other": (_guarded(f"_ok = 'def double' in open({str(victim)!r}).read()"), ("failed", "ok")),
        "read_out": (f"import os\n_ok = os.path.isdir({str(out)!r}) and bool(os.listdir({str(out)!r}))",
                     ("failed", "ok")),
        "write_outside": (
            "_ok = False\n"
            f"for _p in [{str(victim)!r}, {str(victim.parent / 'planted.txt')!r}, {str(out / 'gradebook.db')!r},\n"
            f"           {str(hidden)!r}, {str(REPO / 'course' / '__init__.py')!r}, '/opt/autograder/lib/course/__init__.py']:\n"
            "    try:\n        with open(_p, 'a') as _f:\n            _f.write('')\n        _ok = True\n"
            "    except OSError:\n        pass",
            ("failed", "ok")),
        "network": (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n    _ok = True\n"
            "except OSError:\n    _ok = False",
            ("failed", "ok")),
        "memory": ("try:\n    _hog = bytearray(3 * 2**30)\n    _ok = True\nexcept MemoryError:\n    _ok = False",
                   ("failed", "ok")),
        "big_file": ("try:\n    with open('big.bin', 'wb') as _f:\n        _f.write(b'0' * 300 * 2**20)\n    _ok = True\n"
                     "except OSError:\n    _ok = False", ("failed", "ok")),
        "background": (
            "import os, subprocess\nsubprocess.Popen(['sleep', '12345'], start_new_session=True)\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '12346'])\n"
            "    os._exit(0)\n_ok = True",
            ("ok", "ok")),
        "fork_bomb": (
            "import os, time\n_n = 0\ntry:\n    while _n < 10_000:\n        if os.fork() == 0:\n"
            "            time.sleep(12347)\n            os._exit(0)\n        _n += 1\nexcept OSError:\n    pass\n"
            "_ok = _n < 10_000",
            ("ok", "ok")),
        "kill_kernel": (
            "import os, signal\nfor _pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    if _pid != os.getpid():\n        try:\n            os.kill(_pid, signal.SIGKILL)\n"
            "        except OSError:\n            pass\nos.kill(os.getpid(), signal.SIGKILL)\n_ok = True",
            ("error", "ok")),  # the answer cell killed the kernel: double was never defined
        # the grader's environment has PyTorch (the bench extra) and nbgrader: kernels must not
        "autodiff_library": (
            "import importlib, sys\n_ok = False\n"
            f"for _extra in ['', *{GRADER_SITE!r}, *sys.path]:\n"
            "    if _extra:\n        sys.path.append(_extra)\n"
            "    for _name in ('torch', 'nbgrader', 'jax', 'solutions', 'autograder'):\n"
            "        try:\n            importlib.import_module(_name)\n            _ok = True\n"
            "        except ImportError:\n            pass\n"
            f"sys.path.append({str(REPO)!r})\n"
            "try:\n    import solutions\n    _ok = True\nexcept ImportError:\n    pass",
            ("failed", "ok")),
        "flood": ("import sys\nfor _ in range(200_000):\n    sys.stdout.write('x' * 100 + '\\n')\n_ok = True",
                  ("ok", "ok")),
    }


def _student(submitted: Path, sid: str, code: str | None) -> Path:
    nb = tiny_notebook()
    if code is not None:
        cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "double")
        cell.source = code + DOUBLE_IF_OK
    path = submitted / sid / AID / f"{NB}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    (path.parent / "data.txt").write_text(f"{sid}'s own data\n")
    return path


def _grade(submitted: Path, out: Path, source: Path) -> dict[tuple[str, str], dict]:
    proc = run_cli("grade", str(submitted), "--out", str(out), "--source", str(source),
                   "--timeout", "15", "--quiet", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "grades.csv").open() as f:
        return {(r["student"], r["question"]): r for r in csv.DictReader(f)}


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _sandbox_processes(uids: set[int]) -> list[str]:
    """Processes still running as one of `uids`, or sleeping the attacks' telltale sleeps.

    Only the uids of this run's workers: a test grading on another xdist worker at the same
    time has live kernels of its own, under the uids of its own workers.
    """
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                           if line.startswith("Uid:")).split()[1])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, StopIteration):
            continue
        if uid in uids or "sleep 1234" in cmdline:
            left.append(f"{pid} uid={uid} {cmdline}")
    return left


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The honest pair graded alone, then graded again beside every attack."""
    root = tmp_path_factory.mktemp("attacks")
    source = write_tiny_source(root / "source")
    alone, attacked_dir = root / "alone", root / "submitted"
    for sid in HONEST:
        _student(alone, sid, None)
        _student(attacked_dir, sid, None)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    out = root / "out"
    attacks = _attacks(source, attacked_dir, out, listener.getsockname()[1])
    for sid, (code, _) in attacks.items():
        _student(attacked_dir, sid, code)
    before = {"source": _digest(source), "submitted": _digest(attacked_dir), "repo_course": _digest(REPO / "course")}
    baseline = _grade(alone, root / "out_alone", source)
    rows = _grade(attacked_dir, out, source)
    try:
        listener.accept()[0].close()
        connected = True
    except BlockingIOError:
        connected = False
    finally:
        listener.close()
    after = {"source": _digest(source), "submitted": _digest(attacked_dir), "repo_course": _digest(REPO / "course")}
    return {"attacks": attacks, "baseline": baseline, "rows": rows, "connected": connected,
            "before": before, "after": after, "left": _sandbox_processes(_worker_uids(rows))}


def _worker_uids(rows) -> set[int]:
    """The sandbox uids the grading run's workers gave their kernels (see sandbox.sandbox_uid)."""
    pids = {int(r["worker"].rsplit(":", 1)[1]) for r in rows.values()}
    assert pids, "no worker recorded in grades.csv"
    return {sandbox.UID_BASE + pid % 60_000 for pid in pids}


@pytest.mark.parametrize("student", ["read_source", "read_repo", "read_other", "read_out", "write_outside",
                                     "network", "memory", "big_file", "background", "fork_bomb",
                                     "kill_kernel", "flood", "autodiff_library"])
def test_attack_earns_nothing_for_what_it_targets(attacked, student):
    """Does each attack get exactly the statuses (and points) of a blocked trick?"""
    expected = attacked["attacks"][student][1]
    rows = attacked["rows"]
    got = (rows[student, "test_double"]["status"], rows[student, "test_square"]["status"])
    assert got == expected, {q: rows[student, q]["message"] for q in ("test_double", "test_square")}
    assert float(rows[student, "test_square"]["score"]) == 2.0  # the honest part still earns


def test_honest_students_are_graded_as_if_alone(attacked):
    """Do the honest students' rows stay exactly what they are in a class without attackers?"""
    keep = ("score", "max_score", "status", "message")
    for key, row in attacked["baseline"].items():
        assert {k: row[k] for k in keep} == {k: attacked["rows"][key][k] for k in keep}, key
    assert all(attacked["rows"][sid, q]["status"] == "ok" for sid in HONEST for q in ("test_double", "test_square"))


def test_nothing_outside_the_workdir_changed(attacked):
    """Are the source, every submitted file and the course sources untouched by the attacks?"""
    assert attacked["after"] == attacked["before"]


def test_no_connection_reached_the_host(attacked):
    """Did the network attack fail to reach a port listening on the grader's loopback?"""
    assert not attacked["connected"]


def test_no_process_survives_grading(attacked):
    """Is every process an attack started (background, double-forked, fork bomb) gone?"""
    assert attacked["left"] == []
