"""The two pages the grader writes, opened in a real browser: the instructor's report and a
student's feedback.

Headless Chromium is Debian's (`/usr/bin/chromium`, installed by ./install.sh), driven by
playwright's Python API; `playwright install` (which downloads a browser) is never needed.
Pages are opened from disk as file:// URLs, as an instructor or a student would open them,
and nothing may be fetched from the network: every request must be file:// or data:.
The class is the session's `tiny_class` (17 synthetic students graded by the CLI).
"""

from __future__ import annotations

import csv
import socket
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from autograder.feedback import write_feedback
from autograder.model import NotebookResult, Row, Status, Task
from autograder.paths import SOLUTIONS
from tests.autograder.tiny import AID, NB

CHROMIUM = Path("/usr/bin/chromium")
# as root, with no network: no sandbox (root), no GPU, and nothing that calls Google
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
INSTALL = "run ./install.sh (it installs Debian's chromium and the playwright package)"
# what only a hidden test holds (tests/autograder/tiny.py): its markers, its messages, its inputs
HIDDEN_MARKERS = ["HIDDEN TESTS", "hidden:", "double(-1.5)", "square(-4)"]

# every <img>: decoded, and its displayed box
_IMAGES_JS = """() => Array.from(document.images).map(img => {
  const r = img.getBoundingClientRect(), s = getComputedStyle(img);
  return {src: img.src.slice(0, 40), complete: img.complete, naturalWidth: img.naturalWidth,
          width: r.width, height: r.height, right: r.right,
          shown: s.display !== 'none' && s.visibility !== 'hidden'};
})"""
# every inline SVG plot: its box, whether it is shown, and its bars' hover texts
_PLOTS_JS = """() => Array.from(document.querySelectorAll('svg.plot')).map(svg => {
  const r = svg.getBoundingClientRect(), s = getComputedStyle(svg);
  return {label: svg.getAttribute('aria-label'), width: r.width, height: r.height, right: r.right,
          shown: s.display !== 'none' && s.visibility !== 'hidden',
          bars: Array.from(svg.querySelectorAll('rect.bar')).map(b => ({
            text: b.querySelector('title').textContent, width: b.getBoundingClientRect().width,
            height: b.getBoundingClientRect().height}))};
})"""
# a table's displayed cells, row by row, found by the heading right before it
_TABLE_AFTER_JS = """(heading) => {
  const h = Array.from(document.querySelectorAll('h2, h3')).find(e => e.innerText.trim() === heading);
  const t = h && h.nextElementSibling;
  if (!t || t.tagName !== 'TABLE') return null;
  return Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()));
}"""

# every <math>: its box, and for each fraction whether its numerator is drawn above its denominator
_MATH_JS = """() => Array.from(document.querySelectorAll('math')).map(m => {
  const r = m.getBoundingClientRect();
  const fractions = Array.from(m.querySelectorAll('mfrac')).map(f => {
    const [num, den] = Array.from(f.children).map(c => c.getBoundingClientRect());
    return num && den ? num.bottom <= den.top + 1 : false;
  });
  return {display: m.getAttribute('display'), width: r.width, height: r.height,
          text: m.textContent.slice(0, 40), fractions};
})"""


class Tab:
    """A browser tab (1280 px wide) that records what went wrong while its page loaded."""

    def __init__(self, context):
        self.page = context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("requestfailed", lambda req: self.problems.append(
            f"request failed: {_short(req.url)} {req.failure}"))
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: msg.type in ("error", "warning")
                     and self.problems.append(f"console {msg.type}: {msg.text}"))

    def open(self, path: Path) -> Tab:
        """Load a file (as a file:// URL) in this tab, forgetting the previous page's record."""
        self.requests.clear()
        self.problems.clear()
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        return self

    def network_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def images(self) -> list[dict]:
        return self.page.evaluate(_IMAGES_JS)

    def plots(self) -> list[dict]:
        return self.page.evaluate(_PLOTS_JS)

    def image_problems(self) -> list[str]:
        bad = []
        for img in self.images():
            if not (img["complete"] and img["naturalWidth"] > 0):
                bad.append(f"not decoded: {img}")
            elif not (img["shown"] and img["width"] > 0 and img["height"] > 0):
                bad.append(f"not displayed: {img}")
        return bad

    def overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
        width = self.page.evaluate("() => document.scrollingElement.scrollWidth")
        return max(0, width - self.page.viewport_size["width"])

    def text(self) -> str:
        """What a reader sees: the rendered text (innerText skips <script>, <style>, hidden parts)."""
        return self.page.evaluate("() => document.body.innerText")


