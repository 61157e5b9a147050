"""The student's path in a real JupyterLab: a release notebook run in the browser.

The test releases notebook 02, starts `jupyter lab` in the release folder (loopback only, a
token, a free port, no browser of its own, settings and workspaces in the test's folder) with
the kernel this project's `course` is importable in, and drives it in Debian's Chromium
through playwright (`executable_path`, as the page tests do; nothing leaves the machine:
any request to another host is refused and recorded). It opens the notebook, runs all
cells, reads the first check's line on screen ("not written yet"), then writes a wrong
`affine_backward` (zeros of the right shapes) into the exercise cell, runs it and its check,
and reads the check's NOT YET line. Screenshots are kept in the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

import course
from autograder.release import release
from tests.autograder.test_pages_in_browser import CHROMIUM, CHROMIUM_ARGS, INSTALL, VIEWPORT

pytestmark = pytest.mark.slow

AID, NB = "02_layers", "layers"
#: the folder holding the `course` package: the kernel imports this checkout's course from it
PROJECT = Path(course.__file__).resolve().parent.parent
WRONG = '''def affine_backward(dout, cache):
    """Wrong on purpose: zeros of the right shapes."""
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)'''
#: longest wait for one step (a kernel to start, a cell to run): seconds when idle, far more when
#: the other xdist worker loads this 2-core machine
WAIT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_lab(folder: Path, home: Path, port: int, token: str) -> subprocess.Popen:
    """`jupyter lab` serving folder on 127.0.0.1:port, its state under home, in a session of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    })
    env.pop("COURSE_CHECK_RUNNING", None)  # a student's kernel: the notebook's own check cell works
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "would you like to receive Jupyter news?" toast over the notebook
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    args = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
        f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with (home / "lab.log").open("w") as log:  # the server keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _api(port: int, token: str, path: str, method: str = "GET") -> bytes:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read()


