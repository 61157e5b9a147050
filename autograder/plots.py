"""The report's plots as inline SVG: bars and histograms, drawn as text, no plotting library.

matplotlib took 1.5 s of every grading run (importing it, then drawing three figures into
PNGs) after the last notebook was graded. These plots are a few dozen rectangles each: as SVG
they cost milliseconds, stay sharp at any zoom, and every bar says what it counts on hover
(its <title>) and to a screen reader (each plot is an image with a label).
"""

from __future__ import annotations

import html
import math

FONT = "font-family='system-ui, sans-serif'"
INK, GRID = "#1f2328", "#d0d7de"


def _ticks(top: float, most: int = 6) -> list[float]:
    """Round tick values from 0 to at least top (whole numbers: these are counts)."""
    top = max(top, 1)
    step = max(1, 10 ** math.floor(math.log10(top / most)) if top > most else 1)
    for factor in (1, 2, 5, 10):
        if top / (step * factor) <= most:
            step *= factor
            break
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (f"<svg class='plot' role='img' aria-label='{html.escape(label)}' viewBox='0 0 {width:.0f} {height:.0f}' "
            f"width='{width:.0f}' height='{height:.0f}' xmlns='http://www.w3.org/2000/svg' {FONT}>"
            f"<title>{html.escape(label)}</title>{''.join(body)}</svg>")


def hbars(title: str, labels: list[str], series: list[tuple[str, str, list[float]]], xlabel: str,
          legend: bool = False, width: float = 760) -> str:
    """Horizontal bars, one row per label; several series are stacked.

    series: (name, color, one value per label); a series of all zeros is left out.
    legend: name the series' colors above the bars.
    """
    series = [s for s in series if any(s[2])]
    label_w = min(320, 12 + 6.6 * max((len(lab) for lab in labels), default=0))
    row, top = 20, 30 + (22 if legend else 0)
    left, right = label_w, width - 20
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    ticks = _ticks(max(totals, default=0))
    scale = (right - left) / ticks[-1]
    height = top + row * len(labels) + 40
    out = [f"<text x='{width / 2:.0f}' y='16' text-anchor='middle' font-size='13' fill='{INK}'>"
           f"{html.escape(title)}</text>"]
    if legend:  # in one line above the bars
        x = left
        for name, color, _ in series:
            out.append(f"<rect x='{x:.0f}' y='30' width='10' height='10' fill='{color}'/>"
                       f"<text x='{x + 14:.0f}' y='39' font-size='11' fill='{INK}'>{html.escape(name)}</text>")
            x += 24 + 6.6 * len(name)
    bottom = top + row * len(labels)
    for t in ticks:
        x = left + t * scale
        out.append(f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{bottom}' stroke='{GRID}'/>"
                   f"<text x='{x:.1f}' y='{bottom + 14}' text-anchor='middle' font-size='11' fill='{INK}'>{t:g}</text>")
    out.append(f"<text x='{(left + right) / 2:.0f}' y='{bottom + 32}' text-anchor='middle' font-size='12' "
               f"fill='{INK}'>{html.escape(xlabel)}</text>")
    for i, lab in enumerate(labels):
        y = top + row * i
        out.append(f"<text x='{left - 6:.0f}' y='{y + row * 0.68:.1f}' text-anchor='end' font-size='11' "
                   f"fill='{INK}'>{html.escape(lab)}</text>")
        x = left
        for name, color, values in series:
            if values[i]:
                w = values[i] * scale
                what = f"{lab}: {values[i]:g} {name}" if len(series) > 1 else f"{lab}: {values[i]:g}"
                out.append(f"<rect class='bar' x='{x:.1f}' y='{y + 3}' width='{w:.1f}' height='{row - 6}' "
                           f"fill='{color}'><title>{html.escape(what)}</title></rect>")
                x += w
    return _svg(width, height, title, out)


def histogram(title: str, subtitle: str, scores: list[float], max_score: float, bins: int = 10,
              color: str = "#0969da") -> str:
    """A small histogram of scores over [0, max_score] (the last bin includes full marks)."""
    width, height, left, top, bottom = 230, 160, 34, 38, 128
    right = width - 10
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, max(0, int(s / (max_score or 1) * bins)))] += 1
    ticks = _ticks(max(counts), most=4)
    scale = (bottom - top) / ticks[-1]
    bar_w = (right - left) / bins
    out = [f"<text x='{width / 2:.0f}' y='14' text-anchor='middle' font-size='11' fill='{INK}'>{html.escape(title)}</text>",
           f"<text x='{width / 2:.0f}' y='28' text-anchor='middle' font-size='11' fill='{INK}'>{html.escape(subtitle)}</text>"]
    for t in ticks:
        y = bottom - t * scale
        out.append(f"<line x1='{left}' y1='{y:.1f}' x2='{right}' y2='{y:.1f}' stroke='{GRID}'/>"
                   f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' font-size='10' fill='{INK}'>{t:g}</text>")
    for i, n in enumerate(counts):
        if n:
            lo, hi = max_score * i / bins, max_score * (i + 1) / bins
            out.append(f"<rect class='bar' x='{left + i * bar_w + 1:.1f}' y='{bottom - n * scale:.1f}' "
                       f"width='{bar_w - 2:.1f}' height='{n * scale:.1f}' fill='{color}'>"
                       f"<title>{n} submission(s) scored {lo:g} to {hi:g}</title></rect>")
    out.append(f"<text x='{left}' y='{bottom + 13}' font-size='10' fill='{INK}'>0</text>"
               f"<text x='{right}' y='{bottom + 13}' text-anchor='end' font-size='10' fill='{INK}'>{max_score:g}</text>"
               f"<text x='{(left + right) / 2:.0f}' y='{bottom + 26}' text-anchor='middle' font-size='10' "
               f"fill='{INK}'>score (submissions per bar)</text>")
    return _svg(width, height, f"scores of {title} {subtitle}", out)
