"""Run a submission's Jupyter kernel in a bubblewrap sandbox, as a throwaway uid, with limits.

What the kernel (and everything it starts) sees: the Python installation and /usr read-only,
a few files of /etc, its own /dev, /proc and /tmp, the submission's working folder at
its own path (read-write) and a copy of the `course` package (read-only, on PYTHONPATH). Not
the repository (assignments, solutions, the autograder, tests), not other submissions, not
the gradebook or the output folder, no network (a network namespace with only its own
loopback), no root powers: the grader, when root, builds the sandbox and then `setpriv`
switches to a uid of its own with no capabilities and no_new_privs; `prlimit` caps address
space, CPU time, processes, file size, open files and core dumps. The kernel is pid 1's child
in its own pid namespace and bwrap runs with --die-with-parent: when the grader shuts the
kernel down (or dies), every process the submission started dies with it.

As root, kernels are forked warm from a fork server that has imported ipykernel, numpy,
matplotlib and `course` once (`autograder.forkserver`: the same view, uid and limits, built
with namespaces of each kernel's own); otherwise each starts cold, as above.

The kernel talks to the grader over ZMQ's ipc transport (Unix sockets in a per-kernel
folder bound into the sandbox), since TCP loopback does not cross network namespaces.

AUTOGRADER_SANDBOX=auto (default) falls back to an unsandboxed kernel with a loud warning
when bwrap is missing or cannot start a trivial command; =require refuses to grade without
it; =off turns it off (debugging only).
"""

from __future__ import annotations

import compileall
import functools
import json
import logging
import multiprocessing.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from autograder import forkserver, harness, kernel_env, kernelstub

log = logging.getLogger(__name__)

MODE_ENV = "AUTOGRADER_SANDBOX"
INSIDE_LIB = "/opt/autograder/lib"  # the course package, read-only
UID_BASE = 200_000  # sandbox uids: UID_BASE + (grader pid mod 60000), unique per concurrent kernel
ENV_KEEP = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION")


#: Grading kernels draw no figures: the feedback page shows a notebook's code, text and
#: checks, and drawing the examples' plots cost a third of a notebook's time. Figures are
#: made but never rendered (matplotlib's Agg backend, shown nowhere); plt.show() says nothing.
NO_FIGURES = {"MPLBACKEND": "agg", "PYTHONWARNINGS": "ignore:FigureCanvasAgg is non-interactive::",
              # and a notebook's "check this notebook" cell does nothing (course.check)
              "COURSE_CHECK_RUNNING": "1"}


class SandboxUnavailable(RuntimeError):
    """AUTOGRADER_SANDBOX=require, and the sandbox cannot run here."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel, each applied to every process in the sandbox."""

    memory: int = 2 * 1024**3  # bytes of address space per process
    cpu_seconds: int = 600  # CPU time per process: a busy background loop cannot run forever
    processes: int = 64  # tasks (threads count too) of the sandbox's uid
    file_size: int = 100 * 1024**2  # bytes per written file
    tmp_size: int = 256 * 1024**2  # bytes of the private /tmp (and /dev/shm), in memory
    workdir_size: int = 256 * 1024**2  # bytes of the working folder, in memory: all it may write
    open_files: int = 1024


def sandbox_uid() -> int:
    """The uid this grading process gives its kernels: one per worker, so limits are per kernel."""
    return UID_BASE + os.getpid() % 60_000


def _at_exit(callback, *args, priority: int = 0, **kwargs) -> None:
    """Call callback(*args, **kwargs) when this process exits, higher priorities first: also in a
    worker forked from it (which leaves by os._exit, without atexit's callbacks, and does not
    inherit these)."""
    multiprocessing.util.Finalize(None, callback, args=args, kwargs=kwargs, exitpriority=priority)