def _wait_until_serving(proc: subprocess.Popen, port: int, token: str, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            _api(port, token, "/api/status")
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer on port {port} in {seconds} s:\n{log.read_text()[-3000:]}")


def _stop_lab(proc: subprocess.Popen, port: int, token: str) -> None:
    """Shut the server down (its kernels with it), then make sure its process group is gone."""
    with contextlib.suppress(OSError):
        _api(port, token, "/api/shutdown", method="POST")
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with contextlib.suppress(ProcessLookupError):  # a kernel left behind in the server's own session
        os.killpg(proc.pid, signal.SIGKILL)


def _cell(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _output_lines(cell) -> list[str]:
    """The lines of a cell's output as shown: scrolled into view (JupyterLab renders cells off
    screen lazily) and read as rendered text."""
    cell.scroll_into_view_if_needed()
    output = cell.locator(".jp-OutputArea")
    output.wait_for(state="visible")
    for _ in range(50):  # the browser lays the cell out in the next frames
        text = output.inner_text()
        if text.strip():
            break
        cell.page.wait_for_timeout(100)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def _prompt(page, index: int) -> str:
    """A cell's prompt as JupyterLab has it ("[ ]:", "[*]:", "[7]:"), on screen or not."""
    return _cell(page, index).locator(".jp-InputPrompt").text_content().strip()


def _wait_ran(page, index: int, before: str = "") -> None:
    """Until cell `index` has run (a number in its prompt, another than `before`'s) and no cell
    is queued or running any more."""
    page.wait_for_function(
        """([i, before]) => {
             const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
             const prompt = cells[i] && cells[i].querySelector('.jp-InputPrompt');
             const mine = prompt ? prompt.textContent.trim() : '';
             const busy = Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));
             return /^\\[\\d+\\]:$/.test(mine) && mine !== before && !busy;
           }""", arg=[index, before], timeout=WAIT_MS)


def _wait_kernel_ready(page, port: int, token: str) -> None:
    """Until the notebook's kernel is idle and this page is connected to it: the server counts
    the page's websocket, and the status bar says Idle (cells run before that are dropped)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        kernels = json.loads(_api(port, token, "/api/kernels"))
        if any(k["execution_state"] == "idle" and k["connections"] >= 1 for k in kernels):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the notebook's kernel was not ready in {WAIT_MS / 1000:.0f} s: {kernels}")
        page.wait_for_timeout(300)  # not time.sleep: playwright answers the page's routed requests meanwhile
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))"
        ".some(e => / \\| Idle$/.test(e.textContent.trim()))", timeout=WAIT_MS)


def _work_as_a_student(page, port: int, token: str, folder: Path, shots: Path) -> tuple[list[str], list[str]]:
    """Open the notebook, Run All, read the first check; write a wrong affine_backward, run it
    and its check, read that check. Returns the two checks' lines as shown."""
    import nbformat

    ids = [c.metadata.get("nbgrader", {}).get("grade_id")
           for c in nbformat.read(folder / AID / f"{NB}.ipynb", as_version=4).cells]
    answer, test = ids.index("affine_backward"), ids.index("test_affine_backward")
    first_check = next(i for i, g in enumerate(ids) if g and g.startswith("test_"))

    page.goto(f"http://127.0.0.1:{port}/lab/tree/{AID}/{NB}.ipynb?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=WAIT_MS)
    _wait_kernel_ready(page, port, token)
    _menu(page, "Run", "Run All Cells")
    _wait_ran(page, first_check)  # Run All stops there: the check raised
    first = _output_lines(_cell(page, first_check))
    page.screenshot(path=str(shots / "run-all.png"))

    # the student writes a wrong answer into the exercise cell and runs it, then its check
    _cell(page, answer).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(WRONG)
    before = _prompt(page, answer), _prompt(page, test)
    page.keyboard.press("Shift+Enter")  # runs the exercise cell, selects the check
    _wait_ran(page, answer, before[0])
    page.keyboard.press("Shift+Enter")  # runs the check
    _wait_ran(page, test, before[1])
    assert _cell(page, answer).locator(".cm-content").inner_text().strip() == WRONG
    second = _output_lines(_cell(page, test))
    page.screenshot(path=str(shots / "not-yet.png"))
    return first, second


def test_a_student_runs_notebook_02_in_jupyterlab_and_reads_the_checks(tmp_path):
    """In JupyterLab, does Run All on the fresh release show the first check's "not written yet"
    line, and does a wrong affine_backward, once run, make its check say NOT YET on screen?"""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL}", pytrace=False)
    from playwright.sync_api import sync_playwright

    release(tmp_path, [AID])
    folder, home = tmp_path / "release", tmp_path / "lab"
    home.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    started = time.monotonic()
    proc = _start_lab(folder, home, port, token)
    off_machine: list[str] = []

    def only_loopback(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        off_machine.append(route.request.url)
        return route.abort()

    try:
        _wait_until_serving(proc, port, token, home / "lab.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT)
                context.route("**/*", only_loopback)
                page = context.new_page()
                try:
                    first, second = _work_as_a_student(page, port, token, folder, tmp_path)
                except BaseException:  # pytest.fail's too: what was on screen, for the reader
                    page.screenshot(path=str(tmp_path / "failed.png"))
                    raise
            finally:
                browser.close()
    finally:
        _stop_lab(proc, port, token)
    seconds = time.monotonic() - started

    assert first == ["not written yet: write affine_backward in its exercise cell above, "
                     "run that cell, then this one"], first
    verdicts = [line for line in second if line.startswith(("NOT YET", "OK", "not written yet"))]
    assert verdicts and verdicts[0].startswith("NOT YET: "), second
    assert re.search(r"\bd[xwb]\b", verdicts[0]), verdicts  # it says which gradient to look at
    assert not [line for line in second if "Traceback" in line or "gradcheck.py" in line], second
    assert off_machine == [], f"JupyterLab asked for pages off this machine: {off_machine}"
    assert (tmp_path / "not-yet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seconds < 90, f"the JupyterLab session took {seconds:.0f} s"
