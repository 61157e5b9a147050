"""Read a submission as data: never follow a link, never open a special file, stay in bounds.

A student controls what their submission folder holds (an archive the instructor extracts,
a folder dropped into nbgrader's exchange, an upload), and the grader runs with more rights
than the student. So the folder is read here, and only here, like this:

- every path is opened relative to its parent's file descriptor with ``O_NOFOLLOW``,
  from the SUBMITTED folder down: a symbolic link at any level (the student's folder, the
  assignment folder, the notebook, a file or folder beside it) is never followed, so
  nothing outside the submission can be reached, however the links are made;
- only regular files with a single link are read (a hard link could name a file of the
  grader's machine); FIFOs, sockets and devices are left alone: they are never opened for
  reading, so a named pipe cannot hang the grader;
- a notebook that is a link, or sits in a folder that is a link, is unreadable (invalid),
  whatever it points to;
- the files beside the notebook are bounded (`Limits`: how many, the largest, the total),
  checked from directory entries before anything is read; what is over a limit is left out;
- when the grader is root, the reading thread takes the file-system identity of the
  SUBMITTED folder's owner (``setfsuid``), so root's power to read anything is not used on
  a student's behalf.

Everything left out is listed in `Submission.left_out`, which the grade's message and the
report show. The same reader serves the fingerprint of a resumed run, the local pool and
the Dask cluster (which ships the bytes read here).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Entries beside the notebook that are the editor's, not the student's work.
SKIPPED = (".ipynb_checkpoints", "__pycache__")
#: How deep folders beside the notebook are read.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Limits:
    """What a submission may bring beside its notebook (the notebook itself: `notebook_bytes`)."""

    files: int = 1_000  # files and folders beside the notebook, counted recursively
    largest_file: int = 20 * 1024**2  # bytes
    total_bytes: int = 50 * 1024**2  # bytes, all files beside the notebook together
    notebook_bytes: int = 20 * 1024**2  # bytes of the notebook itself


@dataclass
class Submission:
    """A submission read into memory: the notebook's bytes and the files beside it.

    notebook: None when it could not be read, and then `problem` says why.
    files: path relative to the notebook's folder (POSIX, no ``..``) -> bytes.
    left_out: one line per entry that was not read, and why.
    """

    notebook: bytes | None
    files: dict[str, bytes] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    problem: str = ""


_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _open_dir(name: str, dir_fd: int | None) -> int:
    """Open a folder without following a link; OSError(ELOOP or ENOTDIR) if it is not a plain folder."""
    return os.open(name, _FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)


def _read_regular(name: str, dir_fd: int, limit: int) -> bytes:
    """The bytes of a regular file with one link, at most `limit` of them; OSError otherwise.

    lstat first, so a FIFO or a device is never opened; then the opened file is checked
    again with fstat (it may have been swapped in between).
    """
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise _NotRegular(_kind(st.st_mode))
    fd = os.open(name, _FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular(_kind(st.st_mode))
        if st.st_nlink > 1:
            raise _NotRegular("a hard link to another file")
        if st.st_size > limit:
            raise _TooBig(st.st_size)
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # grew while being read
                raise _TooBig(size)
        return b"".join(chunks)
    finally:
        os.close(fd)


class _NotRegular(Exception):
    """Not a regular file: the text says what it is."""


class _TooBig(Exception):
    """Over a size limit: args[0] is the size seen."""


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB" if n >= 1024**2 else f"{n:,} bytes"


# --- dropping root's rights while reading ------------------------------------------------

_libc = None


def _setfs(uid: int, gid: int) -> None:
    """Set this thread's file-system uid and gid (Linux; both calls are per thread)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    # gid first: once the fsuid is not 0, changing the fsgid is no longer allowed
    _libc.setfsgid(gid)
    _libc.setfsuid(uid)
    if _libc.setfsuid(-1) != uid or _libc.setfsgid(-1) != gid:  # -1: query only
        raise OSError(errno.EPERM, f"could not take file-system uid {uid}")


_lock = threading.Lock()


@contextlib.contextmanager
def _as_owner_of(folder_fd: int):
    """Read as the owner of the folder (when root and the owner is not): root's rights unused."""
    st = os.fstat(folder_fd)
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or st.st_uid == 0:
        yield
        return
    with _lock:  # one identity change at a time in this process, and always undone
        try:
            _setfs(st.st_uid, st.st_gid)
            yield
        finally:
            _setfs(0, 0)


# --- the reader ---------------------------------------------------------------------------


def read(path: Path, root: Path, limits: Limits = Limits()) -> Submission:
    """Read the notebook at `path` and the files of its folder, inside `root` (SUBMITTED).

    Every component of path below root is opened without following links. Never raises
    for anything the submission holds: problems end up in `problem` and `left_out`.
    """
    try:
        rel = path.relative_to(root)
    except ValueError:
        return Submission(None, problem=f"{path} is not inside {root}")
    *folders, name = rel.parts
    try:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        return Submission(None, problem=f"the submissions folder could not be opened ({e.strerror})")
    fds = [top]
    try:
        with _as_owner_of(top):
            for part in folders:
                try:
                    fds.append(_open_dir(part, fds[-1]))
                except OSError as e:
                    why = "is a symbolic link" if e.errno in (errno.ELOOP, errno.ENOTDIR) else f"could not be opened ({e.strerror})"
                    return Submission(None, problem=f"the folder {part!r} {why}: it was not read")
            try:
                notebook = _read_regular(name, fds[-1], limits.notebook_bytes)
            except _NotRegular as e:
                return Submission(None, problem=f"the notebook file is {e}, not a file: it was not read")
            except _TooBig as e:
                return Submission(None, problem=(f"the notebook file is {_mib(e.args[0])}, over the "
                                                 f"{_mib(limits.notebook_bytes)} a notebook may have: clear its outputs"))
            except OSError as e:
                if e.errno == errno.ELOOP:
                    return Submission(None, problem="the notebook file is a symbolic link, not a file: it was not read")
                return Submission(None, problem=f"the file could not be read ({e.strerror})")
            sub = Submission(notebook)
            _read_beside(fds[-1], name, sub, limits)
            return sub
    finally:
        for fd in reversed(fds):
            os.close(fd)