@functools.cache
def _support_dir() -> Path:
    """A per-process folder with the course package, the harness and the sandbox's matplotlibrc
    (and its passwd and group files, `_etc`)."""
    import course

    root = Path(tempfile.mkdtemp(prefix="autograder-sandbox-"))
    _at_exit(shutil.rmtree, root, ignore_errors=True)
    os.chmod(root, 0o755)
    shutil.copytree(Path(course.__file__).parent, root / "lib" / "course",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # compiled once here: every kernel imports it, and cannot write bytecode in the sandbox
    compileall.compile_dir(root / "lib", quiet=1)
    # the sealed checks' kernel side, importable beside course (see autograder.sealed)
    shutil.copy(Path(harness.__file__), root / "lib" / f"{harness.MODULE}.py")
    # figures are not drawn while grading (see NO_FIGURES)
    (root / "matplotlibrc").write_text("backend: agg\nfigure.max_open_warning: 0\n")
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return root


@functools.cache
def _etc(uid: int) -> Path:
    """The sandbox's /etc/passwd and /etc/group for a kernel running as uid, in the support folder
    (a forked worker shares its parent's, and names its own uid)."""
    etc = _support_dir() / f"etc-{uid}"
    etc.mkdir(mode=0o755, exist_ok=True)
    for name, text in forkserver.etc_files(uid).items():
        (etc / name).write_text(text)
        (etc / name).chmod(0o644)
    return etc


def support_lib() -> Path:
    """The folder holding the copy of `course` that kernels import (on their PYTHONPATH)."""
    return _support_dir() / "lib"


def _python_roots(env: kernel_env.KernelEnv) -> list[str]:
    """The folders of the kernels' Python the sandbox shows (its venv, its base installation)."""
    roots = []
    for p in (str(env.prefix), str(env.base_prefix), os.path.dirname(os.path.realpath(env.python))):
        p = os.path.realpath(p)
        if p.startswith("/usr/") or any(p == r or p.startswith(r + "/") for r in roots):
            continue
        roots = [r for r in roots if not r.startswith(p + "/")] + [p]
    return roots


def _rlimit(which: int, want: int) -> int:
    hard = resource.getrlimit(which)[1]
    return want if hard == resource.RLIM_INFINITY else min(want, hard)


#: Where the sandbox sees the submission as the grader staged it (read-only); the kernel's
#: working folder, at the staging folder's own path, starts as a copy of it (warm or cold).
INSIDE_SUBMISSION = forkserver.INSIDE_SUBMISSION


def _parents(path: str, made: set[str]) -> list[str]:
    """bwrap arguments making the folders on the way to a mount point, world-traversable
    (a tmpfs root's default would be 0700), each once."""
    out = []
    for parent in list(reversed(Path(path).parents))[1:]:
        if str(parent) not in made:
            made.add(str(parent))
            out += ["--perms", "0755", "--dir", str(parent)]
    made.add(path)
    return out


def _base(limits: Limits, made: set[str]) -> list[str]:
    """The bwrap command line up to what is a kernel's own: what every sandbox shows and sets."""
    privileged = os.geteuid() == 0
    support = _support_dir()
    cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent", "--new-session",
           "--clearenv", "--ro-bind", "/usr", "/usr"]
    if not privileged:  # an unprivileged user namespace; the uid inside is a fake one
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += _parents("/etc/passwd", made)
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "nsswitch.conf",
                 "hosts", "mime.types"):
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    etc = _etc(sandbox_uid())
    cmd += ["--ro-bind", str(etc / "passwd"), "/etc/passwd", "--ro-bind", str(etc / "group"), "/etc/group"]
    # The private /tmp comes first: what is bound later (a Python installed under /tmp, the
    # working folder) is mounted on top of it, not hidden by it.
    cmd += ["--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
            "--proc", "/proc",
            "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
            "--perms", "1777", "--dir", "/tmp/matplotlib"]
    made |= {"/", "/tmp", "/usr", "/dev", "/proc"}
    env = kernel_env.ensure(progress=_progress)
    for root in _python_roots(env):
        cmd += [*_parents(root, made), "--ro-bind", root, root]
    for hidden in env.hidden:  # the base installation's packages are the grader's, not the student's
        cmd += ["--tmpfs", str(hidden)]
    for cached in env.mpl_cache.glob("fontlist-v*.json"):
        cmd += ["--ro-bind", str(cached), f"/tmp/matplotlib/{cached.name}"]
    cmd += ["--ro-bind", str(support / "matplotlibrc"), "/tmp/matplotlib/matplotlibrc",
            *_parents(INSIDE_LIB, made), "--ro-bind", str(support / "lib"), INSIDE_LIB]
    variables = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
    variables |= {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "USER": "student",
                  "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONPATH": INSIDE_LIB, "PYTHONDONTWRITEBYTECODE": "1",
                  **NO_FIGURES}
    variables.setdefault("LANG", "C.UTF-8")
    for k, v in variables.items():
        cmd += ["--setenv", k, v]
    return cmd


