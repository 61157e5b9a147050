"""The Python environment grading kernels run in: what a student installs, nothing of the grader's.

A kernel started with the grader's own interpreter could import everything the instructor
installed: nbgrader, the answer key's dependencies, PyTorch or JAX for other work. A
student's backward pass could then call an autodiff library and earn the points without
deriving anything. So kernels run in a virtual environment of their own, built from the
grader's base interpreter with only the student package's requirements (the same list the
release's wheel declares, read from this project's metadata) and ipykernel. Inside the
sandbox, the base interpreter's own site-packages are hidden as well, so not even a
``sys.path`` edit reaches the grader's packages.

Where: ``$AUTOGRADER_KERNEL_ENV`` if set, else ``~/.cache/backprop-course/kernel-env-<hash>``
(the hash covers the requirements and the interpreter, so a change builds a new one).
Built by ``./install.sh`` (``python -m autograder kernel-env``) or on first use; building
takes about a minute and needs the package index once.

An instructor who wants kernels to have more packages (a plotting library a notebook of
theirs uses) lists them, space-separated pip requirements, in ``$AUTOGRADER_KERNEL_PACKAGES``.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.nbgrader_glue import GraderError

DIST = "backprop-course"
ENV_VAR = "AUTOGRADER_KERNEL_ENV"
PACKAGES_VAR = "AUTOGRADER_KERNEL_PACKAGES"
_READY = "autograder-kernel-env.json"  # written last: an environment without it is rebuilt


def _requirements(extra: str | None = None) -> list[str]:
    """This project's requirements: the core ones, or those of one extra only."""
    found = []
    for req in importlib.metadata.requires(DIST) or []:
        spec, _, marker = req.partition(";")
        if (extra is None and not marker.strip()) or (extra and f'extra == "{extra}"' in marker):
            found.append(spec.strip())
    return found


def student_requirements() -> list[str]:
    """What the student package needs (the release's wheel declares exactly these)."""
    return _requirements()


def student_extra(name: str = "jupyter") -> list[str]:
    """An extra of the student package (``jupyter``: JupyterLab and a kernel)."""
    return _requirements(name)


def kernel_requirements() -> list[str]:
    """What grading kernels get: the student package's requirements, a kernel, the allowed extras."""
    kernel = [r for r in student_extra("jupyter") if r.lower().startswith("ipykernel")] or ["ipykernel"]
    return student_requirements() + kernel + os.environ.get(PACKAGES_VAR, "").split()


def _base_python() -> str:
    """The interpreter the grader's own environment was made from (not a venv's link to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def location() -> Path:
    """Where the kernel environment is (or will be built)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).absolute()
    key = json.dumps([kernel_requirements(), _base_python()]).encode()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-{hashlib.sha256(key).hexdigest()[:10]}"
    return cache / "backprop-course" / f"kernel-env-{tag}"


@dataclass(frozen=True)
class KernelEnv:
    """A built kernel environment: its interpreter and the folders a sandbox must show it."""

    prefix: Path
    python: Path  # prefix/bin/python
    base_prefix: Path  # the interpreter's own installation (standard library)
    hidden: tuple[Path, ...]  # the base installation's site-packages: the grader's packages
    version: str  # of Python
    versions: dict  # package -> version, as the kernels see them
    mpl_cache: Path  # matplotlib's font list, built once for the kernels

    def argv(self) -> list[str]:
        """The kernel command (jupyter's kernel spec ``argv``)."""
        return [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _run(argv: list[str], what: str, **kw) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise GraderError(f"could not build the kernel environment ({what}): {tail}")
    return proc.stdout


_DESCRIBE = """
import json, sys, importlib.metadata as m
names = sorted({d.metadata["Name"] for d in m.distributions()}, key=str.lower)
print(json.dumps({"base_prefix": sys.base_prefix, "version": sys.version.split()[0],
                  "versions": {n: m.version(n) for n in names}}))
"""


def _describe(python: Path) -> dict:
    """What the environment's interpreter says of itself, and which folders hide the grader's packages."""
    info = json.loads(_run([str(python), "-I", "-c", _DESCRIBE], "describing it"))
    # the base interpreter's own package folders (where the grader's packages may live)
    listed = _run([_base_python(), "-I", "-c", "import json, site; print(json.dumps(site.getsitepackages()))"],
                  "listing the base interpreter's packages")
    info["hidden"] = [p for p in json.loads(listed) if os.path.isdir(p)]
    return info


def build(path: Path, progress=print) -> None:
    """Create the environment at path (a fresh venv, then pip), replacing what is there."""
    if path.exists():
        shutil.rmtree(path)
    progress(f"building the grading kernels' Python environment in {path} (once; about a minute)")
    path.parent.mkdir(parents=True, exist_ok=True)
    _run([_base_python(), "-m", "venv", str(path)], "python -m venv")
    python = path / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          *kernel_requirements()], "pip install")
    mpl = path / "mpl-cache"
    mpl.mkdir()
    # matplotlib's font list, built once here; each kernel would otherwise build its own
    _run([str(python), "-c", "import matplotlib.font_manager"], "matplotlib's font cache",
         env={**os.environ, "MPLCONFIGDIR": str(mpl)})
    info = _describe(python)
    info["requirements"] = kernel_requirements()
    (path / _READY).write_text(json.dumps(info, indent=1))


def built() -> bool:
    """Is the kernel environment built (so using it builds nothing)?"""
    return (location() / _READY).exists()


def ensure(progress=print) -> KernelEnv:
    """The kernel environment, built first if missing or unfinished (one builder at a time)."""
    path = location()
    ready = path / _READY
    if not ready.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker or run may be building it
            if not ready.exists():
                build(path, progress)
    return _load(path)


@functools.cache
def _load(path: Path) -> KernelEnv:
    info = json.loads((path / _READY).read_text())
    return KernelEnv(
        prefix=path, python=path / "bin" / "python", base_prefix=Path(os.path.realpath(info["base_prefix"])),
        hidden=tuple(Path(p) for p in info["hidden"]), version=info["version"], versions=info["versions"],
        mpl_cache=path / "mpl-cache",
    )