def _short(url: str) -> str:
    return url[:60] + "..." if url.startswith("data:") else url


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; a clear failure (not a skip) when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"the playwright Python package is missing: {INSTALL}", pytrace=False)
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS)
        except Exception as exc:  # any launch failure is an install problem
            pytest.fail(f"Chromium did not start ({exc}): {INSTALL}", pytrace=False)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture(scope="module")
def report(tiny_class, context) -> Tab:
    """The class's report, loaded once for the module's report tests (none of them changes it)."""
    return Tab(context).open(tiny_class.out / "report.html")


def _grades(tiny_class) -> list[dict]:
    with (tiny_class.out / "grades.csv").open() as f:
        return list(csv.DictReader(f))


def test_report_loads_from_disk_with_nothing_failing_or_fetched(report):
    """Does the report open from disk with no console error and no request off the machine?"""
    assert report.problems == []
    assert report.requests and report.requests[0].startswith("file:")
    assert report.network_requests() == []


def test_report_plots_are_drawn_and_count_the_class(tiny_class, report):
    """Are the plots (a score histogram per question, statuses per question) on screen, and do
    their bars count what grades.csv says?"""
    rows = _grades(tiny_class)
    questions = sorted({(r["assignment"], r["question"]) for r in rows})
    plots = report.plots()
    assert len(plots) == len(questions) + 1, [p["label"] for p in plots]
    assert all(p["shown"] and p["width"] > 100 and p["height"] > 100 for p in plots), plots
    for plot, (aid, question) in zip(plots, questions):
        counted = sum(int(b["text"].split()[0]) for b in plot["bars"])
        assert plot["label"] == f"scores of {aid} {question}" and counted == len(tiny_class.roster)
        assert all(b["height"] > 0 for b in plot["bars"])
    statuses = plots[-1]
    shown = Counter()
    for bar in statuses["bars"]:  # "00_tiny / test_q: 3 failed"
        label, _, what = bar["text"].rpartition(": ")
        count, status = what.split(" ", 1)
        shown[label.split(" / ")[1], status] += int(count)
        assert bar["width"] > 0
    assert shown == Counter((r["question"], r["status"]) for r in rows)
    assert report.image_problems() == []


def test_report_headings_and_tables_show_the_class(tiny_class, report):
    """Does the report show its title, the statuses of every question and every student?"""
    page = report.page
    assert page.title() == "Grading report"
    assert page.locator("h1").inner_text() == "Grading report"
    headings = [h.strip() for h in page.locator("h2").all_inner_texts()]
    for heading in ("Statuses", "Questions", "Students", "Slowest submissions"):
        assert heading in headings

    rows = _grades(tiny_class)
    statuses = page.evaluate(_TABLE_AFTER_JS, "Statuses")
    assert statuses is not None, "no table under the Statuses heading"
    assert statuses[0] == ["status", "questions"]
    counts = Counter(r["status"] for r in rows)
    assert {s: int(n) for s, n in statuses[1:]} == {str(s): counts.get(s, 0) for s in Status}

    students = page.evaluate(_TABLE_AFTER_JS, "Students")
    assert students is not None, "no table under the Students heading"
    assert students[0][:2] == ["student", AID]
    assert len(tiny_class.roster) == 17
    assert [r[0] for r in students[1:]] == sorted(s.sid for s in tiny_class.roster)
    totals = Counter()
    for r in rows:
        totals[r["student"]] += float(r["score"])
    assert {r[0]: float(r[students[0].index("total")]) for r in students[1:]} == totals


def test_report_fits_a_1280px_window_and_is_saved_as_a_screenshot(report, tmp_path):
    """Is the report free of horizontal scrolling at 1280 px, plots included? (screenshot kept)

    The page's column is at most 72rem wide and centered, and its tables are narrow (at most
    five columns of short cells), so nothing should be wider than the window: not the page
    (document.scrollingElement.scrollWidth), nor any plot's right edge.
    """
    assert report.overflow() == 0
    for plot in report.plots():
        assert plot["right"] <= VIEWPORT["width"], plot
    shot = tmp_path / "report.png"
    report.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height = report.page.evaluate("() => document.scrollingElement.scrollHeight")
    assert height > VIEWPORT["height"], "a class of 17 takes more than one screen"


def test_feedback_pages_show_the_score_and_no_hidden_test(tiny_class, context):
    """Does every student's feedback render with its score, and show no hidden test on screen?"""
    rows = _grades(tiny_class)
    tab = Tab(context)
    for student in sorted(s.sid for s in tiny_class.roster):
        mine = [r for r in rows if r["student"] == student]
        score = sum(float(r["score"]) for r in mine)
        possible = sum(float(r["max_score"]) for r in mine)
        tab.open(tiny_class.out / "feedback" / student / AID / f"{NB}.html")
        assert tab.problems == [], student
        assert tab.network_requests() == [], student
        assert tab.image_problems() == [], student
        assert tab.overflow() == 0, student
        text = tab.text()
        assert f"Score: {score:g} / {possible:g}" in text, (student, text[:300])
        for marker in HIDDEN_MARKERS:
            assert marker not in text, (student, marker)
        if all(r["status"] not in ("missing", "invalid") for r in mine):
            # the graded notebook is shown: its visible checks are there, its hidden ones are not
            assert "assert double(3) == 6" in text, (student, text[:300])
    tab.page.close()