def _limited(limits: Limits) -> dict:
    """The limits as each process gets them (never above this process's own hard limits)."""
    return {"memory": _rlimit(resource.RLIMIT_AS, limits.memory),
            "cpu_seconds": _rlimit(resource.RLIMIT_CPU, limits.cpu_seconds),
            "file_size": _rlimit(resource.RLIMIT_FSIZE, limits.file_size),
            "open_files": _rlimit(resource.RLIMIT_NOFILE, limits.open_files),
            "processes": _rlimit(resource.RLIMIT_NPROC, limits.processes),
            "tmp_size": limits.tmp_size, "workdir_size": limits.workdir_size}


def command(argv: list[str], workdir: Path, runtime: Path, limits: Limits = Limits()) -> list[str]:
    """The command line that runs argv (the kernel) sandboxed, next to runtime.

    workdir: the staged submission (the grader's folder, never written by the sandbox).
    Inside, the working folder has the same path but is a memory file system of at most
    `limits.workdir_size` bytes that starts as a copy of it, made by the sandbox's uid: what
    a submission writes is bounded in total, and lost with the sandbox.
    """
    privileged = os.geteuid() == 0
    made: set[str] = set()
    cmd = _base(limits, made)
    cmd += [*_parents(str(runtime), made), "--bind", str(runtime), str(runtime),
            *_parents(INSIDE_SUBMISSION, made), "--ro-bind", str(workdir), INSIDE_SUBMISSION,
            # at its own path, so absolute paths the grader hands the kernel hold inside too
            *_parents(str(workdir), made), "--perms", "1777", "--size", str(limits.workdir_size),
            "--tmpfs", str(workdir), "--chdir", str(workdir)]
    if privileged:
        uid = sandbox_uid()
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all"]
    lim = _limited(limits)
    cmd += ["--", "prlimit", f"--as={lim['memory']}", f"--cpu={lim['cpu_seconds']}",
            f"--fsize={lim['file_size']}", f"--nofile={lim['open_files']}", "--core=0"]
    if privileged:  # without a uid of its own the count would include the grader's processes
        cmd += [f"--nproc={lim['processes']}"]
    # the copy into the working folder is made as the sandbox's uid, under its limits
    copy_in = ["/bin/sh", "-c", 'cp -R "$0"/. . && exec "$@"', INSIDE_SUBMISSION]
    return [*cmd, "--", *copy_in, *argv]


#: What the fork server imports once, so that no kernel it forks imports them again: the
#: kernel and what it imports as it starts (its debugger alone, debugpy, took 0.3 s), and
#: what the course's notebooks import (every module of `course` is added).
WARM_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                "IPython.core.debugger", "IPython.core.completerlib", "IPython.extensions.storemagic",
                "tornado.platform.asyncio", "sqlite3", "faulthandler",
                "numpy", "matplotlib.pyplot", harness.MODULE)
WARM_ENV = "AUTOGRADER_WARM"


