"""`vertrouwd report` on the embedded default: contacts outside the bot and preventive
work registered in the terminal, the report as one self-contained HTML file, and
counts that outlive a person's /delete."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import html5lib

from bot.runtime import Runtime
from bot.store.line_records import WITHDRAWN
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, make_config, run_cli

SVG = "{http://www.w3.org/2000/svg}"
OUTSIDE_LINKS = ("src", "href", "action", "srcset", "poster", "data", "background")


def config_file(tmp_path: Path, extra: str = "") -> str:
    make_config(tmp_path, extra)
    return str(tmp_path / "config.toml")


def this_year() -> int:
    return datetime.now().year


def test_a_contact_outside_the_bot_and_preventive_work_are_counted_from_the_terminal(
    tmp_path: Path, en: Texts
):
    config = config_file(tmp_path, "[report]\nmin_count = 1\n")
    assert run_cli(["report", "--config", config]).returncode == 1  # nothing yet: said so
    # A first bot step makes the data folder and its key.
    chat = run_cli(["chat", "--config", config, "--jsonl", "--user", "x"], stdin='{"text": "hi"}\n')
    assert chat.returncode == 0, chat.stderr

    answers = "phone\nklacht\n2 mediation\nsomeone\nleidinggevende\n1, discriminatie\nja\n"
    added = run_cli(["report", "add", "--config", config], stdin=answers)
    assert added.returncode == 0, added.stderr
    nl_lines = added.stdout
    assert "Vraag 1 van 6: Hoe kwam het contact binnen?" in nl_lines
    assert nl_lines.count("Dat antwoord begreep ik niet.") == 1  # "someone"
    assert nl_lines.rstrip().endswith("Je antwoorden bewaar ik niet.")
    day = f"{this_year()}-01-15"
    done = run_cli(["report", "activity", "--config", config, day, "30", "training"])
    assert done.returncode == 0, done.stderr
    assert "30 deelnemers" in done.stdout
    bad = run_cli(["report", "activity", "--config", config, "next week", "lots"])
    assert bad.returncode == 1 and "!activity DATUM DEELNEMERS" in bad.stderr

    out = tmp_path / "report.md"
    made = run_cli(
        [
            "report",
            "--config",
            config,
            "--year",
            str(this_year()),
            "--as-of",  # the running quarter, which only a local report may include
            f"{this_year() + 1}-02-01",
            "--lang",
            "en",
            "--out",
            str(out),
        ]
    )
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    for row in (
        "| Outside the bot | 1 | \u2013 |  |",
        "| By phone | 1 | \u2013 |  |",
        "| Klacht: a formal complaint, with or without my support | 1 | \u2013 |  |",
        "| Informal talk with the other party | 1 | \u2013 |  |",
        "| Mediation | 1 | \u2013 |  |",
        "| A manager | 1 | \u2013 |  |",
        "| Bullying | 1 | \u2013 |  |",
        "| Discrimination | 1 | \u2013 |  |",
        "| Yes, more than once | 1 | \u2013 |  |",
        "| Training | 1 | 30 | 0 | 0 |",
    ):
        assert row in text, row
    assert en("report.folded", year=this_year(), most=4) in text
    assert en("report.hidden_none", min=1) in text  # nothing else hidden
    assert en("report.no_previous", previous=this_year() - 1) in text

    unknown = run_cli(["report", "--config", config, "--adviser", "nobody"])
    assert unknown.returncode == 2 and "no adviser with id 'nobody'" in unknown.stderr


def test_the_html_report_is_one_file_that_needs_nothing_from_elsewhere(tmp_path: Path):
    config = config_file(tmp_path, "[report]\nmin_count = 1\n")  # so that it has bars
    run_cli(["chat", "--config", config, "--jsonl", "--user", "x"], stdin='{"text": "hi"}\n')
    run_cli(["report", "activity", "--config", config, "today", "12"])
    run_cli(["report", "add", "--config", config], stdin="1\n1\n1\n1\n1 2 3\n1\n")
    year = str(this_year())
    later = f"{int(year) + 1}-02-01"
    page = run_cli(["report", "--config", config, "--year", year, "--as-of", later])
    assert page.returncode == 0, page.stderr
    parser = html5lib.HTMLParser(strict=True)
    document = parser.parse(page.stdout)  # strict: any parse error raises
    assert "http" not in page.stdout and "url(" not in page.stdout and "@import" not in page.stdout
    tags = {element.tag.rpartition("}")[2] for element in document.iter()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use"}
    for element in document.iter():
        for name in element.attrib:
            assert name.rpartition("}")[2] not in OUTSIDE_LINKS, (element.tag, name)
    style = "".join(s.text or "" for s in document.iter("{http://www.w3.org/1999/xhtml}style"))
    assert "@page { size: A4" in style
    charts = list(document.iter(f"{SVG}svg"))
    assert charts, "no chart"
    for chart in charts:
        assert chart.get("role") == "img"
        title, desc = chart.get("aria-labelledby", "").split()
        ids = {child.get("id"): child for child in chart}
        assert ids[title].tag == f"{SVG}title" and ids[title].text
        assert ids[desc].tag == f"{SVG}desc" and str(this_year()) in ids[desc].text
        labels = [t.text for t in chart.iter(f"{SVG}text")]
        assert all(labels), "every bar has its figure as text"
    observations = document.find(".//{http://www.w3.org/1999/xhtml}section[@id='observations']")
    assert observations is not None and "Waarnemingen en advies" in "".join(observations.itertext())


async def test_the_counts_outlive_the_persons_delete(runtime: Runtime, clock: FakeClock):
    person = Person(runtime, "dana")
    await person.full_intake()
    year = datetime.fromtimestamp(clock.now).year
    before = await runtime.store.statistics([year], None)
    assert [(r.dimension, r.value, r.count) for r in before if r.dimension == "contact"] == [
        ("contact", "bot", 1)
    ]
    await runtime.worker.deliver_due()  # the adviser has it: the case stays, unlinked
    await person.say("/delete")
    await person.pick("yes")
    [case] = await runtime.store.cases_of_adviser("adviser-a")
    assert case.status == WITHDRAWN
    assert await runtime.store.statistics([year], None) == before


async def test_the_admin_command_and_the_adviser_filter(runtime: Runtime, clock: FakeClock, en):
    from bot.admin.commands import AdminCommands

    person = Person(runtime, "fay")
    await person.full_intake()
    year = datetime.fromtimestamp(clock.now).year
    assert runtime.editor is not None

    async def no_lines() -> list[str]:
        return []

    settled = datetime(year + 1, 2, 1).timestamp()  # the year is over, and settled
    commands = AdminCommands(
        runtime.config,
        lambda: runtime.catalog,
        runtime.editor,
        runtime.store,
        no_lines,
        lambda: settled,
    )
    nl = runtime.catalog.texts("nl")
    for wrong in ("report", "report next", "report 26", "report 2026 en extra"):
        assert await commands.report(wrong) == (nl("report.usage"), None)
    summary, page = await commands.report(f"report {year} en")
    assert summary.split("\n")[2] == en(
        "report.summary_total",
        year=year,
        count="< 5",
        previous=year - 1,
        previous_count="\u2013",  # no counts for the year before: not a zero
        change="-",
    )
    assert page is not None and page.startswith("<!DOCTYPE html>")
    assert en("report.admin_help") not in await commands.answer("@a:example.org", "help")
    assert nl("report.admin_help") in await commands.answer("@a:example.org", "help")

    # One adviser's counts only: adviser-b had nobody.
    from bot.report.service import annual_report

    only_b = await annual_report(runtime.store, runtime.config, en, year, "adviser-b", settled)
    assert only_b.scope == en("report.scope_adviser", name="Karim")
    assert only_b.hidden[-1] == en("report.one_of_several")
    assert only_b.table("contacts").total.this.count == 0
    only_a = await annual_report(runtime.store, runtime.config, en, year, "adviser-a", settled)
    assert only_a.table("contacts").total.this.count == 1


async def test_a_case_ended_without_registering_is_registered_later(
    runtime: Runtime, clock: FakeClock, en, nl
):
    person = Person(runtime, "gus")
    await person.full_intake()
    await runtime.worker.deliver_due()
    [case] = await runtime.store.cases_of_adviser("adviser-a")
    adviser = runtime.config.adviser("adviser-a")

    async def write(text: str, event_id: str) -> str | None:
        info = await runtime.store.case(case.case_ref)
        return (await runtime.desk.in_thread(info, adviser, event_id, text)).text

    assert await write("!register", "$early") == nl("register.close_first", case_ref=case.case_ref)
    await person.say("/stop")  # the employee ends the line: nothing is asked then
    await person.pick("yes")
    ended = nl("desk.case_ended", case_ref=case.case_ref, status=nl("desk.status_stopped"))
    assert await write("signaal", "$stray") == ended
    clock.advance(20 * 86400)
    asked = await write("!registreer", "$later")
    assert asked is not None and asked.endswith(
        runtime.desk.registrations._question({"source": "case", "asked": 0, "answers": {}}, nl)
    )
    again = await write("!register", "$again")  # where it stands, not a second one
    assert again is not None and again.startswith("Vraag 1 van 5")
    for number, text in enumerate(("signaal", "-", "-", "-", "stop")):
        said = await write(text, f"$r{number}")
    assert said == nl("register.done_case")
    year = datetime.fromtimestamp(case.created_at).year
    counted = {
        (r.dimension, r.value): r.count
        for r in await runtime.store.statistics([year], "adviser-a")
        if r.dimension in ("kind", "route", "registered")
    }
    assert counted == {("kind", "signaal"): 1, ("route", "none"): 1, ("registered", "case"): 1}
