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


def test_a_hidden_count_draws_a_marked_bar_and_topics_get_a_chart(config, en: Texts):
    import html5lib

    from bot.report.figures import build_report
    from bot.report.html_page import html
    from bot.store.stat_records import StatRow

    long_label = "Something dishonest or against the rules (integrity)"
    data = [
        StatRow(2026, 1, "adviser-a", "contact", "bot", 12),
        StatRow(2026, 1, "adviser-a", "channel", "web", 12),
        StatRow(2026, 1, "adviser-a", "topic", "bullying", 9),
        StatRow(2026, 1, "adviser-a", "topic", "integrity", 3),
    ]
    page = html(build_report(data, 2026, config, en, ""), en)
    document = html5lib.parse(page, namespaceHTMLElements=False)
    topic = document.find(".//section[@id='topic']")
    svg = "{http://www.w3.org/2000/svg}"
    chart = topic.find(f"{svg}svg")
    assert chart is not None, "the topics have a chart"
    texts = [node.text for node in chart.iter(f"{svg}text")]
    hatched = [r for r in chart.iter(f"{svg}rect") if r.get("class") == "hidden"]
    # Topics overlap (several per case): the 9 shown leaves the 3 at 3 or 4.
    assert len(hatched) == 1 and "< 5" in texts
    assert not any(text.endswith("\u2026") for text in texts)  # wrapped, never cut
    assert " ".join(t for t in texts if t in long_label) == long_label
    # 700 units are the 178 mm column: 13 units print at 9.4 pt.
    assert "svg .label, svg .value { font-size: 13px;" in page