SHARED_ENV = "AUTOGRADER_FORK_SERVER"  # "PID:FOLDER" of a fork server a parent process shares


class ForkServer:
    """A fork server (`autograder.forkserver`): kernels forked warm, each sandboxed.

    Needs root (each kernel gets the sandbox's uid, as `command`'s does). Kernels and the
    server see the staging folder (at its own path) where the grader puts each kernel's
    connection folder and a copy of its submission; each kernel sees only its own. A grading
    run starts one for its worker processes (`share_fork_server`); a process without one
    starts its own on first use.
    """

    def __init__(self, folder: Path, pid: int, proc: subprocess.Popen | None = None):
        self.folder, self.pid, self.proc = folder, pid, proc
        self.staging, self.control = folder / "staging", folder / "control"
        self.socket = self.control / forkserver.SOCKET_NAME
        self.log = folder / "forkserver.log"

    @classmethod
    def start(cls) -> ForkServer:
        """Start a server in a folder of this process's own (a worker forked from a process with a
        server shares its support folder); `ready` tells when it serves."""
        support = _support_dir()
        server = cls(support / f"server-{os.getpid()}", 0)
        server.folder.mkdir(mode=0o755, exist_ok=True)
        for folder in (server.staging, server.control):
            folder.mkdir(mode=0o700, exist_ok=True)
        made: set[str] = set()
        cmd = _base(Limits(), made)
        script = "/opt/autograder/forkserver.py"
        modules = [*WARM_MODULES, "course", *sorted(f"course.{p.stem}" for p in (support / "lib" / "course").glob("*.py")
                                                     if not p.stem.startswith("__"))]
        cmd += [*_parents(str(server.staging), made), "--bind", str(server.staging), str(server.staging),
                *_parents(str(server.control), made), "--bind", str(server.control), str(server.control),
                "--ro-bind", forkserver.__file__, script]
        for cap in ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_NET_ADMIN"):
            cmd += ["--cap-add", cap]
        cmd += ["--", str(kernel_env.ensure(progress=_progress).python), script, str(server.control),
                *modules]
        with open(server.log, "wb") as log_file:
            server.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file)
        server.pid = server.proc.pid
        _at_exit(server.close, priority=1)  # before its folder is removed
        return server

    def ready(self, timeout: float = 120) -> bool:
        """Wait until the server serves (its socket appears once it listens); False if it died."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if self.socket.exists():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Stop the server this process started (its kernels die with it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def command(self, argv: list[str], workdir: Path, runtime: Path, submission: Path, limits: Limits) -> list[str]:
        """The stub's command line that has the server fork argv's kernel (ipykernel's arguments
        follow ``ipykernel_launcher`` in argv)."""
        request = {"uid": sandbox_uid(), "runtime": str(runtime), "submission": str(submission),
                   "workdir": str(workdir), "staging": str(self.staging), "control": str(self.control),
                   "limits": _limited(limits), "argv": argv[argv.index("ipykernel_launcher") + 1:]}
        return [sys.executable, "-I", "-S", kernelstub.__file__, str(self.socket), str(runtime), json.dumps(request)]


_servers: dict[int, ForkServer | None] = {}


def _warm_wanted() -> bool:
    return (os.environ.get(WARM_ENV, "auto").lower() not in ("off", "0", "no", "false") and os.geteuid() == 0
            and kernel_env.built() and status()[0])


def share_fork_server() -> None:
    """Start a fork server now for the worker processes this process starts next (they find it
    in their environment, `SHARED_ENV`): one server's imports for all of them."""
    if os.getpid() not in _servers and _warm_wanted():
        server = _servers[os.getpid()] = ForkServer.start()
        os.environ[SHARED_ENV] = f"{server.pid}:{server.folder}"


