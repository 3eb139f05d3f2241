"""The report's first page: a few sentences true to the counts, with the hidden ones
said as the tables show them, and the hiding rules in an appendix at the end."""

from __future__ import annotations

from dataclasses import replace

from msgspec import structs

from bot.config import Config
from bot.report.figures import build_report
from bot.report.html_page import html
from bot.report.render import markdown
from bot.report.summary import summary_sentences
from bot.store.stat_records import StatRow
from bot.texts.catalog import Texts


def rows(year: int, **counts: int) -> list[StatRow]:
    return [
        StatRow(year, 1 + i % 4, "adviser-a", *key.split("__"), 1)
        for key, n in counts.items()
        for i in range(n)
    ]


def test_the_summary_tells_the_figures_that_matter_and_nothing_hidden(config: Config, en: Texts):
    data = rows(
        2026,
        contact__bot=27,
        channel__web=27,
        urgent__yes=3,
        urgent__no=24,
        topic__bullying=16,
        topic__discrimination=11,
        topic__aggression=2,
        first_contact__0=14,
        first_contact__1=8,
        first_contact__3=5,
    ) + rows(2025, contact__bot=20, channel__web=20, urgent__no=20, topic__bullying=20)
    report = build_report(data, 2026, config, en, "")
    said = summary_sentences(report, en)
    assert said[0] == "In 2026 the adviser had 27 contacts: 27 through the bot and 0 outside it."
    assert said[1] == "In 2025 there were 20 (+7)."
    assert not any("per 100" in s for s in said)  # no headcount set: no such figure
    staff = structs.replace(
        config, organisation=structs.replace(config.organisation, headcount=300)
    )
    with_staff = summary_sentences(build_report(data, 2026, staff, en, ""), en)
    assert with_staff[1] == "That is 9.0 contacts per 100 employees (headcount: 300)."
    assert said[2] == "Named most often: Bullying (16), Discrimination (11)."  # not the hidden 2
    # 22 within 2 working days out of all 27 requests.
    assert en("report.share_other", percent=81, days=2) in said
    with_outside = build_report([*data, *rows(2026, contact__outside=2)], 2026, config, en, "")
    # The 27 is hidden in the table then (29 - 27 would tell the < 5): here too.
    assert summary_sentences(with_outside, en)[0] == (
        "In 2026 the adviser had 29 contacts: hidden through the bot and < 5 outside it."
    )
    assert "Requests in which someone said they were in danger: < 5." in said


def test_one_contact_reads_as_one_and_a_first_year_has_no_comparison(
    config: Config, en: Texts, nl: Texts
):
    one = build_report(rows(2026, contact__bot=1, channel__web=1), 2026, config, en, "")
    [said, *_] = summary_sentences(one, en)
    # min_count 5 hides the 1: the sentence says so instead of a number.
    assert said == en("report.summary_contacts_hidden", year=2026)
    assert en("report.summary_contacts_one", year=2026, bot=1, outside=0) == (
        "In 2026 the adviser had 1 contact: 1 through the bot and 0 outside it."
    )
    assert nl("report.summary_contacts_one", year=2026, bot=1, outside=0).startswith(
        "In 2026 had de vertrouwenspersoon 1 contact:"
    )
    many = build_report(rows(2026, contact__bot=9, channel__web=9), 2026, config, en, "")
    sentences = summary_sentences(many, en)
    assert not any("2025" in s for s in sentences)  # no year before: no "+9 versus 0"


def test_the_summary_comes_first_and_the_hiding_rules_last(config: Config, en: Texts):
    data = rows(2026, contact__bot=12, channel__web=12, topic__bullying=9, topic__other=3)
    report = build_report(data, 2026, config, en, "")
    report = replace(report, summary=summary_sentences(report, en))
    for page in (html(report, en), markdown(report, en)):
        summary = page.index(en("report.title_summary"))
        first_table = page.index(en("report.title_contacts"))
        appendix = page.index(en("report.title_appendix"))
        assert summary < first_table < appendix
        assert page.index("Where a hidden count could still be worked out") > appendix
