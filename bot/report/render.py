"""The annual report as Markdown and CSV: the same figures as the HTML. Pure."""

from __future__ import annotations

import csv
import io
import re

from bot.report.figures import Activity, Line, Report, Table
from bot.report.hiding import ABSENT, SMALL, Cell
from bot.texts.catalog import Texts


def cell_text(cell: Cell, report: Report, t: Texts) -> str:
    if cell.shown:
        return str(cell.count)
    if cell.hidden == ABSENT:
        return "\u2013"
    return f"< {report.min_count}" if cell.hidden == SMALL else t("report.hidden_mark")


def line_cells(line: Line, report: Report, t: Texts) -> list[str]:
    return [
        line.label,
        cell_text(line.this, report, t),
        cell_text(line.last, report, t),
        line.change() or "",
    ]


def header(report: Report, t: Texts) -> list[str]:
    return ["", str(report.year), str(report.previous), t("report.change")]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(table: Table, report: Report, t: Texts) -> list[str]:
    rows = [f"## {table.title}", ""]
    if table.note:
        rows += [table.note, ""]
    rows += [_md_row(header(report, t)), "| --- | ---: | ---: | ---: |"]
    rows += [_md_row(line_cells(line, report, t)) for line in table.lines]
    rows.append(_md_row([f"**{c}**" if c else c for c in line_cells(table.total, report, t)]))
    if table.share:
        rows += ["", table.share]
    return [*rows, ""]


def markdown(report: Report, t: Texts) -> str:
    out = [f"# {report.title}", "", report.scope, "", t("report.about"), ""]
    out += [*(f"{note}\n" for note in report.notes)]
    if report.summary:
        out += [f"## {t('report.title_summary')}", "", " ".join(report.summary), ""]
    for table in report.tables:
        out += _md_table(table, report, t)
    for title, activities, empty in activity_sections(report, t):
        out += [f"## {title}", ""]
        if activities:
            out += [
                _md_row(activity_header(report, t)),
                "| --- | ---: | ---: | ---: | ---: |",
                *(_md_row(activity_cells(a)) for a in activities),
            ]
        else:
            out.append(empty)
        out.append("")
    out += [f"## {t('report.title_observations')}", ""]
    out += [report.advice.strip() if report.advice else t("report.observations_hint"), ""]
    out += [f"## {t('report.title_appendix')}", "", *(f"- {line}" for line in report.hidden), ""]
    return "\n".join(out)


def activity_sections(report: Report, t: Texts) -> list[tuple[str, tuple[Activity, ...], str]]:
    """Preventive work, then the adviser's own work: title, rows, what to say if none."""
    return [
        (t("report.title_activities"), report.activities, t("report.no_activities")),
        (t("report.title_own_work"), report.own_work, t("report.no_own_work")),
    ]


def activity_header(report: Report, t: Texts) -> list[str]:
    return [
        t("report.activity_kind"),
        t("report.sessions", year=report.year),
        t("report.participants", year=report.year),
        t("report.sessions", year=report.previous),
        t("report.participants", year=report.previous),
    ]


def activity_cells(activity: Activity) -> list[str]:
    return [
        activity.label,
        str(activity.sessions),
        str(activity.participants),
        str(activity.last_sessions),
        str(activity.last_participants),
    ]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"^[+-]?\d+$")


def _inert(cell: str) -> str:
    """A cell a spreadsheet would run as a formula starts with a quote instead: labels
    come from texts an admin edits. A signed count such as "+5" stays as it is."""
    if cell.startswith(_FORMULA_START) and not _SIGNED_NUMBER.match(cell):
        return "'" + cell
    return cell


class _InertWriter:
    def __init__(self, buffer: io.StringIO) -> None:
        self._out = csv.writer(buffer, lineterminator="\n")

    def writerow(self, cells: list[str]) -> None:
        self._out.writerow([_inert(c) for c in cells])


def csv_text(report: Report, t: Texts) -> str:
    buffer = io.StringIO()
    out = _InertWriter(buffer)
    out.writerow([t("report.csv_table"), *header(report, t)])
    for sentence in report.summary:
        out.writerow([t("report.title_summary"), sentence, "", "", ""])
    if report.advice:
        out.writerow([t("report.title_observations"), report.advice.strip(), "", "", ""])
    for table in report.tables:
        for line in (*table.lines, table.total):
            out.writerow([table.title, *line_cells(line, report, t)])
    for title, activities, _ in activity_sections(report, t):
        for activity in activities:
            cells = activity_cells(activity)
            sessions = f"{cells[0]}: {t('report.sessions_word')}"
            participants = f"{cells[0]}: {t('report.participants_word')}"
            out.writerow([title, sessions, cells[1], cells[3], ""])
            out.writerow([title, participants, cells[2], cells[4], ""])
    for rule in report.hidden:
        out.writerow([t("report.title_hidden"), rule, "", "", ""])
    return buffer.getvalue()
