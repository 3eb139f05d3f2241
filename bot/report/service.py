"""The annual report from the store: figures built, rendered in the format asked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from bot.config import Config
from bot.report.figures import Report, build_report
from bot.report.html_page import html
from bot.report.render import cell_text, csv_text, markdown
from bot.store import Store
from bot.store.stat_records import StatRow
from bot.texts.catalog import Catalog, Texts

FORMATS = ("html", "md", "csv")


class Counts(Store, Protocol):
    async def statistics(self, years: Iterable[int], adviser_id: str | None) -> list[StatRow]:
        """The counts of those years, of one adviser or (None) of all."""


def scope_text(config: Config, adviser_id: str | None, t: Texts) -> str:
    if adviser_id is None:
        names = ", ".join(a.name for a in config.advisers)
        return t("report.scope_all", names=names)
    return t("report.scope_adviser", name=config.adviser(adviser_id).name)


async def annual_report(
    store: Counts, config: Config, t: Texts, year: int, adviser_id: str | None
) -> Report:
    # Every adviser's counts, also for one adviser's report: the hiding is chosen for
    # all reports of the year together, so that none can be subtracted from another.
    rows = await store.statistics((year - 1, year), None)
    report = build_report(rows, year, config, t, scope_text(config, adviser_id, t), adviser_id)
    if adviser_id is not None and len(config.advisers) > 1:
        report = replace(report, hidden=(*report.hidden, t("report.one_of_several")))
    return report


def rendered(report: Report, t: Texts, fmt: str) -> str:
    if fmt == "md":
        return markdown(report, t)
    if fmt == "csv":
        return csv_text(report, t)
    return html(report, t)


def summary(report: Report, t: Texts) -> str:
    """A few lines for the admin room: the total, its change, and what was hidden."""
    total = report.table("contacts").total
    lines = [
        report.title,
        report.scope,
        t(
            "report.summary_total",
            year=report.year,
            count=cell_text(total.this, report, t),
            previous=report.previous,
            previous_count=cell_text(total.last, report, t),
            change=total.change() or "-",
        ),
        *report.hidden,
        t("report.summary_attached"),
    ]
    return "\n".join(lines)


def texts_for(catalog: Catalog, config: Config, lang: str | None) -> Texts:
    return catalog.texts(lang if lang and catalog.supports(lang) else config.bot.default_language)
