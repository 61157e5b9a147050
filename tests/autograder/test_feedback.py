"""The feedback page's HTML: the course's own markdown rendered, untrusted outputs defused."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.feedback import write_feedback
from autograder.model import NotebookResult, Row, Task
from autograder.render import clean_html

ATTACK = (
    "<script>alert(1)</script><b onclick='steal()'>bold</b>"
    "<img src='http://127.0.0.1:9/track.png'><img src='data:image/svg+xml;base64,PHN2Zz4='>"
    "<img alt='plot' src='data:image/png;base64,iVBORw0KGgo='>"
    "<a href='javascript:steal()'>js</a><a href='data:text/html,x'>data</a><a href='https://example.org'>web</a>"
    "<p style='color: red; position: fixed'>styled</p><iframe src='https://example.org'></iframe>"
)


def page(tmp_path, cells) -> str:
    task = Task("alice", "00_tiny", "tiny", None)
    res = NotebookResult(task, [Row("alice", "00_tiny", "tiny", "test_q", 1.0, 1.0, "ok", "")],
                         graded=new_notebook(cells=cells))
    return write_feedback(tmp_path, res).read_text()


def test_markdown_reaches_the_student_as_headings_paragraphs_and_tables(tmp_path):
    """Are the notebook's instructions rendered (not shown as '<h1 ...>' text)?"""
    text = page(tmp_path, [new_markdown_cell("# Backward passes\n\nWrite *dx*.\n\n| a | b |\n|---|---|\n| 1 | 2 |")])
    assert "<h1>Backward passes</h1>" in text
    assert "<p>Write <em>dx</em>.</p>" in text
    assert "<th>a</th>" in text and "<td>2</td>" in text
    assert "&lt;h1" not in text and "&lt;p&gt;" not in text


def test_untrusted_html_output_is_defused(tmp_path):
    """Does a student's HTML output lose scripts, handlers, remote and svg images, and script URLs?"""
    cell = new_code_cell("display(HTML(...))", outputs=[new_output("display_data", data={"text/html": ATTACK})])
    text = page(tmp_path, [cell])
    assert "<script" not in text and "&lt;script&gt;" in text
    assert "<iframe" not in text
    assert "onclick" not in text and "javascript:" not in text
    assert "127.0.0.1:9" not in text and "image/svg" not in text and "data:text/html" not in text
    assert "position" not in text and 'style="color: red;"' in text
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in text, "an embedded png stays"
    assert '<a href="https://example.org">web</a>' in text and "<b>bold</b>" in text


def test_clean_html_takes_bytes_and_text():
    """Does the sanitizer take bytes as well as text, and escape what it does not allow?"""
    assert clean_html(b"<h2>x</h2><script>1</script>") == "<h2>x</h2>&lt;script&gt;1&lt;/script&gt;"


def test_math_is_mathml_and_its_text_is_sanitized(tmp_path):
    """Are $...$ and $$...$$ turned into MathML, with no script surviving inside a formula?"""
    text = page(tmp_path, [new_markdown_cell(
        "Inline $dW = dD\\,X^\\top$ and a price of $5 and $6.\n\n"
        "$$\n\\frac{\\partial L}{\\partial W}\n$$\n\n"
        "$\\text{<script>alert(1)</script>}$ and $\\href{javascript:alert(1)}{x}$")])
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in text
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mrow><mfrac>' in text
    assert "price of $5 and $6." in text  # dollars that are not math stay text
    assert "<script" not in text and "javascript:" not in text
    assert "$dW" not in text and "\\frac" not in text
