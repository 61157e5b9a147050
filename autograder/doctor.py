"""``python -m autograder doctor``: can this machine grade? One screen, each step named.

The steps are those of starting a grading kernel (`kernel_steps`), then a preflight of one
notebook (its answer key graded through the same sandbox, limits and sealed checks as a
class). The preflight of a grading run uses `kernel_steps` to say which step failed when
kernels could not start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import kernel_env, sandbox
from autograder.nbgrader_glue import GraderError
from autograder.paths import ASSIGNMENTS

#: What a grading kernel must import; course comes from the sandbox's copy, not the environment.
IMPORTS = ("ipykernel", "numpy", "matplotlib", "course")


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # works, but not as it should (no sandbox)


def _run(argv: list[str], sandboxed: bool) -> subprocess.CompletedProcess:
    """Run argv as a kernel would be run: in the sandbox, or plainly with the course on its path."""
    if sandboxed:
        return sandbox.probe(argv)
    env = {**os.environ, "PYTHONPATH": str(sandbox.support_lib())}
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess(argv, 1, "", str(e))


def _tail(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or f"exit code {proc.returncode}").strip().splitlines()
    return text[-1][:300] if text else f"exit code {proc.returncode}"


def kernel_steps(time_kernel: bool = True) -> list[Step]:
    """Check each step of starting a grading kernel; stops at the first that fails."""
    steps = []
    try:
        env = kernel_env.ensure(progress=lambda m: print(f"doctor: {m}", file=sys.stderr))
    except GraderError as e:
        return [Step("kernel environment", False, f"{e} (needs the package index once: ./install.sh)")]
    if not os.path.exists(env.python):
        return [Step("kernel environment", False,
                     f"its Python {env.python} does not exist (was the interpreter it was made from removed?); "
                     "rebuild it: python -m autograder kernel-env --rebuild")]
    steps.append(Step("kernel environment", True, f"{env.prefix} (Python {env.version})"))
    try:
        sandboxed, how = sandbox.status()
    except sandbox.SandboxUnavailable as e:
        return [*steps, Step("sandbox", False, f"required ({sandbox.MODE_ENV}=require) but unavailable: {e}; "
                                              "install bubblewrap (./install.sh, or apt-get install bubblewrap)")]
    steps.append(Step("sandbox", True, how if sandboxed else
                      f"NONE: {how}; kernels run unsandboxed (install bubblewrap: ./install.sh)", warning=not sandboxed))
    where = "inside the sandbox" if sandboxed else "unsandboxed"
    proc = _run([str(env.python), "-c", "import sys; print(sys.version.split()[0])"], sandboxed)
    if proc.returncode != 0:
        return [*steps, Step("kernel's Python", False, f"{env.python} could not start {where}: {_tail(proc)}")]
    steps.append(Step("kernel's Python", True, f"starts {where}"))
    code = ("import importlib.metadata as m\n"
            + "".join(f"import {name}\n" for name in IMPORTS)
            + "print(', '.join(f'{n} {getattr(__import__(n), \"__version__\", \"?\")}' for n in "
            + repr(IMPORTS) + "))")
    proc = _run([str(env.python), "-c", code], sandboxed)
    if proc.returncode != 0:
        return [*steps, Step("imports", False, f"{where}, the kernel's Python cannot import what grading needs: "
                                               f"{_tail(proc)}")]
    steps.append(Step("imports", True, proc.stdout.strip()))
    if time_kernel:
        steps.append(_time_kernel())
    return steps


def _time_kernel() -> Step:
    """Start a real grading kernel and run one cell importing what the notebooks import."""
    from autograder.execute import KernelStartError, execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy, matplotlib.pyplot, course.layers, course.gradcheck")])
    seconds = []  # the first kernel also starts the fork server, when there is one
    for _ in range(2):
        with tempfile.TemporaryDirectory(prefix="autograder-doctor-") as tmp:
            started = time.monotonic()
            try:
                outcome = execute(nb, Path(tmp), timeout=120)[0]
            except KernelStartError as e:
                return Step("kernel start", False, f"a grading kernel could not start: {e}")
        seconds.append(time.monotonic() - started)
        if outcome.status != "ok":
            return Step("kernel start", False, f"a grading kernel started but could not import the course: "
                                               f"{outcome.ename}: {outcome.evalue}")
    how = "forked warm by the fork server" if sandbox.fork_server() else "started cold"
    return Step("kernel start", True, f"{seconds[1]:.2f} s to start a kernel and import numpy, matplotlib, course "
                                      f"({how}; the first took {seconds[0]:.2f} s)")


def _preflight(assignment: str | None, source: Path) -> Step:
    from autograder import preflight
    from autograder.executors import LocalPool
    from autograder.grading import Options
    from autograder.nbgrader_glue import assignment_ids

    aids = assignment_ids(source)
    aid = assignment or (aids[0] if aids else None)
    if aid not in aids:
        return Step("preflight", False, f"no assignment {aid!r} in {source}")
    path = sorted((source / aid).glob("*.ipynb"))[0]
    sources = {(aid, path.stem): nbformat.read(path, as_version=4)}
    try:
        found = preflight.run(LocalPool(1), sources, Options(), progress=False)
    except GraderError as e:
        return Step("preflight", False, str(e).replace("\n", " "))
    rows = found.results[0].rows
    return Step("preflight", True, f"{aid}/{path.stem}: the answer key earns {sum(r.score for r in rows):g} / "
                                   f"{sum(r.max_score for r in rows):g} in {found.seconds:.1f} s")


def run(assignment: str | None = None, source: Path = ASSIGNMENTS) -> int:
    """Print the doctor's screen; 0 when grading will work here, 1 when not."""
    steps = kernel_steps()
    if all(s.ok for s in steps):
        steps.append(_preflight(assignment, Path(source).resolve()))
    ok = all(s.ok for s in steps)
    warned = any(s.warning for s in steps)
    print(f"Can this machine grade? {'yes' if ok and not warned else 'yes, but see the warning' if ok else 'NO'}\n")
    for s in steps:
        mark = "ok  " if s.ok and not s.warning else "WARN" if s.ok else "FAIL"
        print(f"  {mark}  {s.name:<19} {s.detail}")
    env = kernel_env.location()
    if ok:
        versions = kernel_env.ensure().versions
        print("\nkernels can import (their own environment, nothing of the grader's): "
              + ", ".join(f"{k} {v}" for k, v in sorted(versions.items(), key=lambda kv: kv[0].lower())))
        print(f"(in {env}; to give kernels more packages, set {kernel_env.PACKAGES_VAR}='pkg1 pkg2': "
              "a new environment is built on first use)")
    return 0 if ok else 1
