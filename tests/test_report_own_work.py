"""The adviser's own work (intervision, their own training, meetings with the management
or the works council) is counted with `!activity` and shown in a section of its own,
apart from the preventive work."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from bot.report.service import annual_report, rendered
from bot.runtime import Runtime
from bot.texts.catalog import Texts

AFTER_THE_YEAR = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


async def test_own_work_is_counted_apart_from_preventive_work(
    runtime: Runtime, nl: Texts, en: Texts
):
    room = runtime.config.adviser("adviser-a")
    said = await runtime.desk.in_room(room, "$i1", "!activity 2025-03-12 6 intervisie")
    assert said.text == nl("activity.saved", kind="Intervisie", participants=6, quarter="2025 Q1")
    await runtime.desk.in_room(room, "$i2", "!activity 2025-09-10 5 intervision")
    await runtime.desk.in_room(room, "$o1", "!activity 2025-10-01 9 or")
    await runtime.desk.in_room(room, "$t1", "!activity 2025-04-02 20 training")
    unknown = await runtime.desk.in_room(room, "$x1", "!activity 2025-04-02 3 lunch")
    assert unknown.text == nl("activity.usage")

    report = await annual_report(runtime.store, runtime.config, en, 2025, None, AFTER_THE_YEAR)
    own = {a.label: (a.sessions, a.participants) for a in report.own_work}
    assert own == {"Intervision": (2, 11), "Meeting with the works council": (1, 9)}
    assert [a.label for a in report.activities] == ["Training"]

    md = rendered(report, en, "md")
    own_section = md.split("## The adviser's own work")[1].split("## ")[0]
    assert "| Intervision | 2 | 11 |" in own_section
    assert "Training" not in own_section
    rows = list(csv.reader(io.StringIO(rendered(report, en, "csv"))))
    assert ["The adviser's own work", "Intervision: sessions", "2", "0", ""] in rows
    page = rendered(report, en, "html")
    assert '<section id="own-work"><h2>The adviser&#x27;s own work</h2><table>' in page


async def test_a_year_without_own_work_says_so(runtime: Runtime, nl: Texts):
    room = runtime.config.adviser("adviser-a")
    await runtime.desk.in_room(room, "$t1", "!activity 2025-04-02 20 voorlichting")
    report = await annual_report(runtime.store, runtime.config, nl, 2025, None, AFTER_THE_YEAR)
    assert report.own_work == ()
    md = rendered(report, nl, "md")
    assert f"## {nl('report.title_own_work')}\n\n{nl('report.no_own_work')}" in md


async def test_own_work_entered_by_mistake_is_taken_back(runtime: Runtime, nl: Texts):
    room = runtime.config.adviser("adviser-a")
    await runtime.desk.in_room(room, "$m1", "!activity 2025-05-06 3 directie")
    done = await runtime.desk.in_room(room, "$m2", "!activity intrekken 2025-05-06 3 directie")
    assert done.text == nl(
        "activity.withdrawn", kind="Overleg met de leiding", participants=3, quarter="2025 Q2"
    )
    assert await runtime.store.statistics([2025], None) == []
    assert [c[4] for c in await runtime.store.count_corrections()] == ["activity"]