def test_feedback_markdown_is_rendered_not_shown_as_tags(tiny_class, context):
    """Does a markdown cell of the notebook (the tiny one's "# Tiny") reach the student as a
    heading, rather than as the text '<h1 id="Tiny">Tiny</h1>'?"""
    tab = Tab(context).open(tiny_class.out / "feedback" / "perfect_1" / AID / f"{NB}.html")
    try:
        text = tab.text()
        assert "Tiny" in text
        assert "<h1" not in text and "</h1>" not in text, text[:400]
        headings = tab.page.locator(".markdown h1").all_inner_texts()
        assert [h.replace("¶", "").strip() for h in headings] == ["Tiny"]
    finally:
        tab.page.close()


def test_the_checks_catch_a_broken_page(context, tmp_path):
    """Would these checks fail on a page with a broken plot, a console error, a request off the
    machine, a too-wide element and a formula not drawn as math? (each check must be able to fail)"""
    with socket.socket() as closed:  # a loopback port that refuses connections: bound, not listening
        closed.bind(("127.0.0.1", 0))
        remote = f"http://127.0.0.1:{closed.getsockname()[1]}/plot.png"
        page = tmp_path / "broken.html"
        page.write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>broken</title></head><body>"
            "<img alt='corrupt' src='data:image/png;base64,iVBORw0KGgoAAAAA'>"
            "<img alt='absent' src='absent.png'>"
            "<img alt='hidden' style='display:none' src='data:image/gif;base64,"
            "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=='>"
            f"<img alt='remote' src='{remote}'>"
            "<div style='width: 2000px'>wide</div>"
            "<script>console.error('boom')</script></body></html>",
            encoding="utf-8",
        )
        broken = Tab(context).open(page)
        assert broken.network_requests() == [remote]
        assert any(p.startswith("console error: boom") for p in broken.problems), broken.problems
        assert any(p.startswith("request failed:") and p.endswith("absent.png net::ERR_FILE_NOT_FOUND")
                   for p in broken.problems), broken.problems
        assert any(remote in p for p in broken.problems), broken.problems
        image_problems = broken.image_problems()
        assert len(image_problems) == 4, image_problems
        assert sum(p.startswith("not displayed") for p in image_problems) == 1, image_problems
        assert broken.overflow() > 0
        # a formula as a browser without MathML would show it (unknown inline elements): its
        # fraction's parts side by side
        broken.page.evaluate("""() => {
          const m = document.createElement('math'), f = document.createElement('mfrac');
          for (const t of ['a', 'b']) { const i = document.createElement('mi'); i.textContent = t; f.append(i); }
          m.append(f); document.body.append(m); }""")
        assert broken.page.evaluate(_MATH_JS)[-1]["fractions"] == [False]
        broken.page.close()



def test_feedback_math_is_rendered_as_math(context, tmp_path):
    """Are the formulas of a course notebook (02_layers, its answer key with outputs) drawn as
    math in a feedback page, offline: every <math> element has a size, every fraction has its
    numerator above its denominator (text would put them side by side), and no LaTeX source
    ($, \\frac) is left on screen?"""
    nb = nbformat.read(SOLUTIONS / "02_layers" / "layers.ipynb", as_version=4)
    task = Task("alice", "02_layers", "layers", None)
    res = NotebookResult(task, [Row("alice", "02_layers", "layers", "test_affine_backward", 3.0, 3.0, "ok", "")],
                         graded=nb)
    tab = Tab(context).open(write_feedback(tmp_path, res))
    try:
        assert tab.problems == [] and tab.network_requests() == []
        maths = tab.page.evaluate(_MATH_JS)
        assert len(maths) > 20, maths
        assert {m["display"] for m in maths} == {"inline", "block"}
        empty = [m for m in maths if not (m["width"] > 0 and m["height"] > 0)]
        assert not empty, empty
        fractions = [ok for m in maths for ok in m["fractions"]]
        assert fractions and all(fractions), [m for m in maths if not all(m["fractions"])]
        text = tab.text()
        assert "\\frac" not in text and "$$" not in text
        assert not [line for line in text.splitlines() if line.count("$") >= 2], "LaTeX left as text"
        tab.page.locator("math[display=block]").first.scroll_into_view_if_needed()
        tab.page.screenshot(path=str(tmp_path / "math.png"))  # the first formula shown on its own line
    finally:
        tab.page.close()