@contextlib.contextmanager
def _folder_of(path: Path, root: Path):
    """Yield (fd of path's folder, path's name), its folders opened from root without
    following links (as the owner of root, like `read`); yield None if that is not possible."""
    try:
        *folders, name = path.relative_to(root).parts
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (ValueError, OSError):
        yield None
        return
    fds = [top]
    try:
        with _as_owner_of(top):
            for part in folders:
                try:
                    fds.append(_open_dir(part, fds[-1]))
                except OSError:
                    yield None
                    return
            yield fds[-1], name
    finally:
        for fd in reversed(fds):
            os.close(fd)


def read_small(path: Path, root: Path, limit: int = 4096) -> bytes | None:
    """The bytes of one small regular file inside root (nbgrader's timestamp.txt), read as
    `read` reads a notebook: no link followed at any level, no special file opened. None
    when it is absent, not a plain file, or over `limit` bytes."""
    with _folder_of(path, root) as found:
        if found is None:
            return None
        try:
            return _read_regular(found[1], found[0], limit)
        except (OSError, _NotRegular, _TooBig):
            return None


def modified_time(path: Path, root: Path) -> float | None:
    """The modification time (epoch seconds) of a regular file inside root, found without
    following links; None when it is absent or not a plain file."""
    with _folder_of(path, root) as found:
        if found is None:
            return None
        try:
            st = os.stat(found[1], dir_fd=found[0], follow_symlinks=False)
        except OSError:
            return None
        return st.st_mtime if stat.S_ISREG(st.st_mode) else None


def _entries(dir_fd: int, budget: int) -> list[os.DirEntry] | None:
    """The entries of a folder, sorted by name; None if there are more than `budget`."""
    found = []
    with os.scandir(dir_fd) as it:
        for entry in it:
            found.append(entry)
            if len(found) > budget:
                return None
    return sorted(found, key=lambda e: e.name)


def _read_beside(folder_fd: int, notebook: str, sub: Submission, limits: Limits) -> None:
    """Fill sub.files with the regular files beside the notebook (recursively), within limits."""
    total = 0
    count = 0

    def walk(dir_fd: int, prefix: PurePosixPath, depth: int) -> None:
        nonlocal total, count
        entries = _entries(dir_fd, limits.files - count)
        where = f"{prefix}/" if str(prefix) != "." else "the notebook's folder"
        if entries is None:
            sub.left_out.append(f"{where} holds more than {limits.files:,} files and folders: none of them was copied")
            count = limits.files
            return
        for entry in entries:
            if depth == 0 and (entry.name == notebook or entry.name.endswith(".ipynb")):
                continue  # the notebook itself; other notebooks are scratch copies, not data
            if entry.name in SKIPPED:
                continue
            rel = prefix / entry.name
            count += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since it was listed
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 >= MAX_DEPTH:
                    sub.left_out.append(f"{rel}/: folders nested more than {MAX_DEPTH} deep are not copied")
                    continue
                try:
                    fd = _open_dir(entry.name, dir_fd)
                except OSError as e:
                    sub.left_out.append(f"{rel}/: could not be opened ({e.strerror})")
                    continue
                try:
                    walk(fd, rel, depth + 1)
                finally:
                    os.close(fd)
                continue
            if not stat.S_ISREG(st.st_mode):
                sub.left_out.append(f"{rel}: {_kind(st.st_mode)}, not copied")
                continue
            if st.st_size > limits.largest_file:
                sub.left_out.append(f"{rel}: {_mib(st.st_size)}, over the {_mib(limits.largest_file)} "
                                    "a file may have; not copied")
                continue
            if total + st.st_size > limits.total_bytes:
                sub.left_out.append(f"{rel}: would bring the files beside the notebook over "
                                    f"{_mib(limits.total_bytes)} in all; not copied")
                continue
            try:
                data = _read_regular(entry.name, dir_fd, min(limits.largest_file, limits.total_bytes - total))
            except _NotRegular as e:
                sub.left_out.append(f"{rel}: {e}, not copied")
                continue
            except _TooBig:
                sub.left_out.append(f"{rel}: grew over its size limit while being read; not copied")
                continue
            except OSError as e:
                sub.left_out.append(f"{rel}: could not be read ({e.strerror})")
                continue
            total += len(data)
            sub.files[rel.as_posix()] = data

    walk(folder_fd, PurePosixPath("."), 0)


def write_files(sub: Submission, dest: Path) -> None:
    """Write the files beside the notebook under dest (a fresh folder of the grader's)."""
    for rel, data in sub.files.items():
        parts = PurePosixPath(rel).parts
        if not parts or any(p in ("", ".", "..") for p in parts) or rel.startswith("/"):
            continue  # cannot come from `read`; a packed submission is checked all the same
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
