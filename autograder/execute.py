"""Run a notebook cell by cell in a Jupyter kernel, surviving what a submission can do to it.

nbgrader runs a submission in one go: a kernel death loses every grade of the notebook.
Here each code cell's fate is recorded on its own (ok, error, timeout, crashed). After a
timeout or a kernel death the kernel is restarted, the cells that had run fine before
(answers, setup, but not tests) are replayed to rebuild the state, and execution goes on
with the next cell, so only the question that broke is lost.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode, from_dict

from autograder import sandbox

#: Defaults, overridable per run (`grade --timeout`, ...).
CELL_TIMEOUT = 60  # seconds per cell
MEMORY_LIMIT = sandbox.Limits.memory  # bytes of address space for the kernel
DISK_LIMIT = sandbox.Limits.workdir_size  # bytes the kernel may write in its working folder, in all
OUTPUT_LIMIT = 100_000  # characters of output kept per cell


class KernelStartError(RuntimeError):
    """A kernel could not be started: the grader's environment is at fault, not the submission."""


@dataclass
class CellOutcome:
    """What happened to one code cell."""

    status: str  # ok | error | timeout | crashed | skipped
    seconds: float = 0.0
    ename: str = ""
    evalue: str = ""


def _multiline(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


#: The MIME types whose value may be any JSON (nbformat's schema); the others hold text.
_JSON_TYPE = re.compile(r"^application/(.*\+)?json$")


def _bundle_ok(data) -> bool:
    """A MIME bundle as nbformat allows it: text (or lines of it) per type, any JSON for a JSON type."""
    return isinstance(data, dict) and all(
        isinstance(k, str) and (_JSON_TYPE.match(k) or _multiline(v)) for k, v in data.items())


def output_from_msg(msg: dict) -> NotebookNode:
    """The output of an IOPub message, as `nbformat.v4.output_from_msg` makes it, without its
    schema validation (a tenth of a worker's time, on messages the kernel made anyway), and one
    a notebook can hold whatever the kernel sent: a malformed one becomes a note on stderr (a
    submission's ``display({"text/plain": 5}, raw=True)`` raised in the grader, and lost the
    notebook's grades). Raises ValueError for a message that is not an output."""
    kind, content = msg["header"]["msg_type"], msg.get("content") or {}
    if kind in ("display_data", "execute_result"):
        data, metadata = content.get("data"), content.get("metadata", {})
        count = content.get("execution_count")
        if _bundle_ok(data) and isinstance(metadata, dict) and (kind == "display_data" or isinstance(count, (int, type(None)))):
            out = NotebookNode(output_type=kind, data=from_dict(data), metadata=from_dict(metadata))
            if kind == "execute_result":
                out.execution_count = count
            return out
    elif kind == "stream":
        if content.get("name") in ("stdout", "stderr") and isinstance(content.get("text"), str):
            return NotebookNode(output_type=kind, name=content["name"], text=content["text"])
    elif kind == "error":
        ename, evalue, traceback = content.get("ename"), content.get("evalue"), content.get("traceback")
        if isinstance(ename, str) and isinstance(evalue, str) and _multiline(traceback) and isinstance(traceback, list):
            return NotebookNode(output_type=kind, ename=ename, evalue=evalue, traceback=traceback)
    else:
        raise ValueError(f"not an output message: {kind!r}")
    return NotebookNode(output_type="stream", name="stderr", text=f"[a {kind} output the grader could not read was dropped]\n")


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most OUTPUT_LIMIT characters of output per cell, and
    makes outputs with `output_from_msg`."""

    def __init__(self, nb, output_limit=OUTPUT_LIMIT, keep_whole="", **kw):
        super().__init__(nb, **kw)
        self._output_limit = output_limit
        self.keep_whole = keep_whole or "\0"  # a MIME type whose outputs are never cut
        self._output_sizes: dict[int, int] = {}
        self.last_reply: dict = {}
        # The reply's status is the truth: when the kernel cannot even format a traceback
        # (out of memory), an error leaves no error output behind.
        self.on_cell_executed = self._keep_reply

    def _keep_reply(self, cell, cell_index, execute_reply):
        self.last_reply = execute_reply or {}

    def output(self, outs, msg, display_id, cell_index):
        data = msg.get("content", {}).get("data")
        if not (isinstance(data, dict) and self.keep_whole in data):  # the grader's own are never cut
            size = len(str(msg.get("content", "")))
            used = self._output_sizes.get(cell_index, 0)
            self._output_sizes[cell_index] = used + size
            if used + size > self._output_limit and msg["msg_type"] != "error":
                if used <= self._output_limit:  # note the cut once
                    note = f"\n[output cut: this cell printed more than {self._output_limit:,} characters]\n"
                    outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
                return None
        # nbclient's own, with this module's output_from_msg
        parent = msg["parent_header"].get("msg_id")
        if self.output_hook_stack[parent]:  # a widget's output hook takes it instead
            self.output_hook_stack[parent][-1].output(outs, msg, display_id, cell_index)
            return None
        try:
            out = output_from_msg(msg)
        except ValueError:
            return None
        if self.clear_before_next_output:
            self._clear(outs, cell_index)
            self.clear_before_next_output = False
        if display_id:
            self._display_id_map.setdefault(display_id, {}).setdefault(cell_index, []).append(len(outs))
        outs.append(out)
        return out

    def clear_output(self, outs, msg, cell_index):
        # nbclient's own, with `_clear`
        parent = msg["parent_header"].get("msg_id")
        if self.output_hook_stack[parent]:  # a widget's output hook takes it instead
            self.output_hook_stack[parent][-1].clear_output(outs, msg, cell_index)
        elif msg["content"].get("wait"):
            self.clear_before_next_output = True
        else:
            self._clear(outs, cell_index)

    def _clear(self, outs, cell_index):
        # a cell's clear_output() takes its outputs, never the grader's own (a harness's answers)
        outs[:] = [o for o in outs if self.keep_whole in (o.get("data") or {})]
        self.clear_display_id_mapping(cell_index)

    def _update_display_id(self, display_id, msg):
        # nbclient's own, with this module's output_from_msg
        if display_id not in self._display_id_map:
            return
        if msg["header"]["msg_type"] == "update_display_data":
            msg["header"]["msg_type"] = "display_data"
        try:
            out = output_from_msg(msg)
        except ValueError:
            return
        for cell_idx, output_indices in self._display_id_map[display_id].items():
            outputs = self.nb["cells"][cell_idx]["outputs"]
            for output_idx in output_indices:
                if outputs[output_idx].get("output_type") in ("display_data", "execute_result") and "data" in out:
                    outputs[output_idx]["data"] = out["data"]
                    outputs[output_idx]["metadata"] = out["metadata"]


def _limits_line(memory_limit: int) -> str:
    # Runs in the kernel before any cell: an address-space cap makes a memory bomb raise
    # MemoryError or kill only this kernel, not the machine.
    return (
        "import resource as _r; "
        f"_r.setrlimit(_r.RLIMIT_AS, ({memory_limit}, {memory_limit})); del _r"
    )


class _Kernel:
    """One kernel at a time for a notebook, restartable."""

    def __init__(self, nb, cwd: Path, timeout: int, limits: sandbox.Limits, output_limit: int, keep_whole: str = ""):
        self.client = _CappedClient(
            nb,
            output_limit=output_limit,
            keep_whole=keep_whole,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            record_timing=False,
            shutdown_kernel="immediate",
            extra_arguments=[f"--InteractiveShellApp.exec_lines={_limits_line(limits.memory)}",
                             # a one-line traceback: formatting a deep one (a RecursionError's
                             # thousand frames) can take longer than the cell's timeout
                             "--InteractiveShell.xmode=Minimal"],
            resources={"metadata": {"path": str(cwd)}},
        )
        self.cwd = cwd
        self.limits = limits
        self.running = False

    def start(self, warm: bool = True):
        # sandboxed (bubblewrap, own uid, limits, no network) unless unavailable: see sandbox.py
        self.client.km = km = sandbox.kernel_manager(self.cwd, self.limits, warm=warm)
        try:
            # the kernel's own log lines (transport warnings, crashes) are not for the student
            self.client.start_new_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.client.start_new_kernel_client()
        except Exception as e:  # a kernel that cannot start is the grader's failure
            why = getattr(km, "warm_failure", lambda: None)()
            with contextlib.suppress(Exception):
                self.client._cleanup_kernel()
            if why is not None:  # forked warm: a cold start does not depend on the fork server
                print(f"autograder: a warm kernel did not start ({type(e).__name__}: {e}; {why[-1500:]}); "
                      "starting it cold", file=sys.stderr, flush=True)
                return self.start(warm=False)
            raise KernelStartError(f"{type(e).__name__}: {e}") from e
        self.client.reset_execution_trackers()
        self.running = True

    def stop(self):
        if self.running:
            self.running = False
            with contextlib.suppress(Exception):  # a kernel that is already gone is fine
                self.client._cleanup_kernel()

    def run(self, cell: NotebookNode, index: int, timeout: float | None = None) -> CellOutcome:
        start = time.monotonic()
        self.client.last_reply = {}
        # nbclient's timeout is whole seconds
        default, self.client.timeout = self.client.timeout, math.ceil(timeout) if timeout else self.client.timeout
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return CellOutcome("timeout", time.monotonic() - start)
        except DeadKernelError:
            return CellOutcome("crashed", time.monotonic() - start)
        finally:
            self.client.timeout = default
        elapsed = time.monotonic() - start
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return CellOutcome("error", elapsed, out.get("ename", ""), out.get("evalue", ""))
        reply = self.client.last_reply.get("content", {})
        if reply.get("status", "ok") != "ok":
            return CellOutcome("error", elapsed, reply.get("ename", "Error"), reply.get("evalue", ""))
        return CellOutcome("ok", elapsed)


#: Errors after which the kernel's state is not to be trusted: the memory a hog took may
#: still be held (by the traceback's frames, or a global), and the next question would fail
#: for it. The kernel is restarted and the good cells replayed before the next cell.
SPOILING_ERRORS = ("MemoryError",)


def execute(
    nb: NotebookNode,
    cwd: Path,
    *,
    replayable=lambda cell: True,
    timeout: int = CELL_TIMEOUT,
    timeout_for=lambda index, outcomes: None,
    limits: sandbox.Limits | None = None,
    output_limit: int = OUTPUT_LIMIT,
    keep_whole: str = "",
    then=lambda outcomes: [],
) -> dict[int, CellOutcome]:
    """Execute the code cells of nb in order, in place; returns each code cell's outcome.

    Every cell runs in a clean state: after a cell that timed out, killed the kernel or ran
    out of memory, the kernel is restarted and the cells that had run fine are replayed
    (those `replayable` says may be: answers and setup, not tests), so what one question
    did never costs another, and grading the same notebook twice gives the same outcomes.
    If the state cannot be rebuilt (a replayed cell now hangs or kills the kernel), the
    remaining cells are "skipped".

    replayable(cell) tells which cells that ran fine may be run again after a restart.
    timeout_for(index, outcomes so far): a cell's own timeout in seconds, or None for `timeout`.
    limits: the kernel's resource limits (memory, what it may write, ...; see `sandbox.Limits`).
    keep_whole: a MIME type whose outputs are the grader's (answers of a harness): never cut.
    then(outcomes so far): once every cell has run, more cells to append to nb and run in the
    same kernel (what to check next, decided from what the last ones did); [] to finish.

    Raises KernelStartError when a kernel cannot be started at all: that is the grader's
    failure (its environment, its sandbox), never a student's.
    """
    outcomes: dict[int, CellOutcome] = {}
    kernel = _Kernel(nb, cwd, timeout, limits or sandbox.Limits(memory=MEMORY_LIMIT), output_limit, keep_whole)
    good: list[int] = []  # cells to replay after a restart

    def restart() -> None:
        """A fresh kernel with the good cells replayed; stopped if the state cannot be rebuilt."""
        kernel.stop()
        kernel.start()
        for j in good:
            replay = kernel.run(copy.deepcopy(nb.cells[j]), j)
            if replay.status in ("timeout", "crashed"):
                kernel.stop()  # the state cannot be rebuilt: give up on the rest
                return

    try:
        kernel.start()
        first = 0  # of the cells not run yet
        while True:
            for i, cell in enumerate(nb.cells[first:], start=first):
                if cell.cell_type != "code":
                    continue
                if not kernel.running:
                    outcomes[i] = CellOutcome("skipped")
                    continue
                outcome = outcomes[i] = kernel.run(cell, i, timeout_for(i, outcomes))
                if outcome.status == "ok" and replayable(cell):
                    good.append(i)
                elif outcome.status in ("timeout", "crashed") or outcome.ename in SPOILING_ERRORS:
                    restart()
            more = then(outcomes)
            if not more:
                break
            first = len(nb.cells)
            nb.cells.extend(more)
    finally:
        kernel.stop()
    return outcomes
