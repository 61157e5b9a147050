"""Kernels forked warm by the fork server: sandboxed as a cold kernel is, and nothing of one
reaches the next (`autograder/forkserver.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from autograder.execute import execute

pytestmark = pytest.mark.skipif(not sandbox.status()[0] or os.geteuid() != 0,
                                reason="warm kernels need the sandbox and root")

#: What a kernel can tell about its own sandbox, printed as JSON.
FACTS = r"""
import json, os, pwd, resource, socket, sys
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    net = "reached"
except OSError as e:
    net = type(e).__name__
print(json.dumps({
    "numpy already imported": "numpy" in sys.modules,
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "cwd": os.getcwd(),
    "user": pwd.getpwuid(os.getuid()).pw_name, "etc": sorted(os.listdir("/etc")),
    "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "no_new_privs": status["NoNewPrivs"].strip(), "hostname": socket.gethostname(), "network": net,
    "limits": {name: resource.getrlimit(getattr(resource, name)) for name in
               ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_NPROC")},
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "files": sorted(os.listdir(".")), "shm": os.listdir("/dev/shm"),
    "sees": {p: sorted(os.listdir(p)) if os.path.isdir(p) else None for p in PATHS},
}))
"""


def _run(cells: list[str], work: Path) -> list[str]:
    """Run cells in one kernel on work; each cell's stdout (errors fail the test)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    outcomes = execute(nb, work)
    assert all(o.status == "ok" for o in outcomes.values()), [c.outputs for c in nb.cells]
    return ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]


def _facts(work: Path, paths: list[str]) -> dict:
    return json.loads(_run([f"PATHS = {paths!r}\n" + FACTS], work)[0])


@pytest.fixture
def work(tmp_path):
    (tmp_path / "data.txt").write_text("the student's data\n")
    return tmp_path


def test_a_warm_kernel_is_sandboxed_as_a_cold_one(work, monkeypatch):
    """Same uid, no capabilities, same limits, no network, own pids and files; no fork server in sight."""
    server = sandbox.fork_server()
    assert server is not None
    paths = [str(server.staging), str(server.control), str(Path(__file__).parents[2])]
    warm = _facts(work, paths)
    monkeypatch.setenv(sandbox.WARM_ENV, "off")
    monkeypatch.setattr(sandbox, "_servers", {})
    cold = _facts(work, paths)
    assert warm.pop("numpy already imported") and not cold.pop("numpy already imported")
    assert warm["uid"] == sandbox.sandbox_uid() and warm["uid"] != 0 and warm["user"] == "student"
    assert {"passwd", "group", "localtime", "ld.so.cache"} <= set(warm["etc"])
    assert set(warm["caps"].values()) == {"0000000000000000"} and warm["no_new_privs"] == "1"
    assert warm["network"] != "reached"
    # of the staging folder, only the way to its own connection folder; of the rest, nothing
    staged, control, repo = warm.pop("sees").values()
    assert [name.split("-")[:2] for name in staged] == [["autograder", "kernel"]] and control is repo is None
    assert cold.pop("sees")[str(server.staging)] is None
    assert warm["processes"] == [1, 2] and warm["files"] == ["data.txt"]
    for key in warm:  # everything else as in a cold kernel
        if key != "processes":  # bwrap's pid 1 is followed by its sh and its kernel
            assert warm[key] == cold[key], key


def test_nothing_of_one_kernel_reaches_the_next(work, tmp_path_factory):
    """Module state, files in /tmp, /dev/shm and the working folder, processes, seeds: each kernel's own."""
    assert sandbox.fork_server() is not None
    first = _run(["import numpy, course, os, subprocess\n"
                  "numpy.tampered = course.tampered = True\n"
                  "for p in ('/tmp/left', '/dev/shm/left', 'left'): open(p, 'w').write('x')\n"
                  "subprocess.Popen(['setsid', 'sleep', '34567'])\n"
                  "print(numpy.random.rand())"], work)[0]
    again = tmp_path_factory.mktemp("again")
    (again / "data.txt").write_text("another student's data\n")
    second = _run(["import numpy, course, os\n"
                   "print(hasattr(numpy, 'tampered'), hasattr(course, 'tampered'),"
                   " [os.path.exists(p) for p in ('/tmp/left', '/dev/shm/left', 'left')], open('data.txt').read())",
                   "print(numpy.random.rand())"], again)
    assert second[0] == "False False [False, False, False] another student's data\n\n"
    assert first != second[1]  # fresh seeds, as in a fresh interpreter
    assert not (work / "left").exists()
    deadline = time.monotonic() + 5
    while "sleep 34567" in (ps := subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout):
        assert time.monotonic() < deadline, "a process outlived its kernel"
        time.sleep(0.2)


def test_a_fork_bomb_s_leftovers_do_not_stop_the_next_kernel(work):
    """A kernel that used every process its uid may have is followed at once by the next
    kernel of the same uid: that one waits for the leftovers to die, then starts and runs."""
    bomb = ("import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n"
            "            time.sleep(1000)\n            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)")
    forked = int(_run([bomb], work)[0])
    assert 0 < forked < sandbox.Limits().processes
    assert _run(["print('started')"], work) == ["started\n"]