def fork_server() -> ForkServer | None:
    """This process's fork server (its parent's, if it shares one), started if need be; None
    when kernels start cold here (not root, no sandbox, AUTOGRADER_WARM=off, or the server
    cannot start: said once)."""
    pid = os.getpid()  # each worker process has its entry, if only its parent's server
    shared = None
    if pid in _servers:
        server = _servers[pid]
        if server is None or server.ready():
            return server
        log.warning("the fork server stopped (%s); starting another", server.log)
    elif not _warm_wanted():
        _servers[pid] = None
        return None
    elif os.environ.get(SHARED_ENV):
        owner, _, folder = os.environ[SHARED_ENV].partition(":")
        shared = ForkServer(Path(folder), int(owner))
    _servers[pid] = server = shared if shared is not None and shared.ready() else _started()
    return server


def _started() -> ForkServer | None:
    """A new fork server of this process's, once it serves; None (said on stderr) if it cannot."""
    try:
        server = ForkServer.start()
    except OSError as e:
        print(f"autograder: kernels start cold: the fork server could not start: {e}", file=sys.stderr, flush=True)
        return None
    if server.ready():
        return server
    print(f"autograder: kernels start cold: the fork server did not start: "
          f"{server.log.read_text(errors='replace')[-600:]}", file=sys.stderr, flush=True)
    server.close()
    return None


def share(path: Path) -> None:
    """Make a folder the grader staged readable (not writable) by the sandbox's uid."""
    os.chmod(path, 0o755)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def own(path: Path) -> None:
    """Give path (a folder, recursively) to the sandbox's uid, so the kernel can write there."""
    if os.geteuid() != 0:
        return
    uid = sandbox_uid()
    os.lchown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)


def probe(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run argv in a sandbox as a kernel would run (empty submission); its output as text.

    Never raises: a sandbox that cannot start gives a non-zero return code and stderr.
    """
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as tmp:
        work, runtime = Path(tmp, "work"), Path(tmp, "run")
        work.mkdir()
        runtime.mkdir()
        share(work)
        own(runtime)
        try:
            return subprocess.run(command(argv, work, runtime), capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return subprocess.CompletedProcess(argv, 1, "", str(e))


@functools.cache
def status() -> tuple[bool, str]:
    """(True, how) when kernels run sandboxed here, else (False, why not); checked once per process."""
    mode = os.environ.get(MODE_ENV, "auto").lower()
    if mode in ("off", "0", "no", "false"):
        return False, f"sandbox turned off ({MODE_ENV}={mode})"
    missing = [t for t in ("bwrap", "setpriv", "prlimit") if shutil.which(t) is None]
    if missing:
        why = f"{', '.join(missing)} not found (install bubblewrap and util-linux: ./install.sh)"
    else:
        proc = probe(["/bin/sh", "-c", "touch written && echo started"])
        ok = proc.returncode == 0 and proc.stdout.strip() == "started"
        why = "" if ok else f"bwrap failed to start a trivial command: {(proc.stderr or proc.stdout).strip()[:300]}"
    if not why:
        how = f"uid {sandbox_uid()}" if os.geteuid() == 0 else "unprivileged user namespace"
        return True, f"bubblewrap sandbox ({how})"
    if mode == "require":
        raise SandboxUnavailable(why)
    message = (f"WARNING: grading WITHOUT a sandbox: {why}. Submissions can read and write "
               "whatever this user can (hidden tests, other submissions, the gradebook).")
    if log.hasHandlers():  # else logging's last resort would print it a second time
        log.warning(message)
    print(f"autograder: {message}", file=sys.stderr, flush=True)
    return False, why


class _PromptClient(AsyncKernelClient):
    """jupyter_client's kernel client, without its 0.2 s of silence after every kernel start."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answered kernel_info and its IOPub channel is connected.

        jupyter_client's own waits for IOPub to stay quiet for 0.2 s before it returns (its
        "flush"), on every kernel a grader starts; nothing is lost by not waiting: what the
        kernel_info exchange left there belongs to no cell (nbclient takes a cell's outputs
        by the id of its request), and what is already there is drained here.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # is IOPub connected? (the reply's status messages come on it)
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # drain what is there already
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                break


