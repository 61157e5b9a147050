"""A notebook as a page of HTML: markdown with math, highlighted code, outputs; all sanitized.

Our own small renderer instead of nbconvert's template machinery, which looks its
templates up in the jupyter data folders of ``sys.prefix`` (not found from a virtual
environment made with ``--system-site-packages``) and costs most of a feedback page's time.
Math (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) becomes MathML here, on the grader's
machine, so pages show formulas offline, with no script (browsers render MathML natively).

Everything that reaches the page passes one sanitizer with an allow-list of our own
(`clean_html`): notebooks and outputs are untrusted (a student can add cells, and print
HTML), and so is the MathML made from their LaTeX.
"""

from __future__ import annotations

import base64
import functools
import html
import re

import bleach
import mistune
from bleach.css_sanitizer import CSSSanitizer
from latex2mathml.converter import convert as latex_to_mathml
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

_MATHML_TAGS = [
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac",
    "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded",
    "mphantom", "menclose", "merror", "semantics", "annotation",
]
_MATHML_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "width", "height",
    "depth", "columnalign", "rowspacing", "columnspacing", "accent", "accentunder", "movablelimits",
    "displaystyle", "scriptlevel", "linethickness", "xmlns", "form", "minsize", "maxsize", "symmetric",
    "largeop", "notation", "columnlines", "rowlines", "frame", "align",
}
_TAGS = [
    *bleach.ALLOWED_TAGS, "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "span",
    "pre", "code", "kbd", "samp", "var", "sub", "sup", "small", "u", "s", "del", "ins", "mark",
    "dl", "dt", "dd", "details", "summary", "table", "caption", "thead", "tbody", "tfoot", "tr",
    "th", "td", "img", *_MATHML_TAGS,
]
_CSS_SANITIZER = CSSSanitizer(allowed_css_properties=[
    "color", "background-color", "font-weight", "font-style", "text-align", "text-decoration"])


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Attributes kept by the sanitizer: no event handlers, no scripts by any URL."""
    if name in ("class", "id", "title", "style"):
        return True
    if tag in _MATHML_TAGS:
        return name in _MATHML_ATTRIBUTES  # never href (MathML links), never a handler
    if tag == "a" and name == "href":
        return not value.lower().startswith("data:")  # bleach itself keeps only http(s), mailto, data
    if tag == "img":
        # an embedded raster image only: an svg can carry script, a remote one leaks the reader
        return name in ("alt", "width", "height") or (
            name == "src" and value.startswith(("data:image/png", "data:image/jpeg", "data:image/gif")))
    return tag in ("th", "td") and name in ("colspan", "rowspan", "align")


def clean_html(element) -> str:
    """Sanitize an HTML fragment (str or bytes) with the page's allow-list."""
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=_TAGS, attributes=_allowed_attribute,
                        protocols=["http", "https", "mailto", "data"], css_sanitizer=_CSS_SANITIZER)


# --- markdown with math ----------------------------------------------------------------------

_MATH = re.compile(
    r"(?<!\\)\$\$(?P<d1>.+?)(?<!\\)\$\$"  # $$ display $$
    r"|\\\[(?P<d2>.+?)\\\]"  # \[ display \]
    r"|\\\((?P<i1>.+?)\\\)"  # \( inline \)
    r"|(?<![\\$])\$(?!\s)(?P<i2>[^$\n]+?)(?<![\s\\])\$(?!\d)",  # $inline$, not "$5 and $6"
    re.DOTALL,
)
_markdown = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])


def mathml(latex: str, display: bool) -> str:
    """MathML for a LaTeX formula; the formula as code if it cannot be converted."""
    try:
        return latex_to_mathml(latex.strip(), display="block" if display else "inline")
    except Exception:  # an unsupported command: show the source rather than nothing
        return f"<code>{html.escape(latex)}</code>"


#: Pages of one class repeat the same instructions and code: a worker renders each text once
#: (rendering is a pure function of the text; what it returns is already sanitized).
_CACHED = 2048


@functools.lru_cache(maxsize=_CACHED)
def markdown(text: str) -> str:
    """Markdown with math to sanitized HTML."""
    formulas = []

    def hold(m: re.Match) -> str:
        display = m.group("d1") is not None or m.group("d2") is not None
        latex = next(g for g in (m.group("d1"), m.group("d2"), m.group("i1"), m.group("i2")) if g is not None)
        formulas.append(mathml(latex, display))
        # a placeholder markdown leaves alone; a display formula gets a paragraph of its own
        token = f"MATHPLACEHOLDER{len(formulas) - 1}X"
        return f"\n\n{token}\n\n" if display else token

    body = _markdown(_MATH.sub(hold, text))
    body = re.sub(r"<p>(MATHPLACEHOLDER\d+X)</p>", r"\1", body)
    body = re.sub(r"MATHPLACEHOLDER(\d+)X", lambda m: formulas[int(m.group(1))], body)
    return clean_html(body)


# --- cells and outputs ----------------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)
CSS = HtmlFormatter().get_style_defs(".code") + """
div.cell { margin: 1rem 0; }
pre.code, pre.output { background: #f6f8fa; padding: .5rem; overflow-x: auto; margin: .25rem 0; }
pre.code { border-left: 3px solid #0969da; }
pre.error { background: #ffebe9; color: #cf222e; padding: .5rem; overflow-x: auto; }
math[display="block"] { margin: .6rem 0; }
img { max-width: 100%; height: auto; }
"""


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def output(out: dict) -> str:
    """One output of a code cell as HTML (the richest kind this page shows)."""
    kind = out.get("output_type")
    if kind == "stream":
        return f"<pre class='output'>{html.escape(_text(out.get('text')))}</pre>"
    if kind == "error":
        return f"<pre class='error'>{html.escape(_text(out.get('ename')))}: {html.escape(_text(out.get('evalue')))}</pre>"
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            payload = re.sub(r"\s", "", _text(data[mime]))
            try:
                base64.b64decode(payload, validate=True)
            except ValueError:
                continue
            return f"<img alt='output' src='data:{mime};base64,{payload}'>"
    if "text/html" in data:
        return f"<div class='output'>{clean_html(_text(data['text/html']))}</div>"
    if "text/markdown" in data:
        return f"<div class='output'>{markdown(_text(data['text/markdown']))}</div>"
    if "text/latex" in data:
        latex = _text(data["text/latex"]).strip().strip("$")
        return f"<div class='output'>{clean_html(mathml(latex, True))}</div>"
    if "text/plain" in data:
        return f"<pre class='output'>{html.escape(_text(data['text/plain']))}</pre>"
    return ""


@functools.lru_cache(maxsize=_CACHED)
def _code(source: str) -> str:
    return highlight(source, PythonLexer(), _FORMATTER) if source.strip() else ""


def cell(c: dict) -> str:
    """One cell as HTML: markdown rendered, code highlighted with its outputs, raw as text."""
    source = _text(c.get("source"))
    if c.get("cell_type") == "markdown":
        return f"<div class='cell markdown'>{markdown(source)}</div>"
    if c.get("cell_type") == "code":
        code = _code(source)
        outs = "".join(output(o) for o in c.get("outputs", []))
        return f"<div class='cell code'><pre class='code'>{code}</pre>{outs}</div>"
    return f"<div class='cell raw'><pre>{html.escape(source)}</pre></div>"


def notebook(nb: dict) -> str:
    """Every cell of a notebook, as HTML."""
    return "\n".join(cell(c) for c in nb.get("cells", []))