def test_a_killed_kernel_is_restarted_warm_and_its_state_rebuilt(work):
    """A cell that kills its kernel costs that cell; the next runs in a new fork with the good cells replayed."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        "x = 41", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "import sys; print(x + 1, 'numpy' in sys.modules)")])
    outcomes = execute(nb, work)
    assert [outcomes[i].status for i in range(3)] == ["ok", "crashed", "ok"]
    assert nb.cells[2].outputs[0]["text"] == "42 True\n"


def test_without_a_fork_server_kernels_start_cold(work, monkeypatch, capfd):
    """A fork server that cannot start costs speed, not grades: kernels start cold, with a note."""
    monkeypatch.setattr(sandbox, "_servers", {})
    monkeypatch.setenv(sandbox.SHARED_ENV, "")
    monkeypatch.setattr(sandbox.ForkServer, "ready", lambda self, timeout=120: False)
    assert _run(["import sys; print('numpy' in sys.modules)"], work) == ["False\n"]
    assert "kernels start cold: the fork server did not start" in capfd.readouterr().err


def test_a_warm_kernel_that_does_not_start_is_started_cold(work, monkeypatch, capfd):
    """Its own failure is never a student's: a warm start that fails (here: no server at the
    socket the stub is given) is said on stderr, with the stub's reason, and the kernel starts cold."""
    real = sandbox.ForkServer.command

    def elsewhere(self, *args):
        argv = real(self, *args)
        argv[argv.index(str(self.socket))] = str(work / "no-server.sock")
        return argv

    monkeypatch.setattr(sandbox.ForkServer, "command", elsewhere)
    assert _run(["import sys; print('numpy' in sys.modules)"], work) == ["False\n"]
    err = capfd.readouterr().err
    assert "a warm kernel did not start" in err and "could not reach the fork server" in err, err


def test_worker_processes_share_their_parent_s_fork_server(work, monkeypatch):
    """A grading run's workers use the one server the run started (its imports paid once)."""
    monkeypatch.setattr(sandbox, "_servers", {})
    monkeypatch.setenv(sandbox.SHARED_ENV, "")  # and whatever share_fork_server sets, undone after
    sandbox.share_fork_server()
    parent = sandbox._servers[os.getpid()]
    assert os.environ[sandbox.SHARED_ENV] == f"{parent.pid}:{parent.folder}"
    code = ("from autograder import sandbox; s = sandbox.fork_server(); "
            "print(s.pid, s.folder, s.proc is None)")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert child.stdout.split() == [str(parent.pid), str(parent.folder), "True"]
    parent.close()
    monkeypatch.setattr(sandbox, "_servers", {})
    # a dead shared server: the worker starts its own
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    pid, folder, attached = child.stdout.split()
    assert pid != str(parent.pid) and attached == "False"


def _facts_in_a_worker(work: Path) -> tuple[dict, int]:
    return _facts(work, []), sandbox.sandbox_uid()


@pytest.mark.parametrize("warm", ["on", "off"])
def test_a_kernel_of_a_forked_worker_names_the_worker_s_uid(work, monkeypatch, warm):
    """Workers forked from the grading process share its sandbox folder: each kernel's /etc/passwd
    still names the uid it runs as (a worker's, not the parent's), warm or cold."""
    from autograder import executors

    monkeypatch.setenv(sandbox.WARM_ENV, warm)
    monkeypatch.setattr(executors, "_start_method", lambda: "fork")
    pool = executors.LocalPool(1)
    try:
        pool.warm()
        facts, uid = pool._fresh_pool().submit(_facts_in_a_worker, work).result(timeout=120)
    finally:
        pool.close()
    assert uid != sandbox.sandbox_uid() and facts["uid"] == uid and facts["user"] == "student"


def _folder_of_a_worker() -> str:
    sandbox._support_dir.cache_clear()  # as if its parent had made none: the worker makes its own
    return str(sandbox._support_dir())


def test_a_forked_worker_removes_its_folders_when_it_exits(monkeypatch):
    """A forked worker leaves by os._exit, without atexit's callbacks: the sandbox folder it made
    is removed all the same."""
    from autograder import executors

    monkeypatch.setattr(executors, "_start_method", lambda: "fork")
    pool = executors.LocalPool(1)
    try:
        folder = Path(pool._fresh_pool().submit(_folder_of_a_worker).result(timeout=120))
        assert folder.is_dir() and folder != sandbox._support_dir()
    finally:
        pool.close()
    assert not folder.exists()


def _own_server_of_a_worker() -> str:
    sandbox._servers.pop(os.getpid(), None)  # as if the parent's server were gone
    os.environ[sandbox.SHARED_ENV] = ""
    server = sandbox.fork_server()
    return str(server.folder) if server is not None and server.proc is not None else ""


def test_a_forked_worker_s_own_server_leaves_its_parent_s_alone(work, monkeypatch):
    """A forked worker that starts a fork server of its own (its parent's gone, it thinks) puts it
    in a folder of its own: the parent's server still serves warm kernels once the worker is gone."""
    from autograder import executors

    parent = sandbox.fork_server()
    assert parent is not None
    monkeypatch.setattr(executors, "_start_method", lambda: "fork")
    pool = executors.LocalPool(1)
    try:
        folder = pool._fresh_pool().submit(_own_server_of_a_worker).result(timeout=120)
    finally:
        pool.close()
    assert folder and folder != str(parent.folder)
    assert parent.alive() and parent.ready(timeout=5)
    assert _facts(work, [])["numpy already imported"]  # forked warm, by the parent's server