class _PromptKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, without its 0.1 s naps: a killed kernel's exit is
    polled every 5 ms (jupyter_client polls every 100 ms, so each kernel shut down cost one
    nap), and its clients return as soon as the kernel is ready (`_PromptClient`)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.client_factory = _PromptClient

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))


class SandboxedKernelManager(_PromptKernelManager):
    """A KernelManager whose kernel runs inside a sandbox, over ipc sockets: forked warm by
    this process's `ForkServer` when there is one, else started cold by `command`."""

    def __init__(self, *, workdir: Path, limits: Limits = Limits(), warm: bool = True, **kw):
        super().__init__(**kw)
        self.workdir = Path(workdir)
        self.limits = limits
        self.warm = warm
        self.runtime: Path | None = None
        self.submission: Path | None = None  # the warm kernel's copy of workdir, in the staging folder
        self.server: ForkServer | None = None
        self.start_log = ""  # what the stub said when its kernel ended badly (kernel-start.log)

    def warm_failure(self) -> str | None:
        """Why this manager's warm kernel did not start (what its stub saw), or None: not warm."""
        if self.server is None:
            return None
        if self.runtime is not None:
            self._read_start_log()
        return self.start_log or "no reason given"

    def _read_start_log(self) -> None:
        log_file = self.runtime / "kernel-start.log"
        if log_file.exists():
            self.start_log = log_file.read_text(errors="replace").strip()

    async def _async_pre_start_kernel(self, **kw):
        self.server = fork_server() if self.warm else None
        self.runtime = Path(tempfile.mkdtemp(prefix="autograder-kernel-",
                                             dir=self.server.staging if self.server else None))
        self.transport = "ipc"
        self.ip = str(self.runtime / "ipc")
        self.connection_file = str(self.runtime / "kernel.json")
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    def format_kernel_cmd(self, extra_arguments=None):
        # the connection file is written by now: hand it, and the folders, to the sandbox's uid
        argv = super().format_kernel_cmd(extra_arguments)
        assert self.runtime is not None
        own(self.runtime)
        if self.server is None:
            share(self.workdir)
            return command(argv, self.workdir, self.runtime, self.limits)
        if self.submission is None:  # a restart forks from the same copy
            self.submission = Path(tempfile.mkdtemp(prefix="submission-", dir=self.server.staging))
            shutil.copytree(self.workdir, self.submission, symlinks=True, dirs_exist_ok=True)
            share(self.submission)
        return self.server.command(argv, self.workdir, self.runtime, self.submission, self.limits)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.runtime is not None:
            self._read_start_log()
        if not restart:
            for folder in (self.runtime, self.submission):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
            self.runtime = self.submission = None

    cleanup_resources = _async_cleanup_resources


def _progress(message: str) -> None:
    print(f"autograder: {message}", file=sys.stderr, flush=True)


def kernel_manager(workdir: Path, limits: Limits = Limits(), warm: bool = True) -> AsyncKernelManager:
    """A kernel manager for a submission in workdir: sandboxed when possible (see `status`),
    forked warm when possible and `warm` (see `fork_server`).

    Its kernel runs the kernel environment's Python (`kernel_env`), sandboxed or not.
    """
    env = kernel_env.ensure(progress=_progress)
    if status()[0]:
        km, variables = SandboxedKernelManager(workdir=workdir, limits=limits, warm=warm), {}
    else:  # the sandbox's copy of `course` then comes from this folder
        km, variables = AsyncKernelManager(), {"PYTHONPATH": str(support_lib()), **NO_FIGURES,
                                               "MPLCONFIGDIR": str(_support_dir())}
    km._kernel_spec = KernelSpec(argv=env.argv(), env=variables, display_name="Python 3 (grading)",
                                 language="python")
    return km
