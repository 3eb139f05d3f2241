"""Bar charts as inline SVG: a title and a description for screen readers, every bar
labelled with its figure in text, this year dark and the last year outlined, so they
read the same in greyscale print. A hidden count draws as a hatched bar up to the
minimum, marked "< 5" (or "hidden"), so that the one visible bar never looks like the
whole. Sized for A4: 700 units are the 178 mm column, so 13 units print at about 9 pt;
long labels wrap instead of being cut. Pure: no I/O, no library."""

from __future__ import annotations

import textwrap
from html import escape

from bot.report.figures import Report, Table
from bot.report.hiding import ABSENT, SMALL, Cell
from bot.texts.catalog import Texts

_WIDTH = 700
_LABEL = 300  # the labels' column
_LABEL_CHARS = 40  # what fits in it at the font size, per line
_FONT = 13  # 700 units over 178 mm: 13 units are 3.3 mm, over 9 pt
_BAR = 15
_GAP = 10
_TOP = 30
_NUMBER_ROOM = 80


def _shown_text(cell: Cell, report: Report, t: Texts) -> str:
    if cell.shown:
        return str(cell.count)
    if cell.hidden == ABSENT:
        return "\u2013"
    return f"< {report.min_count}" if cell.hidden == SMALL else t("report.hidden_mark")


def _label_lines(label: str) -> list[str]:
    return textwrap.wrap(label, _LABEL_CHARS) or [""]


def bar_chart(table: Table, report: Report, t: Texts) -> str:
    lines = table.lines
    most = max(
        [c.count for line in lines for c in (line.this, line.last) if c.shown] + [report.min_count]
    )
    scale = (_WIDTH - _LABEL - _NUMBER_ROOM) / most
    heights = [max(2 * _BAR, len(_label_lines(line.label)) * (_FONT + 3)) for line in lines]
    height = _TOP + sum(heights) + _GAP * len(lines) + 6
    ident = f"chart-{table.id}"
    described = "; ".join(
        f"{line.label}: {report.year} {_shown_text(line.this, report, t)},"
        f" {report.previous} {_shown_text(line.last, report, t)}"
        for line in lines
    )
    parts = [
        f'<svg role="img" viewBox="0 0 {_WIDTH} {height}"'
        f' width="100%" aria-labelledby="{ident}-title {ident}-desc" class="chart">',
        f'<title id="{ident}-title">{escape(table.title)}</title>',
        f'<desc id="{ident}-desc">{escape(described)}</desc>',
        f'<defs><pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="2"/>'
        "</pattern></defs>",
        _legend(report),
    ]
    y = _TOP
    for line, row_height in zip(lines, heights, strict=True):
        for number, text in enumerate(_label_lines(line.label)):
            parts.append(
                f'<text x="{_LABEL - 8}" y="{y + _FONT + number * (_FONT + 3)}"'
                f' text-anchor="end" class="label">{escape(text)}</text>'
            )
        for offset, cell, style in ((0, line.this, "this"), (_BAR, line.last, "last")):
            parts.append(_bar(cell, y + offset, scale, style, report, t, f"{ident}-hatch"))
        y += row_height + _GAP
    parts.append("</svg>")
    return "".join(parts)


def _bar(
    cell: Cell, top: int, scale: float, style: str, report: Report, t: Texts, hatch: str
) -> str:
    """One bar: its count; a hidden one hatched, as long as the minimum, marked."""
    if cell.hidden == ABSENT:
        width = 0.0
        shape = ""
    elif cell.shown:
        width = cell.count * scale
        shape = (
            f'<rect x="{_LABEL}" y="{top}" width="{width:.1f}" height="{_BAR - 2}"'
            f' class="{style}"/>'
            if width
            else ""
        )
    else:
        width = report.min_count * scale
        shape = (
            f'<rect x="{_LABEL}" y="{top}" width="{width:.1f}" height="{_BAR - 2}"'
            f' class="hidden" style="fill: url(#{hatch}); stroke: #000;'
            ' stroke-dasharray: 3 2"/>'
        )
    number = (
        f'<text x="{_LABEL + width + 5:.1f}" y="{top + _BAR - 3}" class="value">'
        f"{escape(_shown_text(cell, report, t))}</text>"
    )
    return shape + number


def _legend(report: Report) -> str:
    return (
        f'<rect x="{_LABEL}" y="6" width="16" height="12" class="this"/>'
        f'<text x="{_LABEL + 22}" y="17" class="value">{report.year}</text>'
        f'<rect x="{_LABEL + 90}" y="6" width="16" height="12" class="last"/>'
        f'<text x="{_LABEL + 112}" y="17" class="value">{report.previous}</text>'
    )
