"""The annual report as one self-contained HTML file: styles and charts inline, nothing
loaded from anywhere, laid out to print on A4. Pure.

Not named html.py: beside charts.py, a module of that name stands for the standard
library's ``html`` that charts.py imports (to a file-level import check, or wherever
bot/report/ is on the path), which tied the two modules into an import cycle.
"""

from __future__ import annotations

from html import escape

from bot.report.charts import bar_chart
from bot.report.figures import Report, Table
from bot.report.hiding import COMPLEMENT, SMALL
from bot.report.render import (
    activity_cells,
    activity_header,
    activity_sections,
    header,
    line_cells,
)
from bot.texts.catalog import Texts

_STYLE = """
@page { size: A4; margin: 18mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; font-size: 10.5pt;
  color: #000; background: #fff; line-height: 1.4; max-width: 178mm; margin: 0 auto; }
h1 { font-size: 18pt; margin: 0 0 4pt; }
h2 { font-size: 13pt; margin: 12pt 0 4pt; border-bottom: 1px solid #000; }
p.scope { margin: 0 0 10pt; }
section { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border: 1px solid #555; padding: 2pt 5pt; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #e6e6e6; }
tr.total td { font-weight: bold; }
.note, .share { font-style: italic; margin: 2pt 0; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 4pt 0 8pt; }
svg .label, svg .value { font-size: 13px; fill: #000; }
svg .this { fill: #333; }
svg .last { fill: #fff; stroke: #000; stroke-width: 1; }
.blank { border: 1px solid #000; min-height: 90mm; padding: 6pt; }
.blank p { color: #444; }
@media print { h2 { break-after: avoid; page-break-after: avoid; } }
"""


def _row(cells: list[str], tag: str = "td", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<tr{klass}>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"


def _table(table: Table, report: Report, t: Texts) -> str:
    head = header(report, t)
    head[0] = table.title
    body = "".join(_row(line_cells(line, report, t)) for line in table.lines)
    parts = [
        f'<section id="{escape(table.id)}"><h2>{escape(table.title)}</h2>',
        f'<p class="note">{escape(table.note)}</p>' if table.note else "",
        f"<table><thead>{_row(head, 'th')}</thead><tbody>{body}"
        f"{_row(line_cells(table.total, report, t), css='total')}</tbody></table>",
        f'<p class="share">{escape(table.share)}</p>' if table.share else "",
        bar_chart(table, report, t) if _worth_a_chart(table) else "",
        "</section>",
    ]
    return "".join(parts)


def _worth_a_chart(table: Table) -> bool:
    """Bars for a table of several rows with something to show, hidden counts too;
    not for all zeros."""
    cells = [c for line in table.lines for c in (line.this, line.last)]
    something = any(c.count for c in cells if c.shown) or any(
        c.hidden in (SMALL, COMPLEMENT) for c in cells
    )
    return len(table.lines) > 2 and something


def _advice(report: Report, t: Texts) -> str:
    """The adviser's text, a paragraph per blank line; or room to write it."""
    if not report.advice:
        return f'<div class="blank"><p>{escape(t("report.observations_hint"))}</p></div>'
    paragraphs = [p.strip() for p in report.advice.strip().split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs
    )


def _summary(report: Report, t: Texts) -> str:
    if not report.summary:
        return ""
    sentences = "".join(f"<p>{escape(s)}</p>" for s in report.summary)
    return (
        f'<section id="summary"><h2>{escape(t("report.title_summary"))}</h2>{sentences}</section>'
    )


def html(report: Report, t: Texts) -> str:
    hidden = "".join(f"<li>{escape(line)}</li>" for line in report.hidden)
    sections = []
    for (title, activities, empty), section_id in zip(
        activity_sections(report, t), ("activities", "own-work"), strict=True
    ):
        if activities:
            rows = "".join(_row(activity_cells(a)) for a in activities)
            body = (
                f"<table><thead>{_row(activity_header(report, t), 'th')}</thead>"
                f"<tbody>{rows}</tbody></table>"
            )
        else:
            body = f"<p>{escape(empty)}</p>"
        sections.append(f'<section id="{section_id}"><h2>{escape(title)}</h2>{body}</section>')
    return "".join(
        [
            f'<!DOCTYPE html>\n<html lang="{escape(report.lang)}"><head><meta charset="utf-8">',
            f"<title>{escape(report.title)}</title><style>{_STYLE}</style></head><body>",
            f"<header><h1>{escape(report.title)}</h1>",
            f'<p class="scope">{escape(report.scope)}</p>',
            f"<p>{escape(t('report.about'))}</p>",
            *(f'<p class="note">{escape(note)}</p>' for note in report.notes),
            "</header>",
            _summary(report, t),
            *(_table(table, report, t) for table in report.tables),
            *sections,
            f'<section id="observations"><h2>{escape(t("report.title_observations"))}</h2>',
            _advice(report, t),
            "</section>",
            f'<section id="hidden"><h2>{escape(t("report.title_appendix"))}</h2>',
            f"<ul>{hidden}</ul></section></body></html>\n",
        ]
    )
