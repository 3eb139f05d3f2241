"""The report's first page: the figures that matter, in a few sentences. Pure.

Every sentence is built from cells exactly as the tables show them (a hidden count
says "< 5" or "hidden" here too), and only where it is true: no comparison without a
year before, no "most named" topic that is hidden.
"""

from __future__ import annotations

from bot.report.figures import Report, Table, plural_key
from bot.report.hiding import Cell
from bot.report.render import cell_text
from bot.texts.catalog import Texts

_TOPICS_NAMED = 3


def summary_sentences(report: Report, t: Texts) -> tuple[str, ...]:
    def text(cell: Cell) -> str:
        return cell_text(cell, report, t)

    contacts = report.table("contacts")
    total = contacts.total
    bot, outside = contacts.lines
    sentences = []
    if total.this.shown:
        sentences.append(
            t(
                plural_key("report.summary_contacts", total.this.count),
                year=report.year,
                count=total.this.count,
                bot=text(bot.this),
                outside=text(outside.this),
            )
        )
    else:
        sentences.append(t("report.summary_contacts_hidden", year=report.year))
    headcount = report.headcount
    if headcount and total.this.shown and total.this.count:
        rate = f"{100 * total.this.count / headcount:.1f}"
        sentences.append(t("report.summary_per_100", rate=rate, headcount=headcount))
    change = total.change()
    if change is not None and report.has_previous:
        sentences.append(
            t(
                "report.summary_change",
                previous=report.previous,
                count=text(total.last),
                change=change,
            )
        )
    named = _most_named(report.table("topic"))
    if named:
        sentences.append(t("report.summary_topics", topics=", ".join(named)))
    promise = report.table("promise")
    if promise.share:
        sentences.append(promise.share)
    waiting = promise.lines[-1].this
    if waiting.count and waiting.shown:
        sentences.append(
            t(plural_key("report.summary_waiting", waiting.count), count=waiting.count)
        )
    urgent = report.table("urgent").lines[0].this if report.table("urgent").lines else None
    if urgent is not None and urgent.count:
        sentences.append(t("report.summary_urgent", count=text(urgent)))
    return tuple(sentences)


def _most_named(table: Table) -> list[str]:
    shown = [line for line in table.lines if line.this.shown and line.this.count]
    shown.sort(key=lambda line: -line.this.count)
    return [f"{line.label} ({line.this.count})" for line in shown[:_TOPICS_NAMED]]
