"""The annual report from the store: figures built, rendered in the format asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from bot.config import Config
from bot.report.figures import Report, build_report, plural_key
from bot.report.html_page import html
from bot.report.periods import covered_quarters
from bot.report.render import cell_text, csv_text, markdown
from bot.report.summary import summary_sentences
from bot.store import Store
from bot.store.stat_records import StatRow
from bot.texts.catalog import Catalog, Texts

FORMATS = ("html", "md", "csv")


class Counts(Store, Protocol):
    async def statistics(self, years: Iterable[int], adviser_id: str | None) -> list[StatRow]:
        """The counts of those years, of one adviser or (None) of all."""

    async def advice(self, year: int) -> str | None:
        """The adviser's observations and advice for that year, if written."""

    async def set_advice(self, year: int, text: str, now: float) -> None:
        """Write (or replace) them."""


def scope_text(config: Config, adviser_id: str | None, t: Texts) -> str:
    if adviser_id is None:
        names = ", ".join(a.name for a in config.advisers)
        return t("report.scope_all", names=names)
    return t("report.scope_adviser", name=config.adviser(adviser_id).name)


async def annual_report(
    store: Counts,
    config: Config,
    t: Texts,
    year: int,
    adviser_id: str | None,
    now: float,
) -> Report:
    """The report of ``year`` as it can be given at ``now``: a year not yet over shows
    only its settled quarters, beside the same quarters of the year before."""
    # Every adviser's counts, also for one adviser's report: the hiding is chosen for
    # all reports of the year together, so that none can be subtracted from another.
    rows = await store.statistics((year - 1, year), None)
    quarters = covered_quarters(year, now, config)
    if len(quarters) < 4:
        # Part of a year: no column of the year before, whose part would differ from
        # the whole of it in its own report by exactly the quarters left out.
        rows = [r for r in rows if r.year == year and r.quarter in quarters]
    # The hiding solves integer programs for a few seconds: off the event loop, so a
    # report asked in the admin room never holds up a conversation.
    report = await asyncio.to_thread(
        build_report, rows, year, config, t, scope_text(config, adviser_id, t), adviser_id
    )
    if len(quarters) < 4:
        report = replace(report, notes=(_covered_text(quarters, year, config, t),))
    report = replace(report, summary=summary_sentences(report, t), advice=await store.advice(year))
    if adviser_id is not None and len(config.advisers) > 1:
        report = replace(report, hidden=(*report.hidden, t("report.one_of_several")))
    return report


def _covered_text(quarters: tuple[int, ...], year: int, config: Config, t: Texts) -> str:
    days = config.report.settle_days
    if not quarters:
        return t("report.covers_nothing", year=year, days=days)
    return t(
        plural_key("report.covers_part", quarters[-1]), year=year, last=quarters[-1], days=days
    )


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
        *report.notes,
        *report.hidden,
        t("report.summary_attached"),
    ]
    return "\n".join(lines)


def texts_for(catalog: Catalog, config: Config, lang: str | None) -> Texts:
    return catalog.texts(lang if lang and catalog.supports(lang) else config.bot.default_language)
