"""Warm grading kernels: one interpreter that has imported what every notebook imports, forked
into a sandbox of its own for each kernel.

A grading kernel used to cost a worker about a second before a student's first line ran:
bubblewrap, a Python interpreter, ipykernel, then numpy, matplotlib and `course`. Here a
*fork server* pays that once per grading run. It runs inside a bubblewrap sandbox like a kernel's
(same files, no network), as root with only the capabilities it needs to build sandboxes
(CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_NET_ADMIN), has imported ipykernel
and the course's modules, and never runs a student's code. For each kernel it forks:

- a child unshares new mount, pid, network, IPC and UTS namespaces; builds the kernel's view
  (a fresh /tmp and /dev/shm, the connection folder, the submission read-only, the working
  folder as a size-limited memory file system at the submission's own path) and hides the
  server's control folder and the staging folder of other kernels; then forks
- pid 1 of the new pid namespace, which mounts its /proc and forks the kernel, then only
  waits: when the kernel exits it reports the status and exits, and when the grader's end
  of the connection closes (the grader killed the kernel, or died) it exits, and the
  kernel and everything it started die with the namespace;
- the kernel: a new session, no_new_privs, an empty capability bounding set, the sandbox's
  uid and gid (all capabilities gone), the resource limits, a copy of the submission in its
  working folder, fresh random seeds; then ipykernel, as ``python -m ipykernel_launcher``.

What one kernel does lives in its own copy of the server's memory (copy on write) and its own
file systems, and dies with it: the next kernel forks from the untouched server. On the grader's
side the kernel "process" jupyter_client starts, watches, interrupts and kills is a stub
(`autograder.kernelstub`): it hands its standard streams to the server, forwards SIGINT, and
exits with the kernel's status.

Standard library only: this file runs inside the sandbox, with the kernels' Python, outside
any package (started and used by `autograder.sandbox.ForkServer`).
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time
import traceback

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_CAPABILITY_VERSION_3 = 0x20080522

SOCKET_NAME = "fork.sock"
#: Where the kernel sees the submission as the grader staged it (read-only), as in the cold sandbox.
INSIDE_SUBMISSION = "/opt/autograder/submission"
_PARKED = "/opt/autograder/parked"  # the connection folder, between leaving the staging folder and /tmp

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.capset.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _ok(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _ok(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _tmpfs(target: str, size: int, mode: str = "1777") -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _loopback_up() -> None:
    """Bring up `lo` of the new network namespace (as bubblewrap does): its only interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def etc_files(uid: int) -> dict[str, str]:
    """/etc/passwd and /etc/group of a sandbox whose kernel runs as uid (cold or warm)."""
    return {"passwd": (f"root:x:0:0:root:/root:/bin/sh\nstudent:x:{uid}:{uid}:student:/tmp:/bin/sh\n"
                       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
            "group": f"root:x:0:\nstudent:x:{uid}:\nnogroup:x:65534:\n"}


def _name_the_uid(uid: int) -> None:
    """/etc/passwd and /etc/group naming the kernel's uid (the server's name another's), each
    bound read-only from a small file system that is then detached."""
    folder = "/opt/autograder/etc"
    os.makedirs(folder, mode=0o755, exist_ok=True)
    _tmpfs(folder, 65536, mode="0755")
    for name, text in etc_files(uid).items():
        path = f"{folder}/{name}"
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        _mount(path, f"/etc/{name}", None, MS_BIND)
        _mount(None, f"/etc/{name}", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _ok(_libc.umount2(folder.encode(), MNT_DETACH), f"umount {folder}")


def _build_view(req: dict) -> None:
    """In new namespaces: the kernel's file systems (run as root, before forking pid 1)."""
    _ok(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    # nothing mounted from here on reaches the server or another kernel
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    socket.sethostname("sandbox")
    _loopback_up()
    limits, runtime = req["limits"], req["runtime"]
    # the submission (read-only) and the connection folder leave the staging folder, which
    # holds other kernels' folders, before it is hidden
    os.makedirs(INSIDE_SUBMISSION, mode=0o755, exist_ok=True)
    _mount(req["submission"], INSIDE_SUBMISSION, None, MS_BIND | MS_REC)
    _mount(None, INSIDE_SUBMISSION, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(_PARKED, mode=0o755, exist_ok=True)
    _mount(runtime, _PARKED, None, MS_BIND)
    for hidden in (req["staging"], req["control"]):
        _ok(_libc.umount2(hidden.encode(), MNT_DETACH), f"umount {hidden}")
    _name_the_uid(req["uid"])
    _tmpfs("/tmp", limits["tmp_size"])
    _tmpfs("/dev/shm", limits["tmp_size"])
    os.mkdir("/tmp/matplotlib")
    os.chmod("/tmp/matplotlib", 0o1777)
    os.makedirs(runtime, mode=0o755, exist_ok=True)
    _mount(_PARKED, runtime, None, MS_MOVE)
    # at the submission's own path, so absolute paths the grader hands the kernel hold inside too
    _tmpfs(req["workdir"], limits["workdir_size"])


def _drop_privileges(uid: int) -> None:
    """The kernel's process: no way back to root, by any path."""
    _ok(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            _ok(-1, f"dropping capability {cap}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # a non-zero uid: permitted and effective capabilities are cleared
    header = struct.pack("Ii", _CAPABILITY_VERSION_3, 0)
    _ok(_libc.capset(header, bytes(24)), "clearing inheritable capabilities")
    with open("/proc/self/status") as status:
        caps = {k: v.strip() for k, v in (line.split(":", 1) for line in status if line.startswith("Cap"))}
    if (os.getuid(), os.geteuid(), os.getgid(), os.getegid()) != (uid,) * 4 or any(int(v, 16) for v in caps.values()):
        raise RuntimeError(f"could not drop privileges: uid {os.geteuid()}, {caps}")


def _set_limits(limits: dict) -> None:
    for which, value in ((resource.RLIMIT_AS, limits["memory"]), (resource.RLIMIT_CPU, limits["cpu_seconds"]),
                         (resource.RLIMIT_FSIZE, limits["file_size"]), (resource.RLIMIT_NOFILE, limits["open_files"]),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, limits["processes"])):
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _kernel(req: dict, streams: list[int], server_path: list[str]) -> None:
    """The kernel's process (pid 2 of its namespace): never returns."""
    os.setsid()
    for fd, target in zip(streams, (0, 1, 2)):
        os.dup2(fd, target)
    os.closerange(3, 65536)  # the server's socket, the connection to the grader: not the kernel's
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _drop_privileges(req["uid"])
    _set_limits(req["limits"])
    # as the cold sandbox does: the copy is made as the sandbox's uid, under its limits
    for entry in os.scandir(INSIDE_SUBMISSION):
        target = os.path.join(req["workdir"], entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            shutil.copytree(entry.path, target, symlinks=True)
        else:
            shutil.copy2(entry.path, target)
    os.chdir(req["workdir"])
    os.environ["PWD"] = req["workdir"]
    # a fresh interpreter's state: its own path (ipykernel adds the working folder) and seeds
    sys.path[:] = server_path
    sys.argv = ["ipykernel_launcher", *req["argv"]]
    import random
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from ipykernel import kernelapp
    kernelapp.launch_new_instance(argv=req["argv"])


def _init(req: dict, conn: socket.socket, streams: list[int], server_path: list[str]) -> None:
    """pid 1 of the kernel's namespace: starts the kernel, then waits for it or for the grader."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # told of the kernel's exit even if it comes before the kernel's fork returns here
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    kernel = os.fork()
    if kernel == 0:
        try:
            signal.set_wakeup_fd(-1)
            _kernel(req, streams, server_path)
        except BaseException:
            traceback.print_exc()
        os._exit(1)
    for fd in streams:
        os.close(fd)
    while True:
        ready, _, _ = select.select([conn, wake_r], [], [])
        if conn in ready:
            data = conn.recv(64)
            if not data:  # the grader's end is gone: so is this namespace
                os._exit(0)
            if b"I" in data:
                os.kill(kernel, signal.SIGINT)
        if wake_r in ready:
            os.read(wake_r, 512)
            while True:  # reap the kernel, and orphans of the submission's
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    pid = 0
                if pid == 0:
                    break
                if pid == kernel:
                    code = os.waitstatus_to_exitcode(status)
                    conn.sendall(f"exit {code}\n".encode())
                    os._exit(0)


def _await_no_process_of(uid: int, timeout: float = 10.0) -> None:
    """Wait until the uid's earlier kernel is gone, every process of it: what is still dying
    (a fork bomb's hundred sleepers) would count against the new kernel's process limit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owners = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    owners.append(os.stat(f"/proc/{pid}").st_uid)
                except OSError:  # gone meanwhile
                    pass
        if uid not in owners:
            return
        time.sleep(0.005)


def _spawn(req: dict, conn: socket.socket, fds: list[int], server_path: list[str]) -> None:
    """The server's child for one kernel: namespaces and file systems, then pid 1. Never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _await_no_process_of(req["uid"])  # this server's /proc shows every kernel's processes
        _build_view(req)
        if os.fork() == 0:
            _init(req, conn, fds, server_path)
    except BaseException:
        with_trace = traceback.format_exc()
        try:
            conn.sendall(f"error {with_trace}".encode())
        except OSError:
            pass
    os._exit(0)


def serve(control: str, modules: list[str]) -> None:
    """The server: import, listen on CONTROL/fork.sock, fork a sandboxed kernel per request."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as e:  # a kernel that needs it imports it itself, and fails there
            print(f"forkserver: could not import {name}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    server_path = [p for p in sys.path if p != os.path.dirname(os.path.abspath(__file__))]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(control, SOCKET_NAME + ".new"))
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel
    # the socket appears under its name once it listens: a client that sees it may connect
    os.rename(os.path.join(control, SOCKET_NAME + ".new"), os.path.join(control, SOCKET_NAME))
    while True:
        conn, _ = listener.accept()
        try:
            data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
            req = json.loads(data)
        except (OSError, ValueError):
            conn.close()
            continue
        if os.fork() == 0:
            listener.close()
            _spawn(req, conn, fds, server_path)
        conn.close()
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
