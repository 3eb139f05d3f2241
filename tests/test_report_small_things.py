"""Small things of the report: CSV that a spreadsheet cannot run, and the English
registration words the README promises."""

from __future__ import annotations

import csv
import io

from bot.report.figures import Line, Report, Table
from bot.report.hiding import Cell
from bot.report.register import parse
from bot.report.render import csv_text
from bot.texts.catalog import Texts


def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_start_with_a_quote(en: Texts):
    labels = ['=HYPERLINK("http://x")', "+SUM(A1:A9)", "-2+3", "@cmd", "Bullying"]
    lines = tuple(Line(label, Cell(6), Cell(1)) for label in labels)
    table = Table("topic", "=Topics", "", lines, Line("Total", Cell(30), Cell(5)))
    report = Report(2026, "en", "Report", "", 5, (table,), (), (), False)
    rows = list(csv.reader(io.StringIO(csv_text(report, en))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(
        cell.startswith(("=", "+", "-", "@")) and cell[1:].strip("0123456789") for cell in cells
    )
    assert rows[1][:2] == ["'=Topics", '\'=HYPERLINK("http://x")']
    assert [row[1] for row in rows[2:5]] == ["'+SUM(A1:A9)", "'-2+3", "'@cmd"]
    assert rows[1][4] == "+5"  # a change in the count stays a number


def test_english_registration_words_are_understood(en: Texts, nl: Texts):
    languages = [nl, en]
    assert parse("signal", "kind", (), languages) == ["signaal"]
    assert parse("signaal", "kind", (), languages) == ["signaal"]
    assert parse("complaint", "kind", (), languages) == ["klacht"]
    assert parse("a colleague", "source", (), languages) == ["colleague"]
