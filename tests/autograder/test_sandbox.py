"""The sandbox on its own: who runs inside, what it sees, what is left after it, the fallback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import kernel_env, sandbox

needs_sandbox = pytest.mark.skipif(not sandbox.status()[0], reason=f"no sandbox here: {sandbox.status()[1]}")


def _run(tmp_path: Path, script: str, limits: sandbox.Limits | None = None, **kw) -> subprocess.CompletedProcess:
    work, runtime = tmp_path / "work", tmp_path / "run"
    work.mkdir(exist_ok=True)
    runtime.mkdir(exist_ok=True)
    sandbox.share(work)
    sandbox.own(runtime)
    return subprocess.run(sandbox.command(["/bin/sh", "-c", script], work, runtime, limits or sandbox.Limits()),
                          capture_output=True, text=True, timeout=60, check=False, **kw)


@needs_sandbox
def test_runs_as_an_unprivileged_uid_in_a_private_copy_of_the_workdir(tmp_path):
    """Is the code neither root nor able to regain capabilities, in a copy of its files it may change?"""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "data.txt").write_text("the student's data\n")
    proc = _run(tmp_path, "id -u; pwd; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; "
                          "cat data.txt; echo changed > data.txt; touch mine")
    uid, cwd, *rest = proc.stdout.split("\n")
    assert uid != "0" and cwd == str(tmp_path / "work")
    assert "CapEff:\t0000000000000000" in rest and "NoNewPrivs:\t1" in rest
    assert "the student's data" in rest, proc.stderr
    # the grader's staged folder is never written: the copy is the sandbox's own
    assert (tmp_path / "work" / "data.txt").read_text() == "the student's data\n"
    assert not (tmp_path / "work" / "mine").exists()


@needs_sandbox
def test_what_the_code_writes_is_bounded_in_total(tmp_path):
    """Does writing file after file stop at the working folder's cap, with a 'no space' error?"""
    limits = sandbox.Limits(workdir_size=8 * 2**20, file_size=3 * 2**20)
    script = ("i=0; while [ $i -lt 20 ]; do head -c 3000000 /dev/zero > f$i || { echo full at $i; break; }; "
              "i=$((i+1)); done; du -sk . | cut -f1")
    proc = _run(tmp_path, script, limits)
    assert "full at 2" in proc.stdout, proc.stdout + proc.stderr
    assert "No space left on device" in proc.stderr
    assert int(proc.stdout.split()[-1]) <= 8 * 1024
    assert list((tmp_path / "work").iterdir()) == []


@needs_sandbox
def test_sees_no_repository_no_secrets_and_no_network(tmp_path):
    """Are the repo, /root's contents, the grader's environment and the network out of reach?"""
    repo = Path(__file__).resolve().parents[2]
    env = os.environ | {"AUTOGRADER_TEST_SECRET": "s3cr3t"}
    # the kernels' Python (the grader's may live under /tmp, which the sandbox replaces)
    python = kernel_env.ensure().python
    proc = _run(tmp_path, f"ls {repo} 2>&1; ls /root; env;"
                f" {python} -c 'import socket; socket.create_connection((\"1.1.1.1\", 80), timeout=2)' 2>&1 | tail -1",
                env=env)
    assert "No such file or directory" in proc.stdout
    assert "s3cr3t" not in proc.stdout and "solutions" not in proc.stdout
    assert "Network is unreachable" in proc.stdout or "OSError" in proc.stdout


@needs_sandbox
def test_limits_are_set_and_cannot_be_raised(tmp_path):
    """Are CPU, process, file size and memory capped, for good?"""
    proc = _run(tmp_path, "cat /proc/self/limits; ulimit -t unlimited 2>&1 || echo refused")
    soft = {line[:26].strip(): line[26:].split()[0] for line in proc.stdout.splitlines()[1:] if len(line) > 26}
    limits = sandbox.Limits()
    assert soft["Max cpu time"] == str(limits.cpu_seconds)
    assert soft["Max address space"] == str(limits.memory)
    assert soft["Max file size"] == str(limits.file_size)
    assert soft["Max core file size"] == "0"
    if os.geteuid() == 0:  # only with a uid of its own
        assert soft["Max processes"] == str(limits.processes)
    assert "refused" in proc.stdout


@needs_sandbox
def test_every_process_dies_with_the_sandbox(tmp_path):
    """When the sandbox's process is killed, are its background and double-forked children gone?"""
    work, runtime = tmp_path / "work", tmp_path / "run"
    work.mkdir()
    runtime.mkdir()
    sandbox.share(work)
    sandbox.own(runtime)
    script = "sleep 23456 & (setsid sh -c 'sleep 23457 &' &); sleep 23458"
    proc = subprocess.Popen(sandbox.command(["/bin/sh", "-c", script], work, runtime))
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
        if "sleep 2345" not in out:
            break
        time.sleep(0.2)
    assert "sleep 2345" not in out


def test_falls_back_loudly_without_bwrap(tmp_path):
    """Without bwrap, does grading go on unsandboxed with a warning on stderr, or stop when required?"""
    code = ("from autograder import sandbox; from pathlib import Path; "
            "km = sandbox.kernel_manager(Path('.')); print(type(km).__name__)")
    env = os.environ | {"PATH": str(tmp_path)}  # no bwrap, no setpriv on this PATH
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "AsyncKernelManager"
    assert proc.stderr.count("WARNING: grading WITHOUT a sandbox") == 1 and "bwrap" in proc.stderr
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=env | {sandbox.MODE_ENV: "require"}, check=False)
    assert proc.returncode != 0 and "SandboxUnavailable" in proc.stderr
