"""Bar charts as inline SVG: a title and a description for screen readers, every bar
labelled with its figure in text, this year dark and the last year outlined, so they
read the same in greyscale print. Pure: no I/O, no library."""

from __future__ import annotations

from html import escape

from bot.report.figures import Report, Table
from bot.report.hiding import ABSENT, SMALL, Cell
from bot.texts.catalog import Texts

_WIDTH = 700
_LABEL = 270
_BAR = 10
_ROW = 2 * _BAR + 6
_TOP = 28
_NUMBER_ROOM = 70


def _shown_text(cell: Cell, report: Report, t: Texts) -> str:
    if cell.shown:
        return str(cell.count)
    if cell.hidden == ABSENT:
        return "\u2013"
    return f"< {report.min_count}" if cell.hidden == SMALL else t("report.hidden_mark")


def bar_chart(table: Table, report: Report, t: Texts) -> str:
    lines = table.lines
    most = max([c.count for line in lines for c in (line.this, line.last) if c.shown] or [1])
    scale = (_WIDTH - _LABEL - _NUMBER_ROOM) / max(most, 1)
    height = _TOP + _ROW * len(lines) + 6
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
        _legend(report),
    ]
    for index, line in enumerate(lines):
        y = _TOP + index * _ROW
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y + _BAR + 4}" text-anchor="end" class="label">'
            f"{escape(_short(line.label))}</text>"
        )
        for offset, cell, style in ((0, line.this, "this"), (_BAR, line.last, "last")):
            top = y + offset
            width = cell.count * scale if cell.shown else 0
            if cell.shown and width:
                parts.append(
                    f'<rect x="{_LABEL}" y="{top}" width="{width:.1f}" height="{_BAR - 1}"'
                    f' class="{style}"/>'
                )
            parts.append(
                f'<text x="{_LABEL + width + 4:.1f}" y="{top + _BAR - 2}" class="value">'
                f"{escape(_shown_text(cell, report, t))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend(report: Report) -> str:
    return (
        f'<rect x="{_LABEL}" y="6" width="14" height="10" class="this"/>'
        f'<text x="{_LABEL + 20}" y="15" class="value">{report.year}</text>'
        f'<rect x="{_LABEL + 80}" y="6" width="14" height="10" class="last"/>'
        f'<text x="{_LABEL + 100}" y="15" class="value">{report.previous}</text>'
    )


def _short(label: str, most: int = 42) -> str:
    return label if len(label) <= most else label[: most - 1] + "\u2026"
